// tcp-hello client over the Sockets library: connect, send "Hello from client", print
// the answer. Prints what CSources/tcp-hello/client.c prints.
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout
import KitOptions
import Sockets

@main
struct TcpHelloClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tcp-hello-client",
    abstract: "Send \"Hello from client\" to the server at 127.0.0.1:8080, print its answer.")

  @OptionGroup var options: ClientOptions

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    // Resolve the name, socket, connect: one call, trying each address of the name
    let server = try Socket.connect(
      host: options.host(default: "127.0.0.1"), port: options.port(default: 8080),
      timeout: .seconds(5))
    print("Connected to server")
    try server.sendAll("Hello from client", timeout: .seconds(5))
    // No newline, as in the lecture's C; instead the end of the stream ends the message,
    // which every server understands: one recv, a pause, or Java's readLine.
    try server.shutdown(.writing)
    print("Message sent")
    var reply: [UInt8] = []
    repeat {  // until a newline or the server closes: however the reply is cut up
      let more = try server.receive(upTo: 1024, timeout: .seconds(5))
      if more.isEmpty { break }
      reply += more
    } while !reply.contains(UInt8(ascii: "\n"))
    guard !reply.isEmpty else {
      fputs("Error: the server closed the connection without an answer\n", stderr)
      throw ExitCode.failure
    }
    print("Received: \(String(decoding: reply, as: UTF8.self).trimmingCharacters(in: .newlines))")
  }
}
