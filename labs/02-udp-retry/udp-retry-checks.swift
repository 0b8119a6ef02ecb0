// Lab 02, udp-retry: the student's client against a server that the grader plays
// itself, scripted per check to drop, delay and double answers as a network may, and
// logging every datagram the client sends (README.md says what each check means).
import KitHarness
import Synchronization

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

extension Lab {
  static let udpRetry = Lab(
    number: "02", name: "udp-retry", programs: ["client"],
    checks: [
      UdpRetry.inOrder, UdpRetry.retransmits, UdpRetry.staleAndDuplicates, UdpRetry.givesUp,
      UdpRetry.givesUpAmidStale, UdpRetry.kitHost,
    ])
}

enum UdpRetry {
  /// Every line answered at once.
  static let inOrder = Check(
    "answers-in-order", "a server that answers at once: a datagram a line, each answer printed",
    needs: ["client"], limit: .seconds(20)
  ) { solution in
    let lines = ["hello", "Two words, and more", "the end"]
    let run = try await exchange(solution, lines) { _, _ in .answer }
    try run.expectSomethingArrived()
    try run.expectFinished("Every answer came at once.")
    try run.expectRequests(lines)
    try run.expectStdout(answers(lines))
    try run.expectTermination(.exit(0), "every line was answered, then its input ended")
  }

  /// The first try of line 1 is lost, and the first two of line 3.
  static let retransmits = Check(
    "retransmits-lost-datagrams", "a server that drops some tries: the same datagram again",
    needs: ["client"], limit: .seconds(20)
  ) { solution in
    let lines = ["first", "second", "third"]
    let told = "The grader dropped the first try of line 1 and the first two of line 3."
    let run = try await exchange(solution, lines) { seq, tries in
      (seq == 1 && tries == 1) || (seq == 3 && tries <= 2) ? .drop : .answer
    }
    try run.expectSomethingArrived()
    try run.expectFinished(
      "\(told) Does your client stop waiting 500 ms after a send? recvfrom alone waits forever.")
    try run.expectRetransmitted(lines, told)
    try run.expectRequests(lines)
    try run.expectStdout(answers(lines), why: told)
    try run.expectTermination(.exit(0), "every line was answered in the end")
  }

  /// Line 1 answered twice; line 2's first try answered late: after its second try's
  /// answer, just before line 3's.
  static let staleAndDuplicates = Check(
    "ignores-stale-and-duplicates", "late and doubled answers: each line printed once, in order",
    needs: ["client"], limit: .seconds(20)
  ) { solution in
    let lines = ["alpha", "bravo", "charlie", "delta"]
    let told = """
      The grader answered line 1 twice, and line 2's first try late: after the answer to \
      its second try, just before line 3's answer.
      """
    let run = try await exchange(solution, lines) { seq, tries in
      seq == 1 ? .answerTwice : seq == 2 && tries == 1 ? .answerLate : .answer
    }
    try run.expectSomethingArrived()
    try run.expectFinished(
      "\(told) Does your client stop waiting 500 ms after a send, and send the same datagram again?"
    )
    try run.expectRetransmitted(lines, told)
    try run.expectStdout(
      answers(lines),
      why: """
        \(told) An answer whose SEQ is not the line's is stale or a duplicate: read it, \
        ignore it and keep waiting for the line's own.
        """)
    try run.expectRequests(lines)
    try run.expectTermination(.exit(0), "every line was answered in the end")
  }

  /// Nothing is ever answered.
  static let givesUp = Check(
    "gives-up-after-5-tries", "a server that never answers: 5 tries, then stderr and exit 1",
    needs: ["client"], limit: .seconds(20)
  ) { solution in
    let run = try await exchange(solution, ["hello", "world"]) { _, _ in .drop }
    try run.expectSomethingArrived()
    try run.expectGaveUp(["hello"], told: "The grader never answered.", amidStale: false)
  }

  /// Line 1 answered; then, while the client tries line 2, line 1's answer again every
  /// 100 ms, and never line 2's.
  static let givesUpAmidStale = Check(
    "gives-up-amid-stale-answers", "an old answer every 100 ms: still 5 tries of 500 ms",
    needs: ["client"], limit: .seconds(20)
  ) { solution in
    let run = try await exchange(solution, ["one", "two"]) { seq, _ in
      seq == 1 ? .answer : .repeatLastAnswer
    }
    try run.expectSomethingArrived()
    try run.expectGaveUp(
      ["one", "two"],
      told: "The grader answered line 1, then sent that answer again every 100 ms, never line 2's.",
      amidStale: true)
  }

