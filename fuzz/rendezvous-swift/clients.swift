// The three clients of the rendezvous fuzz targets, for both Swift servers (this
// folder's target and rendezvous-swift-sockets, whose sources name this file): what
// each sent and received, and what the protocol (lectures/rendezvous.md) lets a server
// answer. Each target says what a valid name and address are, as its server does
// (isValidName, isValidAddress), and how long a line may be (lineLimit).
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
  var closed = false  // the server ended its sending (closed, or shut it down)
  var hungUp = false  // we shut our side: the server may close without a word
}
nonisolated(unsafe) var ends = [End](repeating: End(), count: peers)

func fail(_ peer: Int, _ why: String, _ line: String) -> Never {
  fatalError("client \(peer): \(why): \(line.debugDescription)")
}

// A socket pair for client i: the server's end (non-blocking, as accept's would be) is
// returned, ours is kept
func newEnd(_ i: Int) -> Int32 {
  var pair: [Int32] = [0, 0]
  precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
  precondition(fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK) == 0)
  ends[i] = End(fd: pair[1])
  return pair[0]
}

// Client i sends a chunk; none: it hangs up (shuts its sending side)
func send(_ i: Int, _ chunk: [UInt8]) {
  precondition(send(ends[i].fd, chunk, chunk.count, Int32(MSG_NOSIGNAL)) == chunk.count)
  ends[i].sent += chunk.prefix(4096 - ends[i].sent.count)
  if chunk.isEmpty {
    shutdown(ends[i].fd, Int32(SHUT_WR))
    ends[i].hungUp = true
  }
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
  guard words.count == 3, words[0] == "PEER" || words[0] == "RELAY", isValidName(words[1]),
    isValidAddress(words[2])
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

// Is there a line in what client i sent that must have been refused?
func sentABadLine(_ i: Int) -> Bool {
  var rest = ends[i].sent[...]
  while !rest.isEmpty {
    let newline = rest.firstIndex(of: UInt8(ascii: "\n"))
    let line = rest[..<(newline ?? rest.endIndex)]
    if line.contains(0) || line.count >= lineLimit { return true }
    guard let newline else { return false }  // not a whole line yet
    let word = line.drop { $0 == UInt8(ascii: " ") }.prefix { $0 != UInt8(ascii: " ") }
    if !word.elementsEqual("REGISTER".utf8) && !word.elementsEqual("RELAY".utf8) { return true }
    rest = rest[(newline + 1)...]
  }
  return false
}

// After each step: what every client has seen so far is what the protocol allows
func checkAll(stillOpen: (Int) -> Bool) {
  for k in 0..<peers { receive(k) }
  for k in 0..<peers {
    if ends[k].refused && !ends[k].closed { fail(k, "ERROR, and the connection went on", "") }
    if ends[k].closed && !ends[k].refused && !ends[k].hungUp {
      fail(k, "closed without an ERROR", "")
    }
    if !ends[k].refused && !ends[k].closed && stillOpen(k) && sentABadLine(k) {
      fail(k, "a bad line went unanswered", String(decoding: ends[k].sent, as: UTF8.self))
    }
  }
}
