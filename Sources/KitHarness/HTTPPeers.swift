// Peers the http tests need besides the kit's programs: a raw TCP connection that sends
// exactly the bytes a test gives it (malformed, oversized, slow, cut short), and a
// parsed HTTP response. Socket calls block, so they run on threads of their own, never
// on the test's tasks, and every one is bounded by a socket timeout.
import Foundation
import Synchronization

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

/// A response as the bytes on the wire show it: status line, headers, body.
package struct HTTPResponse: Sendable, CustomStringConvertible {
  package let statusLine: String
  package let status: Int
  package let headers: [Header]
  package let body: [UInt8]

  package struct Header: Sendable {
    package let name: String
    package let value: String
  }

  /// nil unless the bytes hold a status line and headers up to the empty line.
  package init?(_ bytes: [UInt8]) {
    let separator: [UInt8] = Array("\r\n\r\n".utf8)
    guard let end = bytes.firstRange(of: separator) else { return nil }
    let lines = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
      .split(separator: "\r\n", omittingEmptySubsequences: false)
    let parts = lines[0].split(separator: " ", maxSplits: 2)
    guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
      return nil
    }
    statusLine = String(lines[0])
    self.status = status
    headers = lines.dropFirst().map { line in
      let colon = line.firstIndex(of: ":") ?? line.endIndex
      return Header(
        name: String(line[..<colon]),
        value: line[colon...].dropFirst().trimmingCharacters(in: .whitespaces))
    }
    body = Array(bytes[end.upperBound...])
  }

  /// The first header of that name, compared without case.
  package func header(_ name: String) -> String? {
    headers.first { $0.name.lowercased() == name.lowercased() }?.value
  }

  package var description: String { "\(statusLine) (\(body.count) bytes of body)" }
}

/// What a raw connection got back before the server closed it.
package struct RawReply: Sendable, CustomStringConvertible {
  package var bytes: [UInt8] = []
  /// The connection ended in a reset (or a failed send) rather than a clean close.
  package var reset = false

  package init() {}

  package var response: HTTPResponse? { HTTPResponse(bytes) }
  /// The response's status, or 0 when the server closed without answering.
  package var status: Int { response?.status ?? 0 }
  package var description: String {
    response.map { "\($0)" }
      ?? (bytes.isEmpty
        ? "closed without a response\(reset ? " (reset)" : "")"
        : "not HTTP: \(String(decoding: bytes.prefix(80), as: UTF8.self).debugDescription)")
  }
}

/// One TCP connection to 127.0.0.1, driven byte by byte by a test.
package final class RawConnection: Sendable {
  package let fd: Int32
  /// How long any one send or receive may block.
  package static let patience = 15

  package init(port: UInt16) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else {
      throw HarnessError(description: "raw client: socket: \(String(cString: strerror(errno)))")
    }
    var timeout = timeval(tv_sec: RawConnection.patience, tv_usec: 0)
    let size = socklen_t(MemoryLayout<timeval>.size)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    // The timeouts first: on Linux SO_SNDTIMEO bounds connect too, which a server with
    // a full backlog would otherwise keep retrying for minutes.
    guard setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, size) == 0,
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, size) == 0,
      withUnsafePointer(
        to: &address,
        {
          $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
          }
        }) == 0
    else {
      let reason = String(cString: strerror(errno))
      Glibc.close(fd)
      throw HarnessError(description: "raw client: connect to port \(port): \(reason)")
    }
  }

  /// A connection a test's own `Listener` accepted, with the same bounds on each call.
  package init(accepted fd: Int32) {
    self.fd = fd
    var timeout = timeval(tv_sec: RawConnection.patience, tv_usec: 0)
    let size = socklen_t(MemoryLayout<timeval>.size)
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, size)
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, size)
  }

  /// One recv of at most `limit` bytes: what the peer's first write brought, or less.
  /// Empty at end of stream.
  package func receiveOnce(upTo limit: Int) throws -> [UInt8] {
    var chunk = [UInt8](repeating: 0, count: limit)
    while true {
      let count = recv(fd, &chunk, limit, 0)
      if count >= 0 { return Array(chunk[..<count]) }
      if errno == EINTR { continue }
      throw HarnessError(
        description: errno == EAGAIN || errno == EWOULDBLOCK
          ? "the peer sent nothing for \(Self.patience) s"
          : "recv: \(String(cString: strerror(errno)))")
    }
  }

  /// Sends all of bytes; false if the server closed or reset the connection meanwhile.
  package func send(_ bytes: [UInt8]) throws -> Bool {
    var offset = 0
    while offset < bytes.count {
      let sent = bytes[offset...].withUnsafeBytes {
        Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
      }
      if sent < 0 && errno == EINTR { continue }
      if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
        throw HarnessError(
          description:
            "raw client: the server stopped reading for \(Self.patience) s without answering or closing"
        )
      }
      if sent < 0 { return false }
      offset += sent
    }
    return true
  }

  /// No more bytes from us; the server sees end of stream.
  package func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

  /// Whether the server has something to say (or has closed), waiting at most `milliseconds`.
  package func readable(within milliseconds: Int32) -> Bool {
    var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    return poll(&ready, 1, milliseconds) > 0
  }

  /// Everything the server sends until it closes.
  package func receiveAll() throws -> RawReply {
    var reply = RawReply()
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = recv(fd, &chunk, chunk.count, 0)
      if count > 0 {
        reply.bytes += chunk[..<count]
      } else if count == 0 {
        return reply
      } else if errno == EINTR {
        continue
      } else if errno == EAGAIN || errno == EWOULDBLOCK {
        throw HarnessError(
          description:
            "raw client: the server neither answered nor closed within \(Self.patience) s; so far: \(reply)"
        )
      } else {
        reply.reset = true
        return reply
      }
    }
  }

  package func close() { Glibc.close(fd) }
}

