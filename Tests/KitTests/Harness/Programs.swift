// Where the kit's programs are, and which flavors exist: found from the folders, as
// Package.swift finds them, so a new flavor joins every matrix by adding a folder.
import Foundation

enum Kit {
  /// The package's root folder (this file is Tests/KitTests/Harness/Programs.swift).
  static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// SwiftPM puts every executable beside the test bundle, named <flavor>-<program>.
  static let buildFolder = Bundle.main.bundleURL

  /// `c`, then every lower-case folder of Sources/ (capitalised ones are libraries).
  static let flavors: [String] = {
    let folders = (try? FileManager.default.contentsOfDirectory(
      atPath: root.appendingPathComponent("Sources").path)) ?? []
    return ["c"] + folders.filter { $0.first?.isLowercase == true }.sorted()
  }()

  /// The flavors that have this program, e.g. every flavor of `tcp-hello-server`.
  static func flavors(having program: String) -> [String] {
    flavors.filter { FileManager.default.isExecutableFile(atPath: path(flavor: $0, program).path) }
  }

  static func path(flavor: String, _ program: String) -> URL {
    buildFolder.appendingPathComponent("\(flavor)-\(program)")
  }
}

/// One program of one flavor, e.g. `swift/tcp-hello-client`.
struct Program: CustomStringConvertible, Sendable {
  let flavor: String
  let name: String
  var path: URL { Kit.path(flavor: flavor, name) }
  var description: String { "\(flavor)/\(name)" }
}
