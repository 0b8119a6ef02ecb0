// libFuzzer target: the Stun library (Sources/Stun/), which the swift-sockets stun-client,
// p2p-peer and rendezvous-server use, on any bytes as a datagram from the network. Its
// promise: whatever arrives is a message or a StunError, never a trap. Besides that:
// - a parsed message encodes to as many bytes, and those parse to the same message;
// - its addresses and ERROR-CODE read without a trap, the reason printable on one line;
// - an address built into a message (IPv4 or IPv6, from the input) parses back the same;
// - MESSAGE-INTEGRITY: the message signed under a key verifies under it, and no longer
//   once any one of its bytes is changed, nor under another key.

func oneLine(_ text: String, _ what: String) {
  if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
    fatalError("\(what) has a control character: \(text.debugDescription)")
  }
}

let addressTypes: [AttributeType] = [
  .mappedAddress, .xorMappedAddress, .xorPeerAddress, .xorRelayedAddress,
]

func parsed(_ message: StunMessage, from datagram: [UInt8], _ input: [UInt8]) {
  let encoded = message.encoded()
  guard encoded.count == datagram.count else {
    fatalError("\(datagram.count) bytes parsed, encoded again in \(encoded.count)")
  }
  guard (try? StunMessage(parsing: encoded)) == message else {
    fatalError("a parsed message, encoded again, parses to another")
  }
  for type in addressTypes {
    do { _ = try message.address(type) } catch { oneLine(error.description, "an address error") }
  }
  do {
    if let code = try message.errorCode() {
      guard (300...699).contains(code.code) else { fatalError("error code \(code.code)") }
      oneLine(code.description, "ERROR-CODE")
    }
  } catch {
    oneLine(error.description, "an ERROR-CODE error")
  }

  // Signed under a key from the input, without the MESSAGE-INTEGRITY it may hold
  var unsigned = message
  unsigned.attributes.removeAll { $0.type == .messageIntegrity }
  guard unsigned.encoded().count < 60000 else { return }
  let key = longTermKey(username: "kit", realm: Array(input.prefix(8)), password: "kit-secret")
  let signed = unsigned.encoded(integrityKey: key)
  guard (try? StunMessage.hasValidIntegrity(signed, key: key)) == true else {
    fatalError("a message signed under a key does not verify under it")
  }
  var otherKey = key
  otherKey[input.count % 16] ^= 0x01
  if (try? StunMessage.hasValidIntegrity(signed, key: otherKey)) == true {
    fatalError("a message signed under one key verifies under another")
  }
  // One byte changed, where and how the input says
  var changed = signed
  let at = (Int(input.last ?? 0) << 8 | input.count) % changed.count
  changed[at] ^= input.first.map { $0 == 0 ? 0x80 : $0 } ?? 0x80
  if (try? StunMessage.hasValidIntegrity(changed, key: key)) == true {
    fatalError("a message with byte \(at) changed still verifies")
  }
}

// The input's bytes as an address: byte 0 picks IPv4 or IPv6 and the attribute type,
// then 16 bytes of address, 2 of port, 12 of transaction id.
func roundTrip(_ input: [UInt8]) {
  guard input.count >= 31 else { return }
  let v6 = input[0] & 1 != 0
  let type = addressTypes[Int(input[0] >> 1) % addressTypes.count]
  let address = TransportAddress(
    ip: Array(input[1..<(v6 ? 17 : 5)]), port: UInt16(input[17]) << 8 | UInt16(input[18]))
  var message = StunMessage(
    type: MessageType(rawValue: UInt16(input[0]) << 4 & 0x3EEF),
    transactionID: TransactionID(Array(input[19..<31])))
  message.attributes = [
    StunAttribute(.software, Array(input[31...].prefix(40))),
    message.addressAttribute(type, address),
  ]
  let back: TransportAddress?
  do {
    back = try StunMessage(parsing: message.encoded()).address(type)
  } catch {
    fatalError("a built message does not read back: \(error)")
  }
  guard back == address else {
    fatalError("built \(address), read back \(back.map { "\($0)" } ?? "nothing")")
  }
  // The rendezvous protocol writes IPv4 addresses as text: that round-trips too
  if !v6 && address.port != 0 && TransportAddress(ipv4: address.description) != address {
    fatalError("\(address) as text does not read back")
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let input = Array(UnsafeBufferPointer(start: data, count: size))
  do {
    parsed(try StunMessage(parsing: input), from: input, input)
  } catch {
    oneLine(error.description, "a parse error")
  }
  _ = try? StunMessage.hasValidIntegrity(input, key: Array(repeating: 7, count: 16))
  _ = StunMessage.transactionID(in: input)
  // The input as text, as rendezvous-server reads an address
  if let address = TransportAddress(ipv4: String(decoding: input, as: UTF8.self)),
    TransportAddress(ipv4: address.description) != address
  {
    fatalError("\(address) as text does not read back")
  }
  roundTrip(input)
  return 0
}
