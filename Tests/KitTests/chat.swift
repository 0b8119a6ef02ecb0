// chat: every server flavor with a room of chat clients of every flavor, typing in
// turns; each client flavor alone against each server; and peers that the test holds
// itself: many talking at once, one that never reads, one that resets mid-message,
// many that come and go. The server must relay each chunk to exactly the other
// clients, in order, and its descriptor count must come back down when they leave.
import Foundation
import KitHarness
import Synchronization
import Testing

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@Suite("chat", .timeLimit(.minutes(2)))
struct ChatTests {
  static let servers = Kit.flavors(having: "chat-server")
  static let clients = Kit.flavors(having: "chat-client")

  static func banner(port: UInt16) -> String {
    "Connected to 127.0.0.1:\(port); end your input (Ctrl-D) to leave\n"
  }

  @Test("a room of clients of every flavor, typing in turns", arguments: servers)
  func room(server: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(Program(flavor: server, name: "chat-server"), port: port) {
      running in
      let baseline = try await idleDescriptors(running, port: port)
      // Three clients at least, and every client flavor among them.
      try #require(!Self.clients.isEmpty)
      let flavors = (0..<max(3, Self.clients.count)).map { Self.clients[$0 % Self.clients.count] }
      var room: [Interactive] = []
      do {
        try await Self.talk(
          in: &room, flavors: flavors, server: running, port: port, baseline: baseline)
      } catch {
        for member in room { await member.stop() }
        throw error
      }
      for member in room { await member.stop() }
    }
  }

  private static func talk(
    in room: inout [Interactive], flavors: [String], server running: Running, port: UInt16,
    baseline: Int
  ) async throws {
    for flavor in flavors {
      room.append(
        try Interactive(
          Program(flavor: flavor, name: "chat-client"),
          environment: ["KIT_PORT": "\(port)", "KIT_HOST": "127.0.0.1"]))
      try await room.last!.running.waitForStderr(Self.banner(port: port))
      // Joined only once the server has accepted it: before that, what others say
      // would not reach it.
      try await waitForDescriptors(running, baseline + room.count, "client \(room.count) joining")
    }
    try await callTheRoll(running, port: port, baseline: baseline, members: room.count) {
      for member in room { try await member.running.waitForStdout(rollCall) }
    }

    // Each says a line and waits until every other listener has printed it.
    var expected = [String](repeating: rollCall, count: room.count)
    for round in 1...2 {
      for (speaker, flavor) in flavors.enumerated() {
        let line = "round \(round): client \(speaker) (\(flavor)) here\n"
        try room[speaker].type(line)
        for listener in room.indices where listener != speaker {
          expected[listener] += line
          try await room[listener].running.waitForStdout(expected[listener])
        }
      }
    }

    // The first leaves (end of input): it sees the server close, exits, and the
    // server is back to one descriptor per remaining client.
    room[0].endInput()
    let left = try await room[0].running.finish()
    #expect(left.stdoutText == expected[0], "nothing of its own echoed, nothing lost")
    #expect(left.stderrText == Self.banner(port: port))
    #expect(left.termination == .exit(0))
    try await waitForDescriptors(running, baseline + room.count - 1, "client 0 leaving")

    // The others keep talking; the one who left gets nothing more.
    let stayers = room.indices.dropFirst()
    for speaker in stayers {
      let line = "client \(speaker) after client 0 left\n"
      try room[speaker].type(line)
      for listener in stayers where listener != speaker {
        expected[listener] += line
        try await room[listener].running.waitForStdout(expected[listener])
      }
    }
    for index in stayers {
      room[index].endInput()
      let output = try await room[index].running.finish()
      #expect(output.stdoutText == expected[index], "client \(index) (\(flavors[index]))")
      #expect(output.stderrText == Self.banner(port: port))
      #expect(output.termination == .exit(0))
    }
    try await waitForDescriptors(running, baseline, "everyone leaving")
    #expect(running.output.stdoutText == "Chat server on port \(port)\n")
    #expect(running.output.stderrText == "", "a client that leaves politely is no error")
    #expect(running.output.termination == nil, "it serves until killed")
  }

