// A real browser as a peer: headless Chromium loads a page, runs its scripts and
// fetches what it names (stylesheet, pictures, scripts), each over a connection of
// its own, then prints the page as its scripts left it. Shared by the http tests and
// the http lab's grader.
import Foundation

package enum Browser {
  /// Loads `url` in a headless Chromium with a fresh profile and returns what it
  /// printed: the DOM after the load event (`--dump-dom`) on stdout. `limit` bounds
  /// the whole run, Chromium's start included (seconds on a loaded machine).
  package static func dumpDOM(_ url: String, within limit: Duration = .seconds(120)) async throws
    -> Output
  {
    let chromium = try Tools.require("chromium", package: "chromium")
    let profile = FileManager.default.temporaryDirectory
      .appendingPathComponent("kit-chromium-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: profile) }
    let browser = try Running(
      command: [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-proxy-server",
        "--no-first-run", "--user-data-dir=\(profile.path)", "--dump-dom", url,
      ], label: "chromium")
    do {
      return try await browser.finish(within: limit)
    } catch {
      try await browser.stop()
      throw error
    }
  }
}
