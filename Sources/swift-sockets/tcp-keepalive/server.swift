// tcp-keepalive server over the Sockets library: one client at a time, read until it
// closes or its connection fails, and say which; with keepalive, a client whose network
// vanished is noticed within seconds. Prints what CSources/tcp-keepalive/server.c prints.
import ArgumentParser
@preconcurrency import Foundation  // setvbuf, stdout
import KitOptions
import Sockets

@main
struct TcpKeepaliveServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tcp-keepalive-server",
    abstract: "On port 8080, one client at a time: say whether it closed or was lost.",
    discussion: """
      With keepalive (the default: idle 1 s, interval 1 s, 3 probes) a client whose network \
      vanished is lost after idle + interval * count seconds of silence; with 'off', never.
      """)

  @OptionGroup var options: ServerOptions

  @Argument(help: "'off', or idle seconds, interval seconds and probe count. Default: 1 1 3.")
  var settings: [String] = []

  /// The keepalive settings the arguments ask for; nil: off. The upper limits are Linux's.
  var keepAlive: (idle: Int, interval: Int, count: Int)? {
    get throws {
      if settings == ["off"] { return nil }
      if settings.isEmpty { return (1, 1, 3) }
      // Digits only, as the C server reads them
      let numbers = settings.map { $0.first?.isWholeNumber == true ? Int($0) : nil }
      guard numbers.count == 3, let idle = numbers[0], let interval = numbers[1],
        let count = numbers[2], (1...32767).contains(idle), (1...32767).contains(interval),
        (1...127).contains(count)
      else {
        throw ValidationError(
          "expected 'off', or idle and interval in seconds (1-32767) and a count of probes (1-127)")
      }
      return (idle, interval, count)
    }
  }

  func validate() throws { _ = try keepAlive }

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let port = options.port(default: 8080)
    let keepAlive = try self.keepAlive
    // socket, SO_REUSEADDR, bind to every IPv4 interface, listen: one call. IPv4 only,
    // as the C it prints like (with no host, it would be dual-stack: ::ffff:10.78.0.2)
    let listener = try Socket.listen(host: "0.0.0.0", port: port, backlog: 5)
    if let (idle, interval, count) = keepAlive {
      print(
        "listening on port \(port), keepalive: idle \(idle) s, interval \(interval) s, "
          + "\(count) probes")
    } else {
      print("listening on port \(port), keepalive off")
    }
    while true {  // one client at a time: the next waits in the backlog
      let (client, address) = try listener.accept()
      if let (idle, interval, count) = keepAlive {
        try client.enableKeepAlive(idle: .seconds(idle), interval: .seconds(interval), count: count)
      }
      print("connected: \(address.host!)")
      // The bytes do not matter here, only how the connection ends
      do {
        while try !client.receive(upTo: 4096).isEmpty {}
        print("closed by peer")
      } catch {
        print("lost: \(error.reason)")  // a reset, or ETIMEDOUT: the probes went unanswered
      }
    }  // each client's socket closes at the end of its turn, as its last reference goes
  }
}
