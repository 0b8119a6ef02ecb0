// One call to get a socket ready for work, as Python's create_server and
// create_connection do: resolve, open, set up, bind or connect.

extension Socket {
  /// A TCP server socket on `host` and `port` (0: a free one the kernel picks; read it
  /// back from `localAddress.port`).
  ///
  /// With no host it listens on every interface of both families, dual-stack: one IPv6
  /// socket on `::` with IPV6_V6ONLY off, which takes IPv4 clients too; they show as
  /// IPv4-mapped addresses, `[::ffff:127.0.0.1]:54321`. Where the system has no IPv6,
  /// it falls back to IPv4's `0.0.0.0`. A host ("0.0.0.0", "::1") means that address only.
  ///
  /// It sets SO_REUSEADDR, so a restarted server can bind its port at once even while
  /// connections of its previous run linger in TIME_WAIT.
  public static func listen(
    host: String? = nil, port: UInt16, backlog: Int = 128
  ) throws(SocketError) -> Socket {
    try firstThatWorks(serverAddresses(host: host, port: port)) {
      address throws(SocketError) in
      let socket = try Socket(family: address.family, type: .stream)
      try Posix.systemSetsockoptReuseAddress(socket.descriptor).orThrow("setsockopt")
      try socket.takeIPv4(address, if: host == nil)
      try socket.bind(to: address)
      try socket.listen(backlog: backlog)
      return socket
    }
  }

  /// A TCP connection to `host` (a name or a numeric address) and `port`. When the name
  /// has several addresses ("localhost" may be ::1 and 127.0.0.1), each is tried in
  /// turn; `timeout` bounds them all together.
  public static func connect(
    host: String, port: UInt16, timeout: Duration? = nil
  ) throws(SocketError) -> Socket {
    let deadline = Deadline(timeout)
    return try firstThatWorks(SocketAddress.resolve(host: host, port: port)) {
      address throws(SocketError) in
      let socket = try Socket(family: address.family, type: .stream)
      try socket.connect(to: address, until: deadline)
      return socket
    }
  }

  /// A UDP socket bound to `host` and `port` (0: any free one), for `receiveDatagram` and
  /// `send(_:to:)`. With no host, every interface of both families, as for `listen`:
  /// datagrams from IPv4 senders come from mapped addresses, and answers reach them.
  public static func datagram(host: String? = nil, port: UInt16 = 0) throws(SocketError) -> Socket {
    try firstThatWorks(serverAddresses(host: host, port: port)) {
      address throws(SocketError) in
      let socket = try Socket(family: address.family, type: .datagram)
      try socket.takeIPv4(address, if: host == nil)
      try socket.bind(to: address)
      return socket
    }
  }

  /// A Unix-domain stream server socket at `path`. The file must not exist yet (EADDRINUSE
  /// otherwise); removing it after use is the caller's job, as in C.
  public static func listen(path: String, backlog: Int = 128) throws(SocketError) -> Socket {
    let socket = try Socket(family: .unix, type: .stream)
    try socket.bind(to: SocketAddress(unixPath: path))
    try socket.listen(backlog: backlog)
    return socket
  }

  /// A Unix-domain stream connection to the server socket at `path`.
  public static func connect(path: String, timeout: Duration? = nil) throws(SocketError) -> Socket {
    let socket = try Socket(family: .unix, type: .stream)
    try socket.connect(to: SocketAddress(unixPath: path), timeout: timeout)
    return socket
  }

  /// A Unix-domain datagram socket bound to `path`. A client binds one too: a datagram
  /// from an unbound socket has no return address to answer.
  public static func datagram(path: String) throws(SocketError) -> Socket {
    let socket = try Socket(family: .unix, type: .datagram)
    try socket.bind(to: SocketAddress(unixPath: path))
    return socket
  }

  /// Where a server binds: `host`'s addresses; with no host, the wildcards `::` and
  /// `0.0.0.0`, IPv6 first (getaddrinfo puts IPv4 first on Linux), so a dual-stack
  /// socket is tried before the IPv4-only fallback.
  private static func serverAddresses(
    host: String?, port: UInt16
  ) throws(SocketError) -> [SocketAddress] {
    let addresses = try SocketAddress.resolve(host: host, port: port)
    guard host == nil else { return addresses }
    return addresses.filter { $0.family == .ipv6 } + addresses.filter { $0.family != .ipv6 }
  }

  /// Turns IPV6_V6ONLY off on a socket about to bind the IPv6 wildcard, so it takes IPv4
  /// too: said, not left to the system's default, which differs (see `systemSetsockoptV6Only`).
  private func takeIPv4(_ address: SocketAddress, if wildcard: Bool) throws(SocketError) {
    guard wildcard, address.family == .ipv6 else { return }
    try Posix.systemSetsockoptV6Only(descriptor, false).orThrow("setsockopt")
  }

  /// The first socket `open` manages to set up, trying the addresses in order; if none
  /// works, the error of the last. A socket that failed is closed as it goes out of scope.
  private static func firstThatWorks(
    _ addresses: [SocketAddress], _ open: (SocketAddress) throws(SocketError) -> Socket
  ) throws(SocketError) -> Socket {
    for address in addresses.dropLast() {
      // ::1 may refuse where 127.0.0.1 answers: on failure, go on to the next address.
      if let socket = try? open(address) { return socket }
    }
    return try open(addresses.last!)  // `resolve` returns at least one address or throws
  }
}
