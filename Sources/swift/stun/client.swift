// stun client, line by line over Glibc: the twin of CSources/stun/client.c.
// Ask a STUN server which address it sees us at: one Binding request (RFC 8489) over
// UDP, resent with a doubling timeout, and the answer checked byte by byte before
// anything in it is believed. It prints one line: XOR-MAPPED-ADDRESS ip:port.
#if canImport(Glibc)
  @preconcurrency import Glibc
  import CShims  // getrandom: sys/random.h is not in Glibc's module map
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 3478  // STUN's registered port
let FIRST_WAIT_MS: Int64 = 500  // RFC 8489's initial retransmission timeout
let GIVE_UP_MS: Int64 = 10000  // after the first send
let MAGIC_COOKIE: UInt32 = 0x2112_A442
let BINDING_REQUEST: UInt16 = 0x0001
let BINDING_SUCCESS = 0x0101
let BINDING_ERROR = 0x0111
let MAPPED_ADDRESS = 0x0001
let ERROR_CODE = 0x0009
let XOR_MAPPED_ADDRESS = 0x0020
let BAD_INPUT: Int32 = 64  // sysexits.h's EX_USAGE

// What one datagram turned out to be
enum Verdict { case notOurs, answer, serverError, malformed }

nonisolated(unsafe) var what = ""  // the answer's line, or what is wrong with it

// Network byte order, read from bytes that have been checked to be there
func get16(_ p: ArraySlice<UInt8>) -> Int { Int(p[p.startIndex]) << 8 | Int(p[p.startIndex + 1]) }
func get32(_ p: ArraySlice<UInt8>) -> UInt32 {
  p.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
}

func now_ms() -> Int64 {
  var t = timespec()
  clock_gettime(CLOCK_MONOTONIC, &t)
  return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
}

