// tcp-connect: a client-only example. Every flavor prints the same line and exits with
// the same status for each outcome: connected (to a listener the test holds), refused
// (a free port), timed out (an address in a network namespace of the test's own, whose
// firewall drops the SYNs; root only), another failure and bad input. The swift twin
// makes the C program's calls, as strace sees them.
import Foundation
import KitHarness
import Testing

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@Suite("tcp-connect", .timeLimit(.minutes(2)))
struct TcpConnectTests {
  static let clients = Kit.flavors(having: "tcp-connect-client")

  /// Runs one flavor's client against `host`:`port` (unless `environment` says otherwise)
  /// and waits for it to end.
  static func connect(
    _ flavor: String, host: String = "127.0.0.1", port: UInt16, arguments: [String] = [],
    environment: [String: String] = [:]
  ) async throws -> Output {
    let client = try Running(
      Program(flavor: flavor, name: "tcp-connect-client"), arguments: arguments,
      environment: ["KIT_HOST": host, "KIT_PORT": "\(port)"].merging(environment) { $1 })
    do {
      return try await client.finish()
    } catch {
      _ = try? await client.stop()
      throw error
    }
  }

  @Test("connected: a listener takes the connection", arguments: clients)
  func connected(client: String) async throws {
    let port = Ports.reserve()
    let listener = try Listener(port: port)
    let output = try await Self.connect(client, port: port)
    #expect(output.stdoutText == "connected to 127.0.0.1:\(port)\n")
    #expect(output.stderrText == "")
    #expect(output.termination == .exit(0))
    // The handshake really finished: the connection waits in the listener's queue.
    _ = try await onThread { _ = try listener.accept(within: .seconds(5)) }
  }

  @Test("refused: nothing listens on the port", arguments: clients)
  func refused(client: String) async throws {
    let port = Ports.reserve()  // free, and nothing will listen on it
    // The argument beats KIT_TIMEOUT_MS, whose bad value is then never read.
    let output = try await Self.connect(
      client, port: port, arguments: ["1000"], environment: ["KIT_TIMEOUT_MS": "soon"])
    #expect(output.stdoutText == "refused by 127.0.0.1:\(port)\n")
    #expect(output.stderrText == "")
    #expect(output.termination == .exit(1))
  }

