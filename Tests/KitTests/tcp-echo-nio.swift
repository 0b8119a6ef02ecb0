// tcp-echo over SwiftNIO. The NIO server runs in tcp-echo.swift's matrix with the
// other echo servers (every client, 500 clients at once, a client that never reads,
// resets, half-close, running out of descriptors). Package.swift builds the swift-nio
// flavor only when KIT_NIO is set: this check makes sure that a run that asked for it
// (make test) really has it in the matrix.
import Foundation
import KitHarness
import Testing

@Suite("tcp-echo over SwiftNIO", .timeLimit(.minutes(1)))
struct TcpEchoNIOTests {
  @Test(
    "with KIT_NIO set, the SwiftNIO echo server is built and in the matrix",
    .enabled(if: ProcessInfo.processInfo.environment["KIT_NIO"] != nil))
  func built() {
    #expect(Kit.flavors(having: "tcp-echo-nio-server") == ["swift-nio"])
    #expect(
      FileManager.default.isExecutableFile(
        atPath: Kit.path(flavor: "swift-nio", "tcp-echo-nio-server").path),
      "KIT_NIO is set, yet swift-nio-tcp-echo-nio-server was not built: --manifest-cache none?")
    #expect(TcpEchoTests.servers.contains { $0.name == "tcp-echo-nio-server" })
  }
}
