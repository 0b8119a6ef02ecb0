// udp-capitalize client over the Sockets library: send one line from standard input
// in one datagram, print the upper-cased answer on stderr, in the slides' format.
import ArgumentParser
@preconcurrency import Foundation  // stderr
import KitOptions
import Sockets

@main
struct UdpCapitalizeClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "udp-capitalize-client",
    abstract: "Send a line of stdin to the server at localhost:9876, print its answer.")

  @OptionGroup var options: ClientOptions

  @Option(help: "Seconds to wait for the answer: UDP may lose it, or no server may run.")
  var timeout: Double = 5

  func run() throws {
    guard let line = readLine() else {
      fputs("Error: no line on standard input\n", stderr)
      throw ExitCode.failure
    }
    let addresses = try SocketAddress.resolve(
      host: options.host(default: "localhost"), port: options.port(default: 9876))
    // The lecture's servers listen on IPv4 only: prefer it, as gethostbyname does
    let server = addresses.first { $0.family == .ipv4 } ?? addresses[0]
    // Unbound: the first send binds it to a free port, the slides' explicit bind to 0
    let socket = try Socket(family: server.family, type: .datagram)
    // The newline marks where the line ends in the answer: the C and Java servers
    // answer 1024 bytes, with NULs or the tail of an earlier, longer datagram after it
    try socket.send(line + "\n", to: server)
    let (reply, _) = try socket.receiveDatagram(timeout: .seconds(timeout))
    let answer = reply.prefix { $0 != UInt8(ascii: "\n") && $0 != 0 }
    // The slides print "FROM SERVER: %s \n" where %s still ends with the line's newline
    fputs("FROM SERVER: \(String(decoding: answer, as: UTF8.self))\n \n", stderr)
  }
}
