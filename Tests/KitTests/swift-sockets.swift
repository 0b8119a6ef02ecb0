// swift-sockets: the robust flavor against the peers that trip the lecture's programs.
// A client that writes one byte per send (the slides' Java client; made deterministic:
// each byte is read by the server before the next goes) gets its whole line answered by
// every swift-sockets server, and a one-byte answer from the C ones. A server outlives a
// client that breaks the protocol. The UDP clients give up on a server that never
// answers (`--timeout 0.3`, bounding the test). The lecture's Python programs and the
// slides' Java programs, rewritten here with the same behaviour, interoperate with it.
import Foundation
import KitHarness
import Testing

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@Suite("swift-sockets", .timeLimit(.minutes(2)))
struct SwiftSocketsTests {
  /// A TCP server program and the one-byte-per-send client's part in its protocol.
  struct Case: CustomStringConvertible, Sendable {
    let server: String
    let message: String
    /// The swift-sockets tcp-hello server takes a pause as the end of a message (the
    /// lecture's protocol marks it no other way): against it the client must not wait.
    var pauseEndsMessage: Bool { server == "tcp-hello-server" }
    var description: String { server }
  }
  static let cases =
    [Case(server: "tcp-hello-server", message: "Hello from client")]
    + ["tcp-capitalize-server", "tcp-capitalize-fork-server", "tcp-capitalize-thread-server"]
    .map { Case(server: $0, message: "hello world\n") }

  @Test("a client writing one byte per send gets its whole line answered", arguments: cases)
  func oneByteAtATime(example: Case) async throws {
    let port = Ports.reserve()
    let program = Program(flavor: "swift-sockets", name: example.server)
    try await Running.withServer(program, port: port) { server in
      let reply = try await OneBytePerSend.exchange(
        Array(example.message.utf8), port: port, waitForEachRead: !example.pauseEndsMessage)
      if example.server == "tcp-hello-server" {
        // No newline, no end of stream: the server takes the client's silence as the end
        #expect(String(decoding: reply, as: UTF8.self) == "Hello from server")
        let output = try await server.finish()
        #expect(output.stdoutText == TcpHelloTests.serverTranscript(port: port))
      } else {
        #expect(String(decoding: reply, as: UTF8.self) == "HELLO WORLD\n")
        #expect(server.output.stderrText == "")
      }
    }
  }

  @Test("the same client gets a one-byte answer from the C server (read once)", arguments: cases)
  func oneByteAtATimeAgainstC(example: Case) async throws {
    let port = Ports.reserve()
    try await Running.withServer(Program(flavor: "c", name: example.server), port: port) {
      server in
      let reply = try await OneBytePerSend.exchange(Array(example.message.utf8), port: port)
      if example.server == "tcp-hello-server" {
        let output = try await server.finish()
        #expect(output.stdoutText.contains("Received: H\n"), "\(output.stdoutText)")
      } else {
        // The C servers answer their whole 1024-byte buffer: "H", then NULs
        #expect(reply.prefix { $0 != 0 } == Array("H".utf8))
      }
    }
  }

  @Test(
    "a server outlives a client that sends a line too long, and serves the next",
    arguments: [
      "tcp-capitalize-server", "tcp-capitalize-fork-server", "tcp-capitalize-thread-server",
    ])
  func tooLong(server name: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(Program(flavor: "swift-sockets", name: name), port: port) {
      server in
      _ = try await OneBytePerSend.exchange(
        [UInt8](repeating: UInt8(ascii: "a"), count: 10_000), port: port, allAtOnce: true,
        waitForEachRead: false)
      let output = try await Running.client(
        Program(flavor: "swift-sockets", name: "tcp-capitalize-client"), port: port,
        input: "still here\n")
      #expect(output.stderrText == "FROM SERVER: STILL HERE\n \n")
      try await server.wait(for: "an error line") { $0.stderrText.hasSuffix("\n") }
      #expect(server.output.stderrText == "Error: recv: line longer than 8192 bytes\n")
      #expect(server.output.termination == nil)
    }
  }

  @Test(
    "a UDP client gives up on a server that never answers, with a clear error",
    arguments: ["udp-hello-client", "udp-capitalize-client"])
  func udpTimeout(client name: String) async throws {
    let port = Ports.reserve()
    let silent = try SilentDatagramSocket(port: port)  // receives, never answers
    defer { silent.close() }
    let output = try await Running.client(
      Program(flavor: "swift-sockets", name: name), port: port, arguments: ["--timeout", "0.3"],
      input: "anyone there?\n", within: .seconds(30))
    #expect(output.termination == .exit(1))
    #expect(output.stderrText == "Error: recvmsg: timed out\n")
    #expect(output.stdoutText == (name == "udp-hello-client" ? "Message sent\n" : ""))
    #expect(silent.received == 1, "the request did reach the port")
  }