  /// KIT_HOST, not a fixed 127.0.0.1: the grader's server is on 127.0.0.2 only.
  static let kitHost = Check(
    "client-uses-kit-host", "your client sends to KIT_HOST (127.0.0.2 here)",
    needs: ["client"], limit: .seconds(20)
  ) { solution in
    let run = try await exchange(solution, ["ping"], host: "127.0.0.2") { _, _ in .answer }
    try run.expectSomethingArrived()
    try run.expectFinished("Its answer came at once.")
    try run.expectStdout(answers(["ping"]))
    try run.expectTermination(.exit(0), "its line was answered, then its input ended")
  }

  /// Longer than a right client ever needs (giving up takes 2.5 s), so that one that
  /// waits forever fails with a hint, not by the check's limit.
  fileprivate static let patience = Duration.seconds(8)
  fileprivate static let givingUp = "no answer after 5 tries"

  /// What the client prints for these lines: their answers, one line each.
  fileprivate static func answers(_ lines: some Collection<String>) -> String {
    lines.map { "FROM SERVER: \(String(decoding: uppercased(Array($0.utf8)), as: UTF8.self))\n" }
      .joined()
  }

  /// ASCII letters only, as C's toupper does in the C locale.
  fileprivate static func uppercased(_ bytes: [UInt8]) -> [UInt8] {
    bytes.map { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) ? $0 - 32 : $0 }
  }

  /// Runs the client with `lines` on stdin against a server on host:KIT_PORT that
  /// follows `script`, until the client ends or `patience` runs out.
  private static func exchange(
    _ solution: Solution, _ lines: [String], host: String = "127.0.0.1",
    script: @escaping @Sendable (_ seq: Int, _ tries: Int) -> Move
  ) async throws -> Exchange {
    let port = Ports.reserve()
    let server = try ScriptedServer(host: host, port: port)  // bound before the client sends
    let start = ContinuousClock.now
    let client = try Running(
      solution.program("client"), environment: ["KIT_PORT": "\(port)", "KIT_HOST": host],
      input: Array(lines.map { $0 + "\n" }.joined().utf8))
    let serving = Task { try await onThread { server.serve(script) } }
    var output: Output
    var hung = false
    do {
      output = try await client.finish(within: patience)
    } catch {
      hung = true
      output = (try? await client.stop()) ?? client.output
    }
    let elapsed = ContinuousClock.now - start
    server.stop()
    return Exchange(
      output: output, datagrams: try await serving.value, elapsed: elapsed, hung: hung,
      address: "\(host):\(port)")
  }
}

/// What the grader's server does with one try of a line (the nth datagram with its SEQ).
private enum Move: Sendable {
  /// "SEQ LINE-UPPERCASED", at once.
  case answer
  /// The answer, then the same again: a duplicate.
  case answerTwice
  /// Nothing, as if the network had lost the datagram.
  case drop
  /// The answer, but only once a later line's datagram arrives: stale by then.
  case answerLate
  /// No answer; instead the last answer sent, again every 100 ms from now on.
  case repeatLastAnswer
}

/// One run of the student's client against the grader's server, and what it showed.
private struct Exchange {
  let output: Output
  /// Every datagram the server received, in order.
  let datagrams: [[UInt8]]
  let elapsed: Duration
  /// Still running after `UdpRetry.patience`, then killed.
  let hung: Bool
  let address: String

  func tries(of request: String) -> Int {
    datagrams.filter { $0 == Array(request.utf8) }.count
  }

  /// How the client ended, what it printed and what it sent: the end of every hint.
  var transcript: String {
    let ended =
      hung
      ? "was still running after \(UdpRetry.patience), and was stopped"
      : "ended with \(output.termination.map { "\($0)" } ?? "nothing") after \(seconds(elapsed)) s"
    return """
        your client \(ended). Its stdout:
      \(shown(output.stdoutText))
        its stderr:
      \(shown(output.stderrText))
        the datagrams it sent, in order:
      \(listed(datagrams))
      """
  }

  func expectSomethingArrived() throws {
    guard datagrams.isEmpty else { return }
    throw CheckFailed(
      """
      nothing arrived at \(address) (KIT_HOST:KIT_PORT) from your client: does it send \
      there? The grader holds the lecture's port 9876, so a client that ignores KIT_PORT \
      is never answered.
      \(transcript)
      """)
  }

  func expectFinished(_ told: String) throws {
    guard hung else { return }
    throw CheckFailed(
      "your client did not finish within \(UdpRetry.patience). \(told)\n\(transcript)")
  }

