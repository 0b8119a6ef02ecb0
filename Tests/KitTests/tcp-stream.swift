// tcp-stream: every client flavor against every server flavor with empty, one-byte,
// binary and 1 MiB inputs, several clients in turn; the server on a port of the
// system's choosing; the client's errors; a client that resets mid-stream.
import KitHarness
import Testing

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@Suite("tcp-stream", .timeLimit(.minutes(2)))
struct TcpStreamTests {
  static let servers = Kit.flavors(having: "tcp-stream-server").map {
    Program(flavor: $0, name: "tcp-stream-server")
  }
  static let clients = Kit.flavors(having: "tcp-stream-client").map {
    Program(flavor: $0, name: "tcp-stream-client")
  }

  /// Every byte value, NULs among them, then NULs at the end where a C string would stop.
  static let binary: [UInt8] = Array(0...255) + Array(0...255).reversed() + [0, 0, 0]
  static let mebibyte: [UInt8] = {
    var generator = SystemRandomNumberGenerator()
    return (0..<(1 << 17)).flatMap { _ in withUnsafeBytes(of: generator.next()) { Array($0) } }
  }()
  /// What the clients send, one client each, in this order.
  static let inputs: [[UInt8]] = [[], [0x41], binary, mebibyte, [0x0a]]

  static func portLine(_ port: UInt16) -> [UInt8] { Array("Listening on port \(port)\n".utf8) }

  /// nil if equal; otherwise the lengths and the first differing offset (an #expect on
  /// the arrays themselves would print a mebibyte).
  static func difference(_ got: [UInt8], _ expected: [UInt8]) -> String? {
    if got == expected { return nil }
    let same = zip(got, expected).prefix { $0 == $1 }.count
    return "\(got.count) bytes where \(expected.count) were expected; they differ from byte \(same)"
  }

  /// Waits until the server has written at least `count` bytes to stdout.
  static func waitForBytes(_ server: Running, _ count: Int) async throws -> [UInt8] {
    try await server.wait(for: "\(count) bytes on stdout") { $0.stdout.count >= count }.stdout
  }

