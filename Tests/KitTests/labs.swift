// The labs' graders, graded. For every lab and both languages: the starter builds and
// fails every other check; the reference solution passes every check; and each
// known-wrong solution in labs/<lab>/wrong/ fails exactly the checks its FAILS file
// names, each with the hint it names. A grader that passes a wrong solution, or fails
// a right one, fails here. Each is graded as an instructor would grade it by hand:
// `kit-grade <lab> --sample <sample>`.
import Foundation
import KitHarness
import Testing

struct LabCase: CustomStringConvertible, Sendable {
  enum Kind: Sendable {
    case starter(language: String)
    case reference(language: String)
    case wrong(name: String)
  }
  let lab: String
  let kind: Kind

  var description: String {
    switch kind {
    case .starter(let language): "\(lab) starter (\(language))"
    case .reference(let language): "\(lab) reference (\(language))"
    case .wrong(let name): "\(lab) wrong/\(name)"
    }
  }

  static let labsFolder = Kit.root.appendingPathComponent("labs")

  static let labs: [String] = folders(labsFolder).filter { $0.first?.isNumber == true }

  static let all: [LabCase] = labs.flatMap { lab in
    ["c", "swift"].flatMap {
      [
        LabCase(lab: lab, kind: .starter(language: $0)),
        LabCase(lab: lab, kind: .reference(language: $0)),
      ]
    }
      + folders(labsFolder.appendingPathComponent("\(lab)/wrong")).map {
        LabCase(lab: lab, kind: .wrong(name: $0))
      }
  }

  static func folders(_ url: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).filter { name in
      var isFolder: ObjCBool = false
      return FileManager.default.fileExists(
        atPath: url.appendingPathComponent(name).path, isDirectory: &isFolder) && isFolder.boolValue
    }.sorted()
  }

  /// The sample as kit-grade names it: starter/c, reference/swift, wrong/<mistake>.
  var sample: String {
    switch kind {
    case .starter(let language): "starter/\(language)"
    case .reference(let language): "reference/\(language)"
    case .wrong(let name): "wrong/\(name)"
    }
  }

  /// The checks a wrong solution must fail, each with a fragment of its hint; a name
  /// ending in "?" may fail or pass (its result depends on the machine, which the
  /// FAILS file explains), and its hint is checked when it fails.
  func expectedFailures() throws -> (must: [String: String], may: [String: String]) {
    guard case .wrong(let name) = kind else { return ([:], [:]) }
    let file = Self.labsFolder.appendingPathComponent("\(lab)/wrong/\(name)/FAILS")
    let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
    var must: [String: String] = [:]
    var may: [String: String] = [:]
    for line in lines where !line.hasPrefix("#") {
      let parts = line.split(separator: ":", maxSplits: 1)
      let hint = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
      if parts[0].hasSuffix("?") {
        may[String(parts[0].dropLast())] = hint
      } else {
        must[String(parts[0])] = hint
      }
    }
    return (must, may)
  }
}

/// What kit-grade wrote: each check's name (before the colon), status and output.
struct GradedCheck: Decodable {
  let name: String
  let status: String
  let output: String
  var check: String { String(name.prefix { $0 != ":" }) }
}
struct GradedResults: Decodable { let tests: [GradedCheck] }

@Suite("labs", .timeLimit(.minutes(5)))
struct LabTests {
  static let grader = Kit.buildFolder.appendingPathComponent("kit-grade")

  static func grade(_ solution: LabCase, results folder: URL) async throws -> (
    Output, [GradedCheck]
  ) {
    Ports.holdLecturePorts()  // for the whole run, whichever grader runs when
    let results = folder.appendingPathComponent("results.json")
    let grading = try Running(
      command: [
        grader.path, solution.lab, "--sample", solution.sample, "--results", results.path,
      ],
      label: "kit-grade \(solution.lab) --sample \(solution.sample)")
    let output: Output
    do {
      output = try await grading.finish(within: .seconds(240))
    } catch {
      _ = try? await grading.stop()
      throw error
    }
    let graded = try JSONDecoder().decode(GradedResults.self, from: Data(contentsOf: results))
    return (output, graded.tests)
  }

  static func scratch() throws -> URL {
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("kit-lab-test-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
  }

  @Test(
    "every lab has its handout, starters, reference and at least three wrong solutions",
    arguments: LabCase.labs)
  func complete(lab: String) {
    let base = LabCase.labsFolder.appendingPathComponent(lab)
    let checks = "\(lab.drop { $0 != "-" }.dropFirst())-checks.swift"  // udp-retry-checks.swift
    for needed in [
      "README.md", checks, "starter/c", "starter/swift", "reference/c", "reference/swift",
    ] {
      #expect(
        FileManager.default.fileExists(atPath: base.appendingPathComponent(needed).path),
        "\(lab)/\(needed) is missing")
    }
    #expect(LabCase.folders(base.appendingPathComponent("wrong")).count >= 3)
  }

  @Test("the grader grades each known solution as it should", arguments: LabCase.all)
  func graded(solution: LabCase) async throws {
    let folder = try Self.scratch()
    defer { try? FileManager.default.removeItem(at: folder) }
    let (output, checks) = try await Self.grade(solution, results: folder)
    let failed = Set(checks.filter { $0.status != "passed" }.map(\.check))
    let passed = checks.count - failed.count
    #expect(output.stdoutText.hasSuffix("\(passed) passed, \(failed.count) failed\n"))
    #expect(checks.count > 2)
    switch solution.kind {
    case .starter:
      #expect(
        failed == Set(checks.map(\.check).filter { !$0.hasSuffix("-builds") }),
        "the starter must build and fail every other check:\n\(output.stdoutText)")
      #expect(output.termination == .exit(1))
    case .reference:
      #expect(failed.isEmpty, "the reference must pass every check:\n\(output.stdoutText)")
      #expect(output.termination == .exit(0))
    case .wrong:
      let (must, may) = try solution.expectedFailures()
      #expect(failed.subtracting(may.keys) == Set(must.keys), "\(output.stdoutText)")
      let expected = must.merging(may) { first, _ in first }
      for check in checks where check.status != "passed" && expected[check.check] != nil {
        #expect(
          check.output.contains(expected[check.check]!),
          "\(check.check)'s hint should say \(expected[check.check]!.debugDescription):\n\(check.output)"
        )
      }
      #expect(output.termination == .exit(1))
    }
  }
}
