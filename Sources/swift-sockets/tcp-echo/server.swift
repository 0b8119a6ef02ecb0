// tcp-echo server over the Sockets library: accept a client, send back every byte it
// sends until it closes, then the next client. Prints what CSources/tcp-echo/server.c
// prints.
import ArgumentParser
import EchoLoop  // pythonTuple
import KitOptions
import Sockets

#if canImport(Glibc)
  @preconcurrency import Glibc  // setvbuf, stdout, stderr
#elseif canImport(Musl)
  @preconcurrency import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

@main
struct TcpEchoServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tcp-echo-server",
    abstract: "On port 8080: send each client's bytes back until it closes, one at a time.")

  @OptionGroup var options: ServerOptions

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let port = options.port(default: 8080)
    // socket, SO_REUSEADDR, IPV6_V6ONLY off, bind to every interface (dual-stack: IPv6
    // and IPv4), listen: one call
    let listener = try Socket.listen(port: port, backlog: 5)
    print("Listening on port \(port)")
    while true {  // iterative: the next client waits in the backlog
      do {
        let (client, address) = try listener.accept()
        print("Connected: \(pythonTuple(address))")  // as Python prints it
        try echo(client)
      } catch {
        fputs("Error: \(error)\n", stderr)  // this client is gone, not the server
      }
    }
  }
}

/// Whatever arrives goes back, every byte of it, until the client closes (an empty
/// receive). A client silent for a minute, or not reading its echo, is dropped.
func echo(_ client: Socket) throws(SocketError) {
  while case let bytes = try client.receive(upTo: 4096, timeout: .seconds(60)), !bytes.isEmpty {
    try client.sendAll(bytes, timeout: .seconds(60))
  }
}
