// What the kernel holds for a TCP connection the test has open: the bytes it sent that
// the other end has not acknowledged, and the bytes that have reached the other end but
// that its program has not read yet. With both, a test can cut a message into pieces and
// know that a program took each piece in a recv of its own, where the kernel would
// otherwise be free to merge them.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

package enum SocketQueues {
  /// Bytes written on `fd` that the other end has not acknowledged (SIOCOUTQ: sent or not).
  package static func unacknowledged(_ fd: Int32) -> Int {
    var count: Int32 = 0
    return ioctl(fd, UInt(TIOCOUTQ), &count) == 0 ? Int(count) : -1
  }

  /// Bytes that have reached the other end of `fd`'s connection (an IPv4 connection to a
  /// program on this machine) and wait there to be read; nil once that end is gone.
  package static func unread(byPeerOf fd: Int32) -> Int? {
    guard let ours = address(fd, getsockname), let theirs = address(fd, getpeername) else {
      return nil
    }
    return lookUp(peerOf: ours, at: theirs)?.unread
  }

  /// Whether the other end of `fd`'s connection (an IPv4 connection to a program on this
  /// machine) exists as a socket of its own: queued for accept, accepted, or closed since.
  /// A client's connect returns on the server's SYN-ACK, but the server makes its end
  /// only when the client's ACK reaches it, which a loaded machine may defer: until then
  /// a connection made later, from another CPU, can reach the accept queue first.
  package static func isEstablished(peerOf fd: Int32) -> Bool {
    guard let ours = address(fd, getsockname), let theirs = address(fd, getpeername) else {
      return false
    }
    // Not found, the listener (the kernel's lookup falls back to it), or a request sock
    // (TCP_NEW_SYN_RECV) still waiting for the ACK
    guard let state = lookUp(peerOf: ours, at: theirs)?.state else { return false }
    return state != 10 && state != 12
  }

  /// Their socket: local address theirs, remote ours. A server listening on IPv6 holds
  /// it as an IPv6 socket with IPv4-mapped addresses.
  private static func lookUp(peerOf ours: Endpoint, at theirs: Endpoint) -> Diagnosis? {
    diagnose(AF_INET, local: theirs, remote: ours)
      ?? diagnose(AF_INET6, local: theirs, remote: ours)
  }

  /// How a wait for the other end to read ended.
  package enum Progress: Equatable, Sendable {
    /// Its program has read every byte sent so far.
    case read
    /// It has sent something or closed: read `fd` to see which.
    case answered
    /// Bytes still wait there, unread, when the time is up.
    case unread(Int)
  }

  /// Waits until the program at the other end of `fd` has read every byte sent on it,
  /// or answered, or closed. Blocks the calling thread: run it through `onThread`.
  package static func waitUntilRead(_ fd: Int32, within limit: Duration) -> Progress {
    let deadline = ContinuousClock.now + limit
    var waiting = 0
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    while true {
      // Acknowledged first, then unread: the bytes were in their queue before we looked.
      if unacknowledged(fd) == 0, let unread = unread(byPeerOf: fd) {
        // A program that has closed its socket leaves nothing unread either, but its
        // close makes ours readable: look before saying it read.
        if unread == 0 { return poll(&entry, 1, 0) > 0 ? .answered : .read }
        waiting = unread
      }
      // allowed: the poll interval of a bounded wait, cut short by an answer or a close
      if poll(&entry, 1, 2) > 0 { return .answered }
      if ContinuousClock.now > deadline { return .unread(waiting) }
    }
  }

  /// An IPv4 address and port as they lie in a sockaddr_in, both in network byte order.
  private typealias Endpoint = (address: UInt32, port: UInt16)
  /// A socket's TCP state (linux/tcp_states.h: 1 established ... 10 listen, 12 new SYN
  /// received) and its receive queue.
  private typealias Diagnosis = (state: UInt8, unread: Int)

  private static func address(
    _ fd: Int32,
    _ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
  ) -> Endpoint? {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &length) }
    }
    guard named == 0, address.sin_family == sa_family_t(AF_INET) else { return nil }
    return (address.sin_addr.s_addr, address.sin_port)
  }

  /// The receive queue of one TCP socket, looked up by its addresses: what `ss` asks the
  /// kernel, over a NETLINK_SOCK_DIAG socket. The request is a netlink header and an
  /// inet_diag_req_v2, the answer an inet_diag_msg (linux/inet_diag.h), built and read
  /// here byte by byte because Glibc's module brings in neither.
  private static func diagnose(_ family: Int32, local: Endpoint, remote: Endpoint)
    -> Diagnosis?
  {
    // NETLINK_SOCK_DIAG is 4
    let diag = socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 4)
    guard diag >= 0 else { return nil }
    defer { close(diag) }
    // The kernel answers at once; a bound all the same, as on every wait.
    var timeout = timeval(tv_sec: 1, tv_usec: 0)
    _ = setsockopt(diag, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var request = [UInt8](repeating: 0, count: 72)
    func put<T>(_ value: T, at offset: Int) {
      withUnsafeBytes(of: value) { request.replaceSubrange(offset..<offset + $0.count, with: $0) }
    }
    put(UInt32(request.count), at: 0)  // nlmsg_len
    put(UInt16(20), at: 4)  // nlmsg_type: SOCK_DIAG_BY_FAMILY
    put(UInt16(1), at: 6)  // nlmsg_flags: NLM_F_REQUEST, for one socket (not a dump)
    request[16] = UInt8(family)
    request[17] = UInt8(IPPROTO_TCP)
    put(UInt32.max, at: 20)  // in any state
    put(local.port, at: 24)
    put(remote.port, at: 26)
    // The addresses: 16 bytes each, an IPv4 one in the first 4, or IPv4-mapped IPv6.
    let (source, destination) = family == AF_INET ? (28, 44) : (40, 56)
    if family == AF_INET6 {
      put(UInt32(0xffff).bigEndian, at: 36)
      put(UInt32(0xffff).bigEndian, at: 52)
    }
    put(local.address, at: source)
    put(remote.address, at: destination)
    put(UInt64.max, at: 64)  // no cookie
    var reply = [UInt8](repeating: 0, count: 1024)
    guard send(diag, request, request.count, 0) == request.count,
      case let count = recv(diag, &reply, reply.count, 0), count >= 80,
      reply.withUnsafeBytes({ $0.load(fromByteOffset: 4, as: UInt16.self) }) == 20
    else { return nil }  // NLMSG_ERROR: no such socket
    // After the 16-byte header: family, state, timer, retransmits, the 48-byte socket id,
    // expires, then rqueue (received, not read).
    return (reply[17], Int(reply.withUnsafeBytes { $0.load(fromByteOffset: 72, as: UInt32.self) }))
  }
}
