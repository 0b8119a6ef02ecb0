// A UDP socket that a test or a grader drives: a stand-in client or server.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

/// A UDP socket on 127.0.0.1 that the test drives: a stand-in client or server.
package final class DatagramPeer: Sendable {
  private let fd: Int32
  package let port: UInt16

  /// Bound to `port`, or to a port the kernel picks.
  package init(port: UInt16 = 0) throws {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
      }
    }
    guard fd >= 0, bound else {
      let reason = String(cString: strerror(errno))
      if fd >= 0 { close(fd) }
      throw HarnessError(description: "datagram peer on port \(port): \(reason)")
    }
    self.fd = fd
    self.port = UInt16(bigEndian: address.sin_port)
  }

  deinit { close(fd) }

  package func send(_ bytes: [UInt8], to port: UInt16) {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    _ = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { to in
        bytes.withUnsafeBytes {
          sendto(fd, $0.baseAddress, $0.count, 0, to, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
    }
  }

  package func receive(within limit: Duration) throws -> [UInt8] {
    try receiveWithSender(within: limit).0
  }

  /// One datagram and the port it came from.
  package func receiveWithSender(within limit: Duration) throws -> ([UInt8], UInt16) {
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&entry, 1, milliseconds(until: ContinuousClock.now + limit)) == 1 else {
      throw HarnessError(description: "datagram peer: nothing arrived within \(limit)")
    }
    var buffer = [UInt8](repeating: 0, count: 65536)
    var from = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let n = withUnsafeMutablePointer(to: &from) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        recvfrom(fd, &buffer, buffer.count, 0, $0, &length)
      }
    }
    guard n >= 0 else {
      throw HarnessError(
        description: "datagram peer: recvfrom: \(String(cString: strerror(errno)))")
    }
    return (Array(buffer[..<n]), UInt16(bigEndian: from.sin_port))
  }
}
