// rendezvous: every flavor of the server, driven by raw TCP clients of the test's own
// speaking the line protocol (lectures/rendezvous.md): two peers pair, RELAY lines are
// passed on, each bad line gets ERROR and a closed connection while the server keeps
// serving the rest, pairs are served at the same time, and a peer leaving frees its name.
import KitHarness
import Synchronization
import Testing

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@Suite("rendezvous", .timeLimit(.minutes(2)))
struct RendezvousTests {
  static let servers = Kit.flavors(having: "rendezvous-server")

  /// Runs `body` with a server of `flavor` on a port of its own.
  static func withServer(
    _ flavor: String, _ body: @escaping (Running, UInt16) async throws -> Void
  ) async throws {
    let port = Ports.reserve()
    try await Running.withServer(Program(flavor: flavor, name: "rendezvous-server"), port: port) {
      server in
      try await server.waitForStdout("listening on port \(port)\n")
      try await body(server, port)
    }
  }

  /// Waits until the server's stdout has a line that is exactly `line`.
  static func expectLine(_ server: Running, _ line: String) async throws {
    try await server.wait(for: "the line \(line.debugDescription)") {
      $0.stdoutText.split(separator: "\n").contains { $0 == line }
    }
  }

  @Test(
    "two peers pair; each hears the other's address; RELAY lines are passed on",
    arguments: servers)
  func pair(server flavor: String) async throws {
    try await Self.withServer(flavor) { server, port in
      let alice = try await LineClient.connect(port)
      try await alice.send("REGISTER alice bob 203.0.113.1:5000")
      try await Self.expectLine(server, "alice registered (waiting for bob)")
      #expect(try await alice.isSilent(), "no answer until bob registers")
      let bob = try await LineClient.connect(port)
      try await bob.send("REGISTER bob alice 198.51.100.2:4000")
      #expect(try await alice.readLine() == "PEER bob 198.51.100.2:4000")
      #expect(try await bob.readLine() == "PEER alice 203.0.113.1:5000")
      try await Self.expectLine(server, "paired alice and bob")

      try await alice.send("RELAY 127.0.0.1:40001")
      #expect(try await bob.readLine() == "RELAY alice 127.0.0.1:40001")
      try await Self.expectLine(server, "relay from alice")
      try await bob.send("RELAY 127.0.0.1:40002")
      #expect(try await alice.readLine() == "RELAY bob 127.0.0.1:40002")
      try await Self.expectLine(server, "relay from bob")
      #expect(try await alice.isSilent(), "one line each, no more")
      #expect(try await bob.isSilent(), "one line each, no more")
    }
  }

  /// Lines the server must refuse, each on a connection of its own, and the reason
  /// every flavor gives: one protocol, one set of words (lectures/rendezvous.md).
  static let badLines: [(String, String, reason: String)] = [
    ("an unknown word", "HELLO alice bob 1.2.3.4:5", "unknown command"),
    ("an empty line", "", "unknown command"),
    ("too few words", "REGISTER alice bob", "usage: REGISTER <name> <peer> <ip>:<port>"),
    ("a bad name", "REGISTER al!ce bob 1.2.3.4:5", "bad name"),
    ("a name too long", "REGISTER \(String(repeating: "a", count: 33)) bob 1.2.3.4:5", "bad name"),
    ("a bad peer name", "REGISTER alice b.b 1.2.3.4:5", "bad name"),
    ("an address without a port", "REGISTER alice bob 1.2.3.4", "bad address"),
    ("a short address", "REGISTER alice bob 1.2.3:5", "bad address"),
    ("port 0", "REGISTER alice bob 1.2.3.4:0", "bad address"),
    ("port 70000", "REGISTER alice bob 1.2.3.4:70000", "bad address"),
    ("a host name", "REGISTER alice bob localhost:5", "bad address"),
    (
      "a line too long", "REGISTER alice bob \(String(repeating: "1", count: 300))", "line too long"
    ),
    ("RELAY before PEER, unregistered", "RELAY 1.2.3.4:5", "RELAY before PEER"),
    ("RELAY with no address", "RELAY", "usage: RELAY <ip>:<port>"),
    ("a NUL in a line", "REGISTER al\u{0}ce bob 1.2.3.4:5", "NUL in a line"),
  ]

  @Test(
    "each bad line: ERROR, the connection closed, everyone else still served",
    arguments: servers)
  func errors(server flavor: String) async throws {
    try await Self.withServer(flavor) { server, port in
      // A peer registered before the errors, paired after them.
      let carol = try await LineClient.connect(port)
      try await carol.send("REGISTER carol dave 10.0.0.3:3000")
      try await Self.expectLine(server, "carol registered (waiting for dave)")
      var cases = Self.badLines
      cases.append(
        ("a name already registered", "REGISTER carol erin 1.2.3.4:5", "name already registered"))
      for (what, line, reason) in cases {
        let client = try await LineClient.connect(port)
        try await client.send(line)
        let answer = try await client.readLine()
        #expect(answer == "ERROR \(reason)", "\(what): \(answer ?? "closed")")
        #expect(try await client.readLine() == nil, "\(what): then closed")
        let from = "error from 127.0.0.1:\(client.localPort): "
        try await server.wait(for: "the error line for \(what)") {
          $0.stdoutText.contains(from)
        }
      }
      // Registered but not paired: RELAY is refused too.
      let erin = try await LineClient.connect(port)
      try await erin.send("REGISTER erin frank 10.0.0.5:5000")
      try await erin.send("RELAY 1.2.3.4:5")
      #expect(try await erin.readLine() == "ERROR RELAY before PEER")
      #expect(try await erin.readLine() == nil)

      let dave = try await LineClient.connect(port)
      try await dave.send("REGISTER dave carol 10.0.0.4:4000")
      #expect(try await dave.readLine() == "PEER carol 10.0.0.3:3000")
      #expect(try await carol.readLine() == "PEER dave 10.0.0.4:4000")
      #expect(server.output.termination == nil)
    }
  }

