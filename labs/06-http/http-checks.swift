// Lab 06, http: the student's static HTTP/1.0 server, serving a folder the grader
// makes for each check, asked by raw requests, curl and a headless Chromium, and
// attacked by the hostile requests of the kit's own http tests (README.md says what
// each check means).
import Foundation
import KitHarness

#if canImport(Glibc)
  import Glibc  // setsockopt, SO_LINGER
#endif

extension Lab {
  static let http = Lab(
    number: "06", name: "http", programs: ["server"],
    checks: [
      Http.portAndFolder, Http.servesFiles, Http.contentLength, Http.contentType, Http.head,
      Http.notFound, Http.methodNotAllowed, Http.badRequest, Http.uriTooLong,
      Http.traversalDotDot, Http.traversalEncoded, Http.traversalAbsolute, Http.traversalSymlink,
      Http.curl, Http.chromium, Http.silentClient, Http.keepsServing,
    ])
}

enum Http {
  /// The page, its stylesheet, script and picture, with what each must be served as
  /// (a type's parameters, such as "; charset=utf-8", may follow).
  static let files: [(name: String, types: [String])] = [
    ("index.html", ["text/html"]), ("style.css", ["text/css"]),
    ("app.js", ["text/javascript", "application/javascript"]), ("sockets.png", ["image/png"]),
  ]

  static let portAndFolder = Check(
    "uses-port-and-folder", "listens on KIT_PORT and serves the folder named by its argument",
    needs: ["server"]
  ) { solution in
    try await serving(solution) { served in
      let reply = try await served.get("/index.html")
      let lecturePage = try? Data(
        contentsOf: Kit.root.appendingPathComponent("lectures/http-site/index.html"))
      if let body = reply.response?.body, lecturePage.map({ body == Array($0) }) == true {
        throw CheckFailed(
          "GET /index.html brought the kit's lectures/http-site/index.html, not the one in the folder your server was given (\(served.site.root.path)): serve the folder named by argv[1]."
        )
      }
      try served.expectFile("index.html", reply)
    }
  }

  static let servesFiles = Check(
    "get-serves-files", "GET: 200 and the file's exact bytes (html, css, js, png, 1 MiB binary)",
    needs: ["server"]
  ) { solution in
    try await serving(solution) { served in
      for name in files.map(\.name) + ["big.data"] {
        try served.expectFile(name, try await served.get("/\(name)"))
      }
    }
  }

  static let contentLength = Check(
    "content-length", "Content-Length: the file's size in bytes", needs: ["server"]
  ) { solution in
    try await serving(solution) { served in
      for name in files.map(\.name) + ["big.data"] {
        let reply = try await served.get("/\(name)")
        let size = served.site.bytes(name).count
        guard let response = reply.response, response.status == 200 else {
          throw CheckFailed("GET /\(name): expected 200, got:\n\(describe(reply))")
        }
        guard let length = response.header("Content-Length") else {
          throw CheckFailed(
            "GET /\(name): no Content-Length header. It says where the body ends: without it a client cannot tell a whole file from a connection that broke, and a HEAD answer cannot say how big the file is.\n\(describe(reply))"
          )
        }
        guard Int(length) == size else {
          let zero =
            served.site.bytes(name).contains(0)
            ? " It holds zero bytes: strlen stops at the first." : ""
          throw CheckFailed(
            "GET /\(name): Content-Length says \(length), the file has \(size) bytes.\(zero)\n\(describe(reply))"
          )
        }
      }
    }
  }