  @Test("another failure is named: a broadcast address is unreachable", arguments: clients)
  func unreachable(client: String) async throws {
    // Linux refuses a TCP connection to a broadcast address in connect itself, before
    // any packet is sent: ENETUNREACH, on any machine, without a network.
    let port = Ports.reserve()
    let output = try await Self.connect(client, host: "255.255.255.255", port: port)
    #expect(
      output.stdoutText == "cannot connect to 255.255.255.255:\(port): Network is unreachable\n")
    #expect(output.stderrText == "")
    #expect(output.termination == .exit(3))
  }

  /// Bad input: the arguments, the environment, and the message every flavor gives
  /// (nil: C's usage line, which ArgumentParser words its own way).
  static let badInput: [([String], [String: String], String?)] = [
    (["abc"], [:], "timeout-ms must be a whole number from 1 to 2147483647, not 'abc'"),
    (["0"], [:], "timeout-ms must be a whole number from 1 to 2147483647, not '0'"),
    (["5ms"], [:], "timeout-ms must be a whole number from 1 to 2147483647, not '5ms'"),
    (
      ["2147483648"], [:],
      "timeout-ms must be a whole number from 1 to 2147483647, not '2147483648'"
    ),
    (
      [], ["KIT_TIMEOUT_MS": "-5"],
      "timeout-ms must be a whole number from 1 to 2147483647, not '-5'"
    ),
    ([], ["KIT_TIMEOUT_MS": ""], "timeout-ms must be a whole number from 1 to 2147483647, not ''"),
    (["5", "6"], [:], nil),
    ([], ["KIT_HOST": "localhost"], "not an IPv4 address: localhost"),
    ([], ["KIT_HOST": "127.1"], "not an IPv4 address: 127.1"),
    ([], ["KIT_HOST": "127.0.0.01"], "not an IPv4 address: 127.0.0.01"),
    ([], ["KIT_HOST": "256.0.0.1"], "not an IPv4 address: 256.0.0.1"),
    ([], ["KIT_HOST": "::1"], "not an IPv4 address: ::1"),
  ]

  @Test("bad input: said on stderr, status 64, nothing tried", arguments: clients)
  func badInput(client: String) async throws {
    let port = Ports.reserve()  // were an input taken, the client would be refused here
    for (arguments, environment, message) in Self.badInput {
      let output = try await Self.connect(
        client, port: port, arguments: arguments, environment: environment)
      let input = "\(arguments) \(environment)"
      #expect(output.stdoutText == "", "\(input)")
      #expect(output.termination == .exit(64), "\(input)")
      if let message {
        // ArgumentParser puts "Error: " before the message and usage lines after it.
        let expected = client == "swift-sockets" ? "Error: \(message)\n" : "\(message)\n"
        #expect(output.stderrText.hasPrefix(expected), "\(input)")
      } else {
        #expect(!output.stderrText.isEmpty, "\(input)")
      }
    }
  }

  @Test(
    "timed out: a host that drops the SYNs, within the deadline",
    .enabled(if: getuid() == 0, "needs root to create a network namespace"), arguments: clients)
  func timedOut(client: String) async throws {
    let port: UInt16 = 9000  // any: nothing listens inside the namespace
    try await IsolatedHost.with { host in
      // Before the firewall rule, the host answers with a reset: the path works.
      let refused = try await Self.connect(client, host: host.address, port: port)
      #expect(refused.stdoutText == "refused by \(host.address):\(port)\n")
      #expect(refused.termination == .exit(1))

      try await host.dropSYNs(to: port)
      for (arguments, environment, deadline) in [
        (["500"], ["KIT_TIMEOUT_MS": "60000"], 500),  // the argument beats the environment
        ([], ["KIT_TIMEOUT_MS": "300"], 300),
      ] {
        // Timed from the client's SYN, as the namespace's end of the pair sees it: the
        // deadline starts at connect, and how long a busy machine takes to start the
        // program is no part of it.
        let syn = try await host.watchSYN(to: port)
        let output: Output
        do {
          output = try await Self.connect(
            client, host: host.address, port: port, arguments: arguments, environment: environment)
        } catch {
          _ = try? await syn.capture.stop()  // no tcpdump left behind in the namespace
          throw error
        }
        let ended = IsolatedHost.SYNWatch.now()
        let took = ended - (try await syn.sentAt())
        #expect(
          output.stdoutText
            == "timed out connecting to \(host.address):\(port) after \(deadline) ms\n")
        #expect(output.stderrText == "")
        #expect(output.termination == .exit(2))
        // Not before the deadline, and soon after it: a blocking connect would wait
        // about two minutes. The margin is for noticing the exit on a busy machine.
        #expect(took >= .milliseconds(deadline), "from the SYN to the exit: \(took)")
        #expect(took < .milliseconds(deadline + 2000), "from the SYN to the exit: \(took)")
      }
    }
  }

  @Test("the swift twin makes the C program's calls, connect to getsockopt")
  func sameCalls() async throws {
    let strace = try Tools.require("strace", package: "strace")
    let port = Ports.reserve()
    let listener = try Listener(port: port)
    var calls: [String: [String]] = [:]
    for flavor in ["c", "swift"] {
      let log = FileManager.default.temporaryDirectory
        .appendingPathComponent("kit-\(port)-\(flavor)-connect.strace").path
      defer { try? FileManager.default.removeItem(atPath: log) }
      // %network alone would miss the two calls this example is about: fcntl and poll.
      let traced = try Running(
        Program(flavor: flavor, name: "tcp-connect-client"),
        environment: ["KIT_HOST": "127.0.0.1", "KIT_PORT": "\(port)"],
        wrapper: [strace, "-f", "-qq", "-e", "trace=%network,fcntl,poll", "-o", log])
      #expect(try await traced.finish().termination == .exit(0))
      calls[flavor] = try SystemCallTests.calls(in: log)
      _ = try await onThread { _ = try listener.accept(within: .seconds(5)) }
    }
    let names = calls["c"]?.map { $0.prefix { $0 != " " } }
    #expect(
      names == ["socket", "fcntl", "fcntl", "connect", "poll", "getsockopt"], "\(calls["c"] ?? [])")
    #expect(calls["swift"] == calls["c"])
  }
}

/// A host of the test's own: a network namespace joined to this one by a veth pair,
/// whose two ends hold the only addresses of a /30 in 10.77.0.0/16 (or another /16 that
/// a test names for itself). The route to it leads into the namespace and nowhere
/// else, so nothing sent there leaves the machine.
struct IsolatedHost {
  let namespace: String
  /// The namespace's end of the pair: the host to connect to.
  let address: String
  /// This end of the pair: where a program in the namespace reaches the test's machine.
  let hostAddress: String
  /// The pair's ends, outside and inside the namespace.
  private let outside: String
  private let inside: String
  private let ip: String
  private let nft: String

  /// Creates the host, runs `body`, and removes the namespace and the veth pair however
  /// `body` ends. A test of its own passes its own `name` (the namespaces' prefix),
  /// `network` (the second number of the /16) and `tag` (the pairs' prefix), so its
  /// namespaces, subnets and links never clash with another test's.
  static func with<T: Sendable>(
    name: String = "kit-connect", network: Int = 77, tag: String = "kc",
    _ body: (IsolatedHost) async throws -> T
  ) async throws -> T {
    let ip = try Tools.require("ip", package: "iproute2")
    let nft = try Tools.require("nft", package: "nftables")
    // The namespace is named after its subnet, and `ip netns add` fails on a name that
    // exists: so parallel tests and runs never share a subnet.
    var taken: [String] = []
    while taken.count < 20 {
      let (third, fourth) = (Int.random(in: 0...255), 4 * Int.random(in: 0...63))
      let suffix = String(format: "%04x", third << 8 | fourth)
      let host = IsolatedHost(
        namespace: "\(name)-\(third)-\(fourth)",
        address: "10.\(network).\(third).\(fourth + 2)",
        hostAddress: "10.\(network).\(third).\(fourth + 1)",
        outside: "\(tag)\(suffix)h", inside: "\(tag)\(suffix)n", ip: ip, nft: nft)
      do {
        try await run([ip, "netns", "add", host.namespace])
      } catch let error where "\(error)".contains("File exists") {
        taken.append(host.namespace)
        continue
      }
      do {
        try await host.join()
        let result = try await body(host)
        try await host.remove()
        return result
      } catch {
        try? await host.remove()
        throw error
      }
    }
    throw HarnessError(description: "every namespace tried exists already: \(taken)")
  }