  @Test(
    "clients in turn: the server's stdout is their bytes, in order", arguments: servers, clients)
  func pair(server: Program, client: Program) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port) { running in
      var expected = Self.portLine(port)
      for input in Self.inputs {
        let output = try await Running.client(
          client, port: port, arguments: ["127.0.0.1", "\(port)"], bytes: input)
        #expect(output.termination == .exit(0), "\(client) sending \(input.count) bytes")
        #expect(output.stdoutText == "" && output.stderrText == "", "\(output.stderrText)")
        expected += input
        let got = try await Self.waitForBytes(running, expected.count)
        let difference = Self.difference(got, expected)
        #expect(difference == nil, "after a client sent \(input.count) bytes: \(difference ?? "")")
      }
      #expect(running.output.stderrText == "")
      #expect(running.output.termination == nil, "it serves clients until killed")
    }
  }

  @Test(
    "without KIT_PORT the server takes a port from the system and prints it", arguments: servers)
  func portZero(server: Program) async throws {
    // env -u: the test run's own environment might hold a KIT_PORT.
    let running = try Running(server, wrapper: ["env", "-u", "KIT_PORT"])
    do {
      let first = try await running.wait(for: "its first line") { $0.stdout.contains(0x0a) }
      let text = first.stdoutText
      let match = try #require(text.firstMatch(of: /^Listening on port ([0-9]+)\n/), "\(text)")
      let port = try #require(UInt16(match.1))
      #expect(port != 0)
      var expected = Self.portLine(port)
      for client in Self.clients {
        let input = Array("sent by \(client)\n".utf8)
        let output = try await Running.client(
          client, port: port, arguments: ["127.0.0.1", "\(port)"], bytes: input)
        #expect(output.termination == .exit(0), "\(output.stderrText)")
        expected += input
        #expect(try await Self.waitForBytes(running, expected.count) == expected)
      }
      try await running.stop()
    } catch {
      _ = try? await running.stop()
      throw error
    }
  }

  @Test(
    "the client uses KIT_HOST and KIT_PORT, and its arguments win over them", arguments: clients)
  func environment(client: Program) async throws {
    let port = Ports.reserve()
    let server = Program(flavor: "c", name: "tcp-stream-server")
    try await Running.withServer(server, port: port) { running in
      let fromEnvironment = try await Running.client(client, port: port, input: "from KIT_PORT\n")
      #expect(fromEnvironment.termination == .exit(0), "\(fromEnvironment.stderrText)")
      // Nothing listens on port 1, and 256.1.1.1 is no address: only the arguments work.
      let wrong = ["KIT_HOST": "256.1.1.1", "KIT_PORT": "1"]
      for arguments in [["127.0.0.1", "\(port)"], ["localhost", "\(port)"]] {
        let line = Array("from \(arguments[0])\n".utf8)
        let output = try await Running(
          client, arguments: arguments, environment: wrong, input: line
        ).finish()
        #expect(output.termination == .exit(0), "\(arguments): \(output.stderrText)")
      }
      let expected =
        Self.portLine(port) + Array("from KIT_PORT\nfrom 127.0.0.1\nfrom localhost\n".utf8)
      #expect(try await Self.waitForBytes(running, expected.count) == expected)
    }
  }

  // Error texts: the c and swift flavors print the lecture's perror/herror lines
  // (`connect failed: Connection refused`); swift-sockets prints `Error: <call>: <reason>`.
  // Every flavor must name the call and the reason, print nothing else, and exit 1.

  @Test("a port with no server: connect failed, exit status 1", arguments: clients)
  func refused(client: Program) async throws {
    let port = Ports.reserve()  // reserved and free: nothing listens on it
    let output = try await Running.client(
      client, port: port, arguments: ["127.0.0.1", "\(port)"], input: "nobody hears this\n")
    #expect(output.stderrText.contains("connect"))
    #expect(output.stderrText.hasSuffix("Connection refused\n"))
    #expect(output.stdout.isEmpty)
    #expect(output.termination == .exit(1))
  }

  @Test(
    "a host that gethostbyname cannot find: its h_errno text, exit status 1", arguments: clients)
  func unknownHost(client: Program) async throws {
    // Digits and dots that are no address fail inside gethostbyname, without asking DNS.
    let output = try await Running(client, arguments: ["256.1.1.1", "9"]).finish()
    // gethostbyname says "Unknown host"; getaddrinfo (swift-sockets) has its own words.
    #expect(
      output.stderrText.hasPrefix("gethostbyname 256.1.1.1: ")
        || output.stderrText.hasPrefix("Error: getaddrinfo 256.1.1.1: "), "\(output.stderrText)")
    #expect(output.stdout.isEmpty)
    #expect(output.termination == .exit(1))
  }

  @Test(
    "no port, too many arguments or a bad port: a usage message and a usage exit status",
    arguments: clients)
  func usage(client: Program) async throws {
    // What the message must mention: the usage line, or the argument that is wrong.
    let cases: [(arguments: [String], mention: String)] = [
      ([], "usage"), (["localhost"], "usage"), (["localhost", "9", "extra"], "usage"),
      (["localhost", "http"], "http"), (["localhost", "65536"], "65536"),
    ]
    for (arguments, mention) in cases {
      let output = try await Running(
        client, arguments: arguments, wrapper: ["env", "-u", "KIT_PORT"]
      ).finish()
      #expect(output.stderrText.lowercased().contains(mention), "\(arguments)")
      #expect(output.stdout.isEmpty)
      // 2 is C's usual usage status; 64 is EX_USAGE, which ArgumentParser uses.
      #expect([.exit(2), .exit(64)].contains(output.termination), "\(arguments)")
    }
  }

  @Test("a client that resets mid-stream does not stop the server", arguments: servers, clients)
  func reset(server: Program, client: Program) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port) { running in
      let partial = Array("the first half of a mess".utf8)
      try Self.sendAndReset(port: port, partial)
      let next = Array("the next client\n".utf8)
      let output = try await Running.client(
        client, port: port, arguments: ["127.0.0.1", "\(port)"], bytes: next)
      #expect(output.termination == .exit(0), "\(output.stderrText)")

      let seen = try await running.wait(for: "the next client's bytes") {
        $0.stdout.count >= Self.portLine(port).count + next.count
          && $0.stdout.suffix(next.count).elementsEqual(next)
      }
      // Whatever of the reset client's bytes arrived before its RST, then the next one's.
      let between = Array(seen.stdout.dropFirst(Self.portLine(port).count).dropLast(next.count))
      #expect(seen.stdout.starts(with: Self.portLine(port)))
      #expect(partial.starts(with: between), "\(String(decoding: between, as: UTF8.self))")
      // stderr is another pipe: wait for it too rather than assume it is already read.
      let complaint = try await running.wait(for: "a line on stderr") { $0.stderr.contains(0x0a) }
      #expect(complaint.stderrText.hasSuffix(": Connection reset by peer\n"))
      #expect(running.output.termination == nil, "the server is still running")
    }
  }

  /// Connects to 127.0.0.1:port, sends `bytes`, and closes with SO_LINGER set to 0
  /// seconds: the kernel then ends the connection with RST instead of FIN, as when a
  /// peer crashes or gives up.
  static func sendAndReset(port: UInt16, _ bytes: [UInt8]) throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else {
      throw HarnessError(description: "socket: \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    var option = linger(l_onoff: 1, l_linger: 0)
    let sent = send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL))
    let lingering = setsockopt(
      fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
    guard connected == 0, sent == bytes.count, lingering == 0 else {
      throw HarnessError(
        description: "resetting client on port \(port): \(String(cString: strerror(errno)))")
    }
  }
}
