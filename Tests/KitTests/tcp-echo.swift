// tcp-echo: every client flavor against every server (the chapter's blocking one and
// the kit's select, poll and epoll event loops) of every flavor; the client's Python
// bytes repr; 500 simultaneous streaming clients against each event loop; and peers
// that misbehave: one that never reads, ones that reset, ones that half-close, more
// clients than select() can watch, and a server out of descriptors. Over IPv6 too: the
// kit's own servers are dual-stack, and every client resolves its host and tries each
// address in turn.
import Foundation
import KitHarness
import Testing

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@Suite("tcp-echo", .timeLimit(.minutes(5)))
struct TcpEchoTests {
  static let serverNames = ProgramPair.all.filter { $0.client == "tcp-echo-client" }.map(\.server)
  static let servers = serverNames.flatMap { name in
    Kit.flavors(having: name).map { Program(flavor: $0, name: name) }
  }
  static let eventLoopServers = servers.filter { $0.name != "tcp-echo-server" }
  static let selectServers = servers.filter { $0.name == "tcp-echo-select-server" }

  /// The descriptors a server holds with no client, counted once it says it listens:
  /// its port opens at listen, and an epoll or io_uring server makes its poller after.
  static func idleDescriptors(_ running: Running, port: UInt16) async throws -> Int {
    try await running.waitForStdout("Listening on port \(port)\n")
    return try ProcessStatus.openDescriptors(running.pid)
  }
  static let clients = Kit.flavors(having: "tcp-echo-client")

  /// The servers that listen dual-stack (one socket on ::, IPV6_V6ONLY off), in the
  /// kit's own flavors (not SwiftNIO's, not the lecture's Python): they print an IPv4
  /// client as a mapped IPv6 address.
  static let dualStackNames: Set = [
    "tcp-echo-server", "tcp-echo-select-server", "tcp-echo-poll-server", "tcp-echo-epoll-server",
  ]
  static let dualStackFlavors: Set = ["c", "swift", "swift-sockets"]
  static let dualStackServers = servers.filter {
    dualStackNames.contains($0.name) && dualStackFlavors.contains($0.flavor)
  }

  /// The lecture's client sends one line and prints the echo as Python prints bytes.
  static let reply = "Server replied: b'hello, server\\n'\n"

  /// What a server prints for `clients` connections from the lecture's client over
  /// 127.0.0.1, whose port is ephemeral, as Python prints an address tuple: a dual-stack
  /// server's IPv6 one, `Connected: ('::ffff:127.0.0.1', 54321, 0, 0)`; an IPv4 server's
  /// `Connected: ('127.0.0.1', 54321)`.
  static func transcript(port: UInt16, clients: Int, server: Program) -> String {
    let peer =
      dualStackServers.contains { $0.description == server.description }
      ? connected(mappedLoopback, ipv6: true) : connected("127\\.0\\.0\\.1", ipv6: false)
    return "Listening on port \(port)\n(\(peer)\n){\(clients)}"
  }

  /// The pattern of one `Connected:` line for a client whose address matches `host` (a
  /// pattern, dots escaped), from an ephemeral port.
  static func connected(_ host: String, ipv6: Bool) -> String {
    "Connected: \\('\(host)', [1-9][0-9]{0,4}\(ipv6 ? ", 0, 0" : "")\\)"
  }

  static let mappedLoopback = "::ffff:127\\.0\\.0\\.1"

  static func matches(_ text: String, _ pattern: String) -> Bool {
    (try? Regex(pattern).wholeMatch(in: text)) != nil
  }

  static func mixed(_ count: Int) -> (Int) -> [Int] {
    { index in
      var sizes = MessageSizes(seed: index)
      return sizes.mixed(count: count)
    }
  }

