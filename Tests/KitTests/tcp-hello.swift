// tcp-hello: every client flavor against every server flavor, byte for byte.
import KitHarness
import Testing

@Suite("tcp-hello", .timeLimit(.minutes(1)))
struct TcpHelloTests {
  static let servers = Kit.flavors(having: "tcp-hello-server")
  static let clients = Kit.flavors(having: "tcp-hello-client")

  static func serverTranscript(port: UInt16) -> String {
    "Server listening on port \(port)\nClient connected\nReceived: Hello from client\nResponse sent\n"
  }
  static let clientTranscript = "Connected to server\nMessage sent\nReceived: Hello from server\n"

  @Test("a client and a server of any flavors talk", arguments: servers, clients)
  func pair(server: String, client: String) async throws {
    let port = Ports.reserve()
    let serverProgram = Program(flavor: server, name: "tcp-hello-server")
    let (clientOutput, serverOutput) = try await Running.withServer(serverProgram, port: port) {
      running in
      let clientOutput = try await Running.client(
        Program(flavor: client, name: "tcp-hello-client"), port: port)
      return (clientOutput, try await running.finish())  // one client, then it exits
    }
    #expect(clientOutput.stdoutText == Self.clientTranscript)
    #expect(clientOutput.stderrText == "")
    #expect(clientOutput.termination == .exit(0))
    #expect(serverOutput.stdoutText == Self.serverTranscript(port: port))
    #expect(serverOutput.stderrText == "")
    #expect(serverOutput.termination == .exit(0))
  }

  @Test("a client with no server says connect failed and exits non-zero", arguments: clients)
  func noServer(client: String) async throws {
    let port = Ports.reserve()  // free, and nothing will listen on it
    let output = try await Running.client(Program(flavor: client, name: "tcp-hello-client"), port: port)
    // The lecture's perror line is `connect failed: Connection refused`; every flavor
    // names the call and the reason, prints nothing else, and exits with status 1.
    #expect(output.stdoutText == "")
    #expect(output.stderrText.contains("connect"))
    #expect(output.stderrText.hasSuffix("Connection refused\n"))
    #expect(output.termination == .exit(1))
  }
}