  @Test(
    "a client with piped input: its line reaches the room, then it leaves", arguments: servers,
    clients)
  func piped(server: String, client: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(Program(flavor: server, name: "chat-server"), port: port) {
      running in
      let baseline = try await idleDescriptors(running, port: port)
      let listener = try Peer(port: port, label: "listener")
      defer { listener.close() }
      try await waitForDescriptors(running, baseline + 1, "the listener joining")
      // The strace test's run: send, end of input, shutdown, the server closes, exit.
      let output = try await Running.client(
        Program(flavor: client, name: "chat-client"), port: port, input: "hello world\n")
      #expect(output.stdoutText == "", "alone with a listener that says nothing")
      #expect(output.stderrText == Self.banner(port: port))
      #expect(output.termination == .exit(0))
      try await listener.waitForBytes("hello world\n")
      try await waitForDescriptors(running, baseline + 1, "the client leaving")
    }
  }

  @Test(
    "a client over ::1 is heard by one over 127.0.0.1: the kit's servers are dual-stack",
    arguments: servers.filter { ["c", "swift", "swift-sockets"].contains($0) })
  func ipv6(server: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(Program(flavor: server, name: "chat-server"), port: port) {
      running in
      let baseline = try await idleDescriptors(running, port: port)
      let listener = try Peer(port: port, label: "listener")  // over 127.0.0.1
      defer { listener.close() }
      try await waitForDescriptors(running, baseline + 1, "the listener joining")
      // swift-sockets' client resolves its host; the C one and its twin take IPv4 only.
      let client = try Running(
        Program(flavor: "swift-sockets", name: "chat-client"),
        environment: ["KIT_PORT": "\(port)", "KIT_HOST": "::1"],
        input: Array("hello over IPv6\n".utf8))
      let output = try await client.finish()
      #expect(output.termination == .exit(0), "\(output.stderrText)")
      try await listener.waitForBytes("hello over IPv6\n")
      try await waitForDescriptors(running, baseline + 1, "the client leaving")
      #expect(running.output.stderrText == "")
    }
  }

  @Test("a client with no server says connect failed and exits non-zero", arguments: clients)
  func noServer(client: String) async throws {
    let port = Ports.reserve()  // free, and nothing will listen on it
    let output = try await Running.client(Program(flavor: client, name: "chat-client"), port: port)
    #expect(output.stdoutText == "")
    #expect(output.stderrText == "connect failed: Connection refused\n")
    #expect(output.termination == .exit(1))
  }

  @Test("a host that is not an IPv4 address is named in the error", arguments: clients)
  func badHost(client: String) async throws {
    let program = try Running(
      Program(flavor: client, name: "chat-client"),
      environment: ["KIT_PORT": "\(Ports.reserve())", "KIT_HOST": "chat.example"])
    let output = try await program.finish()
    #expect(output.stderrText == "invalid address: chat.example\n")
    #expect(output.termination == .exit(1))
  }

