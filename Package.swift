// swift-tools-version:6.0
// The kit's programs are listed in programs.txt, which the Makefile, the scripts and
// the tests read too (CONTRIBUTING.md), so a program joins the build by its files and
// its line there, not by editing this manifest:
//   CSources/<example>/<role>.c             -> executable c-<example>-<role>
//   Sources/<flavor>/<example>/<role>.swift -> executable <flavor>-<example>-<role>
//   PySources/, JavaSources/                -> not SwiftPM's: make build (scripts/build-flavor)
//   Sources/<Library>/ (capitalised)        -> library <Library> (Swift, or C with include/),
//                                              tested by Tests/<Library>Tests if present
//   labs/grader/, labs/<NN>-<lab>/<lab>-checks.swift -> executable kit-grade (labs/README.md)
// `make build` copies each program to bin/<flavor>/<example>-<role>.
import Foundation
import PackageDescription

/// The kit's libraries that a flavor's programs (or another library) import.
let libraryDependencies: [String: [String]] = [
  "Sockets": ["CShims"],
  "EchoLoop": ["Sockets"],
  "swift": ["CShims", "CCrypto", "CUring"],
  "Stun": ["CCrypto", "Sockets"],
  "swift-sockets": ["Sockets", "KitOptions", "CShims", "EchoLoop", "Stun"],
]

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

func entries(_ folder: String, directories: Bool) -> [String] {
  let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)")) ?? []
  return names.filter { name in
    var isDirectory: ObjCBool = false
    let exists = FileManager.default.fileExists(
      atPath: "\(root)/\(folder)/\(name)", isDirectory: &isDirectory)
    return exists && !name.hasPrefix(".") && isDirectory.boolValue == directories
  }.sorted()
}

/// One line of programs.txt: a program, the flavors that have it, and its extras
/// (-lNAME: a library to link; a file name: a helper source beside the program).
struct ProgramLine {
  let example: String
  let role: String
  let flavors: [String]
  let extras: [String]
}

let inventory: [ProgramLine] = {
  let text = (try? String(contentsOfFile: "\(root)/programs.txt", encoding: .utf8)) ?? ""
  return text.split(separator: "\n").compactMap { line in
    let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    guard fields.count >= 4, !fields[0].hasPrefix("#") else { return nil }
    return ProgramLine(
      example: fields[0], role: fields[1],
      flavors: fields[3].split(separator: ",").map(String.init), extras: Array(fields[4...]))
  }
}()

/// Every program of `flavor`, each an executable target over its one file (plus the
/// helper files its line names, in this flavor's language).
func programs(flavor: String) -> [Target] {
  let (folder, ending) = flavor == "c" ? ("CSources", ".c") : ("Sources/\(flavor)", ".swift")
  return inventory.filter { $0.flavors.contains(flavor) }.map { program in
    let path = "\(folder)/\(program.example)"
    // A helper file joins the flavors whose folder holds it
    let helpers = program.extras.filter {
      $0.hasSuffix(ending) && FileManager.default.fileExists(atPath: "\(root)/\(path)/\($0)")
    }
    let sources = ["\(program.role)\(ending)"] + helpers
    return .executableTarget(
      name: "\(flavor)-\(program.example)-\(program.role)",
      dependencies: dependencies(of: flavor, importedBy: sources.map { "\(path)/\($0)" }),
      path: path,
      // The folder's other files are other programs' targets, or notes.
      exclude: entries(path, directories: false).filter { !sources.contains($0) },
      sources: sources,
      linkerSettings: program.extras.filter { $0.hasPrefix("-l") }.map {
        .linkedLibrary(String($0.dropFirst(2)))
      })
  }
}

let isLibrary = { (name: String) in name.first?.isUppercase == true }
let libraries = entries("Sources", directories: true).filter(isLibrary)
/// The Swift flavors, as programs.txt names them: those with a folder Sources/<flavor>/
/// (c is built from CSources/; python and java, the lectures' own, by make build).
let flavors = Set(inventory.flatMap(\.flavors)).sorted().filter {
  $0 != "c" && entries("Sources", directories: true).contains($0)
}

/// Packages a flavor's programs or a library import: only the ecosystem's standards.
let packageDependencies: [String: [Target.Dependency]] = [
  "KitOptions": [.product(name: "ArgumentParser", package: "swift-argument-parser")],
  "swift-sockets": [.product(name: "ArgumentParser", package: "swift-argument-parser")],
  "swift-nio": [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
  ],
]

/// A program gets those of its flavor's libraries that its sources import, no more: a
/// library's code and the C libraries it links (Stun's libcrypto) are loaded at every
/// start, so a server that speaks no STUN should not carry them (lectures/production.md).
func dependencies(of name: String, importedBy files: [String]? = nil) -> [Target.Dependency] {
  let imported = files.map { files in
    Set(
      files.flatMap { file in
        ((try? String(contentsOfFile: "\(root)/\(file)", encoding: .utf8)) ?? "")
          .split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard let at = words.firstIndex(of: "import"), at + 1 < words.count else { return nil }
            return words[..<at].allSatisfy { $0.hasPrefix("@") } ? String(words[at + 1]) : nil
          }
      })
  }
  return (libraryDependencies[name] ?? []).filter(libraries.contains)
    .filter { imported?.contains($0) ?? true }.map { .target(name: $0) }
    + (packageDependencies[name] ?? [])
}

var targets = programs(flavor: "c")
for flavor in flavors {
  targets += programs(flavor: flavor)
}
for library in libraries {
  targets.append(.target(name: library, dependencies: dependencies(of: library)))
  if entries("Tests", directories: true).contains("\(library)Tests") {
    targets.append(.testTarget(name: "\(library)Tests", dependencies: [.target(name: library)]))
  }
}
// The lab grader: its framework in labs/grader/, each lab's checks beside its handout.
// Only those files are its sources: the starters and solutions in labs/ are the
// students' programs, which the grader compiles itself.
let labs = entries("labs", directories: true).filter { $0.first?.isNumber == true }
// Named after the lab, not all "checks.swift": swiftc refuses two files of one name in
// a module ("filename used twice"), even in different folders.
let labChecks = labs.map { lab in "\(lab)/\(lab.drop { $0 != "-" }.dropFirst())-checks.swift" }
let labsOwnFiles = labs.flatMap { lab in
  (entries("labs/\(lab)", directories: true) + entries("labs/\(lab)", directories: false))
    .map { "\(lab)/\($0)" }.filter { !labChecks.contains($0) }
}
targets.append(
  .executableTarget(
    name: "kit-grade",
    dependencies: [
      "KitHarness", .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ],
    path: "labs",
    exclude: entries("labs", directories: false) + labsOwnFiles,
    sources: ["grader"] + labChecks))
// The cross-language tests run the programs (and the grader) as processes, so they
// link none of them: only the harness that starts them.
targets.append(
  .testTarget(name: "KitTests", dependencies: ["KitHarness"], exclude: ["fixtures"]))

let package = Package(
  name: "socket-kit",
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
  ],
  targets: targets)