  static let contentType = Check(
    "content-type", "Content-Type: text/html, text/css, text/javascript, image/png",
    needs: ["server"]
  ) { solution in
    try await serving(solution) { served in
      for (name, types) in files {
        let reply = try await served.get("/\(name)")
        guard reply.response?.status == 200 else {
          throw CheckFailed("GET /\(name): expected 200, got:\n\(describe(reply))")
        }
        let type = reply.response?.header("Content-Type")
        let media = type?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces)
        guard let media, types.contains(media.lowercased()) else {
          throw CheckFailed(
            "GET /\(name): expected Content-Type \(types.joined(separator: " or ")), got \(type.map { "\"\($0)\"" } ?? "no Content-Type header"). A client goes by this header, not by the file's name: a browser refuses a stylesheet that comes as anything but text/css, and can only guess when there is none.\n\(describe(reply))"
          )
        }
      }
    }
  }

  static let head = Check(
    "head", "HEAD: GET's status and headers, and no body", needs: ["server"]
  ) { solution in
    try await serving(solution) { served in
      for name in files.map(\.name) {
        let get = try await served.get("/\(name)")
        let head = try await served.get("/\(name)", method: "HEAD")
        guard let response = head.response, response.status == 200, response.body.isEmpty else {
          throw CheckFailed(
            "HEAD /\(name): expected 200 with the headers GET sends and no body (the client asked for the headers only), got:\n\(describe(head))"
          )
        }
        for header in ["Content-Type", "Content-Length"] {
          let (got, expected) = (response.header(header), get.response?.header(header))
          guard got == expected else {
            throw CheckFailed(
              "HEAD /\(name): \(header) is \(got.map { "\"\($0)\"" } ?? "missing"), but GET sends \(expected.map { "\"\($0)\"" } ?? "none"): HEAD answers with exactly GET's headers.\n\(describe(head))"
            )
          }
        }
      }
    }
  }

  static let notFound = Check(
    "not-found-404", "a file that is not there: 404", needs: ["server"]
  ) { solution in
    try await serving(solution) { served in
      for target in ["/missing.html", "/no/such/folder/style.css"] {
        try await served.expectStatus(
          404, "GET \(target) HTTP/1.0\r\n\r\n",
          why: "there is no such file in the folder: 404 Not Found, never 200 with an empty body")
      }
    }
  }

  static let methodNotAllowed = Check(
    "method-405", "POST, PUT, DELETE: 405 Method Not Allowed", needs: ["server"]
  ) { solution in
    try await serving(solution) { served in
      let form = "name=kit"
      for request in [
        "POST /index.html HTTP/1.0\r\nContent-Length: \(form.utf8.count)\r\n\r\n\(form)",
        "PUT /style.css HTTP/1.0\r\nContent-Length: \(form.utf8.count)\r\n\r\n\(form)",
        "DELETE /index.html HTTP/1.0\r\n\r\n",
      ] {
        try await served.expectStatus(
          405, request,
          why: "this server serves files and changes none: only GET and HEAD, anything else 405")
      }
    }
  }

  static let badRequest = Check(
    "bad-request-400", "request lines that are not METHOD TARGET HTTP/x.y: 400",
    needs: ["server"]
  ) { solution in
    try await serving(solution) { served in
      for line in ["hello", "GET", "GET /index.html", "GET /index.html FOO/1.0"] {
        try await served.expectStatus(
          400, "\(line)\r\n\r\n",
          why:
            "a request line is three words, METHOD TARGET HTTP/1.0 (or HTTP/1.1); anything else is 400 Bad Request"
        )
      }
    }
  }

  static let uriTooLong = Check(
    "uri-too-long-414", "a 1 MiB request line: 414, without reading it all", needs: ["server"]
  ) { solution in
    try await serving(solution) { served in
      let reply = try await served.overLong()
      guard reply.status == 414 else {
        throw CheckFailed(
          """
          GET /aaa...(1 MiB of a)... HTTP/1.0: expected 414 URI Too Long, got:
          \(describe(reply))\(served.ended())
            A server reads at most a fixed number of bytes of a line (8 KiB is common); a
            line that does not end by then gets 414 at once, unread, and the connection is
            closed. Reading it all lets one client fill the server's memory; cutting it
            short (as fgets does) serves a different name than the one asked for.
          """)
      }
    }
  }

  static let traversalDotDot = Check(
    "traversal-dotdot", "\"..\" never leads out of the folder", needs: ["server"]
  ) { solution in
    try await serving(solution) { served in
      try await served.expectNoLeak(
        [
          "/../secret.txt", "/./../secret.txt", "/../../../../../../../../../../etc/passwd",
          "../secret.txt", "/../site-private/key.txt",
        ],
        how: """
          ".." climbs out of the folder. Resolve the path first (realpath resolves "..",
          "." and symbolic links), then check that the result is the folder itself or
          starts with the folder's resolved path followed by "/": without the "/", a
          folder /srv/site would let in /srv/site-private.
          """)
    }
  }

  static let traversalEncoded = Check(
    "traversal-encoded", "%2e%2e and %2f are judged as the \"..\" and \"/\" they are",
    needs: ["server"]
  ) { solution in
    try await serving(solution) { served in
      try await served.expectNoLeak(
        [
          "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/..%2fsecret.txt", "/.%2e/secret.txt",
          "/" + String(repeating: "%2e%2e%2f", count: 10) + "etc%2fpasswd",
        ],
        how: """
          %2e is ".", %2f is "/": decoded, these names climb out of the folder. Decode
          the whole path first, then judge the decoded name (realpath and the folder
          check); a check made before decoding sees no "..".
          """)
    }
  }

  static let traversalAbsolute = Check(
    "traversal-absolute", "//etc/passwd and other absolute paths stay inside the folder",
    needs: ["server"]
  ) { solution in
    try await serving(solution) { served in
      let secret = served.site.folder.appendingPathComponent("secret.txt").path
      try await served.expectNoLeak(
        [
          "/" + secret, "/%2f" + secret.dropFirst().replacingOccurrences(of: "/", with: "%2f"),
          "//etc/passwd", "/%2fetc%2fpasswd", "http://127.0.0.1/../secret.txt",
        ],
        how: """
          a target is a path inside the folder even when it starts with "//": a server
          that strips the first "/" and opens the rest (after chdir, say) opens any file
          on the machine. Join the folder and the whole target, then resolve and check.
          """)
    }
  }

  static let traversalSymlink = Check(
    "traversal-symlink", "a symbolic link in the folder never leads out of it",
    needs: ["server"]
  ) { solution in
    try await serving(solution) { served in
      try await served.expectNoLeak(
        ["/leak.txt", "/up/secret.txt", "/trap/index.html", "/trap/"],
        how: """
          the folder holds symbolic links that point out of it (leak.txt -> ../secret.txt,
          up -> .., trap/index.html -> ../../secret.txt). The name asked for is clean;
          only where the link leads is not. realpath follows the links: check its result.
          """)
    }
  }

  static let curl = Check(
    "curl", "curl fetches the page, the picture and 1 MiB: exit 0, 200, the exact bytes",
    needs: ["server"]
  ) { solution in
    let curl: String
    do {
      curl = try Tools.require("curl", package: "curl")
    } catch {
      throw CheckFailed("the grader needs curl: apt-get install curl (./kit test installs it)")
    }
    try await serving(solution) { served in
      for name in ["index.html", "sockets.png", "big.data"] {
        let saved = served.site.folder.appendingPathComponent("curl-\(name)")
        let url = "http://127.0.0.1:\(served.port)/\(name)"
        let fetch = try Running(
          command: [
            curl, "-sS", "--noproxy", "*", "--max-time", "15", "-o", saved.path,
            "-w", "%{http_code}", url,
          ], label: "curl")
        let ran = try await finish(
          fetch, within: .seconds(30), hint: "curl \(url) did not end within 30 s.")
        let got = (try? Data(contentsOf: saved)).map { Array($0) } ?? []
        guard ran.termination == .exit(0), ran.stdoutText == "200", got == served.site.bytes(name)
        else {
          throw CheckFailed(
            """
            curl \(url): expected exit status 0, status 200 and the file's \(served.site.bytes(name).count) bytes; got \(ran.termination.map { "\($0)" } ?? "-"), status \(ran.stdoutText), \(got.count) bytes.
              curl's stderr:
            \(shown(ran.stderrText))
              (curl reads exactly Content-Length bytes of body: more are dropped, fewer is an error.)
            """)
        }
      }
    }
  }

  static let chromium = Check(
    "chromium", "a headless Chromium loads the page, its stylesheet, script and picture",
    needs: ["server"], limit: .seconds(150)
  ) { solution in
    try await serving(solution) { served in
      let page: Output
      do {
        page = try await Browser.dumpDOM(
          "http://127.0.0.1:\(served.port)/index.html", within: .seconds(120))
      } catch let error as HarnessError where error.description.contains("not installed") {
        throw CheckFailed(
          "the grader needs Chromium: apt-get install chromium (./kit test installs it)")
      } catch {
        throw CheckFailed(
          "Chromium did not finish loading http://127.0.0.1:\(served.port)/index.html within 120 s: does your server answer every connection, and close each after its response?\n  \(error)"
        )
      }
      // app.js writes this line once the page has loaded, having checked that the
      // stylesheet applies and that the picture has its size.
      let expected = "style.css: applied; sockets.png: 64x32; app.js: ran"
      let report = page.stdoutText.firstRange(of: "<p id=\"check\">").map { start in
        String(page.stdoutText[start.upperBound...].prefix { $0 != "<" })
      }
      guard page.termination == .exit(0), let report, report == expected else {
        let why =
          switch report {
          case nil: "the page did not load: is /index.html served with 200 and text/html?"
          case let line? where line.hasPrefix("app.js has not run"):
            "the script did not run: is /app.js served with 200, all its bytes, text/javascript?"
          default:
            "that is what app.js found: a stylesheet applies only when it comes as text/css, and a picture shows only with all its bytes."
          }
        // Chromium's stderr is mostly about its own sandbox and D-Bus; its net:: lines
        // say what failed on the network.
        let said = page.stderrText.split(separator: "\n").filter { $0.contains("net::") }.map {
          $0.split(separator: "] ", maxSplits: 1).last ?? $0  // without the pid and clock
        }
        throw CheckFailed(
          """
          Chromium loaded http://127.0.0.1:\(served.port)/index.html (it ended with \(page.termination.map { "\($0)" } ?? "-")).
            The line app.js writes at the end of the page says \(report.map { "\"\($0)\"" } ?? "nothing: there is no such line"),
            expected "\(expected)":
            \(why)
          """
            + (said.isEmpty
              ? "" : "\n  Chromium said:\n" + shown(said.suffix(3).joined(separator: "\n") + "\n")))
      }
    }
  }

  static let silentClient = Check(
    "silent-client", "a connected client that sends nothing holds up nobody else",
    needs: ["server"]
  ) { solution in
    try await serving(solution) { served in
      let silent = try SilentConnection(port: served.port)
      defer { silent.close() }
      let reply: Reply
      do {
        reply = try await Wire.exchange(
          port: served.port, Array("GET /index.html HTTP/1.0\r\n\r\n".utf8))
      } catch let error as Unfinished where !error.whole {
        throw CheckFailed(
          """
          with one client connected and silent, GET /index.html from another got no answer within \(RawConnection.patience) s.\(served.ended())
            Browsers open connections before they need them and leave them silent; a
            server that waits on one client's recv serves nobody meanwhile. Serve each
            connection on a thread of its own (pthread_create), and give reads a timeout
            (SO_RCVTIMEO) so that a silent client's thread ends too.
          """)
      } catch {
        throw CheckFailed("\"GET /index.html HTTP/1.0\": \(error)\(served.ended())")
      }
      try served.expectFile("index.html", reply)
    }
  }

  static let keepsServing = Check(
    "keeps-serving", "after junk, hang-ups and oversized headers it still serves",
    needs: ["server"], limit: .seconds(90)
  ) { solution in
    try await serving(solution) { served in
      try served.expectFile("index.html", try await served.get("/index.html"))
      let idle = try ProcessStatus.openDescriptors(served.server.pid)
      var settles = true
      for hostile in Hostile.all {
        let client: UInt16
        do {
          client = try await hostile.send(served.port)
        } catch {
          throw CheckFailed(
            "\(hostile.name): \(error)\(served.ended())\n  \(hostile.why)")
        }
        // Only once the server is done with that client (or has ended) is it fair to
        // look: a write that kills it may come well after the client has gone.
        if settles {
          do {
            try await ProcessStatus.wait(for: "the client's end", within: .seconds(5)) {
              served.server.output.termination != nil
                || (!served.busy(with: client, idle: idle) && isAlive(served.server.pid))
            }
          } catch {
            settles = false  // it keeps connections or descriptors: look without waiting
          }
        }
        guard served.server.output.termination == nil else {
          throw CheckFailed(
            "your server ended after this client: \(hostile.name).\(served.ended())\n  \(hostile.why)"
          )
        }
      }
      do {
        try served.expectFile("index.html", try await served.get("/index.html"))
      } catch let failure as CheckFailed {
        throw CheckFailed("after the hostile clients, \(failure)")
      }
    }
  }
}

