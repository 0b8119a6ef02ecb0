// The Stun library: messages built, encoded and parsed back; RFC 5769's published
// sample messages read and their MESSAGE-INTEGRITY checked (and one rebuilt byte for
// byte); and every kind of malformed input refused with its own error, never a trap.
import Stun
import Testing

/// Hex as the RFCs print it, "00 01 00 58 ...", as bytes.
func bytes(_ hex: String) -> [UInt8] {
  hex.split(whereSeparator: \.isWhitespace).map { UInt8($0, radix: 16)! }
}

/// A header of `type` whose length field says `length`, cookie and an id of 12 ones.
func header(type: UInt16 = 0x0101, length: Int, cookie: UInt32 = StunMessage.magicCookie)
  -> [UInt8]
{
  [UInt8(type >> 8), UInt8(type & 0xFF), UInt8(length >> 8), UInt8(length & 0xFF)]
    + [24, 16, 8, 0].map { UInt8((cookie >> $0) & 0xFF) } + Array(repeating: 1, count: 12)
}

/// RFC 5769's samples, from its section 2.
enum RFC5769 {
  static let transactionID = TransactionID(bytes("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"))
  /// Sections 2.1 to 2.3 use a short-term credential: the password itself is the key.
  static let shortTermKey = Array("VOkJxbRl1RmTxUk/WvJxBt".utf8)

  /// 2.1: a Binding request with SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME (padded
  /// with spaces), MESSAGE-INTEGRITY and FINGERPRINT.
  static let request = bytes(
    """
    00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
    00 24 00 04 6e 00 01 ff 80 29 00 08 93 2f f9 b1 51 26 3b 36
    00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
    00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
    80 28 00 04 e5 7a 3b cf
    """)

  /// 2.2: the success response, XOR-MAPPED-ADDRESS 192.0.2.1:32853.
  static let ipv4Response = bytes(
    """
    01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 08 00 01 a1 47 e1 12 a6 43
    00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
    80 28 00 04 c0 7d 4c 96
    """)

  /// 2.3: the same with an IPv6 address, 2001:db8:1234:5678:11:2233:4455:6677 port 32853.
  static let ipv6Response = bytes(
    """
    01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
    00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
    80 28 00 04 c8 fb 0b 4c
    """)

  /// 2.4: a request with long-term credentials: USERNAME (six katakana), NONCE, REALM
  /// "example.org", MESSAGE-INTEGRITY; zero padding. The password "The<U+00AD>M<U+00AA>tr
  /// <U+2168>" is "TheMatrIX" after SASLprep, which the library leaves to its caller.
  static let longTermRequest = bytes(
    """
    00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
    00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
    00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
    00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
    00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66
    """)
  static let username = "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}"
  static let nonce = Array("f//499k954d6OL34oL9FSTvy64sA".utf8)
  static let realm = Array("example.org".utf8)
}

@Suite("STUN messages")
struct StunMessageTests {
  @Test("the type's 14 bits are a method and a class, both ways")
  func messageTypes() {
    let known: [(UInt16, Method, MessageClass)] = [
      (0x0001, .binding, .request), (0x0101, .binding, .success), (0x0111, .binding, .error),
      (0x0003, .allocate, .request), (0x0103, .allocate, .success), (0x0113, .allocate, .error),
      (0x0008, .createPermission, .request), (0x0118, .createPermission, .error),
      (0x0016, .send, .indication), (0x0017, .data, .indication),
    ]
    for (raw, method, messageClass) in known {
      #expect(MessageType(rawValue: raw) == MessageType(method, messageClass), "\(raw)")
      #expect(MessageType(method, messageClass).rawValue == raw)
    }
    for raw in UInt16(0)..<0x4000 {
      #expect(MessageType(rawValue: raw).rawValue == raw)
    }
  }

  @Test("a Binding request is 20 bytes: type, zero length, cookie, transaction id")
  func bindingRequest() {
    let id = TransactionID.random()
    let encoded = StunMessage(type: .bindingRequest, transactionID: id).encoded()
    #expect(encoded == bytes("00 01 00 00 21 12 a4 42") + id.bytes)
    #expect(TransactionID.random() != id, "96 random bits do not repeat")
  }

