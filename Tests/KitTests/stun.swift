// stun: a client-only example. Every flavor of stun-client asks a real STUN server
// (coturn, started here on loopback) for its address, and the answer names the port the
// client itself sent from, as coturn's own log says; it resends the same request with
// growing gaps to a silent peer and gives up 10 s after the first send; and a fake
// server of the test's own sends it hostile answers, each refused with one clear line
// (for C, also by a build with AddressSanitizer and UBSan, which must stay silent).
import Foundation
import KitHarness
import Testing

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@Suite("stun", .timeLimit(.minutes(2)))
struct StunTests {
  static let clients = Kit.flavors(having: "stun-client")

  @Test("a real STUN server (coturn) sees the client at the port it names", arguments: clients)
  func coturn(client: String) async throws {
    try await Turnserver.with { turn in
      let output = try await Running(
        Program(flavor: client, name: "stun-client"),
        arguments: ["127.0.0.1", "\(turn.port)"]
      ).finish(within: .seconds(15))
      #expect(output.stderrText == "")
      #expect(output.termination == .exit(0))
      let line = output.stdoutText
      let match = try #require(
        line.wholeMatch(of: /XOR-MAPPED-ADDRESS 127\.0\.0\.1:([0-9]+)\n/), "\(line)")
      let port = try #require(UInt16(match.1))
      // coturn logs each new UDP peer: the port must be the one it really saw, not a
      // plausible number (no hard-coded answer passes this).
      try await turn.waitForLog("remote addr 127.0.0.1:\(port)\n")
    }
  }

  @Test(
    "a silent server: the same request again at 0.5, 1, 2, 4 s gaps, then no answer in 10 s",
    arguments: clients)
  func retransmits(client: String) async throws {
    let silent = try DatagramPeer()
    let started = ContinuousClock.now
    let running = try Running(
      Program(flavor: client, name: "stun-client"), arguments: ["127.0.0.1", "\(silent.port)"])
    let arrivals = try await onThread {
      var seen: [([UInt8], ContinuousClock.Instant)] = []
      while seen.count < 5 {
        let (bytes, _) = try silent.receiveWithSender(within: .seconds(12))
        seen.append((bytes, ContinuousClock.now))
      }
      return seen
    }
    let output = try await running.finish(within: .seconds(15))
    let took = ContinuousClock.now - started
    let first = arrivals[0].0
    #expect(first.count == 20)
    #expect(Array(first[0..<8]) == [0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42])
    #expect(arrivals.allSatisfy { $0.0 == first }, "the same transaction id every time")
    let gaps = zip(arrivals.dropFirst(), arrivals).map { $0.1 - $1.1 }
    // 500, 1000, 2000, 4000 ms; a busy machine only makes a wait longer, not shorter.
    for (gap, nominal) in zip(gaps, [500, 1000, 2000, 4000]) {
      #expect(gap >= .milliseconds(nominal - 50), "\(gaps)")
      #expect(gap < .milliseconds(nominal + 1500), "\(gaps)")
    }
    #expect(output.stderrText == "stun-client: no answer from 127.0.0.1:\(silent.port) in 10 s\n")
    #expect(output.stdoutText == "")
    #expect(output.termination == .exit(1))
    #expect(took >= .seconds(10) && took < .seconds(14), "\(took)")
  }

  @Test("hostile answers: ignored when not ours, refused when malformed", arguments: clients)
  func hostile(client: String) async throws {
    try await Self.hostileCases(Program(flavor: client, name: "stun-client"))
  }

  @Test("C built with AddressSanitizer and UBSan: the hostile answers, no report")
  func sanitized() async throws {
    let folder = try Scratch.folder("kit-stun-asan")
    defer { try? FileManager.default.removeItem(at: folder) }
    let binary = folder.appendingPathComponent("stun-client").path
    let clang =
      FileManager.default.isExecutableFile(atPath: "/opt/swift/usr/bin/clang")
      ? "/opt/swift/usr/bin/clang" : try Tools.require("clang", package: "clang")
    let build = try await Running(command: [
      clang, "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-o", binary,
      Kit.root.appendingPathComponent("CSources/stun/client.c").path,
    ]).finish(within: .seconds(60))
    try #require(build.termination == .exit(0), "\(build.stderrText)")
    try await Self.hostileCases(
      Program(flavor: "c-sanitized", name: "stun-client", path: URL(fileURLWithPath: binary)))
  }

  @Test("bad input: usage and status 64; an unknown host, status 1", arguments: clients)
  func badInput(client: String) async throws {
    for arguments in [
      [], ["127.0.0.1", "0"], ["127.0.0.1", "65536"], ["127.0.0.1", "x"],
      [
        "127.0.0.1", "3478", "more",
      ],
    ] {
      let output = try await Running(
        Program(flavor: client, name: "stun-client"), arguments: arguments
      ).finish()
      #expect(output.termination == .exit(64), "\(arguments)")
      #expect(output.stdoutText == "", "\(arguments)")
      #expect(!output.stderrText.isEmpty, "\(arguments)")
    }
    let output = try await Running(
      Program(flavor: client, name: "stun-client"), arguments: ["no-such-host.invalid"]
    ).finish(within: .seconds(15))
    #expect(output.stderrText.hasPrefix("stun-client: unknown host no-such-host.invalid: "))
    #expect(output.stderrText.filter { $0 == "\n" }.count == 1)
    #expect(output.termination == .exit(1))
  }

  @Test("the swift twin makes the C program's calls, getrandom to recvfrom")
  func sameCalls() async throws {
    let strace = try Tools.require("strace", package: "strace")
    var calls: [String: [String]] = [:]
    for flavor in ["c", "swift"] {
      let fake = try DatagramPeer()
      let log = FileManager.default.temporaryDirectory
        .appendingPathComponent("kit-\(fake.port)-\(flavor)-stun.strace").path
      defer { try? FileManager.default.removeItem(atPath: log) }
      let traced = try Running(
        Program(flavor: flavor, name: "stun-client"), arguments: ["127.0.0.1", "\(fake.port)"],
        wrapper: [strace, "-f", "-qq", "-e", "trace=%network,getrandom,poll", "-o", log])
      try await onThread {
        let (request, from) = try fake.receiveWithSender(within: .seconds(10))
        let id = Array(request[8..<20])
        fake.send(
          Stun.message(0x0101, id: id, [Stun.xorAddress([192, 0, 2, 1], port: 4000, id: id)]),
          to: from)
      }
      let output = try await traced.finish()
      #expect(output.stdoutText == "XOR-MAPPED-ADDRESS 192.0.2.1:4000\n", "\(flavor)")
      // From the socket on: before it, the C library and the Swift runtime call
      // getrandom for their own ends (malloc's, hashing seeds), differently.
      calls[flavor] = Array(try SystemCallTests.calls(in: log).drop { !$0.hasPrefix("socket") })
    }
    let names = calls["c"]?.map { $0.prefix { $0 != " " } }
    #expect(
      names == ["socket", "getrandom", "sendto", "poll", "recvfrom"], "\(calls["c"] ?? [])")
    #expect(calls["swift"] == calls["c"])
  }

  // MARK: - The fake server's answers

  /// One hostile case: what the fake server sends back (given the request), and what
  /// the client must then print on stdout or stderr, with its status.
  struct Case: Sendable {
    let name: String
    let answers: @Sendable ([UInt8]) -> [[UInt8]]
    let stdout: String
    let stderr: String
    /// Only the prefix of stderr is fixed (the flavors word the detail their own way).
    var stderrIsPrefix = true
    var status: Int32 = 1
  }

  static func hostileCases(_ program: Program) async throws {
    for hostile in cases {
      let fake = try DatagramPeer()
      let stray = try DatagramPeer()
      let running = try Running(program, arguments: ["127.0.0.1", "\(fake.port)"])
      do {
        try await onThread {
          let (request, from) = try fake.receiveWithSender(within: .seconds(10))
          // A perfect answer from another port comes first: not the server, ignored.
          stray.send(
            Stun.message(
              0x0101, id: Array(request[8..<20]),
              [Stun.xorAddress([10, 9, 9, 9], port: 999, id: Array(request[8..<20]))]),
            to: from)
          for answer in hostile.answers(request) { fake.send(answer, to: from) }
        }
        let output = try await running.finish(within: .seconds(15))
        #expect(output.stdoutText == hostile.stdout, "\(hostile.name)")
        if hostile.stderrIsPrefix {
          #expect(
            output.stderrText.hasPrefix(hostile.stderr), "\(hostile.name): \(output.stderrText)")
          #expect(output.stderrText.filter { $0 == "\n" }.count == 1, "\(hostile.name): one line")
        } else {
          #expect(output.stderrText == hostile.stderr, "\(hostile.name)")
        }
        #expect(output.termination == .exit(hostile.status), "\(hostile.name)")
      } catch {
        _ = try? await running.stop()
        throw HarnessError(description: "\(hostile.name): \(error)")
      }
    }
  }

  static let malformed = "stun-client: malformed answer: "

  static let cases: [Case] = [
    Case(
      name: "another transaction id is ignored, then ours is taken",
      answers: { request in
        var other = Array(request[8..<20])
        other[0] ^= 0xFF
        let ours = Array(request[8..<20])
        return [
          Stun.message(0x0101, id: other, [Stun.xorAddress([10, 1, 1, 1], port: 1111, id: other)]),
          Stun.message(
            0x0101, id: ours, [Stun.xorAddress([203, 0, 113, 1], port: 50001, id: ours)]),
        ]
      }, stdout: "XOR-MAPPED-ADDRESS 203.0.113.1:50001\n", stderr: "", stderrIsPrefix: false,
      status: 0),
    Case(
      name: "MAPPED-ADDRESS only: the fallback, named as such",
      answers: { request in
        [
          Stun.message(
            0x0101, id: Array(request[8..<20]), [(0x0001, [0, 1, 0x1F, 0x90, 192, 0, 2, 7])])
        ]
      }, stdout: "MAPPED-ADDRESS 192.0.2.7:8080\n", stderr: "", stderrIsPrefix: false, status: 0),
    Case(
      name: "IPv6 XOR-MAPPED-ADDRESS is decoded",
      answers: { request in
        let id = Array(request[8..<20])
        return [Stun.message(0x0101, id: id, [Stun.xorAddress(Stun.ipv6, port: 40000, id: id)])]
      }, stdout: "XOR-MAPPED-ADDRESS [2001:db8::1]:40000\n", stderr: "", stderrIsPrefix: false,
      status: 0),
    Case(
      name: "a truncated header",
      answers: { request in [Array(request[0..<12])] }, stdout: "", stderr: malformed),
    Case(
      name: "a length field past the end of the datagram",
      answers: { request in
        let id = Array(request[8..<20])
        var message = Stun.message(
          0x0101, id: id, [Stun.xorAddress([10, 0, 0, 1], port: 1, id: id)])
        message[3] = 40  // 12 bytes follow the header
        return [message]
      }, stdout: "", stderr: malformed),
    Case(
      name: "an attribute running past the end",
      answers: { request in
        let id = Array(request[8..<20])
        var message = Stun.message(
          0x0101, id: id, [Stun.xorAddress([10, 0, 0, 1], port: 1, id: id)])
        message[23] = 200  // the attribute's length
        return [message]
      }, stdout: "", stderr: malformed),
    Case(
      name: "a bad magic cookie",
      answers: { request in
        let id = Array(request[8..<20])
        var message = Stun.message(
          0x0101, id: id, [Stun.xorAddress([10, 0, 0, 1], port: 1, id: id)])
        message[4] = 0x12
        return [message]
      }, stdout: "", stderr: malformed),
    Case(
      name: "an unknown address family",
      answers: { request in
        let id = Array(request[8..<20])
        return [Stun.message(0x0101, id: id, [(0x0020, [0, 3, 0, 1, 1, 2, 3, 4])])]
      }, stdout: "", stderr: malformed),
    Case(
      name: "an IPv4 address of the wrong length",
      answers: { request in
        let id = Array(request[8..<20])
        return [Stun.message(0x0101, id: id, [(0x0020, [0, 1, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8])])]
      }, stdout: "", stderr: malformed),
    Case(
      name: "no address attribute",
      answers: { request in
        [Stun.message(0x0101, id: Array(request[8..<20]), [(0x8022, Array("fake".utf8))])]
      }, stdout: "", stderr: malformed),
    Case(
      name: "an error response",
      answers: { request in
        [
          Stun.message(
            0x0111, id: Array(request[8..<20]),
            [(0x0009, [0, 0, 4, 0] + Array("Bad Request".utf8))])
        ]
      }, stdout: "", stderr: "stun-client: server answered error 400 Bad Request\n",
      stderrIsPrefix: false),
  ]
}

