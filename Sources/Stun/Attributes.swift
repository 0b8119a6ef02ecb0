// What the attributes mean: their types, the addresses (XOR-ed with the cookie, so that
// NATs which rewrite every copy of their public address in a packet leave them alone),
// ERROR-CODE, and the builders for the attributes a client sends.

public struct AttributeType: Hashable, Sendable, CustomStringConvertible {
  public let rawValue: UInt16

  public init(rawValue: UInt16) {
    self.rawValue = rawValue
  }

  public static let mappedAddress = AttributeType(rawValue: 0x0001)
  public static let username = AttributeType(rawValue: 0x0006)
  public static let messageIntegrity = AttributeType(rawValue: 0x0008)
  public static let errorCode = AttributeType(rawValue: 0x0009)
  public static let lifetime = AttributeType(rawValue: 0x000D)
  public static let xorPeerAddress = AttributeType(rawValue: 0x0012)
  public static let data = AttributeType(rawValue: 0x0013)
  public static let realm = AttributeType(rawValue: 0x0014)
  public static let nonce = AttributeType(rawValue: 0x0015)
  public static let xorRelayedAddress = AttributeType(rawValue: 0x0016)
  public static let requestedTransport = AttributeType(rawValue: 0x0019)
  public static let xorMappedAddress = AttributeType(rawValue: 0x0020)
  public static let software = AttributeType(rawValue: 0x8022)
  public static let fingerprint = AttributeType(rawValue: 0x8028)

  /// The address attributes whose value is XOR-ed with the cookie and transaction id.
  public var isXORed: Bool {
    [.xorMappedAddress, .xorPeerAddress, .xorRelayedAddress].contains(self)
  }

  public var description: String {
    switch self {
    case .mappedAddress: "MAPPED-ADDRESS"
    case .username: "USERNAME"
    case .messageIntegrity: "MESSAGE-INTEGRITY"
    case .errorCode: "ERROR-CODE"
    case .lifetime: "LIFETIME"
    case .xorPeerAddress: "XOR-PEER-ADDRESS"
    case .data: "DATA"
    case .realm: "REALM"
    case .nonce: "NONCE"
    case .xorRelayedAddress: "XOR-RELAYED-ADDRESS"
    case .requestedTransport: "REQUESTED-TRANSPORT"
    case .xorMappedAddress: "XOR-MAPPED-ADDRESS"
    case .software: "SOFTWARE"
    case .fingerprint: "FINGERPRINT"
    default: "attribute \(hex(rawValue))"
    }
  }
}

/// ERROR-CODE's content: "401 Unauthorized".
public struct ErrorCode: Hashable, Sendable, CustomStringConvertible {
  public let code: Int
  public let reason: String

  public init(code: Int, reason: String) {
    self.code = code
    self.reason = reason
  }

  public var description: String { reason.isEmpty ? "\(code)" : "\(code) \(reason)" }
}

extension StunMessage {
  /// The address in the first attribute of `type` (un-XOR-ed if it is an XOR one); nil
  /// if there is none. Throws if its family or length is wrong.
  public func address(_ type: AttributeType) throws(StunError) -> TransportAddress? {
    guard let value = value(of: type) else { return nil }
    // Family 0x01 is IPv4 (8 bytes in all), 0x02 IPv6 (20); byte 0 is reserved.
    guard value.count >= 4 else { throw .badValue(type, "\(value.count) bytes, not 8 or 20") }
    let expected = [0x01: 8, 0x02: 20][value[1]]
    guard let expected else { throw .badValue(type, "family \(hex(value[1])) is not IPv4 or IPv6") }
    guard value.count == expected else {
      throw .badValue(type, "\(value.count) bytes, not the \(expected) of its family")
    }
    let mask = type.isXORed ? xorMask : Array(repeating: 0, count: 16)
    let port = UInt16(value[2] ^ mask[0]) << 8 | UInt16(value[3] ^ mask[1])
    let ip = zip(value[4...], mask).map { $0 ^ $1 }
    return TransportAddress(ip: ip, port: port)
  }

  /// ERROR-CODE, if there is one: class (3-6) and number (0-99) make the code.
  public func errorCode() throws(StunError) -> ErrorCode? {
    guard let value = value(of: .errorCode) else { return nil }
    guard value.count >= 4 else {
      throw .badValue(.errorCode, "\(value.count) bytes, fewer than 4")
    }
    let (errorClass, number) = (Int(value[2] & 0x07), Int(value[3]))
    guard (3...6).contains(errorClass), number < 100 else {
      throw .badValue(
        .errorCode, "class \(errorClass) and number \(number) make no code from 300 to 699")
    }
    return ErrorCode(code: errorClass * 100 + number, reason: printable(value[4...]))
  }

  /// An address attribute for this message: XOR-ed with this message's cookie and
  /// transaction id if `type` is an XOR one.
  public func addressAttribute(
    _ type: AttributeType, _ address: TransportAddress
  ) -> StunAttribute {
    let family: UInt8 = address.ip.count == 4 ? 0x01 : 0x02
    let mask = type.isXORed ? xorMask : Array(repeating: 0, count: 16)
    let port = bigEndian(address.port)
    let value = [0, family, port[0] ^ mask[0], port[1] ^ mask[1]] + zip(address.ip, mask).map(^)
    return StunAttribute(type, value)
  }

  /// Cookie, then transaction id: an IPv4 address is XOR-ed with the first 4 bytes, an
  /// IPv6 address with all 16, the port with the first 2.
  private var xorMask: [UInt8] { bigEndian(Self.magicCookie) + transactionID.bytes }
}

extension StunAttribute {
  /// REQUESTED-TRANSPORT for a TURN allocation: protocol 17, UDP.
  public static let udpTransport = StunAttribute(.requestedTransport, [17, 0, 0, 0])
}

/// Text a server sent, safe to print on one line: invalid UTF-8 and control characters
/// become U+FFFD.
func printable(_ bytes: ArraySlice<UInt8>) -> String {
  let text = String(decoding: bytes, as: UTF8.self)
  let scalars = text.unicodeScalars.map {
    $0.properties.generalCategory == .control ? "\u{FFFD}" : $0
  }
  return String(String.UnicodeScalarView(scalars))
}
