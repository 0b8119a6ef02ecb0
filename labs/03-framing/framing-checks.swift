// Lab 03, framing: the student's server answers length-prefixed messages. Each check
// plays a client that cuts, merges, sizes or leaves out the framing the way real peers
// do, and compares every byte that comes back (README.md says what each check means).
import KitHarness

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

extension Lab {
  static let framing = Lab(
    number: "03", name: "framing", programs: ["server"],
    checks: [
      Framing.listens, Framing.roundTrip, Framing.emptyMessage, Framing.asciiOnly,
      Framing.byteAtATime, Framing.manyInOneSend, Framing.mebibytes, Framing.overLimit,
      Framing.tcpHelloClient, Framing.manyConnections,
    ])
}

enum Framing {
  /// The longest payload allowed: 1 MiB.
  static let limit = 1 << 20
  /// How long the grader waits for a byte that should come: far more than any server needs.
  static let patience: Duration = .seconds(10)
  static let patienceText = "\(Int(patience / .seconds(1))) s"

  /// A message on the wire: the payload's length, 4 bytes big-endian, then the payload.
  static func frame(_ payload: [UInt8]) -> [UInt8] { header(payload.count) + payload }

  static func header(_ length: Int) -> [UInt8] {
    withUnsafeBytes(of: UInt32(length).bigEndian, Array.init)
  }

  /// The payload of the reply: a-z made A-Z, every other byte as it was.
  static func answer(_ payload: [UInt8]) -> [UInt8] {
    payload.map { (0x61...0x7a).contains($0) ? $0 - 0x20 : $0 }
  }

  static let listens = Check(
    "listens-on-kit-port", "your server listens on KIT_PORT (the grader holds 8080)",
    needs: ["server"]
  ) { solution in
    try await serving(solution) { _, _ in }
  }

  static let roundTrip = Check(
    "round-trip", "one message, one reply: the same length, a-z made A-Z", needs: ["server"]
  ) { solution in
    try await serving(solution) { server, port in
      let message = Array("Hello, framing! 123".utf8)
      let replies = try await exchange(port: port, [message])
      try await expect(
        replies, from: server,
        after: "The grader sent one message in one send: \(shown(frame: frame(message))).",
        advice: """
          Each message gets one reply: the same 4-byte length, in network byte order \
          (big-endian), then the payload with a-z made A-Z.
          """)
    }
  }

  static let emptyMessage = Check(
    "empty-message", "a length of 0 is a message: answered with 00 00 00 00", needs: ["server"]
  ) { solution in
    try await serving(solution) { server, port in
      let next = Array("and the next one".utf8)
      let (empty, after) = try await onThread { () -> (Replies, Replies) in
        let client = try Client(port: port)
        defer { client.close() }
        let empty = client.exchange([[]])
        guard empty.problem == nil else { return (empty, empty) }
        return (empty, client.exchange([next]))
      }
      try await expect(
        empty, from: server,
        after: "The grader sent an empty message: 00 00 00 00, a length of 0 and no payload.",
        advice: """
          A length of 0 is a message like any other: answer 00 00 00 00 and keep the \
          connection. (A recv asked for 0 bytes returns 0: that is not the client closing.)
          """)
      try await expect(
        after, from: server,
        after: "The grader sent an empty message, answered, then \(shown(frame: frame(next))).",
        advice: "The connection goes on after an empty message.")
    }
  }

  static let asciiOnly = Check(
    "ascii-letters-only", "every byte value: only a-z change, byte for byte", needs: ["server"]
  ) { solution in
    try await serving(solution) { server, port in
      let message = (0...255).map(UInt8.init) + (0...255).reversed().map(UInt8.init)
      let replies = try await exchange(port: port, [message])
      try await expect(
        replies, from: server,
        after: "The grader sent one 512-byte message: every byte value, 00 to ff and back.",
        advice: """
          Only a-z (61 to 7a) change, to A-Z (41 to 5a); every other byte comes back as it \
          was, 80 to ff included, and the length stays the same. Change bytes, not decoded \
          text: a String's uppercased() also changes letters such as é, and turns a byte \
          that is not UTF-8 into three.
          """)
    }
  }

