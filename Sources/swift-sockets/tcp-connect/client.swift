// tcp-connect client over the Sockets library: connect within a deadline and say how it
// went, as CSources/tcp-connect/client.c does. The library's connect already does what
// the C spells out: it starts the handshake without blocking, waits in poll for at most
// the timeout, and reads the outcome with SO_ERROR.
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout, getenv, ECONNREFUSED
import KitOptions
import Sockets

@main
struct TcpConnectClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tcp-connect-client",
    abstract: "Connect to 127.0.0.1:8080 within a deadline: connected, refused or timed out.",
    discussion: "Exit status: 0 connected, 1 refused, 2 timed out, 3 another failure, 64 bad input."
  )

  @OptionGroup var options: ClientOptions

  @Argument(help: "How long to wait, in milliseconds. Default: $KIT_TIMEOUT_MS, else 2000.")
  var timeoutMs: String?

  var host: String { options.host(default: "127.0.0.1") }

  /// The deadline: the argument, else KIT_TIMEOUT_MS, else 2000 ms.
  var milliseconds: Int32 {
    get throws {
      guard let text = timeoutMs ?? ProcessInfo.processInfo.environment["KIT_TIMEOUT_MS"] else {
        return 2000
      }
      // Digits only, from 1 to Int32.max (poll's int), as the C client reads it
      guard text.first?.isWholeNumber == true, let ms = Int32(text), ms > 0 else {
        throw ValidationError(
          "timeout-ms must be a whole number from 1 to \(Int32.max), not '\(text)'")
      }
      return ms
    }
  }

  func validate() throws {
    _ = try milliseconds
    // A dotted quad, as inet_pton reads one: four numbers 0-255 without leading zeros.
    // Checked here, so a host name never reaches getaddrinfo, and DNS.
    let parts = host.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4, parts.allSatisfy({ UInt8($0).map(String.init) == String($0) }) else {
      throw ValidationError("not an IPv4 address: \(host)")
    }
  }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let port = options.port(default: 8080)
    let ms = try milliseconds
    do {
      _ = try Socket.connect(host: host, port: port, timeout: .milliseconds(ms))
      print("connected to \(host):\(port)")
    } catch .system("connect", ECONNREFUSED) {  // the host answered: nothing listens there
      print("refused by \(host):\(port)")
      throw ExitCode(1)
    } catch .timedOut {
      print("timed out connecting to \(host):\(port) after \(ms) ms")
      throw ExitCode(2)
    } catch let error where error.call == "connect" {
      print("cannot connect to \(host):\(port): \(error.reason)")
      throw ExitCode(3)
    } catch {
      fputs("\(error)\n", stderr)  // another call failed: socket, fcntl, poll, getsockopt
      throw ExitCode(3)
    }
  }
}
