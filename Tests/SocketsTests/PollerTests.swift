// Event loops: the calls that never wait, and a Poller over each backend (select, poll,
// epoll), which must behave the same: readiness, timeouts, would-block and short writes,
// hang-ups and resets, sockets closed while registered, and select's descriptor limit.
//
// Serialized: one test holds more than a thousand descriptors, and while it does, a
// socket that another test of this suite opened would be too high for select.
import Sockets
import Testing

@Suite(.serialized, .timeLimit(.minutes(1)))
struct PollerTests {
  static let backends = Poller.Backend.allCases

  /// Runs a test's body, unless select meets a descriptor it cannot watch. Every test
  /// target runs in one process, and a test of another suite may hold a thousand
  /// descriptors at the time: a select case then has nothing to test, and passes.
  static func unlessTooHigh(_ backend: Poller.Backend, _ body: () throws -> Void) throws {
    do {
      try body()
    } catch SocketError.descriptorTooLarge where backend == .select {
      return
    }
  }

  /// A wait that should find something at once; reaching its timeout is a failure.
  static func events(_ poller: Poller) throws -> [Poller.Event] {
    try poller.wait(timeout: patience)
  }

  /// A wait that should find nothing: it must run its whole timeout, not return early.
  static func expectNothing(_ poller: Poller, for duration: Duration = .milliseconds(50)) throws {
    var events: [Poller.Event] = []
    let took = try elapsed { events = try poller.wait(timeout: duration) }
    #expect(events.isEmpty, "\(events.map { "\($0.readiness)" })")
    #expect(took >= duration)
  }

  // MARK: - Calls that never wait

  @Test func receiveNowSaysWouldBlockThenBytesThenEndOfStream() throws {
    let (client, server) = try connectedPair()
    var buffer = [UInt8](repeating: 0, count: 16)
    #expect(try server.receiveNow(into: &buffer) == .wouldBlock)
    try client.sendAll("hello", timeout: patience)
    let poller = try Poller(backend: .poll)
    try poller.register(server, for: .readable)
    _ = try Self.events(poller)
    #expect(try server.receiveNow(into: &buffer, upTo: 2) == .bytes(2))  // no more than asked
    #expect(buffer[..<2] == Array("he".utf8)[...])
    #expect(try server.receiveNow(into: &buffer) == .bytes(3))
    #expect(buffer[..<3] == Array("llo".utf8)[...])
    try client.shutdown(.writing)
    _ = try Self.events(poller)
    #expect(try server.receiveNow(into: &buffer) == .endOfStream)
  }

  @Test func sendNowCountsShortWritesAndSaysZeroWhenFull() throws {
    let (client, server) = try connectedPair()
    // Far more than the kernel buffers for one connection: it takes part, and says how much
    let big = [UInt8](repeating: 7, count: 64 << 20)
    let first = try client.sendNow(big[...])
    #expect(first > 0 && first < big.count, "a short write, not \(first) of \(big.count)")
    // Then nothing more, until the peer reads: 0 is "it would block", not an error
    var total = first
    var sent = 0
    repeat {
      sent = try client.sendNow(big[total...])
      total += sent
    } while sent > 0 && total < big.count
    #expect(sent == 0)
    let poller = try Poller(backend: .poll)
    try poller.register(client, for: .writable)
    try Self.expectNothing(poller)
    // Once the peer has read, there is room again, and the poller says so.
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    var drained = 0
    while drained < total {
      guard case .bytes(let count) = try server.receiveNow(into: &buffer) else { continue }
      drained += count
    }
    #expect(try Self.events(poller).map(\.readiness) == [.writable])
    #expect(try client.sendNow(big[..<100]) == 100)
  }