  @Test("clients in turn against every server of every flavor", arguments: servers, clients)
  func pair(server: Program, client: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port) { running in
      for count in 1...3 {
        let output = try await Running.client(
          Program(flavor: client, name: "tcp-echo-client"), port: port)
        #expect(output.stdoutText == Self.reply)
        #expect(output.stderrText == "")
        #expect(output.termination == .exit(0))
        let pattern = Self.transcript(port: port, clients: count, server: server)
        try await running.wait(for: "the transcript of \(count) clients") {
          Self.matches($0.stdoutText, pattern)
        }
      }
      #expect(running.output.stderrText == "")
      #expect(running.output.termination == nil, "it serves clients until killed")
    }
  }

  /// A client flavor for each dual-stack server, every flavor in turn, so that each
  /// server and each client runs over ::1 at least once, and the matrix not twice: the
  /// clients that resolve KIT_HOST with getaddrinfo (the lecture's Python is IPv4 only).
  static let ipv6Clients = dualStackServers.indices.map { index in
    let resolving = clients.filter(dualStackFlavors.contains)
    return resolving[index % resolving.count]
  }

  /// Runs the `flavor` client against `host` and `port` and waits for it to end.
  static func client(
    _ flavor: String, host: String, port: UInt16, wrapper: [String] = []
  ) async throws -> Output {
    let running = try Running(
      Program(flavor: flavor, name: "tcp-echo-client"),
      environment: ["KIT_PORT": "\(port)", "KIT_HOST": host], wrapper: wrapper)
    do {
      return try await running.finish()
    } catch {
      _ = try? await running.stop()
      throw error
    }
  }

  @Test(
    "a dual-stack server takes clients over ::1, 127.0.0.1 and localhost alike",
    arguments: zip(dualStackServers, ipv6Clients))
  func ipv6(server: Program, client: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port) { running in
      var pattern = "Listening on port \(port)\n"
      // localhost may be either address, as the system resolves it
      let hosts = [
        ("::1", "::1"), ("127.0.0.1", Self.mappedLoopback),
        ("localhost", "(::1|\(Self.mappedLoopback))"),
      ]
      for (host, peer) in hosts {
        let output = try await Self.client(client, host: host, port: port)
        #expect(output.stdoutText == Self.reply, "KIT_HOST=\(host)")
        #expect(output.stderrText == "", "KIT_HOST=\(host)")
        #expect(output.termination == .exit(0), "KIT_HOST=\(host)")
        pattern += Self.connected(peer, ipv6: true) + "\n"
        let transcript = pattern
        try await running.wait(for: "the Connected line of a client at \(host)") {
          Self.matches($0.stdoutText, transcript)
        }
      }
      #expect(running.output.stderrText == "")
    }
  }

  @Test(
    "a client tries each address of its host in turn: ::1 refuses, 127.0.0.1 answers",
    .enabled(if: getuid() == 0, "needs root to give the client an /etc/hosts of its own"),
    arguments: clients)
  func eachAddressInTurn(client: String) async throws {
    // The client runs in a mount namespace of its own, gone when it exits, where
    // /etc/hosts names kit-both ::1 and 127.0.0.1; the server listens on 127.0.0.1 only.
    let hosts = FileManager.default.temporaryDirectory.appendingPathComponent(
      "kit-hosts-\(getpid())-\(client)")
    try "::1 kit-both\n127.0.0.1 kit-both\n".write(to: hosts, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: hosts) }
    let ownHosts =
      ["unshare", "--mount", "sh", "-c", #"mount --bind "$0" /etc/hosts && exec "$@""#]
      + [hosts.path]
    // The premise: the system tries ::1 first (RFC 6724 ranks it above 127.0.0.1).
    let order = try await Running(command: ownHosts + ["getent", "ahosts", "kit-both"]).finish()
    try #require(order.stdoutText.hasPrefix("::1 "), "getent ahosts: \(order.stdoutText)")

    let server = try OneReplyServer()
    let running = try Running(
      Program(flavor: client, name: "tcp-echo-client"),
      environment: ["KIT_PORT": "\(server.port)", "KIT_HOST": "kit-both"], wrapper: ownHosts)
    do {
      let request = try await onThread {
        try server.answer(with: Array("hi\n".utf8), within: .seconds(10))
      }
      #expect(request == Array("hello, server\n".utf8))
      let output = try await running.finish()
      #expect(output.stdoutText == "Server replied: b'hi\\n'\n")
      #expect(output.stderrText == "", "a refused address that another replaces is no error")
      #expect(output.termination == .exit(0))
    } catch {
      _ = try? await running.stop()
      throw error
    }
  }

  /// Replies as a server would, with bytes that test every branch of the repr, and
  /// Python's own rendering of each (checked with python3 when this was written).
  static let replies: [([UInt8], String)] = [
    (Array("hello, server\n".utf8), #"b'hello, server\n'"#),
    (Array("it's".utf8), #"b"it's""#),
    (Array(#"both ' and ""#.utf8), #"b'both \' and "'"#),
    (Array(#""quoted""#.utf8), #"b'"quoted"'"#),
    ([0x00, 0x7f, 0x80, 0xff], #"b'\x00\x7f\x80\xff'"#),
    (Array("tab\there\r\n\\".utf8), #"b'tab\there\r\n\\'"#),
    ([], "b''"),
  ]

  @Test("the client prints any reply as Python prints bytes", arguments: clients)
  func repr(client: String) async throws {
    for (bytes, text) in Self.replies {
      let server = try OneReplyServer()  // on a port the kernel picks: no other test has it
      let running = try Running(
        Program(flavor: client, name: "tcp-echo-client"),
        environment: ["KIT_PORT": "\(server.port)", "KIT_HOST": "127.0.0.1"])
      do {
        let request = try await onThread { try server.answer(with: bytes, within: .seconds(10)) }
        #expect(request == Array("hello, server\n".utf8))
        let output = try await running.finish()
        #expect(output.stdoutText == "Server replied: \(text)\n", "stderr: \(output.stderrText)")
        #expect(output.termination == .exit(0), "stderr: \(output.stderrText)")
      } catch {
        _ = try? await running.stop()
        throw error
      }
    }
  }

  @Test("clients that reset mid-message are dropped cleanly", arguments: eventLoopServers)
  func resets(server: Program) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port) { running in
      let idle = try await TcpEchoTests.idleDescriptors(running, port: port)
      // One resets while the server is still reading its message...
      let early = try EchoPeer(port: port, stream: 1)
      _ = try await onThread {
        try early.sendUntilStalled(limit: 100_000, quiet: .milliseconds(200))
      }
      early.reset()
      // ...one while the server holds echo it owes it (it never read any)
      let owed = try EchoPeer(port: port, stream: 2)
      _ = try await onThread {
        try owed.sendUntilStalled(limit: 64 << 20, quiet: .milliseconds(300))
      }
      owed.reset()
      _ = try await onThread {
        try EchoLoad.run(port: port, connections: 4, sizes: Self.mixed(20), within: .seconds(10))
      }
      try await ProcessStatus.wait(for: "\(server) closing the reset connections") {
        try ProcessStatus.openDescriptors(running.pid) == idle
      }
      #expect(running.output.stderrText == "", "a reset is routine, not an error to report")
      #expect(running.output.termination == nil)
    }
  }

  @Test("a half-closed client gets its whole echo, then end of stream", arguments: servers)
  func halfClose(server: Program) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port) { running in
      // It sends 8 MiB, more than the kernel's buffers hold, or until the server stops
      // taking more (the server owes it echo), then shuts down its sending side and
      // only reads.
      let peer = try EchoPeer(port: port, stream: 3)
      _ = try await onThread {
        try peer.sendUntilStalled(limit: 8 << 20, quiet: .milliseconds(300))
      }
      peer.shutdownWrite()
      try await onThread {
        try peer.receiveEcho(within: .seconds(20))
        try peer.expectEndOfStream(within: .seconds(10))
      }
      peer.close()
      // Several at once, each reading while it sends, half-closing after its last byte.
      _ = try await onThread {
        try EchoLoad.run(
          port: port, connections: 4, sizes: Self.mixed(50), halfClose: true,
          within: .seconds(30))
      }
      #expect(running.output.stderrText == "")
    }
  }

  @Test(
    "select refuses a client whose descriptor is past FD_SETSIZE, says so, and serves on",
    .enabled(if: EchoSocket.descriptorLimit() >= 1200), arguments: selectServers)
  func fdSetSize(server: Program) async throws {
    EchoSocket.raiseDescriptorLimit()
    let port = Ports.reserve()
    try await Running.withServer(server, port: port) { running in
      let idle = try await TcpEchoTests.idleDescriptors(running, port: port)
      // Descriptors 0-2 are standard, 3 the listener: 1020 clients fit below 1024.
      var silent: [Int32] = []
      defer { for fd in silent { close(fd) } }
      for _ in 0..<1030 { silent.append(try EchoSocket.open(port: port, blocking: true)) }
      try await running.wait(for: "a refusal on stderr") {
        $0.stderrText.contains("is not below FD_SETSIZE (1024)")
      }
      for fd in silent { close(fd) }
      silent = []
      // Once it has closed them all, new clients get low descriptors again.
      try await ProcessStatus.wait(for: "\(server) closing 1020 connections") {
        try ProcessStatus.openDescriptors(running.pid) == idle
      }
      _ = try await onThread {
        try EchoLoad.run(port: port, connections: 4, sizes: Self.mixed(10), within: .seconds(10))
      }
      #expect(running.output.termination == nil)
    }
  }

  @Test(
    "out of descriptors, a server waits for one without spinning, then serves on",
    arguments: eventLoopServers)
  func outOfDescriptors(server: Program) async throws {
    let port = Ports.reserve()
    // prlimit starts the server with room for a few dozen clients only. SwiftNIO takes
    // three descriptors per event loop, one loop per core, before its first client (and
    // fails to start without them). Every server is sent more clients than it has room
    // for: the kernel queues the rest.
    let limit = 32 + 3 * sysconf(Int32(_SC_NPROCESSORS_ONLN))
    try await Running.withServer(server, port: port, wrapper: ["prlimit", "--nofile=\(limit)"]) {
      running in
      var silent: [Int32] = []
      defer { for fd in silent { close(fd) } }
      for _ in 0..<limit { silent.append(try EchoSocket.open(port: port, blocking: true)) }
      try await running.wait(for: "accept failing with EMFILE") {
        $0.stderrText.contains("accept failed: Too many open files")
      }
      // A level-triggered loop that kept watching the listener would wake at once,
      // forever: a whole core. This one should use next to nothing.
      let before = try ProcessStatus.cpuTicks(running.pid)
      try await Task.sleep(for: .milliseconds(500))  // allowed: CPU measured over it
      let used = try ProcessStatus.cpuTicks(running.pid) - before
      #expect(used <= 5, "\(used) clock ticks of CPU in 0.5 s while out of descriptors")
      for fd in silent { close(fd) }
      silent = []
      _ = try await onThread {
        try EchoLoad.run(port: port, connections: 2, sizes: Self.mixed(10), within: .seconds(10))
      }
      #expect(running.output.termination == nil)
    }
  }
}

/// The event-loop servers under load: 500 streaming clients at once, and a client
/// that never reads. These keep both cores busy on purpose, so make test runs them in
/// a phase of their own (the Makefile's LOAD_SUITES): beside the other suites, whose
/// programs keep 5-second deadlines, they starved those programs into timing out.
@Suite("tcp-echo under load", .timeLimit(.minutes(5)))
struct TcpEchoLoadTests {
  /// One server at a time: each run keeps both cores busy for a few seconds.
  @Test(
    "500 clients at once, 100 messages of 1 byte to 64 KiB each: every byte back, in order",
    .serialized, arguments: TcpEchoTests.eventLoopServers)
  func concurrency(server: Program) async throws {
    EchoSocket.raiseDescriptorLimit()
    let port = Ports.reserve()
    try await Running.withServer(server, port: port) { running in
      let idle = try await TcpEchoTests.idleDescriptors(running, port: port)
      // Every 125th client is greedy: it sends 128 messages of 64 KiB (8 MiB) before
      // it reads, unless the server stops taking them. The server's sends to it come
      // up short, so its buffering and its cap are at work too.
      let report = try await onThread {
        try EchoLoad.run(
          port: port, connections: 500,
          sizes: {
            $0 % 125 == 0 ? Array(repeating: 65536, count: 128) : TcpEchoTests.mixed(100)($0)
          },
          greedy: { $0 % 125 == 0 }, within: .seconds(60))
      }
      #expect(report.connections == 500)
      try await running.wait(for: "500 Connected lines") {
        $0.stdoutText.split(separator: "\n").count == 501
      }
      try await ProcessStatus.wait(for: "\(server) closing all 500 connections") {
        try ProcessStatus.openDescriptors(running.pid) == idle
      }
      #expect(running.output.stderrText == "")
      #expect(running.output.termination == nil)
    }
  }

  @Test(
    "a client that never reads: the others are served, the server's memory stays bounded",
    arguments: TcpEchoTests.eventLoopServers)
  func neverReads(server: Program) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port) { running in
      // Warm up with 1 MiB through one connection, so that what grows afterwards is
      // what the silent reader makes the server keep.
      _ = try await onThread {
        try EchoLoad.run(
          port: port, connections: 1, sizes: { _ in Array(repeating: 65536, count: 16) },
          within: .seconds(10))
      }
      let before = try ProcessStatus.residentKiB(running.pid)
      let hog = try EchoPeer(port: port, stream: 7)
      let stalled = try await onThread {
        try hog.sendUntilStalled(limit: 256 << 20, quiet: .milliseconds(500))
      }
      #expect(stalled, "the server took \(hog.sent) bytes from a client that reads none")
      #expect(hog.sent > 1 << 20, "the server should keep up to 1 MiB of echo")
      _ = try await onThread {
        try EchoLoad.run(
          port: port, connections: 8, sizes: TcpEchoTests.mixed(20), within: .seconds(5))
      }
      let grown = try ProcessStatus.residentKiB(running.pid) - before
      #expect(grown < 4096, "resident memory grew by \(grown) KiB; the cap is 1024 KiB a client")
      // Once it reads, every byte it sent comes back.
      try await onThread { try hog.receiveEcho(within: .seconds(30)) }
      hog.close()
      #expect(running.output.stderrText == "")
    }
  }
}

/// SO_REUSEPORT (lectures/production.md): the epoll server with KIT_REUSEPORT=1, run as
/// two processes on one port; and without it, the second cannot bind.
@Suite("tcp-echo SO_REUSEPORT", .timeLimit(.minutes(2)))
struct TcpEchoReusePortTests {
  static let servers = Kit.flavors(having: "tcp-echo-epoll-server").filter {
    ["c", "swift"].contains($0)
  }.map { Program(flavor: $0, name: "tcp-echo-epoll-server") }

  static func connected(_ running: Running) -> Int {
    running.output.stdoutText.split(separator: "\n").filter { $0.hasPrefix("Connected: ") }.count
  }

  @Test("two processes on one port both get clients: the kernel spreads 50", arguments: servers)
  func spread(server: Program) async throws {
    let port = Ports.reserve()
    let environment = ["KIT_PORT": "\(port)", "KIT_REUSEPORT": "1"]
    let first = try Running(server, environment: environment)
    var second: Running? = nil
    do {
      try await first.waitUntilOpen(port)
      let started = try Running(server, environment: environment)
      second = started
      // The port is open already: the second is ready when it says so (or has failed).
      _ = try await started.wait(for: "the second process listening") {
        $0.stdoutText.hasPrefix("Listening on port \(port)\n") || $0.isFinished
      }
      #expect(started.output.stderrText == "", "the second process could not share the port")
      let report = try await onThread {
        try EchoLoad.run(
          port: port, connections: 50, sizes: { _ in [64] }, within: .seconds(30))
      }
      #expect(report.connections == 50)
      try await ProcessStatus.wait(for: "50 Connected lines from the two") {
        Self.connected(first) + Self.connected(started) == 50
      }
      let (a, b) = (Self.connected(first), Self.connected(started))
      // The kernel picks a listener by a hash of each connection's addresses and
      // ports: all 50 on one side would happen about once in 2^49 runs.
      #expect(a >= 1 && b >= 1, "the first process served \(a), the second \(b)")
      #expect(first.output.stderrText == "" && started.output.stderrText == "")
      try await started.stop()
      try await first.stop()
    } catch {
      _ = try? await second?.stop()
      _ = try? await first.stop()
      throw error
    }
  }

  @Test("without KIT_REUSEPORT the second process cannot bind", arguments: servers)
  func refused(server: Program) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port) { _ in
      let second = try Running(server, environment: ["KIT_PORT": "\(port)"])
      let output = try await second.finish(within: .seconds(10))
      #expect(output.stderrText == "bind failed: Address already in use\n")
      #expect(output.termination == .exit(1))
    }
  }
}

