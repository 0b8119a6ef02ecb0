// The kit as a whole: every program in every flavor, every example with its note and
// its tests, and generated text (listings, line counts) equal to what it is made from.
import Foundation
import KitHarness
import Testing

@Suite("the kit", .timeLimit(.minutes(1)))
struct KitTests {
  static let cPrograms: [String] = {
    let folder = Kit.root.appendingPathComponent("CSources").path
    return ((try? FileManager.default.subpathsOfDirectory(atPath: folder)) ?? [])
      .filter { $0.hasSuffix(".c") && $0.split(separator: "/").count == 2 }
      .map { $0.dropLast(2).replacingOccurrences(of: "/", with: "-") }.sorted()
  }()
  static let examples = Set(ProgramPair.all.map { $0.client.replacing(/-client$/, with: "") })
    .sorted()

  /// A flavor whose folder has a README.md holds only the programs it names there
  /// (swift-nio: one server); every other flavor has every program.
  static let completeFlavors = Kit.flavors.filter { flavor in
    flavor == "c"
      || !FileManager.default.fileExists(
        atPath: Kit.root.appendingPathComponent("Sources/\(flavor)/README.md").path)
  }

  @Test("every lecture program is built in every full flavor", arguments: completeFlavors)
  func complete(flavor: String) {
    #expect(!Self.cPrograms.isEmpty)
    for program in Self.cPrograms {
      let path = Kit.path(flavor: flavor, program).path
      #expect(
        FileManager.default.isExecutableFile(atPath: path),
        """
        \(flavor)/\(program) is missing. If its source exists, SwiftPM reused a cached \
        reading of Package.swift: build with --manifest-cache none (make does).
        """)
    }
  }

  @Test("every example has a lecture note and a test file", arguments: examples)
  func documented(example: String) {
    for file in ["lectures/\(example).md", "Tests/KitTests/\(example).swift"] {
      #expect(
        FileManager.default.fileExists(atPath: Kit.root.appendingPathComponent(file).path),
        "\(file) is missing")
    }
  }

  @Test(
    "generated text is current: lecture listings, README's line counts",
    arguments: ["listings", "line-counts"])
  func generated(script: String) async throws {
    let check = try Running(command: [Kit.root.path + "/scripts/\(script)", "--check"])
    let output = try await check.finish()
    #expect(output.termination == .exit(0), "\(output.stderrText)")
  }
}
