// A client that makes a server's sends wait: it sends its bytes but reads nothing until
// the server has read them all or has stopped reading (blocked in a send that waits for
// us), then reads a little at a time. A blocking send waits its turn; a send that may
// not wait (a non-blocking socket, MSG_DONTWAIT) takes part of its bytes or none, and a
// server that does not send the rest in a loop loses them here.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

package enum SlowReader {
  /// How the exchange ended.
  package enum End: Sendable, Equatable {
    /// `take` said it had all it wanted.
    case done
    case closed
    case reset
    /// Nothing came (or could be sent) for the whole `patience`.
    case silent
    /// The server left unread this many bytes of the first `firstPiece`.
    case stalledAtFirst(Int)
  }

  /// Connects to the server on `port` (process `server`) with a small receive buffer and
  /// sends `bytes`: the first `firstPiece` alone, waiting until the server has read them
  /// (so its first recv gets no more), then the rest, holding off reading as above.
  /// Then reads 4 KiB at a time, handing each piece to `take` until it returns false,
  /// while sending what is left. Blocks its thread: run it through `onThread`.
  package static func exchange(
    port: UInt16, server: pid_t, sending bytes: [UInt8], firstPiece: Int,
    patience: Duration, take: (ArraySlice<UInt8>) -> Bool
  ) throws -> End {
    let fd = try EchoSocket.open(port: port, blocking: true, receiveBuffer: 16 * 1024)
    defer { close(fd) }
    EchoSocket.setNonBlocking(fd)
    var sent = 0
    /// Sends what the socket takes now, up to `end`; false once the connection has failed.
    func push(upTo end: Int) -> Bool {
      while sent < end {
        let count = bytes[sent..<end].withUnsafeBytes {
          send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
        }
        if count < 0 { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR }
        sent += count
      }
      return true
    }
    func wait(for events: Int32, milliseconds: Int32) -> Int32 {
      var entry = pollfd(fd: fd, events: Int16(events), revents: 0)
      return poll(&entry, 1, milliseconds) > 0 ? Int32(entry.revents) : 0
    }

    // 1. The first piece, read by the server before anything else is sent.
    let first = min(firstPiece, bytes.count)
    let opening = ContinuousClock.now + patience
    while push(upTo: first), sent < first, ContinuousClock.now < opening {
      _ = wait(for: POLLOUT, milliseconds: 100)
    }
    if case .unread(let count) = SocketQueues.waitUntilRead(fd, within: patience) {
      return .stalledAtFirst(count)
    }
    // 2. The rest, reading nothing, until the server has read it all, or has stopped
    //    reading: asleep, with the same bytes unread, for a second.
    var last = (unread: -1, sent: -1, at: ContinuousClock.now)
    let holdUntil = ContinuousClock.now + patience
    while ContinuousClock.now < holdUntil, push(upTo: bytes.count) {
      let acknowledged = sent == bytes.count && SocketQueues.unacknowledged(fd) == 0
      guard let unread = SocketQueues.unread(byPeerOf: fd) else { break }  // it closed
      if acknowledged && unread == 0 { break }
      if unread != last.unread || sent != last.sent {
        last = (unread, sent, .now)
      } else if ContinuousClock.now - last.at > .seconds(1) && isAsleep(server) {
        break
      }
      // allowed: the poll interval of a bounded wait (or until more can be sent)
      _ = wait(for: sent < bytes.count ? POLLOUT : 0, milliseconds: 10)
    }
    // 3. Read 4 KiB at a time, sending the rest as the server takes it.
    var chunk = [UInt8](repeating: 0, count: 4096)
    var progress = ContinuousClock.now
    while true {
      let unsent = sent < bytes.count ? POLLOUT : 0
      let ready = wait(for: POLLIN | unsent, milliseconds: milliseconds(until: progress + patience))
      if ready == 0 { return .silent }
      if ready & POLLOUT != 0 {
        let before = sent
        _ = push(upTo: bytes.count)
        if sent > before { progress = .now }
      }
      guard ready & (POLLIN | POLLHUP | POLLERR) != 0 else { continue }
      let count = recv(fd, &chunk, chunk.count, 0)
      if count > 0 {
        if !take(chunk[..<count]) { return .done }
        progress = .now
      } else if count == 0 {
        return .closed
      } else if errno != EAGAIN && errno != EINTR {
        return .reset
      }
    }
  }

  /// Whether the process waits for an event ('S' in /proc/<pid>/stat), rather than for
  /// its turn on a processor ('R') or for a disk ('D'). A server whose sends wait for
  /// our reads sleeps; one merely slow to get a processor does not.
  private static func isAsleep(_ pid: pid_t) -> Bool {
    let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return true }  // gone: nothing more will come from it
    defer { close(fd) }
    var text = [UInt8](repeating: 0, count: 512)
    let count = read(fd, &text, text.count)
    // "pid (name) S ...": the state follows the last parenthesis (a name may hold one).
    guard count > 0, let name = text[..<count].lastIndex(of: UInt8(ascii: ")")),
      name + 2 < count
    else { return true }
    return text[name + 2] == UInt8(ascii: "S")
  }
}
