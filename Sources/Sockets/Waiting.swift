// How every blocking call waits: try without blocking, and if the kernel says the call
// would block, wait in poll(2) until the socket is ready or the deadline has passed.
// One loop for accept, send and receive, so each of them keeps its timeout and retries
// after a signal (EINTR) in the same way.

/// When a blocking call gives up. One deadline spans a whole call, however many system
/// calls it takes (`sendAll` of a large buffer, `receiveLine` over many small reads).
struct Deadline {
  private let end: ContinuousClock.Instant?

  /// A nil timeout never runs out.
  init(_ timeout: Duration?) {
    end = timeout.map { ContinuousClock.now + $0 }
  }

  /// The wait for poll(2): milliseconds left, rounded up so that poll never gives up
  /// before the deadline; -1 for no limit.
  var pollMilliseconds: Int32 {
    guard let end else { return -1 }
    let left = ContinuousClock.now.duration(to: end)
    guard left > .zero else { return 0 }
    let (seconds, attoseconds) = left.components
    let attosecondsPerMillisecond: Int64 = 1_000_000_000_000_000
    let milliseconds =
      seconds * 1000 + (attoseconds + attosecondsPerMillisecond - 1) / attosecondsPerMillisecond
    return Int32(clamping: milliseconds)
  }
}

extension Socket {
  /// Runs a non-blocking system call until it succeeds or fails for good.
  func retrying<T>(
    _ call: String, until deadline: Deadline, waitingFor readiness: Readiness,
    _ attempt: () -> Result<T, Errno>
  ) throws(SocketError) -> T {
    while true {
      switch attempt() {
      case .success(let value):
        return value
      case .failure(.interrupted):
        continue  // A signal came before any byte moved: nothing happened, ask again.
      case .failure(let error) where error.wouldBlock:
        try wait(for: readiness, until: deadline, in: call)
      case .failure(let error):
        throw .system(call: call, errno: error.code)
      }
    }
  }

  /// Waits in poll(2) until the socket is ready; throws `timedOut(call)` at the deadline.
  func wait(
    for readiness: Readiness, until deadline: Deadline, in call: String
  ) throws(SocketError) {
    while true {
      let milliseconds = deadline.pollMilliseconds
      switch Posix.systemPoll(readiness, on: descriptor, milliseconds: milliseconds) {
      case .success(0):
        throw .timedOut(call: call)
      case .success:
        return  // Ready, or in error: the call that follows reports which.
      case .failure(.interrupted):
        continue  // The next turn waits only for what is left of the deadline.
      case .failure(let error):
        throw .system(call: "poll", errno: error.code)
      }
    }
  }
}