  /// A client that printed the right answers up to a line whose first try went
  /// unanswered, and sent that line only once: it never sends again.
  func expectRetransmitted(_ lines: [String], _ told: String) throws {
    let printed = output.stdoutText
    let expected = UdpRetry.answers(lines)
    guard printed != expected, expected.hasPrefix(printed), printed.last ?? "\n" == "\n" else {
      return
    }
    let stuck = printed.split(separator: "\n").count
    let request = "\(stuck + 1) \(lines[stuck])"
    guard tries(of: request) == 1 else { return }
    throw CheckFailed(
      """
      \(told) Your client sent "\(request)" once and never again: after 500 ms without \
      its answer, it must send the same datagram again (5 tries in all).
      \(transcript)
      """)
  }

  /// One datagram per line, "SEQ LINE" with SEQ from 1; each may come more than once.
  func expectRequests(_ lines: [String]) throws {
    let expected = lines.enumerated().map { Array("\($0 + 1) \($1)".utf8) }
    var distinct: [[UInt8]] = []
    for datagram in datagrams where datagram != distinct.last { distinct.append(datagram) }
    guard distinct != expected else { return }
    throw CheckFailed(
      """
      your client's datagrams are not the protocol's: one "SEQ LINE" per line, SEQ \
      counting from 1, the line without its newline, and a retry the same bytes again.
        expected (each may come again when its answer is late):
      \(listed(expected))
      \(transcript)
      """)
  }

  func expectStdout(_ expected: String, why: String = "") throws {
    guard output.stdoutText != expected else { return }
    throw CheckFailed(
      """
      your client's stdout should be one "FROM SERVER: " line per answered line, in \
      order.\(why.isEmpty ? "" : " \(why)")
        expected:
      \(shown(expected))
      \(transcript)
      """)
  }

  func expectTermination(_ expected: Termination, _ why: String) throws {
    guard output.termination != expected else { return }
    throw CheckFailed("your client should end with \(expected): \(why).\n\(transcript)")
  }

  /// The answers to all lines but the last, then five tries of the last, 500 ms each,
  /// then the giving-up line on stderr and exit status 1. `amidStale`: the server sent
  /// stale answers all along the last line's tries, which the hints then speak of.
  func expectGaveUp(_ lines: [String], told: String, amidStale: Bool) throws {
    let request = "\(lines.count) \(lines.last!)"
    let tries = tries(of: request)
    let waiting =
      amidStale
      ? """
      A try ends 500 ms after its send, whatever arrives meanwhile. SO_RCVTIMEO times \
      each recvfrom afresh, so every ignored answer would start another 500 ms: wait \
      until a deadline instead, with poll.
      """
      : "recvfrom alone waits forever: stop waiting 500 ms after each send (poll)."
    if hung {
      let why =
        tries > 5
        ? "It sent \"\(request)\" \(tries) times: after 5 tries it must give up."
        : "It sent \"\(request)\" \(tries == 1 ? "once" : "\(tries) times") and went on waiting. \(waiting)"
      throw CheckFailed(
        "your client did not give up within \(UdpRetry.patience). \(told) \(why)\n\(transcript)")
    }
    try expectStdout(
      UdpRetry.answers(lines.dropLast()),
      why: amidStale
        ? "\(told) An answer whose SEQ is not the line's is stale: read it and ignore it."
        : "\(told) A line with no answer prints nothing.")
    guard tries == 5 else {
      throw CheckFailed(
        """
        \(told) Your client sent "\(request)" \(tries) time\(tries == 1 ? "" : "s"): it \
        must try 5 times, the same datagram 500 ms apart, and then give up.
        \(transcript)
        """)
    }
    try expectRequests(lines)
    guard elapsed >= .seconds(2) else {
      throw CheckFailed(
        """
        \(told) Your client gave up after its 5 tries, but within \(seconds(elapsed)) s: \
        each try waits 500 ms for its answer, 2.5 s in all. \(amidStale
          ? "A stale answer ends neither the wait nor the try."
          : "(A timeval's tv_usec counts microseconds.)")
        \(transcript)
        """)
    }
    guard output.stderrText.contains(UdpRetry.givingUp) else {
      throw CheckFailed(
        "\(told) After its 5 tries your client should say \"\(UdpRetry.givingUp)\" on stderr.\n\(transcript)"
      )
    }
    try expectTermination(.exit(1), "it gave up")
  }
}

