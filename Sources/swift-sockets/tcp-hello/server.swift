// tcp-hello server over the Sockets library: accept one client, print its message,
// answer "Hello from server", exit. Prints what CSources/tcp-hello/server.c prints.
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout
import KitOptions
import Sockets

@main
struct TcpHelloServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tcp-hello-server",
    abstract: "On port 8080: accept one client, print its message, answer \"Hello from server\".")

  @OptionGroup var options: ServerOptions

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let port = options.port(default: 8080)
    // socket, SO_REUSEADDR, bind to every interface, listen: one call
    let listener = try Socket.listen(port: port, backlog: 5)
    print("Server listening on port \(port)")
    let (client, _) = try listener.accept()
    print("Client connected")
    let message = try receiveMessage(from: client)
    if !message.isEmpty { print("Received: \(message)") }
    try client.sendAll("Hello from server", timeout: .seconds(10))  // every byte, or an error
    print("Response sent")
  }  // both sockets close here, as their last references go
}

/// The lecture's protocol does not say where a message ends: the C and Python clients
/// send "Hello from client" and wait, the Java client adds a newline, and TCP may cut
/// either into pieces. So the message is every byte up to a newline, the end of the
/// connection, or a pause of 500 ms: one piece is not taken for the whole.
func receiveMessage(from client: Socket) throws(SocketError) -> String {
  var bytes = try client.receive(upTo: 1024, timeout: .seconds(10))
  while !bytes.isEmpty, !bytes.contains(UInt8(ascii: "\n")), bytes.count < 1024 {
    do {
      let more = try client.receive(upTo: 1024, timeout: .milliseconds(500))
      if more.isEmpty { break }  // the client closed: that was all
      bytes += more
    } catch .timedOut {
      break  // the client paused: that was all
    }
  }
  return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .newlines)
}
