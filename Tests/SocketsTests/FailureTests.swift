// Every way a call can fail, and what the error says.
import Sockets
import Testing

@Suite(.timeLimit(.minutes(1)))
struct FailureTests {
  @Test func connectionRefused() throws {
    // Bound but not listening: the port is ours, so no other test can start a server on
    // it, and a connection to it is refused.
    let reserved = try Socket(family: .ipv4, type: .stream)
    try reserved.bind(to: SocketAddress(host: "127.0.0.1", port: 0))
    let port = try boundPort(of: reserved)
    let refused = SocketError.system(call: "connect", errno: Code.connectionRefused)
    #expect(refused.description == "connect: Connection refused")

    #expect(throws: refused) {
      try Socket.connect(host: "127.0.0.1", port: port, timeout: patience)
    }
    let client = try Socket(family: .ipv4, type: .stream)
    #expect(throws: refused) {
      try client.connect(to: reserved.localAddress, timeout: patience)
    }
  }

  @Test func unknownHost() throws {
    let error = #expect(throws: SocketError.self) {
      try Socket.connect(host: "no-such-host.invalid", port: 80, timeout: patience)
    }
    guard case .resolution(let host, let code) = error else {
      Issue.record("expected a resolution error, got \(String(describing: error))")
      return
    }
    #expect(host == "no-such-host.invalid")
    #expect(error?.description == "getaddrinfo no-such-host.invalid: \(resolutionMessage(code))")
  }

  @Test func acceptTimesOut() throws {
    let listener = try Socket.listen(host: "127.0.0.1", port: 0)
    let waited = elapsed {
      #expect(throws: SocketError.timedOut(call: "accept")) {
        try listener.accept(timeout: .milliseconds(100))
      }
    }
    #expect(waited >= .milliseconds(100))
    #expect(SocketError.timedOut(call: "accept").description == "accept: timed out")
  }

  @Test func receivesTimeOut() throws {
    let (client, server) = try connectedPair()
    defer { client.close() }  // `_` would close it at once, and the server would read end-of-file
    let timeout = Duration.milliseconds(50)
    let waited = try elapsed {
      #expect(throws: SocketError.timedOut(call: "recv")) {
        try server.receive(upTo: 10, timeout: timeout)
      }
      #expect(throws: SocketError.timedOut(call: "recv")) {
        try server.receive(exactly: 10, timeout: timeout)
      }
      #expect(throws: SocketError.timedOut(call: "recv")) {
        try server.receiveLine(timeout: timeout)
      }
      let datagrams = try Socket.datagram(host: "127.0.0.1")
      #expect(throws: SocketError.timedOut(call: "recvmsg")) {
        try datagrams.receiveDatagram(timeout: timeout)
      }
    }
    #expect(waited >= timeout * 4)
  }

  @Test func aTimeoutSpansTheWholeMessage() throws {
    let (client, server) = try connectedPair()
    try client.sendAll("part", timeout: patience)
    // Bytes keep arriving, but not the whole message: the deadline still holds.
    #expect(throws: SocketError.timedOut(call: "recv")) {
      try server.receive(exactly: 100, timeout: .milliseconds(100))
    }
  }

  @Test func signalsDoNotCutAWaitShort() throws {
    let (client, server) = try connectedPair()
    let reader = Interruptible()
    let received = Background {
      reader.publish()
      return try server.receive(exactly: 4, timeout: patience)  // waits in poll
    }
    try reader.interrupt(for: .milliseconds(100))
    try client.sendAll("data", timeout: patience)
    #expect(try received.value() == Array("data".utf8))
  }

  @Test func connectTimesOutWhenTheServerDoesNotAnswer() throws {
    // A listener whose queue is full drops new connection requests (SYNs) instead of
    // refusing them, so a connect waits until its timeout. Fill the queue, then wait.
    let listener = try Socket.listen(host: "127.0.0.1", port: 0, backlog: 0)
    let port = try boundPort(of: listener)
    var queued: [Socket] = []
    var failure: SocketError?
    while failure == nil, queued.count < 64 {
      do throws(SocketError) {
        queued.append(
          try Socket.connect(host: "127.0.0.1", port: port, timeout: .milliseconds(200)))
      } catch {
        failure = error
      }
    }
    #expect(failure == .timedOut(call: "connect"))
  }

  @Test func sendTimesOutWhenThePeerDoesNotRead() throws {
    let (client, server) = try connectedPair()
    defer { server.close() }  // open, but never read
    let tooMuch = [UInt8](repeating: 0, count: 64 << 20)
    #expect(throws: SocketError.timedOut(call: "send")) {
      try client.sendAll(tooMuch, timeout: .milliseconds(200))
    }
  }

  @Test func aClosedSocketFailsWithBadDescriptor() throws {
    let client = try Socket(family: .ipv4, type: .stream)
    client.close()
    #expect(client.descriptor == -1)
    client.close()  // a second close does nothing
    #expect(throws: SocketError.system(call: "send", errno: Code.badDescriptor)) {
      try client.sendAll("late", timeout: patience)
    }
    #expect(throws: SocketError.system(call: "recv", errno: Code.badDescriptor)) {
      try client.receive(upTo: 1, timeout: patience)
    }
    #expect(throws: SocketError.system(call: "getsockname", errno: Code.badDescriptor)) {
      try client.localAddress
    }
  }

  @Test func anUnconnectedSocketHasNoPeer() throws {
    let socket = try Socket(family: .ipv6, type: .stream)
    #expect(throws: SocketError.system(call: "getpeername", errno: Code.notConnected)) {
      try socket.remoteAddress
    }
  }

  @Test func aBusyPortCannotBeBoundTwice() throws {
    let first = try Socket.listen(host: "127.0.0.1", port: 0)
    #expect(throws: SocketError.system(call: "bind", errno: Code.addressInUse)) {
      try Socket.listen(host: "127.0.0.1", port: boundPort(of: first))
    }
  }

  @Test func unixDomainPathsThatDoNotWork() throws {
    let path = temporarySocketPath()
    defer { removeFile(path) }
    #expect(throws: SocketError.system(call: "connect", errno: Code.noSuchFile)) {
      try Socket.connect(path: path, timeout: patience)
    }
    let listener = try Socket.listen(path: path)
    #expect(throws: SocketError.system(call: "bind", errno: Code.addressInUse)) {
      try Socket.listen(path: path)
    }
    #expect(throws: SocketError.system(call: "bind", errno: Code.addressInUse)) {
      try Socket.datagram(path: path)
    }
    listener.close()
  }

  @Test func descriptionsReadLikePerror() {
    #expect(
      SocketError.closedMidMessage(received: 3).description
        == "recv: peer closed the connection after 3 bytes of a message")
    #expect(SocketError.lineTooLong(limit: 10).description == "recv: line longer than 10 bytes")
    #expect(
      SocketError.datagramTooLarge(limit: 512).description
        == "recvmsg: datagram longer than 512 bytes")
    #expect(
      SocketError.system(call: "send", errno: Code.brokenPipe).description == "send: Broken pipe")
  }
}
