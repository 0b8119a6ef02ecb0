// udp-capitalize: every client flavor against every server flavor, several clients in
// turn against one server, which loops forever.
import KitHarness
import Testing

@Suite("udp-capitalize", .timeLimit(.minutes(1)))
struct UdpCapitalizeTests {
  static let servers = Kit.flavors(having: "udp-capitalize-server")
  static let clients = Kit.flavors(having: "udp-capitalize-client")

  @Test("clients in turn against a server of any flavor", arguments: servers, clients)
  func pair(server: String, client: String) async throws {
    let port = Ports.reserve()
    let program = Program(flavor: server, name: "udp-capitalize-server")
    try await Running.withServer(program, port: port) { running in
      for line in ["hello world", "Datagrams keep their boundaries.", "x"] {
        let output = try await Running.client(
          Program(flavor: client, name: "udp-capitalize-client"), port: port, input: line + "\n")
        // As in tcp-capitalize: stderr, the line's own newline, then " \n".
        #expect(output.stderrText == "FROM SERVER: \(line.uppercased())\n \n")
        #expect(output.stdoutText == "")
        #expect(output.termination == .exit(0))
      }
      #expect(running.output.stdoutText == "", "the slides' server prints nothing")
      #expect(running.output.termination == nil, "it serves datagrams until killed")
    }
  }
}