  static let byteAtATime = Check(
    "one-byte-at-a-time", "a message sent one byte per send, and one read byte by byte",
    needs: ["server"]
  ) { solution in
    try await serving(solution) { server, port in
      let first = Array("one recv, one byte".utf8)
      let second = Array("and no pause".utf8)
      let advice = """
        A recv returns what has arrived, here a single byte: read the 4-byte length in a \
        loop until all 4 bytes have come, then the payload until all of it has.
        """
      let (waited, sent, replies) = try await onThread {
        () -> (SocketQueues.Progress, Int, [Replies]) in
        let client = try Client(port: port)
        defer { client.close() }
        // Each byte alone, and read by the server before the next: one recv per byte.
        var waited = SocketQueues.Progress.read
        var sent = 0
        for byte in frame(first) where waited == .read {
          guard try client.connection.send([byte]) else { break }
          sent += 1
          waited = SocketQueues.waitUntilRead(client.fd, within: patience)
        }
        if case .unread = waited { return (waited, sent, []) }
        var replies = [Replies(to: [first]), Replies(to: [second])]
        client.receive(&replies[0])
        guard replies[0].problem == nil else { return (waited, sent, replies) }
        // Then one byte per send as fast as they go: the kernel may merge some of them.
        for byte in frame(second) {
          guard try client.connection.send([byte]) else { break }
        }
        client.receive(&replies[1])
        return (waited, sent, replies)
      }
      let total = frame(first).count
      if case .unread(let count) = waited {
        throw CheckFailed(
          """
          The grader sent \(shown(frame: frame(first))) one byte per send, waiting each \
          time until your server had read the byte. After \(sent) of \(total) bytes, \(count) \
          stayed unread for \(patienceText): your server stopped reading in the middle of a \
          message.
          \(advice)\(await serverNote(server))
          """)
      }
      let early = sent < total ? " Your server answered or closed after \(sent) of them." : ""
      try await expect(
        replies[0], from: server,
        after: """
          The grader sent \(shown(frame: frame(first))) one byte per send, each read by your \
          server before the next was sent.\(early)
          """, advice: advice)
      try await expect(
        replies[1], from: server,
        after: "The grader sent \(shown(frame: frame(second))) one byte per send, without pausing.",
        advice: advice)
    }
  }

  /// 100 messages of 1 to 149 bytes, about 8 KiB in all: one send, one segment.
  static let hundredMessages: [[UInt8]] = (0..<100).map { index in
    let text = String(repeating: "Message \(index + 1) of 100: the Quick brown fox, ", count: 4)
    return Array(text.utf8.prefix(1 + index * 53 % 149))
  }

  static let manyInOneSend = Check(
    "many-in-one-send", "100 messages in one send: 100 replies, in order", needs: ["server"]
  ) { solution in
    try await serving(solution) { server, port in
      let messages = hundredMessages
      let replies = try await exchange(port: port, messages)
      try await expect(
        replies, from: server,
        after: """
          The grader sent 100 messages of 1 to 149 bytes in one send of \
          \(messages.joined().count + 400) bytes, the first \(shown(frame: frame(messages[0]))).
          """,
        advice: """
          One recv may return several messages, or the end of one and the start of the \
          next: a message ends where its length says, and the bytes after it begin the next \
          one. Ask recv for what is left of the message, no more.
          """)
    }
  }

