// Peers for testing echo servers from inside the test: many connections at once in one
// non-blocking poll() loop (EchoLoad), and single connections that misbehave on
// purpose (EchoPeer). Every byte they send comes from a fixed pattern, so every byte
// that comes back is checked, in order, with memcmp. All of it is plain Glibc, and
// all of it blocks its thread, so tests run it through `onThread` and every wait
// has a deadline.
import Foundation

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

private func reason(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

/// A duration as poll()'s timeout: whole milliseconds, at most a minute.
private func milliseconds(_ duration: Duration) -> Int32 {
  let (seconds, attoseconds) = duration.components
  return Int32(max(0, min(seconds * 1000 + attoseconds / 1_000_000_000_000_000, 60_000)))
}

/// What is left until `deadline`, as poll()'s timeout: 0 once it has passed.
package func milliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
  let left = deadline - .now
  return left <= .zero ? 0 : max(1, milliseconds(left))
}

// MARK: - The bytes

/// What a test connection sends: stream `s` is a fixed pseudo-random byte sequence
/// read from its own starting point, so two streams differ and any stretch of either
/// can be compared in place.
package enum EchoPattern {
  package static let period = 1 << 20
  /// The longest stretch asked for at once.
  package static let maxChunk = 256 * 1024

  /// `period + maxChunk` bytes; the tail repeats the head, so a stretch of up to
  /// maxChunk bytes from any position below `period` is contiguous.
  /// Written once, here, then only read, from any thread.
  nonisolated(unsafe) private static let bytes: UnsafeMutableRawBufferPointer = {
    let buffer = UnsafeMutableRawBufferPointer.allocate(
      byteCount: period + maxChunk, alignment: 16)
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    for i in 0..<period {
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      buffer[i] = UInt8(truncatingIfNeeded: state >> 24)
    }
    for i in 0..<maxChunk { buffer[period + i] = buffer[i] }
    return buffer
  }()

  /// Byte `offset` of stream `stream`, and up to maxChunk after it.
  package static func at(stream: Int, offset: Int) -> UnsafeRawPointer {
    UnsafeRawPointer(bytes.baseAddress!) + (offset + stream &* 7919) % period
  }
}

/// Message sizes from a seeded generator: the same plan on every run.
package struct MessageSizes {
  private var state: UInt64

  package init(seed: Int) { state = UInt64(truncatingIfNeeded: seed) &+ 0x1234_5678 }

  private mutating func next(_ range: ClosedRange<Int>) -> Int {
    state &+= 0x9E37_79B9_7F4A_7C15  // SplitMix64
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    return range.lowerBound + Int(z % UInt64(range.count))
  }

  /// `count` sizes from 1 byte to 64 KiB, most of them small: the first is 1 byte and
  /// the second 64 KiB, so both ends always occur; then 90% up to 512 bytes, 8% up to
  /// 8 KiB, 2% up to 64 KiB. About 2 KiB on average for 100 messages.
  package mutating func mixed(count: Int) -> [Int] {
    (0..<count).map { index in
      if index == 0 { return 1 }
      if index == 1 { return 65536 }
      let pick = next(1...100)
      return pick <= 90 ? next(1...512) : pick <= 98 ? next(513...8192) : next(8193...65536)
    }
  }
}

// MARK: - Sockets

