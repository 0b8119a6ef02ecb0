// tcp-capitalize thread server over the Sockets library: a thread per client, which
// reads one line and sends it back upper-cased, while the main thread accepts the next.
import ArgumentParser
@preconcurrency import Foundation  // Thread, stderr
import KitOptions
import Sockets

@main
struct TcpCapitalizeThreadServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tcp-capitalize-thread-server",
    abstract: "On port 6789: answer each client's line upper-cased, in a thread each.")

  @OptionGroup var options: ServerOptions

  func run() throws {
    let listener = try Socket.listen(port: options.port(default: 6789), backlog: 5)
    while true {
      do {
        let (client, _) = try listener.accept()
        // A thread, not a Task: tasks share a pool of about one thread per core, and a
        // task blocked in recv holds its thread, so a few silent clients would starve
        // every other task. The socket is Sendable, so the thread may own it.
        Thread.detachNewThread { serve(client) }
      } catch {
        fputs("Error: \(error)\n", stderr)
      }
    }
  }
}

/// One client, in its own thread: an error ends this connection, not the server.
func serve(_ client: Socket) {
  do {
    guard let line = try client.receiveLine(timeout: .seconds(10)) else { return }
    try client.sendAll(line.uppercased() + "\n", timeout: .seconds(10))
  } catch {
    fputs("Error: \(error)\n", stderr)
  }
}
