// p2p peer, line by line over Glibc: the twin of CSources/p2p/peer.c.
// Two programs behind NATs reach each other directly: STUN for our public address, a
// rendezvous server to swap addresses, probes both ways at once (hole punching), and a
// TURN relay when nothing gets through in 3 s. One UDP socket does all of it.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let DEADLINE_MS: Int64 = 20000  // for everything
let STUN_GIVE_UP_MS: Int64 = 5000
let FIRST_WAIT_MS: Int64 = 500  // then 1000, 2000...: RFC 8489's retransmissions
let PROBE_EVERY_MS: Int64 = 200
let PUNCH_MS: Int64 = 3000
let LINGER_MS: Int64 = 1000  // answering the peer's hellos after ours got through
let LINE_MAX_BYTES = 255
let BAD_INPUT: Int32 = 64

nonisolated(unsafe) var name = ""
nonisolated(unsafe) var peer = ""
nonisolated(unsafe) var sock: Int32 = -1
nonisolated(unsafe) var rendezvous: Int32 = -1
nonisolated(unsafe) var deadline: Int64 = 0
nonisolated(unsafe) var stun_server = sockaddr_in()
nonisolated(unsafe) var turn_server = sockaddr_in()
nonisolated(unsafe) var peer_mapped = sockaddr_in()
nonisolated(unsafe) var peer_relay = sockaddr_in()
nonisolated(unsafe) var line = ""  // the rendezvous server's last line
nonisolated(unsafe) var pending: [UInt8] = []  // what it sent after that line
nonisolated(unsafe) var answer: [UInt8] = []  // the last STUN/TURN answer
nonisolated(unsafe) var parsed = stun_parsed()
nonisolated(unsafe) var realm = ""  // TURN's long-term credentials
nonisolated(unsafe) var nonce = ""
nonisolated(unsafe) var key = [UInt8](repeating: 0, count: 16)

func now_ms() -> Int64 {
  var t = timespec()
  clock_gettime(CLOCK_MONOTONIC, &t)
  return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
}

func fail(_ message: String) -> Never {
  fputs("p2p-peer: \(message)\n", stderr)
  exit(EXIT_FAILURE)
}

func check_deadline(_ waiting_for: String) {
  if now_ms() >= deadline {
    fail("\(waiting_for) did not happen in \(DEADLINE_MS / 1000) s")
  }
}

// Milliseconds poll may wait until until, at most
func wait_ms(_ until: Int64) -> Int32 {
  let left = (until < deadline ? until : deadline) - now_ms()
  return left > 0 ? Int32(left) : 0
}

func text_address(_ address: sockaddr_in) -> String {
  var ip = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
  var copy = address.sin_addr
  inet_ntop(AF_INET, &copy, &ip, socklen_t(ip.count))
  let text = String(decoding: ip.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  return "\(text):\(UInt16(bigEndian: address.sin_port))"
}

func same_address(_ a: sockaddr_in, _ b: sockaddr_in) -> Bool {
  a.sin_addr.s_addr == b.sin_addr.s_addr && a.sin_port == b.sin_port
}

// 1 to 32 characters from [A-Za-z0-9_-], as the rendezvous server wants
func valid_name(_ text: String) -> Bool {
  let bytes = Array(text.utf8)
  if bytes.count < 1 || bytes.count > 32 {
    return false
  }
  return bytes.allSatisfy {
    isalnum(Int32($0)) != 0 || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
  }
}

// "host:port" (a name or dotted IPv4) into an address; numeric only if numeric is set
func parse_address(_ text: String, _ out: inout sockaddr_in, _ numeric: Bool) -> Int32 {
  guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
    text.utf8.distance(from: text.startIndex, to: colon) < 256
  else {
    return -1
  }
  let host = String(text[..<colon])
  let port = Array(text[text.index(after: colon)...].utf8)
  let digits = port.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
  if digits < 1 || digits > 5 || digits != port.count || port[0] == UInt8(ascii: "0")
    || Int(String(decoding: port, as: UTF8.self))! > 65535
  {
    return -1
  }
  out = sockaddr_in()
  out.sin_family = sa_family_t(AF_INET)
  out.sin_port = UInt16(Int(String(decoding: port, as: UTF8.self))!).bigEndian
  if numeric {
    return inet_pton(AF_INET, host, &out.sin_addr) == 1 ? 0 : -1
  }
  var hints = addrinfo()
  var found: UnsafeMutablePointer<addrinfo>?
  hints.ai_family = AF_INET
  hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
  let status = getaddrinfo(host, nil, &hints, &found)
  if status != 0 {
    fail("unknown host \(host): \(String(cString: gai_strerror(status)))")
  }
  out.sin_addr = found!.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
    $0.pointee.sin_addr
  }
  freeaddrinfo(found)
  return 0
}