  static let mebibytes = Check(
    "mebibyte-messages", "messages of exactly 1 MiB, back to back, replies read slowly",
    needs: ["server"], limit: .seconds(60)
  ) { solution in
    try await serving(solution) { server, port in
      let pid = server.pid
      let (replies, unread) = try await onThread {
        try Mebibytes.exchange(port: port, server: pid)
      }
      let sent = """
        The grader sent \(Mebibytes.count) messages of exactly 1 MiB (1048576 bytes, the longest \
        allowed) back to back. It read no reply until your server had read them all or had \
        stopped reading (its socket holds a few MiB at most), then read 4 KiB at a time.
        """
      if let unread {
        throw CheckFailed(
          """
          The grader sent the length 00 10 00 00 (1 MiB) and the first 64 KiB of the \
          payload; \(unread) bytes of them stayed unread for \(patienceText): your server \
          stopped reading in the middle of a message.\(await serverNote(server))
          """)
      }
      var refused = replies.got.isEmpty && replies.end != .silent
      if refused {  // by choice, unless it ended
        _ = try? await server.wait(for: "exiting", within: .seconds(1)) { $0.termination != nil }
        refused = server.output.termination == nil
      }
      try await expect(
        replies, from: server, after: sent,
        advice: refused
          ? "Exactly 1 MiB is allowed: only a length over 1048576 closes the connection."
          : """
          A recv returns what has arrived, often much less than 1 MiB: loop until the whole \
          payload is in. A send takes fewer bytes than asked when the socket's buffer is \
          full and it cannot wait (a non-blocking socket, a signal): send returns how many it \
          took; send the rest, in a loop.
          """)
    }
  }

  static let overLimit = Check(
    "length-over-limit", "a length over 1 MiB closes that connection; the next is served",
    needs: ["server"]
  ) { solution in
    try await serving(solution) { server, port in
      let tooLong = header(limit + 1)
      let (bytes, end) = try await onThread { () -> ([UInt8], Replies.End) in
        let client = try Client(port: port)
        defer { client.close() }
        _ = try client.connection.send(tooLong)
        return client.readUntilClosed()
      }
      let sent = "The grader sent the length \(hex(tooLong)) (1048577: 1 MiB + 1) and no payload."
      if !bytes.isEmpty {
        throw CheckFailed(
          """
          \(sent) Your server answered \(shown(bytes: bytes)): a length over 1 MiB gets no \
          reply; the server closes that connection.\(await serverNote(server))
          """)
      }
      if end == .silent {
        throw CheckFailed(
          """
          \(sent) Your server neither answered nor closed the connection within \
          \(patienceText): it waits for a payload it must refuse. Compare the length with 1 MiB \
          before reading the payload, and over it close the connection.\
          \(await serverNote(server))
          """)
      }
      try await servesNext(server, port: port, after: "closing the connection with 1 MiB + 1")
    }
  }

  static let tcpHelloClient = Check(
    "tcp-hello-client", "the lecture's unframed client: closed at once; the next is served",
    needs: ["server"]
  ) { solution in
    try await serving(solution) { server, port in
      let client = try Running(
        kitProgram("c", "tcp-hello-client"),
        environment: ["KIT_PORT": "\(port)", "KIT_HOST": "127.0.0.1"])
      let ran: Output
      if let finished = try? await client.finish(within: patience) {
        ran = finished
      } else {
        _ = try? await client.stop()
        throw CheckFailed(
          """
          The lecture's tcp-hello client sent "Hello from client", 17 bytes with no length \
          before them, and waited for an answer. Your server had neither answered nor closed \
          the connection after \(patienceText). Read as a length, the first four bytes, "Hell" \
          (48 65 6c 6c), are 1214606444 (1.1 GiB): over the 1 MiB limit, so close the \
          connection as soon as you have read them, instead of waiting for 1.1 GiB. The \
          framing is the protocol's job: TCP only carries bytes, and this client's are not \
          a message of this protocol.\(await serverNote(server))
          """)
      }
      if let line = ran.stdoutText.split(separator: "\n").first(where: { $0.hasPrefix("Received") })
      {
        throw CheckFailed(
          """
          Your server answered the tcp-hello client, which printed "\(line)". Its first four \
          bytes, "Hell", read as a length are 1214606444, over the 1 MiB limit: no reply, \
          close the connection.\(await serverNote(server))
          """)
      }
      try await servesNext(server, port: port, after: "closing the tcp-hello client's connection")
    }
  }

