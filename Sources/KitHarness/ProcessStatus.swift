// A process seen through /proc: memory, descriptors, CPU time, whether it is idle, and
// bounded waits on them. The one place the tests and the grader read another process's state.
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

  /// Whether the process and every process under it (a tracer's program, a forking
  /// server's children) are idle: each thread asleep in a call, or exited, and no TCP
  /// connection left open, only listeners. A looping server is then back in its loop
  /// with all it did for its last client behind it.
  package static func isIdle(_ pid: pid_t) throws -> Bool { try busy(pid).isEmpty }

  /// What keeps the process and its family from being idle, one line each: a task that
  /// is not asleep or exited, with its state and where in the kernel it waits, or a
  /// process that holds TCP connections. Empty when idle: the words a failed wait gives.
  package static func busy(_ pid: pid_t) throws -> [String] {
    var family = [pid]
    var next = 0
    var reasons: [String] = []
    while next < family.count {
      // A process that ended meanwhile has no folder: nothing of it is still at work.
      let folder = "/proc/\(family[next])/task"
      for task in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
        let path = "\(folder)/\(task)"
        // S: asleep in a call; Z: exited. R (running), t (stopped by a tracer that
        // is still writing out a call) and D all mean work is still under way.
        guard let (name, state) = taskStat(path) else { continue }  // it just ended
        if state != "S" && state != "Z" {
          let wchan = (try? String(contentsOfFile: "\(path)/wchan", encoding: .utf8)) ?? "?"
          reasons.append("task \(family[next])/\(task) (\(name)) is \(state), wchan \(wchan)")
        }
        let children = (try? String(contentsOfFile: "\(path)/children", encoding: .utf8)) ?? ""
        family += children.split(separator: " ").compactMap { pid_t($0) }
      }
      next += 1
    }
    let connections = try tcpSockets(notIn: "0A")  // 0A: LISTEN in /proc/net/tcp
    for member in family {
      let held = socketInodes(member).intersection(connections).count
      if held > 0 { reasons.append("pid \(member) holds \(held) TCP connection(s)") }
    }
    return reasons
  }

  /// One task's name and state letter, fields 2 and 3 of its stat file.
  private static func taskStat(_ path: String) -> (name: Substring, state: Character)? {
    guard let text = try? String(contentsOfFile: "\(path)/stat", encoding: .utf8),
      let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"),
      let state = text[text.index(after: close)...].first(where: { $0 != " " })
    else { return nil }
    return (text[text.index(after: open)..<close], state)
  }

  /// The inodes of the sockets a process has open ("socket:[12345]" links in fd/).
  private static func socketInodes(_ pid: pid_t) -> Set<Substring> {
    let folder = "/proc/\(pid)/fd"
    // A process that has exited (a zombie) has no descriptors left.
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    return Set(
      fds.compactMap { fd in
        guard
          let target = try? FileManager.default.destinationOfSymbolicLink(
            atPath: "\(folder)/\(fd)"),
          target.hasPrefix("socket:[")
        else { return nil }
        return Substring(target.dropFirst(8).dropLast())
      })
  }

  /// The inodes of the TCP sockets (IPv4 and IPv6) whose state is not `state`.
  private static func tcpSockets(notIn state: String) throws -> Set<Substring> {
    var inodes: Set<Substring> = []
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
      // "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ..."
      for line in try String(contentsOfFile: table, encoding: .utf8).split(separator: "\n")
        .dropFirst()
      {
        let fields = line.split(separator: " ")
        if fields.count > 9, fields[3] != state { inodes.insert(fields[9]) }
      }
    }
    return inodes
  }

  /// Waits until `condition` holds for the process, checking every 10 ms.
  /// `explaining` says, when the time is up, what stood in the way.
  package static func wait(
    for what: String, within limit: Duration = .seconds(10),
    explaining: () -> String = { "" }, _ condition: () throws -> Bool
  ) async throws {
    let deadline = ContinuousClock.now + limit
    while try !condition() {
      if ContinuousClock.now > deadline {
        let why = explaining()
        throw HarnessError(
          description: "\(what) did not happen within \(limit)\(why.isEmpty ? "" : ": \(why)")")
      }
      try await Task.sleep(for: .milliseconds(10))  // allowed: bounded /proc poll
    }
  }
}
