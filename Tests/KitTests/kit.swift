// The kit as a whole: programs.txt and the folders agree, every program is built in
// every flavor that has it, every example has its note and its tests, generated text
// (listings, line counts) equals what it is made from, and a new example of each kind
// joins the build, make and the matrix by its files and its line in programs.txt; and
// the harness names whoever holds a port a server could not bind.
import Foundation
import KitHarness
import Testing

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@Suite("the kit", .timeLimit(.minutes(3)))
struct KitTests {
  @Test("a port a server cannot bind: the error says who holds it, as far as /proc/net shows")
  func portTaken() async throws {
    let port = Ports.reserve()
    // This test's process takes it first: bound, not listening, so the server is not
    // taken for ready
    let squatter = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(squatter) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(squatter, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    try #require(bound == 0, "bind: \(String(cString: strerror(errno)))")
    let error = await #expect(throws: HarnessError.self) {
      try await Running.withServer(Program(flavor: "c", name: "tcp-hello-server"), port: port) {
        _ in
      }
    }
    let text = error?.description ?? ""
    #expect(text.contains("bind failed: Address already in use"), "\(text)")
    #expect(text.contains("(no socket on port \(port) is in /proc/net now"), "\(text)")
    // A listening socket is in /proc/net/tcp, with its process
    let listening = Ports.reserve()
    let listener = try Listener(port: listening)
    let holders = Ports.holders(of: listening)
    #expect(holders.count == 1, "\(holders)")
    #expect(holders.first?.hasPrefix("tcp LISTEN held by pid \(getpid()) (") == true, "\(holders)")
    #expect(holders.first?.hasSuffix(", parent \(getppid()))") == true, "\(holders)")
    // A listener the harness cannot open says who holds its port too
    let second = #expect(throws: HarnessError.self) { try Listener(port: listening) }
    let taken = "Address already in use; port \(listening) is taken: tcp LISTEN held by pid"
    #expect(
      second?.description.contains("\(taken) \(getpid()) (") == true,
      "\(second?.description ?? "")")
    _ = listener
  }

  @Test("a port found free is free for its server, however many programs start meanwhile")
  func freePortStaysFree() async throws {
    let port = Ports.reserve()
    // As in a parallel test run, programs start all along: each holds a copy of this
    // process's descriptors from its fork to its exec, sockets of the port check included
    // unless the check keeps out of that moment.
    let starting = (0..<2).map { _ in
      Task.detached {
        while !Task.isCancelled { _ = try? await Running(command: ["true"]).finish() }
      }
    }
    // However the test ends (a failed #require included), the tasks stop starting programs.
    defer { for task in starting { task.cancel() } }
    var failures: [String] = []
    let rounds = 1500
    for _ in 0..<rounds {
      // The last round's listener may live on in a program still starting (not the
      // check's to prevent): wait for every copy of it to go.
      let deadline = ContinuousClock.now + .seconds(5)
      while !Ports.isFree(port) {
        try #require(ContinuousClock.now < deadline, "port \(port) is still held after 5 s")
      }
      do { _ = try Listener(port: port) } catch { failures.append("\(error)") }
    }
    for task in starting {
      task.cancel()
      await task.value
    }
    let failed = failures.count
    #expect(failed == 0, "of \(rounds) listeners; the first: \(failures.first ?? "")")
  }

  @Test("every program is built in every flavor programs.txt gives it")
  func built() throws {
    #expect(!Kit.programs.isEmpty)
    // The lectures' Python and Java are built by the harness, on first use: now.
    for flavor in Kit.flavors { try Kit.prepare(flavor: flavor) }
    for program in Kit.programs {
      for flavor in Kit.flavors(having: program.name) {
        #expect(
          FileManager.default.isExecutableFile(atPath: Kit.path(flavor: flavor, program.name).path),
          """
          \(flavor)/\(program.name) is missing. If its source exists, SwiftPM reused a cached \
          reading of Package.swift: build with --manifest-cache none (make does).
          """)
      }
    }
  }

  @Test("the folders hold exactly the sources programs.txt names")
  func inventoryMatchesFolders() throws {
    var listed = Set<String>()
    let exists = { (path: String) in
      FileManager.default.fileExists(atPath: Kit.root.appendingPathComponent(path).path)
    }
    for program in Kit.programs {
      var helpers: [String: [String]] = [:]  // each helper file: where a flavor has it
      for flavor in program.flavors {
        let source = program.source(flavor: flavor)
        listed.insert(source)
        #expect(exists(source), "programs.txt names \(source), which does not exist")
        let folder = (source as NSString).deletingLastPathComponent
        for extra in program.extras where extra.hasSuffix(Kit.sourceLayout(flavor: flavor).ending) {
          let path = "\(folder)/\(extra)"
          helpers[extra, default: []].append(path)
          if exists(path) { listed.insert(path) }
        }
      }
      // A helper joins the flavors whose folder holds it, but one of them must
      for (extra, paths) in helpers where !paths.contains(where: exists) {
        Issue.record("programs.txt names \(extra) for \(program.name), in none of \(paths)")
      }
    }
    let found = try Set(Kit.programs.flatMap(\.flavors)).flatMap {
      let (folder, ending) = Kit.sourceLayout(flavor: $0)
      return try sources(in: folder, ending: ending)
    }
    for source in found where !listed.contains(source) {
      Issue.record("\(source) is in no line of programs.txt: add its line, or it is never built")
    }
  }

  /// C programs with no swift-sockets version, each with the reason.
  static let withoutSocketsVersion = [
    // The Sockets library is readiness-based (select, poll, epoll); it has no
    // completion-based io_uring backend for an idiomatic version to stand on.
    "tcp-echo-uring-server"
  ]

  @Test("every C program has its swift twin and its swift-sockets version")
  func everyFlavor() {
    for program in Kit.programs where program.flavors.contains("c") {
      let expected: Set =
        Self.withoutSocketsVersion.contains(program.name) ? ["swift"] : ["swift", "swift-sockets"]
      #expect(
        expected.isSubset(of: program.flavors),
        "\(program.name) is in c but not in every Swift flavor: \(program.flavors)")
    }
  }

  @Test(
    "make build skips a flavor whose toolchain is missing, saying how to install it",
    arguments: [("python", "python3", "python3"), ("java", "javac", "default-jdk-headless")])
  func missingToolchain(flavor: String, tool: String, package: String) async throws {
    // A PATH with the shell tools the script uses, and neither python3 nor javac.
    let tools = FileManager.default.temporaryDirectory
      .appendingPathComponent("kit-no-\(flavor)-\(UUID().uuidString.prefix(8))")
    defer { try? FileManager.default.removeItem(at: tools) }
    try FileManager.default.createDirectory(at: tools, withIntermediateDirectories: true)
    for name in ["bash", "env", "dirname", "awk", "sed", "cat", "mkdir", "chmod", "mv", "head"] {
      try FileManager.default.createSymbolicLink(
        atPath: tools.appendingPathComponent(name).path,
        withDestinationPath: try Tools.require(name, package: "coreutils"))
    }
    let run = try Running(
      command: [
        tools.appendingPathComponent("bash").path, Kit.root.path + "/scripts/build-flavor", flavor,
        tools.appendingPathComponent("out").path,
      ], environment: ["PATH": tools.path])
    let output = try await run.finish()
    #expect(output.termination == .exit(3))
    #expect(
      output.stderrText
        == "skipping the \(flavor) flavor: \(tool) is not installed (apt-get install \(package))\n")
  }

  @Test("every example has a lecture note and a test file", arguments: Kit.examples)
  func documented(example: String) {
    for file in ["lectures/\(example).md", "Tests/KitTests/\(example).swift"] {
      #expect(
        FileManager.default.fileExists(atPath: Kit.root.appendingPathComponent(file).path),
        "\(file) is missing")
    }
  }

  @Test(
    "generated text is current: lecture listings, README's line counts",
    arguments: ["listings", "line-counts"])
  func generated(script: String) async throws {
    let check = try Running(command: [Kit.root.path + "/scripts/\(script)", "--check"])
    let output = try await check.finish()
    #expect(output.termination == .exit(0), "\(output.stderrText)")
  }

  /// `<folder>/<example>/<file><ending>` paths under the kit's root.
  private func sources(in folder: String, ending: String) throws -> [String] {
    let base = Kit.root.appendingPathComponent(folder).path
    guard FileManager.default.fileExists(atPath: base) else { return [] }
    return try FileManager.default.subpathsOfDirectory(atPath: base)
      .filter { $0.hasSuffix(ending) && $0.split(separator: "/").count == 2 }
      .map { "\(folder)/\($0)" }
  }
}
