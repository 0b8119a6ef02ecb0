// Lab 04, concurrent: the student's tcp-capitalize server with many clients at once,
// played by the check itself over real sockets: lines in pieces, clients that say
// nothing, clients that vanish mid-line, 200 clients in a row; then /proc tells what
// the server left behind (README.md says what each check means).
import Foundation
import KitHarness

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

extension Lab {
  static let concurrent = Lab(
    number: "04", name: "concurrent", programs: ["server"],
    checks: [
      Concurrent.kitPort, Concurrent.severalLines, Concurrent.linesAcrossWrites,
      Concurrent.silentClients, Concurrent.closesMidLine, Concurrent.resetsMidLine,
      Concurrent.noZombies, Concurrent.noLeaks,
    ])
}

enum Concurrent {
  /// Bounds, generous: a correct server answers in milliseconds, but the grader may
  /// share two cores with a class's worth of other work.
  static let answerWithin: Duration = .seconds(10)
  static let settleWithin: Duration = .seconds(10)
  /// Twice the cores at least: a pool of one thread per core (Swift's tasks) must not
  /// hide behind the number.
  static let silentCount = max(50, 2 * ProcessInfo.processInfo.activeProcessorCount)
  static let vanishing = 10
  static let sequential = 200

  static let kitPort = Check(
    "uses-kit-port", "two servers at once, each on its own KIT_PORT, both answer",
    needs: ["server"]
  ) { solution in
    try await withServer(solution) { _, first in
      try await withServer(solution) { _, second in
        try await onThread {
          for (port, line) in [(first, "port one\n"), (second, "port two\n")] {
            try Peer(port: port).ask(line, "a client of the server on KIT_PORT=\(port)")
          }
        }
      }
    }
  }

  static let severalLines = Check(
    "several-lines", "one connection, five lines, each answered upper-cased in turn",
    needs: ["server"]
  ) { solution in
    try await withServer(solution) { _, port in
      try await onThread {
        let peer = try Peer(port: port)
        let lines = [
          "hello\n", "Hello, World! 42\n", "\n", "ALREADY LOUD, now quiet?\n", "tab\there  \n",
        ]
        for (number, line) in lines.enumerated() {
          try peer.ask(
            line,
            "line \(number + 1) of \(lines.count) on one connection (each sent once the one before was answered)",
            advice: "Keep reading lines until the client closes, answering each.")
        }
      }
    }
  }

  static let linesAcrossWrites = Check(
    "lines-across-writes", "a line in three writes answered once, two lines in one write",
    needs: ["server"]
  ) { solution in
    try await withServer(solution) { _, port in
      try await onThread {
        let peer = try Peer(port: port)
        let advice =
          "A recv returns whatever has arrived, not a line: keep the bytes until their \"\\n\" comes."
        let pieces = ["hel", "lo wor", "ld\n"]
        var sent = ""
        for piece in pieces.dropLast() {
          try peer.send(piece)
          try peer.waitUntilServerRead(piece)
          sent += piece
          // allowed: a window in which a correct server stays silent (it has no "\n")
          let early = peer.receive(lines: 1, within: .milliseconds(piece == "hel" ? 1000 : 0))
          guard early.bytes.isEmpty else {
            throw CheckFailed(
              "your server answered before the line was complete: it had read \(sent.debugDescription), no \"\\n\" yet.\n  got:\n\(shown(early.text))\n  \(advice)"
            )
          }
        }
        try peer.ask(
          pieces.last!,
          "\"hello world\\n\" came in three writes (\"hel\", \"lo wor\", \"ld\\n\"), each read by your server before the next was sent",
          expected: "HELLO WORLD\n", advice: advice)
        try peer.ask(
          "two\nlines\n", "two lines came in one write", advice: advice)
      }
    }
  }

  static let taskAside =
    " (In Swift, not a Task that blocks in recv: tasks share a few threads, one per core.)"

