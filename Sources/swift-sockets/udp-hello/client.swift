// udp-hello client over the Sockets library: send "Hello from UDP client", print the
// answer, or give up after a timeout. Prints what CSources/udp-hello/client.c prints.
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout
import KitOptions
import Sockets

@main
struct UdpHelloClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "udp-hello-client",
    abstract: "Send a datagram to the udp-hello server (127.0.0.1:8080), print the answer.")

  @OptionGroup var options: ClientOptions

  @Option(help: "Seconds to wait for the answer: UDP may lose it, or no server may run.")
  var timeout: Double = 5

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let addresses = try SocketAddress.resolve(
      host: options.host(default: "127.0.0.1"), port: options.port(default: 8080))
    // The lecture's servers listen on IPv4 only: prefer it, as gethostbyname does
    let server = addresses.first { $0.family == .ipv4 } ?? addresses[0]
    let socket = try Socket(family: server.family, type: .datagram)
    try socket.send("Hello from UDP client", to: server)
    print("Message sent")
    // The lecture's recvfrom waits forever for a lost datagram; this one gives up
    let (reply, _) = try socket.receiveDatagram(timeout: .seconds(timeout))
    print("Received: \(String(decoding: reply, as: UTF8.self))")
  }
}
