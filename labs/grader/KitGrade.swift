// swift-format-ignore-file: OrderedImports
// kit-grade: grades a lab solution, or a whole class's, against the kit's programs.
//   kit-grade 01                          my-labs/01-tcp-hello, results.json here
//   kit-grade 01 some/dir --results r.json
//   kit-grade 01 --submissions dir --out grades   one subfolder per student
// Glibc before Foundation, which imports it too: only then does @preconcurrency take
// effect, and stdout can be set to line buffering.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif
import ArgumentParser
import Foundation
import KitHarness

@main
struct KitGrade: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kit-grade",
    abstract: "Grade a lab solution (C or Swift) against every flavor of the kit's programs.",
    discussion: "Labs: " + Lab.all.map(\.folder).joined(separator: ", "))

  @Argument(help: "The lab: its number (01), its name (tcp-hello) or its folder's name.")
  var lab: String

  @Argument(help: "The solution's folder (default: my-labs/<NN>-<name>).")
  var solution: String?

  @Option(help: "Where to write Gradescope's results.json.")
  var results = "results.json"

  @Option(
    help: """
      Grade one of the lab's own solutions instead: starter/c, reference/swift, \
      wrong/<mistake> (its FAILS file says which checks it must fail).
      """)
  var sample: String?

  @Option(help: "Grade every subfolder of this folder, one per student.")
  var submissions: String?

  @Option(help: "With --submissions: where the reports and scores.csv go.")
  var out = "grades"

  mutating func run() async throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // each line as it is decided, even through a pipe
    guard let lab = Lab.named(lab) else {
      throw ValidationError(
        "no lab \(self.lab); the labs are \(Lab.all.map(\.folder).joined(separator: ", "))")
    }
    if let submissions {
      try await gradeClass(lab, submissions: URL(fileURLWithPath: submissions))
      return
    }
    if let sample {
      let folder = try Scratch.folder("kit-grade-sample")
      defer { try? FileManager.default.removeItem(at: folder) }
      try await Samples.assemble(lab, sample, into: folder)
      print("lab \(lab.folder): grading its \(sample)")
      try await grade(lab, folder: folder)
      return
    }
    let folder = URL(fileURLWithPath: solution ?? "my-labs/\(lab.folder)")
    guard isFolder(folder) else {
      throw ValidationError(
        "no folder \(folder.path)"
          + (solution == nil ? ": make lab LAB=\(lab.number) makes it" : ""))
    }
    print("lab \(lab.folder): grading \(folder.path)")
    try await grade(lab, folder: folder)
  }

  /// Grades one folder: a line per check, results.json, the closing line, and an exit
  /// status of 0 only when every check passed.
  private func grade(_ lab: Lab, folder: URL) async throws {
    let start = ContinuousClock.now
    let outcomes = try await Grader.grade(lab, folder: folder, printing: true)
    let seconds = (ContinuousClock.now - start) / .seconds(1)
    try Report.gradescopeJSON(lab: lab, outcomes: outcomes, seconds: seconds)
      .write(to: URL(fileURLWithPath: results))
    print(Report.closingLine(outcomes))
    if outcomes.contains(where: { !$0.passed }) { throw ExitCode(1) }
  }

  /// One report and one results.json per student, and a CSV with a row each.
  private func gradeClass(_ lab: Lab, submissions: URL) async throws {
    guard isFolder(submissions) else { throw ValidationError("no folder \(submissions.path)") }
    let students = try FileManager.default.contentsOfDirectory(atPath: submissions.path)
      .filter { name in
        var isFolder: ObjCBool = false
        let path = submissions.appendingPathComponent(name).path
        return !name.hasPrefix(".")
          && FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
          && isFolder.boolValue
      }.sorted()
    guard !students.isEmpty else {
      throw ValidationError("no student folders in \(submissions.path)")
    }
    let output = URL(fileURLWithPath: out)
    try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
    var rows: [String] = []
    for student in students {
      let start = ContinuousClock.now
      let outcomes = try await Grader.grade(
        lab, folder: submissions.appendingPathComponent(student), printing: false)
      let seconds = (ContinuousClock.now - start) / .seconds(1)
      let report =
        (outcomes.map(Report.format) + [Report.closingLine(outcomes)])
        .joined(separator: "\n") + "\n"
      try report.write(
        to: output.appendingPathComponent("\(student).txt"), atomically: true, encoding: .utf8)
      try Report.gradescopeJSON(lab: lab, outcomes: outcomes, seconds: seconds)
        .write(to: output.appendingPathComponent("\(student).json"))
      if rows.isEmpty {
        rows.append(
          (["student", "score", "max_score"] + outcomes.map(\.name)).joined(separator: ","))
      }
      let score = outcomes.filter(\.passed).count
      rows.append(
        ([csvField(student), "\(score)", "\(outcomes.count)"]
          + outcomes.map { $0.passed ? "1" : "0" })
          .joined(separator: ","))
      print("\(student): \(Report.closingLine(outcomes))")
    }
    let csv = output.appendingPathComponent("scores.csv")
    try (rows.joined(separator: "\n") + "\n").write(to: csv, atomically: true, encoding: .utf8)
    print("wrote \(csv.path) and a report per student in \(output.path)/")
  }

  private func isFolder(_ url: URL) -> Bool {
    var isFolder: ObjCBool = false
    return FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder)
      && isFolder.boolValue
  }

  private func csvField(_ text: String) -> String {
    text.contains(where: { ",\"\n".contains($0) })
      ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
  }
}