// MARK: - The grader's folder and server

/// The folder served to each check: the lecture's sample site (a page with a
/// stylesheet, a script and a picture) with this run's mark in the page, a 1 MiB
/// binary file, and traps: a secret beside the folder, a sibling folder whose name
/// starts with the folder's, and symbolic links that lead out.
private struct Site: Sendable {
  /// Holds site/ (what the server is given), secret.txt and site-private/.
  let folder: URL
  let root: URL
  let secret = "kit-grade-secret-\(UUID().uuidString)"
  private let contents: [String: [UInt8]]

  init() throws {
    let files = FileManager.default
    folder = files.temporaryDirectory.appendingPathComponent("kit-grade-http-\(UUID().uuidString)")
    root = folder.appendingPathComponent("site")
    try files.createDirectory(
      at: root.appendingPathComponent("trap"), withIntermediateDirectories: true)
    let lecture = Kit.root.appendingPathComponent("lectures/http-site")
    var contents: [String: [UInt8]] = [:]
    for (name, _) in Http.files {
      contents[name] = Array(try Data(contentsOf: lecture.appendingPathComponent(name)))
    }
    // A mark of this run, so that a server serving some other folder is found out
    contents["index.html"]! += Array("<!-- served from \(root.path) -->\n".utf8)
    // Larger than any buffer, with zero bytes, of a type the lab names no type for
    contents["big.data"] = (0..<(1 << 20) + 123).map {
      UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13)
    }
    for (name, bytes) in contents {
      try Data(bytes).write(to: root.appendingPathComponent(name))
    }
    try Self.makeHuge(root.appendingPathComponent("huge.data").path)
    self.contents = contents
    try files.createDirectory(
      at: folder.appendingPathComponent("site-private"), withIntermediateDirectories: true)
    for name in ["secret.txt", "site-private/key.txt"] {  // each says where it is
      let file = folder.appendingPathComponent(name)
      try Data("\(secret): \(file.path), outside the folder served\n".utf8).write(to: file)
    }
    for (link, target) in [
      ("leak.txt", "../secret.txt"), ("up", ".."), ("trap/index.html", "../../secret.txt"),
    ] {
      try files.createSymbolicLink(
        atPath: root.appendingPathComponent(link).path, withDestinationPath: target)
    }
  }

  /// A file larger than the most a server can have queued for a client: a send buffer
  /// (the kernel's largest) and the client's window. A server that writes it to a
  /// client that hung up is still writing when the client's reset comes, however late
  /// a loaded machine delivers it, and its next write fails with EPIPE. A 1 MiB file
  /// could all be queued first: the server then closes and never sees the error. Holes
  /// only (zero bytes), so it costs no disk.
  private static func makeHuge(_ path: String) throws {
    func largest(_ file: String) -> Int {
      let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
      return text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }.last ?? 0
    }
    // tcp_wmem's maximum is what the kernel grows a buffer to by itself; SO_SNDBUF
    // can ask for up to twice wmem_max.
    let buffer = max(
      largest("/proc/sys/net/ipv4/tcp_wmem"), 2 * largest("/proc/sys/net/core/wmem_max"))
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0, ftruncate(fd, off_t(max(buffer, 4 << 20) + (4 << 20))) == 0 else {
      let reason = String(cString: strerror(errno))
      if fd >= 0 { close(fd) }
      throw CheckFailed("the grader could not make \(path): \(reason)")
    }
    close(fd)
  }

  func bytes(_ name: String) -> [UInt8] { contents[name] ?? [] }
  func remove() { try? FileManager.default.removeItem(at: folder) }
}

