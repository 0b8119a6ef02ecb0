// Lab 05, event-loop: the student's echo server, one thread waiting in poll or
// epoll_wait for every client, under load and against clients that misbehave on
// purpose (README.md says what each check means).
import Foundation
import KitHarness

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

extension Lab {
  static let eventLoop = Lab(
    number: "05", name: "event-loop", programs: ["server"],
    checks: [
      EventLoop.echoes, EventLoop.kitPort, EventLoop.manyClients, EventLoop.neverReader,
      EventLoop.halfClose, EventLoop.oneThread, EventLoop.systemCalls,
    ])
}

enum EventLoop {
  /// What a client sends in `echoes`, each named as a hint names it.
  static let messages: [(name: String, bytes: [UInt8])] = [
    ("the line \"hello, server\\n\" (14 bytes)", Array("hello, server\n".utf8)),
    ("1 byte", Array("!".utf8)),
    (
      "64 KiB in one send",
      Array(UnsafeRawBufferPointer(start: EchoPattern.at(stream: 5, offset: 0), count: 65536))
    ),
  ]

  /// One client, three messages, each echoed whole before the next; then a second
  /// client, once the first has gone.
  static let echoes = Check(
    "echoes", "a client sends 14 B, 1 B, 64 KiB, each echoed; then a second client",
    needs: ["server"]
  ) { solution in
    let port = Ports.reserve()
    try await serving(solution, port: port) { _ in
      try await onThread {
        for client in ["a client", "a second client, after the first had closed"] {
          let connection = try RawConnection(port: port)
          defer { connection.close() }
          for (index, message) in messages.enumerated() {
            let who =
              index == 0 ? client : "\(client), once \(messages[index - 1].name) had come back,"
            guard try connection.send(message.bytes) else {
              throw CheckFailed(
                "\(who) could not send \(message.name): your server had closed the connection"
                  + (index > 0 ? "\(streamNote)." : "."))
            }
            try expectEcho(of: message, on: connection, by: who)
          }
        }
      }
    }
  }

  /// Two servers at once, each on the port its KIT_PORT names.
  static let kitPort = Check(
    "uses-kit-port", "two servers at once, each on its own KIT_PORT: both echo",
    needs: ["server"]
  ) { solution in
    let ports = [Ports.reserve(), Ports.reserve()]
    try await serving(solution, port: ports[0]) { _ in
      try await serving(solution, port: ports[1]) { _ in
        try await onThread {
          for port in ports {
            let connection = try RawConnection(port: port)
            defer { connection.close() }
            _ = try connection.send(messages[0].bytes)
            try expectEcho(of: messages[0], on: connection, by: "a client of port \(port)")
          }
        }
      }
    }
  }

  /// 500 clients at once, each streaming mixed messages while it reads its echo.
  static let manyClients = Check(
    "500-clients", "500 clients at once, 100 messages of 1 B to 64 KiB each: all echoed",
    needs: ["server"], limit: .seconds(90)
  ) { solution in
    EchoSocket.raiseDescriptorLimit()  // 500 sockets here, and 500 in the server
    let port = Ports.reserve()
    try await serving(solution, port: port) { _ in
      do {
        _ = try await onThread {
          try EchoLoad.run(port: port, connections: 500, sizes: mixed(100), within: .seconds(60))
        }
      } catch let error as HarnessError {
        throw CheckFailed(
          """
          500 clients connected at once, each sending 100 messages (1 byte to 64 KiB) \
          while it read its echo; every byte must come back, in order, on its own \
          connection, within 60 s:
            \(error)
          \(advice(for: error))
          """)
      }
    }
  }

