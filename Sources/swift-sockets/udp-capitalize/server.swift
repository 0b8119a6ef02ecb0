// udp-capitalize server over the Sockets library: forever, send each datagram back
// upper-cased to whoever sent it.
import ArgumentParser
@preconcurrency import Foundation  // stderr
import KitOptions
import Sockets

@main
struct UdpCapitalizeServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "udp-capitalize-server",
    abstract: "On UDP port 9876: send every datagram back to its sender, upper-cased.")

  @OptionGroup var options: ServerOptions

  func run() throws {
    let socket = try Socket.datagram(port: options.port(default: 9876))
    while true {
      do {
        let (bytes, sender) = try socket.receiveDatagram()
        // The answer is the datagram itself, upper-cased: as long as the request (the
        // C client's 1024 bytes come back as 1024), with no tail of an earlier one
        try socket.send(String(decoding: bytes, as: UTF8.self).uppercased(), to: sender)
      } catch {
        fputs("Error: \(error)\n", stderr)  // one bad datagram does not end the server
      }
    }
  }
}
