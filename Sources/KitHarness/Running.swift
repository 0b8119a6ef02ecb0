// A program started for a test: its own process group (so a forking server's children
// go with it), stdin fed from bytes, stdout and stderr captured separately, and every
// wait bounded by a deadline that names what did not happen.
import Foundation
import Synchronization

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

package struct HarnessError: Error, CustomStringConvertible {
  package let description: String
  package init(description: String) { self.description = description }
}

/// How a process ended.
package enum Termination: Equatable, Sendable, CustomStringConvertible {
  case exit(Int32)
  case signal(Int32)

  package init(waitStatus status: Int32) {
    // WIFEXITED/WEXITSTATUS/WTERMSIG are C macros, which Swift does not import.
    self = status & 0x7f == 0 ? .exit((status >> 8) & 0xff) : .signal(status & 0x7f)
  }

  package var description: String {
    switch self {
    case .exit(let code): "exit status \(code)"
    case .signal(let number): "signal \(number)"
    }
  }
}

/// What a program has written so far, and how it ended (once it has).
package struct Output: Sendable {
  package var stdout: [UInt8] = []
  package var stderr: [UInt8] = []
  package var termination: Termination?
  package var openPipes = 2

  /// Ended, and every byte it wrote has been read.
  package var isFinished: Bool { termination != nil && openPipes == 0 }
  package var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
  package var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

package final class Running: Sendable {
  package let label: String
  package let pid: pid_t
  private let state = Mutex(State())

  private struct Waiter {
    let id: Int
    let isSatisfied: @Sendable (Output) -> Bool
    let continuation: CheckedContinuation<Output, any Error>
  }
  private struct State {
    var output = Output()
    var waiters: [Waiter] = []
    var nextWaiterID = 0
    /// Waits whose deadline passed before their waiter was even added (a limit near
    /// zero): the waiter, once it comes, fails at once instead of waiting forever.
    var expiredEarly: Set<Int> = []
  }

  /// Starts `program` with `arguments`, `environment` added to the test's own, `input` on stdin
  /// (then closed). `wrapper` runs it under another command, such as strace.
  package convenience init(
    _ program: Program, arguments: [String] = [], environment: [String: String] = [:],
    input: [UInt8] = [], wrapper: [String] = []
  ) throws {
    // The lectures' Python and Java are built by a script, not SwiftPM: now, if not yet.
    if program.path == Kit.path(flavor: program.flavor, program.name) {
      try Kit.prepare(flavor: program.flavor)
    }
    try self.init(
      command: wrapper + [program.path.path] + arguments, label: program.description,
      environment: environment, input: input)
  }

  /// Starts `command` (its first word is looked up in PATH).
  package init(
    command: [String], label: String? = nil, environment: [String: String] = [:],
    input: [UInt8] = []
  ) throws {
    self.label = label ?? command.joined(separator: " ")
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    let (pid, stdin, stdout, stderr) = try Running.spawn(
      command, environment: env.map { "\($0)=\($1)" })
    self.pid = pid

    Thread.detachNewThread {
      Running.writeAll(input, to: stdin)
      close(stdin)
    }
    for (fd, isStdout) in [(stdout, true), (stderr, false)] {
      Thread.detachNewThread { [self] in readUntilEOF(fd, isStdout: isStdout) }
    }
    Thread.detachNewThread { [self, pid] in
      var status: Int32 = 0
      while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
      Running.unregister(pid)
      update { $0.termination = Termination(waitStatus: status) }
    }
  }

  /// The output now, whatever state the program is in.
  package var output: Output { state.withLock { $0.output } }

  /// Waits until `condition` holds, or fails after `limit` saying `what` did not happen.
  @discardableResult
  package func wait(
    for what: String, within limit: Duration = .seconds(10),
    until condition: @escaping @Sendable (Output) -> Bool
  ) async throws -> Output {
    let id = state.withLock { state in
      state.nextWaiterID += 1
      return state.nextWaiterID
    }
    let timedOut = { @Sendable [self] in
      let seen = output
      return HarnessError(
        description: """
          \(label): \(what) did not happen within \(limit).
          stdout so far: \(seen.stdoutText.debugDescription)
          stderr so far: \(seen.stderrText.debugDescription)
          """)
    }
    let deadline = Task { [self] in
      try await Task.sleep(for: limit)  // allowed: the deadline itself, not a wait for readiness
      let expired = state.withLock { state in
        guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
          state.expiredEarly.insert(id)
          return nil as Waiter?
        }
        return state.waiters.remove(at: index)
      }
      expired?.continuation.resume(throwing: timedOut())
    }
    defer { deadline.cancel() }
    return try await withCheckedThrowingContinuation { continuation in
      // Under the lock only what the state says; the error reads the output itself.
      let (ready, expired): (Output?, Bool) = state.withLock { state in
        if condition(state.output) { return (state.output, false) }
        if state.expiredEarly.remove(id) != nil { return (nil, true) }
        state.waiters.append(Waiter(id: id, isSatisfied: condition, continuation: continuation))
        return (nil, false)
      }
      if let ready { continuation.resume(returning: ready) }
      if expired { continuation.resume(throwing: timedOut()) }
    }
  }

  /// Waits for the program to end by itself and returns everything it wrote.
  @discardableResult
  package func finish(within limit: Duration = .seconds(10)) async throws -> Output {
    try await wait(for: "exiting", within: limit) { $0.isFinished }
  }

  /// Waits until stdout holds exactly `expected` (a looping server's transcript so far).
  package func waitForStdout(_ expected: String, within limit: Duration = .seconds(10)) async throws
  {
    try await wait(for: "printing \(expected.debugDescription)", within: limit) {
      $0.stdoutText.hasPrefix(expected)
    }
  }

  /// Signals the program and its process group (SIGKILL unless told otherwise: a
  /// tracer needs SIGTERM to write out its last lines), and waits until it is gone.
  @discardableResult
  package func stop(signal: Int32 = SIGKILL) async throws -> Output {
    kill(-pid, signal)
    return try await finish()
  }

  private func update(_ change: (inout Output) -> Void) {
    let ready = state.withLock { state in
      change(&state.output)
      let output = state.output
      let satisfied = state.waiters.filter { $0.isSatisfied(output) }
      state.waiters.removeAll { $0.isSatisfied(output) }
      return satisfied.map { ($0.continuation, output) }
    }
    for (continuation, output) in ready { continuation.resume(returning: output) }
  }

  private func readUntilEOF(_ fd: Int32, isStdout: Bool) {
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = read(fd, &chunk, chunk.count)
      if count < 0 && errno == EINTR { continue }
      if count <= 0 { break }
      update {
        if isStdout { $0.stdout += chunk[..<count] } else { $0.stderr += chunk[..<count] }
      }
    }
    close(fd)
    update { $0.openPipes -= 1 }
  }
}