  // MARK: - The lecture's Python programs (document 000), in the kit's own words

  static let pythonTCPServer = """
    import os, socket
    PORT = int(os.environ.get("KIT_PORT", 8080))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", PORT))
        s.listen()
        print(f"Server listening on port {PORT}")
        conn, addr = s.accept()
        with conn:
            print("Connected by", addr)
            data = conn.recv(1024)
            print(f"Received: {data.decode()}")
            conn.sendall(b"Hello from server")
    """
  static let pythonTCPClient = """
    import os, socket
    HOST, PORT = os.environ.get("KIT_HOST", "127.0.0.1"), int(os.environ.get("KIT_PORT", 8080))
    with socket.create_connection((HOST, PORT), timeout=5) as s:
        s.sendall(b"Hello from client")
        data = s.recv(1024)
        print(f"Received: {data.decode()}")
    """
  static let pythonUDPServer = """
    import os, socket
    PORT = int(os.environ.get("KIT_PORT", 8080))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("0.0.0.0", PORT))
        print(f"UDP server listening on port {PORT}")
        while True:
            data, addr = s.recvfrom(1024)
            print(f"Received: {data.decode()}")
            s.sendto(b"Message received", addr)
    """
  static let pythonUDPClient = """
    import os, socket
    HOST, PORT = os.environ.get("KIT_HOST", "127.0.0.1"), int(os.environ.get("KIT_PORT", 8080))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(b"Hello from UDP client", (HOST, PORT))
        print("Message sent")
        data, _ = s.recvfrom(1024)
        print(f"Received: {data.decode()}")
    """

  static func runPython(_ script: String, port: UInt16) throws -> Running {
    try Running(
      command: [try Tools.require("python3", package: "python3"), "-u", "-c", script],
      label: "python3",
      environment: ["KIT_PORT": "\(port)", "KIT_HOST": "127.0.0.1"])
  }