  /// A client that sends without reading must not hold up the others, and gets every
  /// byte back once it reads.
  static let neverReader = Check(
    "never-reader", "a client that never reads: 8 others are served, then it gets all its echo",
    needs: ["server"], limit: .seconds(60)
  ) { solution in
    let port = Ports.reserve()
    try await serving(solution, port: port) { _ in
      let hog = try EchoPeer(port: port, stream: 7)
      defer { hog.close() }
      do {
        // Up to 64 MiB, or until the server stops taking more: then it owes echo that
        // the kernel cannot take, and it may stop reading this client.
        _ = try await onThread {
          try hog.sendUntilStalled(limit: 64 << 20, quiet: .milliseconds(500))
        }
      } catch let error as HarnessError {
        throw CheckFailed(
          """
          a client sending without reading its echo got, after \(hog.sent) bytes:
            \(error)
          \(advice(for: error))
          """)
      }
      do {
        _ = try await onThread {
          try EchoLoad.run(port: port, connections: 8, sizes: mixed(20), within: .seconds(10))
        }
      } catch let error as HarnessError {
        let stuck = """
          Is your server stuck in send? On a blocking socket send waits until that \
          client reads, and the whole loop waits with it. Make every client socket \
          non-blocking (O_NONBLOCK), keep what send does not take, and send it when \
          poll says the socket is writable.
          """
        throw CheckFailed(
          """
          one client sent \(hog.sent) bytes and read none of its echo. Then 8 other \
          clients, served at the same time, failed:
            \(error)
          \("\(error)".contains("time was up") ? stuck : advice(for: error))
          """)
      }
      do {
        try await onThread { try hog.receiveEcho(within: .seconds(15)) }
      } catch let error as HarnessError {
        throw CheckFailed(
          """
          the client that had not read began to read: it sent \(hog.sent) bytes and \
          expects them all back, in order, within 15 s. The first \(hog.received) were \
          right, then:
            \(error)
          send may take fewer bytes than it is given (or none: -1 with EAGAIN), and \
          returns how many it took. Keep the rest, and send it first when poll says the \
          socket is writable again.
          """)
      }
    }
  }

  /// A half-close is not a close: the rest of the echo, then end of stream.
  static let halfClose = Check(
    "half-close", "a client shuts down its sending side: all its echo, then end of stream",
    needs: ["server"], limit: .seconds(60)
  ) { solution in
    let port = Ports.reserve()
    try await serving(solution, port: port) { _ in
      // 768 KiB through a narrow connection, then shutdown(SHUT_WR) before reading any:
      // when the server reads end of stream, it still owes most of the echo.
      let peer = try NarrowPeer(port: port)
      defer { peer.close() }
      do {
        try await onThread {
          try peer.sendUntilStalled(limit: 768 << 10, quiet: .seconds(2))
          peer.shutdownWrite()
        }
      } catch let error as HarnessError {
        throw CheckFailed(
          """
          a client sending 768 KiB before reading its echo got, after \(peer.sent) bytes:
            \(error)
          \(advice(for: error))
          """)
      }
      do {
        try await onThread { try peer.receiveEcho(within: .seconds(20)) }
      } catch let error as HarnessError {
        throw CheckFailed(
          """
          a client sent \(peer.sent) bytes, shut down its sending side (shutdown(SHUT_WR)) \
          and read. It got \(peer.received) of them back, then:
            \(error)
          \("\(error)".contains("end of stream") ? halfClosed : advice(for: error))
          """)
      }
      do {
        try await onThread { try peer.expectEndOfStream(within: .seconds(10)) }
      } catch let error as HarnessError {
        throw CheckFailed(
          """
          a client sent \(peer.sent) bytes, shut down its sending side and got them all \
          back. Then it waited 10 s for end of stream (your close):
            \(error)
          Once recv has returned 0 and nothing more is owed, close the socket.
          """)
      }
      do {
        _ = try await onThread {
          try EchoLoad.run(
            port: port, connections: 4, sizes: mixed(50), halfClose: true, within: .seconds(20))
        }
      } catch let error as HarnessError {
        throw CheckFailed(
          """
          4 clients at once, each reading while it sent and shutting down its sending side \
          after its last byte, expected all their echo, then end of stream:
            \(error)
          \(advice(for: error))
          """)
      }
    }
  }

