// Lab 07, stun: the student's STUN client against a STUN server the grader plays,
// scripted per check to answer, drop, mislead and send malformed answers, and against
// a real one, coturn (README.md says what each check means).
import Foundation
import KitHarness
import Synchronization

#if canImport(Glibc)
  import Glibc  // kill, SIGKILL
#endif

extension Lab {
  static let stun = Lab(
    number: "07", name: "stun", programs: ["client"],
    checks: [
      Stun.request, Stun.mappedAddress, Stun.attributes, Stun.randomID, Stun.retransmits,
      Stun.givesUp, Stun.otherTransaction, Stun.lengthPastDatagram, Stun.attributePastEnd,
      Stun.coturn, Stun.behindNAT,
    ])
}

enum Stun {
  static let request = Check(
    "sends-a-binding-request", "one Binding request: 20 bytes, type 0x0001, length 0, the cookie",
    needs: ["client"], limit: .seconds(20)
  ) { solution in
    let run = try await exchange(solution) { request, _ in [success(request, mapped: sample)] }
    try run.expectRequests()
  }

  static let mappedAddress = Check(
    "prints-the-mapped-address", "XOR-MAPPED-ADDRESS decoded: the address and port XORed back",
    needs: ["client"], limit: .seconds(20)
  ) { solution in
    let mapped = randomAddress()
    let run = try await exchange(solution) { request, _ in [success(request, mapped: mapped)] }
    try run.expectRequests()
    try run.expectMapped(mapped, told: "The grader answered with \(mapped.text).")
  }

  static let attributes = Check(
    "walks-the-attributes", "the address after other attributes, one of odd length (padding)",
    needs: ["client"], limit: .seconds(20)
  ) { solution in
    let mapped = randomAddress()
    let told = """
      The grader's answer held SOFTWARE (13 bytes, so 3 of padding), then an attribute your \
      client does not know (0x8022 with 4 bytes), then XOR-MAPPED-ADDRESS \(mapped.text).
      """
    let run = try await exchange(solution) { request, _ in
      [
        success(
          request,
          attributes: [
            attribute(0x8022, Array("kit grader 07".utf8)), attribute(0x8028, [1, 2, 3, 4]),
            xorMappedAddress(mapped),
          ])
      ]
    }
    try run.expectRequests()
    try run.expectMapped(mapped, told: told)
  }

  static let randomID = Check(
    "random-transaction-id", "a new random 96-bit transaction id in each run",
    needs: ["client"], limit: .seconds(30)
  ) { solution in
    var ids: [[UInt8]] = []
    for _ in 0..<2 {
      let run = try await exchange(solution) { request, _ in [success(request, mapped: sample)] }
      try run.expectRequests()
      ids.append(Array(run.requests[0].bytes[8..<20]))
    }
    let shown = ids.map(hex).joined(separator: " and ")
    guard ids[0] != ids[1], ids.allSatisfy({ $0.contains { $0 != 0 } }) else {
      throw CheckFailed(
        """
        your client's two runs used the transaction ids \(shown). Each request needs a new \
        random one (getrandom fills 12 bytes): the id is how a client tells its own answer \
        from a stale or forged one.
        """)
    }
  }

  static let retransmits = Check(
    "retransmits-with-doubling-timeout", "no answer: the same request after 500 ms, then 1 s",
    needs: ["client"], limit: .seconds(20)
  ) { solution in
    let mapped = randomAddress()
    let told = "The grader dropped your first two requests and answered the third."
    let run = try await exchange(solution) { request, index in
      index < 2 ? [] : [success(request, mapped: mapped)]
    }
    try run.expectRequests()
    guard run.requests.count >= 3 else {
      throw CheckFailed(
        """
        \(told) Your client sent \(run.requests.count) request(s): after 500 ms without an \
        answer it must send the same request again, then wait twice as long.
        \(run.transcript)
        """)
    }
    try run.expectFinished(told)
    let gaps = zip(run.requests, run.requests.dropFirst()).map { $1.at - $0.at }
    guard gaps[0] >= .milliseconds(400), gaps[0] <= .milliseconds(900),
      gaps[1] >= .milliseconds(850), gaps[1] <= .milliseconds(1700)
    else {
      throw CheckFailed(
        """
        \(told) The gaps between your first requests were \(milliseconds(gaps[0])) ms and \
        \(milliseconds(gaps[1])) ms; they should be 500 ms, then 1000 ms (the timeout doubles).
        \(run.transcript)
        """)
    }
    try run.expectMapped(mapped, told: told)
  }

