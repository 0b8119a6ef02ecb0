// swift-tools-version:6.0
// The kit's programs are found by walking its folders (CONTRIBUTING.md), so an
// example or a flavor joins the build by adding files, not by editing this manifest:
//   CSources/<example>/<role>.c          -> executable c-<example>-<role>
//   Sources/<flavor>/<example>/<role>.swift -> executable <flavor>-<example>-<role>
//   Sources/<Library>/ (capitalised)     -> library <Library> (Swift, or C with include/),
//                                           tested by Tests/<Library>Tests if present
// `make build` copies each executable to bin/<flavor>/<example>-<role>.
//   labs/grader/ and labs/<NN>-<lab>/<lab>-checks.swift -> executable kit-grade (labs/README.md)
import Foundation
import PackageDescription

/// The kit's libraries that a flavor's programs (or another library) import.
let libraryDependencies: [String: [String]] = [
  "Sockets": ["CShims"],
  "EchoLoop": ["Sockets"],
  "swift": ["CShims"],
  "swift-sockets": ["Sockets", "KitOptions", "CShims", "EchoLoop"],
]

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

/// SwiftNIO more than doubles a clean build on two cores, so its flavor is built only
/// when asked: `KIT_NIO=1 swift build` (make build, make test and make bench ask).
let withNIO = Context.environment["KIT_NIO"] != nil

func entries(_ folder: String, directories: Bool) -> [String] {
  let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)")) ?? []
  return names.filter { name in
    var isDirectory: ObjCBool = false
    let exists = FileManager.default.fileExists(
      atPath: "\(root)/\(folder)/\(name)", isDirectory: &isDirectory)
    return exists && !name.hasPrefix(".") && isDirectory.boolValue == directories
  }.sorted()
}

func programs(flavor: String, folder: String, ending: String) -> [Target] {
  entries(folder, directories: true).flatMap { example in
    entries("\(folder)/\(example)", directories: false)
      .filter { $0.hasSuffix(ending) }
      .map { file in
        .executableTarget(
          name: "\(flavor)-\(example)-\(file.dropLast(ending.count))",
          dependencies: dependencies(of: flavor),
          path: "\(folder)/\(example)",
          // Each program is one file; its siblings are other programs' targets.
          exclude: entries("\(folder)/\(example)", directories: false).filter { $0 != file },
          sources: [file])
      }
  }
}

let isLibrary = { (name: String) in name.first?.isUppercase == true }
let libraries = entries("Sources", directories: true).filter(isLibrary)
let flavors = entries("Sources", directories: true).filter {
  !isLibrary($0) && ($0 != "swift-nio" || withNIO)
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

func dependencies(of name: String) -> [Target.Dependency] {
  (libraryDependencies[name] ?? []).filter(libraries.contains).map { .target(name: $0) }
    + (packageDependencies[name] ?? [])
}

var targets = programs(flavor: "c", folder: "CSources", ending: ".c")
for flavor in flavors {
  targets += programs(flavor: flavor, folder: "Sources/\(flavor)", ending: ".swift")
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
targets.append(.testTarget(name: "KitTests", dependencies: ["KitHarness"]))

let package = Package(
  name: "socket-kit",
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
  ] + (withNIO ? [.package(url: "https://github.com/apple/swift-nio", from: "2.101.2")] : []),
  targets: targets)