  static let silentClients = Check(
    "silent-clients",
    "\(silentCount) clients that send nothing, held open: a new client is still answered",
    needs: ["server"], limit: .seconds(120)
  ) { solution in
    try await withServer(solution) { _, port in
      try await onThread {
        var silent = [try Peer(port: port)]
        try Peer(port: port).ask(
          "are you there?\n",
          "a first client is connected and has sent nothing; a second one sent a line",
          advice:
            "Your server seems to serve one client at a time, waiting in recv for the silent one. Serve each connection in a process (fork) or a thread of its own.\(taskAside)"
        )
        while silent.count < silentCount {
          do {
            silent.append(try Peer(port: port))
          } catch {
            throw CheckFailed(
              "with \(silent.count) clients connected and silent, one more could not connect: \(error)\n  Does your server stop accepting after a few clients (a fixed pool)?"
            )
          }
        }
        try Peer(port: port).ask(
          "anyone home?\n",
          "\(silentCount) clients are connected and have sent nothing; a new one sent a line",
          advice:
            "Each silent client must hold only its own process or thread.\(taskAside)"
        )
        for (number, peer) in [(1, silent[0]), (silentCount, silent[silentCount - 1])] {
          try peer.ask(
            "i was only thinking\n", "silent client \(number) of \(silentCount) spoke at last",
            advice: "A client that is slow to speak is still a client: keep its connection.")
        }
      }
    }
  }

  static let closesMidLine = Check(
    "client-closes-mid-line",
    "\(vanishing) clients send half a line and close: the server closes its side too",
    needs: ["server"], limit: .seconds(90)
  ) { solution in
    try await withServer(solution) { _, port in
      try await vanishMidLine(port, "closed mid-line") { peer, number in
        // shutdown, not close: the server sees end of stream as for close, and this
        // end can still see the server close (what it sends first is not graded)
        peer.finishSending()
        let reply = peer.receive(lines: Int.max, within: answerWithin)
        guard reply.end == .closed || reply.end == .reset else {
          throw CheckFailed(
            """
            client \(number) sent "half a li" and closed its side; your server did not close \
            the connection within \(answerWithin): the client never sees it end.
              got meanwhile:
            \(shown(reply.text))
              When recv returns 0, close the connection, also with half a line in the \
            buffer. (A fork server: the parent must close its copy too, or the connection \
            stays open after the child's close.)
            """)
        }
      }
    }
  }

  static let resetsMidLine = Check(
    "client-resets-mid-line",
    "\(vanishing) clients send half a line and reset: the server lives on and frees them",
    needs: ["server"], limit: .seconds(90)
  ) { solution in
    try await withServer(solution) { server, port in
      let before = try await warmedUp(server, port)
      try await vanishMidLine(port, "reset its connection mid-line") { peer, _ in
        peer.reset()
      }
      try await expectReleased(
        server, since: before,
        after: "\(vanishing) clients each sent half a line and reset (recv fails with ECONNRESET)",
        advice:
          "Close the connection on every way out (recv returns 0, recv fails, send fails); in a fork server the parent closes its copy at once."
      )
    }
  }

  static let noZombies = Check(
    "no-zombies", "after \(sequential) clients one after another: no child processes left",
    needs: ["server"], limit: .seconds(90)
  ) { solution in
    try await withServer(solution) { server, port in
      try await serveInTurn(port)
      let pid = server.pid
      do {
        try await ProcessStatus.wait(for: "children gone", within: settleWithin) {
          children(of: pid).isEmpty
        }
      } catch {
        let left = children(of: pid)
        let zombies = left.filter { $0.state == "Z" }.count
        var hint =
          "\(sequential) clients came and went one after another; \(settleWithin) later your server still had \(left.count) child processes."
        if zombies > 0 {
          hint +=
            "\n  \(zombies) of them are zombies (state Z in /proc): exited, never waited for. Reap each child as it exits: a SIGCHLD handler that loops on waitpid(-1, NULL, WNOHANG), or SIGCHLD ignored."
        }
        if left.count > zombies {
          hint +=
            "\n  \(left.count - zombies) of them still run: does a child exit once its client has closed?"
        }
        throw CheckFailed(hint)
      }
    }
  }

  static let noLeaks = Check(
    "no-leaks", "after \(sequential) clients one after another: descriptors and threads back",
    needs: ["server"], limit: .seconds(90)
  ) { solution in
    try await withServer(solution) { server, port in
      let before = try await warmedUp(server, port)
      try await serveInTurn(port)
      try await expectReleased(
        server, since: before,
        after:
          "\(sequential) clients came and went one after another, each closing after its answer",
        advice:
          "Close each connection once its client has gone (in a fork server the parent closes its copy at once), and let each thread end."
      )
    }
  }
}

// MARK: - Steps the checks share