  @Test("attributes of every length are padded to 4 bytes and parse back the same")
  func roundTrip() throws {
    let attributes = (0...9).map { (length: UInt8) in
      StunAttribute(AttributeType(rawValue: 0x8000 + UInt16(length)), Array(0..<length))
    }
    let message = StunMessage(type: MessageType(.allocate, .success), attributes: attributes)
    let encoded = message.encoded()
    // 10 headers of 4 bytes; values of 0 to 9 bytes padded to 0, 4, 4, 4, 4, 8, 8, 8, 8, 12
    #expect(encoded.count == 20 + 10 * 4 + 60)
    #expect(try StunMessage(parsing: encoded) == message)
  }

  @Test("addresses, XOR-ed or not, IPv4 and IPv6, parse back the same")
  func addresses() throws {
    let v4 = TransportAddress(ip: [203, 0, 113, 1], port: 50001)
    let v6 = TransportAddress(ip: Array(1...16), port: 3478)
    for type in [
      AttributeType.xorMappedAddress, .mappedAddress, .xorRelayedAddress, .xorPeerAddress,
    ] {
      for address in [v4, v6] {
        var message = StunMessage(type: .bindingSuccess)
        message.attributes = [message.addressAttribute(type, address)]
        let parsed = try StunMessage(parsing: message.encoded())
        #expect(try parsed.address(type) == address, "\(type) \(address)")
        #expect(type.isXORed == (message.attributes[0].value[2...] != bigEndianPort(address)))
      }
    }
    #expect(v4.description == "203.0.113.1:50001")
    #expect(v6.description == "[102:304:506:708:90a:b0c:d0e:f10]:3478")
  }

  func bigEndianPort(_ address: TransportAddress) -> ArraySlice<UInt8> {
    ([UInt8(address.port >> 8), UInt8(address.port & 0xFF)] + address.ip)[...]
  }

  @Test("ERROR-CODE: class and number, reason as printable text")
  func errorCodes() throws {
    let value: [UInt8] = [0, 0, 4, 1] + Array("Unauthorized".utf8)
    let message = StunMessage(type: .bindingError, attributes: [StunAttribute(.errorCode, value)])
    #expect(try message.errorCode() == ErrorCode(code: 401, reason: "Unauthorized"))
    #expect(try message.errorCode()?.description == "401 Unauthorized")
    let hostile = StunMessage(
      type: .bindingError, attributes: [StunAttribute(.errorCode, [0, 0, 4, 38, 0x0A, 0xFF, 0x41])])
    #expect(try hostile.errorCode()?.description == "438 \u{FFFD}\u{FFFD}A")
    #expect(try StunMessage(type: .bindingError).errorCode() == nil)
  }

  @Test(
    "a dotted IPv4 address and port, strictly",
    arguments: [
      ("192.0.2.1:32853", "192.0.2.1:32853"), ("0.0.0.0:1", "0.0.0.0:1"),
      ("255.255.255.255:65535", "255.255.255.255:65535"), ("1.2.3.4:00", nil),
      ("1.2.3.4", nil), ("1.2.3.4:", nil), (":80", nil), ("1.2.3.4:0", nil), ("1.2.3.4:65536", nil),
      ("1.2.3.4:+80", nil), ("1.2.3.4:８０", nil), ("01.2.3.4:80", nil), ("1.2.3:80", nil),
      ("256.1.1.1:80", nil), ("host:80", nil), ("1.2.3.4:80:80", nil), ("1.2.3.4:123456", nil),
    ] as [(String, String?)])
  func ipv4(text: String, expected: String?) {
    #expect(TransportAddress(ipv4: text)?.description == expected)
  }
}

