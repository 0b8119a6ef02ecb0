// STUN and TURN messages for p2p-peer, line by line over Glibc and libcrypto: the twin
// of CSources/p2p/stun.c. Building requests (with MESSAGE-INTEGRITY for TURN's
// long-term credentials) and checking answers byte by byte before they are believed.
#if canImport(Glibc)
  @preconcurrency import Glibc
  @preconcurrency import CCrypto  // libcrypto's MD5 and HMAC-SHA1
  import CShims  // getrandom: sys/random.h is not in Glibc's module map
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let STUN_COOKIE: UInt32 = 0x2112_A442
let STUN_MAX = 1500

// Methods and classes: a request, its success (0x0100) and error (0x0110) answers
let BINDING = 0x0001
let ALLOCATE = 0x0003
let CREATE_PERMISSION = 0x0008
let DATA_INDICATION = 0x0017
let SUCCESS = 0x0100
let FAILURE = 0x0110

// Attributes
let MAPPED_ADDRESS = 0x0001
let USERNAME = 0x0006
let MESSAGE_INTEGRITY = 0x0008
let ERROR_CODE = 0x0009
let XOR_PEER_ADDRESS = 0x0012
let DATA = 0x0013
let REALM = 0x0014
let NONCE = 0x0015
let XOR_RELAYED_ADDRESS = 0x0016
let REQUESTED_TRANSPORT = 0x0019
let XOR_MAPPED_ADDRESS = 0x0020

// A message being built
struct stun_message {
  var bytes = [UInt8](repeating: 0, count: STUN_MAX)
  var length = 0
}

// A checked message: its type and where the attributes it may use are
struct stun_value {
  var value: ArraySlice<UInt8>? = nil  // nil: absent
  var length: Int { value?.count ?? 0 }
}
struct stun_parsed {
  var type = 0
  var mapped = stun_value()
  var xor_mapped = stun_value()
  var relayed = stun_value()
  var peer = stun_value()
  var data = stun_value()
  var error = stun_value()
  var realm = stun_value()
  var nonce = stun_value()
}

func get16(_ p: ArraySlice<UInt8>) -> Int { Int(p[p.startIndex]) << 8 | Int(p[p.startIndex + 1]) }
func get32(_ p: ArraySlice<UInt8>) -> UInt32 { p.prefix(4).reduce(0) { $0 << 8 | UInt32($1) } }
func put16(_ m: inout [UInt8], _ at: Int, _ value: Int) {
  m[at] = UInt8(truncatingIfNeeded: value >> 8)
  m[at + 1] = UInt8(truncatingIfNeeded: value)
}

// The header: type, length 0 so far, the cookie and 96 random bits of transaction id
func stun_start(_ m: inout stun_message, _ type: Int) -> Int32 {
  put16(&m.bytes, 0, type)
  put16(&m.bytes, 2, 0)
  put16(&m.bytes, 4, Int(STUN_COOKIE >> 16))
  put16(&m.bytes, 6, Int(STUN_COOKIE & 0xffff))
  m.length = 20
  return m.bytes.withUnsafeMutableBytes { getrandom($0.baseAddress! + 8, 12, 0) } == 12 ? 0 : -1
}

// An attribute, its value padded with zeros to a multiple of 4 bytes. The kit's values
// are short; one that would not fit is left out (and the server says what is missing).
func stun_add(_ m: inout stun_message, _ type: Int, _ value: [UInt8]) {
  let padded = (value.count + 3) & ~3
  if m.length + 4 + padded > STUN_MAX {
    return
  }
  put16(&m.bytes, m.length, type)
  put16(&m.bytes, m.length + 2, value.count)
  for i in 0..<padded {
    m.bytes[m.length + 4 + i] = i < value.count ? value[i] : 0
  }
  m.length += 4 + padded
  put16(&m.bytes, 2, m.length - 20)
}

// An IPv4 address XORed with the cookie, as XOR-PEER-ADDRESS wants it
func stun_add_address(_ m: inout stun_message, _ type: Int, _ address: sockaddr_in) {
  var value: [UInt8] = [0, 0x01, 0, 0]
  put16(&value, 2, Int(UInt16(bigEndian: address.sin_port)) ^ Int(STUN_COOKIE >> 16))
  withUnsafeBytes(of: address.sin_addr) { value += $0 }
  for i in 0..<4 {
    value[4 + i] ^= m.bytes[4 + i]
  }
  stun_add(&m, type, value)
}