/// Starts the student's server on a port of its own, serving a fresh Site; stops it
/// and removes the folder however `body` ends.
private func serving(_ solution: Solution, _ body: (Served) async throws -> Void) async throws {
  let site = try Site()
  defer { site.remove() }
  for _ in 1...3 {
    let port = Ports.reserve()
    let server = try await startServer(
      solution.program("server"), port: port, arguments: [site.root.path])
    guard try await listens(server, on: port) else {
      let seen = try await server.stop()
      guard seen.termination == .signal(SIGKILL) || seen.stderrText.contains("already in use")
      else {
        throw CheckFailed(
          "your server ended (\(seen.termination!)) just after it began to listen.\n  its stderr:\n\(shown(seen.stderrText))"
        )
      }
      continue  // a stranger took the port first, and ours could not bind it: another
    }
    try await stopping(server) { try await body(Served(site: site, port: port, server: server)) }
    try await server.stop()
    return
  }
  throw CheckFailed(
    "three times, the port reserved for your server was taken by another program first; run the grader again."
  )
}

/// Whether `server` itself holds the socket listening on `port`. The port was free
/// when reserved, but another grading run (or test) may bind it before the student's
/// server does: then the port looks open while the student's server fails with
/// "Address already in use", and every request would reach a stranger. Waits until
/// the socket is the server's, or the server has ended (bounded).
private func listens(_ server: Running, on port: UInt16) async throws -> Bool {
  let deadline = ContinuousClock.now + .seconds(5)
  while server.output.termination == nil && ContinuousClock.now < deadline {
    if holdsListener(server.pid, port: port) { return true }
    try await Task.sleep(for: .milliseconds(10))  // allowed: poll of a bounded wait
  }
  return false
}

