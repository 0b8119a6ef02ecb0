// nat-lab: the kit's NAT-traversal programs behind real Linux NATs, through
// scripts/nat-lab itself (so the script is what is tested, as students run it). Each run
// builds its own namespaces (a per-run prefix: runs in parallel never meet), runs coturn
// and the rendezvous server, and leaves a folder: the peers' lines, events.json made from
// the capture and conntrack's events. stun-client of every flavor learns its NAT's public
// address and the very port conntrack shows; p2p-peer of every pair of flavors punches
// through cone NATs and is relayed through symmetric ones, a message each way; and
// whatever happens, no namespace and no process of the run is left behind. Each run is a
// dozen processes and a capture of every packet: the two matrices take their pairs one
// at a time (beside each other and the rest), so a loaded machine still ends each run
// well inside nat-lab's own 40 s.
import Foundation
import KitHarness
import Testing

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@Suite(
  "nat-lab", .enabled(if: getuid() == 0, "needs root to build NATs in network namespaces"),
  .timeLimit(.minutes(3)))
struct NatLabTests {
  static let stunClients = Kit.flavors(having: "stun-client")
  static let peers = Kit.flavors(having: "p2p-peer")
  /// The rendezvous server of each run: the first flavor that has it (its own tests
  /// cross every flavor; here it is only the meeting point).
  static let server = Kit.flavors(having: "rendezvous-server").first ?? "c"

  @Test(
    "stun-client behind a symmetric NAT: the NAT's public address, the port conntrack shows",
    arguments: stunClients)
  func stun(flavor: String) async throws {
    let run = try await LabRun.start([
      "--stun", "--mode", "symmetric", "--a", flavor, "--b", flavor,
    ])
    #expect(run.termination == .exit(0), "\(run)")
    for (peer, lan, address) in [
      ("A", "10.0.0.5", "203.0.113.1"), ("B", "192.168.1.10", "198.51.100.1"),
    ] {
      let mapping = try #require(
        run.mappings(nat: peer).first { $0.remote == "192.0.2.10:3478" && $0.proto == "udp" },
        "conntrack showed no mapping of NAT-\(peer) for coturn: \(run)")
      #expect(mapping.inside?.hasPrefix("\(lan):") == true, "\(mapping)")
      #expect(mapping.outside?.hasPrefix("\(address):") == true, "\(mapping)")
      // The answer holds what the server saw: the NAT's side of the mapping, not ours.
      #expect(run.lines(peer: peer) == ["XOR-MAPPED-ADDRESS \(mapping.outside ?? "")"], "\(run)")
      #expect(run.stdout.contains("\(peer) | XOR-MAPPED-ADDRESS \(mapping.outside ?? "")\n"))
    }
  }

  @Test(
    "cone NATs: punching works, a message each way, nothing through the relay", .serialized,
    arguments: peers, peers)
  func cone(a: String, b: String) async throws {
    let run = try await LabRun.start(["--mode", "cone", "--a", a, "--b", b])
    try run.expectDelivered(path: "direct")
    #expect(run.document?.relayBytes == 0, "\(run)")
    // Endpoint-independent mapping: A's socket has one public port, for coturn and for B.
    let ports = Set(run.mappings(nat: "A").filter { $0.proto == "udp" }.compactMap(\.outside))
    #expect(ports.count == 1, "NAT-A mapped A's one socket to \(ports): \(run)")
    #expect(
      run.packets.contains {
        $0.label == "hello" && $0.segment == "a-wan" && $0.from?.hasPrefix("198.51.100.1:") == true
      }, "no hello from NAT-B's address reached NAT-A directly: \(run)")
  }

  @Test(
    "symmetric NATs: punching fails, TURN relays a message each way", .serialized,
    arguments: peers, peers)
  func symmetric(a: String, b: String) async throws {
    let run = try await LabRun.start(["--mode", "symmetric", "--a", a, "--b", b])
    try run.expectDelivered(path: "relayed")
    for peer in ["A", "B"] {
      #expect(run.lines(peer: peer).contains("punch: no answer in 3 s"), "\(run)")
    }
    // A new public port per destination: the port STUN reported is not the one B's
    // probes would have to reach.
    let outside = run.mappings(nat: "A").filter { $0.proto == "udp" }
    let toCoturn = outside.first { $0.remote == "192.0.2.10:3478" }?.outside
    let toB = outside.first { $0.remote?.hasPrefix("198.51.100.1:") == true }?.outside
    #expect(toCoturn != nil && toB != nil && toCoturn != toB, "\(run)")
    #expect((run.document?.relayBytes ?? 0) > 0, "\(run)")
    #expect(run.packets.contains { $0.label == "Data indication" && $0.segment == "server" })
  }

  @Test("a peer that fails: status 1, and no namespace or process of the run is left")
  func failedPeerLeavesNothing() async throws {
    let flavor = try #require(Self.peers.first, "no flavor has p2p-peer")
    let run = try await LabRun.start([
      "--mode", "symmetric", "--no-turn", "--a", flavor, "--b", flavor,
    ])
    #expect(run.termination == .exit(1), "\(run)")
    #expect(run.document?.path == "failed", "\(run)")
    for peer in ["A", "B"] {
      #expect(run.lines(peer: peer).contains("punch: no answer in 3 s"), "\(run)")
      #expect(
        run.lines(peer: peer).contains(
          "p2p-peer: hole punching failed and no TURN server was given"),
        "\(run)")
    }
    try run.expectNothingLeft()
  }

  @Test("Ctrl-C in the middle of a run: status 130, and nothing is left")
  func interrupted() async throws {
    // Peers that say they are mapped and then wait for ever: the run is surely in its
    // middle when the Ctrl-C comes (real peers may have finished under load by then).
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("kit-nat-lab-hang-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    // A committed script, linked: one written here could still be open for writing in
    // a child another test spawns meanwhile, and exec would fail with "Text file busy".
    try FileManager.default.createSymbolicLink(
      at: folder.appendingPathComponent("hang-p2p-peer"),
      withDestinationURL: Kit.root.appendingPathComponent("Tests/KitTests/fixtures/hang-p2p-peer"))
    try FileManager.default.createSymbolicLink(
      at: folder.appendingPathComponent("\(Self.server)-rendezvous-server"),
      withDestinationURL: Kit.path(flavor: Self.server, "rendezvous-server"))
    let run = try await LabRun.start([
      "--mode", "symmetric", "--a", "hang", "--b", "hang", "--programs", folder.path,
    ]) { running in
      // Once both peers have their addresses, the NATs, servers and captures all run.
      try await running.wait(for: "both peers' mapped lines", within: .seconds(30)) {
        $0.stdoutText.contains("A | mapped ") && $0.stdoutText.contains("B | mapped ")
      }
      kill(running.pid, SIGINT)
    }
    #expect(run.termination == .exit(130), "\(run)")
    try run.expectNothingLeft()
  }
}

