// p2p-peer over the Sockets library: reach another peer through NATs. Learn our public
// address by STUN, swap addresses through the rendezvous server, punch a hole by
// sending to each other at once; if that fails, relay through a TURN server (RFC 8656).
// One UDP socket does all of it, since a NAT maps each socket to its own public port:
// the address STUN saw is the one the peer must send to. The STUN and TURN messages are
// the Stun library's; lectures/p2p.md tells the story.
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout, stderr
import Sockets
import Stun

@main
struct P2PPeer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "p2p-peer",
    abstract:
      "Say hello to another peer through NATs: directly if a hole can be punched, else via TURN.")

  @Argument(help: "Our name at the rendezvous server.") var name: String
  @Argument(help: "The peer's name.") var peer: String
  @Argument(help: "The rendezvous server, HOST:PORT.") var rendezvous: String
  @Argument(help: "A STUN server, HOST:PORT.") var stun: String
  @Argument(help: "A TURN server, HOST:PORT, then USER and PASSWORD: the fallback.")
  var turn: [String] = []

  func validate() throws {
    for text in [name, peer] where !isName(text) {
      throw ValidationError("a name is 1 to 32 of A-Z a-z 0-9 _ -, not '\(text)'")
    }
    for text in [rendezvous, stun] + turn.prefix(1) where hostAndPort(text) == nil {
      throw ValidationError("expected HOST:PORT (port 1 to 65535), not '\(text)'")
    }
    guard turn.isEmpty || turn.count == 3 else {
      throw ValidationError("the TURN server comes with a USER and a PASSWORD")
    }
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    do {
      let session = try Session(name: name, peer: peer, socket: Socket.datagram(host: "0.0.0.0"))
      try session.run(rendezvous: hostAndPort(rendezvous)!, stun: hostAndPort(stun)!, turn: turn)
    } catch let error as StunError {
      throw failure("malformed answer: \(error)")
    } catch let error as SocketError {
      throw failure("\(error)")
    }
  }
}

/// Everything past 20 s is a failure.
let overallLimit = Duration.seconds(20)

final class Session {
  let name: String
  let peer: String
  let socket: Socket  // UDP, for STUN, punching, TURN and the hellos
  let end = ContinuousClock.now + overallLimit

  init(name: String, peer: String, socket: Socket) {
    self.name = name
    self.peer = peer
    self.socket = socket
  }

  func run(rendezvous: (String, UInt16), stun: (String, UInt16), turn: [String]) throws {
    // 1. Our public address, as the STUN server sees it
    let stunServer = try resolve(stun)
    let binding = StunMessage(type: .bindingRequest)
    guard
      let answer = try socket.exchange(
        binding, with: stunServer, until: min(.now + .seconds(5), end))
    else { throw failure("no answer from STUN server \(stunServer) in 5 s") }
    guard answer.type == .bindingSuccess else {
      throw StunError.unexpectedType(answer.type, expected: .binding)
    }
    guard let mapped = try answer.address(.xorMappedAddress) ?? answer.address(.mappedAddress)
    else {
      throw StunError.missing("XOR-MAPPED-ADDRESS or MAPPED-ADDRESS")
    }
    print("mapped \(mapped)")

    // 2. The peer's public address, through the rendezvous server
    let server = try Socket.connect(host: rendezvous.0, port: rendezvous.1, timeout: left())
    try server.sendAll("REGISTER \(name) \(peer) \(mapped)\n")
    let candidate = try expect("PEER", from: server)
    print("peer \(peer) \(candidate)")

    // 3. Punch: both send at once, so each NAT has seen an outgoing packet to the other
    let peerAddress = try SocketAddress(host: candidate.host, port: candidate.port)
    let fromPeer = { (bytes: [UInt8], sender: SocketAddress) in
      sender == peerAddress ? String(decoding: bytes, as: UTF8.self) : nil
    }
    let heard = try sendEvery200ms(
      "probe from \(name)", to: peerAddress, until: min(.now + .seconds(3), end)
    ) {
      fromPeer($0, $1).flatMap { self.isProbeOrHello($0) ? $0 : nil }
    }
    if let heard {
      try greet(peerAddress, already: heard, path: "direct", fromPeer)
      return
    }
    print("punch: no answer in 3 s")
    guard turn.count == 3 else {
      throw failure("hole punching failed and no TURN server was given")
    }

    // 4. Relay: an address on the TURN server that forwards to us what the peer sends
    let turnServer = try resolve(hostAndPort(turn[0])!)
    var client = TurnClient(
      socket: socket, server: turnServer, username: turn[1], password: turn[2])
    let relay = try client.allocate(until: end)
    print("relay \(relay)")
    try server.sendAll("RELAY \(relay)\n")
    let peerRelay = try expect("RELAY", from: server)
    print("peer relay \(peerRelay)")
    // TURN drops what comes from addresses without a permission: the peer's public IP
    try client.createPermission(for: candidate, until: end)
    let relayed = { (bytes: [UInt8], sender: SocketAddress) in
      sender == turnServer ? dataIndication(bytes) : nil
    }
    try greet(SocketAddress(host: peerRelay.host, port: peerRelay.port), path: "relayed", relayed)
  }

