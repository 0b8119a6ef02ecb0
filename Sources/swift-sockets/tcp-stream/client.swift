// tcp-stream client over the Sockets library: connect, send all of standard input,
// close. Takes the arguments of CSources/tcp-stream/client.c: [HOST [PORT]].
import ArgumentParser
@preconcurrency import Foundation  // FileHandle
import KitOptions
import Sockets

@main
struct TcpStreamClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tcp-stream-client",
    abstract: "Send all of standard input to a tcp-stream server, then close.")

  @Argument(help: "The server's name or address. Default: --host, $KIT_HOST, else localhost.")
  var host: String?

  @Argument(help: "The port the server printed. Default: --port, else $KIT_PORT.")
  var port: UInt16?

  @OptionGroup var options: ClientOptions

  /// The server takes whatever port the system gives it: there is no usual one (0: none).
  var serverPort: UInt16 { port ?? options.port(default: 0) }

  func validate() throws {
    guard serverPort != 0 else { throw ValidationError("no port: give PORT, --port or KIT_PORT") }
  }

  func run() throws {
    // getaddrinfo, then each address of the name in turn until one connects
    let server = try Socket.connect(
      host: host ?? options.host(default: "localhost"), port: serverPort, timeout: .seconds(5))
    // One read(2) each: what is there, a line from a terminal or more from a pipe
    while case let bytes = FileHandle.standardInput.availableData, !bytes.isEmpty {
      try server.sendAll(Array(bytes), timeout: .seconds(10))
    }
    server.close()  // the end of the stream is the end of the message: the server waits for it
  }
}
