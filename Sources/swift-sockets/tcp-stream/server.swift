// tcp-stream server over the Sockets library: on a port the system picks, copy each
// client's bytes to standard output until it closes, one client after another.
// Prints what CSources/tcp-stream/server.c prints.
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout, stderr, FileHandle
import KitOptions
import Sockets

@main
struct TcpStreamServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tcp-stream-server",
    abstract: "Copy every client's bytes to standard output, on a port the system picks.")

  @OptionGroup var options: ServerOptions

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    // Port 0, unless --port or KIT_PORT: the system chooses a free one
    let listener = try Socket.listen(port: options.port(default: 0), backlog: 5)
    // getsockname: the port it chose. Printed once listening, so a client can connect
    print("Listening on port \(try listener.localAddress.port!)")
    while true {  // iterative: the next client waits in the backlog
      do {
        let (client, _) = try listener.accept()
        try copy(from: client)
      } catch let error as SocketError {
        fputs("Error: \(error)\n", stderr)  // this client is gone, not the server
      }  // any other error, writing to stdout, ends the server
    }
  }
}

/// Every byte until the client closes (an empty receive), however TCP cut them up.
/// Written as they are, not printed: they may be binary, NULs included.
func copy(from client: Socket) throws {
  // A client silent for a minute is dropped: it cannot hold this server forever
  while case let bytes = try client.receive(upTo: 4096, timeout: .seconds(60)), !bytes.isEmpty {
    try FileHandle.standardOutput.write(contentsOf: bytes)
  }
}