  /// The veth pair, its addresses, both ends up; then a check that the kernel routes
  /// `address` into the pair, before anything is sent there.
  private func join() async throws {
    try await Self.run([  // the names: at most 15 characters
      ip, "link", "add", outside, "type", "veth", "peer", "name", inside, "netns", namespace,
    ])
    try await Self.run([ip, "address", "add", "\(hostAddress)/30", "dev", outside])
    try await Self.run([ip, "link", "set", outside, "up"])
    try await Self.run([ip, "-n", namespace, "address", "add", "\(address)/30", "dev", inside])
    try await Self.run([ip, "-n", namespace, "link", "set", inside, "up"])
    let route = try await Self.run([ip, "-o", "route", "get", address])
    guard route.hasPrefix("\(address) dev \(outside) ") else {
      throw HarnessError(description: "\(address) is not routed into the namespace: \(route)")
    }
  }

  /// An nftables rule in the namespace that drops every SYN to `port`: the client hears
  /// nothing, as from a host that is down or behind a silent firewall.
  func dropSYNs(to port: UInt16) async throws {
    let rules = """
      table inet kit {
        chain input {
          type filter hook input priority filter; policy accept;
          tcp dport \(port) tcp flags & (syn | ack) == syn drop
        }
      }
      """
    try await Self.run([ip, "netns", "exec", namespace, nft, "-f", "-"], input: rules)
  }

  /// Watches the namespace's end of the pair for the first SYN to `port` (tcpdump, which
  /// stamps each packet as the kernel receives it); ready when this returns.
  func watchSYN(to port: UInt16) async throws -> SYNWatch {
    let tcpdump = try Tools.require("tcpdump", package: "tcpdump")
    let capture = try start([
      tcpdump, "-i", inside, "-n", "-tt", "-l", "--immediate-mode", "-c", "1",
      "tcp dst port \(port) and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
    ])
    do {
      try await capture.wait(for: "listening") { $0.stderrText.contains("listening on") }
    } catch {
      _ = try? await capture.stop()
      throw error
    }
    return SYNWatch(capture: capture)
  }

  /// A running capture of one SYN.
  struct SYNWatch {
    let capture: Running

    /// The wall clock, as the kernel stamps packets with it.
    static func now() -> Duration {
      var time = timespec()
      clock_gettime(CLOCK_REALTIME, &time)
      return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
    }

    /// When the SYN passed, on the wall clock: "1765084206.123456 IP 10.77.1.1.4242 > ...".
    func sentAt() async throws -> Duration {
      let output: Output
      do {
        output = try await capture.finish(within: .seconds(5))
      } catch {
        _ = try? await capture.stop()
        throw HarnessError(description: "no SYN was seen: \(error)")
      }
      let fields = output.stdoutText.split(separator: " ", maxSplits: 1)
      let parts = fields.first?.split(separator: ".") ?? []
      guard output.termination == .exit(0), parts.count == 2, let seconds = Int64(parts[0]),
        let micros = Int64(parts[1])
      else {
        throw HarnessError(
          description: "tcpdump: \(output.stdoutText.debugDescription) \(output.stderrText)")
      }
      return .seconds(seconds) + .microseconds(micros)
    }
  }

  /// Starts `command` inside the namespace.
  func start(_ command: [String]) throws -> Running {
    try Running(command: [ip, "netns", "exec", namespace] + command, label: command[0])
  }

  /// Takes the namespace's end of the pair down, as if its cable were pulled: from then
  /// on nothing goes in or out, and nothing inside can say so.
  func takeLinkDown() async throws {
    try await Self.run([ip, "-n", namespace, "link", "set", inside, "down"])
  }

  /// Deleting the namespace deletes its end of the pair, and with it the other end
  /// (once nothing inside holds the namespace: end what `start` started first).
  func remove() async throws {
    try await Self.run([ip, "netns", "delete", namespace])
  }

  /// Runs a command; its stdout, or an error with its stderr.
  @discardableResult
  private static func run(_ command: [String], input: String = "") async throws -> String {
    let running = try Running(command: command, input: Array(input.utf8))
    let output = try await running.finish()
    guard output.termination == .exit(0) else {
      throw HarnessError(
        description:
          "\(command.joined(separator: " ")): \(output.termination!): \(output.stderrText)")
    }
    return output.stdoutText
  }
}
