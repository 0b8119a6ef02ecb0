// Calls that never wait, for event loops. A `Poller` says which sockets are ready;
// these calls then do what can be done now and say what that was. "It would block" is
// an answer here, not an error: the loop goes back to the poller and asks again later.
//
// Every call of this library already passes MSG_DONTWAIT, so these work on a socket in
// either mode; `setNonBlocking` is for a descriptor that other code will use.

extension Socket {
  /// What `receiveNow` found.
  public enum Received: Equatable, Sendable {
    /// This many bytes (at least one), at the start of the buffer.
    case bytes(Int)
    /// The peer has shut down its sending side (recv returned 0): nothing more comes,
    /// though it may still read what is sent to it.
    case endOfStream
    /// Nothing has arrived yet (EAGAIN): wait until the socket is readable.
    case wouldBlock
  }

  /// Receives whatever has arrived on a stream socket, at most `maxCount` bytes (nil:
  /// as many as `buffer` holds), into the start of `buffer`, without waiting.
  ///
  /// `buffer` is the caller's, to reuse for every call: nothing is allocated here.
  public func receiveNow(
    into buffer: inout [UInt8], upTo maxCount: Int? = nil
  ) throws(SocketError) -> Received {
    let count = min(maxCount ?? buffer.count, buffer.count)
    precondition(count > 0, "an empty buffer could not tell data from end-of-file")
    let received = try once("recv") {
      Posix.systemRecv(descriptor, into: &buffer, 0..<count, peek: false)
    }
    switch received {
    case nil: return .wouldBlock
    case 0: return .endOfStream
    case let count?: return .bytes(count)
    }
  }

  /// Sends as much of `bytes` as the kernel takes now, and returns how much that was:
  /// all of it, part of it (a short write: its send buffer is nearly full), or 0 (it
  /// is full; it would block). Send the rest once the socket is writable.
  public func sendNow(_ bytes: ArraySlice<UInt8>) throws(SocketError) -> Int {
    try once("send") { Posix.systemSend(descriptor, bytes) } ?? 0
  }

  /// The next client waiting on this listener, or nil when none is (it would block).
  /// A client that gave up while it waited in the queue (ECONNABORTED) is skipped.
  public func acceptNow() throws(SocketError) -> (socket: Socket, address: SocketAddress)? {
    var client = AddressStorage()
    while true {
      switch Posix.systemAccept(descriptor, peer: &client) {
      case .success(let descriptor):
        return (Socket(adopting: descriptor), SocketAddress(client))
      case .failure(let error) where error == .interrupted || error == .connectionAborted:
        continue
      case .failure(let error) where error.wouldBlock:
        return nil
      case .failure(let error):
        throw .system(call: "accept", errno: error.code)
      }
    }
  }

  /// Whether the descriptor is in non-blocking mode (O_NONBLOCK). A listener is, from
  /// `listen` on: `accept` and `acceptNow` rely on it.
  public var isNonBlocking: Bool {
    get throws(SocketError) {
      try Posix.systemFcntlGetNonBlocking(descriptor).orThrow("fcntl")
    }
  }

  /// Sets or clears non-blocking mode (O_NONBLOCK): in it, recv, send, accept and
  /// connect on the descriptor fail with EAGAIN (or EINPROGRESS) instead of waiting.
  /// This library's own calls never wait in the kernel whatever the mode (they pass
  /// MSG_DONTWAIT, and wait in poll where their timeout applies), so the mode matters
  /// for code that calls the C functions on `descriptor` itself.
  public func setNonBlocking(_ enabled: Bool = true) throws(SocketError) {
    try Posix.systemFcntlSetNonBlocking(descriptor, enabled).orThrow("fcntl")
  }

  /// One non-blocking system call: its value, or nil if it would block. A signal that
  /// came before anything moved (EINTR) is no answer: the call is made again.
  private func once<T>(
    _ call: String, _ attempt: () -> Result<T, Errno>
  ) throws(SocketError) -> T? {
    while true {
      switch attempt() {
      case .success(let value): return value
      case .failure(.interrupted): continue
      case .failure(let error) where error.wouldBlock: return nil
      case .failure(let error): throw .system(call: call, errno: error.code)
      }
    }
  }
}
