// Connections: setting them up over IPv4, IPv6 and Unix-domain, and each framing.
import Sockets
import Testing

@Suite(.timeLimit(.minutes(1)))
struct StreamTests {
  @Test(arguments: [("127.0.0.1", AddressFamily.ipv4), ("::1", .ipv6)])
  func roundTripOverIP(host: String, family: AddressFamily) throws {
    let listener = try Socket.listen(host: host, port: 0)
    let address = try listener.localAddress
    #expect(address.family == family)
    #expect(address.host == host)
    let port = try #require(address.port)
    #expect(port != 0)
    #expect(address.description == (family == .ipv6 ? "[::1]:\(port)" : "127.0.0.1:\(port)"))

    let client = try Socket.connect(host: host, port: port, timeout: patience)
    let (server, peer) = try listener.accept(timeout: patience)
    #expect(try client.localAddress == peer)
    #expect(try server.remoteAddress == peer)
    #expect(try client.remoteAddress == address)

    try client.sendAll("Hello from client", timeout: patience)
    #expect(try server.receive(upTo: 1024, timeout: patience) == Array("Hello from client".utf8))
    try server.sendAll(Array("Hello from server".utf8), timeout: patience)
    #expect(try client.receive(upTo: 1024, timeout: patience) == Array("Hello from server".utf8))
  }

  @Test func roundTripOverUnixDomain() throws {
    let path = temporarySocketPath()
    defer { removeFile(path) }
    let listener = try Socket.listen(path: path)
    #expect(try listener.localAddress.path == path)
    #expect(try listener.localAddress.description == path)

    let client = try Socket.connect(path: path, timeout: patience)
    let (server, peer) = try listener.accept(timeout: patience)
    #expect(peer.family == .unix)
    #expect(peer.path == "")  // the client never bound a name
    #expect(try client.remoteAddress.path == path)

    try client.sendAll("ping\n", timeout: patience)
    #expect(try server.receiveLine(timeout: patience) == "ping")
    try server.sendAll("pong\n", timeout: patience)
    #expect(try client.receiveLine(timeout: patience) == "pong")
  }

  @Test func wildcardListenerTakesALocalhostClient() throws {
    let listener = try Socket.listen(port: 0)
    let port = try boundPort(of: listener)
    #expect(try ["0.0.0.0:\(port)", "[::]:\(port)"].contains(listener.localAddress.description))
    let client = try Socket.connect(host: "localhost", port: port, timeout: patience)
    let (server, _) = try listener.accept(timeout: patience)
    try client.sendAll("hi", timeout: patience)
    #expect(try server.receive(exactly: 2, timeout: patience) == Array("hi".utf8))
  }

  @Test func wildcardListenerIsDualStack() throws {
    let listener = try Socket.listen(port: 0)
    let port = try boundPort(of: listener)
    #expect(try listener.localAddress.description == "[::]:\(port)")
    // An IPv4 client shows as its IPv4-mapped IPv6 address; an IPv6 one as itself.
    for (host, peerHost) in [("127.0.0.1", "::ffff:127.0.0.1"), ("::1", "::1")] {
      let client = try Socket.connect(host: host, port: port, timeout: patience)
      let (server, peer) = try listener.accept(timeout: patience)
      let clientPort = try #require(client.localAddress.port)
      #expect(peer.family == .ipv6)
      #expect(peer.host == peerHost)
      #expect(peer.description == "[\(peerHost)]:\(clientPort)")
      #expect(peer.flowInfo == 0 && peer.scopeID == 0)
      try client.sendAll("hi", timeout: patience)
      #expect(try server.receive(exactly: 2, timeout: patience) == Array("hi".utf8))
    }
  }

