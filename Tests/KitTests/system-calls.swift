// The swift flavor is a line-by-line twin of the C: for every example, both make the
// same network system calls in the same order, as `strace -f -e trace=%network` sees.
import Foundation
import KitHarness
import Testing

@Suite("system calls", .timeLimit(.minutes(1)))
struct SystemCallTests {
  /// Every server with its example's client, for the programs that have a twin.
  static let pairs = ProgramPair.all.filter {
    Kit.program($0.server)?.flavors.contains("swift") == true
      && Kit.program($0.server)?.flavors.contains("c") == true
  }

  @Test("the swift twin makes the C program's network calls", arguments: pairs)
  func sameCalls(pair: ProgramPair) async throws {
    let c = try await trace(pair, flavor: "c")
    let swift = try await trace(pair, flavor: "swift")
    #expect(!c.server.isEmpty && !c.client.isEmpty)
    #expect(swift.server == c.server, "\(pair.server)")
    #expect(swift.client == c.client, "\(pair.client)")
  }

  /// Runs the pair under strace and returns each side's calls, one per line:
  /// the call's name and the symbolic constants among its arguments.
  private func trace(_ pair: ProgramPair, flavor: String) async throws -> (
    server: [String], client: [String]
  ) {
    let port = Ports.reserve()
    let folder = FileManager.default.temporaryDirectory
    let serverLog = folder.appendingPathComponent("kit-\(port)-server.strace").path
    let clientLog = folder.appendingPathComponent("kit-\(port)-client.strace").path
    defer {
      for log in [serverLog, clientLog] { try? FileManager.default.removeItem(atPath: log) }
    }
    let strace = { (log: String) in ["strace", "-f", "-qq", "-e", "trace=%network", "-o", log] }

    let server = try await Running.server(
      Program(flavor: flavor, name: pair.server), port: port, wrapper: strace(serverLog))
    do {
      let client = try Running(
        Program(flavor: flavor, name: pair.client),
        environment: ["KIT_PORT": "\(port)", "KIT_HOST": "127.0.0.1"],
        input: Array("hello world\n".utf8), wrapper: strace(clientLog))
      try await client.finish()
      // A one-client server exits by itself; a looping one is stopped once it is idle
      // again, waiting for its next client: then its trace holds every call it made
      // for this one. SIGTERM lets strace write out its last lines.
      let busy = { (try? ProcessStatus.busy(server.pid))?.joined(separator: "; ") ?? "" }
      try await ProcessStatus.wait(
        for: "\(flavor)/\(pair.server) to exit or wait for a next client", explaining: busy
      ) {
        try server.output.termination != nil || ProcessStatus.isIdle(server.pid)
      }
      if server.output.termination == nil { try await server.stop(signal: SIGTERM) }
      try await server.finish()
    } catch {
      _ = try? await server.stop()
      throw error
    }
    return (try Self.calls(in: serverLog), try Self.calls(in: clientLog))
  }

  /// The calls in a trace, a run of the same call counted once: how many reads a loop
  /// needs depends on how the bytes arrived, not on the program. Thread by thread (or
  /// process), in the order of their first calls: how the calls of two threads
  /// interleave is the scheduler's doing, not the program's.
  static func calls(in log: String) throws -> [String] {
    var threads: [(id: Substring, calls: [String])] = []
    for (thread, call) in try everyCall(in: log) {
      if let index = threads.firstIndex(where: { $0.id == thread }) {
        if threads[index].calls.last != call { threads[index].calls.append(call) }
      } else {
        threads.append((thread, [call]))
      }
    }
    return threads.flatMap(\.calls)
  }

  /// Each call with the thread that made it.
  private static func everyCall(in log: String) throws -> [(thread: Substring, call: String)] {
    try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap { line in
      // "1234 sendto(4, \"text\", 4, MSG_NOSIGNAL, NULL, 0) = 4" -> "sendto MSG_NOSIGNAL NULL"
      let thread = line.prefix { $0.isNumber }
      var call = line.dropFirst(thread.count).drop { $0 == " " }
      guard !call.hasPrefix("<..."), !call.hasPrefix("+++"), !call.hasPrefix("---"),
        let open = call.firstIndex(of: "(")
      else { return nil }  // a resumed call was counted where it began; exits, signals
      if let unfinished = call.range(of: "<unfinished") { call = call[..<unfinished.lowerBound] }
      let arguments = call[open...].replacing(/"(\\.|[^"\\])*"/, with: "\"\"")
      // A call that a signal cut short, which the kernel then restarts unseen by the
      // program ("= ? ERESTARTSYS (To be restarted if SA_RESTART is set)"), is still the
      // same call: whether a signal came at that moment is the machine's timing.
      let constants = arguments.matches(of: /[A-Z][A-Z0-9_]{2,}/).map { String($0.output) }
        .filter { !$0.hasPrefix("ERESTART") && $0 != "SA_RESTART" }
      return (thread, ([String(call[..<open])] + constants).joined(separator: " "))
    }
  }
}