  @Test(
    "tcp-hello: the swift-sockets client and the lecture's Python server")
  func pythonTCPServerPeer() async throws {
    let port = Ports.reserve()
    let (client, output) = try await withPeer(try Self.runPython(Self.pythonTCPServer, port: port))
    {
      server in
      try await server.waitForStdout("Server listening on port \(port)\n")
      let client = try await Running.client(
        Program(flavor: "swift-sockets", name: "tcp-hello-client"), port: port)
      return (client, try await server.finish())  // one client, then it exits
    }
    #expect(client.stdoutText == TcpHelloTests.clientTranscript)
    #expect(client.termination == .exit(0))
    #expect(
      output.stdoutText.hasPrefix("Server listening on port \(port)\nConnected by ('127.0.0.1', "))
    #expect(output.stdoutText.hasSuffix(")\nReceived: Hello from client\n"))
    #expect(output.termination == .exit(0), "\(output.stderrText)")
  }

  @Test(
    "tcp-hello: the lecture's Python client and the swift-sockets server")
  func pythonTCPClientPeer() async throws {
    let port = Ports.reserve()
    let program = Program(flavor: "swift-sockets", name: "tcp-hello-server")
    try await Running.withServer(program, port: port) { server in
      let client = try await Self.runPython(Self.pythonTCPClient, port: port).finish()
      #expect(client.stdoutText == "Received: Hello from server\n")
      #expect(client.termination == .exit(0), "\(client.stderrText)")
      let output = try await server.finish()
      #expect(output.stdoutText == TcpHelloTests.serverTranscript(port: port))
      #expect(output.termination == .exit(0))
    }
  }

  @Test(
    "udp-hello: the swift-sockets client and the lecture's Python server")
  func pythonUDPServerPeer() async throws {
    let port = Ports.reserve()
    // It loops forever, as the lecture's does: withPeer stops it
    try await withPeer(try Self.runPython(Self.pythonUDPServer, port: port)) { server in
      try await server.waitForStdout("UDP server listening on port \(port)\n")
      let client = try await Running.client(
        Program(flavor: "swift-sockets", name: "udp-hello-client"), port: port)
      #expect(client.stdoutText == UdpHelloTests.clientTranscript)
      #expect(client.termination == .exit(0))
      try await server.waitForStdout(UdpHelloTests.serverTranscript(port: port, clients: 1))
    }
  }

  @Test(
    "udp-hello: the lecture's Python client and the swift-sockets server")
  func pythonUDPClientPeer() async throws {
    let port = Ports.reserve()
    let program = Program(flavor: "swift-sockets", name: "udp-hello-server")
    try await Running.withServer(program, port: port) { server in
      let client = try await Self.runPython(Self.pythonUDPClient, port: port).finish()
      #expect(client.stdoutText == UdpHelloTests.clientTranscript)
      #expect(client.termination == .exit(0), "\(client.stderrText)")
      try await server.waitForStdout(UdpHelloTests.serverTranscript(port: port, clients: 1))
    }
  }

  // MARK: - The slides' Java programs (document 001), in the kit's own words

  /// Compiled once per test run, beside the kit's programs in the build folder.
  static let javaClasses = Task<String, any Error> {
    let folder = Kit.buildFolder.appendingPathComponent("java-peers").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try javaClient.write(toFile: folder + "/TCPClient.java", atomically: true, encoding: .utf8)
    try javaServer.write(toFile: folder + "/TCPServer.java", atomically: true, encoding: .utf8)
    let output = try await Running(
      command: [
        try Tools.require("javac", package: "default-jdk-headless"), "-d", folder,
        folder + "/TCPClient.java", folder + "/TCPServer.java",
      ]
    ).finish(within: .seconds(60))
    guard output.termination == .exit(0) else {
      throw HarnessError(description: "javac failed: \(output.stderrText)")
    }
    return folder
  }

  /// Writes `sentence + '\n'` through DataOutputStream.writeBytes: one byte per send.
  static let javaClient = """
    import java.io.*;
    import java.net.*;

    class TCPClient {
      public static void main(String[] argv) throws Exception {
        String host = System.getenv().getOrDefault("KIT_HOST", "localhost");
        int port = Integer.parseInt(System.getenv().getOrDefault("KIT_PORT", "6789"));
        BufferedReader inFromUser = new BufferedReader(new InputStreamReader(System.in));
        Socket clientSocket = new Socket(host, port);
        DataOutputStream outToServer = new DataOutputStream(clientSocket.getOutputStream());
        BufferedReader inFromServer =
            new BufferedReader(new InputStreamReader(clientSocket.getInputStream()));
        String sentence = inFromUser.readLine();
        outToServer.writeBytes(sentence + '\\n');
        String modifiedSentence = inFromServer.readLine();
        System.out.println("FROM SERVER: " + modifiedSentence);
        clientSocket.close();
      }
    }
    """
  /// Answers a line at a time, one byte per send, and never closes a connection.
  static let javaServer = """
    import java.io.*;
    import java.net.*;

    class TCPServer {
      public static void main(String[] argv) throws Exception {
        int port = Integer.parseInt(System.getenv().getOrDefault("KIT_PORT", "6789"));
        ServerSocket welcomeSocket = new ServerSocket(port);
        while (true) {
          Socket connectionSocket = welcomeSocket.accept();
          BufferedReader inFromClient =
              new BufferedReader(new InputStreamReader(connectionSocket.getInputStream()));
          DataOutputStream outToClient = new DataOutputStream(connectionSocket.getOutputStream());
          String clientSentence = inFromClient.readLine();
          String capitalizedSentence = clientSentence.toUpperCase() + '\\n';
          outToClient.writeBytes(capitalizedSentence);
        }
      }
    }
    """

  static func java(_ mainClass: String, port: UInt16, input: String = "") async throws -> Running {
    try Running(
      command: [
        try Tools.require("java", package: "default-jdk-headless"), "-cp",
        try await javaClasses.value, mainClass,
      ], label: "java \(mainClass)",
      environment: ["KIT_PORT": "\(port)", "KIT_HOST": "127.0.0.1"], input: Array(input.utf8))
  }

  @Test(
    "tcp-capitalize: the slides' Java client against every swift-sockets server",
    arguments: [
      "tcp-capitalize-server", "tcp-capitalize-fork-server", "tcp-capitalize-thread-server",
    ])
  func javaClientPeer(server name: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(Program(flavor: "swift-sockets", name: name), port: port) {
      server in
      for line in ["hello java", "one byte per write"] {
        let client = try await Self.java("TCPClient", port: port, input: line + "\n")
          .finish(within: .seconds(30))
        #expect(client.stdoutText == "FROM SERVER: \(line.uppercased())\n")
        #expect(client.termination == .exit(0), "\(client.stderrText)")
      }
      #expect(server.output.stderrText == "")
    }
  }

  @Test(
    "tcp-capitalize: the swift-sockets client against the slides' Java server")
  func javaServerPeer() async throws {
    let port = Ports.reserve()
    try await withPeer(try await Self.java("TCPServer", port: port)) { server in
      try await server.waitUntilOpen(port, within: .seconds(30))
      for line in ["hello from swift", "x"] {
        let output = try await Running.client(
          Program(flavor: "swift-sockets", name: "tcp-capitalize-client"), port: port,
          input: line + "\n")
        #expect(output.stderrText == "FROM SERVER: \(line.uppercased())\n \n")
        #expect(output.termination == .exit(0))
      }
    }
  }
}

