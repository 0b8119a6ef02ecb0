// Every example's note opens with its lesson, as lectures/README.md describes the
// layout: the example's name as the title, a generated figure that exists, questions
// whose answers the instructor has, a link to the full listings, and a lesson part
// (the note up to "## Reference") short enough to read in one sitting.
import Foundation
import KitHarness
import Testing

@Suite("lessons", .timeLimit(.minutes(1)))
struct LessonTests {
  /// The most lines a lesson part may have; lessons aim at about 300.
  static let longestLesson = 400

  /// A note: its lines, and the lesson part of them.
  struct Note {
    let example: String
    let lines: [Substring]

    init(_ example: String) throws {
      self.example = example
      let text = try String(
        contentsOf: Kit.root.appendingPathComponent("lectures/\(example).md"), encoding: .utf8)
      lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// From the top to the line `## Reference`, or the whole note if it has none.
    var lesson: ArraySlice<Substring> {
      lines.prefix { $0 != "## Reference" }
    }
  }

  static func exists(_ path: String) -> Bool {
    FileManager.default.fileExists(atPath: Kit.root.appendingPathComponent(path).path)
  }

  @Test(
    "a note opens with its example's name, and its lesson shows a generated figure",
    arguments: Kit.examples)
  func titleAndFigure(example: String) throws {
    let note = try Note(example)
    let title = note.lines.first.map(String.init)
    #expect(
      title == "# \(example)", "lectures/\(example).md must open with '# \(example)'")
    // ![what it shows](figures/<name>.svg): every one must exist, and there must be one.
    let image = try Regex(#"!\[[^\]]*\]\((figures/[^)\s]+\.svg)\)"#)
    let figures = note.lesson.flatMap { line in
      line.matches(of: image).compactMap { $0.output[1].substring.map(String.init) }
    }
    #expect(
      !figures.isEmpty,
      "the lesson of lectures/\(example).md shows no figure: ![...](figures/\(example).svg)")
    for figure in figures {
      #expect(
        Self.exists("lectures/\(figure)"),
        "lectures/\(example).md shows \(figure), and lectures/\(figure) does not exist")
    }
  }

  @Test(
    "a lesson ends with questions, and the instructor has their answers", arguments: Kit.examples)
  func questions(example: String) throws {
    let note = try Note(example)
    let asks = note.lesson.contains("## Questions")  // a Bool: #expect would print the note
    #expect(
      asks,
      "the lesson of lectures/\(example).md has no '## Questions' section")
    #expect(
      Self.exists("lectures/answers/\(example).md"),
      "lectures/answers/\(example).md, the answers to its questions, is missing")
  }

  @Test("a note links its full listings, which exist", arguments: Kit.examples)
  func listings(example: String) throws {
    let note = try Note(example)
    let links = note.lines.contains { $0.contains("](listings/\(example).md)") }
    #expect(
      links,
      "lectures/\(example).md never links [listings/\(example).md](listings/\(example).md)")
    #expect(
      Self.exists("lectures/listings/\(example).md"),
      "lectures/listings/\(example).md, the full listings, is missing")
  }

  @Test("a lesson is short enough to read in one sitting", arguments: Kit.examples)
  func length(example: String) throws {
    let note = try Note(example)
    #expect(
      note.lesson.count <= Self.longestLesson,
      """
      the lesson of lectures/\(example).md runs \(note.lesson.count) lines, over \(Self.longestLesson): \
      move what is not the lesson below '## Reference', the listings to lectures/listings/
      """)
  }
}