/// Building STUN messages for the fake server (RFC 8489 section 5 and 14).
enum Stun {
  static let cookie: [UInt8] = [0x21, 0x12, 0xA4, 0x42]
  static let ipv6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]

  /// A message of `type` with the transaction id and attributes, each value padded to 4.
  static func message(_ type: UInt16, id: [UInt8], _ attributes: [(UInt16, [UInt8])]) -> [UInt8] {
    var body: [UInt8] = []
    for (attribute, value) in attributes {
      body += bytes16(attribute) + bytes16(UInt16(value.count)) + value
      body += Array(repeating: 0, count: (4 - value.count % 4) % 4)
    }
    return bytes16(type) + bytes16(UInt16(body.count)) + cookie + id + body
  }

  /// An XOR-MAPPED-ADDRESS attribute for an IPv4 or IPv6 address.
  static func xorAddress(_ address: [UInt8], port: UInt16, id: [UInt8]) -> (UInt16, [UInt8]) {
    let mask = cookie + id
    let family: UInt8 = address.count == 4 ? 1 : 2
    let xored = address.enumerated().map { $1 ^ mask[$0] }
    return (0x0020, [0, family] + bytes16(port ^ 0x2112) + xored)
  }

  static func bytes16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
}

/// coturn on 127.0.0.1, with flags of the test's own: long-term credentials (user kit,
/// password kit-secret, realm kit.example), no TLS, no CLI, relays on 127.0.0.1 that
/// may talk to loopback peers, and its log (verbose, with Binding requests: a line per
/// new UDP peer) in a
/// file (to a pipe coturn writes in blocks, so its lines would come late or never).
struct Turnserver {
  let port: UInt16
  let process: Running
  let log: String

