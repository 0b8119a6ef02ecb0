// Starting a server and knowing when it is ready, without sleeping and without
// spending a connection on a server that accepts just one.
import Foundation

extension Running {
  /// Starts `program` on `port` and returns once the port is open, failing early with
  /// the server's stderr if it exits first (e.g. `bind failed`).
  package static func server(
    _ program: Program, port: UInt16, arguments: [String] = [], wrapper: [String] = [],
    within limit: Duration = .seconds(10)
  ) async throws -> Running {
    let server = try Running(
      program, arguments: arguments, environment: ["KIT_PORT": "\(port)"], wrapper: wrapper)
    do {
      try await server.waitUntilOpen(port, within: limit)
    } catch {
      _ = try? await server.stop()
      throw error
    }
    return server
  }

  /// Waits until `port` is open (Ports.isOpen: listening TCP or bound UDP), failing
  /// early, with the program's stderr, if the program exits first (`bind failed`).
  /// The one readiness wait of the harness: no connection is spent on it. `transport`
  /// waits for that one only.
  package func waitUntilOpen(
    _ port: UInt16, _ transport: Transport? = nil, within limit: Duration = .seconds(10)
  ) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + limit
    var interval = Duration.milliseconds(2)
    while !Ports.isOpen(port, transport) {
      if let ended = output.termination {
        // Its exit can be seen before its last words are read from the pipe: wait for them.
        let seen = (try? await finish(within: .seconds(2))) ?? output
        throw HarnessError(
          description: "\(label) exited (\(ended)) before opening port \(port)"
            + (seen.stderrText.isEmpty ? "" : ": \(seen.stderrText)")
            + (seen.stderrText.contains("in use") ? Self.taken(port) : ""))
      }
      if clock.now > deadline {
        throw HarnessError(description: "\(label) did not open port \(port) within \(limit)")
      }
      try await Task.sleep(for: interval)  // allowed: poll interval of a bounded readiness check
      interval = min(interval * 2, .milliseconds(50))
    }
  }

  /// "Address already in use" on a port reserved for one test: who has it. A TCP socket
  /// bound but not listening is in no table of /proc/net, and neither is one closed
  /// again since.
  static func taken(_ port: UInt16) -> String {
    let holders = Ports.holders(of: port)
    return holders.isEmpty
      ? "(no socket on port \(port) is in /proc/net now: it was bound without listening, or"
        + " for a moment only)"
      : "port \(port) is taken: " + holders.joined(separator: "; ")
  }

  /// Runs `body` with the server started; stops the server however `body` ends.
  package static func withServer<Result: Sendable>(
    _ program: Program, port: UInt16, arguments: [String] = [], wrapper: [String] = [],
    within limit: Duration = .seconds(10), _ body: (Running) async throws -> Result
  ) async throws -> Result {
    let server = try await Running.server(
      program, port: port, arguments: arguments, wrapper: wrapper, within: limit)
    do {
      let result = try await body(server)
      try await server.stop()
      return result
    } catch {
      _ = try? await server.stop()
      throw error
    }
  }

  /// Runs `program` as a client of the server on `port` and waits for it to end.
  package static func client(
    _ program: Program, port: UInt16, arguments: [String] = [], input: String = "",
    within limit: Duration = .seconds(10)
  ) async throws -> Output {
    try await client(
      program, port: port, arguments: arguments, bytes: Array(input.utf8), within: limit)
  }

  /// The same, with any bytes (NULs, binary data) on the client's stdin.
  package static func client(
    _ program: Program, port: UInt16, arguments: [String] = [], bytes: [UInt8],
    within limit: Duration = .seconds(10)
  ) async throws -> Output {
    let client = try Running(
      program, arguments: arguments,
      environment: ["KIT_PORT": "\(port)", "KIT_HOST": "127.0.0.1"], input: bytes)
    do {
      return try await client.finish(within: limit)
    } catch {
      try await client.stop()
      throw error
    }
  }
}
