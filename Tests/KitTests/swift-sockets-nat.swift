// The swift-sockets flavor of the NAT traversal programs, end to end on loopback:
// stun-client against a real coturn and against a fake server's hostile answers; the
// rendezvous server driven by raw TCP clients; two p2p-peers that punch through
// directly, and two that a fake rendezvous server of the test's own makes fail at
// punching, so that they relay their hellos through coturn (TURN).
import Foundation
import KitHarness
import Synchronization
import Testing

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@Suite("swift-sockets NAT programs", .timeLimit(.minutes(2)))
struct SwiftSocketsNATTests {
  static let stunClient = Program(flavor: "swift-sockets", name: "stun-client")
  static let rendezvous = Program(flavor: "swift-sockets", name: "rendezvous-server")
  static let peer = Program(flavor: "swift-sockets", name: "p2p-peer")

  // MARK: stun-client

  @Test("stun-client asks coturn, which saw it at the port it prints")
  func stunAgainstCoturn() async throws {
    try await Coturn.with { coturn in
      let output = try await Running(Self.stunClient, arguments: ["127.0.0.1", "\(coturn.port)"])
        .finish(within: .seconds(15))
      #expect(output.stderrText == "")
      #expect(output.termination == .exit(0))
      let match = try #require(
        output.stdoutText.wholeMatch(of: /XOR-MAPPED-ADDRESS 127\.0\.0\.1:([0-9]+)\n/),
        "\(output.stdoutText)")
      // Not just any port: the one coturn logged for this client's datagrams.
      try await coturn.waitForLog("remote addr 127.0.0.1:\(match.1)\n")
    }
  }

  /// A fake server's answers to the client's request (given its transaction id), and
  /// what the client must print on stdout or (the start of) stderr, and its status.
  static let hostileAnswers: [(String, @Sendable ([UInt8]) -> [[UInt8]], String, String, Int32)] = [
    (
      "another transaction's answer is ignored, ours is taken",
      { id in
        [
          message(0x0101, id: id.map { ~$0 }, [xorAddress([10, 1, 1, 1], 1111)]),
          message(0x0101, id: id, [xorAddress([198, 51, 100, 7], 50002)]),
        ]
      }, "XOR-MAPPED-ADDRESS 198.51.100.7:50002\n", "", 0
    ),
    (
      "a truncated header", { id in [Array(message(0x0101, id: id, []).prefix(12))] }, "",
      "stun-client: malformed answer: 12 bytes, shorter than the 20-byte header\n", 1
    ),
    (
      "an attribute past the end",
      { id in
        var bytes = message(0x0101, id: id, [(0x0020, [0, 1, 0, 1])])
        bytes[23] = 40  // XOR-MAPPED-ADDRESS says 40 bytes; 4 follow
        return [bytes]
      }, "",
      "stun-client: malformed answer: XOR-MAPPED-ADDRESS of length 40 runs past the end (4 bytes left)\n",
      1
    ),
    (
      "an unknown address family",
      { id in [message(0x0101, id: id, [(0x0020, [0, 9, 0, 1, 1, 2, 3, 4])])] },
      "", "stun-client: malformed answer: XOR-MAPPED-ADDRESS: family 0x09 is not IPv4 or IPv6\n", 1
    ),
    (
      "a request sent back", { id in [message(0x0001, id: id, [])] }, "",
      "stun-client: malformed answer: message type 0x0001 is a Binding request, not a Binding response\n",
      1
    ),
    (
      "an error response",
      { id in [message(0x0111, id: id, [(0x0009, [0, 0, 4, 20] + Array("Stale\nNonce".utf8))])] },
      "", "stun-client: server answered error 420 Stale\u{FFFD}Nonce\n", 1
    ),
  ]

  @Test("stun-client against hostile answers: one clear line and status 1, never a crash")
  func stunHostile() async throws {
    for (name, answers, stdout, stderr, status) in Self.hostileAnswers {
      let fake = try DatagramPeer()
      let client = try Running(Self.stunClient, arguments: ["127.0.0.1", "\(fake.port)"])
      do {
        try await onThread {
          let (request, from) = try fake.receiveWithSender(within: .seconds(10))
          for answer in answers(Array(request[8..<20])) { fake.send(answer, to: from) }
        }
        let output = try await client.finish(within: .seconds(15))
        #expect(output.stdoutText == stdout, "\(name)")
        #expect(output.stderrText == stderr, "\(name)")
        #expect(output.termination == .exit(status), "\(name)")
      } catch {
        _ = try? await client.stop()
        throw HarnessError(description: "\(name): \(error)")
      }
    }
  }

  // MARK: rendezvous-server

  /// Runs `body` with the server on a port of its own, once it has said so.
  static func withRendezvous(_ body: (Running, UInt16) async throws -> Void) async throws {
    let port = Ports.reserve()
    try await Running.withServer(Self.rendezvous, port: port) { server in
      try await server.waitForStdout("listening on port \(port)\n")
      try await body(server, port)
    }
  }

  @Test("rendezvous-server pairs two clients and passes a RELAY line on")
  func rendezvousPairs() async throws {
    try await Self.withRendezvous { server, port in
      let alice = try await Lines.connect(port)
      try await alice.send("REGISTER alice bob 203.0.113.1:50001")
      try await server.waitForStdout(
        "listening on port \(port)\nalice registered (waiting for bob)\n")
      let bob = try await Lines.connect(port)
      try await bob.send("REGISTER bob alice 198.51.100.1:50002")
      #expect(try await bob.readLine() == "PEER alice 203.0.113.1:50001")
      #expect(try await alice.readLine() == "PEER bob 198.51.100.1:50002")
      try await bob.send("RELAY 192.0.2.9:49152")
      #expect(try await alice.readLine() == "RELAY bob 192.0.2.9:49152")
      bob.close()
      try await server.waitForStdout(
        """
        listening on port \(port)
        alice registered (waiting for bob)
        bob registered (waiting for alice)
        paired alice and bob
        relay from bob
        bob left

        """)
    }
  }

  static let badLines: [(String, String)] = [
    ("HELLO", "ERROR unknown command"),
    ("REGISTER alice bob", "ERROR usage: REGISTER <name> <peer> <ip>:<port>"),
    ("REGISTER al.ce bob 1.2.3.4:5", "ERROR bad name"),
    ("REGISTER \(String(repeating: "a", count: 33)) bob 1.2.3.4:5", "ERROR bad name"),
    ("REGISTER alice bob 1.2.3.4:0", "ERROR bad address"),
    ("REGISTER alice bob 01.2.3.4:5", "ERROR bad address"),
    ("REGISTER alice bob localhost:5", "ERROR bad address"),
    ("REGISTER carol dave 1.2.3.4:5", "ERROR name already registered"),
    ("RELAY 1.2.3.4:5", "ERROR RELAY before PEER"),
    ("REGISTER alice bob \(String(repeating: "1", count: 250))", "ERROR line too long"),
    (String(repeating: "x", count: 400), "ERROR line too long"),
  ]

  @Test("rendezvous-server: each bad line gets ERROR and a close; the others are still served")
  func rendezvousErrors() async throws {
    try await Self.withRendezvous { server, port in
      let carol = try await Lines.connect(port)
      try await carol.send("REGISTER carol dave 10.0.0.3:3000")
      for (line, error) in Self.badLines {
        let client = try await Lines.connect(port)
        try await client.send(line)
        #expect(try await client.readLine() == error, "\(line.prefix(40))")
        #expect(try await client.readLine() == nil, "\(line.prefix(40)): then closed")
        try await server.wait(for: "the error line for \(line.prefix(40))") {
          $0.stdoutText.contains("error from 127.0.0.1:\(client.port): \(error.dropFirst(6))\n")
        }
      }
      let dave = try await Lines.connect(port)
      try await dave.send("REGISTER dave carol 10.0.0.4:4000")
      #expect(try await dave.readLine() == "PEER carol 10.0.0.3:3000")
      #expect(try await carol.readLine() == "PEER dave 10.0.0.4:4000")
    }
  }

  // MARK: p2p-peer

  /// Starts the two peers, alice and bob, with these arguments after their names.
  static func startPeers(_ arguments: [String]) throws -> [Running] {
    try [("alice", "bob"), ("bob", "alice")].map { name, other in
      try Running(Self.peer, arguments: [name, other] + arguments)
    }
  }

  /// Waits for the peers to end, stopping them all if one does not within `limit`.
  static func finish(_ peers: [Running], within limit: Duration = .seconds(30)) async throws
    -> [Output]
  {
    do {
      var outputs: [Output] = []
      for peer in peers { outputs.append(try await peer.finish(within: limit)) }
      return outputs
    } catch {
      for peer in peers { _ = try? await peer.stop() }
      throw error
    }
  }

  @Test("two p2p-peers on loopback punch through: direct hellos both ways")
  func direct() async throws {
    try await Coturn.with { coturn in
      try await Self.withRendezvous { _, port in
        let peers = try Self.startPeers(["127.0.0.1:\(port)", "127.0.0.1:\(coturn.port)"])
        let outputs = try await Self.finish(peers)
        for (output, (me, other)) in zip(outputs, [("alice", "bob"), ("bob", "alice")]) {
          let expected =
            /mapped 127\.0\.0\.1:[0-9]+\npeer [a-z]+ 127\.0\.0\.1:[0-9]+\ndirect: from [a-z]+: hello from [a-z]+\n/
          #expect(output.stdoutText.wholeMatch(of: expected) != nil, "\(me): \(output.stdoutText)")
          #expect(output.stdoutText.hasSuffix("direct: from \(other): hello from \(other)\n"))
          #expect(output.stderrText == "", "\(me)")
          #expect(output.termination == .exit(0), "\(me)")
        }
        // Each was told the address the STUN server saw the other at.
        let mapped = outputs.map { $0.stdoutText.prefix { $0 != "\n" }.dropFirst("mapped ".count) }
        #expect(outputs[0].stdoutText.contains("\npeer bob \(mapped[1])\n"))
        #expect(outputs[1].stdoutText.contains("\npeer alice \(mapped[0])\n"))
      }
    }
  }

  @Test("a partner that never registers: the 20 s deadline, then one clear line")
  func deadline() async throws {
    try await Coturn.with { coturn in
      try await Self.withRendezvous { server, port in
        let started = ContinuousClock.now
        let alone = try Running(
          Self.peer, arguments: ["carol", "dave", "127.0.0.1:\(port)", "127.0.0.1:\(coturn.port)"])
        let output = try await Self.finish([alone])[0]
        let took = ContinuousClock.now - started
        #expect(output.stdoutText.wholeMatch(of: /mapped 127\.0\.0\.1:[0-9]+\n/) != nil)
        #expect(
          output.stderrText
            == "p2p-peer: PEER dave from the rendezvous server did not happen in 20 s\n")
        #expect(output.termination == .exit(1))
        #expect(took >= .seconds(20) && took < .seconds(25), "\(took)")
        try await server.waitForStdout(
          "listening on port \(port)\ncarol registered (waiting for dave)\ncarol left\n")
      }
    }
  }

  @Test("punching made to fail: both peers allocate on coturn and relay their hellos")
  func relayed() async throws {
    try await Coturn.with { coturn in
      let port = Ports.reserve()
      let dead = Ports.reserve()  // nothing listens there: every probe is lost
      let rendezvous = try Listener(port: port)
      let turn = "127.0.0.1:\(coturn.port)"
      let peers = try Self.startPeers(["127.0.0.1:\(port)", turn, turn, "kit", "kit-secret"])
      do {
        // A rendezvous server that hands each peer a dead candidate, then passes RELAY on.
        let clients = try await [Lines.accept(rendezvous), Lines.accept(rendezvous)]
        var names: [String] = []
        for client in clients {
          let words = try #require(try await client.readLine()).split(separator: " ")
          try #require(words.count == 4 && words[0] == "REGISTER", "\(words)")
          names.append(String(words[1]))
        }
        for (client, other) in zip(clients, names.reversed()) {
          try await client.send("PEER \(other) 127.0.0.1:\(dead)")
        }
        var relays: [String] = []
        for (index, client) in clients.enumerated() {
          let line = try #require(try await client.readLine())
          try #require(line.hasPrefix("RELAY 127.0.0.1:"), "\(line)")
          relays.append(String(line.dropFirst("RELAY ".count)))
          try await clients[1 - index].send("RELAY \(names[index]) \(relays[index])")
        }
        let outputs = try await Self.finish(peers)
        for (index, output) in outputs.enumerated() {
          let (me, other) = index == 0 ? ("alice", "bob") : ("bob", "alice")
          let relay = relays[names.firstIndex(of: me)!]
          let otherRelay = relays[names.firstIndex(of: other)!]
          let lines = output.stdoutText.split(separator: "\n").map(String.init)
          #expect(lines.count == 6, "\(me): \(output.stdoutText) \(output.stderrText)")
          #expect(lines.first?.hasPrefix("mapped 127.0.0.1:") == true)
          #expect(
            Array(lines.dropFirst()) == [
              "peer \(other) 127.0.0.1:\(dead)", "punch: no answer in 3 s", "relay \(relay)",
              "peer relay \(otherRelay)", "relayed: from \(other): hello from \(other)",
            ], "\(me)")
          #expect(output.stderrText == "", "\(me)")
          #expect(output.termination == .exit(0), "\(me)")
        }
        #expect(relays[0] != relays[1])
      } catch {
        for peer in peers { _ = try? await peer.stop() }
        throw error
      }
    }
  }

  // MARK: - Test peers

  /// A TCP connection of the test's own that speaks in lines; every wait bounded.
  final class Lines: Sendable {
    let connection: RawConnection
    let port: UInt16  // its local port, as the server names it
    private let pending = Mutex<[UInt8]>([])

    init(_ connection: RawConnection) {
      self.connection = connection
      var address = sockaddr_in()
      var length = socklen_t(MemoryLayout<sockaddr_in>.size)
      _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          getsockname(connection.fd, $0, &length)
        }
      }
      port = UInt16(bigEndian: address.sin_port)
    }

    static func connect(_ port: UInt16) async throws -> Lines {
      try await onThread { Lines(try RawConnection(port: port)) }
    }

    static func accept(_ listener: Listener) async throws -> Lines {
      try await onThread { Lines(try listener.accept(within: .seconds(15))) }
    }

    func send(_ line: String) async throws {
      let bytes = Array("\(line)\n".utf8)
      guard try await onThread({ [connection] in try connection.send(bytes) }) else {
        throw HarnessError(
          description: "closed before \(line.prefix(40).debugDescription) was sent")
      }
    }

    /// The next line without its "\n"; nil when the other side closes first.
    func readLine() async throws -> String? {
      try await onThread { [self] in
        while true {
          let line: String? = pending.withLock { bytes in
            guard let end = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            defer { bytes.removeFirst(end + 1) }
            return String(decoding: bytes[..<end], as: UTF8.self)
          }
          if let line { return line }
          let chunk = try connection.receiveOnce(upTo: 4096)
          if chunk.isEmpty { return nil }
          pending.withLock { $0 += chunk }
        }
      }
    }

    func close() { connection.close() }
  }

  /// coturn on 127.0.0.1, started with flags of the test's own: long-term credentials
  /// (user kit, password kit-secret, realm kit.example), no TLS, no CLI, relays on
  /// 127.0.0.1 that may send to loopback peers, its database and verbose log (which
  /// names each client's address) in a folder of its own.
  struct Coturn {
    let port: UInt16
    let log: String

    static func with(_ body: (Coturn) async throws -> Void) async throws {
      let turnserver = try Tools.require("turnserver", package: "coturn")
      let port = Ports.reserve()
      let relays = Ports.reserve(consecutive: 4)  // not coturn's default 49152-65535
      let folder = try Scratch.folder("kit-coturn")
      defer { try? FileManager.default.removeItem(at: folder) }
      let log = folder.appendingPathComponent("log").path
      let process = try Running(
        command: [
          turnserver, "-n", "--listening-ip", "127.0.0.1", "--listening-port", "\(port)",
          "--relay-ip", "127.0.0.1", "--min-port", "\(relays.lowerBound)", "--max-port",
          "\(relays.upperBound)", "--allow-loopback-peers", "--lt-cred-mech",
          "--user", "kit:kit-secret", "--realm", "kit.example", "--no-tls", "--no-dtls",
          "--no-cli", "--verbose", "--log-binding", "--log-file", log, "--simple-log",
          "--pidfile", "\(folder.path)/pid", "--db", "\(folder.path)/db",
        ], label: "turnserver")
      do {
        try await process.waitUntilOpen(port, within: .seconds(15))
        try await body(Coturn(port: port, log: log))
        try await process.stop()
      } catch {
        _ = try? await process.stop()
        throw error
      }
    }

    /// Waits until the log holds `text`; coturn writes it to a file, not to a pipe,
    /// whose blocks could come late.
    func waitForLog(_ text: String, within limit: Duration = .seconds(10)) async throws {
      try await Logs.waitFor("coturn line \(text.debugDescription)", in: log, within: limit) {
        $0.contains(text)
      }
    }
  }

  // MARK: - STUN messages for the fake server

  /// A message of `type` with attributes, each value padded to 4 bytes.
  static func message(_ type: UInt16, id: [UInt8], _ attributes: [(UInt16, [UInt8])]) -> [UInt8] {
    var body: [UInt8] = []
    for (attribute, value) in attributes {
      let padding = [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
      body += bytes16(attribute) + bytes16(UInt16(value.count)) + value + padding
    }
    return bytes16(type) + bytes16(UInt16(body.count)) + [0x21, 0x12, 0xA4, 0x42] + id + body
  }

  /// XOR-MAPPED-ADDRESS for an IPv4 address: port and address XOR-ed with the cookie.
  static func xorAddress(_ ip: [UInt8], _ port: UInt16) -> (UInt16, [UInt8]) {
    (0x0020, [0, 1] + bytes16(port ^ 0x2112) + zip(ip, [0x21, 0x12, 0xA4, 0x42]).map { $0 ^ $1 })
  }

  static func bytes16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
}
