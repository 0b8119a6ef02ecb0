// The one file that talks to the C library.
//
// Glibc, Musl and Darwin differ in small ways: SOCK_STREAM is an enum on Glibc and an
// Int32 elsewhere; Linux turns SIGPIPE off for each send (MSG_NOSIGNAL), Darwin for each
// socket (SO_NOSIGPIPE); Darwin's addresses carry their own length. Every such difference
// is settled here, and every C type stays here, so the other files are plain Swift over
// `Posix` and `AddressStorage` and import no C module at all.
//
// The wrappers cannot share the C functions' names (inside `Posix`, `socket(...)` would
// mean `Posix.socket`), so each says what it does and its comment names the C call.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#else
  #error("Sockets needs Glibc, Musl or Darwin.")
#endif

// MARK: - Constants

extension AddressFamily {
  fileprivate var cValue: Int32 {
    switch self {
    case .ipv4: AF_INET
    case .ipv6: AF_INET6
    case .unix: AF_UNIX
    }
  }
}

extension SocketType {
  fileprivate var cValue: Int32 {
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
/// with EPIPE instead of killing the process with SIGPIPE (Darwin: see `prepare`).
#if canImport(Darwin)
  private let sendFlags = Int32(MSG_DONTWAIT)
#else
  private let sendFlags = Int32(MSG_DONTWAIT | MSG_NOSIGNAL)
#endif
private let receiveFlags = Int32(MSG_DONTWAIT)

// MARK: - Errors

/// The errno of a failed call, read at once, before anything else can overwrite it.
struct Errno: Error, Equatable {
  let code: Int32

  static var current: Errno { Errno(code: errno) }
  static let interrupted = Errno(code: EINTR)
  static let inProgress = Errno(code: EINPROGRESS)
  static let badDescriptor = Errno(code: EBADF)
  static let alreadyRegistered = Errno(code: EEXIST)
  static let notRegistered = Errno(code: ENOENT)
  /// A client that reset its connection while it waited in the listen queue.
  static let connectionAborted = Errno(code: ECONNABORTED)

  /// EAGAIN or EWOULDBLOCK: equal on Linux and Darwin, but POSIX lets them differ.
  var wouldBlock: Bool { code == EAGAIN || code == EWOULDBLOCK }
}

/// A C call's result as a Swift value: -1 means failure, with the reason in errno.
func checked<T: BinaryInteger>(_ result: T) -> Result<T, Errno> {
  result == -1 ? .failure(.current) : .success(result)
}

// MARK: - Calls

enum Posix {
  /// strerror: "Connection refused".
  static func describe(errno code: Int32) -> String {
    String(cString: strerror(code))
  }

  /// gai_strerror: getaddrinfo's codes are not errno values and have their own texts.
  static func describe(resolutionError code: Int32) -> String {
    String(cString: gai_strerror(code))
  }

  /// socket(2), set up by `prepare`.
  static func makeSocket(_ family: AddressFamily, _ type: SocketType) -> Result<Int32, Errno> {
    checked(socket(family.cValue, type.cValue, 0)).flatMap(prepare)
  }

  /// accept(2), set up by `prepare`; the client's address lands in `peer`.
  static func acceptConnection(_ fd: Int32, peer: inout AddressStorage) -> Result<Int32, Errno> {
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
      failed = failed || (try? setNonBlocking(fd, false).get()) == nil
    #endif
    guard failed else { return .success(fd) }
    let error = Errno.current
    close(fd)
    return .failure(error)
  }

  /// close(2). Its result is ignored on purpose: the descriptor is released whatever it
  /// says (on Linux even after EINTR), so a retry could close a descriptor that another
  /// thread has just been given, and a caller could do nothing else about it.
  static func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
  }

  /// bind(2).
  static func bindAddress(_ fd: Int32, _ address: AddressStorage) -> Result<Int32, Errno> {
    address.withSockaddr { checked(bind(fd, $0, $1)) }
  }

  /// listen(2).
  static func listenForConnections(_ fd: Int32, backlog: Int32) -> Result<Int32, Errno> {
    checked(listen(fd, backlog))
  }

  /// connect(2): on a non-blocking socket it returns EINPROGRESS and goes on without us.
  static func startConnect(_ fd: Int32, to address: AddressStorage) -> Result<Int32, Errno> {
    address.withSockaddr { checked(connect(fd, $0, $1)) }
  }

  /// getsockopt(SO_ERROR): how a connect that went on in the background ended (0: well).
  static func pendingError(_ fd: Int32) -> Result<Int32, Errno> {
    var error: Int32 = 0
    var size = socklen_t(MemoryLayout<Int32>.size)
    return checked(getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)).map { _ in error }
  }