  static let manyConnections = Check(
    "many-connections", "20 connections one after another, 0 to 3 messages each",
    needs: ["server"]
  ) { solution in
    try await serving(solution) { server, port in
      // The first connection (or message) that goes wrong, if one does.
      let failed = try await onThread { () -> (Int, Int, Result<Replies, HarnessError>)? in
        for index in 0..<20 {
          let client: Client
          do {
            client = try Client(port: port)
          } catch let error as HarnessError {
            return (index, 0, .failure(error))
          }
          defer { client.close() }
          for number in 0..<index % 4 {
            let replies = client.exchange([
              Array("connection \(index + 1), message \(number + 1)".utf8)
            ])
            if replies.problem != nil { return (index, number, .success(replies)) }
          }
        }
        return nil
      }
      guard case (let index, let number, let result)? = failed else { return }
      let sent = """
        The grader opened 20 connections one after another and sent 0 to 3 messages on \
        each, one at a time, each once the one before was answered, then closed it.
        """
      let advice = """
        A client that closes ends its connection only: close its socket, then accept the \
        next client and serve it as the first.
        """
      switch result {
      case .failure(let error):
        throw CheckFailed(
          """
          \(sent) Connection \(index + 1) failed: \(error).
          \(advice)\(await serverNote(server, closed: true))
          """)
      case .success(let replies):
        try await expect(
          replies, from: server,
          after: "\(sent) Connection \(index + 1), message \(number + 1) of \(index % 4):",
          advice: advice)
      }
    }
  }

  // MARK: - Running the server, talking to it, explaining what went wrong

  /// Starts the student's server on a port of its own, runs `body`, stops the server.
  private static func serving(
    _ solution: Solution, _ body: (Running, UInt16) async throws -> Void
  ) async throws {
    let port = Ports.reserve()
    let server = try await startServer(solution.program("server"), port: port)
    do {
      try await body(server, port)
    } catch let error as HarnessError {
      let note = await serverNote(server, closed: true)
      _ = try? await server.stop()
      throw CheckFailed("The grader's connection to your server failed: \(error).\(note)")
    } catch {
      _ = try? await server.stop()
      throw error
    }
    try await server.stop()
  }

  /// Connects, sends every message in one send, reads the replies.
  private static func exchange(port: UInt16, _ messages: [[UInt8]]) async throws -> Replies {
    try await onThread {
      let client = try Client(port: port)
      defer { client.close() }
      return client.exchange(messages)
    }
  }

  /// A new connection, one message: the server must still be serving after `what`.
  private static func servesNext(_ server: Running, port: UInt16, after what: String) async throws {
    let message = Array("Still there?".utf8)
    let replies: Replies
    do {
      replies = try await exchange(port: port, [message])
    } catch let error as HarnessError {
      throw CheckFailed(
        """
        After \(what), the grader could not connect again: \(error). Close only that \
        client's socket, then accept the next client.\(await serverNote(server, closed: true))
        """)
    }
    try await expect(
      replies, from: server,
      after: "The grader sent \(shown(frame: frame(message))) on a new connection, after \(what).",
      advice: "Closing a client's connection ends that client only: the server goes on.")
  }

  /// Fails with what the grader sent (`sent`, in sentences), what went wrong, what to
  /// do, and what the server said.
  private static func expect(
    _ replies: Replies, from server: Running, after sent: String, advice: String
  ) async throws {
    guard replies.problem != nil else { return }
    let closed = replies.end != .silent && replies.difference == nil
    let note = await serverNote(server, closed: closed)
    let problem = replies.explained(serverEnded: server.output.termination != nil)
    throw CheckFailed("\(sent)\n\(problem)\n\(advice)\(note)")
  }