/// A stand-in server: listens on 127.0.0.1 at a port the kernel picks, takes one
/// client, reads its line, answers with the bytes a test chooses, and closes.
final class OneReplyServer: Sendable {
  private let listener: Int32
  let port: UInt16

  init() throws {
    let listener = socket(
      AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0
      }
    }
    guard listener >= 0, bound, listen(listener, 1) == 0 else {
      let reason = String(cString: strerror(errno))
      if listener >= 0 { close(listener) }
      throw HarnessError(description: "reply server: \(reason)")
    }
    self.listener = listener
    self.port = UInt16(bigEndian: address.sin_port)
  }

  deinit { close(listener) }

  /// Accepts one client, reads until it has sent a line (or closed), answers, closes.
  /// Returns what the client sent.
  func answer(with reply: [UInt8], within limit: Duration) throws -> [UInt8] {
    let deadline = ContinuousClock.now + limit
    func waitReadable(_ fd: Int32, _ what: String) throws {
      var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let wait = milliseconds(until: deadline)
      if wait == 0 || poll(&entry, 1, wait) != 1 {
        throw HarnessError(description: "reply server: \(what) did not happen in time")
      }
    }
    try waitReadable(listener, "a client connecting")
    let conn = accept(listener, nil, nil)
    guard conn >= 0 else {
      throw HarnessError(description: "reply server: accept: \(String(cString: strerror(errno)))")
    }
    defer { close(conn) }
    var request: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while request.last != UInt8(ascii: "\n") {
      try waitReadable(conn, "the client's line arriving")
      let n = recv(conn, &chunk, chunk.count, 0)
      if n <= 0 { break }
      request += chunk[..<n]
    }
    var offset = 0
    while offset < reply.count {
      let n = reply[offset...].withUnsafeBytes {
        send(conn, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
      }
      if n <= 0 { throw HarnessError(description: "reply server: send failed") }
      offset += n
    }
    return request
  }
}
