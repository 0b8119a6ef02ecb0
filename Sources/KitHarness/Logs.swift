// Files that another process writes as it goes (coturn's log, strace's trace): a test
// waits for what it needs to appear, polling with a deadline, never for a fixed time.
import Foundation

package enum Logs {
  /// Waits until the file at `path` holds what `isReady` looks for, and fails after
  /// `limit` naming `what` and showing the file so far.
  package static func waitFor(
    _ what: String, in path: String, within limit: Duration = .seconds(10),
    until isReady: (String) -> Bool
  ) async throws {
    let deadline = ContinuousClock.now + limit
    while true {
      let seen = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
      if isReady(seen) { return }
      guard ContinuousClock.now < deadline else {
        throw HarnessError(description: "no \(what) in \(path) within \(limit); it holds:\n\(seen)")
      }
      try await Task.sleep(for: .milliseconds(20))  // allowed: poll interval of a bounded check
    }
  }
}