func send_to(_ bytes: [UInt8], _ count: Int, _ to: sockaddr_in) -> Int {
  var address = to
  return withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      sendto(sock, bytes, count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
    }
  }
}

// One datagram and where it came from (n < 0: an error, such as an ICMP one)
func receive(_ data: inout [UInt8], _ from: inout sockaddr_in) -> Int {
  var from_len = socklen_t(MemoryLayout<sockaddr_in>.size)
  data = [UInt8](repeating: 0, count: STUN_MAX)
  let n = withUnsafeMutablePointer(to: &from) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      recvfrom(sock, &data, data.count, 0, $0, &from_len)
    }
  }
  data = n > 0 ? Array(data[..<n]) : []
  return n
}

// Sends request to server and waits for the answer with its transaction id, resending
// it after 500 ms, 1 s, 2 s...; gives up at give_up. Other datagrams are not for now.
func transact(_ request: stun_message, _ server: sockaddr_in, _ give_up: Int64, _ what: String) {
  var next_send = now_ms()
  var wait = FIRST_WAIT_MS
  var error = ""
  while true {
    if now_ms() >= give_up {
      check_deadline(what)
      fail("no answer from \(text_address(server)) in \(STUN_GIVE_UP_MS / 1000) s")
    }
    check_deadline(what)
    if now_ms() >= next_send {
      if send_to(request.bytes, request.length, server) < 0 && errno != ECONNREFUSED {
        perror("sendto failed")
      }
      next_send = now_ms() + wait
      wait *= 2
    }
    var entry = pollfd(fd: sock, events: Int16(POLLIN), revents: 0)
    if poll(&entry, 1, wait_ms(next_send < give_up ? next_send : give_up)) <= 0 {
      continue
    }
    var from = sockaddr_in()
    let n = receive(&answer, &from)
    if n < 0 || !same_address(from, server) {
      continue  // an ICMP error, a probe from the peer...
    }
    if n >= 20 && answer[8..<20] != request.bytes[8..<20] {
      continue  // not ours: an indication, or a stray answer
    }
    if stun_parse(answer, &parsed, &error) < 0 {
      fail("malformed answer to \(what): \(error)")
    }
    let method = Int(request.bytes[0]) << 8 | Int(request.bytes[1])
    if parsed.type != (method | SUCCESS) && parsed.type != (method | FAILURE) {
      fail("malformed answer to \(what): message type 0x\(String(parsed.type, radix: 16))")
    }
    return
  }
}

// The next line from the rendezvous server (an ERROR line, or its closing, ends us)
func read_line(_ waiting_for: String) {
  while true {
    if let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
      line = String(decoding: pending[..<end], as: UTF8.self)
      pending.removeFirst(end + 1)
      if line.hasPrefix("ERROR") {
        fail("the rendezvous server said: \(line)")
      }
      return
    }
    if pending.count > LINE_MAX_BYTES {
      fail("the rendezvous server sent a line too long")
    }
    check_deadline(waiting_for)
    var entry = pollfd(fd: rendezvous, events: Int16(POLLIN), revents: 0)
    if poll(&entry, 1, wait_ms(deadline)) <= 0 {
      continue
    }
    var data = [UInt8](repeating: 0, count: 2 * LINE_MAX_BYTES - pending.count)
    let n = recv(rendezvous, &data, data.count, 0)
    if n < 0 && errno == EINTR {
      continue
    }
    if n <= 0 {
      fail("the rendezvous server closed the connection")
    }
    pending += data[..<n]
  }
}

func send_line(_ text: String) {
  let bytes = Array(text.utf8)
  if send(rendezvous, bytes, bytes.count, Int32(MSG_NOSIGNAL)) != bytes.count {
    fail("cannot send to the rendezvous server: \(String(cString: strerror(errno)))")
  }
}

// "WORD <peer> <ip>:<port>" from the rendezvous server, for our peer
func expect_line(_ word: String, _ address: inout sockaddr_in, _ waiting_for: String) {
  read_line(waiting_for)
  let words = line.split(separator: " ").map(String.init)
  if words.count != 3 || words[0] != word || words[1] != peer
    || parse_address(words[2], &address, true) < 0
  {
    fail("unexpected line from the rendezvous server: \(line)")
  }
}

// Whether text is "probe from PEER" or "hello from PEER" (0: neither, "p" or "h")
func from_peer(_ text: ArraySlice<UInt8>) -> Character? {
  if text.elementsEqual("probe from \(peer)".utf8) {
    return "p"
  }
  if text.elementsEqual("hello from \(peer)".utf8) {
    return "h"
  }
  return nil
}

