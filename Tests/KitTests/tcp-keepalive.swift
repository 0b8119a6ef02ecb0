// tcp-keepalive: a server that says how each connection ended. Every flavor prints the
// same lines: for a client that closes, one that resets, and (as root) one whose link
// is taken down in a network namespace of the test's own, so that no FIN and no RST
// ever comes: with keepalive the server reports it lost within idle + interval * count
// seconds; without, it is still waiting at twice that. The swift twin makes the C
// program's calls, as strace sees them.
import Foundation
import KitHarness
import Testing

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@Suite("tcp-keepalive", .timeLimit(.minutes(2)))
struct TcpKeepaliveTests {
  static let servers = Kit.flavors(having: "tcp-keepalive-server")

  /// The server's first line for the settings its arguments give.
  static func listening(port: UInt16, _ arguments: [String] = []) -> String {
    switch arguments {
    case []: "listening on port \(port), keepalive: idle 1 s, interval 1 s, 3 probes\n"
    case ["off"]: "listening on port \(port), keepalive off\n"
    default:
      "listening on port \(port), keepalive: idle \(arguments[0]) s, "
        + "interval \(arguments[1]) s, \(arguments[2]) probes\n"
    }
  }

  /// A client in Python that connects to `host`:`port`, then: `close`s after sending a
  /// few bytes, `reset`s, or `wait`s silently until killed. Its close is a reset (SO_LINGER
  /// 0) except in `close`: no socket outlives it in FIN_WAIT, holding its namespace.
  static func client(host: String, port: UInt16, _ ending: String) throws -> [String] {
    let script = """
      import signal, socket, struct, sys
      s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
      if sys.argv[3] == "close":
          s.sendall(b"bytes the server discards\\n")
          s.close()
          sys.exit()
      s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
      if sys.argv[3] == "wait":
          signal.pause()
      s.close()
      """
    return [
      try Tools.require("python3", package: "python3"), "-c", script, host, "\(port)", ending,
    ]
  }

  @Test("closed by peer, or lost to a reset, as the settings say", arguments: servers)
  func closedOrReset(server: String) async throws {
    let port = Ports.reserve()
    let arguments = ["30", "10", "5"]
    try await Running.withServer(
      Program(flavor: server, name: "tcp-keepalive-server"), port: port, arguments: arguments
    ) { running in
      var transcript = Self.listening(port: port, arguments)
      for (ending, line) in [
        ("close", "closed by peer"), ("reset", "lost: Connection reset by peer"),
      ] {
        let client = try Running(command: try Self.client(host: "127.0.0.1", port: port, ending))
        #expect(try await client.finish().termination == .exit(0))
        transcript += "connected: 127.0.0.1\n\(line)\n"
        try await running.waitForStdout(transcript)
      }
      #expect(running.output.stderrText == "")
    }
  }

  /// Settings the flavors refuse alike: status 64, a reason on stderr, nothing on stdout.
  static let badSettings: [[String]] = [
    ["on"], ["1", "1"], ["1", "1", "3", "4"], ["0", "1", "3"], ["1", "x", "3"], ["1", "1", "-3"],
    ["+1", "1", "3"], ["32768", "1", "3"], ["1", "32768", "3"], ["1", "1", "128"],
  ]

  @Test("bad settings: said on stderr, status 64, nothing served", arguments: servers)
  func badInput(server: String) async throws {
    let port = Ports.reserve()
    for arguments in Self.badSettings {
      let output = try await Running(
        Program(flavor: server, name: "tcp-keepalive-server"), arguments: arguments,
        environment: ["KIT_PORT": "\(port)"]
      ).finish()
      #expect(output.termination == .exit(64), "\(arguments)")
      #expect(output.stdoutText == "", "\(arguments)")
      #expect(!output.stderrText.isEmpty, "\(arguments)")
    }
  }

  /// The default settings: the probes start after 1 s and fail the connection 3 s later.
  static let noticedWithin: Duration = .seconds(1 + 1 * 3)

  @Test(
    "a client whose link goes down is lost within idle + interval * count",
    .enabled(if: getuid() == 0, "needs root to create a network namespace"), arguments: servers)
  func noticed(server: String) async throws {
    try await withVanishingClient(server: server, arguments: []) { running, transcript in
      let start = ContinuousClock.now
      try await running.waitForStdout(
        transcript + "lost: Connection timed out\n", within: Self.noticedWithin + .seconds(3))
      // Idle is counted from the last packet, the handshake's, just before "connected":
      // not much less than the whole time, or something other than the probes ended it.
      let took = ContinuousClock.now - start
      #expect(took > Self.noticedWithin - .seconds(1), "\(took)")
    }
  }

