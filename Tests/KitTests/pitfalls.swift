// The pitfalls (lectures/pitfalls.md): each program in pitfalls/ is built as written and
// with -DFIX, as scripts/pitfall builds them. The mistake must still go wrong in the way
// the page shows, so the lesson never silently stops working, and the fix must fix it.
import Foundation
import KitHarness
import Testing

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@Suite("pitfalls", .timeLimit(.minutes(2)))
struct PitfallTests {
  /// The mistake and the fix of pitfalls/<name>.c, compiled into a folder of the test's own.
  struct Pair {
    let mistake: Program
    let fix: Program
    let folder: URL
  }

  static func build(_ name: String) async throws -> Pair {
    let compiler = try Tools.require("cc", package: "gcc libc6-dev")
    let folder = try Scratch.folder("kit-pitfall-\(name)")
    var built: [Program] = []
    for (suffix, define) in [("", [String]()), ("-fixed", ["-DFIX"])] {
      let program = Program(
        flavor: "pitfall", name: name + suffix, path: folder.appendingPathComponent(name + suffix))
      // The flags of scripts/pitfall: -O2 and _FORTIFY_SOURCE, as packages are built
      let compile = try Running(
        command: [
          compiler, "-O2", "-U_FORTIFY_SOURCE", "-D_FORTIFY_SOURCE=2", "-Wall", "-Wextra",
          "-Werror",
        ] + define + ["-o", program.path.path, Kit.root.path + "/pitfalls/\(name).c"])
      let output = try await compile.finish(within: .seconds(60))
      try #require(output.termination == .exit(0), "cc \(name).c: \(output.stderrText)")
      built.append(program)
    }
    return Pair(mistake: built[0], fix: built[1], folder: folder)
  }

