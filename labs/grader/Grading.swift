// Running a lab's checks against a built solution, one at a time (so a report reads in
// order and one check's load never slows another), each bounded in time.
import Foundation
import KitHarness

/// One check's result, as the report and results.json show it.
struct Outcome: Sendable, Codable {
  let name: String
  let summary: String
  let passed: Bool
  /// For a failure, the hint; for a build, the compiler's messages.
  let output: String
}

enum Grader {
  /// Builds the solution in `folder` and runs every check of `lab`, printing each
  /// result as it comes when `printing` is set.
  static func grade(_ lab: Lab, folder: URL, printing: Bool) async throws -> [Outcome] {
    let scratch = try Scratch.folder("kit-grade")
    defer { try? FileManager.default.removeItem(at: scratch) }

    var outcomes: [Outcome] = []
    func record(_ outcome: Outcome) {
      outcomes.append(outcome)
      if printing { print(Report.format(outcome)) }
    }
    let builds = await Builder.build(lab, from: folder, into: scratch)
    var built: [String: Program] = [:]
    for build in builds {
      built[build.role] = build.program
      let what =
        build.source.map { "\($0) compiles" } ?? "\(build.role).c or \(build.role).swift compiles"
      record(
        Outcome(
          name: "\(build.role)-builds", summary: what, passed: build.program != nil,
          output: build.messages))
    }
    let solution = Solution(built: built)
    for check in lab.checks {
      let missing = check.needs.filter { built[$0] == nil }
      guard missing.isEmpty else {
        let names = missing.joined(separator: " and ")
        record(
          Outcome(
            name: check.name, summary: check.summary, passed: false,
            output: "not run: \(names) did not build"))
        continue
      }
      record(await run(check, solution))
    }
    return outcomes
  }

  /// Runs one check; a check that outlives its limit fails, and the programs it started
  /// are stopped before the next check begins.
  static func run(_ check: Check, _ solution: Solution) async -> Outcome {
    let (results, result) = AsyncStream.makeStream(of: Outcome.self)
    let scope = ProcessScope()
    let work = Task {
      do {
        try await ProcessScope.$current.withValue(scope) { try await check.run(solution) }
        result.yield(outcome(check, nil))
      } catch {
        result.yield(outcome(check, error))
      }
    }
    let timer = Task {
      try await Task.sleep(for: check.limit)  // the check's bound, not a wait for readiness
      result.yield(
        outcome(
          check, CheckFailed("the check did not finish within \(check.limit): a program hung")))
    }
    var first = results.makeAsyncIterator()
    let decided = await first.next()!
    result.finish()
    timer.cancel()
    work.cancel()
    scope.stopAll()  // what a check that ran out of time left running, or leaked
    return decided
  }

  private static func outcome(_ check: Check, _ error: (any Error)?) -> Outcome {
    Outcome(
      name: check.name, summary: check.summary, passed: error == nil,
      output: error.map { "\($0)" } ?? "")
  }
}
