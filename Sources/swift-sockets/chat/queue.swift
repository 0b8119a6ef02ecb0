// chat-server's queue of the bytes waiting for one client, apart from its socket so
// that fuzz/chat-swift-sockets can drive it with any chunks in any order.

let maxPending = 1 << 20  // bytes waiting for one client before it is dropped

/// The bytes waiting to be sent to a client: bytes[start...]. What its socket takes is
/// dropped from the front; the space is reused rather than the array shifted each time.
struct Pending {
  var bytes: [UInt8] = []
  var start = 0

  var waiting: Int { bytes.count - start }

  /// What waits, to be sent.
  var next: ArraySlice<UInt8> { bytes[start...] }

  /// Adds to what waits; false if more than maxPending bytes would wait.
  mutating func queue(_ more: ArraySlice<UInt8>) -> Bool {
    guard waiting + more.count <= maxPending else { return false }
    if start > 0 && bytes.count + more.count > bytes.capacity {
      bytes.removeSubrange(..<start)  // move what is left to the front
      start = 0
    }
    bytes += more
    return true
  }

  /// The socket took the first `count` bytes of `next`.
  mutating func sent(_ count: Int) {
    start += count
    if start == bytes.count {
      bytes.removeAll(keepingCapacity: true)
      start = 0
    }
  }
}
