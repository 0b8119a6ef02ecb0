// udp-hello: every client flavor against every server flavor, byte for byte, several
// clients in turn against one server (it loops forever and never exits by itself).
import KitHarness
import Testing

@Suite("udp-hello", .timeLimit(.minutes(1)))
struct UdpHelloTests {
  static let servers = Kit.flavors(having: "udp-hello-server")
  static let clients = Kit.flavors(having: "udp-hello-client")

  static let clientTranscript = "Message sent\nReceived: Message received\n"
  static func serverTranscript(port: UInt16, clients: Int) -> String {
    "UDP server listening on port \(port)\n"
      + String(repeating: "Received: Hello from UDP client\n", count: clients)
  }

  @Test("clients of one flavor, one after another, against a server of any", arguments: servers, clients)
  func pair(server: String, client: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(Program(flavor: server, name: "udp-hello-server"), port: port) {
      running in
      for count in 1...3 {
        let output = try await Running.client(
          Program(flavor: client, name: "udp-hello-client"), port: port)
        #expect(output.stdoutText == Self.clientTranscript)
        #expect(output.stderrText == "")
        #expect(output.termination == .exit(0))
        try await running.waitForStdout(Self.serverTranscript(port: port, clients: count))
      }
      #expect(running.output.termination == nil, "the lecture's UDP server never exits")
      #expect(running.output.stdoutText == Self.serverTranscript(port: port, clients: 3))
    }
  }
}