/// /proc/net/tcp{,6} name each listening socket's port and inode; /proc/<pid>/fd
/// links to "socket:[inode]" for each socket the process holds.
private func holdsListener(_ pid: pid_t, port: UInt16) -> Bool {
  let sockets = Set(
    tcpSockets().filter { $0.state == "0A" && $0.local.hasSuffix(hex(port)) }.map {
      "socket:[\($0.inode)]"
    })
  let files = FileManager.default
  let held = (try? files.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
  return held.contains { fd in
    sockets.contains((try? files.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")) ?? "")
  }
}

/// The TCP sockets of this machine as the kernel lists them: addresses as "hex:PORT",
/// state as a hex code ("0A" listening, "01" established, "08" close-wait).
private func tcpSockets() -> [(
  local: Substring, remote: Substring, state: Substring, inode: Substring
)] {
  ["/proc/net/tcp", "/proc/net/tcp6"].flatMap { table in
    let text = procText(table)
    // "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode"
    return text.split(separator: "\n").dropFirst().map { $0.split(separator: " ") }
      .filter { $0.count > 9 }.map { (local: $0[1], remote: $0[2], state: $0[3], inode: $0[9]) }
  }
}

private func hex(_ port: UInt16) -> String { String(format: ":%04X", port) }

/// A /proc file's whole text. They report a size of 0, and Foundation's readers then
/// stop after the first 4 KiB: /proc/net/tcp is read to its end here, a chunk a time.
private func procText(_ path: String) -> String {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return "" }
  defer { close(fd) }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65536)
  while case let count = read(fd, &chunk, chunk.count), count > 0 { bytes += chunk[..<count] }
  return String(decoding: bytes, as: UTF8.self)
}

/// Alive, not a zombie waiting to be reaped (field 3 of /proc/<pid>/stat).
private func isAlive(_ pid: pid_t) -> Bool {
  let stat = procText("/proc/\(pid)/stat")
  guard let close = stat.lastIndex(of: ")") else { return false }
  return !["Z", "X"].contains(stat[stat.index(after: close)...].dropFirst().prefix(1))
}

/// The local port of a connected socket.
private func localPort(_ fd: Int32) -> UInt16 {
  var address = sockaddr_in()
  var size = socklen_t(MemoryLayout<sockaddr_in>.size)
  _ = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) }
  }
  return UInt16(bigEndian: address.sin_port)
}

