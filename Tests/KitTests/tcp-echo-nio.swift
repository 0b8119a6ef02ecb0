// tcp-echo over SwiftNIO. The NIO server runs in tcp-echo.swift's matrix with the
// other echo servers (every client, 500 clients at once, a client that never reads,
// resets, half-close, running out of descriptors); this check makes sure it is there.
import Foundation
import KitHarness
import Testing

@Suite("tcp-echo over SwiftNIO", .timeLimit(.minutes(1)))
struct TcpEchoNIOTests {
  @Test("the SwiftNIO echo server is built and in the matrix")
  func built() {
    #expect(Kit.flavors(having: "tcp-echo-nio-server") == ["swift-nio"])
    #expect(
      FileManager.default.isExecutableFile(
        atPath: Kit.path(flavor: "swift-nio", "tcp-echo-nio-server").path),
      "swift-nio-tcp-echo-nio-server was not built: --manifest-cache none?")
    #expect(TcpEchoTests.servers.contains { $0.name == "tcp-echo-nio-server" })
  }
}