  @Test("three peers talking at once: each hears the other two, each in order", arguments: servers)
  func burst(server: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(Program(flavor: server, name: "chat-server"), port: port) {
      running in
      let baseline = try await idleDescriptors(running, port: port)
      var peers: [Peer] = []
      defer { for peer in peers { peer.close() } }
      for name in ["a", "b", "c"] {
        peers.append(try Peer(port: port, label: name))
        try await waitForDescriptors(running, baseline + peers.count, "peer \(name) joining")
      }
      try await callTheRoll(running, port: port, baseline: baseline, members: peers.count) {
        for peer in peers { try await peer.waitForBytes(rollCall) }
      }
      // One write per line, all three at once. Each sender's lines stay well under one
      // 4096-byte chunk, so every chunk the server reads ends at a line end and lines
      // from different senders can interleave, but never inside a line.
      let lines = peers.map { peer in (1...40).map { "\(peer.label) says \($0)\n" } }
      try await withThrowingTaskGroup(of: Void.self) { group in
        for (peer, mine) in zip(peers, lines) {
          group.addTask { try await peer.send(lines: mine) }
        }
        try await group.waitForAll()
      }
      for (index, peer) in peers.enumerated() {
        let others = lines.indices.filter { $0 != index }
        let total = rollCall.utf8.count + others.map { lines[$0].joined().utf8.count }.reduce(0, +)
        let heard = try await peer.wait(for: "hearing \(total) bytes") { $0.bytes.count >= total }
        let text = String(decoding: heard.bytes.dropFirst(rollCall.utf8.count), as: UTF8.self)
        let received = text.split(separator: "\n").map { String($0) + "\n" }
        for other in others {
          let label = peers[other].label
          #expect(
            received.filter { $0.hasPrefix("\(label) ") } == lines[other],
            "\(peer.label) hears all of \(label)'s lines, in order")
        }
        #expect(!received.contains { $0.hasPrefix("\(peer.label) ") }, "no echo")
        #expect(heard.bytes.count == total, "nothing else")
      }
      #expect(running.output.stderrText == "")
    }
  }

  @Test(
    "a client that never reads is dropped at its cap; the others hear everything",
    arguments: servers.filter {
      LectureInterop.mismatch(.stallsOnSlowReader, example: "chat", server: $0) == nil
    })
  func slowReader(server: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(Program(flavor: server, name: "chat-server"), port: port) {
      running in
      let baseline = try await idleDescriptors(running, port: port)
      // A small receive window, so the server's buffer for it fills sooner.
      let sleeper = try Peer(port: port, label: "sleeper", receiveBuffer: 4096, reading: false)
      defer { sleeper.close() }
      let talker = try Peer(port: port, label: "talker")
      defer { talker.close() }
      let listener = try Peer(port: port, label: "listener")
      defer { listener.close() }
      try await waitForDescriptors(running, baseline + 3, "three peers joining")

      // 64 KiB at a time, each block heard in full by the listener before the next:
      // the sleeper holds nobody up. Until the server gives up on the sleeper, which
      // must happen soon after 1 MiB waits for it (plus what the kernel buffers).
      var sent: [UInt8] = []
      var block = 0
      while !running.output.stderrText.contains("dropped") {
        block += 1
        try #require(sent.count < 64 << 20, "64 MiB sent and the sleeper was never dropped")
        let text = (0..<1024).map {
          "block \(block) line \($0) " + String(repeating: "x", count: 40) + "\n"
        }
        let bytes = Array(text.joined().utf8.prefix(65536))
        try await talker.send(bytes: bytes)
        sent += bytes
        let total = sent.count
        try await listener.wait(for: "hearing block \(block)", within: .seconds(5)) {
          $0.bytes.count >= total
        }
      }
      // Compared here, not inside #expect: on a mismatch it would diff megabytes.
      let heard = listener.received
      let firstDifference =
        zip(heard, sent).enumerated().first { $1.0 != $1.1 }?.offset ?? min(heard.count, sent.count)
      let same = heard.count == sent.count && firstDifference == sent.count
      #expect(
        same,
        "every byte, in order: \(heard.count) of \(sent.count) bytes heard, first difference at \(firstDifference)"
      )
      #expect(
        running.output.stderrText.hasSuffix(
          ": dropped: it does not read (over 1048576 bytes waiting)\n"),
        "\(running.output.stderrText)")
      try await waitForDescriptors(running, baseline + 2, "the sleeper's socket closing")

      // Its connection is closed: reading now drains what the kernel held, then ends.
      sleeper.startReading()
      try await sleeper.wait(for: "its connection ending", within: .seconds(20)) { $0.end != nil }
      // And the room goes on.
      try await listener.send(lines: ["still here\n"])
      try await talker.waitForBytes("still here\n")
    }
  }

  @Test(
    "the chapter's server: a client that never reads holds up the speaker, until it reads",
    arguments: servers.filter {
      LectureInterop.mismatch(.stallsOnSlowReader, example: "chat", server: $0) != nil
    })
  func stall(server: String) async throws {
    let reason = LectureInterop.mismatch(.stallsOnSlowReader, example: "chat", server: server)!
      .reason
    let port = Ports.reserve()
    try await Running.withServer(Program(flavor: server, name: "chat-server"), port: port) {
      running in
      let baseline = try await idleDescriptors(running, port: port)
      let sleeper = try Peer(port: port, label: "sleeper", receiveBuffer: 4096, reading: false)
      defer { sleeper.close() }
      let talker = try Peer(port: port, label: "talker")
      defer { talker.close() }
      let listener = try Peer(port: port, label: "listener")
      defer { listener.close() }
      try await waitForDescriptors(running, baseline + 3, "three peers joining")
      try await callTheRoll(running, port: port, baseline: baseline, members: 3) {
        try await talker.waitForBytes(rollCall)
        try await listener.waitForBytes(rollCall)
      }

      // 64 KiB at a time until the listener does not hear a block within 5 s: the
      // server is waiting for the sleeper. Bounded: 64 MiB, or the stall never came.
      // What the listener must hear: the roll call, then what the talker sent.
      var expected = Array(rollCall.utf8)
      var stalled = false
      for block in 1...1024 where !stalled {
        let bytes = Array(
          (0..<1024).map { "block \(block) line \($0) " + String(repeating: "x", count: 40) + "\n" }
            .joined().utf8.prefix(65536))
        try await talker.send(bytes: bytes)
        expected += bytes
        let total = expected.count
        stalled =
          (try? await listener.wait(for: "hearing block \(block)", within: .seconds(5)) {
            $0.bytes.count >= total
          }) == nil
      }
      #expect(stalled, "64 MiB relayed past a client that never reads: \(reason)")
      #expect(running.output.termination == nil)
      // The sleeper reads at last: the server goes on, and the listener hears it all.
      sleeper.startReading()
      let total = expected.count
      try await listener.wait(
        for: "hearing everything once the sleeper reads", within: .seconds(30)
      ) {
        $0.bytes.count >= total
      }
      #expect(listener.received == expected, "every byte, in order")
    }
  }

  @Test("a client that resets mid-message is removed; the rest go on", arguments: servers)
  func reset(server: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(Program(flavor: server, name: "chat-server"), port: port) {
      running in
      let baseline = try await idleDescriptors(running, port: port)
      let a = try Peer(port: port, label: "a")
      defer { a.close() }
      let b = try Peer(port: port, label: "b")
      defer { b.close() }
      let rude = try Peer(port: port, label: "rude", reading: false)
      defer { rude.close() }
      try await waitForDescriptors(running, baseline + 3, "three peers joining")

      // Half a line, relayed as it came; then a reset instead of the rest.
      try await rude.send(lines: ["half a mess"])
      try await a.waitForBytes("half a mess")
      try await b.waitForBytes("half a mess")
      rude.reset()
      try await waitForDescriptors(running, baseline + 2, "the reset peer being removed")
      if LectureInterop.mismatch(.silentOnErrors, example: "chat", server: server) == nil {
        try await running.wait(for: "reporting the reset") {
          $0.stderrText.hasSuffix(": recv failed: Connection reset by peer\n")
        }
      }

      // The server relays chunks, not lines: the next line continues the broken one.
      try await b.send(lines: ["and on\n"])
      try await a.waitForBytes("half a messand on\n")
      try await a.send(lines: ["ok\n"])
      try await b.waitForBytes("half a messok\n")
      #expect(running.output.termination == nil)
    }
  }

  @Test("clients come and go, politely or not: no descriptor is left behind", arguments: servers)
  func churn(server: String) async throws {
    let port = Ports.reserve()
    try await Running.withServer(Program(flavor: server, name: "chat-server"), port: port) {
      running in
      let baseline = try await idleDescriptors(running, port: port)
      let stayer = try Peer(port: port, label: "stayer")
      defer { stayer.close() }
      try await waitForDescriptors(running, baseline + 1, "the stayer joining")
      var heard = ""
      for round in 0..<3 {
        // Even ones read what the others say, odd ones never do.
        let visitors = try (0..<20).map {
          try Peer(port: port, label: "v\($0)", reading: $0.isMultiple(of: 2))
        }
        try await waitForDescriptors(running, baseline + 21, "round \(round): 20 visitors joining")
        for (index, visitor) in visitors.enumerated() {
          try await visitor.send(lines: ["visitor \(index) of round \(round)\n"])
          heard += "visitor \(index) of round \(round)\n"
          try await stayer.waitForBytes(heard, after: 0)
        }
        for (index, visitor) in visitors.enumerated() {
          // Readers leave with shutdown (a FIN), the others with a RST.
          if index.isMultiple(of: 2) { visitor.close() } else { visitor.reset() }
        }
        try await waitForDescriptors(running, baseline + 1, "round \(round): 20 visitors leaving")
      }
      #expect(running.output.termination == nil)
    }
  }
}