  /// Waits until coturn's log holds `text`, failing after `limit` with the log so far.
  func waitForLog(_ text: String, within limit: Duration = .seconds(10)) async throws {
    try await Logs.waitFor("coturn line \(text.debugDescription)", in: log, within: limit) {
      $0.contains(text)
    }
  }

  static func with<T: Sendable>(_ body: (Turnserver) async throws -> T) async throws -> T {
    let turnserver = try Tools.require("turnserver", package: "coturn")
    let port = Ports.reserve()
    // Relay ports: a range of this test's own (coturn takes any port in it)
    let relays = Ports.reserve(consecutive: 4)
    let folder = try Scratch.folder("kit-turnserver")
    defer { try? FileManager.default.removeItem(at: folder) }
    let log = folder.appendingPathComponent("turn.log").path
    let process = try Running(
      command: [
        turnserver, "-n", "-v", "--log-binding", "--listening-ip", "127.0.0.1", "--listening-port",
        "\(port)",
        "--relay-ip", "127.0.0.1", "--min-port", "\(relays.lowerBound)", "--max-port",
        "\(relays.upperBound)", "--lt-cred-mech", "--user", "kit:kit-secret", "--realm",
        "kit.example", "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
        "--log-file", log, "--simple-log", "--pidfile",
        folder.appendingPathComponent("pid").path,
        "--db", folder.appendingPathComponent("turndb").path,
      ], label: "turnserver")
    do {
      try await process.waitUntilOpen(port, within: .seconds(15))
      let result = try await body(Turnserver(port: port, process: process, log: log))
      try await process.stop()
      return result
    } catch {
      _ = try? await process.stop()
      throw error
    }
  }
}