  @Test("byte-order: without htons the server listens on the byte-swapped port")
  func byteOrder() async throws {
    let pitfall = try await Self.build("byte-order")
    defer { try? FileManager.default.removeItem(at: pitfall.folder) }
    let port = Ports.reserve()  // its byte-swapped twin is free too: the harness sees to it
    let environment = ["KIT_PORT": "\(port)"]
    let mistake = try await Running(pitfall.mistake, environment: environment).finish()
    #expect(
      mistake.stdoutText
        == "server: asked for port \(port), listening on port \(port.byteSwapped)\n")
    #expect(mistake.stderrText.contains("connect to the port it was told: Connection refused"))
    let fix = try await Running(pitfall.fix, environment: environment).finish()
    #expect(
      fix.stdoutText
        == "server: asked for port \(port), listening on port \(port)\nclient: connected to port \(port)\n"
    )
  }

  @Test("short-read: one recv returns the first byte; a loop to the newline gets the message")
  func shortRead() async throws {
    let pitfall = try await Self.build("short-read")
    defer { try? FileManager.default.removeItem(at: pitfall.folder) }
    let mistake = try await Running(pitfall.mistake).finish()
    #expect(mistake.stdoutText == "server: 1 recv call, message: h\n")
    let fix = try await Running(pitfall.fix).finish()
    #expect(fix.stdoutText == "server: 2 recv calls, message: hello, world\n")
  }

  @Test("address-in-use: a restart fails in TIME_WAIT, and binds with SO_REUSEADDR")
  func addressInUse() async throws {
    let pitfall = try await Self.build("address-in-use")
    defer { try? FileManager.default.removeItem(at: pitfall.folder) }
    let mistake = try await Running(pitfall.mistake).finish()
    #expect(mistake.stderrText == "server: bind: Address already in use\n")
    #expect(mistake.termination == .exit(1))
    let fix = try await Running(pitfall.fix).finish()
    #expect(
      fix.stdoutText.hasSuffix("server: restarted on port \(Self.port(in: fix.stdoutText))\n"))
    #expect(fix.termination == .exit(0))
  }

  @Test("no-timeout: recv waits forever on a silent peer; SO_RCVTIMEO gives up")
  func noTimeout() async throws {
    let pitfall = try await Self.build("no-timeout")
    defer { try? FileManager.default.removeItem(at: pitfall.folder) }
    let mistake = try Running(pitfall.mistake)
    try await mistake.waitForStdout("client: connected, waiting for the server's answer\n")
    // Longer than the fix's 2 s timeout, and the mistake must still be waiting
    await #expect(throws: HarnessError.self) { try await mistake.finish(within: .seconds(4)) }
    #expect(try await mistake.stop().termination == .signal(SIGKILL))
    let fix = try await Running(pitfall.fix).finish()
    #expect(
      fix.stdoutText.hasSuffix(
        "client: no answer in 2 s, giving up (Resource temporarily unavailable)\n"))
  }

  @Test("sigpipe: a write to a reset connection kills the server; ignored, it is an error")
  func sigpipe() async throws {
    let pitfall = try await Self.build("sigpipe")
    defer { try? FileManager.default.removeItem(at: pitfall.folder) }
    let mistake = try await Running(pitfall.mistake).finish()
    #expect(mistake.termination == .signal(SIGPIPE))
    #expect(mistake.stdoutText == "client: closed its socket\nserver: write 1 sent 6 bytes\n")
    let fix = try await Running(pitfall.fix).finish()
    #expect(fix.termination == .exit(0))
    #expect(fix.stdoutText.contains("server: write 2 failed: Broken pipe\n"))
    #expect(fix.stdoutText.hasSuffix("server: still running, ready for its next client\n"))
  }

  @Test("udp-unreachable: only a connected UDP socket hears ECONNREFUSED")
  func udpUnreachable() async throws {
    let pitfall = try await Self.build("udp-unreachable")
    defer { try? FileManager.default.removeItem(at: pitfall.folder) }
    let mistake = try await Running(pitfall.mistake).finish()
    #expect(mistake.stdoutText.hasSuffix("client: no answer and no error in 2 s\n"))
    let fix = try await Running(pitfall.fix).finish()
    #expect(fix.stdoutText.hasSuffix("client: recv failed at once: Connection refused\n"))
  }

  @Test("select-limit: FD_SET past FD_SETSIZE aborts under _FORTIFY_SOURCE; poll works")
  func selectLimit() async throws {
    let pitfall = try await Self.build("select-limit")
    defer { try? FileManager.default.removeItem(at: pitfall.folder) }
    let mistake = try await Running(pitfall.mistake).finish()
    #expect(mistake.termination == .signal(SIGABRT), "\(mistake.stderrText)")
    let fix = try await Running(pitfall.fix).finish()
    #expect(fix.stdoutText.hasSuffix("1 descriptor ready\n"), "\(fix.stderrText)")
    #expect(fix.termination == .exit(0))
  }

  @Test("framing: the lecture's C client and its Java server wait on each other")
  func framing() async throws {
    // scripts/pitfall as make runs it, with this run's programs in bin/'s layout
    let bin = try Scratch.folder("kit-pitfall-framing")
    defer { try? FileManager.default.removeItem(at: bin) }
    try Kit.prepare(flavor: "java")
    for (flavor, program) in [
      ("java", "tcp-hello-server"), ("java", "tcp-hello-client"), ("c", "tcp-hello-client"),
    ] {
      let folder = bin.appendingPathComponent(flavor)
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      try FileManager.default.createSymbolicLink(
        at: folder.appendingPathComponent(program),
        withDestinationURL: Kit.path(flavor: flavor, program))
    }
    let shown = try await Running(
      command: [Kit.root.path + "/scripts/pitfall", "framing"],
      environment: ["PITFALL_BIN": bin.path]
    ).finish(within: .seconds(40))
    let text = shown.stdoutText
    let (mistake, fix) = try #require(
      text.range(of: "== the fix").map { (text[..<$0.lowerBound], text[$0.lowerBound...]) },
      "\(text)\(shown.stderrText)")
    #expect(mistake.contains("after 3 s both still wait"), "\(mistake)")
    #expect(!mistake.contains("Received: Hello from server"), "\(mistake)")
    #expect(fix.contains("client | Received: Hello from server"), "\(fix)")
    #expect(fix.contains("(client exit status 0)"), "\(fix)")
  }

  @Test("every pitfall in pitfalls/ is tested here and told in lectures/pitfalls.md")
  func everyPitfall() throws {
    let tested = [
      "address-in-use", "byte-order", "framing", "no-timeout", "select-limit", "short-read",
      "sigpipe", "udp-unreachable",
    ]
    let folder = try FileManager.default.contentsOfDirectory(atPath: Kit.root.path + "/pitfalls")
    let names = folder.filter { $0.hasSuffix(".c") || $0.hasSuffix(".sh") }
      .map { ($0 as NSString).deletingPathExtension }
    #expect(names.sorted() == tested)
    let page = try String(
      contentsOf: Kit.root.appendingPathComponent("lectures/pitfalls.md"), encoding: .utf8)
    for name in tested {
      #expect(page.contains("make pitfall-\(name)"), "lectures/pitfalls.md never shows \(name)")
    }
  }

  /// The port in "server: listening on port N" (address-in-use takes a free one).
  static func port(in text: String) -> String {
    let line = text.split(separator: "\n").first { $0.hasPrefix("server: listening on port ") }
    return line.map { String($0.dropFirst("server: listening on port ".count)) } ?? "?"
  }
}
