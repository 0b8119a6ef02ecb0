// Datagrams over UDP (IPv4, IPv6) and Unix-domain: senders' addresses and sizes.
import Sockets
import Testing

@Suite(.timeLimit(.minutes(1)))
struct DatagramTests {
  @Test(arguments: [("127.0.0.1", AddressFamily.ipv4), ("::1", .ipv6)])
  func roundTripOverUDP(host: String, family: AddressFamily) throws {
    let server = try Socket.datagram(host: host)
    let serverAddress = try server.localAddress
    #expect(serverAddress.family == family)
    #expect(serverAddress.port != 0)

    // A client as the lecture writes one: an unbound socket of the server's family.
    let destination = try SocketAddress(host: host, port: #require(serverAddress.port))
    let client = try Socket(family: destination.family, type: .datagram)
    try client.send("ping", to: destination, timeout: patience)

    let (request, sender) = try server.receiveDatagram(timeout: patience)
    #expect(request == Array("ping".utf8))
    // The kernel bound the client to a port on its first send; it shows as the sender's.
    #expect(try sender.port == client.localAddress.port)
    #expect(sender.host == host)
    try server.send(Array("pong".utf8), to: sender, timeout: patience)

    let (reply, replier) = try client.receiveDatagram(timeout: patience)
    #expect(reply == Array("pong".utf8))
    #expect(replier == serverAddress)
  }

  @Test func wildcardDatagramSocketIsDualStack() throws {
    let server = try Socket.datagram()
    let port = try #require(server.localAddress.port)
    #expect(try server.localAddress.description == "[::]:\(port)")
    for (host, senderHost) in [("127.0.0.1", "::ffff:127.0.0.1"), ("::1", "::1")] {
      let destination = try SocketAddress(host: host, port: port)
      let client = try Socket(family: destination.family, type: .datagram)
      try client.send("ping", to: destination, timeout: patience)
      let (request, sender) = try server.receiveDatagram(timeout: patience)
      #expect(request == Array("ping".utf8))
      #expect(sender.host == senderHost)
      // The answer to a mapped address reaches the IPv4 client.
      try server.send(Array("pong".utf8), to: sender, timeout: patience)
      let (reply, replier) = try client.receiveDatagram(timeout: patience)
      #expect(reply == Array("pong".utf8))
      #expect(replier == destination)
    }
  }

  @Test func roundTripOverUnixDomain() throws {
    let serverPath = temporarySocketPath()
    let clientPath = temporarySocketPath()
    defer {
      removeFile(serverPath)
      removeFile(clientPath)
    }
    let server = try Socket.datagram(path: serverPath)
    let client = try Socket.datagram(path: clientPath)
    try client.send("ping", to: server.localAddress, timeout: patience)

    let (request, sender) = try server.receiveDatagram(timeout: patience)
    #expect(request == Array("ping".utf8))
    #expect(sender.path == clientPath)
    #expect(sender.description == clientPath)
    try server.send("pong", to: sender, timeout: patience)
    #expect(try client.receiveDatagram(timeout: patience).bytes == Array("pong".utf8))
  }

  @Test func anUnboundUnixSenderHasAnEmptyPath() throws {
    let path = temporarySocketPath()
    defer { removeFile(path) }
    let server = try Socket.datagram(path: path)
    let client = try Socket(family: .unix, type: .datagram)
    try client.send("anonymous", to: SocketAddress(unixPath: path), timeout: patience)
    let (_, sender) = try server.receiveDatagram(timeout: patience)
    #expect(sender.family == .unix)
    #expect(sender.path == "")
  }

  @Test func aDatagramLargerThanTheBufferIsAnError() throws {
    let server = try Socket.datagram(host: "127.0.0.1")
    let client = try Socket.datagram(host: "127.0.0.1")
    let destination = try server.localAddress
    try client.send([UInt8](repeating: 1, count: 2000), to: destination, timeout: patience)
    try client.send([UInt8](repeating: 2, count: 512), to: destination, timeout: patience)

    #expect(throws: SocketError.datagramTooLarge(limit: 512)) {
      try server.receiveDatagram(maxLength: 512, timeout: patience)
    }
    // Only the large datagram is lost; one that fits exactly comes whole.
    let (bytes, _) = try server.receiveDatagram(maxLength: 512, timeout: patience)
    #expect(bytes == [UInt8](repeating: 2, count: 512))
  }

  @Test func anEmptyDatagramIsAMessageToo() throws {
    let server = try Socket.datagram(host: "127.0.0.1")
    let client = try Socket.datagram(host: "127.0.0.1")
    try client.send([], to: server.localAddress, timeout: patience)
    #expect(try server.receiveDatagram(timeout: patience).bytes == [])
  }

  @Test func aConnectedDatagramSocketTalksToItsPeer() throws {
    let server = try Socket.datagram(host: "127.0.0.1")
    let client = try Socket(family: .ipv4, type: .datagram)
    try client.connect(to: server.localAddress, timeout: patience)
    try client.sendAll("hello", timeout: patience)
    let (bytes, sender) = try server.receiveDatagram(timeout: patience)
    #expect(bytes == Array("hello".utf8))
    try server.send("back", to: sender, timeout: patience)
    #expect(try client.receive(upTo: 100, timeout: patience) == Array("back".utf8))
  }
}
