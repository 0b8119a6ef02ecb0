// Fidelity of the lectures' own Python and Java (flavors python and java): each keeps
// the lecture's calls, constants and printed lines, in the lecture's order, and the
// kit's additions (KIT_PORT, KIT_HOST, line-buffered output) are marked kit. These
// read the sources, as fidelity.swift does for the C; the matrix runs them.
import Foundation
import KitHarness
import Testing

/// A lecture program in Python or Java and what the lecture fixes about it.
struct LectureScript: CustomStringConvertible, Sendable {
  let flavor: String
  /// `<example>/<role>`: the source is PySources/<path>.py or JavaSources/<path>.java.
  let path: String
  /// Code the file holds in this order, white space collapsed.
  let statements: [String]
  var description: String { "\(flavor)/\(path)" }

  var source: String {
    let (folder, ending) = Kit.sourceLayout(flavor: flavor)
    return "\(folder)/\(path)\(ending)"
  }

  static func python(_ path: String, _ statements: [String]) -> LectureScript {
    LectureScript(flavor: "python", path: path, statements: statements)
  }
  static func java(_ path: String, _ statements: [String]) -> LectureScript {
    LectureScript(flavor: "java", path: path, statements: statements)
  }

  static let all: [LectureScript] = [
    // Document 000: module socket only, every socket in a with block, port 8080.
    python(
      "tcp-hello/server",
      [
        "import socket", "HOST = ''", "PORT = 8080",
        "with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:",
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)", "s.bind((HOST, PORT))",
        "s.listen(5)", #"print(f"Server listening on port {PORT}")"#, "conn, addr = s.accept()",
        "with conn:", #"print(f"Connected by {addr}")"#, "data = conn.recv(1024)", "if data:",
        #"print(f"Received: {data.decode()}")"#, #"conn.sendall(b"Hello from server")"#,
      ]),
    python(
      "tcp-hello/client",
      [
        "import socket", "HOST = '127.0.0.1'", "PORT = 8080",
        "with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:", "s.connect((HOST, PORT))",
        #"s.sendall(b"Hello from client")"#, "data = s.recv(1024)",
        #"print(f"Received: {data.decode()}")"#,
      ]),
    python(
      "udp-hello/server",
      [
        "HOST = ''", "PORT = 8080", "with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:",
        "s.bind((HOST, PORT))", #"print(f"UDP server listening on port {PORT}")"#, "while True:",
        "data, addr = s.recvfrom(1024)", #"print(f"Received from {addr}: {data.decode()}")"#,
        #"s.sendto(b"Message received", addr)"#,
      ]),
    python(
      "udp-hello/client",
      [
        "HOST = '127.0.0.1'", "PORT = 8080",
        "with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:",
        #"s.sendto(b"Hello from UDP client", (HOST, PORT))"#, "s.recvfrom(1024)",
        #"print(f"Received: {data.decode()}")"#,
      ]),
    // Document 002: the chapter's echo programs and its asyncio chat server.
    python(
      "tcp-echo/server",
      [
        #"HOST = "0.0.0.0""#, "PORT = 8080", "SO_REUSEADDR, 1)", "listen(5)",
        #"print(f"Listening on port {PORT}")"#, "while True:", "accept()",
        #"print(f"Connected: {addr}")"#, "recv(4096)", "if not data:", "break", "sendall(data)",
      ]),
    python(
      "tcp-echo/client",
      [
        #"HOST = "127.0.0.1""#, "PORT = 8080", "connect((HOST, PORT))",
        #"sendall(b"hello, server\n")"#, "recv(4096)", #"print(f"Server replied: {data!r}")"#,
      ]),
    python(
      "udp-echo/server",
      [
        #"HOST = "0.0.0.0""#, "PORT = 8080", "SOCK_DGRAM", "bind((HOST, PORT))", "while True:",
        "recvfrom(4096)", #"print(f"Received {data!r} from {addr}")"#, "sendto(data, addr)",
      ]),
    python(
      "chat/server",
      [
        "import asyncio", #"HOST = "0.0.0.0""#, "PORT = 8080", "clients = set()",
        "async def handle(reader, writer):", "clients.add(writer)", "await reader.read(4096)",
        "if not data:", "other.write(data)", "await other.drain()", "clients.discard(writer)",
        "writer.close()", "await asyncio.start_server(handle, HOST, PORT)",
        #"print(f"Chat server on port {PORT}")"#, "serve_forever()", "asyncio.run(main())",
      ]),
    // Document 000's Java: try-with-resources, readLine and println (a line each way).
    java(
      "tcp-hello/server",
      [
        "import java.io.*;", "import java.net.*;", "class TcpServer", "int port = 8080;",
        "try (ServerSocket serverSocket = new ServerSocket(port))",
        #"System.out.println("Server listening on port " + port);"#,
        "Socket clientSocket = serverSocket.accept();",
        "new BufferedReader( new InputStreamReader(clientSocket.getInputStream()));",
        "new PrintWriter(clientSocket.getOutputStream(), true)",
        #"System.out.println("Client connected");"#, "String message = in.readLine();",
        #"System.out.println("Received: " + message);"#, #"out.println("Hello from server");"#,
      ]),
    java(
      "tcp-hello/client",
      [
        "class TcpClient", #"String host = "127.0.0.1";"#, "int port = 8080;",
        "Socket socket = new Socket(host, port);",
        "new PrintWriter(socket.getOutputStream(), true)", #"out.println("Hello from client");"#,
        "String response = in.readLine();", #"System.out.println("Received: " + response);"#,
      ]),
    java(
      "udp-hello/server",
      [
        "class UdpServer", "int port = 8080;", "new DatagramSocket(port)",
        "byte[] buffer = new byte[1024];",
        #"System.out.println("UDP server listening on port " + port);"#, "while (true)",
        "socket.receive(packet);", "new String(packet.getData(), 0, packet.getLength());",
        #"System.out.println("Received: " + message);"#, #""Message received".getBytes();"#,
        "packet.getAddress(), packet.getPort());", "socket.send(reply);",
      ]),
    java(
      "udp-hello/client",
      [
        "class UdpClient", #"String host = "127.0.0.1";"#, "int port = 8080;",
        "new DatagramSocket()", "InetAddress.getByName(host);",
        #""Hello from UDP client".getBytes();"#, "socket.send(packet);", "new byte[1024];",
        "socket.receive(response);", #"System.out.println("Received: " + reply);"#,
      ]),
    // Document 001's Java (Kurose & Ross style): writeBytes, one byte per write.
    java(
      "tcp-capitalize/client",
      [
        "class TCPClient", "String sentence;", "String modifiedSentence;",
        "BufferedReader inFromUser = new BufferedReader(new InputStreamReader(System.in));",
        "Socket clientSocket = new Socket(", "6789", "DataOutputStream outToServer =",
        "BufferedReader inFromServer =", "sentence = inFromUser.readLine();",
        "outToServer.writeBytes(sentence + '\\n');",
        "modifiedSentence = inFromServer.readLine();",
        #"System.out.println("FROM SERVER: " + modifiedSentence);"#, "clientSocket.close();",
      ]),
    java(
      "tcp-capitalize/server",
      [
        "class TCPServer", "String clientSentence;", "String capitalizedSentence;",
        "ServerSocket welcomeSocket = new ServerSocket(", "6789", "while (true)",
        "Socket connectionSocket = welcomeSocket.accept();", "BufferedReader inFromClient =",
        "DataOutputStream outToClient =", "clientSentence = inFromClient.readLine();",
        "capitalizedSentence = clientSentence.toUpperCase() + '\\n';",
        "outToClient.writeBytes(capitalizedSentence);",
      ]),
    java(
      "udp-capitalize/client",
      [
        "class UDPClient", "DatagramSocket clientSocket = new DatagramSocket();",
        "InetAddress IPAddress = InetAddress.getByName(", "byte[] sendData = new byte[1024];",
        "byte[] receiveData = new byte[1024];", "String sentence = inFromUser.readLine();",
        "sendData = sentence.getBytes();",
        "new DatagramPacket(sendData, sendData.length, IPAddress,",
        "9876", "clientSocket.send(sendPacket);",
        "new DatagramPacket(receiveData, receiveData.length);",
        "clientSocket.receive(receivePacket);",
        "String modifiedSentence = new String(receivePacket.getData());",
        #"System.out.println("FROM SERVER:" + modifiedSentence);"#, "clientSocket.close();",
      ]),
    java(
      "udp-capitalize/server",
      [
        "class UDPServer", "DatagramSocket serverSocket = new DatagramSocket(", "9876",
        "byte[] receiveData = new byte[1024];", "byte[] sendData = new byte[1024];",
        "while (true)", "serverSocket.receive(receivePacket);",
        "String sentence = new String(receivePacket.getData());",
        "InetAddress IPAddress = receivePacket.getAddress();",
        "int port = receivePacket.getPort();",
        "String capitalizedSentence = sentence.toUpperCase();",
        "sendData = capitalizedSentence.getBytes();", "serverSocket.send(sendPacket);",
      ]),
  ]
}

