// The system calls the library makes, one wrapper each, returning a Result instead of
// -1 and errno. The Platform+*.swift files are the only ones that import the C library:
// every difference between Glibc, Musl and Darwin is settled in them, and every C type
// stays in them, so the other files are plain Swift over `Posix`, `Errno` and
// `AddressStorage`.
//
// Naming: a wrapper is `system` and the C call it makes, camel-cased, as swift-system
// names its own (`system_socket`): `systemSocket` for socket(2), `systemGetsockname` for
// getsockname(2). It cannot be the C name alone: inside `Posix`, `socket(...)` would mean
// `Posix.socket`. Where one call serves two wrappers, what it is asked comes after
// (`systemFcntlGetNonBlocking`, `systemFcntlSetNonBlocking`). So `grep -i getsockname`
// finds the wrapper, its callers, and the name their errors report; and each wrapper's
// comment starts with the C call and its manual section, as in `socket(2)`.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#else
  #error("Sockets needs Glibc, Musl or Darwin.")
#endif

enum Posix {
  /// `strerror(3)`: "Connection refused".
  static func systemStrerror(_ code: Int32) -> String {
    String(cString: strerror(code))
  }

  /// `gai_strerror(3)`: getaddrinfo's codes are not errno values and have their own texts.
  static func systemGaiStrerror(_ code: Int32) -> String {
    String(cString: gai_strerror(code))
  }

  /// `socket(2)`, set up by `prepare`.
  static func systemSocket(_ family: AddressFamily, _ type: SocketType) -> Result<Int32, Errno> {
    checked(socket(family.cValue, type.cValue, 0)).flatMap(prepare)
  }

  /// `accept(2)`, set up by `prepare`; the client's address lands in `peer`.
  static func systemAccept(_ fd: Int32, peer: inout AddressStorage) -> Result<Int32, Errno> {
    peer.withMutableSockaddr { checked(accept(fd, $0, &$1)) }.flatMap(prepare)
  }

