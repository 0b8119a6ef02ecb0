// The rendezvous service itself, apart from its command line (server.swift): the
// clients, their lines and the pairing. A file of its own, so that its fuzz target
// (fuzz/rendezvous-swift-sockets) compiles it without ArgumentParser.
import Sockets
import Stun

#if canImport(Glibc)
  @preconcurrency import Glibc  // print's stdout, fputs's stderr
#elseif canImport(Darwin)
  import Darwin
#endif

let maxLine = 255  // bytes, with the "\n"

/// One client connection, and what it has told us.
final class Client {
  let socket: Socket
  let address: String  // "127.0.0.1:54321", for error lines
  var input: [UInt8] = []  // received, not yet a whole line
  var name: String?  // once registered
  var peer = ""  // whom it waits for
  var candidate = ""  // its public address, "ip:port"
  var partner: Client?  // once paired, until it leaves
  var paired = false  // was ever paired: a RELAY after its partner left is refused as such
  var finished = false  // refused or closed: no more requests are read from it

  init(_ socket: Socket, address: SocketAddress) {
    self.socket = socket
    self.address = "\(address)"
  }
}

final class Rendezvous {
  let listener: Socket
  let poller: Poller
  var clients: [Socket: Client] = [:]
  var registered: [String: Client] = [:]
  var buffer = [UInt8](repeating: 0, count: 4096)  // every receive, allocated once
  var paused = false  // accept ran out of descriptors: new clients wait a second

  init(listener: Socket, poller: Poller) throws(SocketError) {
    self.listener = listener
    self.poller = poller
    try poller.register(listener, for: .readable)
  }

  func run() throws(SocketError) -> Never {
    while true {
      try poller.modify(listener, to: paused ? [] : .readable)
      let events = try poller.wait(timeout: paused ? .seconds(1) : nil)
      paused = false
      for event in events {
        if event.socket === listener {
          acceptClients()
        } else if let client = clients[event.socket] {
          receive(from: client)
        }
      }
    }
  }

  func acceptClients() {
    do {
      while let (socket, address) = try listener.acceptNow() {
        try poller.register(socket, for: .readable)
        clients[socket] = Client(socket, address: address)
      }
    } catch {
      fputs("\(error.call) failed: \(error.reason)\n", stderr)  // out of descriptors?
      paused = true
    }
  }

  /// Whatever has arrived; each whole line is a request.
  func receive(from client: Client) {
    let received: Socket.Received
    do {
      received = try client.socket.receiveNow(into: &buffer)
    } catch {
      return close(client)  // reset by the peer
    }
    switch received {
    case .wouldBlock:
      return
    case .endOfStream:
      return close(client)
    case .bytes(let count) where !client.finished:
      client.input += buffer[..<count]
      while !client.finished {
        let newline = client.input.firstIndex(of: UInt8(ascii: "\n"))
        // Refused as soon as it arrives, newline or not (as the C server reads, a byte at
        // a time): a NUL, or the byte that makes a line too long
        let line = client.input[..<(newline ?? client.input.endIndex)].prefix(maxLine)
        guard !line.contains(0) else { return refuse(client, "NUL in a line") }
        guard line.count < maxLine else { return refuse(client, "line too long") }
        guard let newline else { return }  // the rest of the line is still to come
        let text = String(decoding: line, as: UTF8.self)
        client.input.removeSubrange(...newline)
        handle(text, from: client)
      }
    case .bytes:
      return  // after ERROR: what it still sends is read only to be dropped
    }
  }

  func handle(_ line: String, from client: Client) {
    let words = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
    switch words.first {
    case "REGISTER" where words.count == 4: register(client, as: words[1], for: words[2], words[3])
    case "REGISTER": refuse(client, "usage: REGISTER <name> <peer> <ip>:<port>")
    case "RELAY" where words.count == 2: relay(from: client, words[1])
    case "RELAY": refuse(client, "usage: RELAY <ip>:<port>")
    default: refuse(client, "unknown command")
    }
  }

  func register(_ client: Client, as name: String, for peer: String, _ candidate: String) {
    guard isName(name), isName(peer) else { return refuse(client, "bad name") }
    guard TransportAddress(ipv4: candidate) != nil else { return refuse(client, "bad address") }
    guard client.name == nil else { return refuse(client, "already registered") }
    guard registered[name] == nil else { return refuse(client, "name already registered") }
    (client.name, client.peer, client.candidate) = (name, peer, candidate)
    registered[name] = client
    print("\(name) registered (waiting for \(peer))")
    // Paired once both have named each other (and the other has no partner yet)
    guard let other = registered[peer], other !== client, other.peer == name, other.partner == nil
    else { return }
    (client.partner, other.partner) = (other, client)
    (client.paired, other.paired) = (true, true)
    send("PEER \(peer) \(other.candidate)", to: client)
    send("PEER \(name) \(candidate)", to: other)
    print("paired \(peer) and \(name)")
  }

  func relay(from client: Client, _ relayed: String) {
    guard let name = client.name, client.paired else { return refuse(client, "RELAY before PEER") }
    guard TransportAddress(ipv4: relayed) != nil else { return refuse(client, "bad address") }
    guard let partner = client.partner else { return refuse(client, "the peer has left") }
    print("relay from \(name)")
    send("RELAY \(name) \(relayed)", to: partner)
  }

  /// Says ERROR, forgets the client, and closes our side: it reads the line, then the end.
  func refuse(_ client: Client, _ reason: String) {
    print("error from \(client.address): \(reason)")
    send("ERROR \(reason)", to: client)
    forget(client)
    client.finished = true
    // Not close(): closing with its unread bytes in our buffer would send a reset, which
    // may destroy the ERROR line before it reads it. It closes; then so do we.
    try? client.socket.shutdown(.writing)
  }

  /// A line is a few dozen bytes: a socket whose buffer cannot take it has stopped
  /// reading, and is dropped.
  func send(_ line: String, to client: Client) {
    let bytes = Array("\(line)\n".utf8)
    guard (try? client.socket.sendNow(bytes[...])) == bytes.count else { return close(client) }
  }

  func close(_ client: Client) {
    forget(client)
    client.finished = true
    poller.unregister(client.socket)
    client.socket.close()
    clients[client.socket] = nil
  }

  /// Frees its name, and its partner from it.
  func forget(_ client: Client) {
    guard let name = client.name else { return }
    print("\(name) left")
    registered[name] = nil
    client.partner?.partner = nil
    client.partner = nil
    client.name = nil
  }
}

/// 1 to 32 characters from A-Z, a-z, 0-9, "_" and "-".
func isName(_ text: String) -> Bool {
  (1...32).contains(text.utf8.count)
    && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
}
