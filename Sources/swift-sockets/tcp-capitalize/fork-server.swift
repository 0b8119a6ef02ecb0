// tcp-capitalize fork server over the Sockets library: a child process per client,
// which reads one line and sends it back upper-cased, while the parent accepts the next.
//
// fork() copies only the calling thread, so it is safe only in a process with no other
// thread (whose locks would stay locked in the child): this program starts none.
import ArgumentParser
import KitOptions
import Sockets

#if canImport(Glibc)
  @preconcurrency import Glibc  // fork, signal, stderr
#else
  #error("Darwin's Swift has no fork(): use tcp-capitalize-thread-server instead.")
#endif

@main
struct TcpCapitalizeForkServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tcp-capitalize-fork-server",
    abstract: "On port 6789: answer each client's line upper-cased, in a child process each.")

  @OptionGroup var options: ServerOptions

  func run() throws {
    // With SIGCHLD ignored, the kernel reaps each child as it exits: no zombies, and
    // no handler to interrupt accept (the C fork server reaps with waitpid instead)
    signal(SIGCHLD, SIG_IGN)
    let listener = try Socket.listen(port: options.port(default: 6789), backlog: 5)
    while true {
      do {
        let (client, _) = try listener.accept()
        switch fork() {
        case -1:  // no child: drop this client, keep serving the others
          fputs("Error: fork: \(String(cString: strerror(errno)))\n", stderr)
        case 0:  // the child: serves this client only, then exits
          listener.close()
          serve(client)
          _exit(EXIT_SUCCESS)  // not exit: no atexit handlers, no second stdio flush
        default:  // the parent: the child has its own copy of the connection
          client.close()
        }
      } catch {
        fputs("Error: \(error)\n", stderr)
      }
    }
  }
}

/// One client, in its own process: an error ends this connection, not the server.
func serve(_ client: Socket) {
  do {
    guard let line = try client.receiveLine(timeout: .seconds(10)) else { return }
    try client.sendAll(line.uppercased() + "\n", timeout: .seconds(10))
  } catch {
    fputs("Error: \(error)\n", stderr)
  }
}
