// The lab's own solutions, ready to grade: its starters, its references, and its
// known-wrong solutions. A wrong one is kept as the mistake alone, a patch to the
// program it spoils (the patch names that file in its "---" line, from the kit's root),
// or, where the mistake rewrites most of it, as a whole program; the lab's other
// programs come from its reference in the same language.
import Foundation
import KitHarness

enum Samples {
  /// Puts `sample` of `lab` ("starter/c", "reference/swift", "wrong/<mistake>") into
  /// `folder`, as the files a student would hand in.
  static func assemble(_ lab: Lab, _ sample: String, into folder: URL) async throws {
    let labFolder = Kit.root.appendingPathComponent("labs/\(lab.folder)")
    let source = labFolder.appendingPathComponent(sample)
    guard FileManager.default.fileExists(atPath: source.path) else {
      throw CheckFailed("no sample \(sample) in labs/\(lab.folder)")
    }
    guard sample.hasPrefix("wrong/") else { return try copyPrograms(from: source, to: folder) }

    let files = try FileManager.default.contentsOfDirectory(atPath: source.path)
      .filter { $0 != "FAILS" }.sorted()
    let language =
      files.contains { $0.hasSuffix(".swift") || $0.hasSuffix(".swift.patch") } ? "swift" : "c"
    try copyPrograms(from: labFolder.appendingPathComponent("reference/\(language)"), to: folder)
    for file in files {
      let program = file.hasSuffix(".patch") ? String(file.dropLast(".patch".count)) : file
      let role = String(program.prefix { $0 != "." })
      for stale in ["\(role).c", "\(role).swift"] {
        try? FileManager.default.removeItem(at: folder.appendingPathComponent(stale))
      }
      let entry = source.appendingPathComponent(file)
      if file.hasSuffix(".patch") {
        try await apply(entry, writing: folder.appendingPathComponent(program))
      } else {
        try copy(entry, to: folder.appendingPathComponent(program))
      }
    }
  }

  /// The program files of `from` (C and Swift sources; links followed: lab 01's
  /// reference is the kit's own tcp-hello).
  private static func copyPrograms(from: URL, to: URL) throws {
    for file in try FileManager.default.contentsOfDirectory(atPath: from.path)
    where file.hasSuffix(".c") || file.hasSuffix(".swift") {
      try copy(from.appendingPathComponent(file), to: to.appendingPathComponent(file))
    }
  }

  private static func copy(_ file: URL, to destination: URL) throws {
    try Data(contentsOf: file.resolvingSymlinksInPath()).write(to: destination)
  }

  /// Applies a unified diff to the file its "---" line names, writing `output`.
  private static func apply(_ patch: URL, writing output: URL) async throws {
    let text = try String(contentsOf: patch, encoding: .utf8)
    guard let header = text.split(separator: "\n").first, header.hasPrefix("--- ") else {
      throw CheckFailed("\(patch.path): not a unified diff (no --- line)")
    }
    let base = Kit.root.appendingPathComponent(String(header.dropFirst(4)))
      .resolvingSymlinksInPath()
    let command = [
      try Tools.require("patch", package: "patch"), "--silent", "--force", "--output", output.path,
      "--input", patch.path, base.path,
    ]
    let patching = try await Running(command: command, label: "patch").finish(within: .seconds(30))
    guard patching.termination == .exit(0) else {
      throw CheckFailed(
        "\(patch.path) no longer applies to \(base.path):\n\(patching.stdoutText)\(patching.stderrText)"
      )
    }
  }
}
