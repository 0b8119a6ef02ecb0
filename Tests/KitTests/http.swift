// http: every client flavor fetches every file of the sample site from every server
// flavor; real peers (curl, a headless Chromium, Python's http.server) on the other
// side; hostile clients (path traversal, oversized and malformed requests, a slowloris,
// clients that leave mid-request) against every server flavor, and against the C server
// built with AddressSanitizer and UndefinedBehaviorSanitizer.
import Foundation
import KitHarness
import Testing

@Suite("http", .timeLimit(.minutes(5)))
struct HttpTests {
  static let servers = Kit.flavors(having: "http-server").map {
    Program(flavor: $0, name: "http-server")
  }
  static let clients = Kit.flavors(having: "http-client")
  static let site = Kit.root.appendingPathComponent("lectures/http-site")
  /// The sample site's files, by name: index.html, style.css, app.js, ...
  static let siteFiles: [String] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: site.path)) ?? []
    return names.filter { !$0.hasPrefix(".") }.sorted()
  }()

  /// What the server must say each file is, by extension (the test's own table).
  static func contentType(_ name: String) -> String {
    switch (name as NSString).pathExtension.lowercased() {
    case "html": "text/html; charset=utf-8"
    case "css": "text/css; charset=utf-8"
    case "js": "text/javascript; charset=utf-8"
    case "png": "image/png"
    case "txt": "text/plain; charset=utf-8"
    default: "application/octet-stream"
    }
  }

  static func bytes(of file: URL) throws -> [UInt8] { Array(try Data(contentsOf: file)) }

  /// A kit server's complete answer for a file: status, headers, and the file's bytes
  /// (none for HEAD).
  static func expectFile(
    _ raw: [UInt8], is file: URL, head: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let response = try #require(
      HTTPResponse(raw),
      "not an HTTP response: \(String(decoding: raw.prefix(200), as: UTF8.self))",
      sourceLocation: sourceLocation)
    let expected = try bytes(of: file)
    #expect(response.statusLine == "HTTP/1.0 200 OK", sourceLocation: sourceLocation)
    #expect(
      response.header("Content-Type") == contentType(file.lastPathComponent),
      sourceLocation: sourceLocation)
    #expect(
      response.header("Content-Length") == "\(expected.count)", sourceLocation: sourceLocation)
    #expect(response.header("Connection") == "close", sourceLocation: sourceLocation)
    #expect(
      response.body == (head ? [] : expected), "\(file.lastPathComponent)",
      sourceLocation: sourceLocation)
  }

  static func fetch(_ client: String, port: UInt16, arguments: [String]) async throws -> Output {
    try await Running.client(
      Program(flavor: client, name: "http-client"), port: port, arguments: arguments)
  }

  // MARK: - The matrix

  @Test(
    "every server flavor answers over ::1 as over 127.0.0.1: it listens dual-stack",
    arguments: zip(servers, servers.indices.map { clients[$0 % clients.count] }))
  func ipv6(server: Program, client: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port, arguments: [Self.site.path]) { _ in
      for url in ["http://[::1]:\(port)/notes.txt", "http://127.0.0.1:\(port)/notes.txt"] {
        let output = try await Self.fetch(client, port: port, arguments: [url])
        #expect(output.termination == .exit(0), "\(url): \(output.stderrText)")
        try Self.expectFile(output.stdout, is: Self.site.appendingPathComponent("notes.txt"))
      }
    }
  }

  @Test(
    "every client flavor fetches every file of the site from every server flavor",
    arguments: servers, clients)
  func matrix(server: Program, client: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port, arguments: [Self.site.path]) { running in
      for name in Self.siteFiles {
        let output = try await Self.fetch(
          client, port: port, arguments: ["http://127.0.0.1:\(port)/\(name)"])
        #expect(output.termination == .exit(0), "\(name): \(output.stderrText)")
        try Self.expectFile(output.stdout, is: Self.site.appendingPathComponent(name))
      }
      let index = Self.site.appendingPathComponent("index.html")
      // "/" is the folder: its index.html. Then the other two ways to name a URL.
      let root = try await Self.fetch(client, port: port, arguments: ["http://127.0.0.1:\(port)/"])
      try Self.expectFile(root.stdout, is: index)
      let parts = try await Self.fetch(
        client, port: port, arguments: ["127.0.0.1", "\(port)", "/notes.txt"])
      try Self.expectFile(parts.stdout, is: Self.site.appendingPathComponent("notes.txt"))
      let none = try await Self.fetch(client, port: port, arguments: [])
      try Self.expectFile(none.stdout, is: index)

      let missing = try await Self.fetch(
        client, port: port, arguments: ["http://127.0.0.1:\(port)/missing.html"])
      #expect(missing.termination == .exit(0), "a 404 is a response like any other")
      #expect(missing.stdoutText.hasPrefix("HTTP/1.0 404 Not Found\r\n"))
      #expect(HTTPResponse(missing.stdout)?.body == Array("404 Not Found\n".utf8))

      // The server logs a request once answered; the log reaches us through a pipe
      let expected = Self.siteFiles.map { "\n200 GET /\($0)\n" } + ["\n404 GET /missing.html\n"]
      let log = try await running.wait(for: "a log line for every request") { output in
        expected.allSatisfy { output.stdoutText.contains($0) }
      }
      #expect(log.stdoutText.hasPrefix("Serving \(Self.site.path) on port \(port)\n"))
      #expect(log.stderrText == "")
    }
  }

  @Test("a large binary body arrives whole, split over many reads", arguments: servers, clients)
  func largeBody(server: Program, client: String) async throws {
    let site = try TempSite()
    defer { site.remove() }
    let port = Ports.reserve()
    try await Running.withServer(server, port: port, arguments: [site.site.path]) { _ in
      let output = try await Self.fetch(
        client, port: port, arguments: ["http://127.0.0.1:\(port)/big.data"])
      #expect(output.termination == .exit(0), "\(output.stderrText)")
      try Self.expectFile(output.stdout, is: site.site.appendingPathComponent("big.data"))
    }
  }

  @Test("HEAD has the GET's headers and no body; HTTP/1.1 needs its Host", arguments: servers)
  func head(server: Program) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port, arguments: [Self.site.path]) { _ in
      for name in Self.siteFiles {
        let file = Self.site.appendingPathComponent(name)
        let head10 = try await RawHTTP.exchange(port: port, "HEAD /\(name) HTTP/1.0\r\n\r\n")
        try Self.expectFile(head10.bytes, is: file, head: true)
        let head11 = try await RawHTTP.exchange(
          port: port, "HEAD /\(name) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try Self.expectFile(head11.bytes, is: file, head: true)
        let get11 = try await RawHTTP.exchange(
          port: port, "GET /\(name)?query=ignored HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n")
        try Self.expectFile(get11.bytes, is: file)
      }
      // Bare "\n" line ends are accepted, as RFC 9112 allows
      let bare = try await RawHTTP.exchange(port: port, "GET /notes.txt HTTP/1.0\nX: y\n\n")
      try Self.expectFile(bare.bytes, is: Self.site.appendingPathComponent("notes.txt"))
      let missing = try await RawHTTP.exchange(port: port, "HEAD /missing.html HTTP/1.0\r\n\r\n")
      #expect(missing.response?.statusLine == "HTTP/1.0 404 Not Found")
      #expect(missing.response?.body == [], "no body for HEAD, even for an error")
    }
  }

  // MARK: - Real peers

  @Test("curl gets the right status, headers and bytes", arguments: servers)
  func curl(server: Program) async throws {
    let curl = try Tools.require("curl", package: "curl")
    let port = Ports.reserve()
    try await Running.withServer(server, port: port, arguments: [Self.site.path]) { _ in
      for name in Self.siteFiles + [""] {
        let file = Self.site.appendingPathComponent(name.isEmpty ? "index.html" : name)
        let url = "http://127.0.0.1:\(port)/\(name)"
        let get = try await Running(command: [curl, "-sS", "-i", "--noproxy", "*", url]).finish()
        #expect(get.termination == .exit(0), "\(get.stderrText)")
        try Self.expectFile(get.stdout, is: file)
        let head = try await Running(command: [curl, "-sS", "-I", "--noproxy", "*", url]).finish()
        #expect(head.termination == .exit(0), "\(head.stderrText)")
        try Self.expectFile(head.stdout, is: file, head: true)
      }
      let missing = try await Running(
        command: [
          curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--noproxy", "*",
          "http://127.0.0.1:\(port)/missing.html",
        ]).finish()
      #expect(missing.stdoutText == "404")
      let post = try await Running(
        command: [
          curl, "-sS", "-i", "-X", "POST", "--data", "x=1", "--noproxy", "*",
          "http://127.0.0.1:\(port)/",
        ]).finish()
      #expect(HTTPResponse(post.stdout)?.status == 405)
      #expect(HTTPResponse(post.stdout)?.header("Allow") == "GET, HEAD")
    }
  }

  @Test(
    "a headless Chromium loads the page, its stylesheet, picture and script", arguments: servers)
  func chromium(server: Program) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port, arguments: [Self.site.path]) { running in
      let page = try await Browser.dumpDOM("http://127.0.0.1:\(port)/")
      #expect(page.termination == .exit(0), "\(page.stderrText.suffix(2000))")
      // app.js wrote this line after the load event, having checked that the
      // stylesheet's colour applies and that the picture has its size.
      #expect(page.stdoutText.contains("style.css: applied; sockets.png: 64x32; app.js: ran"))
      // The server's log: the browser fetched each of them
      let fetched = ["", "style.css", "sockets.png", "app.js"].map { "\n200 GET /\($0)\n" }
      try await running.wait(for: "log lines for /, style.css, sockets.png, app.js") { output in
        fetched.allSatisfy { output.stdoutText.contains($0) }
      }
    }
  }

  @Test("every client flavor fetches every file from Python's http.server", arguments: clients)
  func python(client: String) async throws {
    let python = try Tools.require("python3", package: "python3")
    let port = Ports.reserve()
    let server = try Running(
      command: [
        python, "-m", "http.server", "--bind", "127.0.0.1", "\(port)", "--directory",
        Self.site.path,
      ],
      label: "python3 -m http.server")
    do {
      try await server.waitUntilOpen(port, within: .seconds(60))
      for name in Self.siteFiles {
        let output = try await Self.fetch(
          client, port: port, arguments: ["http://127.0.0.1:\(port)/\(name)"])
        #expect(output.termination == .exit(0), "\(name): \(output.stderrText)")
        let response = try #require(
          HTTPResponse(output.stdout), "\(name): \(output.stdoutText.prefix(200))")
        let expected = try Self.bytes(of: Self.site.appendingPathComponent(name))
        #expect(response.status == 200)
        #expect(response.header("Content-Length") == "\(expected.count)")
        #expect(response.body == expected, "\(name)")
      }
      try await server.stop()
    } catch {
      _ = try? await server.stop()
      throw error
    }
  }

  // MARK: - Hostile clients

  @Test(
    "hostile requests get a clear status or a closed connection, and nothing outside the root",
    arguments: servers)
  func hostile(server: Program) async throws {
    let site = try TempSite()
    defer { site.remove() }
    let port = Ports.reserve()
    try await Running.withServer(server, port: port, arguments: [site.site.path]) { running in
      do {
        try await Self.hostileRequests(port: port, site: site)
      } catch {
        throw Self.explained(error, by: running)
      }
      #expect(running.output.termination == nil, "the server is still running")
      #expect(running.output.stderrText == "")
      // The escape codes reach the log as '?'; nothing but printable ASCII does
      let log = try await running.wait(for: "the log line of the escape-code request") {
        $0.stdoutText.contains("\n400 GET /?[2J?[31mred\n")
      }
      #expect(!log.stdoutText.contains("\u{1b}"))
      #expect(log.stdoutText.utf8.allSatisfy { ($0 >= 0x20 && $0 < 0x7f) || $0 == 0x0a })
    }
  }

  @Test("a slowloris and a silent client do not hold up anybody else", arguments: servers)
  func slowClients(server: Program) async throws {
    let port = Ports.reserve()
    let notes = Self.site.appendingPathComponent("notes.txt")
    try await Running.withServer(server, port: port, arguments: [Self.site.path]) { running in
      let silent = try SilentConnection(port: port)
      defer { silent.close() }
      let slow = try SlowClient(port: port)
      let padding = String(repeating: "z", count: 60)
      // While the slow client sends, three others ask for notes.txt. The slow client's
      // thread makes their requests, so a busy test process cannot blur the order.
      slow.start(
        Array("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: \(padding)\r\n\r\n".utf8),
        others: Array(repeating: Array("GET /notes.txt HTTP/1.0\r\n\r\n".utf8), count: 3),
        port: port)
      for client in Self.clients {
        let output = try await Self.fetch(
          client, port: port, arguments: ["http://127.0.0.1:\(port)/notes.txt"])
        try Self.expectFile(output.stdout, is: notes)
      }
      // The server gives a whole request 10 s to arrive: then 408, or at least a close.
      let outcome = try await slow.result(within: .seconds(60))
      #expect(outcome.others.count == 3)
      for reply in outcome.others { try Self.expectFile(reply.bytes, is: notes) }
      #expect(
        !outcome.endedBeforeOthers, "the others were served while the slow client was sending")
      #expect(outcome.reply.status == 408 || outcome.reply.status == 0, "\(outcome.reply)")
      #expect(outcome.sent < 80, "the server ended the slow request before it was complete")
      let after = try await RawHTTP.exchange(port: port, "GET /notes.txt HTTP/1.0\r\n\r\n")
      try Self.expectFile(after.bytes, is: notes)
      #expect(running.output.termination == nil)
    }
  }

  // MARK: - Lingering close

  /// A request of 1 MiB, nearly all of it one line: refused (414) once 8 KiB have come,
  /// with the rest still on its way.
  static let hugeLine = Array(
    "GET /\(String(repeating: "a", count: (1 << 20) - 18)) HTTP/1.0\r\n\r\n".utf8)

  @Test(
    "a refused request's unread bytes end in an orderly close, not a reset: 100 of 100",
    arguments: servers)
  func lingeringClose(server: Program) async throws {
    let port = Ports.reserve()
    let notes = Self.site.appendingPathComponent("notes.txt")
    try await Running.withServer(server, port: port, arguments: [Self.site.path]) { running in
      // Four clients at once, 25 exchanges each
      let exchanges = try await withThrowingTaskGroup(of: [Refused].self) { group in
        for _ in 0..<4 {
          group.addTask { try await onThread { try (0..<25).map { _ in try Self.refused(port) } } }
        }
        return try await group.reduce(into: []) { $0 += $1 }
      }
      #expect(exchanges.count == 100)
      let resets = exchanges.filter(\.reply.reset).count
      #expect(resets == 0, "\(resets) of 100 exchanges ended in a reset")
      let others = exchanges.map(\.reply).filter { $0.status != 414 }
      #expect(others.isEmpty, "\(others.count) not answered 414, such as \(others.prefix(1))")
      for exchange in exchanges { try Self.expectFile(exchange.served.bytes, is: notes) }
      #expect(running.output.termination == nil)
    }
  }

  /// One refused exchange and one served while it lasts.
  struct Refused: Sendable {
    let reply: RawReply
    let served: RawReply
  }

  /// A careless client sends the whole 1 MiB line before reading anything. While the
  /// server still has that connection, a GET on another must be answered; then the
  /// careless client reads its answer to the end.
  static func refused(_ port: UInt16) throws -> Refused {
    let careless = try RawConnection(port: port)
    defer { careless.close() }
    let sent = try careless.send(hugeLine)
    let other = try RawConnection(port: port)
    defer { other.close() }
    _ = try other.send(Array("GET /notes.txt HTTP/1.0\r\n\r\n".utf8))
    let served = try other.receiveAll()
    var reply = try careless.receiveAll()
    reply.reset = reply.reset || !sent  // the server reset the connection mid-send
    return Refused(reply: reply, served: served)
  }

  @Test("a client that never stops sending is cut off at the bounds", arguments: servers)
  func endlessSenders(server: Program) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port, arguments: [Self.site.path]) { running in
      async let fast = onThread { try Self.endlessLine(port: port, chunk: 65536, pace: 0) }
      async let slow = onThread { try Self.endlessLine(port: port, chunk: 1024, pace: 50) }
      let (quick, trickle) = try await (fast, slow)
      // As fast as it can: cut off once the server has read and discarded 1 MiB, long
      // before the 2 s are up
      #expect(quick.reply.status == 414, "\(quick.reply)")
      #expect(quick.cut < .seconds(2), "cut off after \(quick.cut)")
      // 20 KiB a second: the answer and an orderly end of stream, then cut off 2 s later
      #expect(trickle.reply.status == 414, "\(trickle.reply)")
      let answered = try #require(trickle.answered, "no end of stream before the cut")
      #expect(trickle.cut - answered > .seconds(1.5), "cut off \(trickle.cut - answered) after")
      #expect(trickle.cut - answered < .seconds(5), "cut off \(trickle.cut - answered) after")
      let after = try await RawHTTP.exchange(port: port, "GET /notes.txt HTTP/1.0\r\n\r\n")
      try Self.expectFile(after.bytes, is: Self.site.appendingPathComponent("notes.txt"))
      #expect(running.output.termination == nil)
    }
  }

  /// What a client that never stops sending saw. The times are from its first byte.
  struct Endless: Sendable {
    var reply = RawReply()
    /// When the answer's end of stream arrived.
    var answered: Duration?
    /// When a send failed or the connection was reset: the server cut it off.
    var cut = Duration.zero
  }

  /// Sends a request line that never ends, `chunk` bytes at a time; between chunks,
  /// waits up to `pace` ms for the answer or for the end of the connection, and reads
  /// what has come. Returns once the server cuts the connection off; fails after 30 s.
  static func endlessLine(port: UInt16, chunk: Int, pace: Int32) throws -> Endless {
    let connection = try RawConnection(port: port)
    defer { connection.close() }
    let clock = ContinuousClock()
    let start = clock.now
    var seen = Endless()
    var buffer = [UInt8](repeating: 0, count: 65536)
    var bytes = Array("GET /".utf8) + Array(repeating: UInt8(ascii: "a"), count: chunk - 5)
    while clock.now - start < .seconds(30) {
      var open = try connection.send(bytes)
      bytes = Array(repeating: UInt8(ascii: "a"), count: chunk)
      // The pace. Asking for no event at all after the answer: poll still reports a reset.
      let events = seen.answered == nil ? Int16(POLLIN) : 0
      var ready = pollfd(fd: connection.fd, events: events, revents: 0)
      _ = poll(&ready, 1, pace)
      open = open && ready.revents & Int16(POLLHUP | POLLERR) == 0
      // Whatever has arrived, without waiting: the answer, its end of stream, a reset
      while seen.answered == nil || !open {
        let count = recv(connection.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        if count > 0 {
          seen.reply.bytes += buffer[..<count]
          continue
        }
        if count == 0 && seen.answered == nil { seen.answered = clock.now - start }
        if count < 0 && errno != EAGAIN && errno != EWOULDBLOCK { seen.reply.reset = true }
        break
      }
      if !open {
        seen.cut = clock.now - start
        return seen
      }
    }
    throw HarnessError(description: "still sending after 30 s: the server never cut it off")
  }

  // MARK: - Starting and failing

  @Test(
    "with no DIR it serves lectures/http-site from the current folder, or says it is missing",
    arguments: servers)
  func defaultFolder(server: Program) async throws {
    let inFolder = { (folder: String) in ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", folder] }
    let port = Ports.reserve()
    try await Running.withServer(server, port: port, wrapper: inFolder(Kit.root.path)) { running in
      let reply = try await RawHTTP.exchange(port: port, "GET / HTTP/1.0\r\n\r\n")
      try Self.expectFile(reply.bytes, is: Self.site.appendingPathComponent("index.html"))
      try await running.waitForStdout("Serving lectures/http-site on port \(port)\n")
    }

    let empty = FileManager.default.temporaryDirectory.path
    let missing = try await Running(
      server, environment: ["KIT_PORT": "\(Ports.reserve())"], wrapper: inFolder(empty)
    ).finish()
    #expect(missing.termination == .exit(EXIT_FAILURE))
    #expect(
      missing.stderrText.hasPrefix(
        "http-server: cannot serve lectures/http-site: No such file or directory\n"))
    let file = try await Running(
      server, arguments: [Self.site.appendingPathComponent("index.html").path],
      environment: ["KIT_PORT": "\(Ports.reserve())"]
    ).finish()
    #expect(file.termination == .exit(EXIT_FAILURE))
    #expect(file.stderrText.contains("not a folder"))
  }

  @Test("the client says what is wrong and exits non-zero", arguments: clients)
  func clientErrors(client: String) async throws {
    let closedPort = Ports.reserve()  // reserved for this test, and nobody listens on it
    let cases: [(arguments: [String], message: String)] = [
      (["https://example.com/"], "https is not supported"),
      (["ftp://example.com/"], "the URL must start with http://"),
      (["http://"], "no host in the URL"),
      (["http://example.com:99999/"], "bad port"),
      (["http://example.com:80x/"], "bad port"),
      (["http://exa mple.com/"], "bad character in the host name"),
      (["http://example.com/a b"], "bad character in the path"),
      (["http://example.com/a\r\nX-Injected: 1"], "bad character in the path"),
      (["http://[::1/"], "no ']'"),
      (["localhost", "0", "/"], "bad port"),
      (["localhost", "80", "no-slash"], "the path must start with '/'"),
      (["a", "b"], "usage: http-client"),
      (["http://no-such-host.invalid/"], "unknown host no-such-host.invalid"),
      (
        ["http://127.0.0.1:\(closedPort)/"],
        "cannot connect to 127.0.0.1 port \(closedPort): Connection refused"
      ),
    ]
    for (arguments, message) in cases {
      let output = try await Self.fetch(client, port: closedPort, arguments: arguments)
      #expect(output.termination == .exit(EXIT_FAILURE), "\(arguments)")
      #expect(output.stdout == [], "\(arguments)")
      #expect(output.stderrText.contains(message), "\(arguments): \(output.stderrText)")
    }
  }

  // MARK: - Helpers

  /// The error, and if the server has ended meanwhile, how and what it said last.
  static func explained(_ error: any Error, by server: Running) -> any Error {
    guard let ended = server.output.termination else { return error }
    return HarnessError(
      description:
        "\(error)\n\(server.label) ended (\(ended)); its stderr:\n\(server.output.stderrText.suffix(4000))"
    )
  }

  /// The hostile requests, all at once, each on a connection of its own. Every one
  /// gets the status it deserves (0: the server closed without a word), nothing from
  /// outside the site comes back, and afterwards the server still serves.
  static func hostileRequests(port: UInt16, site: TempSite) async throws {
    // The same junk every run: NULs, high bytes, control characters, a few newlines
    let junk = (0..<4096).map { UInt8(truncatingIfNeeded: ($0 &* 2_246_822_519) >> 11) }
    let cases: [Hostile] = [
      // Out of the root, in every spelling: none may find the secret beside the site
      Hostile("..", "GET /../secret.txt HTTP/1.0\r\n\r\n", 404),
      Hostile("many ..", "GET /../../../../../../../../etc/passwd HTTP/1.0\r\n\r\n", 404),
      Hostile("%2e%2e", "GET /%2e%2e/secret.txt HTTP/1.0\r\n\r\n", 404),
      Hostile("%2E%2E%2F", "GET /%2E%2E%2Fsecret.txt HTTP/1.0\r\n\r\n", 404),
      Hostile("..%2f", "GET /..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd HTTP/1.0\r\n\r\n", 404),
      Hostile("%2f absolute", "GET /%2fetc%2fpasswd HTTP/1.0\r\n\r\n", 404),
      Hostile("// absolute", "GET //etc/passwd HTTP/1.0\r\n\r\n", 404),
      Hostile("./..", "GET /./../secret.txt HTTP/1.0\r\n\r\n", 404),
      Hostile("symlink to a file outside", "GET /leak.txt HTTP/1.0\r\n\r\n", 404),
      Hostile("symlink to the folder above", "GET /up/secret.txt HTTP/1.0\r\n\r\n", 404),
      Hostile("a folder whose index.html leads out", "GET /trap/ HTTP/1.0\r\n\r\n", 404),
      Hostile(
        "a sibling named like the root", "GET /../site-private/key.txt HTTP/1.0\r\n\r\n", 404),
      Hostile("no leading /", "GET ../secret.txt HTTP/1.0\r\n\r\n", 400),
      Hostile("absolute-form", "GET http://127.0.0.1/../secret.txt HTTP/1.0\r\n\r\n", 400),
      Hostile("%00", "GET /index.html%00.txt HTTP/1.0\r\n\r\n", 400),
      Hostile("bad %", "GET /%zz HTTP/1.0\r\n\r\n", 400),
      Hostile("% at the end", "GET /index.html% HTTP/1.0\r\n\r\n", 400),
      // Malformed requests
      Hostile("POST", "POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", 405),
      Hostile("lower-case method", "get / HTTP/1.0\r\n\r\n", 405),
      Hostile("HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400),
      Hostile("HTTP/1.1 with two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
      Hostile("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", 505),
      Hostile("HTTP/0.9", "GET /\r\n\r\n", 400),
      Hostile("no version", "GET / \r\n\r\n", 400),
      Hostile("extra word", "GET / HTTP/1.0 extra\r\n\r\n", 400),
      Hostile("two spaces", "GET  / HTTP/1.0\r\n\r\n", 400),
      Hostile("header without colon", "GET / HTTP/1.0\r\nNoColon\r\n\r\n", 400),
      Hostile("folded header", "GET / HTTP/1.0\r\nX: a\r\n  b\r\n\r\n", 400),
      Hostile("space in a header name", "GET / HTTP/1.0\r\nBad Name: x\r\n\r\n", 400),
      Hostile("NUL in a header", "GET / HTTP/1.0\r\nX: a\u{0}b\r\n\r\n", 400),
      Hostile("lone CR", "GET /\rindex.html HTTP/1.0\r\n\r\n", 400),
      Hostile("escape codes", "GET /\u{1b}[2J\u{1b}[31mred HTTP/1.0\r\n\r\n", 400),
      Hostile("only blank lines", "\r\n\r\n", 400),
      // Too much
      Hostile(
        "1 MiB request line", "GET /\(String(repeating: "a", count: 1 << 20)) HTTP/1.0\r\n\r\n",
        414, 0),
      Hostile(
        "9000-byte header line",
        "GET / HTTP/1.0\r\nX: \(String(repeating: "b", count: 9000))\r\n\r\n", 431, 0),
      Hostile(
        "100 headers", "GET / HTTP/1.0\r\n" + String(repeating: "X: y\r\n", count: 100) + "\r\n",
        431, 0),
      Hostile(
        "20 KiB of headers",
        "GET / HTTP/1.0\r\n"
          + String(repeating: "X: \(String(repeating: "c", count: 500))\r\n", count: 40) + "\r\n",
        431, 0),
      // Junk, and clients that stop
      Hostile("random bytes", junk + Array("\r\n\r\n".utf8), then: .wait, 400, 414, 0),
      Hostile("random bytes, then the end", junk, then: .finishSending, 400, 414, 0),
      Hostile("end of stream mid-line", Array("GET /index.html HT".utf8), then: .finishSending, 0),
      Hostile(
        "end of stream mid-headers", Array("GET / HTTP/1.0\r\nHost: x\r\n".utf8),
        then: .finishSending, 0),
      Hostile(
        "hang up mid-request", Array("GET /index.html HTTP/1.0\r\nHo".utf8), then: .hangUp, 0),
      Hostile("silence mid-line", Array("GET /index.html HT".utf8), then: .wait, 408, 0),
    ]
    let secret = Array(site.secret.utf8)
    let replies = try await withThrowingTaskGroup(of: (String, RawReply, Set<Int>).self) { group in
      for item in cases {
        group.addTask {
          (
            item.name, try await RawHTTP.exchange(port: port, item.bytes, then: item.after),
            item.allowed
          )
        }
      }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    #expect(replies.count == cases.count)
    for (name, reply, allowed) in replies {
      #expect(allowed.contains(reply.status), "\(name): \(reply)")
      #expect(reply.bytes.firstRange(of: secret) == nil, "\(name): the secret came back")
      #expect(
        reply.bytes.firstRange(of: Array("root:".utf8)) == nil, "\(name): /etc/passwd came back")
      if reply.status == 405 { #expect(reply.response?.header("Allow") == "GET, HEAD") }
    }
    // A link that stays inside the site is fine, and the server still serves
    let inner = try await RawHTTP.exchange(port: port, "GET /inner.html HTTP/1.0\r\n\r\n")
    #expect(inner.response?.status == 200)
    #expect(inner.response?.body == (try bytes(of: site.site.appendingPathComponent("index.html"))))
    let after = try await RawHTTP.exchange(port: port, "GET / HTTP/1.0\r\n\r\n")
    try expectFile(after.bytes, is: site.site.appendingPathComponent("index.html"))
  }
}

/// One hostile request: its bytes, what the client does after sending them, and the
/// statuses it may get (0: the server closes without a word).
struct Hostile: Sendable {
  let name: String
  let bytes: [UInt8]
  let after: RawHTTP.After
  let allowed: Set<Int>

  init(_ name: String, _ request: String, _ allowed: Int...) {
    self.init(name, Array(request.utf8), then: .wait, allowed)
  }
  init(_ name: String, _ bytes: [UInt8], then after: RawHTTP.After, _ allowed: Int...) {
    self.init(name, bytes, then: after, allowed)
  }
  private init(_ name: String, _ bytes: [UInt8], then after: RawHTTP.After, _ allowed: [Int]) {
    self.name = name
    self.bytes = bytes
    self.after = after
    self.allowed = Set(allowed)
  }
}

/// The sample site copied into a fresh temporary folder, with a secret file beside it,
/// symbolic links that lead out of it (and one that stays inside), and a large binary
/// file. The server is given `site`; nothing outside it may ever come back.
struct TempSite {
  let folder: URL
  let site: URL
  let secret = "kit-secret-\(UUID().uuidString)"

  init() throws {
    let files = FileManager.default
    folder = files.temporaryDirectory.appendingPathComponent("kit-http-\(UUID().uuidString)")
    site = folder.appendingPathComponent("site")
    try files.createDirectory(at: folder, withIntermediateDirectories: true)
    try files.copyItem(at: HttpTests.site, to: site)
    try Data(secret.utf8).write(to: folder.appendingPathComponent("secret.txt"))
    // "site-private" starts with "site": a root check by prefix alone would let it through
    try files.createDirectory(
      at: folder.appendingPathComponent("site-private"), withIntermediateDirectories: true)
    try Data(secret.utf8).write(to: folder.appendingPathComponent("site-private/key.txt"))
    try files.createSymbolicLink(
      atPath: site.appendingPathComponent("leak.txt").path, withDestinationPath: "../secret.txt")
    try files.createSymbolicLink(
      atPath: site.appendingPathComponent("up").path, withDestinationPath: "..")
    try files.createSymbolicLink(
      atPath: site.appendingPathComponent("inner.html").path, withDestinationPath: "index.html")
    try files.createDirectory(
      at: site.appendingPathComponent("trap"), withIntermediateDirectories: true)
    try files.createSymbolicLink(
      atPath: site.appendingPathComponent("trap/index.html").path,
      withDestinationPath: "../../secret.txt")
    // Larger than any read buffer, not text, of a type the server does not know
    let big = (0..<300_000).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
    try Data(big).write(to: site.appendingPathComponent("big.data"))
  }

  func remove() { try? FileManager.default.removeItem(at: folder) }
}

/// The C server built with AddressSanitizer and UndefinedBehaviorSanitizer, under the
/// hostile requests. It compiles, so make test runs it with the other suites that do
/// (HEAVY_SUITES), after the ones whose programs keep deadlines.
@Suite("http under sanitizers", .timeLimit(.minutes(5)))
struct HttpSanitizerTests {
  @Test("the C server under AddressSanitizer and UndefinedBehaviorSanitizer: no report")
  func sanitizers() async throws {
    let cc = try Tools.require("cc", package: "gcc")
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("kit-http-sanitized-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let program = folder.appendingPathComponent("http-server").path
    let build = try await Running(command: [
      cc, "-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-pthread",
      "-Wall", "-Wextra", "-o", program,
      Kit.root.appendingPathComponent("CSources/http/server.c").path,
      Kit.root.appendingPathComponent("CSources/http/request.c").path,
    ]).finish(within: .seconds(120))
    #expect(build.termination == .exit(0), "\(build.stderrText)")
    #expect(build.stderrText == "", "no warnings")

    let site = try TempSite()
    defer { site.remove() }
    let port = Ports.reserve()
    let server = try Running(
      command: [program, site.site.path], label: "sanitized http-server",
      environment: [
        "KIT_PORT": "\(port)", "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        "ASAN_OPTIONS": "abort_on_error=0",
      ])
    do {
      try await server.waitUntilOpen(port, within: .seconds(60))
      try await HttpTests.hostileRequests(port: port, site: site)
      for name in HttpTests.siteFiles + ["big.data"] {
        let reply = try await RawHTTP.exchange(port: port, "GET /\(name) HTTP/1.0\r\n\r\n")
        try HttpTests.expectFile(reply.bytes, is: site.site.appendingPathComponent(name))
      }
      // A slow client cut off by the deadline, and a client that hangs up at once
      let slow = try SlowClient(port: port)
      slow.start(Array("GET / HTTP/1.0\r\nX: \(String(repeating: "z", count: 40))\r\n\r\n".utf8))
      _ = try await RawHTTP.exchange(port: port, "GET /big.data HTTP/1.0\r\n\r\n", then: .hangUp)
      let outcome = try await slow.result(within: .seconds(60))
      #expect(outcome.reply.status == 408 || outcome.reply.status == 0)
      let output = try await server.stop()
      #expect(output.termination == .signal(SIGKILL), "it ran until stopped")
      #expect(!output.stderrText.contains("Sanitizer"), "\(output.stderrText)")
      #expect(!output.stderrText.contains("runtime error"), "\(output.stderrText)")
    } catch {
      _ = try? await server.stop()
      throw HttpTests.explained(error, by: server)
    }
  }
}