// The peer's next datagram, if one came within until: its text straight from the peer
// on the direct path; inside a Data indication from the TURN server on the relayed one.
func receive_from_peer(_ relayed: Bool, _ until: Int64) -> Character? {
  var data: [UInt8] = []
  var from = sockaddr_in()
  var error = ""
  var entry = pollfd(fd: sock, events: Int16(POLLIN), revents: 0)
  if poll(&entry, 1, wait_ms(until)) <= 0 {
    return nil
  }
  let n = receive(&data, &from)
  if n < 0 {
    return nil
  }
  if !relayed {
    return same_address(from, peer_mapped) ? from_peer(data[...]) : nil
  }
  if !same_address(from, turn_server) || stun_parse(data, &parsed, &error) < 0
    || parsed.type != DATA_INDICATION || parsed.data.value == nil
  {
    return nil
  }
  return from_peer(parsed.data.value!)
}

// Sends our hello every 200 ms until the peer's hello comes, then answers its
// datagrams for a second (it may have missed ours), at most one answer per 200 ms:
// the peer lingers too, and two peers answering every hello would flood each other.
func exchange(_ relayed: Bool, _ first: Character?) -> Never {
  let to = relayed ? peer_relay : peer_mapped
  let hello = Array("hello from \(name)".utf8)
  let waiting_for = "\(peer)'s hello"
  var next_send = now_ms()
  var linger_end: Int64 = 0
  var next_answer: Int64 = 0
  var seen = first
  while true {
    if seen == "h" && linger_end == 0 {
      print("\(relayed ? "relayed" : "direct"): from \(peer): hello from \(peer)")
      linger_end = now_ms() + LINGER_MS
    }
    if linger_end == 0 && now_ms() >= next_send {
      _ = send_to(hello, hello.count, to)
      next_send = now_ms() + PROBE_EVERY_MS
    }
    if linger_end != 0 && seen != nil && now_ms() >= next_answer {
      _ = send_to(hello, hello.count, to)
      next_answer = now_ms() + PROBE_EVERY_MS
    }
    if linger_end != 0 && now_ms() >= linger_end {
      exit(EXIT_SUCCESS)
    }
    if linger_end == 0 {
      check_deadline(waiting_for)
    }
    seen = receive_from_peer(relayed, linger_end != 0 ? linger_end : next_send)
    if linger_end == 0 && seen != "h" {
      seen = nil
    }
  }
}

// Probes to the peer's mapped address every 200 ms for 3 s: what came back, if anything
func punch() -> Character? {
  let probe = Array("probe from \(name)".utf8)
  let end = now_ms() + PUNCH_MS
  var next_send = now_ms()
  while now_ms() < end {
    check_deadline("hole punching")
    if now_ms() >= next_send {
      // errors (ECONNREFUSED from an earlier probe's ICMP) are expected here
      _ = send_to(probe, probe.count, peer_mapped)
      next_send = now_ms() + PROBE_EVERY_MS
    }
    if let seen = receive_from_peer(false, next_send < end ? next_send : end) {
      return seen
    }
  }
  return nil
}

// A TURN request with the long-term credentials; a 438 (stale nonce) is retried once
// with the nonce it brings. Returns with the success answer in parsed.
func turn_request(_ method: Int, _ what: String, _ user: String) {
  var request = stun_message()
  var attempt = 0
  while true {
    if stun_start(&request, method) < 0 {
      fail("getrandom failed")
    }
    if method == ALLOCATE {
      stun_add(&request, REQUESTED_TRANSPORT, [17, 0, 0, 0])  // UDP
    } else {
      stun_add_address(&request, XOR_PEER_ADDRESS, peer_mapped)
    }
    stun_add(&request, USERNAME, Array(user.utf8))
    stun_add(&request, REALM, Array(realm.utf8))
    stun_add(&request, NONCE, Array(nonce.utf8))
    if stun_add_integrity(&request, key) < 0 {
      fail("HMAC-SHA1 failed")
    }
    transact(request, turn_server, deadline, what)
    if parsed.type == (method | SUCCESS) {
      return
    }
    let text = stun_error_text(parsed.error)
    if attempt > 0 || !text.hasPrefix("438 ") || parsed.nonce.value == nil
      || parsed.nonce.length >= 764
    {
      fail("TURN \(method == ALLOCATE ? "Allocate" : "CreatePermission") failed: \(text)")
    }
    nonce = String(decoding: parsed.nonce.value!, as: UTF8.self)
    attempt += 1
  }
}

