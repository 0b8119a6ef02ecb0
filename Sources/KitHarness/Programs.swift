// Where the kit's programs are, and which flavors exist: found from the folders, as
// Package.swift finds them, so a new flavor joins every matrix by adding a folder.
import Foundation

package enum Kit {
  /// The package's root folder (this file is Sources/KitHarness/Programs.swift).
  package static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// SwiftPM puts every executable in one folder, named <flavor>-<program>: the test
  /// bundle and the grader find the kit's programs beside themselves.
  package static let buildFolder = Bundle.main.bundleURL

  /// `c`, then every lower-case folder of Sources/ (capitalised ones are libraries).
  package static let flavors: [String] = {
    let folders = (try? FileManager.default.contentsOfDirectory(
      atPath: root.appendingPathComponent("Sources").path)) ?? []
    return ["c"] + folders.filter { $0.first?.isLowercase == true }.sorted()
  }()

  /// The flavors that have this program, e.g. every flavor of `tcp-hello-server`.
  package static func flavors(having program: String) -> [String] {
    flavors.filter { FileManager.default.isExecutableFile(atPath: path(flavor: $0, program).path) }
  }

  /// The flavors whose sources have `role` of `example`, built yet or not: what a
  /// grader compares against, so a program missing from the build fails loudly.
  package static func flavors(example: String, role: String) -> [String] {
    flavors.filter { flavor in
      let source =
        flavor == "c" ? "CSources/\(example)/\(role).c" : "Sources/\(flavor)/\(example)/\(role).swift"
      return FileManager.default.fileExists(atPath: root.appendingPathComponent(source).path)
    }
  }

  package static func path(flavor: String, _ program: String) -> URL {
    buildFolder.appendingPathComponent("\(flavor)-\(program)")
  }
}

/// One program of one flavor, e.g. `swift/tcp-hello-client`, or one built elsewhere
/// (a student's lab solution).
package struct Program: CustomStringConvertible, Sendable {
  package let flavor: String
  package let name: String
  package let path: URL

  package init(flavor: String, name: String) {
    self.init(flavor: flavor, name: name, path: Kit.path(flavor: flavor, name))
  }

  package init(flavor: String, name: String, path: URL) {
    self.flavor = flavor
    self.name = name
    self.path = path
  }

  package var description: String { "\(flavor)/\(name)" }
}
