// The socket itself: who owns the descriptor, and the calls that set a connection up.
import Synchronization

/// What a socket carries: one byte stream (TCP; SOCK_STREAM) or separate messages
/// (UDP; SOCK_DGRAM).
public enum SocketType: Sendable, Hashable {
  case stream
  case datagram
}

/// A socket: it owns one descriptor and closes it exactly once, either when you call
/// `close()` or when the last reference to it goes away.
///
/// A final class, not a `~Copyable` struct. A noncopyable struct would let the compiler
/// prove the single close, but the programs written over this library keep their
/// connections in arrays and dictionaries (a poll server's table of clients) and hand
/// them to other threads, and neither the standard collections nor escaping closures
/// take noncopyable values. A class is shared, never copied, so every holder sees the
/// same descriptor; and ARC closes it in `deinit`, so a socket dropped on an error path
/// (a `bind` that throws, a `connect` that times out) is closed there, with no `defer`
/// to forget. The descriptor is an atomic value, swapped for -1 by `close()`: that makes
/// closing safe to do twice and from any thread, which is what makes the class `Sendable`.
///
/// A socket lives as long as something refers to it: keep each one in a variable (or a
/// collection) for as long as the connection should stay open; `let (_, server) = ...`
/// would close the first at once.
///
/// As in C, closing a socket while another thread is still inside a call on it is a
/// bug: the descriptor number may already belong to a new socket. Call `shutdown(.both)`
/// to wake that thread, and let it close the socket.
///
/// Every call that can block takes a `timeout` (nil: wait as long as it takes) and
/// throws `SocketError.timedOut` when it runs out. Errors are `SocketError`s, whose
/// descriptions read like `perror`: "connect: Connection refused".
public final class Socket: Sendable {
  /// The descriptor, -1 once closed: a closed socket's calls fail with EBADF instead
  /// of reaching whatever the kernel has since given that number to. Atomic, not behind
  /// a lock: every call reads it, and an atomic read costs no more than a plain one.
  private let state: Atomic<Int32>

  /// A new, unbound socket. Most programs use `listen`, `connect` or `datagram` instead.
  public init(family: AddressFamily, type: SocketType) throws(SocketError) {
    state = Atomic(try Posix.systemSocket(family, type).orThrow("socket"))
  }

  /// Takes ownership of a descriptor that the kernel has just handed out.
  init(adopting descriptor: Int32) {
    state = Atomic(descriptor)
  }

  deinit {
    close()
  }

  /// The descriptor, for poll(2) and friends; -1 once closed. Do not close it yourself.
  public var descriptor: Int32 {
    state.load(ordering: .acquiring)
  }

  /// Closes the socket now; later calls on it fail with EBADF. Closing twice is harmless:
  /// only the first exchange gets the descriptor back.
  public func close() {
    let descriptor = state.exchange(-1, ordering: .acquiringAndReleasing)
    if descriptor >= 0 {
      Posix.systemClose(descriptor)
    }
  }

  /// Gives the socket an address: a port to listen on, or a Unix-domain path.
  public func bind(to address: SocketAddress) throws(SocketError) {
    try Posix.systemBind(descriptor, address.storage).orThrow("bind")
  }

  /// Starts accepting connections, queueing up to `backlog` of them for `accept`.
  public func listen(backlog: Int = 128) throws(SocketError) {
    try Posix.systemListen(descriptor, backlog: Int32(clamping: backlog)).orThrow("listen")
    // A non-blocking listener keeps accept's deadline: after poll has seen a client,
    // another thread may accept it first or the client may give up, and a blocking
    // accept would then wait for the next client however long that takes.
    try Posix.systemFcntlSetNonBlocking(descriptor, true).orThrow("fcntl")
  }