  /// How the server ended, if it has, and its stderr. After a close, give it a moment to
  /// exit first, so the hint can say that it did.
  private static func serverNote(_ server: Running, closed: Bool = false) async -> String {
    if closed {
      _ = try? await server.wait(for: "exiting", within: .seconds(1)) { $0.termination != nil }
    }
    let output = server.output
    var note = ""
    if let end = output.termination {
      note += "\nYour server is no longer running: it ended with \(end)."
    }
    let errors = output.stderrText.split(separator: "\n").suffix(8).map { $0.prefix(200) }
    if !errors.isEmpty {
      note += "\n  its stderr (the end):\n\(shown(errors.joined(separator: "\n") + "\n"))"
    }
    return note
  }
}

/// Bytes in hex: "00 10 00 01".
private func hex(_ bytes: some Collection<UInt8>) -> String {
  bytes.map { String(hexDigits[Int($0 >> 4)]) + String(hexDigits[Int($0 & 0xf)]) }
    .joined(separator: " ")
}
private let hexDigits = Array("0123456789abcdef")

/// A message as a hint shows it: its length in hex, then its payload.
private func shown(frame: [UInt8]) -> String {
  frame.count > 4 ? "\(hex(frame.prefix(4))) \(shown(bytes: frame.dropFirst(4)))" : hex(frame)
}

/// Bytes as a hint shows them: printable runs as quoted text, the rest in hex.
private func shown(bytes: some Collection<UInt8>, limit: Int = 32) -> String {
  guard !bytes.isEmpty else { return "(nothing)" }
  var parts: [String] = []
  var text = ""
  for byte in bytes.prefix(limit) {
    if (0x20..<0x7f).contains(byte) && byte != UInt8(ascii: "\"") {
      text.append(Character(Unicode.Scalar(byte)))
      continue
    }
    if !text.isEmpty { parts.append("\"\(text)\"") }
    text = ""
    parts.append(hex([byte]))
  }
  if !text.isEmpty { parts.append("\"\(text)\"") }
  return parts.joined(separator: " ") + (bytes.count > limit ? " ... (\(bytes.count) bytes)" : "")
}

// MARK: - The replies, byte by byte

/// The replies to some messages as they come back, compared with the right ones as they come.
private struct Replies: Sendable {
  enum End: Sendable { case complete, closed, reset, silent }

  let messages: [[UInt8]]
  let expected: [UInt8]
  private(set) var got: [UInt8] = []
  /// Where the first wrong byte is (or the first byte too many).
  private(set) var difference: Int?
  var end = End.complete

  init(to messages: [[UInt8]], expected: [UInt8]? = nil) {
    self.messages = messages
    self.expected = expected ?? messages.flatMap { Framing.frame(Framing.answer($0)) }
  }

  var isDone: Bool { difference != nil || got.count >= expected.count }

  mutating func take(_ bytes: ArraySlice<UInt8>) {
    let start = got.count
    got += bytes
    guard difference == nil else { return }
    let end = min(got.count, expected.count)
    if start < end {
      let same = got.withUnsafeBytes { got in
        expected.withUnsafeBytes {
          memcmp(got.baseAddress! + start, $0.baseAddress! + start, end - start)
        }
      }
      if same != 0 { difference = (start..<end).first { got[$0] != expected[$0] } }
    }
    if difference == nil && got.count > expected.count { difference = expected.count }
  }

  /// Where the replies went wrong, if they did.
  var problem: Int? { difference ?? (got.count < expected.count ? got.count : nil) }