extension Concurrent {
  /// Starts the student's server on a port of its own, runs `body`, and stops the
  /// server however `body` ends. A failure says too whether the server had ended.
  fileprivate static func withServer(
    _ solution: Solution, _ body: (Running, UInt16) async throws -> Void
  ) async throws {
    let port = Ports.reserve()
    let server = try await startServer(solution.program("server"), port: port)
    do {
      try await body(server, port)
      if let end = server.output.termination {
        throw CheckFailed("your server ended (\(end)) before the check was done.")
      }
    } catch let failure as CheckFailed {
      // Did it fail because the server died? Its end is noticed within milliseconds.
      // (Not isFinished: a fork server's children may still hold its output pipes.)
      let seen = try? await server.wait(for: "its end", within: .seconds(1)) {
        $0.termination != nil
      }
      _ = try? await server.stop()
      guard let seen, let end = seen.termination else { throw failure }
      let why =
        end == .signal(SIGPIPE)
        ? ": SIGPIPE, a send to a client that had reset; send with MSG_NOSIGNAL, or ignore SIGPIPE"
        : ""
      throw CheckFailed(
        "\(failure)\n  Your server had ended (\(end))\(why).\n  its stderr:\n\(shown(seen.stderrText))"
      )
    } catch {
      _ = try? await server.stop()
      throw error
    }
    _ = try await server.stop()
  }

  /// `vanishing` times: a client sends half a line and, once the server has read it,
  /// `vanishes` (closes or resets); then a new client must be answered, for the one
  /// before it, whatever it did, must hurt no one else.
  fileprivate static func vanishMidLine(
    _ port: UInt16, _ what: String, vanishes: @escaping @Sendable (Peer, Int) throws -> Void
  ) async throws {
    let advice = "One client's end must end only its own connection: no exit() in a thread."
    for number in 1...vanishing {
      do {
        try await onThread {
          let peer = try Peer(port: port)
          try peer.send("half a li")
          try peer.waitUntilServerRead("half a li")
          try vanishes(peer, number)
        }
      } catch {
        // The server may have ended over an earlier client only now (its thread saw
        // that client's end after the next one was served): the advice still holds.
        throw CheckFailed("client \(number) of \(vanishing): \(error)\n  \(advice)")
      }
      try await onThread {
        let next: Peer
        do {
          next = try Peer(port: port)
        } catch {
          throw CheckFailed(
            "client \(number) \(what); then a new client came: \(error)\n  \(advice)")
        }
        try next.ask(
          "next please\n", "client \(number) \(what); then a new client sent a line",
          advice: advice)
      }
    }
  }

  /// One client answered and gone, so that whatever the server sets up on first use
  /// is there; then its descriptors and threads, the baseline.
  fileprivate static func warmedUp(_ server: Running, _ port: UInt16) async throws -> Footprint {
    try await onThread { try Peer(port: port).ask("warm up\n", "a first client") }
    return try Footprint(server.pid)
  }

  /// `sequential` clients, each connecting, sending a line, reading its answer and
  /// closing before the next one starts.
  fileprivate static func serveInTurn(_ port: UInt16) async throws {
    try await onThread {
      for number in 1...sequential {
        try Peer(port: port).ask(
          "client \(number) of \(sequential) says hi\n",
          "client \(number) of \(sequential), one after another")
      }
    }
  }

  /// Waits until the server holds no more descriptors and threads than `before`
  /// (within a small slack), and fails with what it holds when it does not.
  fileprivate static func expectReleased(
    _ server: Running, since before: Footprint, after what: String, advice: String
  ) async throws {
    // The baseline may count the warm-up client's descriptor and thread, if they had
    // not gone yet; a runtime may open a few more under load, or grow a thread pool.
    let slack = Footprint(descriptors: 3, threads: ProcessInfo.processInfo.activeProcessorCount + 4)
    let pid = server.pid
    do {
      try await ProcessStatus.wait(for: "release", within: settleWithin) {
        let now = try Footprint(pid)
        return now.descriptors <= before.descriptors + slack.descriptors
          && now.threads <= before.threads + slack.threads
      }
    } catch {
      guard let now = try? Footprint(pid) else {
        throw CheckFailed("\(what), your server ended.")
      }
      var held: [String] = []
      if now.descriptors > before.descriptors + slack.descriptors {
        held.append("\(now.descriptors) open descriptors (\(before.descriptors) before)")
      }
      if now.threads > before.threads + slack.threads {
        held.append("\(now.threads) threads (\(before.threads) before)")
      }
      throw CheckFailed(
        """
        \(what); \(settleWithin) later your server had \(held.joined(separator: " and ")), \
        as /proc/\(pid) shows.
          \(advice)
        """)
    }
  }
}