/// One finished run of scripts/nat-lab: what it printed, how it ended, and the folder it
/// wrote (read, then removed).
struct LabRun: CustomStringConvertible {
  let stdout: String
  let stderr: String
  let termination: Termination?
  let document: EventsDocument?
  let namespaces: [String]
  let folder: String

  /// Runs nat-lab with `arguments` (and the test's programs, an output folder of its
  /// own); `during` may act on it while it runs. Bounded: nat-lab ends itself by 40 s.
  static func start(
    _ arguments: [String], during: ((Running) async throws -> Void)? = nil
  ) async throws -> LabRun {
    for (tool, package) in [
      ("ip", "iproute2"), ("nft", "nftables"), ("conntrack", "conntrack"), ("tcpdump", "tcpdump"),
      ("turnserver", "coturn"), ("python3", "python3"),
    ] {
      _ = try Tools.require(tool, package: package)
    }
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("kit-nat-lab-\(UUID().uuidString.prefix(8))").path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let running = try Running(
      command: [
        Kit.root.path + "/scripts/nat-lab", "--out", folder, "--programs", Kit.buildFolder.path,
        "--server", NatLabTests.server,
      ] + arguments, label: "nat-lab " + arguments.joined(separator: " "))
    do {
      try await during?(running)
    } catch {
      _ = try? await running.stop()
      throw error
    }
    let output = try await running.finish(within: .seconds(50))
    let json = FileManager.default.contents(atPath: folder + "/events.json")
    let listed = (try? String(contentsOfFile: folder + "/namespaces", encoding: .utf8)) ?? ""
    return LabRun(
      stdout: output.stdoutText, stderr: output.stderrText, termination: output.termination,
      document: json.flatMap { try? JSONDecoder().decode(EventsDocument.self, from: $0) },
      namespaces: listed.split(separator: "\n").map(String.init), folder: folder)
  }

  var events: [Event] { document?.events ?? [] }
  var packets: [Event] { events.filter { $0.type == "packet" } }
  func mappings(nat: String) -> [Event] { events.filter { $0.type == "mapping" && $0.nat == nat } }
  func lines(peer: String) -> [String] {
    events.filter { $0.type == "output" && $0.peer == peer }.compactMap(\.line)
  }

  /// Both peers exited 0, each printed the other's hello on `path`, and events.json says so.
  func expectDelivered(path: String) throws {
    #expect(termination == .exit(0), "\(self)")
    #expect(document?.path == path, "\(self)")
    for (peer, other) in [("A", "bob"), ("B", "alice")] {
      #expect(
        lines(peer: peer).contains("\(path): from \(other): hello from \(other)"), "\(self)")
      #expect(stdout.contains("\(peer) | \(path): from \(other): hello from \(other)\n"))
    }
    #expect(stdout.contains("path: \(path)\n"), "\(self)")
  }

  /// Every namespace the run made is gone, and no process still names its folder.
  func expectNothingLeft() throws {
    #expect(namespaces.count == 7, "the run listed its namespaces as \(namespaces)")
    for name in namespaces {
      #expect(
        !FileManager.default.fileExists(atPath: "/run/netns/\(name)"), "\(name) was left behind")
    }
    let processes = try FileManager.default.contentsOfDirectory(atPath: "/proc")
      .filter { Int($0) != nil }
    for pid in processes {
      guard let bytes = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
        continue  // gone meanwhile
      }
      let command = String(decoding: bytes.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
      #expect(!command.contains(folder), "process \(pid) was left running: \(command)")
    }
  }

  var description: String {
    "\(termination.map(\.description) ?? "still running")\nstdout:\n\(stdout)stderr:\n\(stderr)"
  }
}

/// events.json, as scripts/nat-lab.d/events.py writes it for the diagram.
struct EventsDocument: Decodable {
  let version: Int
  let mode: String
  let path: String
  let relayBytes: Int
  let events: [Event]
}

struct Event: Decodable {
  let t: Double
  let type: String
  // packet
  let from: String?
  let to: String?
  let proto: String?
  let length: Int?
  let label: String?
  let segment: String?
  // mapping
  let nat: String?
  let inside: String?
  let outside: String?
  let remote: String?
  // output
  let peer: String?
  let line: String?
  // path: `path`
  let path: String?
}
