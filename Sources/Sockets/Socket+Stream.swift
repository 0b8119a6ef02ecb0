// Bytes over a connection. A stream has no message boundaries: one send may arrive in
// several pieces and several sends in one, so these calls loop until the framing the
// program asked for is complete: all bytes, exactly N bytes, or one line.

extension Socket {
  /// Sends all of `bytes`, however many send(2) calls it takes: the kernel may accept
  /// only part of a large buffer at a time and says how much it took.
  public func sendAll(_ bytes: [UInt8], timeout: Duration? = nil) throws(SocketError) {
    let deadline = Deadline(timeout)
    var sent = 0
    while sent < bytes.count {
      sent += try retrying("send", until: deadline, waitingFor: .writable) {
        Posix.systemSend(descriptor, bytes[sent...])
      }
    }
  }

  /// Sends `text` as UTF-8, no terminator added.
  public func sendAll(_ text: String, timeout: Duration? = nil) throws(SocketError) {
    try sendAll(Array(text.utf8), timeout: timeout)
  }

  /// Whatever has arrived, at most `maxCount` bytes, as soon as there is at least one.
  /// Empty means the peer closed the connection (end-of-file). On a connected datagram
  /// socket it is one datagram, cut to `maxCount`: `receiveDatagram` reports such cuts.
  public func receive(upTo maxCount: Int, timeout: Duration? = nil) throws(SocketError) -> [UInt8] {
    precondition(maxCount > 0, "an empty buffer could not tell data from end-of-file")
    var bytes = [UInt8](repeating: 0, count: maxCount)
    let count = try receive(into: &bytes, from: 0, peek: false, until: Deadline(timeout))
    return Array(bytes[..<count])
  }

  /// Exactly `count` bytes: a fixed-size message. Nil when the peer closed the connection
  /// before the first byte, the normal end; `closedMidMessage` when it closed after some.
  public func receive(exactly count: Int, timeout: Duration? = nil) throws(SocketError) -> [UInt8]?
  {
    var bytes = [UInt8](repeating: 0, count: count)
    let received = try fill(&bytes, until: Deadline(timeout))
    if received == count { return bytes }
    if received == 0 { return nil }
    throw .closedMidMessage(received: received)
  }

  /// One line, without its "\n" (nor a "\r" before it), decoded as UTF-8, however the
  /// bytes were split across sends. Nil when the peer closed the connection before the
  /// first byte; `closedMidMessage` when it closed inside a line; `lineTooLong` past
  /// `maxLength` bytes without a newline.
  public func receiveLine(
    maxLength: Int = 8192, timeout: Duration? = nil
  ) throws(SocketError) -> String? {
    precondition(maxLength > 0, "a line needs room for at least one byte")
    let deadline = Deadline(timeout)
    var line: [UInt8] = []
    while true {
      // Peek rather than read: the bytes after the newline stay queued in the kernel for
      // the next call, so the socket needs no buffer of its own and no byte is lost.
      var chunk = [UInt8](repeating: 0, count: min(maxLength + 1 - line.count, 4096))
      let peeked = try receive(into: &chunk, from: 0, peek: true, until: deadline)
      if peeked == 0 {
        if line.isEmpty { return nil }
        throw .closedMidMessage(received: line.count)
      }
      let newline = chunk[..<peeked].firstIndex(of: UInt8(ascii: "\n"))
      if newline == nil, line.count + peeked > maxLength {
        throw .lineTooLong(limit: maxLength)
      }
      // Now take for real the bytes up to the newline; they are queued, so this cannot wait.
      var taken = [UInt8](repeating: 0, count: newline.map { $0 + 1 } ?? peeked)
      _ = try fill(&taken, until: deadline)
      line += taken
      if newline != nil {
        line.removeLast()
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return String(decoding: line, as: UTF8.self)
      }
    }
  }

  /// Receives until `bytes` is full or the peer closes; returns how many bytes came.
  private func fill(_ bytes: inout [UInt8], until deadline: Deadline) throws(SocketError) -> Int {
    var filled = 0
    while filled < bytes.count {
      let received = try receive(into: &bytes, from: filled, peek: false, until: deadline)
      if received == 0 { break }
      filled += received
    }
    return filled
  }

  /// One recv(2) into `bytes[offset...]`, waiting for data until `deadline`; 0 at end-of-file.
  private func receive(
    into bytes: inout [UInt8], from offset: Int, peek: Bool, until deadline: Deadline
  ) throws(SocketError) -> Int {
    try retrying("recv", until: deadline, waitingFor: .readable) {
      Posix.systemRecv(descriptor, into: &bytes, offset..<bytes.count, peek: peek)
    }
  }
}
