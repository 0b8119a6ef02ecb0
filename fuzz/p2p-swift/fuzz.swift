// libFuzzer target: the swift twin's STUN/TURN codec (Sources/swift/p2p/stun.swift),
// the twin of fuzz/p2p-c: stun_parse on any bytes, every address and ERROR-CODE it
// found read as p2p-peer reads them (a bad index traps), then an address built into a
// message (with an attribute and MESSAGE-INTEGRITY before or after it, as the input
// says) must parse back to the same address and port.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

func inside(_ msg: [UInt8], _ v: stun_value) {
  if let value = v.value, value.startIndex < 24 || value.endIndex > msg.count {
    fatalError("an attribute's value lies outside the message")
  }
}

func readAddress(_ msg: [UInt8], _ v: stun_value, _ xor: Bool) {
  var a = sockaddr_in()
  var error = ""
  if stun_address(msg, v, xor, &a, &error) < 0 && error.isEmpty {
    fatalError("stun_address failed without an error text")
  }
}

// The input's first 6 bytes are an IPv4 address and port, the next 12 the transaction
// id, one byte says what else goes in, the rest is an attribute's value.
func roundTrip(_ input: [UInt8]) {
  guard input.count >= 19 else { return }
  var a = sockaddr_in()
  a.sin_family = sa_family_t(AF_INET)
  withUnsafeMutableBytes(of: &a.sin_addr) { $0.copyBytes(from: input[0..<4]) }
  withUnsafeMutableBytes(of: &a.sin_port) { $0.copyBytes(from: input[4..<6]) }
  var m = stun_message()
  precondition(stun_start(&m, ALLOCATE | SUCCESS) == 0, "stun_start: getrandom failed")
  m.bytes.replaceSubrange(8..<20, with: input[6..<18])
  let how = Int(input[18])
  let value = Array(input[19...].prefix(600))
  let key = Array(input[6..<18]) + [0, 0, 0, 0]
  if how & 1 != 0 { stun_add(&m, 0x8000 | how >> 2, value) }  // an attribute it does not read
  if how & 2 != 0 { stun_add(&m, XOR_MAPPED_ADDRESS, Array(value.prefix(8))) }
  stun_add_address(&m, XOR_RELAYED_ADDRESS, a)
  if how & 4 != 0 { precondition(stun_add_integrity(&m, key) == 0, "stun_add_integrity failed") }
  if how & 8 != 0 { stun_add(&m, REALM, value) }
  let built = Array(m.bytes[..<m.length])
  var p = stun_parsed()
  var error = ""
  guard stun_parse(built, &p, &error) == 0 else {
    fatalError("a message stun_add built does not parse: \(error)")
  }
  precondition(p.type == ALLOCATE | SUCCESS, "the type changed")
  var back = sockaddr_in()
  guard stun_address(built, p.relayed, true, &back, &error) == 0 else {
    fatalError("the built address does not read back: \(error)")
  }
  if back.sin_family != a.sin_family || back.sin_port != a.sin_port
    || back.sin_addr.s_addr != a.sin_addr.s_addr
  {
    fatalError(
      "built \(a.sin_addr.s_addr):\(a.sin_port), read back \(back.sin_addr.s_addr):\(back.sin_port)"
    )
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let msg = Array(UnsafeBufferPointer(start: data, count: size))
  var p = stun_parsed()
  var error = ""
  if stun_parse(msg, &p, &error) == 0 {
    for v in [p.mapped, p.xor_mapped, p.relayed, p.peer, p.data, p.error, p.realm, p.nonce] {
      inside(msg, v)
    }
    readAddress(msg, p.mapped, false)
    readAddress(msg, p.xor_mapped, true)
    readAddress(msg, p.relayed, true)
    readAddress(msg, p.peer, true)
    // ERROR-CODE's reason goes to a terminal: printable ASCII only
    if !stun_error_text(p.error).utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7e }) {
      fatalError("stun_error_text let an unprintable byte through")
    }
  } else if error.isEmpty {
    fatalError("stun_parse failed without an error text")
  }
  roundTrip(msg)
  return 0
}
