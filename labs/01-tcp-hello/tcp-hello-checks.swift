// Lab 01, tcp-hello: the student's server and client against every flavor of the
// kit's tcp-hello, byte for byte, on ports other than the lecture's, plus the errors
// the lecture's programs report (README.md says what each check means).
import KitHarness

#if canImport(Glibc)
  import Glibc  // SIGKILL
#endif

extension Lab {
  static let tcpHello = Lab(
    number: "01", name: "tcp-hello", programs: ["server", "client"],
    checks: TcpHello.flavors(role: "client").map(TcpHello.serverWith)
      + TcpHello.flavors(role: "server").map(TcpHello.clientWith)
      + [TcpHello.clientHost, TcpHello.clientRefused, TcpHello.serverPortTaken])
}

enum TcpHello {
  /// The kit's flavors that print the C lecture's lines: the lecture's own Python and
  /// Java print others and frame differently (LectureInterop), so a right C solution
  /// is graded against C and Swift only.
  static func flavors(role: String) -> [String] {
    Kit.flavors(example: "tcp-hello", role: role).filter { Kit.scriptFlavors[$0] == nil }
  }

  static func serverTranscript(port: UInt16) -> String {
    "Server listening on port \(port)\nClient connected\nReceived: Hello from client\nResponse sent\n"
  }
  static let clientTranscript = "Connected to server\nMessage sent\nReceived: Hello from server\n"

  /// The student's server, one client of the kit's, both transcripts.
  static func serverWith(client flavor: String) -> Check {
    Check(
      "server-with-\(flavor)-client", "your server, the kit's \(flavor) client: both transcripts",
      needs: ["server"]
    ) { solution in
      let port = Ports.reserve()
      let server = try await startServer(solution.program("server"), port: port)
      let running = try Running(
        kitProgram(flavor, "tcp-hello-client"),
        environment: ["KIT_PORT": "\(port)", "KIT_HOST": "127.0.0.1"])
      let client = try await stopping(server) {
        try await finish(
          running, within: .seconds(5),
          hint: """
            the \(flavor) client waited 5 s for a reply that never came. It sends its 17 \
            bytes and waits; it does not close first, so a server that reads until end of \
            stream waits for it too. Answer after one recv.
            """)
      }
      let served = try await finish(
        server, within: .seconds(5),
        hint:
          "your server did not exit after its one client (the lecture's serves one, then closes both sockets and returns 0)."
      )
      try expectText("the \(flavor) client's stdout", client.stdoutText, clientTranscript)
      try expectText("your server's stdout", served.stdoutText, serverTranscript(port: port))
      try expectTermination("your server", served, .exit(0))
    }
  }

  /// The student's client against one server of the kit's.
  static func clientWith(server flavor: String) -> Check {
    Check(
      "client-with-\(flavor)-server", "your client, the kit's \(flavor) server: both transcripts",
      needs: ["client"]
    ) { solution in
      let port = Ports.reserve()
      let server = try await Running.server(kitProgram(flavor, "tcp-hello-server"), port: port)
      let ran = try await stopping(server) { () -> Output in
        let client = try Running(
          solution.program("client"), environment: ["KIT_PORT": "\(port)", "KIT_HOST": "127.0.0.1"])
        let ran: Output
        if let finished = try? await client.finish(within: .seconds(5)) {
          ran = finished
        } else {
          ran = try await client.stop()  // SIGKILL: it hung
        }
        // The server printed its line before it answered; give the harness's reader
        // of its stdout a moment to see it.
        let connected = try? await server.wait(for: "Client connected", within: .seconds(3)) {
          $0.stdoutText.contains("Client connected")
        }
        guard connected != nil else {
          throw CheckFailed(
            "the \(flavor) server on KIT_PORT=\(port) saw no client: does your client connect to KIT_HOST:KIT_PORT?\n  your client's stdout:\n\(shown(ran.stdoutText))\n  its stderr:\n\(shown(ran.stderrText))"
          )
        }
        guard ran.termination != .signal(SIGKILL) else {
          throw CheckFailed(
            "your client connected but did not exit within 5 s: does it wait for more than the one reply?\n  its stdout:\n\(shown(ran.stdoutText))"
          )
        }
        return ran
      }
      let served = try await finish(
        server, within: .seconds(5),
        hint:
          "the \(flavor) server did not finish: it got no message from your client, or could not send its reply."
      )
      try expectText("your client's stdout", ran.stdoutText, clientTranscript)
      try expectText(
        "the \(flavor) server's stdout", served.stdoutText, serverTranscript(port: port))
      try expectTermination("your client", ran, .exit(0))
    }
  }

  /// KIT_HOST, not a fixed 127.0.0.1: the grader listens on 127.0.0.2 only.
  static let clientHost = Check(
    "client-uses-kit-host", "your client connects to KIT_HOST (127.0.0.2 here)", needs: ["client"]
  ) { solution in
    let port = Ports.reserve()
    let listener = try Listener(host: "127.0.0.2", port: port)
    let client = try Running(
      solution.program("client"), environment: ["KIT_PORT": "\(port)", "KIT_HOST": "127.0.0.2"])
    // Play the lecture's server on another thread: one recv, the reply, close.
    let heard = try await stopping(client) {
      try await onThread { () -> [UInt8]? in
        guard let connection = try? listener.accept(within: .seconds(5)) else { return nil }
        defer { connection.close() }
        let bytes = try connection.receiveOnce(upTo: 1023)
        _ = try connection.send(Array("Hello from server".utf8))
        return bytes
      }
    }
    guard heard != nil else {
      let seen = try await client.stop()
      throw CheckFailed(
        "nothing connected to 127.0.0.2:\(port) (KIT_HOST:KIT_PORT) within 5 s: does your client read both?\n  its stderr:\n\(shown(seen.stderrText))"
      )
    }
    let ran = try await finish(
      client, within: .seconds(5), hint: "your client did not exit within 5 s.")
    try expectText("your client's stdout", ran.stdoutText, clientTranscript)
  }

  /// With nothing listening, the lecture's client reports and exits non-zero.
  static let clientRefused = Check(
    "client-reports-refused", "with no server: perror(\"connect failed\"), exit 1",
    needs: ["client"]
  ) { solution in
    let port = Ports.reserve()  // free, and nothing will listen on it
    let client = try Running(
      solution.program("client"), environment: ["KIT_PORT": "\(port)", "KIT_HOST": "127.0.0.1"])
    let ran = try await finish(
      client, within: .seconds(5), hint: "your client did not exit within 5 s.")
    try expectText(
      "your client's stderr", ran.stderrText, "connect failed: Connection refused\n",
      why: "connect's return value must be checked")
    try expectText("your client's stdout", ran.stdoutText, "")
    try expectTermination("your client", ran, .exit(1))
  }

  /// A port already in use: bind fails, and the lecture's server says so.
  static let serverPortTaken = Check(
    "server-reports-port-taken", "with its port taken: perror(\"bind failed\"), exit 1",
    needs: ["server"]
  ) { solution in
    let port = Ports.reserve()
    let holder = try Listener(port: port)
    defer { _ = holder }
    let server = try Running(solution.program("server"), environment: ["KIT_PORT": "\(port)"])
    let ran = try await finish(
      server, within: .seconds(5),
      hint: "your server did not exit within 5 s although bind must have failed.")
    try expectText(
      "your server's stderr", ran.stderrText, "bind failed: Address already in use\n",
      why: "bind's return value must be checked")
    try expectTermination("your server", ran, .exit(1))
  }
}