// The relayed path: allocate, swap relays, permit the peer, exchange hellos.
func relay(_ user: String, _ password: String) -> Never {
  var request = stun_message()
  var relayed = sockaddr_in()
  var error = ""
  // First without credentials: the 401 brings the realm and a nonce
  if stun_start(&request, ALLOCATE) < 0 {
    fail("getrandom failed")
  }
  stun_add(&request, REQUESTED_TRANSPORT, [17, 0, 0, 0])
  transact(request, turn_server, deadline, "a TURN Allocate answer")
  let text = stun_error_text(parsed.error)
  if parsed.type != (ALLOCATE | FAILURE) || !text.hasPrefix("401 ") {
    fail(
      "TURN Allocate failed: "
        + (parsed.type == (ALLOCATE | FAILURE)
          ? text : "it answered without asking for credentials"))
  }
  if parsed.realm.value == nil || parsed.nonce.value == nil || parsed.realm.length >= 764
    || parsed.nonce.length >= 764
  {
    fail("malformed answer to a TURN Allocate: a 401 without REALM and NONCE")
  }
  realm = String(decoding: parsed.realm.value!, as: UTF8.self)
  nonce = String(decoding: parsed.nonce.value!, as: UTF8.self)
  if stun_key(user, realm, password, &key) < 0 {
    fail("MD5 failed")
  }

  turn_request(ALLOCATE, "a TURN Allocate answer", user)
  if stun_address(answer, parsed.relayed, true, &relayed, &error) < 0 {
    fail("malformed answer to a TURN Allocate: XOR-RELAYED-ADDRESS: \(error)")
  }
  print("relay \(text_address(relayed))")
  send_line("RELAY \(text_address(relayed))\n")
  expect_line("RELAY", &peer_relay, "\(peer)'s relay address")
  print("peer relay \(text_address(peer_relay))")
  // The relay passes on only what comes from an IP we have permitted: the peer's
  turn_request(CREATE_PERMISSION, "a TURN CreatePermission answer", user)
  exchange(true, nil)
}

@main
struct Peer {
  static func main() {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    var rendezvous_server = sockaddr_in()
    var local = sockaddr_in()
    var mapped = sockaddr_in()
    var request = stun_message()
    var error = ""
    let argv = CommandLine.arguments

    if (argv.count != 5 && argv.count != 8) || !valid_name(argv[1]) || !valid_name(argv[2]) {
      fputs(
        "usage: p2p-peer NAME PEER RENDEZVOUS_HOST:PORT STUN_HOST:PORT "
          + "[TURN_HOST:PORT USER PASSWORD]\n  (names: 1 to 32 of A-Z a-z 0-9 _ -)\n", stderr)
      exit(BAD_INPUT)
    }
    name = argv[1]
    peer = argv[2]
    if parse_address(argv[3], &rendezvous_server, false) < 0
      || parse_address(argv[4], &stun_server, false) < 0
      || (argv.count == 8 && parse_address(argv[5], &turn_server, false) < 0)
    {
      fputs("p2p-peer: an address must be HOST:PORT, port 1 to 65535\n", stderr)
      exit(BAD_INPUT)
    }
    deadline = now_ms() + DEADLINE_MS

    // One UDP socket for STUN, probes, TURN and hellos: one NAT mapping for all
    sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    if sock < 0 {
      perror("socket failed")
      exit(EXIT_FAILURE)
    }
    local.sin_family = sa_family_t(AF_INET)
    local.sin_addr.s_addr = INADDR_ANY.bigEndian
    local.sin_port = UInt16(0).bigEndian
    let bound = withUnsafePointer(to: &local) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    if bound < 0 {
      perror("bind failed")
      exit(EXIT_FAILURE)
    }

    // 1. Our public address, as the STUN server sees it
    if stun_start(&request, BINDING) < 0 {
      fail("getrandom failed")
    }
    transact(request, stun_server, now_ms() + STUN_GIVE_UP_MS, "an answer from the STUN server")
    if parsed.type != (BINDING | SUCCESS) {
      fail("STUN server answered error \(stun_error_text(parsed.error))")
    }
    let xor = parsed.xor_mapped.value != nil
    if stun_address(answer, xor ? parsed.xor_mapped : parsed.mapped, xor, &mapped, &error) < 0 {
      fail("malformed answer from the STUN server: \(error)")
    }
    print("mapped \(text_address(mapped))")

    // 2. Register with the rendezvous server and learn the peer's address
    rendezvous = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    if rendezvous < 0 {
      perror("socket failed")
      exit(EXIT_FAILURE)
    }
    let connected = withUnsafePointer(to: &rendezvous_server) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(rendezvous, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    if connected < 0 {
      fail(
        "cannot connect to the rendezvous server \(argv[3]): \(String(cString: strerror(errno)))")
    }
    send_line("REGISTER \(name) \(peer) \(text_address(mapped))\n")
    expect_line("PEER", &peer_mapped, "\(peer) registering")
    print("peer \(peer) \(text_address(peer_mapped))")

    // 3. Punch; 4. or relay
    if let seen = punch() {
      exchange(false, seen)
    }
    print("punch: no answer in \(PUNCH_MS / 1000) s")
    if argv.count != 8 {
      fail("hole punching failed and no TURN server was given")
    }
    relay(argv[6], argv[7])
  }
}
