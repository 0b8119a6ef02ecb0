// chat client over the Sockets library: what you type goes to the chat server, what the
// others say is printed. At the end of input (Ctrl-D) it stops sending, but prints on
// until the server closes the connection. Prints what CSources/chat/client.c prints.
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout, stderr, Thread, FileHandle
import KitOptions
import Sockets

@main
struct ChatClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "chat-client",
    abstract: "Chat through the server at 127.0.0.1:8080: send what you type, print the rest.")

  @OptionGroup var options: ClientOptions

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let host = options.host(default: "127.0.0.1")
    let port = options.port(default: 8080)
    let server: Socket
    do {
      server = try Socket.connect(host: host, port: port, timeout: .seconds(10))
    } catch .resolution {
      fputs("invalid address: \(host)\n", stderr)
      throw ExitCode.failure
    } catch {
      fputs("connect failed: \(error.reason)\n", stderr)
      throw ExitCode.failure
    }
    // On stderr, so that stdout holds only what the others said
    fputs("Connected to \(host):\(port); end your input (Ctrl-D) to leave\n", stderr)
    // Standard input is not a socket, so a Poller cannot wait for it: a thread does
    Thread.detachNewThread { forward(to: server) }
    while true {
      let chunk = try server.receive(upTo: 4096)
      if chunk.isEmpty { break }  // the server closed the connection
      try FileHandle.standardOutput.write(contentsOf: chunk)  // now, whole lines or not
    }
  }
}

/// Sends each line as it is typed. At the end of input, shuts down the sending side:
/// the server sees the client leave, and closes the connection.
func forward(to server: Socket) {
  do {
    while let line = readLine(strippingNewline: false) {
      try server.sendAll(line)
    }
    try server.shutdown(.writing)
  } catch {
    fputs("Error: \(error)\n", stderr)
    exit(EXIT_FAILURE)
  }
}
