// The two interactive diagrams (diagrams/), served by the kit's C http-server and
// driven in a headless Chromium: each test copies the diagrams into a folder of its
// own, adds a driver page (and, for the replay, an events.json it builds itself), and
// reads what the driver wrote into the DOM. The driver loads the diagram in a frame of
// a given width, clicks through the diagram's own controls, and reads its state
// (window.__diagram), the errors it met (window.__errors) and its canvas pixels.
import Foundation
import KitHarness
import Testing

@Suite("diagrams", .timeLimit(.minutes(5)))
struct DiagramTests {
  static let diagrams = Kit.root.appendingPathComponent("diagrams")

  @Test("lifecycle.json is what scripts/diagram-data makes from the programs now")
  func dataIsCurrent() async throws {
    _ = try Tools.require("strace", package: "strace")
    let pattern = Kit.buildFolder.path + "/{flavor}-{program}"
    let check = try Running(command: [
      Kit.root.path + "/scripts/diagram-data", "--check", "--programs", pattern,
    ])
    let output = try await check.finish(within: .seconds(60))
    #expect(output.termination == .exit(0), "\(output.stderrText)")
  }

  @Test("socket lifecycle: draws, a click opens the call's panel, both toggles redraw")
  func lifecycle() async throws {
    let result = try await drive(
      page: "socket-lifecycle/", width: 1000,
      actions: """
        r.items = st().items.length;
        r.arrows = st().arrows.map(a => a.kind);
        r.before = look();
        const accept = st().items.find(i => i.label === "accept");
        click(accept);
        await pause(100);
        r.panel = st().panel;
        r.code = d.getElementById("panel-code").textContent;
        r.tabs = [...d.querySelectorAll("#panel-tabs .tab")].map(t => t.dataset.flavor);
        d.querySelector('#panel-tabs .tab[data-flavor="swift-sockets"]').click();
        r.socketsCode = d.getElementById("panel-code").textContent;
        r.selected = look();
        d.getElementById("nonblocking").click();
        await pause(100);
        r.nonBlockingItems = st().items.filter(i => i.kind === "variant").map(i => i.label);
        r.nonBlocking = look();
        d.getElementById("states").click();
        await pause(100);
        r.states = look();
        """)
    #expect(result["errors"] as? [String] == [], "the page met errors: \(result["errors"] ?? "?")")
    let before = try #require(result["before"] as? [String: Any])
    #expect((before["inked"] as? Int ?? 0) > 5000, "the canvas is (nearly) blank: \(before)")
    #expect((result["items"] as? Int ?? 0) >= 15, "fewer calls drawn than the traces hold")
    let arrows = result["arrows"] as? [String] ?? []
    #expect(arrows.filter { $0 == "handshake" }.count == 1 && arrows.contains("data"))
    #expect(arrows.contains("datagram"))
    #expect(result["panel"] as? String == "accept")
    #expect((result["code"] as? String ?? "").contains("accept(server_fd"))
    #expect(result["tabs"] as? [String] == ["c", "swift", "swift-sockets", "python"])
    #expect((result["socketsCode"] as? String ?? "").contains("listener.accept()"))
    let hashes = ["before", "selected", "nonBlocking", "states"].map {
      (result[$0] as? [String: Any])?["hash"] as? String
    }
    #expect(
      Set(hashes.compactMap { $0 }).count == 4,
      "a click or toggle left the canvas as it was: \(hashes)")
    let variants = result["nonBlockingItems"] as? [String] ?? []
    #expect(variants.contains("fcntl O_NONBLOCK") && variants.contains("poll POLLIN"))
  }

  @Test("NAT traversal: tabs, Step, Play, Reset and both toggles change the drawing")
  func nat() async throws {
    let result = try await drive(
      page: "nat-traversal/", width: 1000,
      actions: """
        r.start = look();
        d.getElementById("step").click();
        await pause(1200);
        r.afterStep = st();
        r.stepped = look();
        d.getElementById("signaling").click();
        await pause(50);
        r.noSignaling = look();
        d.getElementById("bandwidth").click();
        await pause(50);
        r.bandwidth = look();
        d.getElementById("reset").click();
        await pause(50);
        r.afterReset = st();
        d.getElementById("tab-symmetric").click();
        d.getElementById("play").click();
        await pause(15000);
        r.played = st();
        r.relayed = look();
        d.getElementById("tab-cone").click();
        d.getElementById("play").click();
        await pause(15000);
        r.cone = st();
        """, virtualTime: .seconds(40))
    #expect(result["errors"] as? [String] == [], "the page met errors: \(result["errors"] ?? "?")")
    let start = try #require(result["start"] as? [String: Any])
    #expect((start["inked"] as? Int ?? 0) > 5000, "the canvas is (nearly) blank: \(start)")
    let stepped = try #require(result["afterStep"] as? [String: Any])
    #expect(stepped["step"] as? Int == 1)
    #expect(((stepped["tables"] as? [String: Any])?["A"] as? [Any])?.count == 1)
    #expect((result["afterReset"] as? [String: Any])?["step"] as? Int == 0)
    let played = try #require(result["played"] as? [String: Any])
    #expect(played["mode"] as? String == "symmetric")
    #expect(
      played["step"] as? Int == played["steps"] as? Int, "Play did not reach the end: \(played)")
    #expect(played["path"] as? String == "relayed")
    let cone = try #require(result["cone"] as? [String: Any])
    #expect(cone["mode"] as? String == "cone" && cone["path"] as? String == "direct")
    let hashes = ["start", "stepped", "noSignaling", "bandwidth", "relayed"].map {
      (result[$0] as? [String: Any])?["hash"] as? String
    }
    #expect(
      Set(hashes.compactMap { $0 }).count == 5, "a control left the canvas as it was: \(hashes)")
  }

  @Test("NAT traversal replays an events.json: its mappings, lines and path")
  func replay() async throws {
    // A test fixture, built here: two mappings, a packet, a line, a path. Not a run.
    let events: [String: Any] = [
      "version": 1, "mode": "symmetric",
      "flavors": ["a": "c", "b": "c", "server": "c"],
      "hosts": [
        "peerA": "10.0.0.5", "natA": "203.0.113.1", "peerB": "192.168.1.10",
        "natB": "198.51.100.1", "stun": "192.0.2.10:3478", "turn": "192.0.2.10:3478",
        "rendezvous": "192.0.2.20:3479",
      ],
      "path": "relayed", "relayBytes": 4242,
      "events": [
        [
          "t": 0.01, "type": "packet", "from": "10.0.0.5:40000", "to": "192.0.2.10:3478",
          "proto": "udp", "length": 20, "label": "test Binding request", "segment": "a-lan",
        ],
        [
          "t": 0.02, "type": "mapping", "nat": "A", "inside": "10.0.0.5:40000",
          "outside": "203.0.113.1:61111", "remote": "192.0.2.10:3478",
        ],
        [
          "t": 0.03, "type": "mapping", "nat": "B", "inside": "192.168.1.10:40001",
          "outside": "198.51.100.1:62222", "remote": "192.0.2.10:3478",
        ],
        ["t": 0.04, "type": "output", "peer": "A", "line": "mapped 203.0.113.1:61111"],
        ["t": 0.05, "type": "path", "path": "relayed"],
      ],
    ]
    let fixture = try JSONSerialization.data(withJSONObject: events)
    let result = try await drive(
      page: "nat-traversal/?events=/fixture-events.json", width: 1000,
      files: ["fixture-events.json": fixture],
      actions: """
        r.loaded = st();
        r.start = look();
        d.getElementById("play").click();
        await pause(12000);
        r.played = st();
        r.end = look();
        """, virtualTime: .seconds(25))
    #expect(result["errors"] as? [String] == [], "the page met errors: \(result["errors"] ?? "?")")
    let loaded = try #require(result["loaded"] as? [String: Any])
    #expect(loaded["mode"] as? String == "replay")
    #expect(loaded["steps"] as? Int == 5)
    let played = try #require(result["played"] as? [String: Any])
    #expect(played["step"] as? Int == 5, "the replay did not reach the end: \(played)")
    let tables = played["tables"] as? [String: [[String: Any]]] ?? [:]
    #expect(tables["A"]?.first?["outside"] as? String == "203.0.113.1:61111")
    #expect(tables["B"]?.first?["outside"] as? String == "198.51.100.1:62222")
    #expect((played["output"] as? [String: [String]])?["A"] == ["mapped 203.0.113.1:61111"])
    #expect(played["path"] as? String == "relayed")
    let hashes = ["start", "end"].map { (result[$0] as? [String: Any])?["hash"] as? String }
    #expect(hashes[0] != nil && hashes[0] != hashes[1], "the replay drew nothing new")
  }

  @Test(
    "both lay out 360 px wide without horizontal overflow",
    arguments: ["socket-lifecycle/", "nat-traversal/"])
  func narrow(page: String) async throws {
    let result = try await drive(
      page: page, width: 360,
      actions: """
        r.look = look();
        r.canvasWidth = c().getBoundingClientRect().width;
        r.scrollWidth = d.documentElement.scrollWidth;
        r.clientWidth = d.documentElement.clientWidth;
        r.widest = Math.max(...[...d.querySelectorAll("body *")].map((e) => e.getBoundingClientRect().right));
        """)
    #expect(result["errors"] as? [String] == [], "the page met errors: \(result["errors"] ?? "?")")
    let scroll = result["scrollWidth"] as? Int ?? .max
    let client = result["clientWidth"] as? Int ?? 0
    #expect(client == 360 && scroll <= client, "the page is \(scroll) px wide in a 360 px window")
    #expect((result["canvasWidth"] as? Double ?? .infinity) <= 360)
    let widest = result["widest"] as? Double ?? .infinity
    #expect(widest <= 360, "an element reaches \(widest) px in a 360 px window")
    #expect(((result["look"] as? [String: Any])?["inked"] as? Int ?? 0) > 2000)
  }

  /// Serves a copy of diagrams/ (with `files` added) by bin's C http-server, opens a
  /// driver page that frames `page` `width` px wide and runs `actions` once the
  /// diagram is ready, and returns what they stored in `r` (plus `errors`).
  private func drive(
    page: String, width: Int, files: [String: Data] = [:], actions: String,
    virtualTime: Duration = .seconds(8)
  ) async throws -> [String: Any] {
    let p5 = Self.diagrams.appendingPathComponent("vendor/p5.min.js")
    guard FileManager.default.fileExists(atPath: p5.path) else {
      throw HarnessError(description: "diagrams/vendor/p5.min.js is missing: run scripts/fetch-p5")
    }
    let site = FileManager.default.temporaryDirectory
      .appendingPathComponent("kit-diagrams-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: site) }
    try FileManager.default.copyItem(at: Self.diagrams, to: site)
    for (name, data) in files { try data.write(to: site.appendingPathComponent(name)) }
    try Data(Self.driver(page: page, width: width, actions: actions).utf8)
      .write(to: site.appendingPathComponent("driver.html"))
    let port = Ports.reserve()
    let server = Program(flavor: "c", name: "http-server")
    let json = try await Running.withServer(server, port: port, arguments: [site.path]) { _ in
      let output = try await Browser.dumpDOM(
        "http://127.0.0.1:\(port)/driver.html", width: width, height: 1200,
        virtualTime: virtualTime)
      let dom = output.stdoutText
      guard let start = dom.range(of: "<pre id=\"result\">"),
        let end = dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex)
      else {
        throw HarnessError(
          description: """
            the driver wrote no result for \(page) (did the diagram never get ready?)
            \(output.stderrText.suffix(1500))
            """)
      }
      // The DOM escapes the text it prints: undo that, &amp; last
      return String(dom[start.upperBound..<end.lowerBound])
        .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
        .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
    let object = try JSONSerialization.jsonObject(with: Data(json.utf8))
    guard let result = object as? [String: Any] else {
      throw HarnessError(description: "the driver's result is not an object: \(json)")
    }
    if let failure = result["failure"] as? String {
      throw HarnessError(description: "the driver failed on \(page): \(failure)")
    }
    return result
  }

  /// The driver: a frame `width` px wide, helpers for the actions, the result as JSON.
  private static func driver(page: String, width: Int, actions: String) -> String {
    """
    <!doctype html><html><head><meta charset="utf-8"><style>body{margin:0}iframe{border:0;display:block}</style></head>
    <body><iframe id="frame" src="\(page)" width="\(width)" height="1100"></iframe><script>
    const frame = document.getElementById("frame");
    const pause = (ms) => new Promise((done) => setTimeout(done, ms));
    async function run() {
      const r = {};
      try {
        let w;
        for (let i = 0; i < 200; i++) {
          w = frame.contentWindow;
          if (w && w.__diagram && w.__diagram.ready) break;
          await pause(50);
        }
        if (!w.__diagram || !w.__diagram.ready) throw new Error("the diagram never set __diagram.ready");
        const d = w.document;
        const st = () => w.__diagram.state();
        const c = () => w.__diagram.canvas();
        // Inked pixels (not the paper colour) and a hash of them all
        const look = () => {
          const canvas = c();
          const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
          let inked = 0, hash = 2166136261;
          for (let i = 0; i < px.length; i += 4) {
            if (Math.abs(px[i] - 255) + Math.abs(px[i + 1] - 253) + Math.abs(px[i + 2] - 248) > 30) inked++;
            hash = Math.imul(hash ^ (px[i] + 7 * px[i + 1] + 31 * px[i + 2]), 16777619) >>> 0;
          }
          return { inked, hash: hash.toString(16), width: canvas.width, height: canvas.height };
        };
        // A real click where the item is drawn: p5 reads the mouse from the event
        const click = (item) => {
          const rect = c().getBoundingClientRect();
          const at = { clientX: rect.left + item.x + item.w / 2, clientY: rect.top + item.y + item.h / 2, bubbles: true };
          c().dispatchEvent(new w.MouseEvent("mousedown", at));
          c().dispatchEvent(new w.MouseEvent("mouseup", at));
        };
    \(actions)
        r.errors = w.__errors;
      } catch (error) {
        r.failure = String(error && error.stack || error);
      }
      const out = document.createElement("pre");
      out.id = "result";
      out.textContent = JSON.stringify(r);
      document.body.appendChild(out);
    }
    run();
    </script></body></html>
    """
  }
}