@Suite("RFC 5769 sample messages")
struct RFC5769Tests {
  @Test("2.1: the request's attributes, and its MESSAGE-INTEGRITY under the password")
  func request() throws {
    let message = try StunMessage(parsing: RFC5769.request)
    #expect(message.type == .bindingRequest)
    #expect(message.transactionID == RFC5769.transactionID)
    #expect(message.value(of: .software) == Array("STUN test client".utf8))
    #expect(message.value(of: .username) == Array("evtj:h6vY".utf8))
    #expect(
      message.attributes.map(\.type.rawValue) == [0x8022, 0x0024, 0x8029, 0x0006, 0x0008, 0x8028])
    #expect(try StunMessage.hasValidIntegrity(RFC5769.request, key: RFC5769.shortTermKey))
    #expect(try !StunMessage.hasValidIntegrity(RFC5769.request, key: Array("wrong".utf8)))
    var tampered = RFC5769.request
    tampered[45] ^= 1  // a byte of PRIORITY
    #expect(try !StunMessage.hasValidIntegrity(tampered, key: RFC5769.shortTermKey))
  }

  @Test("2.2 and 2.3: XOR-MAPPED-ADDRESS, IPv4 and IPv6, and MESSAGE-INTEGRITY")
  func responses() throws {
    for (datagram, expected) in [
      (RFC5769.ipv4Response, "192.0.2.1:32853"),
      (RFC5769.ipv6Response, "[2001:db8:1234:5678:11:2233:4455:6677]:32853"),
    ] {
      let message = try StunMessage(parsing: datagram)
      #expect(message.type == .bindingSuccess)
      #expect(message.transactionID == RFC5769.transactionID)
      #expect(try message.address(.xorMappedAddress)?.description == expected)
      #expect(message.value(of: .software) == Array("test vector".utf8))
      #expect(try StunMessage.hasValidIntegrity(datagram, key: RFC5769.shortTermKey))
    }
  }

  @Test("2.4: the long-term key, and the request rebuilt byte for byte")
  func longTermRequest() throws {
    let key = longTermKey(username: RFC5769.username, realm: RFC5769.realm, password: "TheMatrIX")
    #expect(try StunMessage.hasValidIntegrity(RFC5769.longTermRequest, key: key))
    let rebuilt = StunMessage(
      type: .bindingRequest,
      transactionID: TransactionID(bytes("78 ad 34 33 c6 ad 72 c0 29 da 41 2e")),
      attributes: [
        StunAttribute(.username, Array(RFC5769.username.utf8)),
        StunAttribute(.nonce, RFC5769.nonce), StunAttribute(.realm, RFC5769.realm),
      ])
    #expect(rebuilt.encoded(integrityKey: key) == RFC5769.longTermRequest)
  }
}

@Suite("malformed STUN input")
struct MalformedTests {
  @Test(
    "each defect of the header or the attributes has its own error",
    arguments: [
      (Array(header(length: 0).prefix(19)), StunError.truncatedHeader(length: 19)),
      ([], .truncatedHeader(length: 0)),
      ([0x41] + header(length: 0).dropFirst(), .notStun(firstByte: 0x41)),
      ([0x81] + header(length: 0).dropFirst(), .notStun(firstByte: 0x81)),
      (header(length: 0, cookie: 0x2112_A443), .badCookie(0x2112_A443)),
      (header(length: 3) + [0, 0, 0], .unalignedLength(3)),
      (header(length: 8) + [0, 1, 0, 0], .lengthMismatch(field: 8, actual: 4)),
      (header(length: 0) + [0, 1, 0, 0], .lengthMismatch(field: 0, actual: 4)),
      (
        header(length: 4) + [0, 0x20, 0, 1],
        .attributeOverrun(.xorMappedAddress, length: 1, room: 0)
      ),
      (
        header(length: 8) + [0, 0x20, 0, 5, 0, 1, 2, 3],
        .attributeOverrun(.xorMappedAddress, length: 5, room: 4)
      ),
      (
        header(length: 8) + [0, 0x20, 0xFF, 0xFF, 0, 1, 2, 3],
        .attributeOverrun(.xorMappedAddress, length: 65535, room: 4)
      ),
      (
        header(length: 12) + [0, 0x06, 0, 0, 0, 0x20, 0, 8, 0, 1, 2, 3],
        .attributeOverrun(.xorMappedAddress, length: 8, room: 4)
      ),
    ] as [([UInt8], StunError)])
  func malformed(datagram: [UInt8], expected: StunError) {
    #expect(throws: expected) { try StunMessage(parsing: datagram) }
  }