  static let givesUp = Check(
    "gives-up-after-10-seconds", "never an answer: stop after 10 s, stderr, exit status 1",
    needs: ["client"], limit: .seconds(25)
  ) { solution in
    let run = try await exchange(solution, patience: .seconds(14)) { _, _ in [] }
    try run.expectRequests()
    let told = "The grader never answered."
    try run.expectFinished(told + " A client gives up 10 s after its first request.")
    let last = run.elapsed
    guard last >= .seconds(7), last <= .seconds(12), run.requests.count >= 4 else {
      throw CheckFailed(
        """
        \(told) Your client sent \(run.requests.count) requests and ended after \
        \(milliseconds(last)) ms: it should try at 0, 0.5, 1.5, 3.5 and 7.5 s (500 ms, \
        doubling) and give up 10 s after the first.
        \(run.transcript)
        """)
    }
    try run.expectError(told)
  }

  static let otherTransaction = Check(
    "ignores-another-transaction-id", "an answer with another transaction id is not ours",
    needs: ["client"], limit: .seconds(20)
  ) { solution in
    let mapped = randomAddress()
    let decoy = Address(octets: [192, 0, 2, 66], port: 6666)
    let told = """
      The grader first sent an answer with another transaction id (saying \(decoy.text)), \
      then the real one (\(mapped.text)).
      """
    let run = try await exchange(solution) { request, index in
      guard index == 0 else { return [success(request, mapped: mapped)] }
      var forged = request
      forged[19] ^= 0xFF
      return [success(forged, mapped: decoy), success(request, mapped: mapped)]
    }
    try run.expectRequests()
    try run.expectMapped(mapped, told: told)
  }

  static let lengthPastDatagram = Check(
    "rejects-length-past-datagram", "a header length longer than the datagram: an error, no crash",
    needs: ["client"], limit: .seconds(20)
  ) { solution in
    let told = """
      The grader's answer says 200 bytes of attributes follow its header, but the datagram \
      ends 12 bytes after it.
      """
    let run = try await exchange(solution) { request, _ in
      var answer = success(request, mapped: sample)
      answer[2] = 0
      answer[3] = 200
      return [answer]
    }
    try run.expectRequests()
    try run.expectFinished(told)
    try run.expectError(told)
  }

  static let attributePastEnd = Check(
    "rejects-attribute-past-end", "an attribute longer than the message: an error, no crash",
    needs: ["client"], limit: .seconds(20)
  ) { solution in
    let told = """
      The grader's answer holds XOR-MAPPED-ADDRESS whose length field says 60 bytes, in a \
      message with 8 bytes after that attribute's header.
      """
    let run = try await exchange(solution) { request, _ in
      var answer = success(request, mapped: sample)
      answer[23] = 60
      return [answer]
    }
    try run.expectRequests()
    try run.expectFinished(told)
    try run.expectError(told)
  }

  static let coturn = Check(
    "works-with-coturn", "against coturn, a real STUN server: your own address and port",
    needs: ["client"], limit: .seconds(30)
  ) { solution in
    let server = try await Turnserver.start()
    defer { server.stop() }
    let client = try Running(
      solution.program("client"), arguments: ["127.0.0.1", "\(server.port)"])
    let output: Output
    do {
      output = try await client.finish(within: .seconds(12))
    } catch {
      _ = try? await client.stop()
      throw CheckFailed(
        "your client did not finish within 12 s against coturn on port \(server.port).")
    }
    let printed = output.stdoutText
    let prefix = "XOR-MAPPED-ADDRESS 127.0.0.1:"
    guard printed.hasPrefix(prefix), printed.hasSuffix("\n"),
      let port = UInt16(printed.dropFirst(prefix.count).dropLast()), port >= 1024,
      port != server.port, output.termination == .exit(0)
    else {
      // 127.0.0.1 XORed with the cookie: the address printed as it travels
      let travelling = printed.contains("94.18.164.67:")
      throw CheckFailed(
        """
        coturn saw your client at 127.0.0.1 (its own port); your client should print that, \
        as "\(prefix)PORT", and exit 0.\(travelling
          ? " You printed the address as it travels (94.18.164.67 is 127.0.0.1 XOR 0x2112A442): XOR it back."
          : "") It ended with \
        \(output.termination.map { "\($0)" } ?? "nothing"). Its stdout:
        \(shown(printed))
          its stderr:
        \(shown(output.stderrText))
        """)
    }
  }
}