// MARK: - Spawning

extension Running {
  /// Every spawn takes this lock. A program being started holds a copy of all this
  /// process's descriptors from its fork until its exec, close-on-exec or not, so what
  /// must never reach it is made under the lock: pipe ends (pipe2(O_CLOEXEC) is not
  /// imported; a leaked one hides end-of-file from its reader) and Ports' check sockets
  /// (a leaked one keeps its port bound after our close, just as a server binds it).
  static let spawnLock = Mutex(())

  /// Starts `arguments` in a process group of its own (so stop() also ends any child
  /// it forked) and returns its pid and our ends of its stdin, stdout and stderr.
  private static func spawn(_ arguments: [String], environment: [String]) throws
    -> (pid: pid_t, stdin: Int32, stdout: Int32, stderr: Int32)
  {
    try spawnLock.withLock { _ in
      var fds = [Int32](repeating: -1, count: 6)
      for pair in 0..<3 {
        guard fds.withUnsafeMutableBufferPointer({ pipe($0.baseAddress! + 2 * pair) }) == 0 else {
          for fd in fds where fd >= 0 { close(fd) }
          throw HarnessError(description: "pipe: \(String(cString: strerror(errno)))")
        }
      }
      for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
      // Child's view: stdin reads fds[0], stdout writes fds[3], stderr writes fds[5].
      let (childEnds, ourEnds) = ([fds[0], fds[3], fds[5]], (fds[1], fds[2], fds[4]))
      defer { for fd in childEnds { close(fd) } }

      var actions = posix_spawn_file_actions_t()
      posix_spawn_file_actions_init(&actions)
      defer { posix_spawn_file_actions_destroy(&actions) }
      for (target, source) in childEnds.enumerated() {
        posix_spawn_file_actions_adddup2(&actions, source, Int32(target))
      }
      var attributes = posix_spawnattr_t()
      posix_spawnattr_init(&attributes)
      defer { posix_spawnattr_destroy(&attributes) }
      // Signal masks and ignored signals are inherited across exec: start the program
      // with none blocked and all at their defaults, as a shell would.
      var none = sigset_t()
      var all = sigset_t()
      sigemptyset(&none)
      sigfillset(&all)
      posix_spawnattr_setsigmask(&attributes, &none)
      posix_spawnattr_setsigdefault(&attributes, &all)
      posix_spawnattr_setflags(
        &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
      posix_spawnattr_setpgroup(&attributes, 0)

      let argv = arguments.map { strdup($0) } + [nil]
      let envp = environment.map { strdup($0) } + [nil]
      defer { for pointer in argv + envp { free(pointer) } }
      var pid: pid_t = 0
      let result = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
      guard result == 0 else {
        for fd in [ourEnds.0, ourEnds.1, ourEnds.2] { close(fd) }
        throw HarnessError(
          description: "cannot start \(arguments[0]): \(String(cString: strerror(result)))")
      }
      register(pid)
      return (pid, ourEnds.0, ourEnds.1, ourEnds.2)
    }
  }

  private static func writeAll(_ bytes: [UInt8], to fd: Int32) {
    var offset = 0
    while offset < bytes.count {
      let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if written < 0 && errno == EINTR { continue }
      if written <= 0 { return }  // the program closed its stdin: it reads no more
      offset += written
    }
  }
}

// MARK: - Nothing left behind, nothing that kills the test run

extension Running {
  /// Process groups still running, killed when the test process exits, even if a
  /// test forgot to stop what it started.
  private static let live = Mutex<Set<pid_t>>([])
  private static let atExit: Void = {
    atexit { Running.live.withLock { for pid in $0 { kill(-pid, SIGKILL) } } }
    // A program that exits without reading all its stdin makes our write fail with
    // EPIPE; by default that would also raise SIGPIPE and end the whole test run.
    // (Programs start with every signal at its default: see spawn.)
    signal(SIGPIPE, SIG_IGN)
  }()

  private static func register(_ pid: pid_t) {
    _ = atExit
    live.withLock { _ = $0.insert(pid) }
    ProcessScope.current?.add(pid)
  }

  /// Whether the process is still running (not yet reaped).
  fileprivate static func isLive(_ pid: pid_t) -> Bool { live.withLock { $0.contains(pid) } }
  private static func unregister(_ pid: pid_t) { live.withLock { _ = $0.remove(pid) } }
}

/// The programs a piece of work started (a grader's check), so that work which runs out
/// of time can be stopped with everything it started, not left running beside the next.
/// A program joins the scope of the task that starts it (a task-local value).
package final class ProcessScope: Sendable {
  @TaskLocal package static var current: ProcessScope?
  private let pids = Mutex<Set<pid_t>>([])

  package init() {}

  fileprivate func add(_ pid: pid_t) { pids.withLock { _ = $0.insert(pid) } }

  /// Kills the process group of every program started in this scope that still runs.
  package func stopAll() {
    for pid in pids.withLock({ $0 }) where Running.isLive(pid) { kill(-pid, SIGKILL) }
  }
}