// MARK: - Helpers

/// How many descriptors the process has open (-1 once it is gone).
private func descriptors(of pid: pid_t) -> Int {
  (try? ProcessStatus.openDescriptors(pid)) ?? -1
}

/// The descriptors a server holds with no client, counted once it says it serves: its
/// port opens at listen, and the swift-sockets server makes its poller after.
private func idleDescriptors(_ server: Running, port: UInt16) async throws -> Int {
  try await server.waitForStdout("Chat server on port \(port)\n")
  return descriptors(of: server.pid)
}

/// Waits until the server has exactly `count` descriptors open: the server prints
/// nothing when a client joins or leaves, so its descriptor table is what shows it.
private func waitForDescriptors(
  _ server: Running, _ count: Int, _ what: String, within limit: Duration = .seconds(10)
) async throws {
  let clock = ContinuousClock()
  let deadline = clock.now + limit
  while descriptors(of: server.pid) != count {
    if clock.now > deadline {
      throw HarnessError(
        description: """
          \(server.label): \(what): \(descriptors(of: server.pid)) descriptors open, \
          expected \(count), after \(limit). stderr: \(server.output.stderrText.debugDescription)
          """)
    }
    try await Task.sleep(for: .milliseconds(5))  // allowed: bounded /proc poll
  }
}

