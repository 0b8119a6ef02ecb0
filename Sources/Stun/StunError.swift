// Why bytes are not a STUN message we can use. A parser that reads what strangers send
// throws one of these, never traps: its description says what was wrong, on one line.

public enum StunError: Error, Hashable, CustomStringConvertible {
  /// Fewer bytes than the 20-byte header.
  case truncatedHeader(length: Int)
  /// The type's top two bits are not zero: another protocol's packet.
  case notStun(firstByte: UInt8)
  case badCookie(UInt32)
  /// The header's length field is not a multiple of 4.
  case unalignedLength(Int)
  /// The header's length field is not what follows the header in the datagram.
  case lengthMismatch(field: Int, actual: Int)
  /// An attribute's value (padded to 4 bytes) runs past the end of the message.
  case attributeOverrun(AttributeType, length: Int, room: Int)
  /// An attribute's value does not hold what its type says it holds.
  case badValue(AttributeType, String)
  /// An attribute the message needs is not in it.
  case missing(String)
  /// A message that is no response to a request of `method`.
  case unexpectedType(MessageType, expected: Method)

  public var description: String {
    switch self {
    case .truncatedHeader(let length):
      "\(length) bytes, shorter than the \(StunMessage.headerLength)-byte header"
    case .notStun(let byte):
      "first byte \(hex(byte)) does not start with two zero bits"
    case .badCookie(let cookie):
      "magic cookie \(hex(cookie)), not \(hex(StunMessage.magicCookie))"
    case .unalignedLength(let length):
      "length field \(length) is not a multiple of 4"
    case .lengthMismatch(let field, let actual):
      "length field \(field) but \(actual) bytes after the header"
    case .attributeOverrun(let type, let length, let room):
      "\(type) of length \(length) runs past the end (\(room) bytes left)"
    case .badValue(let type, let why):
      "\(type): \(why)"
    case .missing(let what):
      "no \(what)"
    case .unexpectedType(let type, let method):
      "message type \(hex(type.rawValue)) is a \(type), not a \(method) response"
    }
  }
}
