// The C programs under the sanitizers. AddressSanitizer and UndefinedBehaviorSanitizer:
// every C program, built by make build-c-asan into bin/c-asan/, runs the matrix (each
// C server with the C client and a swift-sockets client) and must print no report.
// ThreadSanitizer: the thread and fork servers, C and the swift twin, with 50 clients
// at once. Leaks: the improved C servers after thousands of connections, under
// valgrind (they end only by a signal, and LeakSanitizer reports only at exit).
import Foundation
import KitHarness
import Testing

@Suite("sanitizers", .timeLimit(.minutes(5)))
struct SanitizerTests {
  static let asanFolder = Kit.root.appendingPathComponent("bin/c-asan")

  /// make build-c-asan, once for the whole suite; rebuilds only what changed.
  static let asanBuild = Task<Void, any Error> {
    let make = try Running(
      command: ["make", "-C", Kit.root.path, "-j2", "build-c-asan"], label: "make build-c-asan")
    let output = try await make.finish(within: .seconds(240))
    guard output.termination == .exit(0) else {
      throw HarnessError(description: "make build-c-asan failed:\n\(output.stderrText)")
    }
  }

  /// make build-c: the C programs as cc builds them, for valgrind, whose debug-info
  /// reader (3.19) fails on what the Swift toolchain's clang writes into SwiftPM's.
  static let plainBuild = Task<Void, any Error> {
    let make = try Running(
      command: ["make", "-C", Kit.root.path, "-j2", "build-c"], label: "make build-c")
    let output = try await make.finish(within: .seconds(240))
    guard output.termination == .exit(0) else {
      throw HarnessError(description: "make build-c failed:\n\(output.stderrText)")
    }
  }

  static func asan(_ name: String) -> Program {
    Program(flavor: "c-asan", name: name, path: asanFolder.appendingPathComponent(name))
  }

  /// A report ends the program at once, with an exit status that says which sanitizer.
  static let sanitizerEnvironment = [
    "ASAN_OPTIONS": "halt_on_error=1:exitcode=86:detect_leaks=1",
    "UBSAN_OPTIONS": "halt_on_error=1:exitcode=87:print_stacktrace=1",
    "TSAN_OPTIONS": "halt_on_error=1:exitcode=88:second_deadlock_stack=1",
  ]

  /// What any sanitizer writes when it finds something.
  static func report(in stderr: String) -> Bool {
    stderr.contains("Sanitizer") || stderr.contains("runtime error:")
  }

  /// A lecture program's own defect that a sanitizer reports: the program and why.
  /// None so far; a line here must say which defect of the lecture it is.
  static let expectedReports: [String: String] = [:]

  /// Every pair of the matrix whose server and client both exist in C.
  static let cPairs = ProgramPair.all.filter { pair in
    [pair.server, pair.client].allSatisfy { Kit.program($0)?.flavors.contains("c") == true }
  }

  static func arguments(_ program: String, port: UInt16) -> [String] {
    switch program {
    case "http-server": [Kit.root.appendingPathComponent("lectures/http-site").path]
    case "http-client": ["http://127.0.0.1:\(port)/index.html"]
    default: []
    }
  }

  /// Starts `server` from bin/c-asan on a port of its own, runs `client` against it
  /// with a line of input, then gives the server 3 s to end by itself (a one-client
  /// server does) before it is stopped; returns both outputs.
  static func run(server: String, client: Program) async throws -> (Output, Output) {
    try await asanBuild.value
    let port = Ports.reserve()
    let running = try Running(
      asan(server), arguments: arguments(server, port: port),
      environment: sanitizerEnvironment.merging(["KIT_PORT": "\(port)"]) { $1 })
    do {
      try await running.waitUntilOpen(port, within: .seconds(30))
      let clientRun = try Running(
        client, arguments: arguments(client.name, port: port),
        environment: sanitizerEnvironment.merging(["KIT_PORT": "\(port)", "KIT_HOST": "127.0.0.1"])
        {
          $1
        },
        input: Array("hello from the kit\n".utf8))
      let clientOutput: Output
      do {
        clientOutput = try await clientRun.finish(within: .seconds(30))
      } catch {
        _ = try? await clientRun.stop()
        throw error
      }
      // A one-client server ends by itself (and may report at its exit); a looping one
      // is stopped
      if let ended = try? await running.finish(within: .seconds(3)) { return (clientOutput, ended) }
      return (clientOutput, try await running.stop())
    } catch {
      _ = try? await running.stop()
      throw error
    }
  }