/// The line that proves a room complete.
private let rollCall = "roll call\n"

/// Makes sure every member is in the room before the test's talk begins: a connection
/// that joins after them all says the roll call, `everyoneHeard` waits until each
/// member heard it, and then the caller leaves. A server may count a client in a moment
/// after accepting it (asyncio's does, a few turns of its loop later), and a line said
/// in that moment would never reach it; but no server reads a later joiner's line
/// before an earlier joiner is in.
private func callTheRoll(
  _ server: Running, port: UInt16, baseline: Int, members: Int,
  everyoneHeard: () async throws -> Void
) async throws {
  let caller = try Peer(port: port, label: "roll caller", reading: false)
  defer { caller.close() }
  try await waitForDescriptors(server, baseline + members + 1, "the roll caller joining")
  try await caller.send(lines: [rollCall])
  try await everyoneHeard()
  caller.close()
  try await waitForDescriptors(server, baseline + members, "the roll caller leaving")
}

extension Running {
  /// Waits until stderr starts with `expected`.
  fileprivate func waitForStderr(_ expected: String, within limit: Duration = .seconds(10))
    async throws
  {
    try await wait(for: "printing \(expected.debugDescription) on stderr", within: limit) {
      $0.stderrText.hasPrefix(expected)
    }
  }
}

/// A TCP connection the test holds as a chat client: it sends lines on demand, reads in
/// a thread of its own (from the start, later, or never), and leaves with a FIN or a RST.
private final class Peer: Sendable {
  struct Inbox: Sendable {
    var bytes: [UInt8] = []
    /// Why reading stopped: "end of stream" or the error; nil while it goes on.
    var end: String?
  }
  private struct Waiter {
    let id: Int
    let condition: @Sendable (Inbox) -> Bool
    let continuation: CheckedContinuation<Inbox, any Error>
  }
  private struct State {
    var inbox = Inbox()
    var waiters: [Waiter] = []
    var nextID = 0
    var fd: Int32
    var reading = false  // a reader thread is using fd, and closes it when done
  }

  let label: String
  private let state: Mutex<State>