  /// One thread throughout: at start, with 20 clients being served, and under load.
  static let oneThread = Check(
    "one-thread", "Threads: 1 in /proc at start, with 20 clients, and under load",
    needs: ["server"]
  ) { solution in
    let port = Ports.reserve()
    try await serving(solution, port: port) { server in
      let pid = server.pid
      try expectOneThread(pid, "before any client")
      // Each of 20 clients gets its echo, so the server has all 20; they stay connected.
      var clients: [EchoPeer] = []
      defer { for client in clients { client.close() } }
      for index in 0..<20 {
        let client = try EchoPeer(port: port, stream: index)
        clients.append(client)
        do {
          try await onThread {
            _ = try client.sendUntilStalled(limit: 1000, quiet: .milliseconds(500))
            try client.receiveEcho(within: .seconds(10))
          }
        } catch let error as HarnessError {
          throw CheckFailed(
            """
            this check counts your server's threads while it serves 20 clients, but client \
            \(index + 1) did not get its 1000 bytes back: \(error)
            """)
        }
      }
      try expectOneThread(pid, "with 20 clients connected, each echoed")
      // Then every 5 ms while 50 more stream. How well they are served is for the
      // other checks to say; here they only keep the server busy.
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          _ = try? await onThread {
            try EchoLoad.run(port: port, connections: 50, sizes: mixed(20), within: .seconds(20))
          }
        }
        group.addTask {
          while !Task.isCancelled {
            try expectOneThread(pid, "while 50 clients streamed")
            try await Task.sleep(for: .milliseconds(5))  // allowed: the interval between readings
          }
        }
        _ = try await group.next()  // the load is over (or a reading failed)
        group.cancelAll()
      }
    }
  }

  /// What strace sees: waits in poll or epoll, no select, no new thread or process.
  static let systemCalls = Check(
    "system-calls", "under strace: waits in poll or epoll_wait; never select, clone or fork",
    needs: ["server"]
  ) { solution in
    let port = Ports.reserve()
    let log = FileManager.default.temporaryDirectory
      .appendingPathComponent("kit-lab05-\(getpid())-\(port).strace").path
    defer { try? FileManager.default.removeItem(atPath: log) }
    let waits: Set = ["poll", "ppoll", "epoll_wait", "epoll_pwait", "epoll_pwait2"]
    let banned: Set = ["select", "_newselect", "pselect6", "clone", "clone3", "fork", "vfork"]
    // A pattern, not a list: strace rejects a name that this machine has no call for
    // (select on arm64), where a pattern just matches nothing.
    let pattern = waits.union(banned).sorted().joined(separator: "|")
    let tracer: String
    do {
      tracer = try Tools.require("strace", package: "strace")
    } catch {
      throw CheckFailed("this check runs your server under strace: \(error)")
    }
    let strace = [tracer, "-f", "-qq", "-o", log, "-e", "trace=/^(\(pattern))$"]
    let server: Running
    do {
      server = try await Running.server(
        solution.program("server"), port: port, wrapper: strace, within: .seconds(10))
    } catch {
      throw CheckFailed(
        """
        under strace, your server did not listen on port \(port) within 10 s:
          \(error)
        (if strace itself failed, it may not be allowed to trace here: ptrace)
        """)
    }
    // 20 clients to serve: how well is for the other checks to say.
    var trouble: (any Error)?
    do {
      _ = try await onThread {
        try EchoLoad.run(
          port: port, connections: 20, sizes: mixed(10), halfClose: true, within: .seconds(20))
      }
    } catch {
      trouble = error
    }
    // SIGTERM to strace and the server: strace writes out its last lines. A server that
    // outlives it (it handles SIGTERM) goes with SIGKILL.
    if (try? await server.stop(signal: SIGTERM)) == nil { _ = try? await server.stop() }
    // "1234  epoll_wait(4, ...": the pid, then the call's name.
    let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
      line in
      (name: String(line.drop { $0.isNumber || $0 == " " }.prefix { $0 != "(" }), line: line)
    }
    let bad = calls.filter { banned.contains($0.name) }
    guard bad.isEmpty else {
      let names = Set(bad.map(\.name)).sorted()
      let lines = bad.prefix(3).map {
        $0.line.count > 90 ? "\($0.line.prefix(90))...\n" : "\($0.line)\n"
      }
      var why: [String] = []
      if names.contains(where: { $0.contains("select") }) {
        why.append("select watches only descriptors below FD_SETSIZE (1024)")
      }
      if names.contains(where: { !$0.contains("select") }) {
        why.append(
          "\(names.filter { !$0.contains("select") }.joined(separator: ", ")) starts a thread or a process"
        )
      }
      throw CheckFailed(
        """
        while 20 clients were served, your server called \(names.joined(separator: ", ")):
        \(shown(lines.joined()))
          \(why.joined(separator: "; ")). The lab asks for one thread that waits in poll \
        or epoll.
        """)
    }
    guard calls.contains(where: { waits.contains($0.name) }) else {
      var hint = """
        while 20 clients were served, your server never called poll, ppoll, epoll_wait or \
        epoll_pwait. Where does it wait? A blocking accept or recv serves one client at a \
        time.
        """
      if let trouble { hint += "\n  (The clients: \(trouble))" }
      throw CheckFailed(hint)
    }
  }
}

// MARK: - Helpers

