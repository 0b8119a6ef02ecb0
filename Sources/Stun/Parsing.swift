// Reading a message from bytes that anyone may have sent: every length is checked
// against what is really there before a byte is read, and whatever does not add up is
// a StunError, never a trap.

extension StunMessage {
  /// The transaction id of what may be a message: nil if it is too short to hold one.
  /// Lets a client ignore answers to other requests before judging them.
  public static func transactionID(in datagram: [UInt8]) -> TransactionID? {
    datagram.count >= headerLength ? TransactionID(Array(datagram[8..<20])) : nil
  }

  /// Parses one whole datagram: header, then attributes to its very end.
  public init(parsing datagram: [UInt8]) throws(StunError) {
    let spans = try Self.attributeSpans(in: datagram)
    self.init(
      type: MessageType(rawValue: uint16(datagram, 0)),
      transactionID: TransactionID(Array(datagram[8..<20])),
      attributes: spans.map { StunAttribute($0.type, Array(datagram[$0.value])) })
  }

  /// Whether the datagram's MESSAGE-INTEGRITY is the HMAC-SHA1 under `key` of what comes
  /// before it, the header's length counting up to MESSAGE-INTEGRITY's end. The padding
  /// of the covered attributes counts as sent, whatever its bytes.
  public static func hasValidIntegrity(_ datagram: [UInt8], key: [UInt8]) throws(StunError) -> Bool
  {
    let spans = try attributeSpans(in: datagram)
    guard let integrity = spans.first(where: { $0.type == .messageIntegrity }) else {
      throw .missing("MESSAGE-INTEGRITY")
    }
    guard integrity.value.count == 20 else {
      throw .badValue(.messageIntegrity, "\(integrity.value.count) bytes, not 20")
    }
    var covered = Array(datagram[..<integrity.start])
    setLength(of: &covered, to: covered.count - headerLength + integrityAttributeLength)
    return hmacSHA1(key: key, covered) == Array(datagram[integrity.value])
  }

  /// Checks the header, then walks the attributes: where each starts and its value lies.
  private static func attributeSpans(
    in datagram: [UInt8]
  ) throws(StunError) -> [(type: AttributeType, start: Int, value: Range<Int>)] {
    guard datagram.count >= headerLength else { throw .truncatedHeader(length: datagram.count) }
    guard datagram[0] & 0xC0 == 0 else { throw .notStun(firstByte: datagram[0]) }
    let cookie = UInt32(uint16(datagram, 4)) << 16 | UInt32(uint16(datagram, 6))
    guard cookie == magicCookie else { throw .badCookie(cookie) }
    let length = Int(uint16(datagram, 2))
    guard length % 4 == 0 else { throw .unalignedLength(length) }
    guard length == datagram.count - headerLength else {
      throw .lengthMismatch(field: length, actual: datagram.count - headerLength)
    }

    var spans: [(type: AttributeType, start: Int, value: Range<Int>)] = []
    var offset = headerLength
    // Every step is a multiple of 4, as is the length: a next attribute has its 4-byte
    // header whole.
    while offset < datagram.count {
      let type = AttributeType(rawValue: uint16(datagram, offset))
      let valueLength = Int(uint16(datagram, offset + 2))
      let valueStart = offset + 4
      let room = datagram.count - valueStart
      guard valueLength + padding(valueLength) <= room else {
        throw .attributeOverrun(type, length: valueLength, room: room)
      }
      spans.append((type, offset, valueStart..<valueStart + valueLength))
      offset = valueStart + valueLength + padding(valueLength)
    }
    return spans
  }
}

/// The big-endian 16-bit number at `offset`; the caller has checked it is there.
private func uint16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
  UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
}