  /// A Binding success whose only attribute is `type` with `value`.
  static func answer(_ type: AttributeType, _ value: [UInt8]) throws -> StunMessage {
    try StunMessage(
      parsing: StunMessage(type: .bindingSuccess, attributes: [StunAttribute(type, value)])
        .encoded())
  }

  @Test(
    "addresses of a wrong family or length",
    arguments: [
      ([0, 1, 0, 0], "XOR-MAPPED-ADDRESS: 4 bytes, not the 8 of its family"),
      (
        [0, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8],
        "XOR-MAPPED-ADDRESS: 12 bytes, not the 8 of its family"
      ),
      ([0, 2, 0, 0, 1, 2, 3, 4], "XOR-MAPPED-ADDRESS: 8 bytes, not the 20 of its family"),
      ([0, 3, 0, 0, 1, 2, 3, 4], "XOR-MAPPED-ADDRESS: family 0x03 is not IPv4 or IPv6"),
      ([0, 1], "XOR-MAPPED-ADDRESS: 2 bytes, not 8 or 20"),
      ([], "XOR-MAPPED-ADDRESS: 0 bytes, not 8 or 20"),
    ] as [([UInt8], String)])
  func badAddress(value: [UInt8], description: String) throws {
    let message = try Self.answer(.xorMappedAddress, value)
    #expect(
      performing: { try message.address(.xorMappedAddress) }, throws: { "\($0)" == description })
  }

  @Test(
    "ERROR-CODE too short, or outside 300-699",
    arguments: [
      ([0, 0, 4], "ERROR-CODE: 3 bytes, fewer than 4"),
      ([0, 0, 7, 0], "ERROR-CODE: class 7 and number 0 make no code from 300 to 699"),
      ([0, 0, 4, 100], "ERROR-CODE: class 4 and number 100 make no code from 300 to 699"),
      ([0, 0, 2, 0], "ERROR-CODE: class 2 and number 0 make no code from 300 to 699"),
    ] as [([UInt8], String)])
  func badErrorCode(value: [UInt8], description: String) throws {
    let message = try Self.answer(.errorCode, value)
    #expect(performing: { try message.errorCode() }, throws: { "\($0)" == description })
  }

  @Test("MESSAGE-INTEGRITY missing or of the wrong length")
  func badIntegrity() throws {
    let none = StunMessage(type: .bindingRequest).encoded()
    #expect(throws: StunError.missing("MESSAGE-INTEGRITY")) {
      try StunMessage.hasValidIntegrity(none, key: [1])
    }
    let short = StunMessage(
      type: .bindingRequest, attributes: [StunAttribute(.messageIntegrity, [1])])
    #expect(throws: StunError.badValue(.messageIntegrity, "1 bytes, not 20")) {
      try StunMessage.hasValidIntegrity(short.encoded(), key: [1])
    }
  }

  @Test("every cut of a real message is refused, and some random damage never traps")
  func cutsAndDamage() throws {
    for sample in [
      RFC5769.request, RFC5769.ipv4Response, RFC5769.ipv6Response, RFC5769.longTermRequest,
    ] {
      for length in 0..<sample.count {
        #expect(throws: StunError.self) { try StunMessage(parsing: Array(sample.prefix(length))) }
      }
    }
    // A taste of random damage: the volume is fuzz/stun-swift-sockets's (make fuzz).
    // Thousands here would hold one of the test run's two threads for most of a minute.
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<500 {
      var datagram = RFC5769.ipv6Response
      for _ in 0..<Int.random(in: 1...4, using: &generator) {
        datagram[Int.random(in: 0..<datagram.count, using: &generator)] = .random(
          in: 0...255, using: &generator)
      }
      if let message = try? StunMessage(parsing: datagram) {
        _ = try? message.address(.xorMappedAddress)
        _ = try? message.errorCode()
        _ = try? StunMessage.hasValidIntegrity(datagram, key: [])
      }
    }
  }
}
