// Event loops: one thread serves many sockets by asking the kernel which of them are
// ready, then doing only what will not block. A Poller holds the list of sockets and
// what each is waited for; `wait` returns the ones that are ready.
//
// The kernel offers three ways to ask, and a Poller speaks all of them: select(2),
// poll(2) and, on Linux, epoll(7). A program names one when it makes its Poller, and
// nothing else in the program changes. Their C calls are in Platform+Poller.swift.

/// What a socket is ready for, or what a program waits for it to be ready for.
public struct Readiness: OptionSet, Sendable, Hashable, CustomStringConvertible {
  public let rawValue: UInt8

  public init(rawValue: UInt8) {
    self.rawValue = rawValue
  }

  /// There is something to receive: data, the end of the stream, or an error that the
  /// receive will report. On a listener: a client to accept.
  public static let readable = Readiness(rawValue: 1)
  /// There is room to send (or an error that the send will report).
  public static let writable = Readiness(rawValue: 2)

  public var description: String {
    switch self {
    case []: "[]"
    case .readable: "readable"
    case .writable: "writable"
    default: "[readable, writable]"
    }
  }
}

/// Waits for many sockets at once: register each with what to wait for, then `wait`
/// returns the ones that are ready, and what they are ready for.
///
///     let poller = try Poller(backend: .poll)
///     try poller.register(listener, for: .readable)
///     while true {
///       for event in try poller.wait() { ... }
///     }
///
/// `register`, `modify` and `unregister` are the names of Python's `selectors` module,
/// which offers the same choice of kernel interfaces.
///
/// Readiness is level-triggered with every backend: a socket is reported on every
/// `wait` for as long as it is ready, so a program may take one chunk per event and
/// leave the rest for the next turn. It is also why a program asks for `.writable` only
/// while it has something to send: a socket with room to write is ready almost always,
/// and `wait` would return at once, forever. (epoll can also be edge-triggered; select
/// and poll cannot, so a Poller over all three is not.)
///
/// An error or a hang-up on a socket is reported as what it was registered for, so the
/// receive or send that follows meets the error (or the end of the stream) and says so.
/// A socket registered for nothing (`[]`) is not reported at all, even then: that is how
/// a program stops listening for a while (say, out of descriptors) without spinning.
///
/// A Poller keeps its sockets alive until they are unregistered. A socket closed while
/// registered is never reported again, and its number may be registered for another
/// socket; but unregister before closing if you can: the Poller lets go of it at once.
///
/// A Poller belongs to the thread that waits in it: it is not `Sendable`.
public final class Poller {
  /// One ready socket, as `wait` reports it.
  public struct Event: Sendable {
    public let socket: Socket
    /// What it is ready for: never empty, and only what it was registered for.
    public let readiness: Readiness
  }

  /// The kernel interface it waits in.
  public let backend: Backend

  private struct Registration {
    let socket: Socket
    var interest: Readiness
  }

  // A Poller is confined to one thread, and none of its methods calls out to other code
  // while it changes these: the runtime's check that no two accesses to one of them
  // overlap, made on every access, is not needed, and it would cost more per event than
  // all the rest of the Poller's work. Hence @exclusivity(unchecked), here and in the
  // kernels (Platform+Poller.swift).
  private let kernel: any PollerKernel
  /// Indexed by descriptor number, as the kernel reports readiness.
  @exclusivity(unchecked) private var registrations: [Registration?] = []
  /// What the last `wait` returned; reused, so that a wait allocates nothing.
  @exclusivity(unchecked) private var ready: [Event] = []
  /// Descriptors reported for a socket that has been closed since it was registered.
  @exclusivity(unchecked) private var closed: [Int32] = []

  /// A poller over `backend`: `.preferred` is the best this system has.
  public init(backend: Backend = .preferred) throws(SocketError) {
    self.backend = backend
    kernel = try backend.makeKernel().orThrow(backend.calls.setUp)
  }

  /// Starts watching `socket` for `interest` (which may be `[]`, to say later).
  /// With `.select`, a descriptor of FD_SETSIZE (1024) or more throws
  /// `descriptorTooLarge`: it does not fit in select's bit array.
  public func register(_ socket: Socket, for interest: Readiness) throws(SocketError) {
    let fd = socket.descriptor
    guard fd >= 0 else {
      throw .system(call: backend.calls.control, errno: Errno.badDescriptor.code)
    }
    guard fd < kernel.limit else { throw .descriptorTooLarge(descriptor: fd, limit: kernel.limit) }
    if Int(fd) >= registrations.count {
      registrations += repeatElement(nil, count: Int(fd) + 1 - registrations.count)
    }
    if let old = registrations[Int(fd)] {
      guard old.socket !== socket else {
        throw .system(call: backend.calls.control, errno: Errno.alreadyRegistered.code)
      }
      forget(fd)  // that socket was closed while registered, and its number given to this one
    }
    try kernel.watch(fd, for: interest, was: nil).orThrow(backend.calls.control)
    registrations[Int(fd)] = Registration(socket: socket, interest: interest)
  }

