// Datagrams: each send is one message that arrives whole or not at all, so there are
// no short writes to loop over and no framing to rebuild, only a size to respect.

extension Socket {
  /// Sends `bytes` as one datagram to `address`.
  public func send(
    _ bytes: [UInt8], to address: SocketAddress, timeout: Duration? = nil
  ) throws(SocketError) {
    _ = try retrying("sendto", until: Deadline(timeout), waitingFor: .writable) {
      Posix.systemSend(descriptor, bytes[...], to: address.storage)
    }
  }

  /// Sends `text` as UTF-8 in one datagram to `address`.
  public func send(
    _ text: String, to address: SocketAddress, timeout: Duration? = nil
  ) throws(SocketError) {
    try send(Array(text.utf8), to: address, timeout: timeout)
  }

  /// Receives one datagram and the address it came from, to answer with `send(_:to:)`.
  ///
  /// A datagram longer than `maxLength` throws `datagramTooLarge`: the kernel drops the
  /// bytes that do not fit, and a program should learn that, not work on a cut message.
  public func receiveDatagram(
    maxLength: Int = 65_536, timeout: Duration? = nil
  ) throws(SocketError) -> (bytes: [UInt8], sender: SocketAddress) {
    var bytes = [UInt8](repeating: 0, count: maxLength)
    var sender = AddressStorage()
    let (count, truncated) = try retrying(
      "recvmsg", until: Deadline(timeout), waitingFor: .readable
    ) {
      Posix.systemRecvmsg(descriptor, into: &bytes, sender: &sender)
    }
    if truncated {
      throw .datagramTooLarge(limit: maxLength)
    }
    return (Array(bytes[..<count]), SocketAddress(sender))
  }
}
