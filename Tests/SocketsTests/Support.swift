// What the tests need besides the library: threads, files, errno values, and a
// connected pair. Only this file imports Foundation (and through it the C library).
//
// Swift Testing runs the tests in parallel in one process, so every test takes its own
// port 0 or temporary path, and every blocking call has a timeout: a test never hangs.
import Foundation
import Sockets
import Synchronization
import Testing

/// The timeout for calls that should succeed at once; reaching it is a failure.
let patience: Duration = .seconds(10)

/// The errno values the tests expect, by name.
enum Code {
  static let addressInUse = EADDRINUSE
  static let alreadyExists = EEXIST
  static let badDescriptor = EBADF
  static let brokenPipe = EPIPE
  static let connectionRefused = ECONNREFUSED
  static let connectionReset = ECONNRESET
  static let invalidArgument = EINVAL
  static let nameTooLong = ENAMETOOLONG
  static let noSuchFile = ENOENT
  static let notConnected = ENOTCONN
}

/// gai_strerror's text for a getaddrinfo code.
func resolutionMessage(_ code: Int32) -> String {
  String(cString: gai_strerror(code))
}

/// Blocking work on a thread of its own, started at once. Not a task: a task waits for
/// one of the few threads Swift Testing shares between tests, and the tests' blocking
/// calls may be holding all of them, each waiting for its own task to start.
final class Background<T: Sendable>: Sendable {
  private let result = Mutex<Result<T, any Error>?>(nil)
  private let done = DispatchSemaphore(value: 0)

  init(_ body: @escaping @Sendable () throws -> T) {
    Thread.detachNewThread {
      let outcome = Result { try body() }
      self.result.withLock { $0 = outcome }
      self.done.signal()
    }
  }

  /// The work's result, or its error. Its own calls time out after `patience`; this waits
  /// twice that, so their error is the one reported, and gives up only if the work hangs.
  func value() throws -> T {
    let limit = DispatchTime.now() + .seconds(2 * Int(patience.components.seconds))
    guard done.wait(timeout: limit) == .success
    else { throw SocketError.timedOut(call: "Background.value") }
    return try result.withLock { $0! }.get()
  }
}

/// A handle on a thread, for other threads to interrupt it with signals as a timer or
/// a terminal resize would.
final class Interruptible: Sendable {
  private let thread = Mutex<pthread_t?>(nil)
  private let published = DispatchSemaphore(value: 0)

  /// Called on the thread to be interrupted, before it blocks.
  func publish() {
    // Threads here start with most signals blocked (a blocked signal waits, harmless):
    // let this one through.
    var signals = sigset_t()
    sigemptyset(&signals)
    sigaddset(&signals, SIGUSR1)
    pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    thread.withLock { $0 = pthread_self() }
    published.signal()
  }

  /// Sends that thread SIGUSR1 again and again for `duration`, long enough for it to be
  /// caught blocked. The handler does nothing, but a call blocked in the thread returns
  /// EINTR (poll(2) whatever the handler's flags say).
  func interrupt(for duration: Duration) throws {
    signal(SIGUSR1) { _ in }  // before the first signal: by default SIGUSR1 ends the process
    guard published.wait(timeout: .now() + .seconds(10)) == .success,
      let target = thread.withLock({ $0 })
    else { throw SocketError.timedOut(call: "Interruptible.interrupt") }
    let end = ContinuousClock.now + duration
    while ContinuousClock.now < end {
      pthread_kill(target, SIGUSR1)
    }
  }
}

/// The port a socket is bound to.
func boundPort(of socket: Socket) throws -> UInt16 {
  try #require(socket.localAddress.port)
}

/// Both ends of a fresh TCP connection over `host`. Connect returns before accept is
/// called: the kernel completes the connection into the listener's queue.
func connectedPair(host: String = "127.0.0.1") throws -> (client: Socket, server: Socket) {
  let listener = try Socket.listen(host: host, port: 0)
  let client = try Socket.connect(host: host, port: boundPort(of: listener), timeout: patience)
  let (server, _) = try listener.accept(timeout: patience)
  return (client, server)
}

/// What the kernel holds for a socket's keepalive: SO_KEEPALIVE (1: on), then idle and
/// interval in seconds and the count of probes; -1 for one it would not tell.
func keepAliveSettings(of socket: Socket) -> [Int32] {
  #if canImport(Darwin)
    let idle = TCP_KEEPALIVE
  #else
    let idle = TCP_KEEPIDLE
  #endif
  return [
    (SOL_SOCKET, SO_KEEPALIVE), (Int32(IPPROTO_TCP), idle),
    (Int32(IPPROTO_TCP), TCP_KEEPINTVL), (Int32(IPPROTO_TCP), TCP_KEEPCNT),
  ].map { level, name in
    var value: Int32 = -1
    var size = socklen_t(MemoryLayout<Int32>.size)
    return getsockopt(socket.descriptor, level, name, &value, &size) == 0 ? value : -1
  }
}

/// A path no other test uses, short enough for sun_path.
func temporarySocketPath() -> String {
  "/tmp/sockets-\(getpid())-\(UUID().uuidString.prefix(8)).sock"
}

func removeFile(_ path: String) {
  unlink(path)
}

/// How many descriptors the process has open now.
func openDescriptorCount() throws -> Int {
  try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
}

/// How many descriptors the process may open (the soft RLIMIT_NOFILE).
func descriptorLimit() -> Int {
  var limit = rlimit()
  guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
  return Int(clamping: limit.rlim_cur)
}

/// How long `body` took.
func elapsed(_ body: () throws -> Void) rethrows -> Duration {
  let start = ContinuousClock.now
  try body()
  return ContinuousClock.now - start
}