private struct Served: Sendable {
  let site: Site
  let port: UInt16
  let server: Running

  /// Sends `request` on a connection of its own and reads until the server closes.
  func ask(_ request: String) async throws -> Reply {
    do {
      return try await Wire.exchange(
        port: port, Array(request.utf8), head: request.hasPrefix("HEAD "))
    } catch {
      throw CheckFailed("\"\(firstLine(request))\": \(error)\(ended())")
    }
  }

  func get(_ target: String, method: String = "GET") async throws -> Reply {
    try await ask("\(method) \(target) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\n\r\n")
  }

  /// Whether the server is not done with the connection from local port `client`:
  /// its end is still open (established or close-wait, accepted or still queued), or
  /// it holds more descriptors than when idle (a reset connection leaves the table at
  /// once, while the server may still be writing to it).
  func busy(with client: UInt16, idle: Int) -> Bool {
    let open = tcpSockets().contains {
      $0.local.hasSuffix(hex(port)) && $0.remote.hasSuffix(hex(client))
        && ($0.state == "01" || $0.state == "08")
    }
    return open || (try? ProcessStatus.openDescriptors(server.pid)) ?? 0 > idle
  }

  /// How the server ended, if it has: a crash shows here.
  func ended() -> String {
    guard let termination = server.output.termination else { return "" }
    let name =
      switch termination {
      case .signal(SIGSEGV): " (SIGSEGV: a bad pointer, or a write past the end of a buffer)"
      case .signal(SIGABRT): " (SIGABRT: abort(), e.g. the stack protector found an overrun)"
      case .signal(SIGPIPE): " (SIGPIPE: it wrote to a client that had gone)"
      default: ""
      }
    return
      "\n  your server has ended: \(termination)\(name).\n  its stderr:\n\(shown(server.output.stderrText))"
  }

  /// Fails unless `reply` is 200 with exactly the bytes of the site's file `name`.
  func expectFile(_ name: String, _ reply: Reply) throws {
    let expected = site.bytes(name)
    guard let response = reply.response, response.status == 200 else {
      throw CheckFailed(
        "GET /\(name): expected 200 and the file's \(expected.count) bytes, got:\n\(describe(reply))"
      )
    }
    guard response.body != expected else { return }
    let same = zip(response.body, expected).prefix { $0 == $1 }.count
    throw CheckFailed(
      """
      GET /\(name): 200, but the body is not the file: \(response.body.count) bytes where the file has \(expected.count), the first \(same) the same.
      \(describe(reply))
        Send the file's bytes as they are, all of them, and nothing after them (a file may
        hold zero bytes, and may be larger than one buffer or one write).
      """)
  }

  /// Fails unless `request` gets `status`.
  func expectStatus(_ status: Int, _ request: String, why: String) async throws {
    let reply = try await ask(request)
    guard reply.status != status else { return }
    throw CheckFailed(
      "\"\(firstLine(request))\": expected \(status), got:\n\(describe(reply))\(ended())\n  (\(why).)"
    )
  }

  /// Each target, as GET, must not bring back the secret beside the folder (nor
  /// /etc/passwd); `how` says how such a name leads out. First, the page must be
  /// served: a server that answers nothing leaks nothing, and passes nothing either.
  func expectNoLeak(_ targets: [String], how: String) async throws {
    let page = try await get("/index.html")
    do {
      try expectFile("index.html", page)
    } catch let failure as CheckFailed {
      throw CheckFailed("first the page must be served, and it is not: \(failure)")
    }
    for target in targets {
      let reply = try await get(target)
      let leaked =
        reply.bytes.firstRange(of: Array(site.secret.utf8)) != nil
        || reply.bytes.firstRange(of: Array("root:x:0:0".utf8)) != nil
      guard !leaked else {
        let body = reply.response?.body ?? reply.bytes
        throw CheckFailed(
          """
          GET \(target) HTTP/1.0 brought back a file from outside the folder \(site.root.path):
          \(describe(reply))
            whose body is:
          \(shown(String(decoding: body.prefix(300), as: UTF8.self)))
          \(indented(how))
          """)
      }
    }
  }

