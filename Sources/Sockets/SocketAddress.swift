// Where a socket is, or where to reach one.

/// The address families this library speaks.
public enum AddressFamily: Sendable, Hashable {
  case ipv4
  case ipv6
  /// Unix-domain: a path in the file system, for processes on one machine.
  case unix
}

/// An IPv4 or IPv6 address with a port, or a Unix-domain path: what `bind`, `connect`
/// and `send(_:to:)` take, and what `accept`, `receiveDatagram`, `localAddress` and
/// `remoteAddress` give back. It prints as `127.0.0.1:8080`, `[::1]:8080` or the path;
/// an IPv4 peer of a dual-stack socket (see `Socket.listen`) as `[::ffff:127.0.0.1]:8080`.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
  let storage: AddressStorage

  init(_ storage: AddressStorage) {
    self.storage = storage
  }

  /// Every address `host` stands for, best first: try them in turn, as `connect(host:)`
  /// does. `host` is a name ("localhost") or a numeric IPv4 or IPv6 address; nil means
  /// every local interface, for a server to bind. With a `family`, only addresses of
  /// that family: a name without one fails as getaddrinfo says.
  public static func resolve(
    host: String?, port: UInt16, family: AddressFamily? = nil
  ) throws(SocketError) -> [SocketAddress] {
    try Posix.systemGetaddrinfo(host: host, port: port, family: family).get()
      .map(SocketAddress.init)
  }

  /// The first address `host` stands for: where a datagram client sends.
  public init(host: String, port: UInt16) throws(SocketError) {
    self = try Self.resolve(host: host, port: port)[0]  // never empty: it throws instead
  }

  /// A Unix-domain address. Fails with ENAMETOOLONG when the path is too long for
  /// sun_path (107 bytes on Linux, 103 on Darwin).
  public init(unixPath path: String) throws(SocketError) {
    storage = try AddressStorage.unix(path: path).orThrow("sockaddr_un")
  }

  public var family: AddressFamily {
    storage.family
  }

  /// The IP address as text, "127.0.0.1" or "::1"; nil for Unix-domain.
  public var host: String? {
    family == .unix ? nil : storage.numericHost
  }

  /// The port; nil for Unix-domain.
  public var port: UInt16? {
    family == .unix ? nil : storage.port
  }

  /// An IPv6 address's flow label (0 unless the peer set one); nil for IPv4 and Unix.
  public var flowInfo: UInt32? {
    storage.flowInfoAndScope?.flowInfo
  }

  /// An IPv6 address's scope: the interface number of a link-local address, else 0;
  /// nil for IPv4 and Unix. (`host` names the interface too: "fe80::1%eth0".)
  public var scopeID: UInt32? {
    storage.flowInfoAndScope?.scopeID
  }

  /// The path of a Unix-domain address ("" for an unbound client's); nil for IP.
  public var path: String? {
    family == .unix ? storage.path : nil
  }

  public var description: String {
    switch family {
    case .ipv4: "\(storage.numericHost):\(storage.port)"
    case .ipv6: "[\(storage.numericHost)]:\(storage.port)"  // brackets: the colons are its own
    case .unix: storage.path
    }
  }
}
