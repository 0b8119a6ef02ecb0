// rendezvous-server over the Sockets library: the signaling service of NAT traversal.
// Two peers that cannot reach each other yet each tell it their public candidate; it
// hands each one the other's. One thread serves every connection through a Poller over
// poll(2). The line protocol is in lectures/rendezvous.md:
//   REGISTER <name> <peer> <ip>:<port>  ->  PEER <peer> <ip>:<port>, once both are here
//   RELAY <ip>:<port>                   ->  RELAY <name> <ip>:<port>, to the other one
//   anything else                       ->  ERROR <reason>, and the connection is closed
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout, stderr
import KitOptions
import Sockets
import Stun

let maxLine = 255  // bytes, with the "\n"

@main
struct RendezvousServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rendezvous-server",
    abstract: "On port 3479: introduce pairs of peers to each other's public address.")

  @Argument(help: "The TCP port to listen on. Default: --port, $KIT_PORT, else 3479.")
  var listenPort: UInt16?

  @OptionGroup var options: ServerOptions

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let port = listenPort ?? options.port(default: 3479)
    let listener = try Socket.listen(host: "0.0.0.0", port: port)
    print("listening on port \(port)")
    try Rendezvous(listener: listener, poller: Poller(backend: .poll)).run()
  }
}

/// One client connection, and what it has told us.
final class Client {
  let socket: Socket
  let address: String  // "127.0.0.1:54321", for error lines
  var input: [UInt8] = []  // received, not yet a whole line
  var name: String?  // once registered
  var peer = ""  // whom it waits for
  var candidate = ""  // its public address, "ip:port"
  var partner: Client?  // once paired
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
      while !client.finished, let newline = client.input.firstIndex(of: UInt8(ascii: "\n")) {
        guard newline < maxLine else { return refuse(client, "line too long") }
        let line = String(decoding: client.input[..<newline], as: UTF8.self)
        client.input.removeSubrange(...newline)
        handle(line, from: client)
      }
      if !client.finished && client.input.count >= maxLine { refuse(client, "line too long") }
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
    default: refuse(client, "unknown request")
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
    send("PEER \(peer) \(other.candidate)", to: client)
    send("PEER \(name) \(candidate)", to: other)
    print("paired \(peer) and \(name)")
  }

  func relay(from client: Client, _ relayed: String) {
    guard let name = client.name, let partner = client.partner else {
      return refuse(client, "RELAY before PEER")
    }
    guard TransportAddress(ipv4: relayed) != nil else { return refuse(client, "bad address") }
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