// MARK: - What /proc tells about the server

/// A process's open descriptors and threads.
private struct Footprint: Sendable {
  let descriptors: Int
  let threads: Int

  init(descriptors: Int, threads: Int) {
    self.descriptors = descriptors
    self.threads = threads
  }

  init(_ pid: pid_t) throws {
    descriptors = try ProcessStatus.openDescriptors(pid)
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Threads:") }),
      let count = Int(line.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces))
    else { throw HarnessError(description: "no thread count in /proc/\(pid)/status") }
    threads = count
  }
}

/// The children of `pid`, alive or zombie, with their state letter from /proc/<pid>/stat.
private func children(of pid: pid_t) -> [(pid: Int32, state: Substring)] {
  let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
  return entries.compactMap { entry in
    guard let child = Int32(entry),
      let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
      let name = stat.lastIndex(of: ")")  // the name in parentheses may hold spaces
    else { return nil }
    // After the name: the state (field 3), then the parent's pid (field 4).
    let fields = stat[stat.index(after: name)...].split(separator: " ")
    guard fields.count > 1, fields[1] == "\(pid)" else { return nil }
    return (child, fields[0])
  }
}

// MARK: - A client the check plays

/// One connection to the student's server, driven line by line. Every call blocks
/// its thread (checks run them through `onThread`), and every wait is bounded.
/// Used by one thread at a time.
private final class Peer: @unchecked Sendable {
  private var fd: Int32
  private let serverPort: UInt16
  /// This end's port: what the server's side of the connection has as remote port.
  private let localPort: UInt16

  /// How a receive ended.
  enum End { case lines, closed, reset, quiet }

  struct Reply {
    var bytes: [UInt8] = []
    var end = End.quiet
    var text: String { String(decoding: bytes, as: UTF8.self) }
  }