  /// Sends hellos to `address` until the peer's hello arrives (`heard` picks the peer's
  /// messages out of what arrives; `already` is one that came first), prints it, then
  /// for 1 s answers its probes and hellos, ours may have been lost: at most one answer
  /// per 200 ms, since the peer lingers too and two peers answering every hello would
  /// flood each other.
  func greet(
    _ address: SocketAddress, already: String? = nil, path: String,
    _ heard: ([UInt8], SocketAddress) -> String?
  ) throws {
    let hello = "hello from \(name)"
    var message = already == "hello from \(peer)" ? already : nil
    if message == nil {
      message = try sendEvery200ms(hello, to: address, until: end) {
        heard($0, $1).flatMap { $0 == "hello from \(self.peer)" ? $0 : nil }
      }
    }
    guard let message else { throw failure("hello from \(peer) (\(path)) did not happen in 20 s") }
    print("\(path): from \(peer): \(message)")
    let answering = ContinuousClock.now + .seconds(1)
    var nextAnswer = ContinuousClock.now
    while let (bytes, sender) = try receive(until: answering) {
      if let text = heard(bytes, sender), isProbeOrHello(text), ContinuousClock.now >= nextAnswer {
        try socket.send(hello, to: address)
        nextAnswer = .now + .milliseconds(200)
      }
    }
  }

  /// Sends `text` to `address` now and every 200 ms, until `wanted` finds what it wants
  /// in a datagram that arrives (and returns that), or until `until` (nil).
  func sendEvery200ms(
    _ text: String, to address: SocketAddress, until: ContinuousClock.Instant,
    _ wanted: ([UInt8], SocketAddress) -> String?
  ) throws -> String? {
    var sendAt = ContinuousClock.now
    while ContinuousClock.now < until {
      if ContinuousClock.now >= sendAt {
        try socket.send(text, to: address)
        sendAt = .now + .milliseconds(200)
      }
      if let (bytes, sender) = try receive(until: min(sendAt, until)),
        let found = wanted(bytes, sender)
      {
        return found
      }
    }
    return nil
  }

  /// The next datagram, or nil if none came by `until`.
  func receive(until: ContinuousClock.Instant) throws(SocketError) -> ([UInt8], SocketAddress)? {
    do {
      return try socket.receiveDatagram(timeout: ContinuousClock.now.duration(to: until))
    } catch .timedOut {
      return nil
    } catch {
      throw error  // spelled out: Swift 6.3's compiler crashes on the implicit rethrow
    }
  }

  /// The rendezvous server's next line, which must be `WORD PEER ip:port`.
  func expect(_ word: String, from server: Socket) throws -> TransportAddress {
    let line: String?
    do {
      line = try server.receiveLine(maxLength: 255, timeout: left())
    } catch .timedOut {
      throw failure("\(word) \(peer) from the rendezvous server did not happen in 20 s")
    } catch {
      throw error  // spelled out: Swift 6.3's compiler crashes on the implicit rethrow
    }
    guard let line else { throw failure("the rendezvous server closed the connection") }
    let words = line.split(separator: " ", omittingEmptySubsequences: false)
    guard words.count == 3, words[0] == word, words[1] == peer,
      let address = TransportAddress(ipv4: String(words[2]))
    else { throw failure("the rendezvous server said '\(line)', not \(word) \(peer) <ip>:<port>") }
    return address
  }

  func isProbeOrHello(_ text: String) -> Bool {
    text == "probe from \(peer)" || text == "hello from \(peer)"
  }

  /// What is left of the 20 s.
  func left() -> Duration { max(.zero, ContinuousClock.now.duration(to: end)) }
}

