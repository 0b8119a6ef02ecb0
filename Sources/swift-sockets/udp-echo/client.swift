// udp-echo client over the Sockets library: send "hello, server\n" in one datagram,
// print the echo as Python prints bytes, or give up after 5 seconds. Prints what
// CSources/udp-echo/client.c prints.
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout, stderr, String(format:)
import KitOptions
import Sockets

@main
struct UdpEchoClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "udp-echo-client",
    abstract: "Send a datagram to the udp-echo server (127.0.0.1:8080), print the echo.")

  @OptionGroup var options: ClientOptions

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let (host, port) = (options.host(default: "127.0.0.1"), options.port(default: 8080))
    let addresses = try SocketAddress.resolve(host: host, port: port)
    // The lecture's servers listen on IPv4 only: prefer it, as gethostbyname does
    let server = addresses.first { $0.family == .ipv4 } ?? addresses[0]
    let socket = try Socket(family: server.family, type: .datagram)
    try socket.send("hello, server\n", to: server)  // the first send binds a free port
    do {
      // A datagram or its echo may be lost, and nothing would say so: wait 5 s at most.
      // Any datagram to this port is taken as the echo, wherever it comes from.
      let reply = try socket.receiveDatagram(timeout: .seconds(5)).bytes
      print("Server replied: \(pythonRepr(reply))")
    } catch .timedOut {
      fputs("no reply within 5 seconds: is the server running on \(host):\(port)?\n", stderr)
      throw ExitCode.failure
    } catch {
      throw error  // spelled out: Swift 6.3's compiler crashes on the implicit rethrow
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
