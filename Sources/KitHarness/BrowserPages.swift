// Headless Chromium for pages that draw and animate (the diagrams): a window of a
// given size, and virtual time, so that the page's timers run to a budget before the
// DOM is printed, however loaded the machine is. Browser.dumpDOM's sibling.
import Foundation

extension Browser {
  /// Loads `url` in a `width` x `height` window, lets the page run `virtualTime` of
  /// its own clock (timers, animations), then returns the DOM (`--dump-dom`) on
  /// stdout. `limit` bounds the whole run in real time, Chromium's start included.
  package static func dumpDOM(
    _ url: String, width: Int, height: Int, virtualTime: Duration,
    within limit: Duration = .seconds(120)
  ) async throws -> Output {
    let chromium = try Tools.require("chromium", package: "chromium")
    let profile = FileManager.default.temporaryDirectory
      .appendingPathComponent("kit-chromium-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: profile) }
    let budget =
      virtualTime.components.seconds * 1000
      + virtualTime.components.attoseconds / 1_000_000_000_000_000
    let browser = try Running(
      command: [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-proxy-server",
        "--no-first-run", "--hide-scrollbars", "--user-data-dir=\(profile.path)",
        "--window-size=\(width),\(height)", "--virtual-time-budget=\(budget)", "--dump-dom", url,
      ], label: "chromium")
    do {
      return try await browser.finish(within: limit)
    } catch {
      try await browser.stop()
      throw error
    }
  }
}
