// p2p: two peers on loopback (no NAT in between, so punching works) meet through a
// rendezvous server, with coturn as their STUN server: every pair of peer flavors once,
// the server's flavor rotating. A peer whose partner never comes gives up at its 20 s
// deadline; one whose partner cannot be reached, and no TURN server given, says hole
// punching failed. And the relayed path, forced on loopback: a rendezvous server of
// the test's own hands each peer a dead address for the other, so punching fails and
// both allocate relays on coturn, swap them through it, and their hellos cross there.
import Foundation
import KitHarness
import Testing

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@Suite("p2p", .timeLimit(.minutes(2)))
struct P2PTests {
  static let peers = Kit.flavors(having: "p2p-peer")
  static let servers = Kit.flavors(having: "rendezvous-server")

  /// Two peer flavors (each pair once) and the rendezvous server's flavor.
  struct Match: Sendable, CustomStringConvertible {
    let alice: String
    let bob: String
    let server: String
    var description: String { "\(alice) and \(bob) via \(server)" }
  }

  static let matches: [Match] = {
    var matches: [Match] = []
    for (index, alice) in peers.enumerated() {
      for bob in peers[index...] {
        matches.append(
          Match(alice: alice, bob: bob, server: servers[matches.count % max(servers.count, 1)]))
      }
    }
    return matches
  }()

  static func peer(_ flavor: String, _ arguments: [String]) throws -> Running {
    try Running(Program(flavor: flavor, name: "p2p-peer"), arguments: arguments)
  }

  static func finish(_ peers: [Running], within limit: Duration) async throws -> [Output] {
    do {
      var outputs: [Output] = []
      for peer in peers { outputs.append(try await peer.finish(within: limit)) }
      return outputs
    } catch {
      for peer in peers { _ = try? await peer.stop() }
      throw error
    }
  }

  /// The port in a line "<prefix> 127.0.0.1:<port>", from a peer's stdout.
  static func port(after prefix: String, in output: Output) throws -> UInt16 {
    let lines = output.stdoutText.split(separator: "\n")
    let line = try #require(lines.first { $0.hasPrefix(prefix + " 127.0.0.1:") }, "\(lines)")
    return try #require(UInt16(line.dropFirst(prefix.count + 11)), "\(line)")
  }