@Suite("fidelity of the lectures' Python and Java", .timeLimit(.minutes(1)))
struct ScriptFidelityTests {
  static func read(_ path: String) -> String {
    (try? String(contentsOf: Kit.root.appendingPathComponent(path), encoding: .utf8)) ?? ""
  }

  static func collapsed(_ text: String) -> String {
    text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
  }

  @Test("every Python and Java program of programs.txt is held to the lecture here")
  func complete() {
    let listed = Kit.programs.flatMap { program in
      program.flavors.filter { Kit.scriptFlavors[$0] != nil }.map {
        "\($0)/\(program.example)/\(program.role)"
      }
    }
    #expect(Set(listed) == Set(LectureScript.all.map(\.description)))
  }

  @Test(
    "the program keeps the lecture's statements, in the lecture's order",
    arguments: LectureScript.all)
  func order(program: LectureScript) {
    let code = Self.collapsed(Self.read(program.source))
    #expect(!code.isEmpty, "\(program.source) is missing")
    var rest = code[...]
    for statement in program.statements {
      guard let found = rest.range(of: Self.collapsed(statement)) else {
        Issue.record("\(program.source): not found in order: \(statement)")
        return
      }
      rest = rest[found.upperBound...]
    }
  }

  @Test("the kit's own lines say so", arguments: LectureScript.all)
  func marked(program: LectureScript) {
    let lines = Self.read(program.source).split(separator: "\n", omittingEmptySubsequences: false)
    for (index, line) in lines.enumerated() {
      let kitCode =
        program.flavor == "python"
        ? ["os.environ", "reconfigure(", "import os", "import sys"].contains { line.contains($0) }
        : (line.contains("kitPort(") || line.contains("kitHost(")) && !line.contains("static ")
      if kitCode {
        #expect(
          line.contains("# kit") || line.contains("// kit"),
          "\(program.source):\(index + 1): \(line)")
      }
      // The helpers that read KIT_PORT and KIT_HOST follow a comment that says kit.
      if program.flavor == "java" && line.contains("static ") && line.contains(" kit") {
        let before = lines[..<index].last { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        let helperBlock = lines[..<index].contains { $0.contains("// kit: KIT_") }
        #expect(helperBlock, "\(program.source):\(index + 1): \(before ?? "")")
      }
    }
  }
}
