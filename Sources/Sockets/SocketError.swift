// The one error type of the library.

/// What went wrong in a socket call. Its description reads like `perror`'s output,
/// "connect: Connection refused", so a program can print it and exit as the C ones do.
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

  public var description: String {
    switch self {
    case .system(let call, let errno):
      "\(call): \(Posix.describe(errno: errno))"
    case .resolution(let host, let code):
      "getaddrinfo \(host): \(Posix.describe(resolutionError: code))"
    case .timedOut(let call):
      "\(call): timed out"
    case .closedMidMessage(let received):
      "recv: peer closed the connection after \(received) bytes of a message"
    case .lineTooLong(let limit):
      "recv: line longer than \(limit) bytes"
    case .datagramTooLarge(let limit):
      "recvmsg: datagram longer than \(limit) bytes"
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
