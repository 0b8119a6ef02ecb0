// The one error type of the library.

/// What went wrong in a socket call. Its description reads like `perror`'s output,
/// "connect: Connection refused", so a program can print it and exit as the C ones do.
/// `call` and `reason` are its two halves, for a program that words the line itself,
/// as C's `perror("accept failed")` does.
public enum SocketError: Error, Equatable, CustomStringConvertible {
  /// A system call failed: `call` is its C name, `errno` the code it left.
  case system(call: String, errno: Int32)
  /// getaddrinfo could not resolve `host`. `code` is an EAI_ code, not an errno: its
  /// text comes from gai_strerror.
  case resolution(host: String, code: Int32)
  /// A call did not finish before its timeout.
  case timedOut(call: String)
  /// The peer closed the connection in the middle of a message (`receive(exactly:)`,
  /// `receiveLine`) after sending `received` bytes of it.
  case closedMidMessage(received: Int)
  /// `receiveLine` read more than `limit` bytes without finding a newline.
  case lineTooLong(limit: Int)
  /// `receiveDatagram` got a datagram longer than `limit` bytes; the rest is lost.
  case datagramTooLarge(limit: Int)
  /// A `Poller` over select(2) was given a socket whose descriptor does not fit in an
  /// fd_set: select watches descriptors below FD_SETSIZE (`limit`, 1024 on Linux) only.
  case descriptorTooLarge(descriptor: Int32, limit: Int32)

  /// The C call that failed: "connect", "recv", "getaddrinfo", "select".
  public var call: String {
    switch self {
    case .system(let call, _), .timedOut(let call): call
    case .resolution: "getaddrinfo"
    case .closedMidMessage, .lineTooLong: "recv"
    case .datagramTooLarge: "recvmsg"
    case .descriptorTooLarge: "select"
    }
  }

  /// Why, without the call: "Connection refused", "timed out".
  public var reason: String {
    switch self {
    case .system(_, let errno): Posix.systemStrerror(errno)
    case .resolution(_, let code): Posix.systemGaiStrerror(code)
    case .timedOut: "timed out"
    case .closedMidMessage(let received):
      "peer closed the connection after \(received) bytes of a message"
    case .lineTooLong(let limit): "line longer than \(limit) bytes"
    case .datagramTooLarge(let limit): "datagram longer than \(limit) bytes"
    case .descriptorTooLarge(let descriptor, let limit):
      "descriptor \(descriptor) is not below FD_SETSIZE (\(limit))"
    }
  }

  public var description: String {
    switch self {
    case .resolution(let host, _): "getaddrinfo \(host): \(reason)"  // which name failed
    default: "\(call): \(reason)"
    }
  }
}

extension Result where Failure == Errno {
  /// The value, or the failure as the `SocketError` of `call`.
  @discardableResult
  func orThrow(_ call: String) throws(SocketError) -> Success {
    try mapError { SocketError.system(call: call, errno: $0.code) }.get()
  }
}
