// The lectures' own Python and Java (flavors python and java): SwiftPM does not build
// them, so the harness does, with the script make build uses (scripts/build-flavor),
// into <build folder>/<flavor>/<program>, once per run, before the first of them starts.
import Foundation
import Synchronization

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

extension Kit {
  /// The flavors scripts/build-flavor builds: the tool each needs, and its package.
  package static let scriptFlavors: [String: (tool: String, package: String)] = [
    "python": ("python3", "python3"),
    "java": ("javac", "default-jdk-headless"),
  ]

  private static let prepared = Mutex<[String: Result<Void, HarnessError>]>([:])

  /// Builds `flavor`'s programs if this run has not yet (nothing to do for c and the
  /// Swift flavors, which SwiftPM built). A missing toolchain fails with its apt-get
  /// line (Tools.require), as for any other peer a test needs.
  package static func prepare(flavor: String) throws {
    guard let needs = scriptFlavors[flavor] else { return }
    // Held while building: a second test that wants the flavor waits for the first.
    try prepared.withLock { done in
      if let result = done[flavor] { return try result.get() }
      let result: Result<Void, HarnessError>
      do {
        _ = try Tools.require(needs.tool, package: needs.package)
        if flavor == "java" { _ = try Tools.require("java", package: needs.package) }
        try build(flavor)
        result = .success(())
      } catch {
        result = .failure(error as? HarnessError ?? HarnessError(description: "\(error)"))
      }
      done[flavor] = result
      try result.get()
    }
  }

  /// Runs scripts/build-flavor and waits for it, here and now: a program's start is
  /// synchronous, and this happens once per run (javac: a few seconds).
  private static func build(_ flavor: String) throws {
    let folder = buildFolder.appendingPathComponent(flavor).path
    let script = root.appendingPathComponent("scripts/build-flavor").path
    let running = try Running(command: [script, flavor, folder], label: "build-flavor \(flavor)")
    let deadline = ContinuousClock.now + .seconds(120)
    while !running.output.isFinished {
      if ContinuousClock.now > deadline {
        kill(-running.pid, SIGKILL)
        throw HarnessError(description: "scripts/build-flavor \(flavor) did not end within 120 s")
      }
      usleep(20_000)  // allowed: poll interval of a bounded wait for a build to end
    }
    let output = running.output
    guard output.termination == .exit(0) else {
      throw HarnessError(
        description:
          "scripts/build-flavor \(flavor) failed (\(output.termination.map { "\($0)" } ?? "?")): \(output.stderrText)"
      )
    }
  }
}