  /// Waits for a client and returns the connection to it, with the client's address.
  public func accept(
    timeout: Duration? = nil
  ) throws(SocketError) -> (socket: Socket, address: SocketAddress) {
    var client = AddressStorage()
    let descriptor = try retrying("accept", until: Deadline(timeout), waitingFor: .readable) {
      Posix.systemAccept(self.descriptor, peer: &client)
    }
    return (Socket(adopting: descriptor), SocketAddress(client))
  }

  /// Connects to `address`: a server, or for a datagram socket the only peer it talks to.
  public func connect(to address: SocketAddress, timeout: Duration? = nil) throws(SocketError) {
    try connect(to: address, until: Deadline(timeout))
  }

  func connect(to address: SocketAddress, until deadline: Deadline) throws(SocketError) {
    // Start without blocking, then wait in poll: that is how the deadline applies, and
    // the one right way to finish a connect that a signal interrupted (EINTR): calling
    // connect again would fail with EALREADY while the first attempt goes on.
    let wasNonBlocking = try Posix.systemFcntlSetNonBlocking(descriptor, true).orThrow("fcntl")
    defer { _ = Posix.systemFcntlSetNonBlocking(descriptor, wasNonBlocking) }
    switch Posix.systemConnect(descriptor, to: address.storage) {
    case .success:
      return
    case .failure(let error) where error == .inProgress || error == .interrupted:
      try wait(for: .writable, until: deadline, in: "connect")
      let outcome = try Posix.systemGetsockoptError(descriptor).orThrow("getsockopt")
      if outcome != 0 {
        throw .system(call: "connect", errno: outcome)
      }
    case .failure(let error):
      throw .system(call: "connect", errno: error.code)
    }
  }

  /// Which way `shutdown` closes a connection.
  public enum Direction: Sendable {
    /// Nothing more will be read.
    case reading
    /// Nothing more will be sent: the peer reads end-of-file once it has read the rest.
    case writing
    case both
  }

  /// Ends one or both directions of a connection, keeping the descriptor open.
  public func shutdown(_ direction: Direction) throws(SocketError) {
    try Posix.systemShutdown(descriptor, direction).orThrow("shutdown")
  }

  /// Turns TCP keepalive on for this connection: once it has been silent for `idle`, the
  /// kernel sends a probe every `interval`, and when `count` of them go unanswered it
  /// fails the connection, so the next receive or send throws ETIMEDOUT. That is how a
  /// peer that vanished without a word (its machine off, its network gone) is noticed.
  /// The kernel counts whole seconds: a fraction is rounded up.
  public func enableKeepAlive(idle: Duration, interval: Duration, count: Int) throws(SocketError) {
    try Posix.systemSetsockoptKeepAlive(
      descriptor, idle: wholeSeconds(idle), interval: wholeSeconds(interval),
      count: Int32(clamping: count)
    ).orThrow("setsockopt")
  }

  /// The address this socket is bound to (getsockname). After `listen(port: 0)`, its
  /// `port` is the one the kernel picked.
  public var localAddress: SocketAddress {
    get throws(SocketError) {
      SocketAddress(try Posix.systemGetsockname(descriptor).orThrow("getsockname"))
    }
  }

  /// The address of the peer this socket is connected to (getpeername).
  public var remoteAddress: SocketAddress {
    get throws(SocketError) {
      SocketAddress(try Posix.systemGetpeername(descriptor).orThrow("getpeername"))
    }
  }
}

/// `duration` in whole seconds, rounded up, for the options the kernel counts in seconds.
private func wholeSeconds(_ duration: Duration) -> Int32 {
  let (seconds, attoseconds) = duration.components
  return Int32(clamping: attoseconds > 0 ? seconds + 1 : seconds)
}

/// A socket is equal only to itself, so that a program can keep what it knows about each
/// connection in a dictionary keyed by the socket a `Poller` event names.
extension Socket: Hashable {
  public static func == (lhs: Socket, rhs: Socket) -> Bool {
    lhs === rhs
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(ObjectIdentifier(self))
  }
}
