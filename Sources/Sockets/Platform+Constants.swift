// The C library's numbers for the library's Swift enums, and the flags of every send
// and receive. Glibc declares SOCK_STREAM as an enum, Musl and Darwin as an Int32;
// Linux turns SIGPIPE off for each send, Darwin for each socket: settled here.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#else
  #error("Sockets needs Glibc, Musl or Darwin.")
#endif

extension AddressFamily {
  var cValue: Int32 {
    switch self {
    case .ipv4: AF_INET
    case .ipv6: AF_INET6
    case .unix: AF_UNIX
    }
  }
}

extension SocketType {
  var cValue: Int32 {
    #if canImport(Glibc)
      // Glibc declares the socket types as an enum; Musl and Darwin as plain ints.
      switch self {
      case .stream: Int32(SOCK_STREAM.rawValue)
      case .datagram: Int32(SOCK_DGRAM.rawValue)
      }
    #else
      switch self {
      case .stream: SOCK_STREAM
      case .datagram: SOCK_DGRAM
      }
    #endif
  }
}

/// Flags for every send and receive. MSG_DONTWAIT: the call never blocks, a poll does
/// the waiting, so deadlines hold. MSG_NOSIGNAL: writing to a closed connection fails
/// with EPIPE instead of killing the process with SIGPIPE (Darwin: see `Posix.prepare`).
#if canImport(Darwin)
  let sendFlags = Int32(MSG_DONTWAIT)
#else
  let sendFlags = Int32(MSG_DONTWAIT | MSG_NOSIGNAL)
#endif
let receiveFlags = Int32(MSG_DONTWAIT)