  /// shutdown(2).
  static func shutdownSocket(_ fd: Int32, _ direction: Socket.Direction) -> Result<Int32, Errno> {
    let how =
      switch direction {
      case .reading: SHUT_RD
      case .writing: SHUT_WR
      case .both: SHUT_RDWR
      }
    return checked(shutdown(fd, Int32(how)))
  }

  /// setsockopt(SO_REUSEADDR): bind a port whose earlier connections linger in TIME_WAIT.
  static func enableReuseAddress(_ fd: Int32) -> Result<Int32, Errno> {
    var one: Int32 = 1
    return checked(
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)))
  }

  /// fcntl(F_GETFL): whether O_NONBLOCK is set.
  static func isNonBlocking(_ fd: Int32) -> Result<Bool, Errno> {
    checked(fcntl(fd, F_GETFL)).map { $0 & O_NONBLOCK != 0 }
  }

  /// fcntl(O_NONBLOCK), returning whether the descriptor was non-blocking before.
  static func setNonBlocking(_ fd: Int32, _ enabled: Bool) -> Result<Bool, Errno> {
    let flags = fcntl(fd, F_GETFL)
    guard flags != -1 else { return .failure(.current) }
    let wanted = enabled ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
    guard wanted == flags || fcntl(fd, F_SETFL, wanted) != -1 else { return .failure(.current) }
    return .success(flags & O_NONBLOCK != 0)
  }

  /// poll(2) on one descriptor: 0 when `milliseconds` passed first (-1: no limit).
  static func waitFor(
    _ readiness: Readiness, on fd: Int32, milliseconds: Int32
  ) -> Result<Int32, Errno> {
    // poll skips negative descriptors and would wait for nothing: a socket closed by
    // another thread (-1) fails here as every other call on it does.
    guard fd >= 0 else { return .failure(.badDescriptor) }
    var entry = pollfd(fd: fd, events: readiness.pollEvents, revents: 0)
    return checked(poll(&entry, 1, milliseconds))
  }

  /// send(2), or sendto(2) when there is an address; may take only part of the bytes.
  static func sendBytes(
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

  /// recv(2) into `bytes[range]`; with `peek` the bytes stay queued in the kernel.
  static func receiveBytes(
    _ fd: Int32, into bytes: inout [UInt8], _ range: Range<Int>, peek: Bool
  ) -> Result<Int, Errno> {
    let flags = peek ? receiveFlags | Int32(MSG_PEEK) : receiveFlags
    return bytes.withUnsafeMutableBytes { buffer in
      let part = UnsafeMutableRawBufferPointer(rebasing: buffer[range])
      return checked(recv(fd, part.baseAddress, part.count, flags))
    }
  }

  /// recvmsg(2): one datagram, its sender, and whether it was cut to fit `bytes`.
  /// recvfrom(2) would cut a large datagram silently; recvmsg reports it with MSG_TRUNC.
  static func receiveDatagram(
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

  /// getsockname(2): the address this socket is bound to.
  static func localAddress(_ fd: Int32) -> Result<AddressStorage, Errno> {
    var address = AddressStorage()
    return address.withMutableSockaddr { checked(getsockname(fd, $0, &$1)) }.map { _ in address }
  }

  /// getpeername(2): the address of the other end of a connection.
  static func remoteAddress(_ fd: Int32) -> Result<AddressStorage, Errno> {
    var address = AddressStorage()
    return address.withMutableSockaddr { checked(getpeername(fd, $0, &$1)) }.map { _ in address }
  }

  /// getaddrinfo(3): the addresses of `host` (nil: every local interface) in the order
  /// the system prefers; never empty on success.
  static func resolve(host: String?, port: UInt16) -> Result<[AddressStorage], SocketError> {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
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

// MARK: - Addresses

/// A socket address as the kernel reads and writes it: a sockaddr_storage, big enough
/// for every family, and how many of its bytes are in use.
struct AddressStorage: Sendable, Hashable {
  private var raw: sockaddr_storage
  private var length: socklen_t

  /// Where sun_path starts in a sockaddr_un, after the family (and Darwin's length byte).
  static let unixPathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!

  /// An empty address with room for any family, for the kernel to fill in.
  init() {
    self.init(sockaddr_storage(), length: socklen_t(MemoryLayout<sockaddr_storage>.size))
  }

  fileprivate init(_ raw: sockaddr_storage, length: socklen_t) {
    self.raw = raw
    self.length = length
  }

  /// A Unix-domain address: ENAMETOOLONG when the path and its closing NUL do not fit
  /// in sun_path (108 bytes on Linux, 104 on Darwin), EINVAL when it is empty or has a NUL.
  static func unix(path: String) -> Result<AddressStorage, Errno> {
    let bytes = Array(path.utf8)
    let capacity = MemoryLayout<sockaddr_un>.size - unixPathOffset
    guard bytes.count < capacity else { return .failure(Errno(code: ENAMETOOLONG)) }
    guard !bytes.isEmpty, !bytes.contains(0) else { return .failure(Errno(code: EINVAL)) }

    var address = AddressStorage()
    address.length = socklen_t(unixPathOffset + bytes.count + 1)
    address.raw.ss_family = sa_family_t(AF_UNIX)
    #if canImport(Darwin)
      address.raw.ss_len = UInt8(address.length)
    #endif
    withUnsafeMutableBytes(of: &address.raw) {
      UnsafeMutableRawBufferPointer(rebasing: $0[unixPathOffset...]).copyBytes(from: bytes)
    }
    return .success(address)
  }

  var family: AddressFamily {
    switch Int32(raw.ss_family) {
    case AF_INET: .ipv4
    case AF_INET6: .ipv6
    case AF_UNIX: .unix
    default: preconditionFailure("address family \(raw.ss_family) is none this library opens")
    }
  }

  /// The port of an IP address (0 for Unix-domain), in host byte order.
  var port: UInt16 {
    switch family {
    case .ipv4: UInt16(bigEndian: view(as: sockaddr_in.self).sin_port)
    case .ipv6: UInt16(bigEndian: view(as: sockaddr_in6.self).sin6_port)
    case .unix: 0
    }
  }

  /// The IP address as text, "127.0.0.1" or "::1" (with "%eth0" for a scoped one).
  var numericHost: String {
    var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
    let status = withSockaddr {
      getnameinfo($0, $1, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST)
    }
    guard status == 0 else { return "?" }
    return text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
  }

  /// The path of a Unix-domain address; "" for an unnamed one (an unbound client's).
  var path: String {
    withUnsafeBytes(of: raw) { bytes in
      let end = max(Int(length), Self.unixPathOffset)
      return String(decoding: bytes[Self.unixPathOffset..<end].prefix { $0 != 0 }, as: UTF8.self)
    }
  }

  private func view<T>(as type: T.Type) -> T {
    withUnsafePointer(to: raw) { $0.withMemoryRebound(to: T.self, capacity: 1) { $0.pointee } }
  }

  /// The address as C calls take it: a `sockaddr *` and its length.
  fileprivate func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    withUnsafePointer(to: raw) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
    }
  }

  /// For calls that fill an address in: they take its capacity and leave its length.
  fileprivate mutating func withMutableSockaddr<R>(
    _ body: (UnsafeMutablePointer<sockaddr>, inout socklen_t) -> R
  ) -> R {
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let result = withUnsafeMutablePointer(to: &raw) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, &length) }
    }
    self.length = length
    return result
  }

  /// Two addresses are equal when the bytes in use are: same family, address and port.
  static func == (lhs: AddressStorage, rhs: AddressStorage) -> Bool {
    lhs.withBytesInUse { left in rhs.withBytesInUse { left.elementsEqual($0) } }
  }

  func hash(into hasher: inout Hasher) {
    withBytesInUse { hasher.combine(bytes: $0) }
  }

  private func withBytesInUse<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
    withUnsafeBytes(of: raw) { body(UnsafeRawBufferPointer(rebasing: $0.prefix(Int(length)))) }
  }
}