  /// A request line of 1 MiB that never ends, sent a piece at a time for as long as the
  /// server reads it: a server that answers (or closes) early is not made to read the
  /// rest, and one that waits for the line's end never gets it.
  func overLong() async throws -> Reply {
    let port = self.port
    do {
      return try await onThread {
        let connection = try RawConnection(port: port)
        defer { connection.close() }
        let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 64 * 1024)
        var going = try connection.send(Array("GET /".utf8))
        for _ in 0..<16 where going && !connection.readable(within: 0) {
          going = try connection.send(piece)
        }
        // The line never ends: a server that waits for its end before judging it has
        // read 1 MiB already, and a client need never send it.
        return try Wire.read(connection, head: false)
      }
    } catch {
      throw CheckFailed(
        "GET /aaa...(1 MiB of a)... HTTP/1.0: \(error)\(ended())\n  (a line longer than the server's limit gets 414 at once: the server stops reading it.)"
      )
    }
  }
}

/// A reply as a hint shows it: status line and headers, then the size of the body.
private func describe(_ reply: Reply) -> String {
  guard let response = reply.response else {
    if reply.bytes.isEmpty {
      return
        "    (the server closed the connection without a response\(reply.reset ? ": reset" : ""))"
    }
    let text = String(decoding: reply.bytes.prefix(300), as: UTF8.self)
    let why =
      text.hasPrefix("HTTP/") && !text.contains("\r\n")
      ? "Its lines end with \"\\n\" alone: HTTP ends every line of the status and headers with \"\\r\\n\", and the headers with an empty line."
      : "That is no HTTP response: one starts \"HTTP/1.0 200 OK\\r\\n\", then header lines (\"Name: value\\r\\n\"), then an empty line \"\\r\\n\", then the body."
    return shown(text) + "\n    " + why
  }
  let head = ([response.statusLine] + response.headers.map { "\($0.name): \($0.value)" })
  return shown(head.joined(separator: "\n") + "\n")
    + "\n    then \(response.body.count) bytes of body"
}

private func firstLine(_ request: String) -> String {
  String(request.prefix { !$0.isNewline }.prefix(100))  // "\r\n" is one Character
}

/// Text to put under a hint's first line: every line indented by two spaces.
private func indented(_ text: String) -> String {
  text.split(separator: "\n", omittingEmptySubsequences: false).map { "  \($0)" }
    .joined(separator: "\n")
}

// MARK: - One request on the wire

/// What came back on one connection, up to the server's close.
private struct Reply: Sendable {
  /// Our end's port: the server's socket for this connection is 127.0.0.1:clientPort.
  var clientPort: UInt16 = 0
  var bytes: [UInt8] = []
  /// The connection ended in a reset rather than a close.
  var reset = false

  var response: HTTPResponse? { HTTPResponse(bytes) }
  /// The response's status, 0 when the server closed without one.
  var status: Int { response?.status ?? 0 }
}

/// A response that never ended: HTTP/1.0 ends each one by closing the connection.
private struct Unfinished: Error, CustomStringConvertible {
  let reply: Reply
  /// Headers and all Content-Length bytes had come: only the close was missing.
  let whole: Bool

  var description: String {
    whole
      ? "your server sent its whole response but did not close the connection within \(Wire.grace): in HTTP/1.0 the close ends a response, and a client reading to the end waits for it.\n\(describe(reply))"
      : "no answer and no close within \(RawConnection.patience) s; what came:\n\(describe(reply))"
  }
}

private enum Wire {
  enum After: Sendable { case wait, finishSending, hangUp }

  /// How long a server that has sent a whole response may take to close.
  static let grace = Duration.seconds(3)

  /// Connects to 127.0.0.1:port, sends `bytes`, then (`after`) waits for the answer,
  /// or first tells the server it has sent all (end of stream mid-request), or hangs
  /// up without reading. Bounded as RawConnection is: 15 s of silence at most.
  static func exchange(
    port: UInt16, _ bytes: [UInt8], then after: After = .wait, head: Bool = false
  ) async throws -> Reply {
    try await onThread {
      let connection = try RawConnection(port: port)
      defer { connection.close() }
      guard try connection.send(bytes) else {  // the server closed or reset meanwhile
        var reply = try read(connection, head: head)
        reply.reset = true
        return reply
      }
      switch after {
      case .wait: break
      case .finishSending: connection.finishSending()
      case .hangUp: return Reply(clientPort: localPort(connection.fd))
      }
      return try read(connection, head: head)
    }
  }

  /// Reads until the server closes. Once the headers and Content-Length bytes of body
  /// (none for HEAD) are in, the close must follow within `grace`: a server that keeps
  /// the connection open fails in seconds, not after the full 15.
  static func read(_ connection: RawConnection, head: Bool) throws -> Reply {
    var reply = Reply(clientPort: localPort(connection.fd))
    var deadline = ContinuousClock.now + .seconds(RawConnection.patience)
    var whole = false
    while true {
      guard connection.readable(within: milliseconds(until: deadline)) else {
        throw Unfinished(reply: reply, whole: whole)
      }
      guard let chunk = try? connection.receiveOnce(upTo: 65536) else {
        reply.reset = true
        return reply
      }
      if chunk.isEmpty { return reply }
      reply.bytes += chunk
      if !whole, let response = reply.response,
        head || Int(response.header("Content-Length") ?? "") == response.body.count
      {
        whole = true
        deadline = ContinuousClock.now + grace
      }
    }
  }
}

