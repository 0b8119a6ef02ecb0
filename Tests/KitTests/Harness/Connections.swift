// A connection the test itself holds: a client that connects and stays silent, to
// show which servers it blocks.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

final class SilentConnection {
  private var fd: Int32

  /// Connects to 127.0.0.1:port and sends nothing until closed.
  init(port: UInt16) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard fd >= 0, connected == 0 else {
      let reason = String(cString: strerror(errno))
      if fd >= 0 { Glibc.close(fd) }
      throw HarnessError(description: "silent client: connect to port \(port): \(reason)")
    }
  }

  func close() {
    if fd >= 0 { Glibc.close(fd) }
    fd = -1
  }

  deinit { close() }
}
