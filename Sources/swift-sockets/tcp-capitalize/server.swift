// tcp-capitalize server over the Sockets library: for each client in turn, read one
// line, send it back upper-cased. Serves the clients of every flavor and the slides'.
import ArgumentParser
@preconcurrency import Foundation  // stderr
import KitOptions
import Sockets

@main
struct TcpCapitalizeServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tcp-capitalize-server",
    abstract: "On port 6789: answer each client's line upper-cased, one client at a time.")

  @OptionGroup var options: ServerOptions

  func run() throws {
    let listener = try Socket.listen(port: options.port(default: 6789), backlog: 5)
    while true {  // iterative: the next client waits in the backlog
      do {
        let (client, _) = try listener.accept()
        try serve(client)
      } catch {
        fputs("Error: \(error)\n", stderr)  // one bad client does not end the server
      }
    }
  }
}

/// One line however many reads it takes (the slides' Java client sends a byte per
/// write), answered with a newline, which every client reads up to. The wait is
/// bounded: a silent client holds this iterative server 10 s, not forever.
func serve(_ client: Socket) throws(SocketError) {
  guard let line = try client.receiveLine(timeout: .seconds(10)) else { return }
  try client.sendAll(line.uppercased() + "\n", timeout: .seconds(10))
}