package enum EchoSocket {
  /// A TCP socket to 127.0.0.1:port, close-on-exec (a server that a parallel test
  /// starts must not inherit it), connected (blocking) or connecting (non-blocking).
  /// `receiveBuffer` sets SO_RCVBUF before connecting, so the window this end offers
  /// stays that small: the server's echo to it backs up sooner.
  package static func open(port: UInt16, blocking: Bool, receiveBuffer: Int32? = nil) throws
    -> Int32
  {
    var flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    if !blocking { flags |= Int32(SOCK_NONBLOCK.rawValue) }
    let fd = socket(AF_INET, flags, 0)
    guard fd >= 0 else { throw HarnessError(description: "socket: \(reason())") }
    if var size = receiveBuffer {
      _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    // A non-blocking connect returns EINPROGRESS: the handshake goes on, and the
    // socket turns writable when it is done (SO_ERROR tells how it went).
    if connected < 0 && !(errno == EINPROGRESS && !blocking) {
      let why = reason()
      close(fd)
      throw HarnessError(description: "connect to port \(port): \(why)")
    }
    return fd
  }

  package static func setNonBlocking(_ fd: Int32) {
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
  }

  /// The error a non-blocking connect ended with (0: connected).
  package static func pendingError(_ fd: Int32) -> Int32 {
    var error: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    return getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0 ? errno : error
  }

  /// The hard limit on this process's open descriptors: what raiseDescriptorLimit gives.
  package static func descriptorLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
    return Int(clamping: limit.rlim_max)
  }

  /// Raises this process's soft limit on open descriptors to its hard limit: one test
  /// may hold a thousand connections while others run. Programs started afterwards
  /// inherit the raised limit.
  package static func raiseDescriptorLimit() {
    var limit = rlimit()
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(resource, &limit)
  }
}

// MARK: - Many connections

