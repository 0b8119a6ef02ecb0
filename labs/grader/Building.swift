// Building a solution as the student would: `cc` for C, `swiftc` for Swift, one file
// per program, with the compiler's own messages when it does not build.
import Foundation
import KitHarness

/// How a program of the solution was built, or why it was not.
struct Build: Sendable {
  let role: String
  /// The source file, e.g. "server.c", when exactly one was found.
  let source: String?
  let program: Program?
  /// The compiler's messages (warnings included), or why nothing was compiled.
  let messages: String
}

enum Builder {
  /// Builds every program `lab` names from `folder` into `output`.
  static func build(_ lab: Lab, from folder: URL, into output: URL) async -> [Build] {
    var builds: [Build] = []
    for role in lab.programs {
      builds.append(await build(role, from: folder, into: output))
    }
    return builds
  }

  static func build(_ role: String, from folder: URL, into output: URL) async -> Build {
    let found = ["c", "swift"].filter {
      FileManager.default.fileExists(atPath: folder.appendingPathComponent("\(role).\($0)").path)
    }
    guard found.count == 1, let language = found.first else {
      let why =
        found.isEmpty
        ? "no \(role).c or \(role).swift in \(folder.path)"
        : "both \(role).c and \(role).swift in \(folder.path): keep only the one you are writing"
      return Build(role: role, source: nil, program: nil, messages: why)
    }
    let source = folder.appendingPathComponent("\(role).\(language)")
    let executable = output.appendingPathComponent(role)
    let command =
      language == "c"
      ? [
        "cc", "-std=gnu11", "-Wall", "-Wextra", "-g", "-pthread", "-o", executable.path,
        source.path,
      ]
      : swiftCommand(source, executable, scratch: output)
    do {
      let compiler = try Running(command: command, label: "\(role).\(language)")
      let result: Output
      do {
        result = try await compiler.finish(within: .seconds(120))
      } catch {
        _ = try? await compiler.stop()
        throw error
      }
      let messages = (result.stdoutText + result.stderrText)
      let built = result.termination == .exit(0)
      return Build(
        role: role, source: "\(role).\(language)",
        program: built ? Program(flavor: "yours", name: role, path: executable) : nil,
        messages: built || !messages.isEmpty
          ? messages : "the compiler failed (\(result.termination!))")
    } catch {
      return Build(role: role, source: "\(role).\(language)", program: nil, messages: "\(error)")
    }
  }

  /// swiftc in Swift 6 mode, with the kit's CShims module (FD_SET, epoll) importable
  /// as the `swift` flavor imports it: its header, described by a module map.
  private static func swiftCommand(_ source: URL, _ executable: URL, scratch: URL) -> [String] {
    let header = Kit.root.appendingPathComponent("Sources/CShims/include/CShims.h").path
    let shims = scratch.appendingPathComponent("CShims")
    try? FileManager.default.createDirectory(at: shims, withIntermediateDirectories: true)
    try? "module CShims {\n  header \"\(header)\"\n  export *\n}\n".write(
      to: shims.appendingPathComponent("module.modulemap"), atomically: true, encoding: .utf8)
    let cache = FileManager.default.temporaryDirectory
      .appendingPathComponent("kit-grade-module-cache-\(getuid())").path
    // One file is top-level code unless it marks its entry point @main.
    let text = (try? String(contentsOf: source, encoding: .utf8)) ?? ""
    let library = text.contains("@main") ? ["-parse-as-library"] : []
    return [
      "swiftc", "-swift-version", "6", "-g", "-I", shims.path, "-module-cache-path", cache,
    ] + library + ["-o", executable.path, source.path]
  }
}
