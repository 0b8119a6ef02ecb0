// A socket address in the form the kernel reads and writes: Darwin's addresses carry
// their own length, sun_path's size differs, and only C can lay a sockaddr out.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#else
  #error("Sockets needs Glibc, Musl or Darwin.")
#endif

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

  /// An address a C call filled in, of which `length` bytes are in use.
  init(_ raw: sockaddr_storage, length: socklen_t) {
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

  /// An IPv6 address's flow label and scope (the interface of a link-local address),
  /// in host byte order; nil for the other families.
  var flowInfoAndScope: (flowInfo: UInt32, scopeID: UInt32)? {
    guard family == .ipv6 else { return nil }
    let address = view(as: sockaddr_in6.self)
    return (UInt32(bigEndian: address.sin6_flowinfo), address.sin6_scope_id)
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
  func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    withUnsafePointer(to: raw) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
    }
  }

  /// For calls that fill an address in: they take its capacity and leave its length.
  mutating func withMutableSockaddr<R>(
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