extension EventLoop {
  /// Message sizes for connection `index`, the same on every run.
  static func mixed(_ count: Int) -> @Sendable (Int) -> [Int] {
    { index in
      var sizes = MessageSizes(seed: index)
      return sizes.mixed(count: count)
    }
  }

  /// Starts the student's server, runs `body`, and stops the server however that went.
  /// A failure says so when the server had ended meanwhile: a crash explains the rest.
  static func serving<T: Sendable>(
    _ solution: Solution, port: UInt16, _ body: (Running) async throws -> T
  ) async throws -> T {
    let server = try await startServer(solution.program("server"), port: port)
    let result: T
    do {
      result = try await body(server)
    } catch {
      let seen = server.output
      _ = try? await server.stop()
      throw CheckFailed("\(error)" + ended(seen))
    }
    let seen = server.output
    _ = try? await server.stop()
    if seen.termination != nil {
      throw CheckFailed("a server must serve until it is stopped." + ended(seen))
    }
    return result
  }

  /// What a hint adds when the server has ended: how, and what it said.
  static func ended(_ output: Output) -> String {
    guard let termination = output.termination else { return "" }
    return "\n  Your server had ended: \(termination)."
      + (output.stderrText.isEmpty ? "" : " Its stderr:\n\(shown(output.stderrText))")
  }

  /// For a server that closes after the first message, as lab 01's did.
  static let streamNote =
    " (TCP carries a stream, not messages: a client may send again and again on one "
    + "connection, and the server closes only once recv has returned 0)"

  static let halfClosed = """
    recv returning 0 means the client sends no more, not that it stopped reading: send \
    it everything still owed, then close.
    """

  /// What a load peer's failure most likely means, in the terms of the lecture's rules.
  static func advice(for error: any Error) -> String {
    let text = "\(error)"
    let closing = "close a connection only once recv has returned 0 and every byte owed is sent"
    let backlog =
      "(If your server had not accepted that client yet: its listen backlog overflowed. "
      + "listen(fd, SOMAXCONN), and accept until EAGAIN each time.)"
    if text.contains("reset by peer") || text.contains("Broken pipe") {
      return "Your server reset the connection (it closed it with bytes unread, or it "
        + "ended): \(closing)."
        + (text.contains("after 0 of") ? " \(backlog)" : "")
    }
    if text.contains("end of stream after") {
      return "Your server closed a connection before its client was done: \(closing)."
    }
    if text.contains("is wrong") || text.contains("differs") || text.contains("were sent")
      || text.contains("more than was sent")
    {
      return "Each client's echo is its own bytes in the order they came: what send did "
        + "not take is kept, and sent before anything newer."
        + (text.contains("byte 0 of") ? " \(backlog)" : "")
    }
    if text.contains("connect") {
      return "A client could not connect. \(backlog)"
    }
    return "Echo that never comes: is every client socket watched, every waiting client "
      + "accepted, and what send did not take sent when the socket is writable?"
  }

  /// Reads the echo of `message`, failing with what came instead.
  static func expectEcho(
    of message: (name: String, bytes: [UInt8]), on connection: RawConnection, by client: String
  ) throws {
    var back: [UInt8] = []
    var end = "your server closed the connection"
    while back.count < message.bytes.count {
      do {
        let chunk = try connection.receiveOnce(upTo: message.bytes.count - back.count)
        if chunk.isEmpty { break }
        back += chunk
      } catch {
        end = "\(error)"
        break
      }
    }
    guard back != message.bytes else { return }
    if back.isEmpty && client.contains("had come back") { end += streamNote }
    var hint =
      back.count < message.bytes.count
      ? "\(client) sent \(message.name) and got \(back.count) bytes back, then \(end)."
      : "\(client) sent \(message.name) and got other bytes back."
    if message.bytes.count < 100 {
      hint +=
        "\n  expected:\n\(shown(String(decoding: message.bytes, as: UTF8.self)))"
        + "\n  got:\n\(shown(String(decoding: back, as: UTF8.self)))"
    } else if back.count == message.bytes.count {
      hint += " The first wrong one is byte \(zip(back, message.bytes).prefix { $0 == $1 }.count)."
    }
    throw CheckFailed(hint)
  }

  /// Fails unless /proc/<pid>/status says Threads: 1.
  static func expectOneThread(_ pid: pid_t, _ when: String) throws {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") } ?? ""
    let count = line.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)
    guard count == "1" else {
      throw CheckFailed(
        """
        your server ran \(count) threads \(when) (Threads: in /proc/\(pid)/status). An \
        event loop serves every client from the one thread that waits in poll or \
        epoll_wait: no pthread_create, no thread per client, no pool.
        """)
    }
  }
}