// An address attribute's value: family, port and address, XORed if xor is set (the
// port with the cookie's top half, IPv4 with the cookie, IPv6 with the cookie and the
// transaction id: so a NAT that rewrites addresses it finds in packets leaves it alone).
func address(_ msg: [UInt8], _ value: ArraySlice<UInt8>, _ xor: Bool, _ name: String) -> Verdict {
  let v = Array(value)
  if v.count < 4 {
    what = "\(name) is \(v.count) bytes, too short"
    return .malformed
  }
  let family = Int(v[1])
  let port = get16(v[2...]) ^ (xor ? Int(MAGIC_COOKIE >> 16) : 0)
  if family != 0x01 && family != 0x02 {
    what = "\(name) has family 0x\(hex(family, 2))"
    return .malformed
  }
  let size = family == 0x01 ? 4 : 16
  if v.count != 4 + size {
    what = "\(name) for IPv\(family == 0x01 ? 4 : 6) is \(v.count) bytes, not \(4 + size)"
    return .malformed
  }
  var bytes = [UInt8](repeating: 0, count: 16)
  for i in 0..<size {  // msg[4...]: the cookie, then the transaction id
    bytes[i] = v[4 + i] ^ (xor ? msg[4 + i] : 0)
  }
  var ip = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
  inet_ntop(family == 0x01 ? AF_INET : AF_INET6, bytes, &ip, socklen_t(ip.count))
  let text = String(decoding: ip.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  what = family == 0x01 ? "\(name) \(text):\(port)" : "\(name) [\(text)]:\(port)"
  return .answer
}

func hex(_ value: Int, _ digits: Int) -> String {
  let text = String(value, radix: 16)
  return String(repeating: "0", count: max(0, digits - text.count)) + text
}

// Checks a datagram from the server against our request, and says what it is.
func check(_ msg: [UInt8], _ id: ArraySlice<UInt8>) -> Verdict {
  let n = msg.count
  if n < 20 {
    what = "truncated header (\(n) bytes)"
    return .malformed
  }
  if msg[8..<20] != id {
    return .notOurs  // a stray or forged datagram: keep waiting for ours
  }
  let type = get16(msg[0...])
  let length = get16(msg[2...])
  if type & 0xC000 != 0 {
    what = "first two bits are not zero"
    return .malformed
  }
  if get32(msg[4...]) != MAGIC_COOKIE {
    what = "bad magic cookie 0x\(hex(Int(get32(msg[4...])), 8))"
    return .malformed
  }
  if length % 4 != 0 || length != n - 20 {
    what = "length field \(length), but \(n - 20) bytes follow the header"
    return .malformed
  }
  if type != BINDING_SUCCESS && type != BINDING_ERROR {
    what = "message type 0x\(hex(type, 4)) is no Binding answer"
    return .malformed
  }
  // Every attribute: type, length, value padded to 4 bytes, all inside the message
  var mapped: ArraySlice<UInt8>? = nil
  var xor_mapped: ArraySlice<UInt8>? = nil
  var error: ArraySlice<UInt8>? = nil
  var at = 20
  while at < n {
    if n - at < 4 {
      what = "attribute header runs past the end"
      return .malformed
    }
    let attribute = get16(msg[at...])
    let size = get16(msg[(at + 2)...])
    let padded = (size + 3) & ~3
    if padded > n - at - 4 {
      what = "attribute 0x\(hex(attribute, 4)) (\(size) bytes) runs past the end"
      return .malformed
    }
    let value = msg[(at + 4)..<(at + 4 + size)]
    if attribute == XOR_MAPPED_ADDRESS && xor_mapped == nil {
      xor_mapped = value
    } else if attribute == MAPPED_ADDRESS && mapped == nil {
      mapped = value
    } else if attribute == ERROR_CODE && error == nil {
      error = value
    }
    at += 4 + padded
  }
  if type == BINDING_ERROR {
    guard let error, error.count >= 4 else {
      what = "server answered error without an ERROR-CODE"
      return .serverError
    }
    // class (hundreds) in 3 bits, number in a byte, then the reason in UTF-8
    let e = Array(error)
    what = "server answered error \(Int(e[2] & 7) * 100 + Int(e[3])) "
    for byte in e[4...] {  // text from the network: printable bytes only
      what.append(isprint(Int32(byte)) != 0 ? Character(Unicode.Scalar(byte)) : "?")
    }
    return .serverError
  }
  if let xor_mapped {
    return address(msg, xor_mapped, true, "XOR-MAPPED-ADDRESS")
  }
  if let mapped {
    return address(msg, mapped, false, "MAPPED-ADDRESS")
  }
  what = "no XOR-MAPPED-ADDRESS or MAPPED-ADDRESS"
  return .malformed
}

setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
var port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit
var hints = addrinfo()
var found: UnsafeMutablePointer<addrinfo>?
var request = [UInt8](repeating: 0, count: 20)
var answer = [UInt8](repeating: 0, count: 1500)
var server = sockaddr_in()
var from = sockaddr_in()
var from_len = socklen_t(0)

if CommandLine.argc < 2 || CommandLine.argc > 3 {
  fputs("usage: stun-client HOST [PORT]\n", stderr)
  exit(BAD_INPUT)
}
if CommandLine.argc == 3 {
  var end: UnsafeMutablePointer<CChar>?
  let text = CommandLine.unsafeArgv[2]!
  let number = strtol(text, &end, 10)
  if isdigit(Int32(UInt8(bitPattern: text[0]))) == 0 || end!.pointee != 0 || number < 1
    || number > 65535
  {
    fputs(
      "stun-client: port must be a number from 1 to 65535, not '\(String(cString: text))'\n",
      stderr)
    exit(BAD_INPUT)
  }
  port = Int32(number)
}
let host = CommandLine.arguments[1]
hints.ai_family = AF_INET
hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
let status = getaddrinfo(host, nil, &hints, &found)
if status != 0 {
  fputs("stun-client: unknown host \(host): \(String(cString: gai_strerror(status)))\n", stderr)
  exit(EXIT_FAILURE)
}
found!.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { server = $0.pointee }
server.sin_port = UInt16(port).bigEndian
freeaddrinfo(found)

let sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
if sock < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

// The request: type, length 0 (no attributes), cookie, 96 random bits of id
request[0] = UInt8(BINDING_REQUEST >> 8)
request[1] = UInt8(BINDING_REQUEST & 0xff)
request[2] = 0
request[3] = 0
for i in 0..<4 {
  request[4 + i] = UInt8(truncatingIfNeeded: MAGIC_COOKIE >> (24 - 8 * UInt32(i)))
}
if request.withUnsafeMutableBytes({ getrandom($0.baseAddress! + 8, 12, 0) }) != 12 {
  perror("getrandom failed")
  exit(EXIT_FAILURE)
}

let first = now_ms()
var next_send = first
var wait_ms = FIRST_WAIT_MS
while true {
  let now = now_ms()
  if now >= first + GIVE_UP_MS {
    fputs("stun-client: no answer from \(host):\(port) in \(GIVE_UP_MS / 1000) s\n", stderr)
    exit(EXIT_FAILURE)
  }
  if now >= next_send {  // the same request again: the same transaction
    let sent = withUnsafePointer(to: &server) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        sendto(sock, request, request.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    if sent < 0 {
      perror("sendto failed")  // e.g. an ICMP error from the last one: retry
    }
    next_send = now + wait_ms
    wait_ms *= 2
  }
  let until = next_send < first + GIVE_UP_MS ? next_send : first + GIVE_UP_MS
  var entry = pollfd(fd: sock, events: Int16(POLLIN), revents: 0)
  let ready = poll(&entry, 1, Int32(until - now_ms() > 0 ? until - now_ms() : 0))
  if ready < 0 && errno != EINTR {
    perror("poll failed")
    exit(EXIT_FAILURE)
  }
  if ready <= 0 {
    continue
  }
  from_len = socklen_t(MemoryLayout<sockaddr_in>.size)
  let n = withUnsafeMutablePointer(to: &from) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      recvfrom(sock, &answer, answer.count, 0, $0, &from_len)
    }
  }
  if n < 0 {  // ECONNREFUSED: an ICMP port unreachable; the server may yet start
    continue
  }
  // Only the server's address may answer
  if from_len != socklen_t(MemoryLayout<sockaddr_in>.size) || Int32(from.sin_family) != AF_INET
    || from.sin_addr.s_addr != server.sin_addr.s_addr || from.sin_port != server.sin_port
  {
    continue
  }
  switch check(Array(answer[..<n]), request[8..<20]) {
  case .notOurs:
    continue
  case .answer:
    print(what)
    close(sock)
    exit(0)
  case .serverError:
    fputs("stun-client: \(what)\n", stderr)
    exit(EXIT_FAILURE)
  case .malformed:
    fputs("stun-client: malformed answer: \(what)\n", stderr)
    exit(EXIT_FAILURE)
  }
}
