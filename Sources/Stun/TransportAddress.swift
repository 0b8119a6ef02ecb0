// An IP address and a port as STUN carries them, and as the rendezvous protocol writes
// them: "203.0.113.1:50001".

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#else
  #error("Stun needs Glibc, Musl or Darwin for inet_ntop and inet_pton.")
#endif

public struct TransportAddress: Hashable, Sendable, CustomStringConvertible {
  /// 4 bytes (IPv4) or 16 (IPv6), in network order.
  public let ip: [UInt8]
  public let port: UInt16

  public init(ip: [UInt8], port: UInt16) {
    precondition(ip.count == 4 || ip.count == 16, "an IP address is 4 or 16 bytes")
    self.ip = ip
    self.port = port
  }

  /// A dotted IPv4 address and a port, "a.b.c.d:port", as inet_pton reads the address
  /// (four numbers 0-255, no leading zeros) and the port as 1 to 5 digits, 1 to 65535.
  public init?(ipv4 text: String) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, let ip = Self.ipv4(String(parts[0])) else { return nil }
    let digits = parts[1]
    guard (1...5).contains(digits.count), digits.allSatisfy(\.isASCII),
      digits.allSatisfy(\.isNumber),
      let port = UInt16(digits), port > 0
    else { return nil }
    self.init(ip: ip, port: port)
  }

  /// "203.0.113.1", "2001:db8::1".
  public var host: String {
    let family = ip.count == 4 ? AF_INET : AF_INET6
    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    _ = inet_ntop(family, ip, &text, socklen_t(text.count))  // cannot fail: right family, room
    return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// "203.0.113.1:50001", "[2001:db8::1]:50001".
  public var description: String { ip.count == 4 ? "\(host):\(port)" : "[\(host)]:\(port)" }

  private static func ipv4(_ text: String) -> [UInt8]? {
    var address = in_addr()
    guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
    return withUnsafeBytes(of: address) { Array($0) }  // s_addr is in network order already
  }
}
