// Scratch folders for tests and the grader. Each is new, made by mkdtemp: a name made
// of the pid alone can be one that a killed run left behind, files and all, since pids
// are reused (pid_max is 32768 here).
import Foundation

#if canImport(Glibc)
  @preconcurrency import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

package enum Scratch {
  /// A new, empty folder in the temporary directory, named `<prefix>-XXXXXX`; the
  /// caller removes it.
  package static func folder(_ prefix: String) throws -> URL {
    var template = Array(
      (FileManager.default.temporaryDirectory.path + "/\(prefix)-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else {
      throw HarnessError(description: "mkdtemp \(prefix): \(String(cString: strerror(errno)))")
    }
    return URL(fileURLWithPath: String(cString: made), isDirectory: true)
  }
}
