// udp-echo server over the Sockets library: send every datagram back to whoever sent
// it, forever, printing each as Python prints bytes. Prints what
// CSources/udp-echo/server.c prints.
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout, stderr, String(format:)
import KitOptions
import Sockets

@main
struct UdpEchoServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "udp-echo-server",
    abstract: "On UDP port 8080: print each datagram as Python would, send it back.")

  @OptionGroup var options: ServerOptions

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    // Every IPv4 interface: IPv4 only, as the C it prints like (with no host, the
    // socket would be dual-stack and print IPv4 senders as ::ffff:127.0.0.1)
    let socket = try Socket.datagram(host: "0.0.0.0", port: options.port(default: 8080))
    while true {
      do {
        let (datagram, sender) = try socket.receiveDatagram()  // whole, and who sent it
        // The chapter's recvfrom(4096): the rest of a longer datagram is dropped
        let bytes = Array(datagram.prefix(4096))
        print("Received \(pythonRepr(bytes)) from ('\(sender.host!)', \(sender.port!))")
        try socket.send(bytes, to: sender)  // one datagram: sent whole or not at all
      } catch {
        fputs("Error: \(error)\n", stderr)  // one bad datagram does not end the server
      }
    }
  }
}

/// Python's repr() of bytes: b'...' with printable ASCII as it is, \t \n \r \\ and the
/// quote escaped, any other byte as \xNN; in double quotes if there is a ' and no ".
func pythonRepr(_ bytes: [UInt8]) -> String {
  let quote = bytes.contains(0x27) && !bytes.contains(0x22) ? "\"" : "'"
  let body = bytes.map { byte in
    switch Character(Unicode.Scalar(byte)) {
    case "\t": "\\t"
    case "\n": "\\n"
    case "\r": "\\r"
    case "\\", Character(quote): "\\" + String(Unicode.Scalar(byte))
    case " "..."~": String(Unicode.Scalar(byte))
    default: String(format: "\\x%02x", byte)
    }
  }
  return "b" + quote + body.joined() + quote
}