  @Test(
    "without keepalive, a client whose link goes down is never noticed",
    .enabled(if: getuid() == 0, "needs root to create a network namespace"), arguments: servers)
  func unnoticed(server: String) async throws {
    try await withVanishingClient(server: server, arguments: ["off"]) { running, transcript in
      // Twice what keepalive would take: any change to its output (a "lost" line, an
      // exit) ends the wait at once and fails the test; only the silence lasts 8 s.
      let changed = try? await running.wait(for: "a change", within: Self.noticedWithin * 2) {
        $0.stdoutText != transcript || $0.termination != nil
      }
      #expect(changed == nil, "it noticed: \(changed?.stdoutText ?? "")")
      #expect(running.output.stdoutText == transcript)
      #expect(running.output.termination == nil)
    }
  }

  /// Starts the server on this machine and a silent client in a namespace of its own,
  /// takes the client's link down once the server has it, and runs `body` with the
  /// server and its transcript so far. Ends both programs, and the namespace, however
  /// `body` ends.
  private func withVanishingClient(
    server: String, arguments: [String],
    _ body: (Running, String) async throws -> Void
  ) async throws {
    try await IsolatedHost.with(name: "kit-keepalive", network: 78, tag: "kk") { host in
      let port = Ports.reserve()
      try await Running.withServer(
        Program(flavor: server, name: "tcp-keepalive-server"), port: port, arguments: arguments
      ) { running in
        let client = try host.start(Self.client(host: host.hostAddress, port: port, "wait"))
        do {
          let transcript = Self.listening(port: port, arguments) + "connected: \(host.address)\n"
          try await running.waitForStdout(transcript)
          try await host.takeLinkDown()
          try await body(running, transcript)
          try await client.stop()
        } catch {
          _ = try? await client.stop()
          throw error
        }
      }
    }
  }

  @Test("the swift twin makes the C program's network calls")
  func sameCalls() async throws {
    let strace = try Tools.require("strace", package: "strace")
    var calls: [String: [String]] = [:]
    for flavor in ["c", "swift"] {
      let port = Ports.reserve()
      let log = FileManager.default.temporaryDirectory
        .appendingPathComponent("kit-\(port)-\(flavor)-keepalive.strace").path
      defer { try? FileManager.default.removeItem(atPath: log) }
      let traced = try await Running.server(
        Program(flavor: flavor, name: "tcp-keepalive-server"), port: port,
        wrapper: [strace, "-f", "-qq", "-e", "trace=%network", "-o", log])
      do {
        let client = try Running(command: try Self.client(host: "127.0.0.1", port: port, "close"))
        try await client.finish()
        try await traced.waitForStdout(
          Self.listening(port: port) + "connected: 127.0.0.1\nclosed by peer\n")
        // Stopped only once it waits in its next accept, which strace writes out as the
        // call starts: after its line, the server still closes the connection first.
        try await Logs.waitFor("second accept", in: log) { trace in
          trace.split(separator: "\n").count {
            $0.drop(while: \.isNumber).drop { $0 == " " }.hasPrefix("accept")
          } >= 2
        }
        try await traced.stop(signal: SIGTERM)  // strace writes out its last lines
      } catch {
        _ = try? await traced.stop()
        throw error
      }
      calls[flavor] = try SystemCallTests.calls(in: log)
    }
    // The three settings, then keepalive on, for each connection; the last accept is the
    // one SIGTERM ends (the comparison drops the restart words strace adds to it).
    #expect(
      calls["c"] == [
        "socket AF_INET SOCK_STREAM IPPROTO_IP", "setsockopt SOL_SOCKET SO_REUSEADDR",
        "bind AF_INET", "listen", "accept AF_INET", "setsockopt SOL_TCP TCP_KEEPIDLE",
        "setsockopt SOL_TCP TCP_KEEPINTVL", "setsockopt SOL_TCP TCP_KEEPCNT",
        "setsockopt SOL_SOCKET SO_KEEPALIVE", "recvfrom NULL NULL", "accept",
      ], "\(calls["c"] ?? [])")
    #expect(calls["swift"] == calls["c"])
  }
}
