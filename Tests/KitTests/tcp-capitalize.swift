// tcp-capitalize: every client flavor against every server (iterative, fork, thread)
// of every flavor, the slides' own Java included, several clients in turn; and a
// silent client that blocks the iterative server but not the concurrent ones. Where
// the slides' Java (one byte per write) meets their C (one read), LectureInterop says
// what may happen, and the tests assert what always does.
import KitHarness
import Testing

@Suite("tcp-capitalize", .timeLimit(.minutes(2)))
struct TcpCapitalizeTests {
  static let serverNames = [
    "tcp-capitalize-server", "tcp-capitalize-fork-server", "tcp-capitalize-thread-server",
  ]
  static let servers = serverNames.flatMap { name in
    Kit.flavors(having: name).map { Program(flavor: $0, name: name) }
  }
  static let concurrentServers = servers.filter { $0.name != "tcp-capitalize-server" }
  static let iterativeServers = servers.filter { $0.name == "tcp-capitalize-server" }
  static let clients = Kit.flavors(having: "tcp-capitalize-client")

  /// The slides' client prints to stderr, with a space before the newline; the line it
  /// sent kept its own newline, which comes back upper-cased with the rest.
  static func reply(to line: String) -> String { "FROM SERVER: \(line.uppercased())\n \n" }

  static let slowStart = Duration.seconds(30)  // Java: a second or more to start

  static func runClient(_ flavor: String, port: UInt16, line: String) async throws -> Output {
    try await Running.client(
      Program(flavor: flavor, name: "tcp-capitalize-client"), port: port, input: line + "\n",
      within: slowStart)
  }

  static let lines = ["hello world", "Socket programming, 101!", "x"]

  /// Checks what a client of `flavor` printed for `line` from `server`: the whole
  /// reply, or, where one byte per write meets one read, what always holds.
  static func expectReply(_ output: Output, client: String, server: String, line: String) {
    let mismatch = LectureInterop.mismatch(
      example: "tcp-capitalize", server: server, client: client)
    let first = String(line.uppercased().prefix(1))
    switch (client, mismatch?.outcome) {
    case ("java", .mayBeCut?):
      // The C server read at least the first byte, upper-cased what it read over what
      // its buffer held, and sent its whole buffer: the line printed starts with the
      // first letter. Unless the Java client was still writing when the reset came.
      if output.termination == .exit(0) {
        #expect(output.stdoutText.hasPrefix("FROM SERVER: \(first)"), "\(mismatch!.reason)")
        #expect(output.stdoutText.hasSuffix("\n"))
      } else {
        #expect(output.termination == .exit(1))
        #expect(output.stdoutText == "")
        #expect(output.stderrText.contains("java.net.SocketException"), "\(output.stderrText)")
      }
    case ("java", _):
      // Java prints on stdout, the line without its newline, no space before the end.
      #expect(output.stdoutText == "FROM SERVER: \(line.uppercased())\n")
      #expect(output.stderrText == "")
      #expect(output.termination == .exit(0))
    case (_, .mayBeCut?):
      // One read: the first byte, or more, of "LINE\n", never nothing.
      let text = output.stderrText
      #expect(text.hasPrefix("FROM SERVER: ") && text.hasSuffix(" \n"), "\(text.debugDescription)")
      let got = text.dropFirst("FROM SERVER: ".count).dropLast(2)
      #expect(
        !got.isEmpty && "\(line.uppercased())\n".hasPrefix(got),
        "\(text.debugDescription): \(mismatch!.reason)")
      #expect(output.termination == .exit(0))
    default:
      #expect(output.stderrText == reply(to: line))
      #expect(output.stdoutText == "")
      #expect(output.termination == .exit(0))
    }
  }

  @Test("clients in turn against a server of any kind and flavor", arguments: servers, clients)
  func pair(server: Program, client: String) async throws {
    let port = Ports.reserve()
    let mismatch = LectureInterop.mismatch(
      example: "tcp-capitalize", server: server.flavor, client: client)
    if server.flavor == "java" && mismatch?.outcome == .mayBeCut {
      // A client that closes with bytes unread may end the Java server (its next write
      // throws): a server of its own for each line.
      for line in Self.lines {
        try await Running.withServer(server, port: port, within: Self.slowStart) { running in
          let output = try await Self.runClient(client, port: port, line: line)
          Self.expectReply(output, client: client, server: server.flavor, line: line)
          if running.output.termination != nil {
            let ended = try await running.finish()  // its stderr read to the end
            #expect(ended.stderrText.contains("java.net.SocketException"), "\(ended.stderrText)")
          }
        }
      }
      return
    }
    try await Running.withServer(server, port: port, within: Self.slowStart) { running in
      for line in Self.lines {
        let output = try await Self.runClient(client, port: port, line: line)
        Self.expectReply(output, client: client, server: server.flavor, line: line)
      }
      #expect(running.output.stdoutText == "", "the slides' server prints nothing")
      #expect(running.output.termination == nil, "it serves clients until killed")
    }
  }

  @Test(
    "a silent client does not hold up a concurrent server", arguments: concurrentServers, clients)
  func concurrent(server: Program, client: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(server, port: port) { _ in
      let silent = try SilentConnection(port: port)
      defer { silent.close() }
      let output = try await Self.runClient(client, port: port, line: "not blocked")
      Self.expectReply(output, client: client, server: server.flavor, line: "not blocked")
    }
  }

  @Test(
    "a silent client holds up the iterative server until it leaves", arguments: iterativeServers)
  func iterative(server: Program) async throws {
    let port = Ports.reserve()
    let mismatch = LectureInterop.mismatch(
      example: "tcp-capitalize", server: server.flavor, client: LectureInterop.testPeers)
    try await Running.withServer(server, port: port, within: Self.slowStart) { running in
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
      if mismatch?.outcome == .endsOnEmptyConnection {
        // The silent client left without a line: the server is gone, and the queued
        // client's connection with it (a reset, so its one read brings nothing).
        let ended = try await running.finish(within: Self.slowStart)
        #expect(ended.termination == .exit(1))
        #expect(ended.stderrText.contains("NullPointerException"), "\(mismatch!.reason)")
        #expect(output.stderrText == "FROM SERVER:  \n")
      } else {
        #expect(output.stderrText == Self.reply(to: "queued"))
      }
    }
  }
}