extension Stun {
  static let behindNAT = Check(
    "works-behind-a-nat", "behind the kit's symmetric NAT (make nat-lab): the NAT's address",
    needs: ["client"], limit: .seconds(60)
  ) { solution in
    // nat-lab takes its programs from one folder, as FLAVOR-PROGRAM: the student's
    // client as flavor "yours" in peer A, the kit's C client in peer B.
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("kit-grade-nat-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    for (name, program) in [
      ("yours-stun-client", solution.program("client")),
      ("c-stun-client", kitProgram("c", "stun-client")),
      ("c-rendezvous-server", kitProgram("c", "rendezvous-server")),
    ] {
      try FileManager.default.createSymbolicLink(
        at: folder.appendingPathComponent(name), withDestinationURL: program.path)
    }
    let lab = try Running(
      command: [
        Kit.root.path + "/scripts/nat-lab", "--stun", "--mode", "symmetric", "--a", "yours",
        "--b", "c", "--programs", folder.path, "--out", folder.appendingPathComponent("run").path,
      ], label: "nat-lab")
    let output: Output
    do {
      output = try await lab.finish(within: .seconds(50))  // nat-lab ends itself by 40 s
    } catch {
      _ = try? await lab.stop(signal: SIGTERM)  // it removes its namespaces on TERM
      throw CheckFailed("make nat-lab did not finish within 50 s.")
    }
    let lines = output.stdoutText.split(separator: "\n").map(String.init)
    // "NAT-A 10.0.0.5:45487 -> 203.0.113.1:48176 for 192.0.2.10:3478 (udp)"
    guard
      let mapping = lines.first(where: {
        $0.hasPrefix("NAT-A 10.0.0.5:") && $0.hasSuffix("for 192.0.2.10:3478 (udp)")
      })
    else {
      throw CheckFailed(
        """
        the kit's NAT saw no request from your client to coturn. nat-lab needs root or \
        unprivileged user namespaces (and coturn, nftables, tcpdump, conntrack: ./kit \
        nat-lab installs them); it said:
        \(shown(output.stdoutText + output.stderrText))
        """)
    }
    let parts = mapping.split(separator: " ")
    let local = String(parts[1].split(separator: ":")[1])
    let outside = String(parts[3])  // 203.0.113.1:PORT
    let printed = lines.first { $0.hasPrefix("A | ") }.map { String($0.dropFirst(4)) } ?? ""
    guard printed != "XOR-MAPPED-ADDRESS \(outside)" else { return }
    var why = ""
    if printed.contains("10.0.0.5") || printed.hasSuffix(":\(local)") {
      why = " You printed your side of the NAT (10.0.0.5:\(local)): print what the answer says."
    }
    throw CheckFailed(
      """
      behind the kit's symmetric NAT, coturn saw your client at \(outside) (NAT-A mapped \
      10.0.0.5:\(local) to it), so your client should print "XOR-MAPPED-ADDRESS \(outside)".\(why)
        nat-lab's story:
      \(shown(output.stdoutText))
      """)
  }
}

// MARK: - STUN messages, as the grader builds them

/// An IPv4 address and port, as a hint writes them.
struct Address: Sendable {
  let octets: [UInt8]
  let port: UInt16
  var text: String { octets.map(String.init).joined(separator: ".") + ":\(port)" }
}

extension Stun {
  static let cookie: [UInt8] = [0x21, 0x12, 0xA4, 0x42]
  static let sample = Address(octets: [203, 0, 113, 7], port: 50001)

