// tcp-echo client over the Sockets library: connect, send one line, print the echo as
// Python prints bytes. Prints what CSources/tcp-echo/client.c prints.
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout, String(format:)
import KitOptions
import Sockets

@main
struct TcpEchoClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tcp-echo-client",
    abstract: "Send \"hello, server\\n\" to the server at 127.0.0.1:8080, print the echo.")

  @OptionGroup var options: ClientOptions

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let server = try Socket.connect(
      host: options.host(default: "127.0.0.1"), port: options.port(default: 8080),
      timeout: .seconds(5))
    try server.sendAll("hello, server\n", timeout: .seconds(5))  // Python's sendall
    var reply: [UInt8] = []
    repeat {  // the whole line, however TCP cuts it up; what came if the server closes
      let more = try server.receive(upTo: 4096, timeout: .seconds(5))
      if more.isEmpty { break }
      reply += more
    } while !reply.contains(UInt8(ascii: "\n"))
    print("Server replied: \(pythonRepr(reply))")
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