/// Opens `connections` connections at once; each streams its messages (sizes from
/// `sizes(index)`) and reads the echo at the same time, checking every byte in order.
/// One thread, one poll() over every socket, nothing blocking but poll itself.
/// With `halfClose`, each shuts down its sending side after its last byte and
/// expects end-of-stream once its whole echo is back; without, it closes then.
/// A `greedy` connection has a small receive buffer and at first only sends: until it
/// has sent everything, or its sends have made no progress for `greedyQuiet` (the
/// server has stopped reading it). Either way the server has had to keep echo that
/// its sends could not place (more than its socket's send buffer holds, or it would
/// not have stopped reading), and its cap is at work. Then it reads and sends as the
/// others do.
package enum EchoLoad {
  package static let greedyReceiveBuffer: Int32 = 16 * 1024
  package static let greedyQuiet: Duration = .milliseconds(200)

  package struct Report: Sendable {
    package var connections = 0
    package var bytes = 0
  }

  private struct Connection {
    package var fd: Int32
    package let stream: Int
    package let sizes: [Int]
    package let total: Int
    package var holding: Bool  // greedy, and not reading yet
    package var lastProgress = ContinuousClock.now  // of its sends, while holding
    package var connected = false
    package var message = 0  // the message being sent, and how much of it is gone
    package var inMessage = 0
    package var sent = 0
    package var received = 0
    package var done = false
  }

  package static func run(
    port: UInt16, connections count: Int, sizes: (Int) -> [Int],
    greedy: (Int) -> Bool = { _ in false }, halfClose: Bool = false, within limit: Duration
  ) throws -> Report {
    let deadline = ContinuousClock.now + limit
    var connections: [Connection] = []
    defer { for connection in connections where !connection.done { close(connection.fd) } }
    for index in 0..<count {
      let plan = sizes(index)
      let fd = try EchoSocket.open(
        port: port, blocking: false, receiveBuffer: greedy(index) ? greedyReceiveBuffer : nil)
      connections.append(
        Connection(
          fd: fd, stream: index, sizes: plan, total: plan.reduce(0, +), holding: greedy(index)))
    }
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: EchoPattern.maxChunk, alignment: 16)
    defer { buffer.deallocate() }
    var fds: [pollfd] = []
    var owners: [Int] = []

    while true {
      fds.removeAll(keepingCapacity: true)
      owners.removeAll(keepingCapacity: true)
      var wake = deadline  // or earlier, when a holding connection's quiet spell ends
      for index in connections.indices where connections[index].holding {
        let c = connections[index]
        if c.sent == c.total || ContinuousClock.now - c.lastProgress >= greedyQuiet {
          connections[index].holding = false
        } else {
          wake = min(wake, c.lastProgress + greedyQuiet)
        }
      }
      for (index, c) in connections.enumerated() where !c.done {
        var events = Int32(0)
        if c.connected && !c.holding { events |= POLLIN }
        if !c.connected || c.sent < c.total { events |= POLLOUT }
        fds.append(pollfd(fd: c.fd, events: Int16(events), revents: 0))
        owners.append(index)
      }
      if fds.isEmpty { break }
      let wait = milliseconds(until: deadline)
      if wait == 0 {
        throw HarnessError(description: "echo load: \(status(connections)) when the time was up")
      }
      let ready = poll(&fds, nfds_t(fds.count), max(1, milliseconds(until: wake)))
      if ready < 0 && errno != EINTR {
        throw HarnessError(description: "echo load: poll: \(reason())")
      }
      for (slot, index) in owners.enumerated() where fds[slot].revents != 0 {
        let revents = Int32(fds[slot].revents)
        try step(&connections[index], revents: revents, buffer: buffer, halfClose: halfClose)
      }
    }
    return Report(connections: count, bytes: connections.reduce(0) { $0 + $1.total })
  }

  private static func step(
    _ c: inout Connection, revents: Int32, buffer: UnsafeMutableRawPointer, halfClose: Bool
  ) throws {
    let name = "connection \(c.stream)"
    if !c.connected {
      let error = EchoSocket.pendingError(c.fd)
      if error != 0 { throw HarnessError(description: "\(name): connect: \(reason(error))") }
      c.connected = true
    }
    if !c.holding && revents & (POLLIN | POLLERR | POLLHUP) != 0 {
      let n = recv(c.fd, buffer, EchoPattern.maxChunk, 0)
      if n > 0 {
        guard c.received + n <= c.total else {
          throw HarnessError(
            description: "\(name): \(c.received + n) bytes came back, \(c.total) were sent")
        }
        let expected = EchoPattern.at(stream: c.stream, offset: c.received)
        if memcmp(buffer, expected, n) != 0 {
          let bad = (0..<n).first {
            buffer.load(fromByteOffset: $0, as: UInt8.self)
              != expected.load(fromByteOffset: $0, as: UInt8.self)
          }!
          throw HarnessError(description: "\(name): byte \(c.received + bad) of the echo is wrong")
        }
        c.received += n
        if c.received == c.total && !halfClose { finish(&c) }
      } else if n == 0 {
        guard halfClose && c.received == c.total else {
          throw HarnessError(
            description: "\(name): end of stream after \(c.received) of \(c.total) bytes")
        }
        finish(&c)  // the whole echo, then end-of-stream: as it should be
      } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
        throw HarnessError(
          description: "\(name): recv after \(c.received) of \(c.total) bytes: \(reason())")
      }
    }
    if !c.done && revents & POLLOUT != 0 && c.sent < c.total {
      let length = min(c.sizes[c.message] - c.inMessage, EchoPattern.maxChunk)
      let n = send(
        c.fd, EchoPattern.at(stream: c.stream, offset: c.sent), length, Int32(MSG_NOSIGNAL))
      if n > 0 {
        c.sent += n
        c.lastProgress = .now
        c.inMessage += n
        if c.inMessage == c.sizes[c.message] {
          c.message += 1
          c.inMessage = 0
        }
        if c.sent == c.total && halfClose { shutdown(c.fd, Int32(SHUT_WR)) }
      } else if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
        throw HarnessError(
          description: "\(name): send after \(c.sent) of \(c.total) bytes: \(reason())")
      }
    }
  }

  private static func finish(_ c: inout Connection) {
    close(c.fd)
    c.done = true
  }

  private static func status(_ connections: [Connection]) -> String {
    let waiting = connections.filter { !$0.done }
    let sample = waiting.prefix(3).map {
      "connection \($0.stream) sent \($0.sent)/\($0.total), got back \($0.received)"
    }
    return "\(waiting.count) of \(connections.count) connections unfinished ("
      + sample.joined(separator: "; ") + ")"
  }
}