  /// What went wrong, in terms of replies and their bytes.
  func explained(serverEnded: Bool) -> String {
    guard let at = problem else { return "Every reply came back right." }
    if at == expected.count {
      return "After every reply came \(got.count - at) more bytes: \(shown(bytes: got[at...]))."
    }
    // Find the reply that `at` falls in.
    var start = 0
    var index = 0
    while at >= start + 4 + messages[index].count {
      start += 4 + messages[index].count
      index += 1
    }
    let offset = at - start
    let length = messages[index].count
    let which = messages.count == 1 ? "the reply" : "reply \(index + 1) of \(messages.count)"
    if difference != nil && offset < 4 {
      let header = got[start..<min(start + 4, got.count)]
      var text = """
        \(which.capitalizedFirst) should begin with its length, \
        \(hex(expected[start..<start + 4])) (\(length) bytes). It began \(hex(header))
        """
      if header.count == 4 {
        let value = header.reduce(0) { $0 << 8 | Int($1) }
        text += ", a length of \(value)"
        if value == Int(UInt32(length).byteSwapped) {
          text += " (\(length) in the host's byte order, little-endian here, where the "
          text += "protocol wants network byte order: htonl converts it)"
        }
      }
      if got.count > start + 4 { text += ", then \(shown(bytes: got[(start + 4)...], limit: 16))" }
      return text + "."
    }
    if difference != nil {
      let range = at..<min(at + 24, expected.count)
      return """
        \(which.capitalizedFirst) differs at byte \(offset - 4) of its \(length)-byte payload:
          expected: \(shown(bytes: expected[range], limit: 24))
          got:      \(shown(bytes: got[at..<min(at + 24, got.count)], limit: 24))
        """
    }
    let whole = index == 1 ? "1 whole reply" : "\(index) whole replies"
    let sofar =
      switch (index, offset) {
      case (0, 0): "without a byte of \(which)"
      case (0, _): "after \(offset) bytes of \(which)"
      case (_, 0): "after \(whole)"
      default: "after \(whole) and \(offset) bytes of \(which)"
      }
    let what =
      switch end {
      case .closed: "Your server closed the connection \(sofar)."
      case .reset:
        "Your server reset the connection \(sofar) (it closed with bytes unread, or ended)."
      case .silent, .complete: "Nothing came for \(Framing.patienceText) \(sofar)."
      }
    // A server that reads lengths in the wrong byte order fails on the first one.
    guard !serverEnded && index == 0 && offset == 0 else { return what }
    return what + byteOrderNote(length, silent: end == .silent)
  }

  /// A server that closes on a length it should take, or waits for more bytes than it
  /// says: did it read the length in the host's byte order?
  private func byteOrderNote(_ length: Int, silent: Bool) -> String {
    let swapped = Int(UInt32(length).byteSwapped)
    let fits = swapped > length && swapped <= Framing.limit
    guard silent ? fits : swapped > Framing.limit else { return "" }
    return """
       Did your server read the length, \(hex(Framing.header(length))), in the host's byte order? \
      That way (little-endian here) it is \(swapped)\(silent ? "" : ", over the 1 MiB limit"), \
      where in network byte order (big-endian) it is \(length): ntohl converts it.
      """
  }
}

extension String {
  fileprivate var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

// MARK: - The grader's ends of the connection (blocking: they run through onThread)

/// One connection to the student's server, sending exactly what a check cuts.
private final class Client: Sendable {
  let connection: RawConnection
  var fd: Int32 { connection.fd }

  init(port: UInt16) throws {
    connection = try RawConnection(port: port)
    var on: Int32 = 1
    // Every send its own segment: Nagle's algorithm would hold small ones back to merge them.
    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
  }

  /// Sends the messages in one send and reads their replies.
  func exchange(_ messages: [[UInt8]]) -> Replies {
    var replies = Replies(to: messages)
    do {
      if try !connection.send(messages.flatMap(Framing.frame)) { replies.end = .reset }
    } catch {
      replies.end = .silent  // it stopped reading, without answering or closing
      return replies
    }
    receive(&replies)
    return replies
  }

