// tcp-hello: every client flavor against every server flavor, byte for byte: the C
// and Swift ones, and the lecture's own Python and Java, each printing its own lines.
// The pairs that cannot talk (LectureInterop: the Java server waits for a line end
// the others never send) are asserted as they are: both wait, until the client goes.
import KitHarness
import Testing

@Suite("tcp-hello", .timeLimit(.minutes(2)))
struct TcpHelloTests {
  static let servers = Kit.flavors(having: "tcp-hello-server")
  static let clients = Kit.flavors(having: "tcp-hello-client")

  static func serverTranscript(port: UInt16) -> String {
    "Server listening on port \(port)\nClient connected\nReceived: Hello from client\nResponse sent\n"
  }
  static let clientTranscript = "Connected to server\nMessage sent\nReceived: Hello from server\n"

  /// What a server of `flavor` prints, as a pattern: Python prints the client's
  /// address (its port is ephemeral); Python and Java print no "Response sent".
  /// `newline`: the client's '\n' arrived and is printed too.
  static func serverPattern(_ flavor: String, port: UInt16, newline: Bool = false) -> String {
    let received = "Received: Hello from client\n" + (newline ? "\n" : "")
    return switch flavor {
    case "python":
      "Server listening on port \(port)\nConnected by \\('127\\.0\\.0\\.1', [0-9]+\\)\n"
        + escaped(received)
    case "java": "Server listening on port \(port)\nClient connected\n" + escaped(received)
    default:
      "Server listening on port \(port)\nClient connected\n" + escaped(received) + "Response sent\n"
    }
  }

  /// What a client of `flavor` prints: Python and Java only the reply.
  static func clientTranscript(_ flavor: String) -> String {
    ["python", "java"].contains(flavor) ? "Received: Hello from server\n" : clientTranscript
  }

  static func escaped(_ text: String) -> String {
    text.replacing(/[\\^$.|?*+()\[\]{}]/) { "\\" + $0.output }
  }

  static func matches(_ text: String, _ pattern: String) -> Bool {
    (try? Regex(pattern).wholeMatch(in: text)) != nil
  }

  /// Java starts in about a second, more on a busy machine.
  static let slowStart = Duration.seconds(30)

  @Test(
    "a client and a server of any flavors talk, or do what the lecture's do", arguments: servers,
    clients)
  func pair(server: String, client: String) async throws {
    let port = Ports.reserve()
    let serverProgram = Program(flavor: server, name: "tcp-hello-server")
    let mismatch = LectureInterop.mismatch(example: "tcp-hello", server: server, client: client)
    if mismatch?.outcome == .bothWait {
      try await bothWait(server: serverProgram, client: client, port: port)
      return
    }
    let (clientOutput, serverOutput) = try await Running.withServer(
      serverProgram, port: port, within: Self.slowStart
    ) { running in
      let clientOutput = try await Running.client(
        Program(flavor: client, name: "tcp-hello-client"), port: port, within: Self.slowStart)
      // One client, then it exits.
      return (clientOutput, try await running.finish(within: Self.slowStart))
    }
    #expect(clientOutput.stdoutText == Self.clientTranscript(client))
    #expect(clientOutput.stderrText == "")
    #expect(clientOutput.termination == .exit(0))
    let pattern = Self.serverPattern(
      server, port: port, newline: mismatch?.outcome == .newlineEchoed)
    #expect(
      Self.matches(serverOutput.stdoutText, pattern),
      "\(serverOutput.stdoutText.debugDescription) is not \(pattern.debugDescription)\(mismatch.map { ": \($0.reason)" } ?? "")"
    )
    #expect(serverOutput.stderrText == "")
    #expect(serverOutput.termination == .exit(0))
  }

  /// The Java server and a client that sends no line end: the client has sent its
  /// message and waits for the answer, the server waits for the rest of the line.
  /// Neither moves for as long as we watch; when the client is stopped, its socket
  /// closes, and the server reads the line that the end of the stream completes.
  func bothWait(server: Program, client: String, port: UInt16) async throws {
    try await Running.withServer(server, port: port, within: Self.slowStart) { running in
      let waiting = try Running(
        Program(flavor: client, name: "tcp-hello-client"),
        environment: ["KIT_PORT": "\(port)", "KIT_HOST": "127.0.0.1"])
      do {
        try await running.waitForStdout(
          "Server listening on port \(port)\nClient connected\n", within: Self.slowStart)
        // Watched for 3 s: a server that answered, or a client that gave up, would
        // be seen here, and the lesson would be gone.
        let moved = try? await running.wait(for: "anything more", within: .seconds(3)) {
          $0.stdoutText.contains("Received") || $0.termination != nil
        }
        #expect(moved == nil, "the Java server read a line the client never ended")
        #expect(waiting.output.termination == nil, "the client stopped waiting for the reply")
        #expect(
          waiting.output.stdoutText
            == (client == "python" ? "" : "Connected to server\nMessage sent\n"))
      } catch {
        _ = try? await waiting.stop()
        throw error
      }
      try await waiting.stop()
      let output = try await running.finish(within: Self.slowStart)
      #expect(
        output.stdoutText
          == "Server listening on port \(port)\nClient connected\nReceived: Hello from client\n")
      #expect(output.termination == .exit(0), "\(output.stderrText)")
    }
  }

  @Test("a client with no server says connect failed and exits non-zero", arguments: clients)
  func noServer(client: String) async throws {
    let port = Ports.reserve()  // free, and nothing will listen on it
    let output = try await Running.client(
      Program(flavor: client, name: "tcp-hello-client"), port: port, within: Self.slowStart)
    // The lecture's perror line is `connect failed: Connection refused`; every flavor
    // names the call and the reason, prints nothing else, and exits with status 1.
    // Python's traceback ends with the reason; Java's starts with it.
    #expect(output.stdoutText == "")
    #expect(output.stderrText.contains("connect"))
    if client == "java" {
      #expect(
        output.stderrText.hasPrefix(
          "Exception in thread \"main\" java.net.ConnectException: Connection refused"))
    } else {
      #expect(output.stderrText.hasSuffix("Connection refused\n"))
    }
    #expect(output.termination == .exit(1))
  }
}
