// The one exchange every STUN and TURN client makes: send a request over UDP, resend it
// until its answer comes, and pick that answer out of whatever else arrives.

import Sockets

extension Socket {
  /// Sends `request` to `server` (with MESSAGE-INTEGRITY under `integrityKey`, if given)
  /// and returns the answer that carries its transaction id, resending the same bytes
  /// after 500 ms, then 1 s, 2 s, 4 s... (RFC 8489 section 6.2.1) until `deadline`; nil
  /// if no answer came by then.
  ///
  /// Datagrams from anyone but `server`, and messages of other transactions, are skipped:
  /// a stray or spoofed packet must not end the wait. But an answer with our id that is
  /// not a well-formed message throws its `StunError`, and so does a datagram too short
  /// to hold an id, since it cannot be told apart from a broken answer.
  public func exchange(
    _ request: StunMessage, integrityKey: [UInt8]? = nil, with server: SocketAddress,
    until deadline: ContinuousClock.Instant
  ) throws -> StunMessage? {
    let bytes = integrityKey.map { request.encoded(integrityKey: $0) } ?? request.encoded()
    var resendAt = ContinuousClock.now
    var interval = Duration.milliseconds(500)
    while true {
      let now = ContinuousClock.now
      if now >= deadline { return nil }
      if now >= resendAt {
        try send(bytes, to: server)
        resendAt = now + interval
        interval *= 2
      }
      let datagram: [UInt8]
      let sender: SocketAddress
      do {
        (datagram, sender) = try receiveDatagram(timeout: now.duration(to: min(resendAt, deadline)))
      } catch .timedOut {
        continue
      } catch {
        throw error  // spelled out: Swift 6.3's compiler crashes on the implicit rethrow
      }
      guard sender == server else { continue }
      if let id = StunMessage.transactionID(in: datagram), id != request.transactionID { continue }
      return try StunMessage(parsing: datagram)
    }
  }
}