  init(port: UInt16, label: String, receiveBuffer: Int32? = nil, reading: Bool = true) throws {
    self.label = label
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw HarnessError(description: "\(label): socket: \(Self.reason())") }
    // A send that the server does not take within 10 s fails instead of hanging.
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    var size = receiveBuffer ?? 0
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    let ready =
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0
      && (receiveBuffer == nil
        || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) == 0)
      && withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      } == 0
    guard ready else {
      let reason = Self.reason()
      Glibc.close(fd)
      throw HarnessError(description: "\(label): connect to port \(port): \(reason)")
    }
    state = Mutex(State(fd: fd))
    if reading { startReading() }
  }

  deinit { close() }

  private static func reason() -> String { String(cString: strerror(errno)) }

  /// What has arrived so far.
  var received: [UInt8] { state.withLock { $0.inbox.bytes } }

  /// Starts the reader thread (once).
  func startReading() {
    let fd: Int32? = state.withLock { state in
      guard !state.reading, state.fd >= 0 else { return nil }
      state.reading = true
      return state.fd
    }
    guard let fd else { return }
    Thread.detachNewThread { [self] in
      var chunk = [UInt8](repeating: 0, count: 65536)
      var end: String
      while true {
        let count = recv(fd, &chunk, chunk.count, 0)
        if count < 0 && errno == EINTR { continue }
        if count <= 0 {
          end = count == 0 ? "end of stream" : Self.reason()
          break
        }
        update { $0.bytes += chunk[..<count] }
      }
      update { $0.end = end }
      state.withLock { state in
        state.reading = false
        if state.fd < 0 { Glibc.close(fd) }  // closed meanwhile: ours to close
      }
    }
  }

  /// Sends each string with one send call (and more only if the kernel takes part).
  func send(lines: [String]) async throws {
    try await send(pieces: lines.map { Array($0.utf8) })
  }

  func send(bytes: [UInt8]) async throws { try await send(pieces: [bytes]) }

  private func send(pieces: [[UInt8]]) async throws {
    let fd = state.withLock { $0.fd }
    let label = label
    try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
      Thread.detachNewThread {
        for bytes in pieces {
          var offset = 0
          while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
              Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else {
              done.resume(throwing: HarnessError(description: "\(label): send: \(Peer.reason())"))
              return
            }
            offset += sent
          }
        }
        done.resume()
      }
    }
  }

  /// Waits until what arrived satisfies `condition`, or fails after `limit`.
  @discardableResult
  func wait(
    for what: String, within limit: Duration = .seconds(10),
    until condition: @escaping @Sendable (Inbox) -> Bool
  ) async throws -> Inbox {
    let id = state.withLock { state in
      state.nextID += 1
      return state.nextID
    }
    let deadline = Task { [self] in
      try await Task.sleep(for: limit)  // allowed: the deadline itself, not a wait for readiness
      let (expired, inbox) = state.withLock { state in
        (state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) }, state.inbox)
      }
      expired?.continuation.resume(
        throwing: HarnessError(
          description: """
            peer \(label): \(what) did not happen within \(limit); \(inbox.bytes.count) bytes \
            arrived, ending \(String(decoding: inbox.bytes.suffix(200), as: UTF8.self).debugDescription)\
            \(inbox.end.map { ", then \($0)" } ?? "")
            """))
    }
    defer { deadline.cancel() }
    return try await withCheckedThrowingContinuation { continuation in
      let ready: Inbox? = state.withLock { state in
        if condition(state.inbox) { return state.inbox }
        state.waiters.append(Waiter(id: id, condition: condition, continuation: continuation))
        return nil
      }
      if let ready { continuation.resume(returning: ready) }
    }
  }

  /// Waits until the bytes received since `after` (by default: the start) are `text`.
  func waitForBytes(_ text: String, after start: Int = 0, within limit: Duration = .seconds(10))
    async throws
  {
    let expected = Array(text.utf8)
    let inbox = try await wait(for: "receiving \(text.debugDescription)", within: limit) {
      $0.bytes.count - start >= expected.count || $0.end != nil
    }
    // Compared here, not inside #expect, which would diff what may be megabytes.
    let got = Array(inbox.bytes.dropFirst(start))
    let same = got == expected
    #expect(
      same,
      """
      peer \(label) expected \(text.debugDescription), got \(got.count) bytes: \
      \(String(decoding: got.prefix(200), as: UTF8.self).debugDescription)
      """)
  }

  private func update(_ change: (inout Inbox) -> Void) {
    let ready = state.withLock { state in
      change(&state.inbox)
      let inbox = state.inbox
      let satisfied = state.waiters.filter { $0.condition(inbox) }
      state.waiters.removeAll { $0.condition(inbox) }
      return satisfied.map { ($0.continuation, inbox) }
    }
    for (continuation, inbox) in ready { continuation.resume(returning: inbox) }
  }

  /// Leaves with a FIN. A reader thread is woken by shutdown and closes the socket itself,
  /// so the descriptor number is never reused under a recv that is still running.
  func close() {
    state.withLock { state in
      guard state.fd >= 0 else { return }
      if state.reading {
        shutdown(state.fd, Int32(SHUT_RDWR))
      } else {
        Glibc.close(state.fd)
      }
      state.fd = -1
    }
  }

  /// Leaves with a RST: SO_LINGER with a zero timeout makes close discard what is
  /// unsent and reset the connection.
  func reset() {
    state.withLock { state in
      precondition(!state.reading, "reset a peer that does not read")
      guard state.fd >= 0 else { return }
      var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
      setsockopt(
        state.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
      Glibc.close(state.fd)
      state.fd = -1
    }
  }
}