  @Test func acceptNowReturnsNilWithNobodyWaitingThenTheClient() throws {
    let listener = try Socket.listen(host: "127.0.0.1", port: 0)
    #expect(try listener.isNonBlocking)
    #expect(try listener.acceptNow() == nil)
    let client = try Socket.connect(
      host: "127.0.0.1", port: boundPort(of: listener), timeout: patience)
    let poller = try Poller(backend: .poll)
    try poller.register(listener, for: .readable)
    #expect(try Self.events(poller).first?.socket == listener)
    let accepted = try #require(try listener.acceptNow())
    #expect(try accepted.address == client.localAddress)
    #expect(try accepted.socket.remoteAddress == client.localAddress)
    #expect(try listener.acceptNow() == nil)
  }

  @Test func nonBlockingModeIsSetAndCleared() throws {
    let socket = try Socket(family: .ipv4, type: .stream)
    #expect(try !socket.isNonBlocking)
    try socket.setNonBlocking()
    #expect(try socket.isNonBlocking)
    try socket.setNonBlocking(false)
    #expect(try !socket.isNonBlocking)
    socket.close()
    #expect(throws: SocketError.system(call: "fcntl", errno: Code.badDescriptor)) {
      try socket.setNonBlocking()
    }
  }

  @Test func theCallsReportOtherErrorsAsErrors() throws {
    let (client, server) = try connectedPair()
    client.close()
    var buffer = [UInt8](repeating: 0, count: 16)
    #expect(throws: SocketError.system(call: "recv", errno: Code.badDescriptor)) {
      try client.receiveNow(into: &buffer)
    }
    #expect(throws: SocketError.system(call: "send", errno: Code.badDescriptor)) {
      try client.sendNow([1, 2, 3][...])
    }
    #expect(throws: SocketError.system(call: "accept", errno: Code.badDescriptor)) {
      try client.acceptNow()
    }
    #expect(try server.receiveNow(into: &buffer) == .endOfStream)
  }

  // MARK: - The Poller, on every backend

  @Test(arguments: backends)
  func readableWhenDataArrivesAndOnlyThen(backend: Poller.Backend) throws {
    try Self.unlessTooHigh(backend) {
      let (client, server) = try connectedPair()
      let poller = try Poller(backend: backend)
      #expect(poller.backend == backend)
      try poller.register(server, for: .readable)
      try Self.expectNothing(poller)
      try client.sendAll("ping", timeout: patience)
      let events = try Self.events(poller)
      #expect(events.count == 1)
      #expect(events.first?.socket === server)
      #expect(events.first?.readiness == .readable)
      // Level-triggered: still readable until it is read
      #expect(try Self.events(poller).map(\.readiness) == [.readable])
      var buffer = [UInt8](repeating: 0, count: 16)
      #expect(try server.receiveNow(into: &buffer) == .bytes(4))
      try Self.expectNothing(poller)
    }
  }

  @Test(arguments: backends)
  func writableReportedOnlyWhenAskedFor(backend: Poller.Backend) throws {
    try Self.unlessTooHigh(backend) {
      let (client, server) = try connectedPair()
      let poller = try Poller(backend: backend)
      try poller.register(client, for: .writable)
      try poller.register(server, for: .readable)
      #expect(try Self.events(poller).map(\.socket) == [client])  // room to send: at once
      try poller.modify(client, to: [.readable, .writable])
      try server.sendAll("x", timeout: patience)
      // Both at once, for the same socket: one event
      let events = try Self.events(poller)
      #expect(events.count == 1)
      #expect(events.first?.readiness == [.readable, .writable])
      try poller.modify(client, to: .readable)
      #expect(try Self.events(poller).map(\.readiness) == [.readable])
      // modify with what it already is: nothing changes, nothing fails
      try poller.modify(client, to: .readable)
      #expect(try Self.events(poller).map(\.readiness) == [.readable])
    }
  }

  @Test(arguments: backends)
  func timeoutsRunTheirCourseAndZeroDoesNotWait(backend: Poller.Backend) throws {
    try Self.unlessTooHigh(backend) {
      let (client, server) = try connectedPair()
      defer { withExtendedLifetime(client) {} }  // its end would make the server readable
      let poller = try Poller(backend: backend)
      try poller.register(server, for: .readable)
      try Self.expectNothing(poller, for: .milliseconds(200))
      var events: [Poller.Event] = []
      let took = try elapsed { events = try poller.wait(timeout: .zero) }
      #expect(events.isEmpty)
      #expect(took < .milliseconds(100))
      // With nothing registered at all, a wait is a sleep
      try Self.expectNothing(try Poller(backend: backend), for: .milliseconds(50))
    }
  }

  @Test(arguments: backends)
  func aSignalDoesNotCutTheTimeoutShort(backend: Poller.Backend) throws {
    try Self.unlessTooHigh(backend) {
      let (client, server) = try connectedPair()
      defer { withExtendedLifetime(client) {} }
      let waiter = Interruptible()
      let waited = Background {
        let poller = try Poller(backend: backend)
        try poller.register(server, for: .readable)
        waiter.publish()
        return try elapsed { _ = try poller.wait(timeout: .milliseconds(300)) }
      }
      try waiter.interrupt(for: .milliseconds(100))
      #expect(try waited.value() >= .milliseconds(300))
    }
  }

  @Test(arguments: backends)
  func aListenerIsReadableWhenAClientWaits(backend: Poller.Backend) throws {
    try Self.unlessTooHigh(backend) {
      let listener = try Socket.listen(host: "127.0.0.1", port: 0)
      let poller = try Poller(backend: backend)
      try poller.register(listener, for: .readable)
      try Self.expectNothing(poller)
      let client = try Socket.connect(
        host: "127.0.0.1", port: boundPort(of: listener), timeout: patience)
      #expect(try Self.events(poller).map(\.socket) == [listener])
      let accepted = try #require(try listener.acceptNow())
      #expect(try accepted.socket.remoteAddress == client.localAddress)
      try Self.expectNothing(poller)
    }
  }

  @Test(arguments: backends)
  func manySocketsReportedTogether(backend: Poller.Backend) throws {
    try Self.unlessTooHigh(backend) {
      let poller = try Poller(backend: backend)
      let pairs = try (0..<300).map { _ in try connectedPair() }
      for (_, server) in pairs { try poller.register(server, for: .readable) }
      for (index, (client, _)) in pairs.enumerated() where index.isMultiple(of: 3) {
        try client.sendAll("x", timeout: patience)
      }
      // Those that were sent something. epoll hands out at most 256 per wait here: the
      // rest come with the next (they are still ready), so make that more
      for (client, _) in pairs.prefix(270) { try client.sendAll("y", timeout: patience) }
      var seen = Set<Socket>()
      while seen.count < 280 {
        let events = try Self.events(poller)
        #expect(events.allSatisfy { $0.readiness == .readable })
        for event in events {
          seen.insert(event.socket)
          var buffer = [UInt8](repeating: 0, count: 2)
          #expect(try event.socket.receiveNow(into: &buffer) != .wouldBlock)
        }
      }
      let expected = pairs.enumerated().filter { $0.offset < 270 || $0.offset.isMultiple(of: 3) }
      #expect(seen == Set(expected.map(\.element.server)))
      try Self.expectNothing(poller)
    }
  }

  @Test(arguments: backends)
  func endOfStreamAndResetAreReportedAsWhatWasAskedFor(backend: Poller.Backend) throws {
    try Self.unlessTooHigh(backend) {
      let poller = try Poller(backend: backend)
      var buffer = [UInt8](repeating: 0, count: 16)

      // A peer's FIN: readable, and the receive says end of stream
      let (polite, politeServer) = try connectedPair()
      try poller.register(politeServer, for: .readable)
      polite.close()
      #expect(try Self.events(poller).map(\.readiness) == [.readable])
      #expect(try politeServer.receiveNow(into: &buffer) == .endOfStream)
      poller.unregister(politeServer)

      // A peer's reset: reported to a socket that waits only to write, and the send says why
      let (rude, rudeServer) = try connectedPair()
      try poller.register(rudeServer, for: .writable)
      _ = try Self.events(poller)
      try poller.modify(rudeServer, to: [])
      try rudeServer.sendAll("unread", timeout: patience)
      rude.close()  // with data it has not read: the kernel sends a reset, not a FIN
      try Self.expectNothing(poller)  // registered for nothing: not even the hang-up wakes it
      try poller.modify(rudeServer, to: .writable)
      #expect(try Self.events(poller).map(\.readiness) == [.writable])
      let error = #expect(throws: SocketError.self) {
        _ = try rudeServer.sendNow(Array("x".utf8)[...])
        _ = try rudeServer.sendNow(Array("x".utf8)[...])
      }
      #expect(error == .system(call: "send", errno: Code.connectionReset))
    }
  }

  @Test(arguments: backends)
  func registerTwiceModifyOrUnregisterUnknownSockets(backend: Poller.Backend) throws {
    try Self.unlessTooHigh(backend) {
      let (client, server) = try connectedPair()
      let poller = try Poller(backend: backend)
      try poller.register(server, for: .readable)
      let call = backend == .select || backend == .poll ? "\(backend)" : "epoll_ctl"
      #expect(throws: SocketError.system(call: call, errno: Code.alreadyExists)) {
        try poller.register(server, for: .writable)
      }
      #expect(throws: SocketError.system(call: call, errno: Code.noSuchFile)) {
        try poller.modify(client, to: .readable)
      }
      poller.unregister(client)  // not registered: nothing happens
      poller.unregister(server)
      poller.unregister(server)
      try client.sendAll("x", timeout: patience)
      try Self.expectNothing(poller)
      try poller.register(server, for: .readable)  // again, after unregistering
      #expect(try Self.events(poller).map(\.socket) == [server])
    }
  }

  @Test(arguments: backends)
  func aSocketClosedWhileRegisteredIsForgotten(backend: Poller.Backend) throws {
    try Self.unlessTooHigh(backend) {
      let poller = try Poller(backend: backend)
      let (client, server) = try connectedPair()
      let (otherClient, other) = try connectedPair()
      try poller.register(server, for: .readable)
      try poller.register(other, for: .readable)
      try client.sendAll("ready", timeout: patience)  // it is readable when it is closed
      server.close()
      // No event for it, no error (select would say EBADF), no spinning: the other is served
      try Self.expectNothing(poller)
      try otherClient.sendAll("x", timeout: patience)
      #expect(try Self.events(poller).map(\.socket) == [other])
      poller.unregister(server)  // closed and forgotten already: nothing happens

      // Its number is the lowest free one: a new socket likely gets it (unless a test
      // running in parallel took it first). Unregistered, it is not reported...
      let (newClient, newServer) = try connectedPair()
      try newClient.sendAll("new", timeout: patience)
      var buffer = [UInt8](repeating: 0, count: 1)
      #expect(try other.receiveNow(into: &buffer) == .bytes(1))
      try Self.expectNothing(poller)
      // ...and registered, it is reported as itself.
      try poller.register(newServer, for: .readable)
      #expect(try Self.events(poller).map(\.socket) == [newServer])
    }
  }

  @Test(arguments: backends)
  func aSocketClosedWhileRegisteredCanBeReplacedUnderItsNumber(backend: Poller.Backend) throws {
    try Self.unlessTooHigh(backend) {
      let poller = try Poller(backend: backend)
      let (client, server) = try connectedPair()
      try poller.register(server, for: .readable)
      let number = server.descriptor
      server.close()
      // Find a socket with that number: open sockets until one has it (or give up if
      // another test holds it), then register it while the old one is still listed.
      var opened: [Socket] = []
      var reused: Socket?
      for _ in 0..<64 where reused == nil {
        let socket = try Socket(family: .ipv4, type: .datagram)
        if socket.descriptor == number { reused = socket } else { opened.append(socket) }
      }
      // Another test running in parallel may have taken the number: nothing to test then
      guard let replacement = reused else { return }
      try poller.register(replacement, for: .writable)
      #expect(try Self.events(poller).map(\.socket) == [replacement])
      try client.sendAll("x", timeout: patience)
      poller.unregister(server)  // the old one: must not take the new one's place away
      #expect(try Self.events(poller).map(\.socket) == [replacement])
    }
  }

  @Test(arguments: backends)
  func anEventBatchNamesSocketsNotNumbers(backend: Poller.Backend) throws {
    try Self.unlessTooHigh(backend) {
      let poller = try Poller(backend: backend)
      let (aClient, a) = try connectedPair()
      let (bClient, b) = try connectedPair()
      try poller.register(a, for: .readable)
      try poller.register(b, for: .readable)
      try aClient.sendAll("a", timeout: patience)
      try bClient.sendAll("b", timeout: patience)
      var events: [Poller.Event] = []
      while events.count < 2 { events += try Self.events(poller) }
      // Handling the first closes the second, whose event is still in the batch: it names
      // the closed socket, which a program recognises as gone.
      b.close()
      poller.unregister(b)
      #expect(Set(events.map(\.socket)) == [a, b])
      #expect(events.first { $0.socket == b }?.socket.descriptor == -1)
    }
  }

  @Test(arguments: backends)
  func theSameSocketInTwoPollers(backend: Poller.Backend) throws {
    try Self.unlessTooHigh(backend) {
      let (client, server) = try connectedPair()
      let first = try Poller(backend: backend)
      let second = try Poller(backend: .poll)
      try first.register(server, for: .readable)
      try second.register(server, for: .readable)
      try client.sendAll("x", timeout: patience)
      #expect(try Self.events(first).map(\.socket) == [server])
      #expect(try Self.events(second).map(\.socket) == [server])
    }
  }

  @Test(.enabled(if: descriptorLimit() > 1100, "this process may not open 1025 descriptors"))
  func selectRefusesADescriptorPastFDSetSizeAndServesOn() throws {
    // A socket with a descriptor of 1024 or more: open sockets until one gets there.
    var held: [Socket] = []
    var high: Socket?
    while high == nil, held.count < 2048 {
      let socket = try Socket(family: .ipv4, type: .datagram)
      if socket.descriptor >= 1024 { high = socket } else { held.append(socket) }
    }
    let socket = try #require(high, "no descriptor reached 1024; is RLIMIT_NOFILE that low?")
    let poller = try Poller(backend: .select)
    #expect(throws: SocketError.descriptorTooLarge(descriptor: socket.descriptor, limit: 1024)) {
      try poller.register(socket, for: .readable)
    }
    #expect(
      SocketError.descriptorTooLarge(descriptor: 1030, limit: 1024).description
        == "select: descriptor 1030 is not below FD_SETSIZE (1024)")
    for other in Poller.Backend.allCases where other != .select {
      try Poller(backend: other).register(socket, for: .readable)  // no such limit
    }
    held = []  // closes them
    try Self.unlessTooHigh(.select) {
      let (client, server) = try connectedPair()
      try poller.register(server, for: .readable)
      try client.sendAll("x", timeout: patience)
      #expect(try Self.events(poller).map(\.socket) == [server])
    }
  }

  @Test func readinessPrintsAsASet() {
    #expect("\(Readiness.readable)" == "readable")
    #expect("\(Readiness.writable)" == "writable")
    #expect("\([Readiness.readable, .writable] as Readiness)" == "[readable, writable]")
    #expect("\([] as Readiness)" == "[]")
    #expect(Poller.Backend.allCases.map(\.description).starts(with: ["select", "poll"]))
    #expect(Poller.Backend.allCases.contains(.preferred))
  }

  @Test func errorsSplitIntoCallAndReason() {
    let reset = SocketError.system(call: "recv", errno: Code.connectionReset)
    #expect(reset.call == "recv")
    #expect(reset.reason == "Connection reset by peer")
    #expect("\(reset.call) failed: \(reset.reason)" == "recv failed: Connection reset by peer")
    #expect(SocketError.timedOut(call: "accept").reason == "timed out")
    #expect(SocketError.resolution(host: "x", code: 0).call == "getaddrinfo")
    #expect(SocketError.descriptorTooLarge(descriptor: 1024, limit: 1024).call == "select")
  }
}
