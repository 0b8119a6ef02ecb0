// libFuzzer target: the swift-sockets rendezvous-server's service (Sources/swift-sockets/
// rendezvous/rendezvous.swift), with the script of fuzz/rendezvous-c: a byte picks a
// client (byte % 3) and a chunk length (byte / 4), that many bytes follow, are sent on
// the client's socket pair and taken by Rendezvous.receive. Every line the server sends
// must be PEER, RELAY or ERROR with a documented reason; ERROR ends the server's
// sending; a bad line never goes unanswered; and once every client has hung up, the
// server has closed them all and forgotten every name. The clients' side is
// fuzz/rendezvous-swift/clients.swift, shared with the twin's target.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

// What this server takes for a valid name, address and line
func isValidName(_ text: String) -> Bool { isName(text) }
func isValidAddress(_ text: String) -> Bool { TransportAddress(ipv4: text) != nil }
let lineLimit = maxLine

nonisolated(unsafe) var service: Rendezvous! = nil
nonisolated(unsafe) var serverEnds = [Client?](repeating: nil, count: peers)  // as it knows them

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
  let socket = Socket(adopting: newEnd(i))
  let client = Client(socket, address: try! SocketAddress(host: "10.0.0.\(i)", port: 4000))
  try! service.poller.register(socket, for: .readable)
  service.clients[socket] = client
  serverEnds[i] = client
}

// Is client i still one of the server's?
func isOpen(_ i: Int) -> Bool {
  guard let client = serverEnds[i] else { return false }
  return service.clients[client.socket] != nil
}

// Our end hangs up; the server must then close its end, whatever state it was in
func disconnect(_ i: Int) {
  close(ends[i].fd)
  guard let client = serverEnds[i] else { return }
  for _ in 0..<8 where isOpen(i) { service.receive(from: client) }
  if isOpen(i) { fail(i, "still open after the client left", "") }
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
    if isOpen(i), let client = serverEnds[i] {
      send(i, chunk)
      service.receive(from: client)
    }
    checkAll(stillOpen: isOpen)
  }
  for i in 0..<peers { disconnect(i) }
  if !service.clients.isEmpty { fatalError("\(service.clients.count) clients left open") }
  if !service.registered.isEmpty {
    fatalError("names still registered with every client gone: \(service.registered.keys)")
  }
  return 0
}
