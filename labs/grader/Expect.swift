// What checks share: running the student's program beside the kit's, and failures
// that show what was expected next to what happened.
import KitHarness

#if canImport(Glibc)
  import Glibc  // SIGKILL
#endif

/// A program's output as a hint shows it: each line behind a bar, so blank lines,
/// trailing spaces and a missing final newline are visible.
func shown(_ text: String) -> String {
  guard !text.isEmpty else { return "    (nothing)" }
  var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
    "    | \($0.debugDescription.dropFirst().dropLast())"
  }
  if text.hasSuffix("\n") {
    lines.removeLast()
  } else {
    lines[lines.count - 1] += "   (no newline at the end)"
  }
  return Report.clipped(lines.joined(separator: "\n"), lines: 20)
}

/// Fails unless `actual` is `expected`, showing both.
func expectText(_ what: String, _ actual: String, _ expected: String, why: String = "") throws {
  guard actual != expected else { return }
  throw CheckFailed(
    "\(what) differs from the lecture's\(why.isEmpty ? "" : " (\(why))").\n  expected:\n\(shown(expected))\n  got:\n\(shown(actual))"
  )
}

/// Fails unless the program ended as expected.
func expectTermination(_ who: String, _ output: Output, _ expected: Termination) throws {
  guard output.termination != expected else { return }
  throw CheckFailed(
    "\(who) ended with \(output.termination.map { "\($0)" } ?? "nothing yet"), expected \(expected)."
      + (output.stderrText.isEmpty ? "" : "\n  its stderr:\n\(shown(output.stderrText))"))
}

/// The kit's own program `name` of `flavor`, as built by `make build`/`swift build`.
func kitProgram(_ flavor: String, _ name: String) -> Program {
  Program(flavor: flavor, name: name)
}

/// Starts the student's server on `port` and waits until it listens, with a hint
/// that says why when it does not.
func startServer(_ server: Program, port: UInt16, arguments: [String] = []) async throws -> Running
{
  let running = try Running(
    server, arguments: arguments, environment: ["KIT_PORT": "\(port)"])
  do {
    try await running.waitUntilOpen(port, within: .seconds(5))
    return running
  } catch {
    let swapped = Ports.isOpen(port.byteSwapped)  // while it still runs
    let seen = (try? await running.stop()) ?? running.output
    let stderr = seen.stderrText.isEmpty ? "" : "\n  its stderr:\n\(shown(seen.stderrText))"
    // Why, as far as the grader can tell: the most likely mistake first.
    let why: String
    if swapped {
      why = """
        It listens on port \(port.byteSwapped), which is \(port) with its two bytes swapped: \
        the port went into sin_port without htons (in Swift: without .bigEndian).
        """
    } else if seen.stderrText.contains("Address already in use") {
      why = """
        Does it read KIT_PORT? The grader holds the lecture's ports (8080, 6789, 9876), \
        so a server that binds one of them fails with "Address already in use".
        """
    } else if seen.termination == .exit(0) {
      why = "It ended (exit status 0) without listening: has it called bind and listen yet?"
    } else if let ended = seen.termination, ended != .signal(SIGKILL) {
      why = "It ended (\(ended)) before it listened."
    } else {
      why = "It was still running: does it bind the port in KIT_PORT, and call listen?"
    }
    throw CheckFailed(
      "your server did not listen on port \(port) (KIT_PORT=\(port)) within 5 s. \(why)\(stderr)")
  }
}

/// Waits for a program to end, failing with `hint` (and what it printed) when it does not.
func finish(_ program: Running, within limit: Duration, hint: String) async throws -> Output {
  do {
    return try await program.finish(within: limit)
  } catch {
    let seen = program.output
    _ = try? await program.stop()
    throw CheckFailed(
      "\(hint)\n  its stdout so far:\n\(shown(seen.stdoutText))\n  its stderr so far:\n\(shown(seen.stderrText))"
    )
  }
}

/// Runs `body`; if it fails, stops `program` (a server the check started) first.
func stopping<T: Sendable>(_ program: Running, _ body: () async throws -> T) async throws -> T {
  do {
    return try await body()
  } catch {
    _ = try? await program.stop()
    throw error
  }
}
