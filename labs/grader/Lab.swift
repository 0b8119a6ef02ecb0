// What a lab is to the grader: the programs a solution holds and the checks they must
// pass. Each lab's checks live beside its handout, in labs/<NN>-<name>/<name>-checks.swift.
import KitHarness

struct Lab: Sendable {
  /// "01": what `make grade LAB=01` names.
  let number: String
  /// "tcp-hello": with the number, the lab's folder (labs/01-tcp-hello) and my-labs'.
  let name: String
  /// The programs a solution holds, each as <role>.c or <role>.swift: "server", "client".
  let programs: [String]
  let checks: [Check]

  var folder: String { "\(number)-\(name)" }

  /// Every lab the grader knows, in the order students meet them.
  static let all: [Lab] = [
    .tcpHello, .udpRetry, .framing, .concurrent, .eventLoop, .http, .stun,
  ]

  /// A lab by its number ("01", "1"), its name ("tcp-hello") or its folder's name.
  static func named(_ key: String) -> Lab? {
    all.first { lab in
      [lab.number, lab.name, lab.folder].contains(key) || Int(key) == Int(lab.number)
    }
  }
}

/// One line of the report: a behaviour the solution must show.
struct Check: Sendable {
  /// Stable and short, e.g. "server-with-c-client": shown, and in results.json.
  let name: String
  /// What it checks, in a few words a student can act on.
  let summary: String
  /// The programs it runs; when one of them did not build, the check fails unrun.
  let needs: [String]
  /// Longer than any correct solution needs, so that a hung program fails the check
  /// instead of hanging the grader.
  let limit: Duration
  let run: @Sendable (Solution) async throws -> Void

  init(
    _ name: String, _ summary: String, needs: [String], limit: Duration = .seconds(30),
    run: @escaping @Sendable (Solution) async throws -> Void
  ) {
    self.name = name
    self.summary = summary
    self.needs = needs
    self.limit = limit
    self.run = run
  }
}

/// Why a check failed, in words that teach: what was expected, what happened, and
/// what the program printed or sent.
struct CheckFailed: Error, CustomStringConvertible {
  let description: String
  init(_ hint: String) { description = hint }
}

/// A student's programs, built.
struct Solution: Sendable {
  let built: [String: Program]

  /// The student's program in `role`, run like any of the kit's programs.
  func program(_ role: String) -> Program {
    guard let program = built[role] else { preconditionFailure("\(role) was not built") }
    return program
  }
}
