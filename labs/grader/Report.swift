// What the grader writes: a line per check for the student, the closing count, and
// results.json in Gradescope's autograder format for the instructor.
import Foundation

enum Report {
  /// A check's line, then (indented) a failure's hint, or a build's warnings even
  /// when it built: both teach.
  static func format(_ outcome: Outcome) -> String {
    let name = outcome.name.padding(
      toLength: max(28, outcome.name.count), withPad: " ", startingAt: 0)
    var text = "\(outcome.passed ? "PASS" : "FAIL")  \(name)  \(outcome.summary)"
    let detail = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
    if !detail.isEmpty && (!outcome.passed || outcome.name.hasSuffix("-builds")) {
      for line in clipped(detail).split(separator: "\n", omittingEmptySubsequences: false) {
        text += "\n      \(line)"
      }
    }
    return text
  }

  /// The closing line that every runner of the kit ends with.
  static func closingLine(_ outcomes: [Outcome]) -> String {
    let passed = outcomes.filter(\.passed).count
    return "\(passed) passed, \(outcomes.count - passed) failed"
  }

  /// Long compiler output or transcripts: the first lines say what matters.
  static func clipped(_ text: String, lines limit: Int = 40) -> String {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard lines.count > limit else { return text }
    return lines.prefix(limit).joined(separator: "\n") + "\n... (\(lines.count - limit) more lines)"
  }

  /// Gradescope's results.json: one test per check, a point each.
  static func gradescopeJSON(lab: Lab, outcomes: [Outcome], seconds: Double) throws -> Data {
    struct Test: Encodable {
      let name: String
      let score: Int
      let max_score: Int
      let status: String
      let output: String
    }
    struct Results: Encodable {
      let score: Int
      let execution_time: Int
      let output: String
      let tests: [Test]
    }
    let tests = outcomes.map {
      Test(
        name: "\($0.name): \($0.summary)", score: $0.passed ? 1 : 0, max_score: 1,
        status: $0.passed ? "passed" : "failed", output: $0.output)
    }
    let results = Results(
      score: tests.map(\.score).reduce(0, +), execution_time: Int(seconds.rounded(.up)),
      output: "lab \(lab.folder): \(closingLine(outcomes))", tests: tests)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(results)
  }
}