// MARK: - One connection that misbehaves

/// One connection driven step by step: send without reading, read later, half-close,
/// reset. Used by one thread at a time (each step runs inside `onThread`).
package final class EchoPeer: @unchecked Sendable {
  private var fd: Int32
  package let stream: Int
  package private(set) var sent = 0
  package private(set) var received = 0

  package init(port: UInt16, stream: Int) throws {
    fd = try EchoSocket.open(port: port, blocking: true)
    EchoSocket.setNonBlocking(fd)
    self.stream = stream
  }

  deinit { close() }

  /// Sends pattern bytes without reading any, until `limit` bytes are gone or the
  /// socket has taken nothing for `quiet`: the server has stopped reading (or its
  /// buffers and ours are full). Returns whether it stalled.
  package func sendUntilStalled(limit: Int, quiet: Duration) throws -> Bool {
    let quietMilliseconds = milliseconds(quiet)
    while sent < limit {
      let length = min(limit - sent, 64 * 1024)
      let n = send(
        fd, EchoPattern.at(stream: stream, offset: sent), length, Int32(MSG_NOSIGNAL))
      if n > 0 {
        sent += n
        continue
      }
      guard n < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else {
        throw HarnessError(description: "peer: send after \(sent) bytes: \(reason())")
      }
      var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
      // allowed: no event says "the server stopped reading"; a quiet spell does
      if poll(&entry, 1, quietMilliseconds) == 0 { return true }
    }
    return false
  }

  /// Reads until every byte sent has come back, checking each.
  package func receiveEcho(within limit: Duration) throws {
    let deadline = ContinuousClock.now + limit
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: EchoPattern.maxChunk, alignment: 16)
    defer { buffer.deallocate() }
    while received < sent {
      let n = recv(fd, buffer, min(EchoPattern.maxChunk, sent - received), 0)
      if n > 0 {
        if memcmp(buffer, EchoPattern.at(stream: stream, offset: received), n) != 0 {
          throw HarnessError(
            description: "peer: the echo differs within bytes \(received)..<\(received + n)")
        }
        received += n
      } else if n == 0 {
        throw HarnessError(description: "peer: end of stream after \(received) of \(sent) bytes")
      } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
        try waitReadable(until: deadline, for: "the echo (\(received) of \(sent) bytes back)")
      } else {
        throw HarnessError(
          description: "peer: recv after \(received) of \(sent) bytes: \(reason())")
      }
    }
  }

  /// Expects end-of-stream (recv returns 0), not more bytes and not a reset.
  package func expectEndOfStream(within limit: Duration) throws {
    let deadline = ContinuousClock.now + limit
    var byte: UInt8 = 0
    while true {
      let n = recv(fd, &byte, 1, 0)
      if n == 0 { return }
      if n > 0 { throw HarnessError(description: "peer: a byte more than was sent came back") }
      guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else {
        throw HarnessError(description: "peer: recv, waiting for end of stream: \(reason())")
      }
      try waitReadable(until: deadline, for: "end of stream")
    }
  }

  /// shutdown(SHUT_WR): sends FIN; the server sees end-of-stream, we can still read.
  package func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

  /// SO_LINGER with a zero timeout, then close: the kernel sends RST instead of FIN
  /// and drops whatever is unsent or unread.
  package func reset() {
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    close()
  }

  package func close() {
    if fd >= 0 { Glibc.close(fd) }
    fd = -1
  }

  private func waitReadable(until deadline: ContinuousClock.Instant, for what: String) throws {
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let wait = milliseconds(until: deadline)
    if wait == 0 || poll(&entry, 1, wait) == 0 {
      throw HarnessError(description: "peer: \(what) did not arrive in time")
    }
  }
}
