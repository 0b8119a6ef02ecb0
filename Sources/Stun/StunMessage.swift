// A STUN message (RFC 8489 section 5) as a value: a type, a transaction id and a list
// of attributes. Building one and encoding it is here; reading one from untrusted
// bytes is in Parsing.swift, the meaning of each attribute in Attributes.swift.

/// A message's type: a method (Binding, Allocate...) and a class (request, success...),
/// whose bits the header interleaves in 14 bits.
public struct MessageType: Hashable, Sendable, CustomStringConvertible {
  public var method: Method
  public var messageClass: MessageClass

  public init(_ method: Method, _ messageClass: MessageClass) {
    self.method = method
    self.messageClass = messageClass
  }

  /// The 16 bits of the header: M11-M7, C1, M6-M4, C0, M3-M0 (the top two bits zero).
  public init(rawValue: UInt16) {
    let method = rawValue & 0x000F | (rawValue >> 1) & 0x0070 | (rawValue >> 2) & 0x0F80
    let classBits = (rawValue >> 4) & 0b01 | (rawValue >> 7) & 0b10
    self.init(Method(rawValue: method), MessageClass(rawValue: classBits)!)  // 2 bits: 0...3
  }

  public var rawValue: UInt16 {
    let (m, c) = (method.rawValue, messageClass.rawValue)
    return m & 0x000F | (m & 0x0070) << 1 | (m & 0x0F80) << 2 | (c & 0b01) << 4 | (c & 0b10) << 7
  }

  public var description: String { "\(method) \(messageClass)" }

  public static let bindingRequest = MessageType(.binding, .request)
  public static let bindingSuccess = MessageType(.binding, .success)
  public static let bindingError = MessageType(.binding, .error)
}

/// What a request asks for. RFC 8489 defines Binding; RFC 8656 (TURN) the others.
public struct Method: Hashable, Sendable, CustomStringConvertible {
  public let rawValue: UInt16

  public init(rawValue: UInt16) {
    self.rawValue = rawValue
  }

  public static let binding = Method(rawValue: 0x001)
  public static let allocate = Method(rawValue: 0x003)
  public static let refresh = Method(rawValue: 0x004)
  public static let send = Method(rawValue: 0x006)
  public static let data = Method(rawValue: 0x007)
  public static let createPermission = Method(rawValue: 0x008)

  public var description: String {
    switch self {
    case .binding: "Binding"
    case .allocate: "Allocate"
    case .refresh: "Refresh"
    case .send: "Send"
    case .data: "Data"
    case .createPermission: "CreatePermission"
    default: "method \(hex(rawValue))"
    }
  }
}

/// A request expects a success or an error response; an indication expects nothing.
public enum MessageClass: UInt16, Sendable, CustomStringConvertible {
  case request = 0
  case indication = 1
  case success = 2
  case error = 3

  public var description: String {
    switch self {
    case .request: "request"
    case .indication: "indication"
    case .success: "success response"
    case .error: "error response"
    }
  }
}

/// 96 bits that tie a response to its request. Random, so that an attacker off the path
/// cannot guess them and answer first.
public struct TransactionID: Hashable, Sendable, CustomStringConvertible {
  public let bytes: [UInt8]

  /// `bytes` must be 12 bytes long.
  public init(_ bytes: [UInt8]) {
    precondition(bytes.count == 12, "a transaction id is 12 bytes")
    self.bytes = bytes
  }

  /// A fresh id from the system's secure random source.
  public static func random() -> TransactionID {
    var generator = SystemRandomNumberGenerator()
    return TransactionID((0..<12).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
  }

  public var description: String { bytes.map { hex($0) }.joined(separator: " ") }
}

/// One attribute: a type and its value, unpadded (encoding pads it to 4 bytes).
public struct StunAttribute: Hashable, Sendable {
  public var type: AttributeType
  public var value: [UInt8]

  public init(_ type: AttributeType, _ value: [UInt8]) {
    self.type = type
    self.value = value
  }
}

public struct StunMessage: Hashable, Sendable {
  /// Bytes 4-7 of every message since RFC 5389: how STUN is told from other traffic.
  public static let magicCookie: UInt32 = 0x2112_A442
  /// Type, length, cookie, transaction id.
  public static let headerLength = 20

  public var type: MessageType
  public var transactionID: TransactionID
  public var attributes: [StunAttribute]

  public init(
    type: MessageType, transactionID: TransactionID = .random(), attributes: [StunAttribute] = []
  ) {
    self.type = type
    self.transactionID = transactionID
    self.attributes = attributes
  }

  /// The value of the first attribute of `type`, if there is one.
  public func value(of type: AttributeType) -> [UInt8]? {
    attributes.first { $0.type == type }?.value
  }

  /// The message as it goes on the wire, each value padded with zeros to 4 bytes.
  public func encoded() -> [UInt8] {
    var body: [UInt8] = []
    for attribute in attributes {
      body += bigEndian(attribute.type.rawValue) + bigEndian(UInt16(attribute.value.count))
      body += attribute.value + Array(repeating: 0, count: padding(attribute.value.count))
    }
    return bigEndian(type.rawValue) + bigEndian(UInt16(body.count))
      + bigEndian(Self.magicCookie) + transactionID.bytes + body
  }

  /// The message with MESSAGE-INTEGRITY last: HMAC-SHA1 under `key` over everything
  /// before it, with the header's length already counting it (RFC 8489 section 14.5).
  public func encoded(integrityKey key: [UInt8]) -> [UInt8] {
    var bytes = encoded()
    setLength(of: &bytes, to: bytes.count - Self.headerLength + integrityAttributeLength)
    let mac = hmacSHA1(key: key, bytes)
    return bytes + bigEndian(AttributeType.messageIntegrity.rawValue) + bigEndian(UInt16(20)) + mac
  }
}

/// MESSAGE-INTEGRITY's 4-byte header and 20-byte HMAC-SHA1.
let integrityAttributeLength = 24

/// Zero bytes that bring `length` to a multiple of 4.
func padding(_ length: Int) -> Int { (4 - length % 4) % 4 }

func setLength(of message: inout [UInt8], to length: Int) {
  message.replaceSubrange(2..<4, with: bigEndian(UInt16(length)))
}

func bigEndian(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

func bigEndian(_ value: UInt32) -> [UInt8] {
  [
    UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF),
    UInt8(value & 0xFF),
  ]
}

/// "0x0020", "0x2112a442", "0xb7": how the RFCs write numbers.
func hex<T: FixedWidthInteger>(_ value: T) -> String {
  let digits = String(value, radix: 16)
  return "0x" + String(repeating: "0", count: T.bitWidth / 4 - digits.count) + digits
}
