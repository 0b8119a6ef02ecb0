// The other programs the tests run as peers (strace, curl, chromium, python3, a JDK).
// The kit's policy: a test that needs a missing tool FAILS with the command that
// installs it, never skips, so a run can never pass by testing less than it says.
// `./kit test` installs every one of them first (CONTRIBUTING.md).
import Foundation

package enum Tools {
  /// The tool's path, or an error that says how to install it.
  package static func require(_ name: String, package: String) throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for folder in path.split(separator: ":") {
      let candidate = "\(folder)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw HarnessError(
      description: "\(name) is not installed, and this test needs it: apt-get install -y \(package)"
    )
  }
}