// MARK: - Peers written with raw sockets (the test target links no kit library)

/// A TCP client that sends its bytes one per send(2) (TCP_NODELAY: each in a segment of
/// its own) and, with `waitForEachRead`, waits after the first byte until the server
/// has read it (its receive queue in /proc/net/tcp is empty), so the first byte reaches
/// the server in a read of its own. Then it reads the reply until the server closes.
private enum OneBytePerSend {
  static func exchange(
    _ bytes: [UInt8], port: UInt16, allAtOnce: Bool = false, waitForEachRead: Bool = true
  ) async throws -> [UInt8] {
    try await onThread {
      try run(bytes, port: port, allAtOnce: allAtOnce, waitForEachRead: waitForEachRead)
    }
  }

  private static func run(
    _ bytes: [UInt8], port: UInt16, allAtOnce: Bool, waitForEachRead: Bool
  ) throws -> [UInt8] {
    let fd = try connectTCP(port: port)
    defer { close(fd) }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

    let pieces = allAtOnce ? [bytes] : bytes.map { [$0] }
    for (index, piece) in pieces.enumerated() {
      let sent = piece.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      if sent < 0 { break }  // the server has closed: a read-once server answers early
      // The first byte is read on its own, which splits the line across reads: that is
      // what a read-once server trips on. The rest follow at once, one send each, so a
      // busy machine cannot stretch the line past a server's deadline for it.
      if waitForEachRead && index == 0 {
        try waitUntilRead(fd, serverPort: port, within: .seconds(10))
      }
    }
    var reply: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = recv(fd, &buffer, buffer.count, 0)
      if count > 0 {
        reply += buffer[..<count]
      } else if count == 0 || errno == ECONNRESET {
        return reply
      } else if errno != EINTR {
        throw HarnessError(description: "recv: \(String(cString: strerror(errno)))")
      }
    }
  }

  /// Until the server side of this connection has no unread bytes, or the server has
  /// answered or closed.
  private static func waitUntilRead(_ fd: Int32, serverPort: UInt16, within limit: Duration) throws
  {
    if case .unread(let count) = SocketQueues.waitUntilRead(fd, within: limit) {
      throw HarnessError(
        description: "the server on port \(serverPort) left \(count) bytes unread for \(limit)")
    }
  }

  private static func connectTCP(port: UInt16) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard fd >= 0, connected == 0 else {
      let reason = String(cString: strerror(errno))
      if fd >= 0 { close(fd) }
      throw HarnessError(description: "connect to port \(port): \(reason)")
    }
    return fd
  }
}

/// A UDP socket bound to 127.0.0.1:port that counts what arrives and answers nothing:
/// a server that has lost every reply.
private final class SilentDatagramSocket: Sendable {
  private let fd: Int32

  init(port: UInt16) throws {
    fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard fd >= 0, bound == 0 else {
      if fd >= 0 { Glibc.close(fd) }
      throw HarnessError(description: "silent UDP socket: bind port \(port) failed")
    }
  }

  /// Datagrams queued so far (none is ever read).
  var received: Int {
    var buffer = [UInt8](repeating: 0, count: 65536)
    var count = 0
    while recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) >= 0 { count += 1 }
    return count
  }

  func close() { Glibc.close(fd) }
}

/// Runs `body` with a peer program started; stops it (its process group) however
/// `body` ends, as `Running.withServer` does for the kit's servers.
private func withPeer<Result: Sendable>(
  _ peer: Running, _ body: (Running) async throws -> Result
) async throws -> Result {
  do {
    let result = try await body(peer)
    try await peer.stop()
    return result
  } catch {
    _ = try? await peer.stop()
    throw error
  }
}
