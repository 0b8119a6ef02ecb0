// tcp-capitalize: every client flavor against every server (iterative, fork, thread)
// of every flavor, several clients in turn; and a silent client that blocks the
// iterative server but not the concurrent ones.
import KitHarness
import Testing

@Suite("tcp-capitalize", .timeLimit(.minutes(1)))
struct TcpCapitalizeTests {
  static let serverNames = ["tcp-capitalize-server", "tcp-capitalize-fork-server", "tcp-capitalize-thread-server"]
  static let servers = serverNames.flatMap { name in
    Kit.flavors(having: name).map { Program(flavor: $0, name: name) }
  }
  static let concurrentServers = servers.filter { $0.name != "tcp-capitalize-server" }
  static let iterativeServers = servers.filter { $0.name == "tcp-capitalize-server" }
  static let clients = Kit.flavors(having: "tcp-capitalize-client")

  /// The slides' client prints to stderr, with a space before the newline; the line it
  /// sent kept its own newline, which comes back upper-cased with the rest.
  static func reply(to line: String) -> String { "FROM SERVER: \(line.uppercased())\n \n" }

  static func runClient(_ flavor: String, port: UInt16, line: String) async throws -> Output {
    try await Running.client(
      Program(flavor: flavor, name: "tcp-capitalize-client"), port: port, input: line + "\n")
  }

  @Test("clients in turn against a server of any kind and flavor", arguments: servers, clients)
  func pair(server: Program, client: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port) { running in
      for line in ["hello world", "Socket programming, 101!", "x"] {
        let output = try await Self.runClient(client, port: port, line: line)
        #expect(output.stderrText == Self.reply(to: line))
        #expect(output.stdoutText == "")
        #expect(output.termination == .exit(0))
      }
      #expect(running.output.stdoutText == "", "the slides' server prints nothing")
      #expect(running.output.termination == nil, "it serves clients until killed")
    }
  }

  @Test("a silent client does not hold up a concurrent server", arguments: concurrentServers, clients)
  func concurrent(server: Program, client: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port) { _ in
      let silent = try SilentConnection(port: port)
      defer { silent.close() }
      let output = try await Self.runClient(client, port: port, line: "not blocked")
      #expect(output.stderrText == Self.reply(to: "not blocked"))
    }
  }

  @Test("a silent client holds up the iterative server until it leaves", arguments: iterativeServers)
  func iterative(server: Program) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port) { _ in
      let silent = try SilentConnection(port: port)
      let silentSince = ContinuousClock.now
      let waiting = try Running(
        Program(flavor: "c", name: "tcp-capitalize-client"),
        environment: ["KIT_PORT": "\(port)"], input: Array("queued\n".utf8))
      // The client connects (the backlog completes the handshake) but gets no answer
      // while the server sits in read() on the silent connection. swift-sockets gives
      // up on a silent client after 10 s: a test starved that long on a loaded machine
      // may see the answer, and only then is it allowed.
      if let early = try? await waiting.finish(within: .seconds(1)) {
        #expect(
          ContinuousClock.now - silentSince >= .seconds(10),
          "answered while the silent client held the server: \(early.stderrText)")
      }
      silent.close()
      let output = try await waiting.finish()
      #expect(output.stderrText == Self.reply(to: "queued"))
    }
  }
}