  /// Changes what `socket` is watched for. Cheap when nothing changes (no system call),
  /// so a loop may call it after every event with what it wants now.
  public func modify(_ socket: Socket, to interest: Readiness) throws(SocketError) {
    let fd = socket.descriptor
    guard fd >= 0 else {
      throw .system(call: backend.calls.control, errno: Errno.badDescriptor.code)
    }
    guard Int(fd) < registrations.count, registrations[Int(fd)]?.socket === socket,
      let old = registrations[Int(fd)]?.interest
    else { throw .system(call: backend.calls.control, errno: Errno.notRegistered.code) }
    guard interest != old else { return }
    try kernel.watch(fd, for: interest, was: old).orThrow(backend.calls.control)
    registrations[Int(fd)]?.interest = interest
  }

  /// Stops watching `socket` and lets go of it. A socket that is not registered is left
  /// alone, so a program may unregister every socket it closes.
  public func unregister(_ socket: Socket) {
    let fd = socket.descriptor
    if fd >= 0 {
      if Int(fd) < registrations.count, registrations[Int(fd)]?.socket === socket { forget(fd) }
    } else if let index = registrations.firstIndex(where: { $0?.socket === socket }) {
      forget(Int32(index))  // closed already, so it no longer knows its number: search
    }
  }

  /// Waits until at least one registered socket is ready, or until `timeout` has passed
  /// (nil: no limit), and returns the ready ones; none when the time ran out.
  ///
  /// The events name sockets, not descriptor numbers: a socket closed while handling one
  /// event, and its number reused by `acceptNow` for a new client, cannot receive
  /// another event of the same batch that was meant for the old one.
  public func wait(timeout: Duration? = nil) throws(SocketError) -> [Event] {
    // Empty the last batch, and with it let go of its sockets; one by one is cheaper
    // than removeAll(keepingCapacity:), and keeps the capacity, so nothing is allocated.
    while !ready.isEmpty { ready.removeLast() }
    guard let timeout else {
      while try !waitInKernel(milliseconds: -1) {}
      return ready
    }
    let deadline = Deadline(timeout)
    while true {
      let milliseconds = deadline.pollMilliseconds
      if try waitInKernel(milliseconds: milliseconds) || milliseconds == 0 { return ready }
    }
  }

  /// One wait in the kernel; false if it must be made again: a signal came, or only
  /// sockets closed while registered woke it, which was no answer.
  private func waitInKernel(milliseconds: Int32) throws(SocketError) -> Bool {
    switch kernel.wait(milliseconds: milliseconds, collect) {
    case .success:
      guard !closed.isEmpty else { return true }
      closed.forEach(forget)
      closed.removeAll(keepingCapacity: true)
      return !ready.isEmpty
    case .failure(.interrupted):
      return false
    case .failure(.badDescriptor) where forgetClosed():
      return false  // select refuses a set with a closed descriptor in it
    case .failure(let error):
      throw .system(call: backend.calls.wait, errno: error.code)
    }
  }

  /// Adds an event for `fd`, as far as the program asked for it.
  private func collect(_ fd: Int32, _ reported: Readiness) {
    guard Int(fd) < registrations.count, let registration = registrations[Int(fd)] else { return }
    guard registration.socket.descriptor == fd else {
      closed.append(fd)  // closed while registered: its number may be another socket's now
      return
    }
    let readiness = reported.intersection(registration.interest)
    if !readiness.isEmpty {
      ready.append(Event(socket: registration.socket, readiness: readiness))
    }
  }

  /// Forgets every socket closed while registered; whether there was one.
  private func forgetClosed() -> Bool {
    var found = false
    for fd in registrations.indices {
      if let registration = registrations[fd], registration.socket.descriptor != Int32(fd) {
        forget(Int32(fd))
        found = true
      }
    }
    return found
  }

  private func forget(_ fd: Int32) {
    guard let registration = registrations[Int(fd)] else { return }
    kernel.forget(fd, was: registration.interest)
    registrations[Int(fd)] = nil
  }
}

@available(*, unavailable, message: "a Poller belongs to the thread that waits in it")
extension Poller: Sendable {}