// MESSAGE-INTEGRITY: HMAC-SHA1 of the message so far, with the length field already
// counting the 24 bytes of the attribute itself (RFC 8489 section 14.5).
func stun_add_integrity(_ m: inout stun_message, _ key: [UInt8]) -> Int32 {
  var mac = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
  var mac_length: UInt32 = 0
  put16(&m.bytes, 2, m.length - 20 + 24)
  if HMAC(EVP_sha1(), key, 16, m.bytes, m.length, &mac, &mac_length) == nil || mac_length != 20 {
    return -1
  }
  stun_add(&m, MESSAGE_INTEGRITY, Array(mac[..<20]))
  return 0
}

// The long-term credential key: MD5(user ":" realm ":" password)
func stun_key(_ user: String, _ realm: String, _ password: String, _ key: inout [UInt8]) -> Int32 {
  let text = Array("\(user):\(realm):\(password)".utf8)
  var length: UInt32 = 0
  key = [UInt8](repeating: 0, count: 16)
  if EVP_Digest(text, text.count, &key, &length, EVP_md5(), nil) == 0 || length != 16 {
    return -1
  }
  return 0
}

// Checks the header and every attribute's bounds; remembers the attributes p2p-peer
// reads (the first of each). 0, or -1 with what is wrong in error.
func stun_parse(_ msg: [UInt8], _ out: inout stun_parsed, _ error: inout String) -> Int32 {
  let n = msg.count
  out = stun_parsed()
  if n < 20 {
    error = "truncated header (\(n) bytes)"
    return -1
  }
  let length = get16(msg[2...])
  out.type = get16(msg[0...])
  if out.type & 0xC000 != 0 {
    error = "first two bits are not zero"
    return -1
  }
  if get32(msg[4...]) != STUN_COOKIE {
    error = "bad magic cookie 0x\(String(get32(msg[4...]), radix: 16))"
    return -1
  }
  if length % 4 != 0 || length != n - 20 {
    error = "length field \(length), but \(n - 20) bytes follow the header"
    return -1
  }
  var at = 20
  while at < n {
    if n - at < 4 {
      error = "attribute header runs past the end"
      return -1
    }
    let type = get16(msg[at...])
    let value_length = get16(msg[(at + 2)...])
    let padded = (value_length + 3) & ~3
    if padded > n - at - 4 {
      error = "attribute 0x\(String(type, radix: 16)) (\(value_length) bytes) runs past the end"
      return -1
    }
    let found = stun_value(value: msg[(at + 4)..<(at + 4 + value_length)])
    switch type {
    case MAPPED_ADDRESS where out.mapped.value == nil: out.mapped = found
    case XOR_MAPPED_ADDRESS where out.xor_mapped.value == nil: out.xor_mapped = found
    case XOR_RELAYED_ADDRESS where out.relayed.value == nil: out.relayed = found
    case XOR_PEER_ADDRESS where out.peer.value == nil: out.peer = found
    case DATA where out.data.value == nil: out.data = found
    case ERROR_CODE where out.error.value == nil: out.error = found
    case REALM where out.realm.value == nil: out.realm = found
    case NONCE where out.nonce.value == nil: out.nonce = found
    default: break
    }
    at += 4 + padded
  }
  return 0
}

// An address attribute as an IPv4 sockaddr (the kit's peers speak IPv4 only)
func stun_address(
  _ msg: [UInt8], _ attribute: stun_value, _ xor: Bool, _ out: inout sockaddr_in,
  _ error: inout String
) -> Int32 {
  guard let value = attribute.value else {
    error = "no address attribute"
    return -1
  }
  let v = Array(value)
  if v.count < 4 || (v[1] != 0x01 && v[1] != 0x02) {
    error = "address attribute of unknown family"
    return -1
  }
  if v[1] == 0x02 {
    error = "an IPv6 address, and the kit's peers speak IPv4"
    return -1
  }
  if v.count != 8 {
    error = "IPv4 address attribute of \(v.count) bytes, not 8"
    return -1
  }
  out = sockaddr_in()
  out.sin_family = sa_family_t(AF_INET)
  out.sin_port = UInt16(get16(v[2...]) ^ (xor ? Int(STUN_COOKIE >> 16) : 0)).bigEndian
  var ip = [UInt8](repeating: 0, count: 4)
  for i in 0..<4 {
    ip[i] = v[4 + i] ^ (xor ? msg[4 + i] : 0)
  }
  withUnsafeMutableBytes(of: &out.sin_addr) { $0.copyBytes(from: ip) }
  return 0
}

// "CODE REASON" from an ERROR-CODE attribute, the reason's bytes made printable
func stun_error_text(_ attribute: stun_value) -> String {
  guard let value = attribute.value, value.count >= 4 else {
    return "(no ERROR-CODE)"
  }
  let v = Array(value)
  var text = "\(Int(v[2] & 7) * 100 + Int(v[3])) "
  for byte in v[4...] {
    text.append(isprint(Int32(byte)) != 0 ? Character(Unicode.Scalar(byte)) : "?")
  }
  return text
}
