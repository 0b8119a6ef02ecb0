// The lectures' sequence diagrams (lectures/figures/*.svg): scripts/figures draws each
// from strace of the example's C programs, so a figure is stale as soon as a program
// makes other calls or sends other bytes. The test redraws them all with the test
// build's programs and fails naming each figure that would change; and every committed
// figure must be an SVG that a browser (and GitHub) can parse.
import Foundation
import KitHarness
import Testing

#if canImport(FoundationXML)
  import FoundationXML
#endif

@Suite("figures", .timeLimit(.minutes(3)))
struct FigureTests {
  static let folder = Kit.root.appendingPathComponent("lectures/figures")

  @Test("each figure is what scripts/figures draws from the programs now")
  func figuresAreCurrent() async throws {
    _ = try Tools.require("strace", package: "strace")
    _ = try Tools.require("turnserver", package: "coturn")
    let pattern = Kit.buildFolder.path + "/{flavor}-{program}"
    let check = try Running(command: [
      Kit.root.path + "/scripts/figures", "--check", "--programs", pattern,
    ])
    let output = try await check.finish(within: .seconds(150))
    #expect(output.termination == .exit(0), "\(output.stderrText)")
  }

  @Test("each figure is well-formed SVG with a title, on a white background, at most 900 px wide")
  func wellFormed() throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path)
      .filter { $0.hasSuffix(".svg") }.sorted()
    #expect(names.count >= 15, "figures missing: \(names)")
    for name in names {
      let url = Self.folder.appendingPathComponent(name)
      let text = try String(contentsOf: url, encoding: .utf8)
      // The SVG namespace, or a browser shows the file as XML, not as a picture
      #expect(text.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""), "\(name)")
      let document = try XMLDocument(xmlString: text, options: [])
      let root = try #require(document.rootElement(), "\(name)")
      #expect(root.name == "svg", "\(name)")
      let width = Int(Self.attribute("width", of: root) ?? "") ?? 0
      #expect(width > 0 && width <= 900, "\(name): width \(width)")
      let children = root.children?.compactMap { $0 as? XMLElement } ?? []
      let title = children.first { $0.name == "title" }?.stringValue ?? ""
      #expect(title.hasPrefix(name.replacingOccurrences(of: ".svg", with: "") + ": "), "\(name)")
      let background = children.first { $0.name == "rect" }.flatMap {
        Self.attribute("fill", of: $0)
      }
      #expect(background == "#FFFFFF", "\(name): no white background for dark mode")
    }
  }

  /// An attribute's value (swift-corelibs' attribute(forName:) misses attributes of an
  /// element in a default namespace, as every SVG element is).
  static func attribute(_ name: String, of element: XMLElement) -> String? {
    element.attributes?.first { $0.name == name }?.stringValue
  }
}
