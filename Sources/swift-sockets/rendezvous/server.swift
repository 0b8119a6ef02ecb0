// rendezvous-server over the Sockets library: the signaling service of NAT traversal.
// Two peers that cannot reach each other yet each tell it their public candidate; it
// hands each one the other's. One thread serves every connection through a Poller over
// poll(2). The line protocol is in lectures/rendezvous.md:
//   REGISTER <name> <peer> <ip>:<port>  ->  PEER <peer> <ip>:<port>, once both are here
//   RELAY <ip>:<port>                   ->  RELAY <name> <ip>:<port>, to the other one
//   anything else                       ->  ERROR <reason>, and the connection is closed
// This file is the command line; the service (clients, lines, pairing) is rendezvous.swift.
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout
import KitOptions
import Sockets

@main
struct RendezvousServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rendezvous-server",
    abstract: "On port 3479: introduce pairs of peers to each other's public address.")

  @Argument(help: "The TCP port to listen on. Default: --port, $KIT_PORT, else 3479.")
  var listenPort: UInt16?

  @OptionGroup var options: ServerOptions

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let port = listenPort ?? options.port(default: 3479)
    let listener = try Socket.listen(host: "0.0.0.0", port: port)
    print("listening on port \(port)")
    try Rendezvous(listener: listener, poller: Poller(backend: .poll)).run()
  }
}