  /// Connects to 127.0.0.1:port within `limit`: a server that stops accepting lets
  /// its listen queue fill, and then the kernel ignores new connections instead of
  /// refusing them, so a plain connect would wait for minutes.
  init(port: UInt16, within limit: Duration = .seconds(10)) throws {
    let fd: Int32
    do {
      fd = try EchoSocket.open(port: port, blocking: false)
    } catch {
      throw CheckFailed("a client could not connect to your server: \(error).")
    }
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    let connected = Peer.wait(fd, for: POLLOUT, until: .now + limit)
    let error = connected ? EchoSocket.pendingError(fd) : ETIMEDOUT
    guard named == 0, error == 0 else {
      Glibc.close(fd)
      throw CheckFailed(
        error == ETIMEDOUT
          ? "a client could not connect to your server (port \(port)) within \(limit): it accepts no more connections."
          : "a client could not connect to your server (port \(port)): \(String(cString: strerror(error)))."
      )
    }
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
    var patience = timeval(tv_sec: 10, tv_usec: 0)  // a send blocks 10 s at most
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &patience, socklen_t(MemoryLayout<timeval>.size))
    self.fd = fd
    serverPort = port
    localPort = UInt16(bigEndian: address.sin_port)
  }

  deinit { close() }

  func send(_ text: String) throws {
    var rest = Array(text.utf8)[...]
    while !rest.isEmpty {
      let sent = rest.withUnsafeBytes {
        Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
      }
      if sent < 0 && errno == EINTR { continue }
      guard sent > 0 else {
        throw CheckFailed(
          "sending \(text.debugDescription) failed: \(String(cString: strerror(errno))). Had your server closed the connection?"
        )
      }
      rest = rest.dropFirst(sent)
    }
  }

  /// What the server sends until `lines` newlines have come, or it closes or resets
  /// the connection, or `limit` has passed.
  func receive(lines: Int, within limit: Duration) -> Reply {
    let deadline = ContinuousClock.now + limit
    var reply = Reply()
    var chunk = [UInt8](repeating: 0, count: 4096)
    while reply.bytes.count(where: { $0 == UInt8(ascii: "\n") }) < lines {
      guard Peer.wait(fd, for: POLLIN, until: deadline) else { return reply }
      let got = recv(fd, &chunk, chunk.count, 0)
      if got < 0 && errno == EINTR { continue }
      guard got > 0 else {
        reply.end = got == 0 ? .closed : .reset
        return reply
      }
      reply.bytes += chunk[..<got]
    }
    reply.end = .lines
    return reply
  }

  /// Sends `text` and expects `expected` back (its lines upper-cased), failing with
  /// what was sent, expected and received.
  func ask(_ text: String, _ context: String, expected: String? = nil, advice: String = "") throws {
    let expected = expected ?? String(decoding: text.utf8.map(upper), as: UTF8.self)
    try send(text)
    let reply = receive(
      lines: expected.utf8.count(where: { $0 == UInt8(ascii: "\n") }),
      within: Concurrent.answerWithin)
    guard reply.bytes != Array(expected.utf8) else { return }
    let after =
      switch reply.end {
      case .lines: ""
      case .closed: "\n  and then your server closed the connection."
      case .reset:
        "\n  and then the connection was reset: your server ended, or closed it with bytes unread."
      case .quiet: "\n  and then nothing more for \(Concurrent.answerWithin)."
      }
    throw CheckFailed(
      """
      \(context): the answer differs.
        sent:
      \(shown(text))
        expected back:
      \(shown(expected))
        got:
      \(shown(reply.text))\(after)\(advice.isEmpty ? "" : "\n  \(advice)")
      """)
  }

  /// Waits until the server has read every byte sent so far: /proc/net/tcp shows how
  /// many its side of the connection holds unread. So the next bytes reach a later recv.
  func waitUntilServerRead(_ what: String, within limit: Duration = .seconds(10)) throws {
    let deadline = ContinuousClock.now + limit
    var unread = unreadAtServer()
    while unread != 0 {
      guard ContinuousClock.now < deadline else {
        let state =
          unread == nil
          ? "its side of the connection is gone from /proc/net/tcp: did it close without reading?"
          : "its side of the connection still holds the bytes unread: is it waiting in recv for another client?"
        throw CheckFailed(
          "your server did not read \(what.debugDescription) within \(limit); \(state)")
      }
      usleep(5000)  // allowed: poll interval of a bounded wait on /proc
      unread = unreadAtServer()
    }
  }

  /// `shutdown(SHUT_WR)`: the server sees end of stream; this end can still read.
  func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

  /// SO_LINGER 0, then close: the kernel sends a reset instead of a FIN.
  func reset() {
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    close()
  }

  func close() {
    if fd >= 0 { Glibc.close(fd) }
    fd = -1
  }

  /// Bytes the server's side of this connection has received and not yet read; nil
  /// while /proc/net/tcp does not list it. A line there reads
  /// `sl local_address rem_address st tx_queue:rx_queue ...`, ports in hex.
  private func unreadAtServer() -> Int? {
    // 127.0.0.1 as the kernel prints it: little-endian hex, or IPv4-mapped in tcp6
    let remotes = ["0100007F", "0000000000000000FFFF00000100007F"]
    for (table, remote) in zip(["/proc/net/tcp", "/proc/net/tcp6"], remotes) {
      let needle =
        String(format: ":%04X ", serverPort) + remote + String(format: ":%04X ", localPort)
      guard let file = FileHandle(forReadingAtPath: table),
        let contents = try? file.readToEnd(),
        let found = contents.range(of: Data(needle.utf8))
      else { continue }
      // Then: "01 00000000:0000000A": the state, then tx_queue:rx_queue.
      let rest = String(decoding: contents[found.upperBound...].prefix(24), as: UTF8.self)
      let queues = rest.split(separator: " ")
      guard queues.count > 1, let rx = queues[1].split(separator: ":").last else { return nil }
      return Int(rx, radix: 16)
    }
    return nil
  }

  /// Polls `fd` until `events` or the deadline: whether they came.
  private static func wait(_ fd: Int32, for events: Int32, until deadline: ContinuousClock.Instant)
    -> Bool
  {
    var entry = pollfd(fd: fd, events: Int16(events), revents: 0)
    while true {
      let ready = poll(&entry, 1, milliseconds(until: deadline))
      if ready < 0 && errno == EINTR { continue }
      return ready > 0
    }
  }
}

/// ASCII letters upper-cased, as the protocol says; other bytes unchanged.
private func upper(_ byte: UInt8) -> UInt8 {
  (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 32 : byte
}
