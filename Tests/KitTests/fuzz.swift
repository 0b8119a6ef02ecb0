// The libFuzzer targets in fuzz/ (scripts/fuzz, make fuzz): each builds, replays its
// seed corpus and every input that once crashed it (libFuzzer given files runs each
// once), then fuzzes for 3 s without a crash. make fuzz is the long run.
import Foundation
import KitHarness
import Testing

@Suite("fuzz", .timeLimit(.minutes(4)))
struct FuzzTests {
  static let targets: [String] = {
    let folder = Kit.root.appendingPathComponent("fuzz").path
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    return names.filter { !$0.hasPrefix(".") && !$0.contains(".") }.sorted()
  }()

  static func files(_ target: String, _ folder: String) -> [String] {
    let path = Kit.root.appendingPathComponent("fuzz/\(target)/\(folder)").path
    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(path)/\($0)" }
  }

  @Test("every parser of untrusted bytes has a target")
  func everyParser() {
    let expected = ["http-server", "chat-server", "stun-client", "rendezvous-server"].flatMap {
      program in
      // The kit's own C and Swift (the lectures' Python and Java are not fuzzed here);
      // stun-swift-sockets is the Stun library, which that flavor's STUN code shares
      Kit.flavors(having: program).filter { ["c", "swift", "swift-sockets"].contains($0) }
        .map { "\(program.split(separator: "-")[0])-\($0)" }
    }
    // p2p's own codec is C and the twin's (swift-sockets' is the Stun library); and the
    // labs' references that parse what a client sends (lab 07's is stun-client itself)
    let more = [
      "p2p-c", "p2p-swift", "lab03-framing-c", "lab03-framing-swift", "lab06-http-c",
      "lab06-http-swift",
    ]
    #expect(Set(expected + more).isSubset(of: Set(Self.targets)), "fuzz/ has \(Self.targets)")
  }

  @Test("builds, replays its corpus and regressions, fuzzes 3 s: no crash", arguments: targets)
  func target(_ target: String) async throws {
    #expect(!Self.files(target, "corpus").isEmpty, "fuzz/\(target)/corpus/ has no seeds")
    let build = try Running(
      command: [Kit.root.path + "/scripts/fuzz", "--build-only", target], label: "build \(target)")
    let built = try await build.finish(within: .seconds(180))
    try #require(built.termination == .exit(0), "\(built.stderrText)")
    let fuzzer = Kit.root.appendingPathComponent(
      built.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    ).path
    // Run where make fuzz runs, so the http targets find lectures/http-site; a crash is
    // libFuzzer's to report (scripts/fuzz says why Swift's backtracer is off)
    let inKit = { (arguments: [String]) in
      try Running(
        command: ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", Kit.root.path, fuzzer] + arguments,
        label: "fuzz/\(target)", environment: ["SWIFT_BACKTRACE": "enable=no"])
    }
    let inputs = Self.files(target, "corpus") + Self.files(target, "regressions")
    let replay = try await inKit(inputs).finish(within: .seconds(60))
    #expect(
      replay.termination == .exit(0), "replaying fuzz/\(target)'s inputs:\n\(replay.stderrText)")
    let scratch = FileManager.default.temporaryDirectory
      .appendingPathComponent("kit-fuzz-\(target)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let fuzz = try await inKit([
      "-max_total_time=3", "-dict=fuzz/\(target)/\(target).dict",
      "-artifact_prefix=\(scratch.path)/", scratch.path, "fuzz/\(target)/corpus",
    ]).finish(within: .seconds(60))
    #expect(
      fuzz.termination == .exit(0),
      "fuzz/\(target) crashed within 3 s (the input is in the log):\n\(fuzz.stderrText.suffix(3000))"
    )
  }
}