  /// A public-looking address the client cannot guess: 198.51.100.x, a random port.
  static func randomAddress() -> Address {
    Address(octets: [198, 51, 100, .random(in: 1...254)], port: .random(in: 1024...65535))
  }

  static func bigEndian(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

  /// Type, length, value, and zeros to the next multiple of 4.
  static func attribute(_ type: UInt16, _ value: [UInt8]) -> [UInt8] {
    bigEndian(type) + bigEndian(UInt16(value.count)) + value
      + [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
  }

  static func xorMappedAddress(_ address: Address) -> [UInt8] {
    let port = bigEndian(address.port ^ 0x2112)
    let octets = zip(address.octets, cookie).map { $0 ^ $1 }
    return attribute(0x0020, [0, 0x01] + port + octets)
  }

  /// A Binding success answer to `request` (its transaction id, whatever it is).
  static func success(_ request: [UInt8], mapped: Address) -> [UInt8] {
    success(request, attributes: [xorMappedAddress(mapped)])
  }

  static func success(_ request: [UInt8], attributes: [[UInt8]]) -> [UInt8] {
    let body = attributes.flatMap { $0 }
    let id = request.count >= 20 ? Array(request[8..<20]) : [UInt8](repeating: 0, count: 12)
    return bigEndian(0x0101) + bigEndian(UInt16(body.count)) + cookie + id + body
  }
}

func hex(_ bytes: [UInt8]) -> String {
  bytes.map { String(format: "%02x", $0) }.joined()
}

private func milliseconds(_ duration: Duration) -> Int {
  Int(duration / .milliseconds(1))
}

// MARK: - A run of the client against the grader's server

/// One run: what the client printed, and each request with when it came.
struct StunRun {
  struct Request {
    let at: Duration
    let bytes: [UInt8]
  }
  let output: Output
  let requests: [Request]
  let hung: Bool
  /// From the first request to the client's end.
  let elapsed: Duration

  var transcript: String {
    let ended =
      hung
      ? "was still running, and was stopped"
      : "ended with \(output.termination.map { "\($0)" } ?? "nothing")"
    let sent =
      requests.isEmpty
      ? "    (none)"
      : requests.enumerated().map { index, request in
        "    \(index + 1). at \(milliseconds(request.at)) ms: \(request.bytes.count) bytes \(hex(Array(request.bytes.prefix(24))))\(request.bytes.count > 24 ? "..." : "")"
      }.joined(separator: "\n")
    return """
        your client \(ended). Its stdout:
      \(shown(output.stdoutText))
        its stderr:
      \(shown(output.stderrText))
        the requests it sent (hex), in order:
      \(Report.clipped(sent, lines: 12))
      """
  }

  /// Something arrived, and every request is a Binding request with one transaction id.
  func expectRequests() throws {
    guard let first = requests.first?.bytes else {
      throw CheckFailed(
        """
        nothing arrived from your client at the grader's STUN server (the HOST and PORT \
        arguments: localhost and a port of the grader's).
        \(transcript)
        """)
    }
    var problems: [String] = []
    if first.count != 20 { problems.append("it is \(first.count) bytes, not 20 (a header alone)") }
    if first.count >= 2, first[0] != 0x00 || first[1] != 0x01 {
      problems.append("its type is 0x\(hex(Array(first[0..<2]))), not 0x0001 (Binding request)")
    }
    if first.count >= 4, first[2] != 0 || first[3] != 0 {
      problems.append("its length field is 0x\(hex(Array(first[2..<4]))), not 0 (no attributes)")
    }
    if first.count >= 8, Array(first[4..<8]) != Stun.cookie {
      problems.append(
        "bytes 4 to 7 are \(hex(Array(first[4..<8]))), not the magic cookie 2112a442 (in network byte order)"
      )
    }
    if let other = requests.first(where: { $0.bytes != first }) {
      problems.append(
        "a later request differs from the first (\(hex(other.bytes))): a retransmission is the same bytes, the same transaction id"
      )
    }
    guard !problems.isEmpty else { return }
    throw CheckFailed(
      "your client's request is not a STUN Binding request: \(problems.joined(separator: "; ")).\n\(transcript)"
    )
  }

  func expectFinished(_ told: String) throws {
    guard hung else { return }
    throw CheckFailed("your client did not finish. \(told)\n\(transcript)")
  }

  func expectMapped(_ mapped: Address, told: String) throws {
    try expectFinished(told)
    let expected = "XOR-MAPPED-ADDRESS \(mapped.text)\n"
    guard output.stdoutText != expected || output.termination != .exit(0) else { return }
    var why = ""
    let unxored = Address(
      octets: zip(mapped.octets, Stun.cookie).map { $0 ^ $1 }, port: mapped.port ^ 0x2112)
    if output.stdoutText.contains(unxored.text) {
      why =
        " You printed the bytes as they travel: XOR the port with 0x2112 and the address with the cookie 0x2112A442."
    } else if output.stdoutText.contains("127.0.0.1") {
      why = " 127.0.0.1 is your own side; the answer says what the server saw."
    }
    throw CheckFailed(
      """
      \(told) Your client should print "XOR-MAPPED-ADDRESS \(mapped.text)" and exit 0.\(why)
      \(transcript)
      """)
  }

  /// Exit status 1 with a word on stderr, nothing on stdout, and no crash.
  func expectError(_ told: String) throws {
    if case .signal(let number) = output.termination {
      throw CheckFailed(
        """
        \(told) Your client was killed by signal \(number): it read past what arrived. \
        Check every length against the bytes you received before you read.
        \(transcript)
        """)
    }
    guard output.termination == .exit(1), !output.stderrText.isEmpty,
      !output.stdoutText.contains("ADDRESS")
    else {
      throw CheckFailed(
        """
        \(told) Your client should print no address, say what was wrong on stderr and exit \
        with status 1.
        \(transcript)
        """)
    }
  }
}

extension Stun {
  /// Runs the client with "localhost PORT" against the grader's server, which answers
  /// each request as `script` says (the request, its index from 0) until the client ends.
  static func exchange(
    _ solution: Solution, patience: Duration = .seconds(8),
    script: @escaping @Sendable (_ request: [UInt8], _ index: Int) -> [[UInt8]]
  ) async throws -> StunRun {
    let server = try DatagramPeer()
    let done = Atomic<Bool>(false)
    let start = ContinuousClock.now
    let client = try Running(
      solution.program("client"), arguments: ["localhost", "\(server.port)"])
    let serving = Task {
      try await onThread {
        var requests: [StunRun.Request] = []
        while !done.load(ordering: .acquiring) {
          // 50 ms: how soon the end of the client is noticed, never a wait for it
          guard let received = try? server.receiveWithSender(within: .milliseconds(50)) else {
            continue
          }
          let (bytes, from) = received
          requests.append(.init(at: ContinuousClock.now - start, bytes: bytes))
          for answer in script(bytes, requests.count - 1) { server.send(answer, to: from) }
        }
        return requests
      }
    }
    var hung = false
    let output: Output
    do {
      output = try await client.finish(within: patience)
    } catch {
      hung = true
      output = (try? await client.stop()) ?? client.output
    }
    let ended = ContinuousClock.now - start
    done.store(true, ordering: .releasing)
    let requests = try await serving.value
    return StunRun(
      output: output, requests: requests, hung: hung,
      elapsed: ended - (requests.first?.at ?? .zero))
  }
}

/// coturn on a port of the grader's, on 127.0.0.1, for one check.
struct Turnserver {
  let process: Running
  let port: UInt16

  /// Started, and bound to its UDP port (it opens TCP too, maybe first).
  static func start() async throws -> Turnserver {
    let path = try Tools.require("turnserver", package: "coturn")
    let port = Ports.reserve()
    let process = try Running(
      command: [
        path, "--listening-ip", "127.0.0.1", "--listening-port", "\(port)", "--no-tls",
        "--no-dtls", "--no-cli", "--stun-only", "--log-file", "stdout", "--simple-log",
      ], label: "turnserver")
    do {
      try await process.waitUntilOpen(port, .udp)
    } catch {
      _ = try? await process.stop()
      throw CheckFailed("the grader could not start coturn: \(error)")
    }
    return Turnserver(process: process, port: port)
  }

  func stop() { kill(-process.pid, SIGKILL) }
}