/// Datagrams as a hint lists them: numbered and quoted, so a newline or a NUL shows,
/// and a long one cut short with its length (a whole 1024-byte buffer sent, say).
private func listed(_ datagrams: [[UInt8]]) -> String {
  guard !datagrams.isEmpty else { return "    (none)" }
  let lines = datagrams.enumerated().map { index, bytes in
    let text = String(decoding: bytes.prefix(60), as: UTF8.self).debugDescription
    return "    \(index + 1). \(text)\(bytes.count > 60 ? "... (\(bytes.count) bytes)" : "")"
  }
  return Report.clipped(lines.joined(separator: "\n"), lines: 20)
}

/// "2.5": a duration in seconds, to a tenth.
private func seconds(_ duration: Duration) -> String {
  "\((duration / .milliseconds(100)).rounded() / 10)"
}

/// The server the grader plays: a UDP socket on host:port that answers the client's
/// datagrams as a script says, on a thread of its own, and keeps every one it gets.
private final class ScriptedServer: Sendable {
  private let fd: Int32
  private let stopped = Atomic<Bool>(false)

  init(host: String, port: UInt16) throws {
    fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    let parsed = inet_pton(AF_INET, host, &address.sin_addr)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard fd >= 0, parsed == 1, bound == 0 else {
      let reason = String(cString: strerror(errno))
      if fd >= 0 { close(fd) }
      throw CheckFailed("the grader could not open its server on \(host):\(port): \(reason)")
    }
  }

  deinit { close(fd) }

  /// Makes serve() return once it has read what is already queued: the client has ended.
  func stop() { stopped.store(true, ordering: .releasing) }

  /// Answers as `script` says until stop() (or 20 s, a backstop), then returns every
  /// datagram that came, in order.
  func serve(_ script: (_ seq: Int, _ tries: Int) -> Move) -> [[UInt8]] {
    let clock = ContinuousClock()
    let backstop = clock.now + .seconds(20)
    var received: [[UInt8]] = []
    var tries: [Int: Int] = [:]
    var late: [(seq: Int, answer: [UInt8], to: sockaddr_in)] = []
    var last: (answer: [UInt8], to: sockaddr_in)?
    var repeating = false
    var nextRepeat = clock.now
    while clock.now < backstop {
      if repeating, let last, clock.now >= nextRepeat {
        send(last.answer, to: last.to)
        nextRepeat = clock.now + .milliseconds(100)
      }
      let stopping = stopped.load(ordering: .acquiring)
      // 20 ms: how soon a stop() or a repeat is due, never a wait for the client
      guard let datagram = receive(waitingMs: stopping ? 0 : 20) else {
        if stopping { break }
        continue
      }
      received.append(datagram.bytes)
      guard let request = Self.parse(datagram.bytes) else { continue }  // not "SEQ LINE"
      let seq = request.seq
      tries[seq, default: 0] += 1
      for held in late where held.seq < seq { send(held.answer, to: held.to) }
      late.removeAll { $0.seq < seq }
      let answer = Array("\(seq) ".utf8) + UdpRetry.uppercased(request.line)
      switch script(seq, tries[seq]!) {
      case .answer:
        send(answer, to: datagram.sender)
        last = (answer, datagram.sender)
      case .answerTwice:
        send(answer, to: datagram.sender)
        send(answer, to: datagram.sender)
        last = (answer, datagram.sender)
      case .drop:
        break
      case .answerLate:
        late.append((seq, answer, datagram.sender))
      case .repeatLastAnswer:
        repeating = true
      }
    }
    return received
  }

  /// "SEQ LINE": the decimal SEQ and the bytes after its space.
  private static func parse(_ bytes: [UInt8]) -> (seq: Int, line: [UInt8])? {
    guard let space = bytes.firstIndex(of: UInt8(ascii: " ")), (1...9).contains(space),
      let seq = Int(String(decoding: bytes[..<space], as: UTF8.self))
    else { return nil }
    return (seq, Array(bytes[(space + 1)...]))
  }

  private func receive(waitingMs: Int32) -> (bytes: [UInt8], sender: sockaddr_in)? {
    var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&ready, 1, waitingMs) == 1 else { return nil }
    var buffer = [UInt8](repeating: 0, count: 65536)
    var sender = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let count = withUnsafeMutablePointer(to: &sender) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        recvfrom(fd, &buffer, buffer.count, 0, $0, &length)
      }
    }
    return count < 0 ? nil : (Array(buffer[..<count]), sender)
  }

  private func send(_ bytes: [UInt8], to address: sockaddr_in) {
    var address = address
    _ = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { to in
        bytes.withUnsafeBytes {
          sendto(fd, $0.baseAddress, $0.count, 0, to, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
    }
  }
}
