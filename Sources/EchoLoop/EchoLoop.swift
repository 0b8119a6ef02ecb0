// The event loop of the swift-sockets tcp-echo servers (select-server.swift,
// poll-server.swift, epoll-server.swift), which differ only in the Poller backend they
// give it: one thread for every client, echo buffered when a client reads slowly.
import Sockets

#if canImport(Glibc)
  @preconcurrency import Glibc  // errno codes, stderr
#elseif canImport(Musl)
  @preconcurrency import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

let readSize = 256 * 1024  // one receive: big reads make bulk echo cheap
let bufferCap = 1024 * 1024  // the most echo one client may owe us

/// A client, and the echo it has not taken yet: owed[start...].
struct Client {
  let socket: Socket
  var owed: [UInt8] = []  // grows at the first short send, keeps its capacity till close
  var start = 0
  var finished = false  // it has shut down its sending side: read no more

  var owing: Int { owed.count - start }

  /// Input while there is room to keep its echo; output only while echo is owed, or
  /// the poller would report it writable at once, forever (a busy loop).
  var interest: Readiness {
    var wanted: Readiness = []
    if !finished && owing < bufferCap { wanted.insert(.readable) }
    if owing > 0 { wanted.insert(.writable) }
    return wanted
  }

  /// Readable: one receive (level-triggered: if more is waiting, the next wait says so).
  mutating func receive(into buffer: inout [UInt8]) throws(SocketError) {
    switch try socket.receiveNow(into: &buffer, upTo: min(bufferCap - owing, readSize)) {
    case .wouldBlock:
      break
    case .endOfStream:
      finished = true  // FIN: it sends no more, but may still read its echo
    case .bytes(let count):
      // Nothing owed before it: answer at once, and keep only what the socket did not take
      let sent = owing == 0 ? try socket.sendNow(buffer[..<count]) : 0
      if sent < count { keep(buffer[sent..<count]) }
    }
  }

  /// Writable, and echo is owed: send what the socket takes.
  mutating func send() throws(SocketError) {
    start += try socket.sendNow(owed[start...])
    if start == owed.count {
      owed.removeAll(keepingCapacity: true)
      start = 0
    }
  }

  /// Keeps what a send did not take, after what is already owed.
  mutating func keep(_ bytes: ArraySlice<UInt8>) {
    if owed.count + bytes.count > bufferCap {  // slide the owed bytes to the front
      owed.removeSubrange(..<start)
      start = 0
    }
    owed += bytes
  }
}

/// Python's repr() of a socket address, as the chapter's server prints its peer: for
/// IPv4 ('127.0.0.1', 54321); for IPv6, the dual-stack servers' family, a 4-tuple with
/// the flow label and scope: ('::1', 54321, 0, 0), ('::ffff:127.0.0.1', 54321, 0, 0).
public func pythonTuple(_ address: SocketAddress) -> String {
  let (host, port) = (address.host ?? "?", address.port ?? 0)
  guard let flowInfo = address.flowInfo, let scopeID = address.scopeID else {
    return "('\(host)', \(port))"
  }
  return "('\(host)', \(port), \(flowInfo), \(scopeID))"
}

public struct EchoLoop {
  let listener: Socket
  let poller: Poller
  var clients: [Client?] = []  // by descriptor number, as in the C servers: no hashing
  var buffer = [UInt8](repeating: 0, count: readSize)  // every receive, allocated once
  var accepting = true  // false while accept has run out of descriptors

  public init(listener: Socket, poller: Poller) {
    self.listener = listener
    self.poller = poller
  }

  /// Serves every client until the process ends.
  public mutating func run() throws(SocketError) -> Never {
    try poller.register(listener, for: .readable)
    while true {
      // Out of descriptors, stop watching the listener until a client leaves (no call
      // to the kernel when nothing changes)
      try poller.modify(listener, to: accepting ? .readable : [])
      // Sleep until something is ready: the only place this thread waits
      for event in try poller.wait() {
        if event.socket === listener {
          acceptClients()
        } else {
          serve(event)
        }
      }
    }
  }

  mutating func serve(_ event: Poller.Event) {
    // Taken out of the table while it is served. -1: closed earlier in this batch
    let fd = Int(event.socket.descriptor)
    guard fd >= 0, var client = clients[fd].take() else { return }
    do {
      if event.readiness.contains(.readable) { try client.receive(into: &buffer) }
      if event.readiness.contains(.writable) && client.owing > 0 { try client.send() }
      if client.finished && client.owing == 0 {
        drop(client)  // all echoed after its FIN: done
        return
      }
      try poller.modify(client.socket, to: client.interest)
      clients[fd] = client
    } catch .system(_, ECONNRESET), .system(_, EPIPE) {
      drop(client)  // a reset or vanished peer is routine for a server
    } catch {
      fputs("\(error.call) failed: \(error.reason)\n", stderr)  // other errors are news
      drop(client)
    }
  }

  /// The listener is readable: accept every client waiting.
  mutating func acceptClients() {
    do {
      while let (socket, address) = try listener.acceptNow() {
        do {
          try poller.register(socket, for: .readable)
        } catch {  // select: its descriptor is not below FD_SETSIZE
          fputs("refused a client: \(error.reason)\n", stderr)
          continue  // and the socket, no longer referred to, is closed
        }
        print("Connected: \(pythonTuple(address))")
        let fd = Int(socket.descriptor)
        if fd >= clients.count { clients += repeatElement(nil, count: fd + 1 - clients.count) }
        clients[fd] = Client(socket: socket)
      }
    } catch {
      fputs("accept failed: \(error.reason)\n", stderr)
      if error == .system(call: "accept", errno: EMFILE)
        || error == .system(call: "accept", errno: ENFILE)
      {
        accepting = false  // or the waiting client would be reported at once, forever
      }
    }
  }

  mutating func drop(_ client: Client) {
    poller.unregister(client.socket)
    client.socket.close()
    accepting = true  // a descriptor is free again
  }
}
