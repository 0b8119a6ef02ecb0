// One call to get a socket ready for work, as Python's create_server and
// create_connection do: resolve, open, set up, bind or connect.

extension Socket {
  /// A TCP server socket on `host` (nil: every interface) and `port` (0: a free one the
  /// kernel picks; read it back from `localAddress.port`).
  ///
  /// It sets SO_REUSEADDR, so a restarted server can bind its port at once even while
  /// connections of its previous run linger in TIME_WAIT.
  public static func listen(
    host: String? = nil, port: UInt16, backlog: Int = 128
  ) throws(SocketError) -> Socket {
    try firstThatWorks(SocketAddress.resolve(host: host, port: port)) {
      address throws(SocketError) in
      let socket = try Socket(family: address.family, type: .stream)
      try Posix.systemSetsockoptReuseAddress(socket.descriptor).orThrow("setsockopt")
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

  /// A UDP socket bound to `host` (nil: every interface) and `port` (0: any free one),
  /// for `receiveDatagram` and `send(_:to:)`.
  public static func datagram(host: String? = nil, port: UInt16 = 0) throws(SocketError) -> Socket {
    try firstThatWorks(SocketAddress.resolve(host: host, port: port)) {
      address throws(SocketError) in
      let socket = try Socket(family: address.family, type: .datagram)
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
