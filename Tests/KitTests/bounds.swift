// Descriptor and memory bounds: 10,000 connections, one after another, to each
// event-loop echo server, chat server and http server of every flavor. After a warm-up
// the server's descriptors (/proc/PID/fd) must come back to what they were, and its
// resident memory (VmRSS) grow by less than 512 KiB: a leaked descriptor per
// connection would add 10,000, a leak of 100 bytes per connection about 1 MiB.
import Foundation
import KitHarness
import Testing

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

/// Connections one after another, each doing a little work and then closing with a
/// reset (SO_LINGER 0): no TIME_WAIT is left behind, so tens of thousands of them do
/// not run this machine out of ports.
enum Churn {
  /// What one connection does before it closes.
  enum Work: Sendable {
    case echo  // send a byte, read it back
    case http  // send a GET, read the answer to its end
    case chat  // send a byte, which the room relays to `witness`
  }

  static func run(port: UInt16, count: Int, work: Work, witness: Int32? = nil) throws {
    var buffer = [UInt8](repeating: 0, count: 65536)
    let request: [UInt8] =
      work == .http ? Array("GET /index.html HTTP/1.0\r\n\r\n".utf8) : [0x78]
    for index in 0..<count {
      let fd = try EchoSocket.open(port: port, blocking: true)
      defer {
        var reset = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
        close(fd)
      }
      var limit = timeval(tv_sec: 10, tv_usec: 0)
      _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
      if let witness {
        _ = setsockopt(
          witness, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
      }
      guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else {
        throw HarnessError(
          description: "connection \(index): send: \(String(cString: strerror(errno)))")
      }
      switch work {
      case .echo:
        guard recv(fd, &buffer, 1, 0) == 1, buffer[0] == 0x78 else {
          throw HarnessError(description: "connection \(index): no echo within 10 s")
        }
      case .http:
        var total = 0
        while case let n = recv(fd, &buffer, buffer.count, 0), n > 0 { total += n }
        guard total > 0 else {
          throw HarnessError(description: "connection \(index): no answer within 10 s")
        }
      case .chat:
        guard let witness, recv(witness, &buffer, 1, 0) == 1 else {
          throw HarnessError(
            description: "connection \(index): the room relayed nothing within 10 s")
        }
      }
    }
  }
}

@Suite("bounds", .timeLimit(.minutes(5)))
struct BoundsTests {
  /// The kit's own C and Swift flavors (not the lectures' Python and Java)
  static func flavors(_ name: String) -> [String] {
    Kit.flavors(having: name).filter { ["c", "swift", "swift-sockets"].contains($0) }
  }

  static let servers: [(String, String, Churn.Work)] =
    ["tcp-echo-select-server", "tcp-echo-poll-server", "tcp-echo-epoll-server"].flatMap { name in
      flavors(name).map { ($0, name, Churn.Work.echo) }
    } + flavors("chat-server").map { ($0, "chat-server", .chat) }
    + flavors("http-server").map { ($0, "http-server", .http) }

  static var cases: [String] { servers.map { "\($0.0)/\($0.1)" } }

  @Test("10,000 connections: descriptors and memory stay flat", arguments: cases)
  func flat(_ which: String) async throws {
    let (flavor, name, work) = Self.servers.first { "\($0.0)/\($0.1)" == which }!
    let port = Ports.reserve()
    let arguments =
      name == "http-server" ? [Kit.root.appendingPathComponent("lectures/http-site").path] : []
    try await Running.withServer(
      Program(flavor: flavor, name: name), port: port, arguments: arguments
    ) { server in
      // The chat room's one steady member, which every newcomer's byte reaches
      let witness = work == .chat ? try EchoSocket.open(port: port, blocking: true) : nil
      defer { if let witness { close(witness) } }
      let churn = { (count: Int) in
        try await onThread { try Churn.run(port: port, count: count, work: work, witness: witness) }
      }

      try await churn(1000)  // the warm-up: buffers, arrays and caches at their working size
      // Idle: the listener, the standard three, the witness, a poller: whatever the flavor
      // holds between connections
      let idle = try ProcessStatus.openDescriptors(server.pid)
      let before = try ProcessStatus.residentKiB(server.pid)
      let start = ContinuousClock.now
      try await churn(10_000)
      let took = ContinuousClock.now - start
      // A thread of the http server may close its connection a moment after the client
      try await ProcessStatus.wait(for: "\(which) back to \(idle) descriptors") {
        try ProcessStatus.openDescriptors(server.pid) <= idle
      }
      let grown = try ProcessStatus.residentKiB(server.pid) - before
      #expect(
        grown < 512,
        "\(which): resident memory grew by \(grown) KiB over 10,000 connections (from \(before) KiB)"
      )
      print(
        "bounds: \(which): 10,000 connections in \(took), \(idle) descriptors, RSS \(before) + \(grown) KiB"
      )
    }
  }
}