/// A TURN client with long-term credentials: it learns the realm and a nonce from the
/// server's first 401, then signs each request with MESSAGE-INTEGRITY.
struct TurnClient {
  let socket: Socket
  let server: SocketAddress
  let username: String
  let password: String
  var realm: [UInt8]?
  var nonce: [UInt8] = []

  init(socket: Socket, server: SocketAddress, username: String, password: String) {
    (self.socket, self.server, self.username, self.password) = (socket, server, username, password)
  }

  /// Our relayed address: where the TURN server receives for us.
  mutating func allocate(until end: ContinuousClock.Instant) throws -> TransportAddress {
    let answer = try request(.allocate, until: end) { _ in [.udpTransport] }
    guard let relay = try answer.address(.xorRelayedAddress) else {
      throw StunError.missing("XOR-RELAYED-ADDRESS")
    }
    return relay
  }

  /// Lets datagrams from `peer`'s IP address through to us (the port does not matter).
  mutating func createPermission(for peer: TransportAddress, until end: ContinuousClock.Instant)
    throws
  {
    _ = try request(.createPermission, until: end) { [$0.addressAttribute(.xorPeerAddress, peer)] }
  }

  /// A request of `method` with the attributes `build` makes for it (an XOR-ed address
  /// depends on its transaction id), signed once we know the realm; its success answer.
  /// A 401 to our first request brings the realm and nonce, 438 Stale Nonce a new nonce:
  /// each is answered with the request again, once.
  mutating func request(
    _ method: Method, until end: ContinuousClock.Instant, _ build: (StunMessage) -> [StunAttribute]
  ) throws -> StunMessage {
    var staleNonceRetried = false
    while true {
      var message = StunMessage(type: MessageType(method, .request))
      message.attributes = build(message)
      if let realm {
        message.attributes += [
          StunAttribute(.username, Array(username.utf8)), StunAttribute(.realm, realm),
          StunAttribute(.nonce, nonce),
        ]
      }
      let key = realm.map { longTermKey(username: username, realm: $0, password: password) }
      guard let answer = try socket.exchange(message, integrityKey: key, with: server, until: end)
      else { throw failure("an answer to TURN \(method) did not happen in 20 s") }
      guard answer.type.method == method, [.success, .error].contains(answer.type.messageClass)
      else {
        throw StunError.unexpectedType(answer.type, expected: method)
      }
      if answer.type.messageClass == .success { return answer }
      let error = try answer.errorCode()
      let challenge =
        (error?.code == 401 && realm == nil) || (error?.code == 438 && !staleNonceRetried)
      guard challenge, let newNonce = answer.value(of: .nonce) else {
        throw failure("TURN \(method) failed: \(error.map { "\($0)" } ?? "no ERROR-CODE")")
      }
      if error?.code == 401 {
        guard let newRealm = answer.value(of: .realm) else {
          throw StunError.missing("REALM in a 401")
        }
        realm = newRealm
      } else {
        staleNonceRetried = true
      }
      nonce = newNonce
    }
  }
}

/// The text a Data indication carries (TURN forwarding what a peer sent to our relay);
/// nil for anything else, which a stranger may have sent.
func dataIndication(_ bytes: [UInt8]) -> String? {
  guard let message = try? StunMessage(parsing: bytes),
    message.type == MessageType(.data, .indication),
    let data = message.value(of: .data)
  else { return nil }
  return String(decoding: data, as: UTF8.self)
}

func resolve(_ server: (host: String, port: UInt16)) throws -> SocketAddress {
  do {
    return try SocketAddress.resolve(host: server.host, port: server.port, family: .ipv4)[0]
  } catch {
    throw failure("unknown host \(server.host): \(error.reason)")
  }
}

/// "host:port" split at its last colon; nil unless the port is 1 to 65535.
func hostAndPort(_ text: String) -> (host: String, port: UInt16)? {
  guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]),
    port > 0, colon > text.startIndex
  else { return nil }
  return (String(text[..<colon]), port)
}

/// 1 to 32 characters from A-Z, a-z, 0-9, "_" and "-": the rendezvous server's names.
func isName(_ text: String) -> Bool {
  (1...32).contains(text.utf8.count)
    && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
}

/// Says what went wrong on stderr, as "p2p-peer: what", for an exit with status 1.
func failure(_ what: String) -> ExitCode {
  fputs("p2p-peer: \(what)\n", stderr)
  return .failure
}
