// Ownership: every descriptor is closed once, whether by close(), by deinit, or on the
// error path of a call that failed.
import Sockets
import Testing

@Suite(.timeLimit(.minutes(1)))
struct LifetimeTests {
  @Test func noDescriptorLeaksOverAThousandConnections() throws {
    let listener = try Socket.listen(host: "127.0.0.1", port: 0)
    let port = try boundPort(of: listener)
    let reserved = try Socket(family: .ipv4, type: .stream)  // bound, never listening
    try reserved.bind(to: SocketAddress(host: "127.0.0.1", port: 0))
    let refusedPort = try boundPort(of: reserved)
    let before = try openDescriptorCount()

    for cycle in 0..<1000 {
      let client = try Socket.connect(host: "127.0.0.1", port: port, timeout: patience)
      let (server, _) = try listener.accept(timeout: patience)
      if cycle.isMultiple(of: 2) {
        client.close()
        server.close()
      }  // else both go out of scope here and deinit closes them
      // The socket that connect opened before failing must be closed too.
      #expect(throws: SocketError.self) {
        try Socket.connect(host: "127.0.0.1", port: refusedPort, timeout: patience)
      }
    }

    // Other tests open and close descriptors meanwhile, a few at a time; a leak here
    // would be thousands.
    let after = try openDescriptorCount()
    #expect(after - before < 100, "\(before) descriptors open before, \(after) after")
  }

  @Test func closeFromManyThreadsAtOnceClosesOnce() throws {
    let socket = try Socket(family: .ipv4, type: .datagram)
    let closers = (0..<8).map { _ in Background { socket.close() } }
    for closer in closers {
      try closer.value()
    }
    #expect(socket.descriptor == -1)
  }

  @Test func aConnectionCanBeHandedToAnotherThread() throws {
    let listener = try Socket.listen(host: "127.0.0.1", port: 0)
    let port = try boundPort(of: listener)
    let served = Background {
      let (connection, _) = try listener.accept(timeout: patience)
      let line = try connection.receiveLine(timeout: patience)
      try connection.sendAll((line ?? "").uppercased() + "\n", timeout: patience)
      return line
    }
    let client = try Socket.connect(host: "127.0.0.1", port: port, timeout: patience)
    try client.sendAll("hand over\n", timeout: patience)
    #expect(try client.receiveLine(timeout: patience) == "HAND OVER")
    #expect(try served.value() == "hand over")
  }
}
