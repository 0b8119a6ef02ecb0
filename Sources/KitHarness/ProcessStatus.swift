// A process seen through /proc: memory, descriptors, CPU time, and bounded waits on
// them. The one place the tests and the grader read another process's state.
import Foundation

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

package enum ProcessStatus {
  /// Resident memory in KiB (VmRSS in /proc/<pid>/status).
  package static func residentKiB(_ pid: pid_t) throws -> Int {
    let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
      let kib = Int(line.split(separator: " ")[1])
    else { throw HarnessError(description: "no VmRSS for process \(pid)") }
    return kib
  }

  /// How many descriptors the process has open.
  package static func openDescriptors(_ pid: pid_t) throws -> Int {
    try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
  }

  /// CPU time used so far, in clock ticks (utime + stime in /proc/<pid>/stat).
  package static func cpuTicks(_ pid: pid_t) throws -> Int {
    let text = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    // The command name, in parentheses, may hold spaces: count fields after it.
    guard let close = text.lastIndex(of: ")") else {
      throw HarnessError(description: "unreadable /proc/\(pid)/stat")
    }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // fields[0] is the state (field 3); utime and stime are fields 14 and 15.
    guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else {
      throw HarnessError(description: "unreadable /proc/\(pid)/stat")
    }
    return user + system
  }

  /// Waits until `condition` holds for the process, checking every 10 ms.
  package static func wait(
    for what: String, within limit: Duration = .seconds(10), _ condition: () throws -> Bool
  ) async throws {
    let deadline = ContinuousClock.now + limit
    while try !condition() {
      if ContinuousClock.now > deadline {
        throw HarnessError(description: "\(what) did not happen within \(limit)")
      }
      try await Task.sleep(for: .milliseconds(10))  // allowed: bounded /proc poll
    }
  }
}