  @Test("direct: the two peers punch through and exchange hellos", arguments: matches)
  func direct(match: Match) async throws {
    try await Turnserver.with { turn in
      let port = Ports.reserve()
      try await Running.withServer(
        Program(flavor: match.server, name: "rendezvous-server"), port: port
      ) { _ in
        let stun = "127.0.0.1:\(turn.port)"
        let alice = try Self.peer(match.alice, ["alice", "bob", "127.0.0.1:\(port)", stun])
        let bob = try Self.peer(match.bob, ["bob", "alice", "127.0.0.1:\(port)", stun])
        let outputs = try await Self.finish([alice, bob], within: .seconds(25))
        let mapped = try outputs.map { try Self.port(after: "mapped", in: $0) }
        for (index, (me, other)) in [("alice", "bob"), ("bob", "alice")].enumerated() {
          let output = outputs[index]
          #expect(
            output.stdoutText == """
              mapped 127.0.0.1:\(mapped[index])
              peer \(other) 127.0.0.1:\(mapped[1 - index])
              direct: from \(other): hello from \(other)

              """, "\(me)")
          #expect(output.stderrText == "", "\(me)")
          #expect(output.termination == .exit(0), "\(me)")
        }
      }
    }
  }

  @Test("a partner that never comes: the 20 s deadline, then a clear error", arguments: peers)
  func partnerNeverComes(flavor: String) async throws {
    try await Turnserver.with { turn in
      let port = Ports.reserve()
      try await Running.withServer(Program(flavor: "c", name: "rendezvous-server"), port: port) {
        server in
        let started = ContinuousClock.now
        let alone = try Self.peer(
          flavor, ["carol", "dave", "127.0.0.1:\(port)", "127.0.0.1:\(turn.port)"])
        let output = try await Self.finish([alone], within: .seconds(30))[0]
        let took = ContinuousClock.now - started
        #expect(output.stdoutText.hasPrefix("mapped 127.0.0.1:"))
        #expect(output.stderrText.hasPrefix("p2p-peer: "), "\(output.stderrText)")
        #expect(output.stderrText.hasSuffix(" did not happen in 20 s\n"), "\(output.stderrText)")
        #expect(output.termination == .exit(1))
        #expect(took >= .seconds(19) && took < .seconds(26), "\(took)")
        try await server.waitForStdout(
          "listening on port \(port)\ncarol registered (waiting for dave)\ncarol left\n")
      }
    }
  }

  @Test("no reachable peer and no TURN server: hole punching failed", arguments: peers)
  func punchingFails(flavor: String) async throws {
    try await Turnserver.with { turn in
      let rendezvous = try FakeRendezvous()
      let dead = Ports.reserve()  // nothing listens there: every probe is lost
      let alone = try Self.peer(
        flavor, ["erin", "frank", "127.0.0.1:\(rendezvous.port)", "127.0.0.1:\(turn.port)"])
      let register = try await rendezvous.accept()
      #expect(register.1.hasPrefix("REGISTER erin frank 127.0.0.1:"), "\(register.1)")
      try await register.0.send("PEER frank 127.0.0.1:\(dead)")
      let output = try await Self.finish([alone], within: .seconds(15))[0]
      let mapped = try Self.port(after: "mapped", in: output)
      #expect(
        output.stdoutText
          == "mapped 127.0.0.1:\(mapped)\npeer frank 127.0.0.1:\(dead)\npunch: no answer in 3 s\n")
      #expect(
        output.stderrText == "p2p-peer: hole punching failed and no TURN server was given\n")
      #expect(output.termination == .exit(1))
    }
  }

  @Test("relayed: punching made to fail, the hellos cross through coturn", arguments: matches)
  func relayed(match: Match) async throws {
    try await Turnserver.with { turn in
      let rendezvous = try FakeRendezvous()
      let dead = Ports.reserve()
      let stunAndTurn = ["127.0.0.1:\(turn.port)", "127.0.0.1:\(turn.port)", "kit", "kit-secret"]
      let here = "127.0.0.1:\(rendezvous.port)"
      let alice = try Self.peer(match.alice, ["alice", "bob", here] + stunAndTurn)
      let bob = try Self.peer(match.bob, ["bob", "alice", here] + stunAndTurn)
      do {
        // Whichever connects first: each is known by the name it registers.
        var clients: [String: LineClient] = [:]
        for _ in 0..<2 {
          let (client, line) = try await rendezvous.accept()
          let words = line.split(separator: " ")
          try #require(words.count == 4 && words[0] == "REGISTER", "\(line)")
          clients[String(words[1])] = client
        }
        let (a, b) = try (#require(clients["alice"]), #require(clients["bob"]))
        try await a.send("PEER bob 127.0.0.1:\(dead)")
        try await b.send("PEER alice 127.0.0.1:\(dead)")
        // Each RELAY line goes on to the other, as the real server passes it.
        async let fromAlice = a.readLine()
        async let fromBob = b.readLine()
        let (relayA, relayB) = try await (fromAlice, fromBob)
        #expect(relayA?.hasPrefix("RELAY 127.0.0.1:") == true, "\(relayA ?? "closed")")
        #expect(relayB?.hasPrefix("RELAY 127.0.0.1:") == true, "\(relayB ?? "closed")")
        try await b.send("RELAY alice \(relayA?.dropFirst(6) ?? "")")
        try await a.send("RELAY bob \(relayB?.dropFirst(6) ?? "")")
      } catch {
        let seen = [try? await alice.stop(), try? await bob.stop()]
        throw HarnessError(
          description:
            "\(error); the peers wrote: \(seen.map { ($0?.stdoutText ?? "") + ($0?.stderrText ?? "") })"
        )
      }
      let outputs = try await Self.finish([alice, bob], within: .seconds(25))
      let mapped = try outputs.map { try Self.port(after: "mapped", in: $0) }
      let relays = try outputs.map { try Self.port(after: "relay", in: $0) }
      for (index, (me, other)) in [("alice", "bob"), ("bob", "alice")].enumerated() {
        let output = outputs[index]
        #expect(
          output.stdoutText == """
            mapped 127.0.0.1:\(mapped[index])
            peer \(other) 127.0.0.1:\(dead)
            punch: no answer in 3 s
            relay 127.0.0.1:\(relays[index])
            peer relay 127.0.0.1:\(relays[1 - index])
            relayed: from \(other): hello from \(other)

            """, "\(me)")
        #expect(output.stderrText == "", "\(me)")
        #expect(output.termination == .exit(0), "\(me)")
      }
      // Two allocations, one per peer: each received through its own.
      #expect(relays[0] != relays[1])
    }
  }
}

/// A rendezvous server of the test's own, to hand the peers what the test chooses.
final class FakeRendezvous: Sendable {
  let port = Ports.reserve()
  let listener: Listener

  init() throws { listener = try Listener(port: port) }

  /// The next peer to connect, and the first line it sends.
  func accept() async throws -> (LineClient, String) {
    let client = LineClient(
      try await onThread { [listener] in try listener.accept(within: .seconds(15)) })
    let line = try await client.readLine()
    return (client, try #require(line, "the peer closed without registering"))
  }
}