  @Test func namedHostListensThereOnly() throws {
    let listener = try Socket.listen(host: "0.0.0.0", port: 0)
    let port = try boundPort(of: listener)
    #expect(try listener.localAddress.description == "0.0.0.0:\(port)")
    #expect(try listener.localAddress.flowInfo == nil)
    #expect(throws: SocketError.system(call: "connect", errno: Code.connectionRefused)) {
      try Socket.connect(host: "::1", port: port, timeout: patience)
    }
  }

  @Test func stepByStepAsInC() throws {
    let listener = try Socket(family: .ipv4, type: .stream)
    try listener.bind(to: SocketAddress(host: "127.0.0.1", port: 0))
    try listener.listen(backlog: 5)
    let client = try Socket(family: .ipv4, type: .stream)
    try client.connect(to: listener.localAddress, timeout: patience)
    let (server, _) = try listener.accept(timeout: patience)
    try server.sendAll("ok", timeout: patience)
    #expect(try client.receive(upTo: 10, timeout: patience) == Array("ok".utf8))
  }

  @Test func keepAliveReachesTheKernelInWholeSeconds() throws {
    let (client, _) = try connectedPair()
    #expect(keepAliveSettings(of: client)[0] == 0)  // off until asked for
    try client.enableKeepAlive(idle: .seconds(30), interval: .milliseconds(1500), count: 4)
    #expect(keepAliveSettings(of: client) == [1, 30, 2, 4])
  }

  @Test func keepAliveOutsideTheKernelsLimitsIsRefused() throws {
    let (client, _) = try connectedPair()
    #expect(throws: SocketError.system(call: "setsockopt", errno: Code.invalidArgument)) {
      try client.enableKeepAlive(idle: .seconds(1), interval: .seconds(1), count: 0)
    }
  }

  @Test func receiveUpToReturnsEmptyAtEndOfFile() throws {
    let (client, server) = try connectedPair()
    client.close()
    #expect(try server.receive(upTo: 10, timeout: patience) == [])
  }

  @Test func receiveExactlyWaitsForTheWholeMessage() throws {
    let (client, server) = try connectedPair()
    let message = Background { try server.receive(exactly: 8, timeout: patience) }
    for piece in ["ab", "cde", "fgh"] {
      try client.sendAll(piece, timeout: patience)
    }
    #expect(try message.value() == Array("abcdefgh".utf8))
  }

  @Test func receiveExactlyIsNilWhenThePeerClosesBetweenMessages() throws {
    let (client, server) = try connectedPair()
    try client.sendAll("12345678", timeout: patience)
    client.close()
    #expect(try server.receive(exactly: 8, timeout: patience) == Array("12345678".utf8))
    #expect(try server.receive(exactly: 8, timeout: patience) == nil)
  }

  @Test func receiveExactlyFailsWhenThePeerClosesMidMessage() throws {
    let (client, server) = try connectedPair()
    try client.sendAll("123", timeout: patience)
    client.close()
    #expect(throws: SocketError.closedMidMessage(received: 3)) {
      try server.receive(exactly: 8, timeout: patience)
    }
  }

  @Test func linesSurviveOneByteWrites() throws {
    let (client, server) = try connectedPair()
    // Like the lecture's Java clients: one byte per write, so lines arrive in pieces.
    let writer = Background {
      for byte in "hello\r\nworld\n\nlast".utf8 {
        try client.sendAll([byte], timeout: patience)
      }
      client.close()
    }
    #expect(try server.receiveLine(timeout: patience) == "hello")
    #expect(try server.receiveLine(timeout: patience) == "world")
    #expect(try server.receiveLine(timeout: patience) == "")
    #expect(throws: SocketError.closedMidMessage(received: 4)) {
      try server.receiveLine(timeout: patience)
    }
    try writer.value()
  }

  @Test func receiveLineIsNilAtEndOfFile() throws {
    let (client, server) = try connectedPair()
    try client.sendAll("only\n", timeout: patience)
    client.close()
    #expect(try server.receiveLine(timeout: patience) == "only")
    #expect(try server.receiveLine(timeout: patience) == nil)
  }

  @Test func receiveLineLeavesTheRestForTheNextCall() throws {
    let (client, server) = try connectedPair()
    try client.sendAll(
      Array("HEAD\n".utf8) + [0, 1, 2, 3] + Array("tail\n".utf8), timeout: patience)
    #expect(try server.receiveLine(timeout: patience) == "HEAD")
    #expect(try server.receive(exactly: 4, timeout: patience) == [0, 1, 2, 3])
    #expect(try server.receiveLine(timeout: patience) == "tail")
  }

  @Test func receiveLineTakesLinesUpToItsLimit() throws {
    let (client, server) = try connectedPair()
    let long = String(repeating: "x", count: 10_000)  // longer than one peek
    try client.sendAll("0123456789\n" + long + "\n", timeout: patience)
    #expect(try server.receiveLine(maxLength: 10, timeout: patience) == "0123456789")
    #expect(try server.receiveLine(maxLength: 10_000, timeout: patience) == long)
  }

  @Test func receiveLineRefusesALineTooLong() throws {
    let (client, server) = try connectedPair()
    try client.sendAll("01234567890\n", timeout: patience)
    #expect(throws: SocketError.lineTooLong(limit: 10)) {
      try server.receiveLine(maxLength: 10, timeout: patience)
    }
  }

  @Test func sendAllDeliversSeveralMebibytes() throws {
    let (client, server) = try connectedPair()
    // Far more than the socket buffers hold: send(2) takes it piece by piece.
    let payload = (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 13) }
    let received = Background { try server.receive(exactly: payload.count, timeout: patience) }
    try client.sendAll(payload, timeout: patience)
    #expect(try received.value() == payload)
  }

  @Test func shutdownWritingSendsEndOfFileButKeepsReading() throws {
    let (client, server) = try connectedPair()
    try client.sendAll("request", timeout: patience)
    try client.shutdown(.writing)
    #expect(try server.receive(exactly: 7, timeout: patience) == Array("request".utf8))
    #expect(try server.receive(upTo: 10, timeout: patience) == [])
    try server.sendAll("reply", timeout: patience)
    try server.shutdown(.both)
    #expect(try client.receive(exactly: 5, timeout: patience) == Array("reply".utf8))
    #expect(try client.receive(upTo: 10, timeout: patience) == [])
  }

  @Test func shutdownReadingEndsReceiving() throws {
    let (client, server) = try connectedPair()
    defer { client.close() }  // keep the peer open: only our reading side ends
    try server.shutdown(.reading)
    #expect(try server.receive(upTo: 10, timeout: patience) == [])
  }

  @Test func shutdownWakesAThreadWaitingToReceive() throws {
    let (client, server) = try connectedPair()
    defer { client.close() }
    // The way to stop a thread blocked on a socket: shut the socket down, and let that
    // thread close it. (close() from here would leave it waiting.)
    let reader = Background { try server.receive(upTo: 10, timeout: patience) }
    try server.shutdown(.both)
    #expect(try reader.value() == [])  // end-of-file at once, not a timeout
  }

  @Test func writingToAClosedConnectionFailsInsteadOfRaisingSIGPIPE() throws {
    let (client, server) = try connectedPair()
    client.close()
    // The first send may still be accepted; the peer's reset makes a later one fail.
    // Were SIGPIPE not suppressed, the whole test process would die here.
    let chunk = [UInt8](repeating: 0, count: 65_536)
    var failure: SocketError?
    for _ in 0..<100 where failure == nil {
      do throws(SocketError) {
        try server.sendAll(chunk, timeout: patience)
      } catch {
        failure = error
      }
    }
    let expected: [SocketError] = [
      .system(call: "send", errno: Code.brokenPipe),
      .system(call: "send", errno: Code.connectionReset),
    ]
    #expect(failure.map(expected.contains) == true)
  }
}
