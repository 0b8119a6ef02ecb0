// stun-client over the Sockets library: ask a STUN server (RFC 8489) where our datagrams
// come from as it sees them, on the far side of every NAT: our public address and port.
// One Binding request, resent with a doubling timeout; the answer is checked strictly
// (the Stun library's parser) because anyone can send us a datagram.
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout, stderr
import Sockets
import Stun

@main
struct StunClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stun-client",
    abstract: "Ask a STUN server which public address and port our datagrams come from.")

  @Argument(help: "The STUN server: a name or an IPv4 address.")
  var host: String

  @Argument(help: "Its UDP port. Default: $KIT_PORT, else 3478.")
  var port: UInt16?

  func validate() throws {
    guard port != 0 else { throw ValidationError("port must be a number from 1 to 65535") }
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let environment = ProcessInfo.processInfo.environment
    let port = port ?? environment["KIT_PORT"].flatMap { UInt16($0) } ?? 3478  // kit: KIT_PORT
    let server: SocketAddress
    do {
      server = try SocketAddress.resolve(host: host, port: port, family: .ipv4)[0]
    } catch {
      throw failure("unknown host \(host): \(error.reason)")
    }
    do {
      let socket = try Socket(family: .ipv4, type: .datagram)  // the first send binds it
      let request = StunMessage(type: .bindingRequest)
      guard let answer = try socket.exchange(request, with: server, until: .now + .seconds(10))
      else {
        throw failure("no answer from \(host):\(port) in 10 s")
      }
      print(try mappedAddress(in: answer))
    } catch let error as StunError {
      throw failure("malformed answer: \(error)")
    } catch let error as SocketError {
      throw failure("\(error)")
    }
  }

  /// The line to print: our address as the server saw it, XOR-MAPPED-ADDRESS if the
  /// answer has one, else the MAPPED-ADDRESS of servers older than RFC 5389.
  func mappedAddress(in answer: StunMessage) throws -> String {
    switch answer.type {
    case .bindingSuccess:
      if let address = try answer.address(.xorMappedAddress) {
        return "XOR-MAPPED-ADDRESS \(address)"
      }
      if let address = try answer.address(.mappedAddress) {
        return "MAPPED-ADDRESS \(address)"
      }
      throw StunError.missing("XOR-MAPPED-ADDRESS or MAPPED-ADDRESS")
    case .bindingError:
      let code = try answer.errorCode()
      throw failure("server answered error \(code.map { "\($0)" } ?? "without an ERROR-CODE")")
    default:
      throw StunError.unexpectedType(answer.type, expected: .binding)
    }
  }
}

/// Says what went wrong on stderr, as "stun-client: what", for an exit with status 1.
func failure(_ what: String) -> ExitCode {
  fputs("stun-client: \(what)\n", stderr)
  return .failure
}
