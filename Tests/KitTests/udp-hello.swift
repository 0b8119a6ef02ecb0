// udp-hello: every client flavor against every server flavor (C, Swift, and the
// lecture's own Python and Java), byte for byte, several clients in turn against one
// server (it loops forever and never exits by itself). Every pair talks: a datagram
// is the message, so no line end is needed, and each prints its own lines.
import KitHarness
import Testing

@Suite("udp-hello", .timeLimit(.minutes(2)))
struct UdpHelloTests {
  static let servers = Kit.flavors(having: "udp-hello-server")
  static let clients = Kit.flavors(having: "udp-hello-client")

  static let clientTranscript = "Message sent\nReceived: Message received\n"
  static func serverTranscript(port: UInt16, clients: Int) -> String {
    "UDP server listening on port \(port)\n"
      + String(repeating: "Received: Hello from UDP client\n", count: clients)
  }

  /// What a client of `flavor` prints: the lecture's Python and Java only the reply.
  static func clientTranscript(_ flavor: String) -> String {
    ["python", "java"].contains(flavor) ? "Received: Message received\n" : clientTranscript
  }

  /// What a server of `flavor` prints, as a pattern: Python names each sender, whose
  /// port is ephemeral.
  static func serverPattern(_ flavor: String, port: UInt16, clients: Int) -> String {
    let line =
      flavor == "python"
      ? "Received from \\('127\\.0\\.0\\.1', [0-9]+\\): Hello from UDP client\n"
      : "Received: Hello from UDP client\n"
    return "UDP server listening on port \(port)\n(\(line)){\(clients)}"
  }

  static let slowStart = Duration.seconds(30)  // Java: a second or more to start

  @Test(
    "clients of one flavor, one after another, against a server of any", arguments: servers, clients
  )
  func pair(server: String, client: String) async throws {
    let port = Ports.reserve()
    let program = Program(flavor: server, name: "udp-hello-server")
    try await Running.withServer(program, port: port, within: Self.slowStart) { running in
      try await running.waitForStdout(
        "UDP server listening on port \(port)\n", within: Self.slowStart)
      for count in 1...3 {
        let output = try await Running.client(
          Program(flavor: client, name: "udp-hello-client"), port: port, within: Self.slowStart)
        #expect(output.stdoutText == Self.clientTranscript(client))
        #expect(output.stderrText == "")
        #expect(output.termination == .exit(0))
        let pattern = Self.serverPattern(server, port: port, clients: count)
        try await running.wait(for: "the transcript of \(count) clients") {
          (try? Regex(pattern).wholeMatch(in: $0.stdoutText)) != nil
        }
      }
      #expect(running.output.termination == nil, "the lecture's UDP server never exits")
    }
  }
}
