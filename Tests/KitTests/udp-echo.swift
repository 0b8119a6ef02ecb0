// udp-echo: every client flavor against every server flavor, several clients in turn;
// the server's and the client's Python bytes repr of any datagram; a datagram longer
// than recvfrom(4096) takes; and the client's timeout when no server answers.
import KitHarness
import Testing

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@Suite("udp-echo", .timeLimit(.minutes(1)))
struct UdpEchoTests {
  static let servers = Kit.flavors(having: "udp-echo-server")
  static let clients = Kit.flavors(having: "udp-echo-client")

  static let reply = "Server replied: b'hello, server\\n'\n"

  /// The server's lines for `clients` lecture clients, whose ports are ephemeral.
  static func transcript(clients: Int) -> String {
    "(Received b'hello, server\\\\n' from \\('127\\.0\\.0\\.1', [1-9][0-9]{0,4}\\)\n){\(clients)}"
  }

  @Test("clients in turn against a server of any flavor", arguments: servers, clients)
  func pair(server: String, client: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(Program(flavor: server, name: "udp-echo-server"), port: port) {
      running in
      for count in 1...3 {
        let output = try await Running.client(
          Program(flavor: client, name: "udp-echo-client"), port: port)
        #expect(output.stdoutText == Self.reply)
        #expect(output.stderrText == "")
        #expect(output.termination == .exit(0))
        let pattern = Self.transcript(clients: count)
        try await running.wait(for: "the transcript of \(count) clients") {
          (try? Regex(pattern).wholeMatch(in: $0.stdoutText)) != nil
        }
      }
      #expect(running.output.termination == nil, "it serves datagrams until killed")
    }
  }

  @Test("the server prints any datagram as Python prints bytes and echoes it", arguments: servers)
  func serverRepr(server: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(Program(flavor: server, name: "udp-echo-server"), port: port) {
      running in
      let peer = try DatagramPeer()
      var transcript = ""
      for (bytes, text) in TcpEchoTests.replies {
        peer.send(bytes, to: port)
        let echo = try await onThread { try peer.receive(within: .seconds(10)) }
        #expect(echo == bytes)
        transcript += "Received \(text) from ('127.0.0.1', \(peer.port))\n"
        try await running.waitForStdout(transcript)
      }
      // recvfrom(4096) takes the first 4096 bytes of a longer datagram; the rest is lost.
      let long = [UInt8](repeating: UInt8(ascii: "x"), count: 5000)
      peer.send(long, to: port)
      let echo = try await onThread { try peer.receive(within: .seconds(10)) }
      #expect(echo == Array(long.prefix(4096)))
      let line =
        "Received b'\(String(repeating: "x", count: 4096))' from ('127.0.0.1', \(peer.port))\n"
      try await running.waitForStdout(transcript + line)
      #expect(running.output.stderrText == "")
    }
  }

  @Test("the client prints any reply as Python prints bytes", arguments: clients)
  func clientRepr(client: String) async throws {
    for (bytes, text) in TcpEchoTests.replies {
      let server = try DatagramPeer()  // on a port the kernel picks: no other test has it
      let running = try Running(
        Program(flavor: client, name: "udp-echo-client"),
        environment: ["KIT_PORT": "\(server.port)", "KIT_HOST": "127.0.0.1"])
      do {
        // Received and answered on one thread, at once: the client waits only 5 s.
        let request = try await onThread {
          let (request, from) = try server.receiveWithSender(within: .seconds(10))
          server.send(bytes, to: from)
          return request
        }
        #expect(request == Array("hello, server\n".utf8))
        let output = try await running.finish()
        #expect(output.stdoutText == "Server replied: \(text)\n")
        #expect(output.termination == .exit(0))
      } catch {
        _ = try? await running.stop()
        throw error
      }
    }
  }

  @Test("with no server, the client gives up after 5 seconds and says why", arguments: clients)
  func timeout(client: String) async throws {
    let port = Ports.reserve()  // free: nothing answers there
    let clock = ContinuousClock()
    let start = clock.now
    let output = try await Running.client(
      Program(flavor: client, name: "udp-echo-client"), port: port, within: .seconds(30))
    let waited = clock.now - start
    #expect(output.stdoutText == "")
    #expect(
      output.stderrText
        == "no reply within 5 seconds: is the server running on 127.0.0.1:\(port)?\n")
    #expect(output.termination == .exit(1))
    #expect(waited >= .seconds(4.9), "gave up after \(waited)")
  }
}
