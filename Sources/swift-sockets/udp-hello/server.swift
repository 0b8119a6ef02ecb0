// udp-hello server over the Sockets library: answer every datagram with "Message
// received", forever. Prints what CSources/udp-hello/server.c prints.
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout, stderr
import KitOptions
import Sockets

@main
struct UdpHelloServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "udp-hello-server",
    abstract: "On UDP port 8080: print each datagram, answer it \"Message received\".")

  @OptionGroup var options: ServerOptions

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let port = options.port(default: 8080)
    let socket = try Socket.datagram(port: port)  // socket and bind, every interface
    print("UDP server listening on port \(port)")
    while true {
      do {
        // One whole datagram (never silently cut) and who sent it
        let (bytes, sender) = try socket.receiveDatagram()
        let text = String(decoding: bytes, as: UTF8.self)
        print("Received: \(text.trimmingCharacters(in: .newlines))")
        try socket.send("Message received", to: sender)
      } catch {
        fputs("Error: \(error)\n", stderr)  // one bad datagram does not end the server
      }
    }
  }
}
