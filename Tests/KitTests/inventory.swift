// A new example joins the kit by its files and its lines in programs.txt, and by
// nothing else: in a throw-away copy of the kit, one example with a server, a client
// and a variant server linking a library (-lm), and one client-only example with a
// helper file, must appear in the manifest, in make help, run by make <example>
// (C only, so no Swift is built), and in the matrix's pairs.
import Foundation
import KitHarness
import Testing

@Suite("programs.txt", .timeLimit(.minutes(3)))
struct InventoryTests {
  static let newLines = """
    zz-pair          server          server     c                              -lm
    zz-pair          client          client     c
    zz-pair          other-server    variant    c                              -lm
    zz-probe         client          client     c                              probe-words.c
    """

  static let newFiles: [String: String] = [
    "CSources/zz-pair/server.c": server(greeting: "pair"),
    "CSources/zz-pair/other-server.c": server(greeting: "other"),
    "CSources/zz-pair/client.c": """
    #include <arpa/inet.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <unistd.h>
    int main(void) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(getenv("KIT_PORT")))};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        char reply[64] = {0};
        if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); return 1; }
        write(fd, "sixteen bytes!!\\n", 16);
        read(fd, reply, sizeof reply - 1);
        printf("reply: %s\\n", reply);
        return 0;
    }
    """,
    "CSources/zz-probe/client.c": """
    #include <stdio.h>
    const char *probe_words(void);
    int main(void) { printf("probe: %s\\n", probe_words()); return 0; }
    """,
    "CSources/zz-probe/probe-words.c": """
    const char *probe_words(void) { return "from a helper file"; }
    """,
  ]

  /// A one-client server whose answer needs libm at run time (sqrt of a count).
  static func server(greeting: String) -> String {
    """
    #include <math.h>
    #include <netinet/in.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <unistd.h>
    int main(void) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(getenv("KIT_PORT")))};
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1) < 0) return 1;
        int c = accept(fd, NULL, NULL);
        char buffer[64];
        ssize_t n = read(c, buffer, sizeof buffer);
        dprintf(c, "\(greeting) %.0f", sqrt((double)n));
        printf("\(greeting) served\\n");
        return 0;
    }
    """
  }

  /// A copy of the kit as git sees it (tracked files and untracked ones it does not
  /// ignore), with the two new examples added.
  static func copyWithNewExamples() async throws -> URL {
    let copy = FileManager.default.temporaryDirectory
      .appendingPathComponent("kit-inventory-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
    let tar = try Running(command: [
      "sh", "-c",
      "git ls-files -co --exclude-standard | tar -cf - --ignore-failed-read -T - 2>/dev/null | tar -xf - -C \"$0\"",
      copy.path,
    ])
    _ = try await tar.finish(within: .seconds(60))
    for (path, text) in newFiles {
      let file = copy.appendingPathComponent(path)
      try FileManager.default.createDirectory(
        at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
      try (text + "\n").write(to: file, atomically: true, encoding: .utf8)
    }
    let inventory = copy.appendingPathComponent("programs.txt")
    let text = try String(contentsOf: inventory, encoding: .utf8)
    try (text + newLines + "\n").write(to: inventory, atomically: true, encoding: .utf8)
    return copy
  }

  func run(_ command: [String], in folder: URL, environment: [String: String] = [:]) async throws
    -> Output
  {
    let running = try Running(
      command: ["sh", "-c", "cd \"$0\" && exec \"$@\"", folder.path] + command,
      environment: environment)
    do {
      return try await running.finish(within: .seconds(120))
    } catch {
      _ = try? await running.stop()
      throw error
    }
  }

  @Test("a new example of each kind joins the manifest, make and the matrix")
  func newExamples() async throws {
    let copy = try await Self.copyWithNewExamples()
    defer { try? FileManager.default.removeItem(at: copy) }

    // The manifest: a target per new program, with its helper file and its library.
    let dump = try await run(["swift", "package", "dump-package"], in: copy)
    #expect(dump.termination == .exit(0), "\(dump.stderrText)")
    let manifest = dump.stdoutText
    for target in [
      "c-zz-pair-server", "c-zz-pair-client", "c-zz-pair-other-server", "c-zz-probe-client",
    ] {
      #expect(manifest.contains("\"\(target)\""), "Package.swift has no target \(target)")
    }
    #expect(manifest.contains("probe-words.c"))
    #expect(manifest.contains("\"m\""), "the -lm of zz-pair's servers is not a linked library")

    // make help names the examples and the variant.
    let help = try await run(["make", "help"], in: copy)
    for line in ["make zz-pair\n", "make zz-probe\n", "make zz-pair-other-server\n"] {
      #expect(help.stdoutText.contains(line), "make help lacks \(line)")
    }

    // make <example>, C only: builds with cc (helper file, -lm) and runs the pair.
    for (target, expected) in [
      ("zz-pair", ["client | reply: pair 4", "server | pair served"]),
      ("zz-pair-other-server", ["client | reply: other 4", "server | other served"]),
      ("zz-probe", ["client | probe: from a helper file"]),
    ] {
      let port = Ports.reserve()
      let made = try await run(
        ["make", target, "SERVER=c", "CLIENT=c"], in: copy, environment: ["KIT_PORT": "\(port)"])
      #expect(made.termination == .exit(0), "make \(target): \(made.stderrText)")
      for line in expected {
        #expect(made.stdoutText.contains(line), "make \(target) printed:\n\(made.stdoutText)")
      }
    }
    #expect(
      !FileManager.default.fileExists(atPath: copy.appendingPathComponent(".build").path),
      "a C-only make built Swift")

    // The matrix: the pairs of the copy's inventory.
    let programs = try ProgramEntry.parse(
      String(contentsOf: copy.appendingPathComponent("programs.txt"), encoding: .utf8))
    let pairs = ProgramPair.pairs(in: programs).map(\.description)
    #expect(pairs.contains("zz-pair-server + zz-pair-client"))
    #expect(pairs.contains("zz-pair-other-server + zz-pair-client"))
    #expect(!pairs.contains { $0.contains("zz-probe") }, "a client-only example has no pair")
  }
}
