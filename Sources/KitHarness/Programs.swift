// What the kit has, as programs.txt lists it (the one inventory that Package.swift,
// the Makefile and the scripts read too), and where the built programs are.
import Foundation

/// One line of programs.txt.
package struct ProgramEntry: Sendable, CustomStringConvertible {
  package enum Kind: String, Sendable { case server, client, variant, standalone }
  package let example: String
  package let role: String
  package let kind: Kind
  package let flavors: [String]
  /// -lNAME libraries and helper files, as the line gives them.
  package let extras: [String]

  /// The program's name in every flavor: tcp-capitalize-fork-server.
  package var name: String { "\(example)-\(role)" }
  package var description: String { name }

  /// Where its source is in `flavor`, relative to the kit's root.
  package func source(flavor: String) -> String {
    let (folder, ending) = Kit.sourceLayout(flavor: flavor)
    return "\(folder)/\(example)/\(role)\(ending)"
  }

  /// Parses programs.txt's text; a line it cannot read is an error that names it.
  package static func parse(_ text: String) throws -> [ProgramEntry] {
    try text.split(separator: "\n").enumerated().compactMap { number, line in
      let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
      guard let first = fields.first, !first.hasPrefix("#") else { return nil }
      guard fields.count >= 4, let kind = Kind(rawValue: fields[2]) else {
        throw HarnessError(description: "programs.txt line \(number + 1) is not a program: \(line)")
      }
      return ProgramEntry(
        example: fields[0], role: fields[1], kind: kind,
        flavors: fields[3].split(separator: ",").map(String.init), extras: Array(fields[4...]))
    }
  }
}

package enum Kit {
  /// The package's root folder (this file is Sources/KitHarness/Programs.swift).
  package static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// SwiftPM puts every executable in one folder, named <flavor>-<program>: the test
  /// bundle and the grader find the kit's programs beside themselves.
  package static let buildFolder = Bundle.main.bundleURL

  /// Every program, in programs.txt's order. An unreadable inventory stops the run:
  /// nothing could be tested without it.
  package static let programs: [ProgramEntry] = {
    do {
      return try ProgramEntry.parse(
        String(contentsOf: root.appendingPathComponent("programs.txt"), encoding: .utf8))
    } catch {
      fatalError("the kit's inventory: \(error)")
    }
  }()

  /// The flavors: `c` first, then the others programs.txt names.
  package static let flavors: [String] =
    ["c"] + Set(programs.flatMap(\.flavors)).subtracting(["c"]).sorted()

  /// The examples, in programs.txt's order.
  package static var examples: [String] {
    programs.map(\.example).reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
  }

  package static func program(_ name: String) -> ProgramEntry? {
    programs.first { $0.name == name }
  }

  /// The flavors of this run that have the program, e.g. every flavor of
  /// `tcp-hello-server`. A program listed but not built fails the test that runs it.
  package static func flavors(having name: String) -> [String] {
    guard let entry = program(name) else { return [] }
    return flavors.filter(entry.flavors.contains)
  }

  /// The same for `role` of `example`.
  package static func flavors(example: String, role: String) -> [String] {
    flavors(having: "\(example)-\(role)")
  }

  /// Where a flavor's sources are: the folder holding `<example>/<role><ending>`.
  package static func sourceLayout(flavor: String) -> (folder: String, ending: String) {
    switch flavor {
    case "c": ("CSources", ".c")
    case "python": ("PySources", ".py")
    case "java": ("JavaSources", ".java")
    default: ("Sources/\(flavor)", ".swift")
    }
  }

  package static func path(flavor: String, _ program: String) -> URL {
    if scriptFlavors[flavor] != nil {
      return buildFolder.appendingPathComponent(flavor).appendingPathComponent(program)
    }
    return buildFolder.appendingPathComponent("\(flavor)-\(program)")
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
