// libFuzzer target: the swift twin's rendezvous-server (Sources/swift/rendezvous/
// server.swift, its declarations), the twin of fuzz/rendezvous-c with the same script:
// a byte picks a client (byte % 3) and a chunk length (byte / 4), that many bytes
// follow, are sent on the client's socket pair and taken by on_readable. Every line
// the server sends must be PEER, RELAY or ERROR with a documented reason; ERROR closes
// the connection; a bad line (an unknown first word, a NUL, 255 bytes without "\n")
// never goes unanswered.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

let peers = 3
let reasons: Set<String> = [
  "unknown command", "usage: REGISTER <name> <peer> <ip>:<port>", "usage: RELAY <ip>:<port>",
  "bad name", "bad address", "line too long", "NUL in a line", "already registered",
  "name already registered", "RELAY before PEER", "the peer has left",
]

struct End {
  var fd: Int32 = -1  // our end of the pair
  var sent: [UInt8] = []  // what this connection sent (a prefix, if more)
  var got: [UInt8] = []  // what it received, not yet a whole line
  var refused = false  // it had its ERROR
  var closed = false  // the server closed it
  var hungUp = false  // we closed our side: the server may close without a word
}
nonisolated(unsafe) var ends = [End](repeating: End(), count: peers)

func fail(_ peer: Int, _ why: String, _ line: String) -> Never {
  fatalError("client \(peer): \(why): \(line.debugDescription)")
}

@_cdecl("LLVMFuzzerInitialize")
func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutableRawPointer) -> Int32 {
  if freopen("/dev/null", "w", stdout) == nil { abort() }  // the server's log lines
  return 0
}

// A new connection in slot i, as accept_client makes one
func connectPeer(_ i: Int) {
  var pair: [Int32] = [0, 0]
  precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
  precondition(fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK) == 0)
  ends[i] = End(fd: pair[1])
  clients[i] = Client()
  clients[i].fd = pair[0]
  clients[i].from = "10.0.0.\(i):4000"
}

func checkLine(_ i: Int, _ line: String) {
  if ends[i].refused { fail(i, "a line after ERROR", line) }
  if line.hasPrefix("ERROR ") {
    guard reasons.contains(String(line.dropFirst(6))) else {
      fail(i, "ERROR with a reason the protocol does not have", line)
    }
    ends[i].refused = true
    return
  }
  let words = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
  guard words.count == 3, words[0] == "PEER" || words[0] == "RELAY", valid_name(words[1]),
    valid_address(words[2])
  else { fail(i, "not a line of the protocol", line) }
}

// Everything the server sent to client i so far, line by line
func receive(_ i: Int) {
  var data = [UInt8](repeating: 0, count: 512)
  var n = 0
  while true {
    n = recv(ends[i].fd, &data, data.count, Int32(MSG_DONTWAIT))
    if n <= 0 { break }
    for byte in data[..<n] {
      if byte == UInt8(ascii: "\n") {
        let line = String(decoding: ends[i].got, as: UTF8.self)
        ends[i].got = []
        checkLine(i, line)
      } else if ends[i].got.count == 1023 {
        fail(
          i, "a line longer than the protocol allows", String(decoding: ends[i].got, as: UTF8.self))
      } else {
        ends[i].got.append(byte)
      }
    }
  }
  if n == 0 {
    if !ends[i].got.isEmpty {
      fail(i, "a last line without its newline", String(decoding: ends[i].got, as: UTF8.self))
    }
    ends[i].closed = true
  }
}

// Is there a line in what it sent that must have been refused?
func sentABadLine(_ i: Int) -> Bool {
  var rest = ends[i].sent[...]
  while !rest.isEmpty {
    let newline = rest.firstIndex(of: UInt8(ascii: "\n"))
    let line = rest[..<(newline ?? rest.endIndex)]
    if line.contains(0) || line.count >= LINE_MAX_BYTES { return true }
    guard let newline else { return false }  // not a whole line yet
    let word = line.drop { $0 == UInt8(ascii: " ") }.prefix { $0 != UInt8(ascii: " ") }
    if !word.elementsEqual("REGISTER".utf8) && !word.elementsEqual("RELAY".utf8) { return true }
    rest = rest[(newline + 1)...]
  }
  return false
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let input = UnsafeBufferPointer(start: data, count: size)
  for i in 0..<peers { connectPeer(i) }
  var at = 0
  while at < size {
    let i = Int(input[at]) % peers
    let length = min(Int(input[at]) / 4, size - at - 1)
    at += 1
    let chunk = Array(input[at..<(at + length)])
    at += length
    if ends[i].closed {  // a new client takes the free slot
      close(ends[i].fd)
      connectPeer(i)
    }
    if clients[i].fd >= 0 {
      precondition(send(ends[i].fd, chunk, length, Int32(MSG_NOSIGNAL)) == length)
      ends[i].sent += chunk.prefix(4096 - ends[i].sent.count)
      if length == 0 {  // no chunk: the client hangs up
        shutdown(ends[i].fd, Int32(SHUT_WR))
        ends[i].hungUp = true
      }
      on_readable(i)
    }
    for k in 0..<peers { receive(k) }
    for k in 0..<peers {
      if ends[k].refused && !ends[k].closed { fail(k, "ERROR, and the connection stayed open", "") }
      if ends[k].closed && !ends[k].refused && !ends[k].hungUp {
        fail(k, "closed without an ERROR", "")
      }
      if !ends[k].refused && !ends[k].closed && clients[k].fd >= 0 && sentABadLine(k) {
        fail(k, "a bad line went unanswered", String(decoding: ends[k].sent, as: UTF8.self))
      }
    }
  }
  for i in 0..<peers {
    if clients[i].fd >= 0 { drop(i) }
    close(ends[i].fd)
  }
  return 0
}