package enum RawHTTP {
  /// Connects, sends `bytes` and reads until the server closes. `then` says what the
  /// client does after sending: wait for the answer, tell the server it has finished
  /// sending (end of stream mid-request), or hang up without reading.
  package static func exchange(port: UInt16, _ bytes: [UInt8], then after: After = .wait)
    async throws
    -> RawReply
  {
    try await onThread {
      let connection = try RawConnection(port: port)
      defer { connection.close() }
      if try !connection.send(bytes) {
        var reply = try connection.receiveAll()
        reply.reset = true
        return reply
      }
      switch after {
      case .wait: break
      case .finishSending: connection.finishSending()
      case .hangUp: return RawReply()
      }
      return try connection.receiveAll()
    }
  }

  package static func exchange(port: UInt16, _ text: String, then after: After = .wait) async throws
    -> RawReply
  {
    try await exchange(port: port, Array(text.utf8), then: after)
  }

  package enum After: Sendable { case wait, finishSending, hangUp }
}

/// A slowloris: sends a request one byte a second, as long as the server listens,
/// and reports how the server ended it.
package final class SlowClient: Sendable {
  /// How the slow request ended, and what happened to the others meanwhile.
  package struct Outcome: Sendable {
    /// Bytes sent before the server answered or closed.
    package var sent = 0
    package var reply = RawReply()
    /// The replies of the other requests, made while this one was under way.
    package var others: [RawReply] = []
    /// Whether the server had already ended the slow request when the others were done.
    package var endedBeforeOthers = false
  }

  private let connection: RawConnection
  private let outcome = Mutex<Result<Outcome, any Error>?>(nil)

  /// Connected on return, so a test knows the server has this client before it goes on.
  package init(port: UInt16) throws { connection = try RawConnection(port: port) }

  /// Starts dripping `request` on a thread of its own. After the first byte, the same
  /// thread makes the `others` requests, each on a connection of its own: one thread,
  /// so the order of events is the server's, whatever the test's tasks are waiting for.
  package func start(_ request: [UInt8], others: [[UInt8]] = [], port: UInt16 = 0) {
    Thread.detachNewThread { [self] in
      let result = Result { () throws -> Outcome in
        var outcome = Outcome()
        while outcome.sent < request.count {
          guard try connection.send([request[outcome.sent]]) else { break }
          outcome.sent += 1
          if outcome.sent == 1 && !others.isEmpty {
            for other in others {
              let peer = try RawConnection(port: port)
              defer { peer.close() }
              _ = try peer.send(other)
              outcome.others.append(try peer.receiveAll())
            }
            outcome.endedBeforeOthers = connection.readable(within: 0)
          }
          // The pace: one byte a second, unless the server answers (or closes) first.
          if connection.readable(within: 1000) { break }
        }
        outcome.reply = try connection.receiveAll()
        return outcome
      }
      connection.close()
      self.outcome.withLock { $0 = result }
    }
  }

  /// What happened, once the server has ended the slow request.
  package func result(within limit: Duration) async throws -> Outcome {
    let clock = ContinuousClock()
    let deadline = clock.now + limit
    while true {
      if let result = outcome.withLock({ $0 }) { return try result.get() }
      if clock.now > deadline {
        throw HarnessError(description: "slow client: the server did not end it within \(limit)")
      }
      try await Task.sleep(for: .milliseconds(50))  // allowed: poll of a bounded wait
    }
  }
}