// MARK: - Hostile clients

/// One client the server must outlive: what it sends, what it does then, and why a
/// server might not survive it.
private struct Hostile: Sendable {
  let name: String
  let bytes: [UInt8]
  let after: After
  let why: String

  enum After: Sendable { case wait, finishSending, hangUp, resetMidAnswer }

  init(_ name: String, _ bytes: [UInt8], then after: After, why: String) {
    (self.name, self.bytes, self.after, self.why) = (name, bytes, after, why)
  }
  init(_ name: String, _ text: String, then after: After, why: String) {
    self.init(name, Array(text.utf8), then: after, why: why)
  }

  /// Plays this client to the server on `port`; returns the client's own port.
  func send(_ port: UInt16) async throws -> UInt16 {
    switch after {
    case .wait: try await Wire.exchange(port: port, bytes, then: .wait).clientPort
    case .finishSending: try await Wire.exchange(port: port, bytes, then: .finishSending).clientPort
    case .hangUp: try await Wire.exchange(port: port, bytes, then: .hangUp).clientPort
    case .resetMidAnswer:
      try await onThread { [bytes] in
        let connection = try RawConnection(port: port)
        let client = localPort(connection.fd)
        do {
          _ = try connection.send(bytes)
          _ = try connection.receiveOnce(upTo: 100)  // the answer has begun
        } catch {
          connection.close()
          throw error
        }
        // SO_LINGER 0: close() sends RST, and the server's next write fails
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(
          connection.fd, SOL_SOCKET, SO_LINGER, &linger,
          socklen_t(MemoryLayout<Glibc.linger>.size))
        connection.close()
        return client
      }
    }
  }

  /// The same junk every run: zero bytes, high bytes, control characters, newlines.
  static let junk = (0..<4096).map { UInt8(truncatingIfNeeded: ($0 &* 2_246_822_519) >> 11) }

  static let all: [Hostile] = [
    Hostile(
      "a client that asks for a file larger than any send buffer and hangs up at once",
      "GET /huge.data HTTP/1.0\r\n\r\n", then: .hangUp,
      why:
        "writing to a connection the client has closed raises SIGPIPE, which ends the whole process unless ignored: signal(SIGPIPE, SIG_IGN), then write fails with EPIPE."
    ),
    Hostile(
      "a client that resets the connection mid-answer", "GET /big.data HTTP/1.0\r\n\r\n",
      then: .resetMidAnswer,
      why: "a failed write ends that connection, never the server: no exit() in a thread."),
    Hostile(
      "a client that connects and closes without a word", "", then: .hangUp,
      why: "recv returns 0 at once: there is no request to parse, and nobody to answer."),
    Hostile(
      "4 KiB of random bytes (zero bytes, control characters, newlines)",
      junk + Array("\r\n\r\n".utf8), then: .wait,
      why: "every byte a client sends is checked before it is trusted: answer 400 and close."),
    Hostile(
      "random bytes, then the end of the stream", junk, then: .finishSending,
      why: "every byte a client sends is checked before it is trusted: answer 400 and close."),
    Hostile(
      "the end of the stream in the middle of the request line", "GET /index.html HT",
      then: .finishSending,
      why: "a line without its end: recv returns 0 before the \\n comes."),
    Hostile(
      "the end of the stream in the middle of the headers", "GET / HTTP/1.0\r\nHost: x\r\n",
      then: .finishSending,
      why: "the empty line that ends the headers never comes: recv returns 0 first."),
    Hostile(
      "a hang-up in the middle of the headers", "GET /index.html HTTP/1.0\r\nHo", then: .hangUp,
      why: "the client is gone before its request is complete: nobody to answer."),
    Hostile(
      "escape codes in the target", "GET /\u{1b}[2J\u{1b}[31mred HTTP/1.0\r\n\r\n", then: .wait,
      why: "the target is no file name: 404 (or 400)."),
    Hostile(
      "a 9000-byte header line",
      "GET /index.html HTTP/1.0\r\nX-Long: \(String(repeating: "b", count: 9000))\r\n\r\n",
      then: .wait,
      why: "a header line longer than the buffer: refuse it (400), never write past the buffer."),
    Hostile(
      "300 header lines",
      "GET /index.html HTTP/1.0\r\n" + String(repeating: "X-Many: y\r\n", count: 300) + "\r\n",
      then: .wait,
      why: "more headers than fit a buffer: read them a line at a time, or refuse (400)."),
  ]
}