  static func expectNoReport(_ program: String, _ output: Output) {
    let reported =
      report(in: output.stderrText) || [.exit(86), .exit(87)].contains(output.termination)
    if let why = expectedReports[program] {
      #expect(reported, "\(program) no longer shows the lecture's defect (\(why)): update the list")
    } else {
      #expect(!reported, "\(program) under ASan/UBSan:\n\(output.stderrText)")
    }
  }

  @Test(
    "ASan+UBSan: each C server with the C client and the swift-sockets client: no report",
    arguments: cPairs, ["c-asan", "swift-sockets"])
  func matrix(pair: ProgramPair, clientFlavor: String) async throws {
    let client =
      clientFlavor == "c-asan"
      ? Self.asan(pair.client) : Program(flavor: clientFlavor, name: pair.client)
    let (clientOutput, serverOutput) = try await Self.run(server: pair.server, client: client)
    #expect(
      clientOutput.termination == .exit(0),
      "\(client) against \(pair.server): \(clientOutput.termination.map(String.init(describing:)) ?? "?")\n\(clientOutput.stderrText)"
    )
    Self.expectNoReport(pair.server, serverOutput)
    if clientFlavor == "c-asan" { Self.expectNoReport(pair.client, clientOutput) }
  }

  @Test("ASan+UBSan: the C programs outside the pairs run with no report")
  func unpaired() async throws {
    try await Self.asanBuild.value
    let paired = Set(Self.cPairs.flatMap { [$0.server, $0.client] })
    let unpaired = Kit.programs.filter { $0.flavors.contains("c") && !paired.contains($0.name) }
    for program in unpaired {
      switch (program.kind, program.name) {
      case (.client, "tcp-connect-client"):  // client-only: once refused, once connected
        for listening in [false, true] {
          let port = Ports.reserve()
          let listener = listening ? try Listener(port: port) : nil
          let output = try await Running.client(Self.asan(program.name), port: port)
          _ = listener
          Self.expectNoReport(program.name, output)
        }
      case (.server, _):  // no client (tcp-keepalive, rendezvous): a connection comes and goes
        let port = Ports.reserve()
        let running = try Running(
          Self.asan(program.name),
          environment: Self.sanitizerEnvironment.merging(["KIT_PORT": "\(port)"]) { $1 })
        do {
          try await running.waitUntilOpen(port, within: .seconds(30))
          let idle = try ProcessStatus.openDescriptors(running.pid)
          try SilentConnection(port: port).close()
          // Served: the server has closed its side of the connection again
          try await ProcessStatus.wait(for: "\(program.name) closing the connection") {
            try ProcessStatus.openDescriptors(running.pid) <= idle
          }
        } catch {
          _ = try? await running.stop()
          throw error
        }
        Self.expectNoReport(program.name, try await running.stop())
      default:
        // stun-client and p2p-peer need a STUN server and a partner: run here only with
        // no arguments (their usage); stun.swift runs the C client under ASan+UBSan
        // against hostile answers
        let output = try await Running(
          Self.asan(program.name), environment: Self.sanitizerEnvironment
        ).finish(within: .seconds(30))
        Self.expectNoReport(program.name, output)
      }
    }
  }

  /// `source` built with ThreadSanitizer into .build-tsan/ (C with cc, the swift twin,
  /// a lone file over Glibc, with swiftc).
  static func tsanBuild(_ source: String) async throws -> String {
    let folder = Kit.root.appendingPathComponent(".build-tsan")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let out = folder.appendingPathComponent(source.replacingOccurrences(of: "/", with: "_")).path
    let input = Kit.root.appendingPathComponent(source).path
    let command =
      source.hasSuffix(".c")
      ? ["cc", "-g", "-fsanitize=thread", "-pthread", "-o", out, input]
      : ["swiftc", "-g", "-sanitize=thread", "-o", out, input]
    let build = try await Running(command: command).finish(within: .seconds(180))
    guard build.termination == .exit(0) else {
      throw HarnessError(description: "\(command.joined(separator: " ")):\n\(build.stderrText)")
    }
    return out
  }

  @Test(
    "TSan: the thread and fork servers with 50 clients at once: no report",
    arguments: [
      "CSources/tcp-capitalize/thread-server.c", "CSources/tcp-capitalize/fork-server.c",
      "Sources/swift/tcp-capitalize/thread-server.swift",
    ])
  func threads(source: String) async throws {
    let server = Program(
      flavor: "tsan", name: source, path: URL(fileURLWithPath: try await Self.tsanBuild(source)))
    let port = Ports.reserve()
    let running = try Running(
      server, environment: Self.sanitizerEnvironment.merging(["KIT_PORT": "\(port)"]) { $1 })
    do {
      try await running.waitUntilOpen(port, within: .seconds(30))
      let answers = try await withThrowingTaskGroup(of: (Int, Output).self) { group in
        for index in 0..<50 {
          group.addTask {
            let output = try await Running.client(
              Program(flavor: "c", name: "tcp-capitalize-client"), port: port,
              input: "client \(index)\n", within: .seconds(60))
            return (index, output)
          }
        }
        return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
      }
      for (index, output) in answers {
        // The lecture's client prints the answer on stderr
        let said = output.stdoutText + output.stderrText
        #expect(said.contains("CLIENT \(index)"), "client \(index): \(said)")
      }
      let seen = running.output
      #expect(seen.termination == nil, "\(source) under TSan ended: \(seen.stderrText)")
      #expect(!Self.report(in: seen.stderrText), "\(source) under TSan:\n\(seen.stderrText)")
      try await running.stop()
    } catch {
      _ = try? await running.stop()
      throw error
    }
  }

  @Test(
    "no leak after 2,000 connections (valgrind: these servers end only by a signal)",
    arguments: [
      "tcp-echo-select-server", "tcp-echo-poll-server", "tcp-echo-epoll-server", "chat-server",
      "http-server",
    ])
  func leaks(name: String) async throws {
    let valgrind = try Tools.require("valgrind", package: "valgrind")
    try await Self.plainBuild.value
    let port = Ports.reserve()
    let work: Churn.Work = name == "http-server" ? .http : name == "chat-server" ? .chat : .echo
    let running = try await Running.server(
      Program(flavor: "c", name: name, path: Kit.root.appendingPathComponent("bin/c/\(name)")),
      port: port, arguments: Self.arguments(name, port: port),
      wrapper: [
        valgrind, "--leak-check=full", "--show-leak-kinds=definite,indirect",
        "--errors-for-leak-kinds=definite,indirect",
      ], within: .seconds(60))
    let output: Output
    do {
      let witness = work == .chat ? try EchoSocket.open(port: port, blocking: true) : nil
      defer { if let witness { close(witness) } }
      try await onThread { try Churn.run(port: port, count: 2000, work: work, witness: witness) }
      // valgrind writes its summary when the signal ends the program
      output = try await running.stop(signal: SIGTERM)
    } catch {
      _ = try? await running.stop()
      throw error
    }
    let log = output.stderrText
    #expect(
      log.contains("LEAK SUMMARY") || log.contains("no leaks are possible"),
      "\(name): no summary:\n\(log)")
    for kind in ["definitely lost", "indirectly lost"] where log.contains("\(kind):") {
      #expect(log.contains("\(kind): 0 bytes"), "\(name) leaks:\n\(log)")
    }
    #expect(log.contains("ERROR SUMMARY: 0 errors"), "\(name) under valgrind:\n\(log)")
  }
}