/// A client whose echo comes back through a narrow pipe: small segments (TCP_MAXSEG)
/// and a small receive buffer, both set before it connects. Linux sizes a socket's
/// send buffer by its segments, so the server's socket to this client holds little,
/// and what the client sends before reading stays in the server's own memory. Used by
/// one thread at a time.
private final class NarrowPeer: @unchecked Sendable {
  private var fd: Int32
  private(set) var sent = 0
  private(set) var received = 0
  private let stream = 11

  init(port: UInt16) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var segment: Int32 = 536
    var buffer: Int32 = 4096
    let size = socklen_t(MemoryLayout<Int32>.size)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    let connected =
      fd >= 0 && setsockopt(fd, Int32(IPPROTO_TCP), TCP_MAXSEG, &segment, size) == 0
      && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, size) == 0
      && withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
      }
    guard connected else {
      let reason = String(cString: strerror(errno))
      if fd >= 0 { Glibc.close(fd) }
      throw HarnessError(description: "narrow client: connect to port \(port): \(reason)")
    }
    EchoSocket.setNonBlocking(fd)
  }

  deinit { close() }

  /// Sends pattern bytes without reading, until `limit` are gone or the server has
  /// taken none for `quiet` (it stopped reading: allowed while it owes us echo).
  func sendUntilStalled(limit: Int, quiet: Duration) throws {
    while sent < limit {
      let n = send(
        fd, EchoPattern.at(stream: stream, offset: sent), min(limit - sent, 65536),
        Int32(MSG_NOSIGNAL))
      if n > 0 {
        sent += n
      } else if errno == EAGAIN || errno == EINTR {
        // allowed: no event says "the server stopped reading"; a quiet spell does
        if !wait(for: POLLOUT, until: .now + quiet) { return }
      } else {
        throw HarnessError(description: "send after \(sent) bytes: \(reason())")
      }
    }
  }

  func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

  /// Reads until every byte sent has come back, checking each.
  func receiveEcho(within limit: Duration) throws {
    let deadline = ContinuousClock.now + limit
    let chunk = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 16)
    defer { chunk.deallocate() }
    while received < sent {
      let n = recv(fd, chunk, min(65536, sent - received), 0)
      if n > 0 {
        let expected = EchoPattern.at(stream: stream, offset: received)
        if memcmp(chunk, expected, n) != 0 {
          let bad = (0..<n).first {
            chunk.load(fromByteOffset: $0, as: UInt8.self)
              != expected.load(fromByteOffset: $0, as: UInt8.self)
          }!
          throw HarnessError(description: "byte \(received + bad) of the echo is wrong")
        }
        received += n
      } else if n == 0 {
        throw HarnessError(description: "end of stream after \(received) of \(sent) bytes")
      } else if errno != EAGAIN && errno != EINTR {
        throw HarnessError(description: "recv after \(received) of \(sent) bytes: \(reason())")
      } else if !wait(for: POLLIN, until: deadline) {
        throw HarnessError(
          description: "\(received) of \(sent) bytes came back, then nothing more in time")
      }
    }
  }

  /// Expects end of stream: no byte more, no reset.
  func expectEndOfStream(within limit: Duration) throws {
    let deadline = ContinuousClock.now + limit
    var byte: UInt8 = 0
    while true {
      let n = recv(fd, &byte, 1, 0)
      if n == 0 { return }
      if n > 0 { throw HarnessError(description: "a byte more than was sent came back") }
      if errno != EAGAIN && errno != EINTR {
        throw HarnessError(description: "recv: \(reason()), where end of stream was due")
      }
      if !wait(for: POLLIN, until: deadline) {
        throw HarnessError(description: "the connection stayed open")
      }
    }
  }

  func close() {
    if fd >= 0 { Glibc.close(fd) }
    fd = -1
  }

  /// Whether `events` came before `deadline`.
  private func wait(for events: Int32, until deadline: ContinuousClock.Instant) -> Bool {
    var entry = pollfd(fd: fd, events: Int16(events), revents: 0)
    while milliseconds(until: deadline) > 0 {
      let ready = poll(&entry, 1, milliseconds(until: deadline))
      if ready > 0 { return true }
      if ready == 0 || errno != EINTR { return false }
    }
    return false
  }

  private func reason() -> String { String(cString: strerror(errno)) }
}
