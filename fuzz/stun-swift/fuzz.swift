// libFuzzer target: the swift twin's check of an answer (Sources/swift/stun/client.swift,
// its declarations: scripts/fuzz leaves out the program's statements), the twin of
// fuzz/stun-c: any bytes as a datagram from the server. A datagram is .notOurs exactly
// when its transaction id is another; what the client would print is one printable
// line; an address built into a Binding success (after other attributes, as the input
// says) is printed as it was. A bad index or an overflow traps.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

func printable() {
  if !what.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7e }) {
    fatalError("an unprintable byte in what the client prints: \(what)")
  }
}

func big16(_ value: Int) -> [UInt8] {
  [UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
}

// The input: byte 0 says IPv4 or IPv6 and how many attributes of the rest go first,
// then the address (16 bytes), the port (2), and attribute values to put before it.
func roundTrip(_ data: [UInt8]) {
  guard data.count >= 19 else { return }
  let v6 = data[0] & 1 != 0
  let before = Int(data[0] >> 1 & 7)
  let port = Int(data[17]) << 8 | Int(data[18])
  let cookie = (0..<4).map { UInt8(truncatingIfNeeded: MAGIC_COOKIE >> (24 - 8 * UInt32($0))) }
  let id = (0..<12).map { UInt8(truncatingIfNeeded: Int(data[1 + $0]) * 7 + $0) }
  var msg = big16(BINDING_SUCCESS) + [0, 0] + cookie + id
  var rest = data[19...]
  for _ in 0..<before where !rest.isEmpty {  // attributes it skips
    let length = min(Int(rest.first!) % 40, rest.count - 1)
    let value = Array(rest.dropFirst().prefix(length))
    msg += big16(0x8000 | Int(rest.first!) << 4) + big16(length) + value
    msg += [UInt8](repeating: 0, count: (4 - length % 4) % 4)
    rest = rest.dropFirst(1 + length)
  }
  let size = v6 ? 16 : 4
  msg += big16(XOR_MAPPED_ADDRESS) + big16(4 + size) + [0, v6 ? 0x02 : 0x01]
  msg += big16(port ^ Int(MAGIC_COOKIE >> 16))
  msg += (0..<size).map { data[1 + $0] ^ msg[4 + $0] }
  msg.replaceSubrange(2..<4, with: big16(msg.count - 20))

  var ip = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
  inet_ntop(v6 ? AF_INET6 : AF_INET, Array(data[1...16]), &ip, socklen_t(ip.count))
  let text = String(decoding: ip.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  let expected = v6 ? "XOR-MAPPED-ADDRESS [\(text)]:\(port)" : "XOR-MAPPED-ADDRESS \(text):\(port)"
  guard check(msg, id[...]) == .answer else {
    fatalError("a well-formed Binding success is not an answer: \(what)")
  }
  guard what == expected else {
    fatalError("built \(expected), read back \(what)")
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let msg = Array(UnsafeBufferPointer(start: data, count: size))
  // Ours: the id of our request, the bytes where the answer's id is (or any, if short)
  var id = size >= 20 ? Array(msg[8..<20]) : [UInt8](repeating: 0, count: 12)
  what = ""
  let verdict = check(msg, id[...])
  if verdict == .notOurs {
    fatalError("the client's own transaction id, and not ours")
  }
  printable()
  if verdict == .answer && !what.hasPrefix("XOR-MAPPED-ADDRESS ")
    && !what.hasPrefix("MAPPED-ADDRESS ")
  {
    fatalError("an answer that names no address: \(what)")
  }
  if size >= 20 {  // another transaction: never believed, whatever it holds
    id[size % 12] ^= 1
    if check(msg, id[...]) != .notOurs {
      fatalError("another transaction's answer was taken")
    }
  }
  roundTrip(msg)
  return 0
}