  /// What every new descriptor gets: close-on-exec, so that a program this one starts
  /// does not inherit its connections; on Darwin, SO_NOSIGPIPE (it has no MSG_NOSIGNAL)
  /// and blocking mode, which its accept copies from our non-blocking listeners.
  /// A descriptor that cannot be set up is closed, not leaked.
  private static func prepare(_ fd: Int32) -> Result<Int32, Errno> {
    var failed = fcntl(fd, F_SETFD, FD_CLOEXEC) == -1
    #if canImport(Darwin)
      var one: Int32 = 1
      let size = socklen_t(MemoryLayout<Int32>.size)
      failed = failed || setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, size) == -1
      failed = failed || (try? systemFcntlSetNonBlocking(fd, false).get()) == nil
    #endif
    guard failed else { return .success(fd) }
    let error = Errno.current
    close(fd)
    return .failure(error)
  }

  /// `close(2)`. Its result is ignored on purpose: the descriptor is released whatever it
  /// says (on Linux even after EINTR), so a retry could close a descriptor that another
  /// thread has just been given, and a caller could do nothing else about it.
  static func systemClose(_ fd: Int32) {
    _ = close(fd)
  }

  /// `bind(2)`.
  static func systemBind(_ fd: Int32, _ address: AddressStorage) -> Result<Int32, Errno> {
    address.withSockaddr { checked(bind(fd, $0, $1)) }
  }

  /// `listen(2)`.
  static func systemListen(_ fd: Int32, backlog: Int32) -> Result<Int32, Errno> {
    checked(listen(fd, backlog))
  }

  /// `connect(2)`: on a non-blocking socket it returns EINPROGRESS and goes on without us.
  static func systemConnect(_ fd: Int32, to address: AddressStorage) -> Result<Int32, Errno> {
    address.withSockaddr { checked(connect(fd, $0, $1)) }
  }

  /// `getsockopt(2)`, SO_ERROR: how a connect that went on in the background ended
  /// (0: well).
  static func systemGetsockoptError(_ fd: Int32) -> Result<Int32, Errno> {
    var error: Int32 = 0
    var size = socklen_t(MemoryLayout<Int32>.size)
    return checked(getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)).map { _ in error }
  }

  /// `shutdown(2)`.
  static func systemShutdown(_ fd: Int32, _ direction: Socket.Direction) -> Result<Int32, Errno> {
    let how =
      switch direction {
      case .reading: SHUT_RD
      case .writing: SHUT_WR
      case .both: SHUT_RDWR
      }
    return checked(shutdown(fd, Int32(how)))
  }

  /// `setsockopt(2)`, SO_REUSEADDR: bind a port whose earlier connections linger in
  /// TIME_WAIT.
  static func systemSetsockoptReuseAddress(_ fd: Int32) -> Result<Int32, Errno> {
    var one: Int32 = 1
    return checked(
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)))
  }

  /// `setsockopt(2)`, IPV6_V6ONLY: whether an IPv6 socket bound to `::` takes IPv6 only,
  /// or IPv4 as well, its peers then showing as mapped addresses (::ffff:127.0.0.1).
  /// Systems differ in the default (Linux: off, the BSDs: on), so the library says.
  static func systemSetsockoptV6Only(_ fd: Int32, _ enabled: Bool) -> Result<Int32, Errno> {
    var value: Int32 = enabled ? 1 : 0
    return checked(
      setsockopt(
        fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &value, socklen_t(MemoryLayout<Int32>.size)))
  }

  /// `setsockopt(2)`, TCP keepalive: the three settings in seconds and probes, then
  /// SO_KEEPALIVE on. Darwin names the idle time TCP_KEEPALIVE.
  static func systemSetsockoptKeepAlive(
    _ fd: Int32, idle: Int32, interval: Int32, count: Int32
  ) -> Result<Int32, Errno> {
    #if canImport(Darwin)
      let idleOption = TCP_KEEPALIVE
    #else
      let idleOption = TCP_KEEPIDLE
    #endif
    let size = socklen_t(MemoryLayout<Int32>.size)
    let tcp = Int32(IPPROTO_TCP)
    var (idle, interval, count, on) = (idle, interval, count, Int32(1))
    return checked(setsockopt(fd, tcp, idleOption, &idle, size))
      .flatMap { _ in checked(setsockopt(fd, tcp, TCP_KEEPINTVL, &interval, size)) }
      .flatMap { _ in checked(setsockopt(fd, tcp, TCP_KEEPCNT, &count, size)) }
      .flatMap { _ in checked(setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, size)) }
  }

  /// `fcntl(2)`, F_GETFL: whether O_NONBLOCK is set.
  static func systemFcntlGetNonBlocking(_ fd: Int32) -> Result<Bool, Errno> {
    checked(fcntl(fd, F_GETFL)).map { $0 & O_NONBLOCK != 0 }
  }

  /// `fcntl(2)`, F_SETFL with or without O_NONBLOCK; returns whether the descriptor was
  /// non-blocking before.
  static func systemFcntlSetNonBlocking(_ fd: Int32, _ enabled: Bool) -> Result<Bool, Errno> {
    let flags = fcntl(fd, F_GETFL)
    guard flags != -1 else { return .failure(.current) }
    let wanted = enabled ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
    guard wanted == flags || fcntl(fd, F_SETFL, wanted) != -1 else { return .failure(.current) }
    return .success(flags & O_NONBLOCK != 0)
  }

  /// `poll(2)` on one descriptor: 0 when `milliseconds` passed first (-1: no limit).
  static func systemPoll(
    _ readiness: Readiness, on fd: Int32, milliseconds: Int32
  ) -> Result<Int32, Errno> {
    // poll skips negative descriptors and would wait for nothing: a socket closed by
    // another thread (-1) fails here as every other call on it does.
    guard fd >= 0 else { return .failure(.badDescriptor) }
    var entry = pollfd(fd: fd, events: readiness.pollEvents, revents: 0)
    return checked(poll(&entry, 1, milliseconds))
  }

  /// `send(2)`, or `sendto(2)` when there is an address; may take only part of the bytes.
  static func systemSend(
    _ fd: Int32, _ bytes: ArraySlice<UInt8>, to address: AddressStorage? = nil
  ) -> Result<Int, Errno> {
    bytes.withUnsafeBytes { buffer in
      guard let address else {
        return checked(send(fd, buffer.baseAddress, buffer.count, sendFlags))
      }
      return address.withSockaddr {
        checked(sendto(fd, buffer.baseAddress, buffer.count, sendFlags, $0, $1))
      }
    }
  }

  /// `recv(2)` into `bytes[range]`; with `peek` the bytes stay queued in the kernel.
  static func systemRecv(
    _ fd: Int32, into bytes: inout [UInt8], _ range: Range<Int>, peek: Bool
  ) -> Result<Int, Errno> {
    let flags = peek ? receiveFlags | Int32(MSG_PEEK) : receiveFlags
    return bytes.withUnsafeMutableBytes { buffer in
      let part = UnsafeMutableRawBufferPointer(rebasing: buffer[range])
      return checked(recv(fd, part.baseAddress, part.count, flags))
    }
  }

  /// `recvmsg(2)`: one datagram, its sender, and whether it was cut to fit `bytes`.
  /// recvfrom(2) would cut a large datagram silently; recvmsg reports it with MSG_TRUNC.
  static func systemRecvmsg(
    _ fd: Int32, into bytes: inout [UInt8], sender: inout AddressStorage
  ) -> Result<(count: Int, truncated: Bool), Errno> {
    var name = sockaddr_storage()
    var message = msghdr()
    let received = bytes.withUnsafeMutableBytes { buffer in
      withUnsafeMutablePointer(to: &name) { namePointer in
        var vector = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
        return withUnsafeMutablePointer(to: &vector) { vectorPointer in
          message.msg_name = UnsafeMutableRawPointer(namePointer)
          message.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
          message.msg_iov = vectorPointer
          message.msg_iovlen = 1
          return checked(recvmsg(fd, &message, receiveFlags))
        }
      }
    }
    return received.map { count in
      if message.msg_namelen == 0 {
        // Only an unbound Unix-domain socket sends without an address: call it unnamed.
        name.ss_family = sa_family_t(AF_UNIX)
        message.msg_namelen = socklen_t(AddressStorage.unixPathOffset)
      }
      sender = AddressStorage(name, length: message.msg_namelen)
      return (count: count, truncated: message.msg_flags & Int32(MSG_TRUNC) != 0)
    }
  }

  /// `getsockname(2)`: the address this socket is bound to.
  static func systemGetsockname(_ fd: Int32) -> Result<AddressStorage, Errno> {
    var address = AddressStorage()
    return address.withMutableSockaddr { checked(getsockname(fd, $0, &$1)) }.map { _ in address }
  }

  /// `getpeername(2)`: the address of the other end of a connection.
  static func systemGetpeername(_ fd: Int32) -> Result<AddressStorage, Errno> {
    var address = AddressStorage()
    return address.withMutableSockaddr { checked(getpeername(fd, $0, &$1)) }.map { _ in address }
  }

  /// `getaddrinfo(3)`: the addresses of `host` (nil: every local interface) in the order
  /// the system prefers, of `family` only if one is given; never empty on success.
  static func systemGetaddrinfo(
    host: String?, port: UInt16, family: AddressFamily? = nil
  ) -> Result<[AddressStorage], SocketError> {
    var hints = addrinfo()
    hints.ai_family = family?.cValue ?? AF_UNSPEC
    // Stream only, else each address comes back once per socket type; they are the same.
    hints.ai_socktype = SocketType.stream.cValue
    hints.ai_flags = AI_NUMERICSERV | (host == nil ? AI_PASSIVE : 0)
    var list: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(host, String(port), &hints, &list)
    if status == EAI_SYSTEM { return .failure(.system(call: "getaddrinfo", errno: errno)) }
    guard status == 0 else { return .failure(.resolution(host: host ?? "*", code: status)) }
    defer { freeaddrinfo(list) }

    var addresses: [AddressStorage] = []
    var entry = list
    while let info = entry?.pointee {
      var name = sockaddr_storage()
      withUnsafeMutableBytes(of: &name) {
        $0.copyMemory(
          from: UnsafeRawBufferPointer(start: info.ai_addr, count: Int(info.ai_addrlen)))
      }
      let address = AddressStorage(name, length: info.ai_addrlen)
      if !addresses.contains(address) { addresses.append(address) }
      entry = info.ai_next
    }
    return addresses.isEmpty
      ? .failure(.resolution(host: host ?? "*", code: EAI_NONAME)) : .success(addresses)
  }
}
