// libFuzzer target: the swift-sockets rendezvous-server's service (Sources/swift-sockets/
// rendezvous/rendezvous.swift), with the script of fuzz/rendezvous-c: a byte picks a
// client (byte % 3) and a chunk length (byte / 4), that many bytes follow, are sent on
// the client's socket pair and taken by Rendezvous.receive. Every line the server sends
// must be PEER, RELAY or ERROR with a documented reason; ERROR ends the server's
// sending; a bad line never goes unanswered; and once every client has hung up, the
// server has closed them all and forgotten every name.
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
  var server: Client? = nil  // the server's end, as it knows it
  var sent: [UInt8] = []  // what this connection sent (a prefix, if more)
  var got: [UInt8] = []  // what it received, not yet a whole line
  var refused = false  // it had its ERROR
  var closed = false  // the server ended its sending (shutdown or close)
  var hungUp = false  // we shut our side: the server may close without a word
}
nonisolated(unsafe) var ends = [End](repeating: End(), count: peers)
nonisolated(unsafe) var service: Rendezvous! = nil

func fail(_ peer: Int, _ why: String, _ line: String) -> Never {
  fatalError("client \(peer): \(why): \(line.debugDescription)")
}

@_cdecl("LLVMFuzzerInitialize")
func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutableRawPointer) -> Int32 {
  if freopen("/dev/null", "w", stdout) == nil { abort() }  // the server's log lines
  // The listener is never accepted from here: a socket that is not even bound will do
  let listener = try! Socket(family: .ipv4, type: .stream)
  service = try! Rendezvous(listener: listener, poller: Poller(backend: .poll))
  return 0
}

// A new connection in slot i, as acceptClients makes one
func connectPeer(_ i: Int) {
  var pair: [Int32] = [0, 0]
  precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
  let socket = Socket(adopting: pair[0])
  let client = Client(socket, address: try! SocketAddress(host: "10.0.0.\(i)", port: 4000))
  try! service.poller.register(socket, for: .readable)
  service.clients[socket] = client
  ends[i] = End(fd: pair[1], server: client)
}

// Our end hangs up; the server must then close its end, whatever state it was in
func disconnect(_ i: Int) {
  close(ends[i].fd)
  guard let client = ends[i].server else { return }
  for _ in 0..<8 where service.clients[client.socket] != nil { service.receive(from: client) }
  if service.clients[client.socket] != nil { fail(i, "still open after the client left", "") }
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
  guard words.count == 3, words[0] == "PEER" || words[0] == "RELAY", isName(words[1]),
    TransportAddress(ipv4: words[2]) != nil
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
    if line.contains(0) || line.count >= maxLine { return true }
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
      disconnect(i)
      connectPeer(i)
    }
    if let client = ends[i].server, service.clients[client.socket] != nil {
      precondition(send(ends[i].fd, chunk, length, Int32(MSG_NOSIGNAL)) == length)
      ends[i].sent += chunk.prefix(4096 - ends[i].sent.count)
      if length == 0 {  // no chunk: the client hangs up
        shutdown(ends[i].fd, Int32(SHUT_WR))
        ends[i].hungUp = true
      }
      service.receive(from: client)
    }
    for k in 0..<peers { receive(k) }
    for k in 0..<peers {
      guard let client = ends[k].server else { continue }
      let open = service.clients[client.socket] != nil
      if ends[k].refused && !ends[k].closed { fail(k, "ERROR, and the server went on sending", "") }
      if ends[k].closed && !ends[k].refused && !ends[k].hungUp {
        fail(k, "closed without an ERROR", "")
      }
      if !ends[k].refused && !ends[k].closed && open && sentABadLine(k) {
        fail(k, "a bad line went unanswered", String(decoding: ends[k].sent, as: UTF8.self))
      }
    }
  }
  for i in 0..<peers { disconnect(i) }
  if !service.clients.isEmpty { fatalError("\(service.clients.count) clients left open") }
  if !service.registered.isEmpty {
    fatalError("names still registered with every client gone: \(service.registered.keys)")
  }
  return 0
}