  /// Reads until every reply is in, a byte is wrong, the server closes, or nothing
  /// comes for `patience`.
  func receive(_ replies: inout Replies) {
    var chunk = [UInt8](repeating: 0, count: 65536)
    let ending = read(into: &chunk) {
      replies.take($0)
    } until: {
      replies.isDone
    }
    replies.end = ending
  }

  /// Everything the server sends until it closes (or falls silent).
  func readUntilClosed() -> ([UInt8], Replies.End) {
    var chunk = [UInt8](repeating: 0, count: 65536)
    var bytes: [UInt8] = []
    let end = read(into: &chunk) {
      bytes += $0
    } until: {
      bytes.count > 4096
    }
    return (bytes, end)
  }

  private func read(
    into chunk: inout [UInt8], _ take: (ArraySlice<UInt8>) -> Void, until done: () -> Bool
  ) -> Replies.End {
    while !done() {
      guard connection.readable(within: Int32(Framing.patience / .milliseconds(1))) else {
        return .silent
      }
      let count = recv(fd, &chunk, chunk.count, 0)
      if count > 0 {
        take(chunk[..<count])
      } else if count == 0 {
        return .closed
      } else if errno != EINTR && errno != EAGAIN {
        return .reset
      }
    }
    return .complete
  }

  func close() { connection.close() }
}

/// The 1 MiB check's messages: enough that their replies outgrow what the server's
/// socket can hold, so that its sends must wait for the grader's reads.
private enum Mebibytes {
  /// The most a socket may buffer (tcp_wmem's maximum, 4 MiB by default) in 1 MiB
  /// messages, and two more.
  static let count: Int = {
    let fd = open("/proc/sys/net/ipv4/tcp_wmem", O_RDONLY | O_CLOEXEC)
    var text = [UInt8](repeating: 0, count: 128)
    let count = fd < 0 ? 0 : read(fd, &text, text.count)
    if fd >= 0 { close(fd) }
    let fields = text.prefix(max(count, 0)).split { $0 == 9 || $0 == 10 || $0 == 32 }
    let most = fields.count == 3 ? Int(String(decoding: fields[2], as: UTF8.self)) : nil
    return (most ?? 4 << 20) / Framing.limit + 2
  }()

  /// One 1 MiB payload of printable ASCII, and its answer; message i is both turned by i KiB.
  static let payload: [UInt8] = (0..<Framing.limit).map { (index: Int) -> UInt8 in
    UInt8(32 + (index * 7 + index / 95) % 95)
  }
  static let answered = Framing.answer(payload)

  static func turned(_ bytes: [UInt8], by index: Int) -> [UInt8] {
    let cut = index * 1024 % bytes.count
    return Array(bytes[cut...] + bytes[..<cut])
  }

  /// Sends them all through a SlowReader and compares the replies as they come; the
  /// unread bytes if the server stopped reading inside the first 64 KiB.
  static func exchange(port: UInt16, server: pid_t) throws -> (Replies, unread: Int?) {
    let payloads = (0..<count).map { turned(payload, by: $0) }
    let expected = (0..<count).flatMap { Framing.frame(turned(answered, by: $0)) }
    var replies = Replies(to: payloads, expected: expected)
    // The first length and 64 KiB alone: a server that asks one recv for the whole
    // payload gets these 64 KiB at most.
    let end = try SlowReader.exchange(
      port: port, server: server, sending: payloads.flatMap(Framing.frame),
      firstPiece: 4 + 65536, patience: Framing.patience
    ) {
      replies.take($0)
      return !replies.isDone
    }
    switch end {
    case .stalledAtFirst(let unread): return (replies, unread)
    case .done: replies.end = .complete
    case .closed: replies.end = .closed
    case .reset: replies.end = .reset
    case .silent: replies.end = .silent
    }
    return (replies, nil)
  }
}