  @Test(
    "a NUL, or a line's 255th byte, is refused as it arrives: no newline needed",
    arguments: servers)
  func refusedAsItArrives(server flavor: String) async throws {
    try await Self.withServer(flavor) { _, port in
      let cases = [
        ("a NUL", "REGISTER al\u{0}", "NUL in a line"),
        ("255 bytes", "REGISTER " + String(repeating: "a", count: 246), "line too long"),
      ]
      for (what, text, reason) in cases {
        let client = try await LineClient.connect(port)
        try await client.send(text, newline: false)
        #expect(try await client.readLine() == "ERROR \(reason)", "\(what), with no newline yet")
        #expect(try await client.readLine() == nil, "\(what): then closed")
      }
    }
  }

  @Test(
    "three pairs at once, registered interleaved, each told only its own peer",
    arguments: servers)
  func pairsAtOnce(server flavor: String) async throws {
    try await Self.withServer(flavor) { server, port in
      let names = ["a", "b", "c"]
      var first: [LineClient] = []
      for (index, name) in names.enumerated() {
        let client = try await LineClient.connect(port)
        try await client.send("REGISTER \(name)1 \(name)2 10.1.\(index).1:1001")
        first.append(client)
      }
      for name in names {
        try await Self.expectLine(server, "\(name)1 registered (waiting for \(name)2)")
      }
      var second: [LineClient] = []
      for (index, name) in names.enumerated().reversed() {
        let client = try await LineClient.connect(port)
        try await client.send("REGISTER \(name)2 \(name)1 10.2.\(index).2:2002")
        second.insert(client, at: 0)
      }
      for (index, name) in names.enumerated() {
        #expect(try await first[index].readLine() == "PEER \(name)2 10.2.\(index).2:2002")
        #expect(try await second[index].readLine() == "PEER \(name)1 10.1.\(index).1:1001")
        try await Self.expectLine(server, "paired \(name)1 and \(name)2")
      }
    }
  }

  @Test("a peer that leaves is forgotten: its name is free again", arguments: servers)
  func leaving(server flavor: String) async throws {
    try await Self.withServer(flavor) { server, port in
      let alice = try await LineClient.connect(port)
      try await alice.send("REGISTER alice bob 10.0.0.1:1000")
      try await Self.expectLine(server, "alice registered (waiting for bob)")
      alice.close()
      try await Self.expectLine(server, "alice left")
      let again = try await LineClient.connect(port)
      try await again.send("REGISTER alice bob 10.0.0.9:9000")
      try await server.wait(for: "alice registering a second time") {
        $0.stdoutText.components(separatedBy: "alice registered (waiting for bob)\n").count == 3
      }
      let bob = try await LineClient.connect(port)
      try await bob.send("REGISTER bob alice 10.0.0.2:2000")
      #expect(try await bob.readLine() == "PEER alice 10.0.0.9:9000", "the new alice, not the old")
      #expect(try await again.readLine() == "PEER bob 10.0.0.2:2000")
    }
  }
}

/// A TCP client of the test's own that speaks in lines, every wait bounded.
final class LineClient: Sendable {
  let connection: RawConnection
  let localPort: UInt16
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
    localPort = UInt16(bigEndian: address.sin_port)
  }

  static func connect(_ port: UInt16) async throws -> LineClient {
    try await onThread { LineClient(try RawConnection(port: port)) }
  }

  /// Sends `line` and its "\n" (or, with `newline: false`, the text alone).
  func send(_ line: String, newline: Bool = true) async throws {
    let bytes = Array((newline ? line + "\n" : line).utf8)
    let sent = try await onThread { [connection] in try connection.send(bytes) }
    if !sent {
      throw HarnessError(description: "the server closed before \(line.debugDescription)")
    }
  }

  /// The next line without its "\n", or nil when the server closes first.
  func readLine() async throws -> String? {
    try await onThread { [self] in
      while true {
        let line: String? = pending.withLock { bytes in
          guard let end = bytes.firstIndex(of: 10) else { return nil }
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

  /// True if nothing arrives within `milliseconds` (the server says nothing).
  func isSilent(within milliseconds: Int32 = 300) async throws -> Bool {
    let empty = pending.withLock { $0.isEmpty }
    let readable = try await onThread { [connection] in connection.readable(within: milliseconds) }
    return empty && !readable
  }

  func close() { connection.close() }
}
