// udp-capitalize: every client flavor against every server flavor (the slides' Java
// included), several clients in turn against one server, which loops forever. The
// slides' servers answer with their whole buffer, which the Java client prints whole:
// leftovers of earlier datagrams show (LectureInterop).
import KitHarness
import Testing

@Suite("udp-capitalize", .timeLimit(.minutes(2)))
struct UdpCapitalizeTests {
  static let servers = Kit.flavors(having: "udp-capitalize-server")
  static let clients = Kit.flavors(having: "udp-capitalize-client")

  static let slowStart = Duration.seconds(30)  // Java: a second or more to start

  @Test("clients in turn against a server of any flavor", arguments: servers, clients)
  func pair(server: String, client: String) async throws {
    let port = Ports.reserve()
    let program = Program(flavor: server, name: "udp-capitalize-server")
    let mismatch = LectureInterop.mismatch(
      example: "udp-capitalize", server: server, client: client)
    try await Running.withServer(program, port: port, within: Self.slowStart) { running in
      // What the server's buffer holds of the Java client's lines so far (it sends the
      // line alone, no newline, no padding): each overwrites the start of the last.
      var buffer: [UInt8] = []
      for line in ["hello world", "Datagrams keep their boundaries.", "x"] {
        let output = try await Running.client(
          Program(flavor: client, name: "udp-capitalize-client"), port: port,
          input: line + "\n", within: Self.slowStart)
        #expect(output.termination == .exit(0))
        guard client == "java" else {
          // As in tcp-capitalize: stderr, the line's own newline, then " \n".
          #expect(output.stderrText == "FROM SERVER: \(line.uppercased())\n \n")
          #expect(output.stdoutText == "")
          continue
        }
        // The slides' Java client: stdout, no space after the colon, and its whole
        // 1024-byte buffer, NULs included.
        let sent = Array(line.utf8)
        buffer = sent + buffer.dropFirst(sent.count)
        let answer = mismatch?.outcome == .leftovers ? buffer : sent
        let shown = String(decoding: answer, as: UTF8.self).uppercased()
        #expect(output.stderrText == "")
        if server == "java" || mismatch == nil {
          // Java's buffer starts zeroed, as does the client's: every byte is known.
          let padding = String(repeating: "\0", count: 1024 - answer.count)
          #expect(
            output.stdoutText == "FROM SERVER:\(shown)\(padding)\n",
            "\(output.stdoutText.prefix(60).debugDescription)\(mismatch.map { ": \($0.reason)" } ?? "")"
          )
        } else {
          // The C server's buffer starts with what its stack held: known up to the
          // longest line so far.
          #expect(
            output.stdoutText.hasPrefix("FROM SERVER:\(shown)")
              && output.stdoutText.hasSuffix("\n"),
            "\(output.stdoutText.prefix(60).debugDescription): \(mismatch!.reason)")
        }
      }
      #expect(running.output.stdoutText == "", "the slides' server prints nothing")
      #expect(running.output.termination == nil, "it serves datagrams until killed")
    }
  }
}
