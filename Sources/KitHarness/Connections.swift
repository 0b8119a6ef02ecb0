// Connections the test itself holds: a client that connects and stays silent, to
// show which servers it blocks; a listener that plays a server to a program.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

package final class SilentConnection {
  private var fd: Int32

  /// Connects to 127.0.0.1:port and sends nothing until closed; returns once the server's
  /// end of the connection exists, so any connection made after this one queues behind
  /// it. The connect is bounded: against a server whose backlog is full the kernel drops
  /// the SYN, and a blocking connect would retry it for minutes.
  package init(port: UInt16, within limit: Duration = .seconds(10)) throws {
    let deadline = ContinuousClock.now + limit
    fd = try EchoSocket.open(port: port, blocking: false)
    var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
    let done = poll(&ready, 1, milliseconds(until: deadline)) == 1
    let error = done ? EchoSocket.pendingError(fd) : ETIMEDOUT
    guard error == 0 else {
      Glibc.close(fd)
      throw HarnessError(
        description: "silent client: connect to port \(port): \(String(cString: strerror(error)))")
    }
    // Readable: the server already answered or closed, so its end was there.
    var answered = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    while !SocketQueues.isEstablished(peerOf: fd) {
      // allowed: the poll interval of a bounded wait, cut short by an answer or a close
      if poll(&answered, 1, 1) > 0 { return }
      guard ContinuousClock.now < deadline else {
        Glibc.close(fd)
        throw HarnessError(
          description: "silent client: port \(port)'s server never made its end of the connection")
      }
    }
  }

  package func close() {
    if fd >= 0 { Glibc.close(fd) }
    fd = -1
  }

  deinit { close() }
}

/// A TCP listening socket the test holds, to play the server to a client program.
package final class Listener: Sendable {
  package let fd: Int32

  /// Listens on `host` (dotted IPv4, e.g. 127.0.0.2 to tell a client's KIT_HOST from
  /// 127.0.0.1) and `port`.
  package init(host: String = "127.0.0.1", port: UInt16) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    let parsed = inet_pton(AF_INET, host, &address.sin_addr)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard fd >= 0, parsed == 1, bound == 0, listen(fd, 16) == 0 else {
      let code = errno
      if fd >= 0 { Glibc.close(fd) }
      // A reserved port in use: say who has it, as a server's bind failure does
      let holder = code == EADDRINUSE ? "; " + Running.taken(port) : ""
      throw HarnessError(
        description: "listener on \(host):\(port): \(String(cString: strerror(code)))\(holder)")
    }
  }

  /// The next connection, or an error naming what did not come within `limit`.
  package func accept(within limit: Duration) throws -> RawConnection {
    var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&ready, 1, milliseconds(until: .now + limit)) == 1 else {
      throw HarnessError(description: "no client connected within \(limit)")
    }
    // accept4(SOCK_CLOEXEC) is not imported; a parallel spawn in the gap could inherit it,
    // which only delays that program's end-of-file, never this test's answer.
    let client = Glibc.accept(fd, nil, nil)
    guard client >= 0 else {
      throw HarnessError(description: "accept: \(String(cString: strerror(errno)))")
    }
    _ = fcntl(client, F_SETFD, FD_CLOEXEC)
    return RawConnection(accepted: client)
  }

  deinit { Glibc.close(fd) }
}
