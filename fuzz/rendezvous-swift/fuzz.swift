// libFuzzer target: the swift twin's rendezvous-server (Sources/swift/rendezvous/
// server.swift, its declarations), the twin of fuzz/rendezvous-c with the same script:
// a byte picks a client (byte % 3) and a chunk length (byte / 4), that many bytes
// follow, are sent on the client's socket pair and taken by on_readable. Every line
// the server sends must be PEER, RELAY or ERROR with a documented reason; ERROR closes
// the connection; a bad line (an unknown first word, a NUL, 255 bytes without "\n")
// never goes unanswered. The clients' side is clients.swift, shared with
// rendezvous-swift-sockets.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

// What this server takes for a valid name, address and line
func isValidName(_ text: String) -> Bool { valid_name(text) }
func isValidAddress(_ text: String) -> Bool { valid_address(text) }
let lineLimit = LINE_MAX_BYTES

@_cdecl("LLVMFuzzerInitialize")
func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutableRawPointer) -> Int32 {
  if freopen("/dev/null", "w", stdout) == nil { abort() }  // the server's log lines
  return 0
}

// A new connection in slot i, as accept_client makes one
func connectPeer(_ i: Int) {
  clients[i] = Client()
  clients[i].fd = newEnd(i)
  clients[i].from = "10.0.0.\(i):4000"
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
      send(i, chunk)
      on_readable(i)
    }
    checkAll { clients[$0].fd >= 0 }
  }
  for i in 0..<peers {
    if clients[i].fd >= 0 { drop(i) }
    close(ends[i].fd)
  }
  return 0
}
