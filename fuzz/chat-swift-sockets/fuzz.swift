// libFuzzer target: the swift-sockets chat server's Pending queue (Sources/swift-sockets/
// chat/queue.swift), driven as the server drives it, with the script of fuzz/chat-c: a
// byte per step, high bit clear: queue a chunk of (byte * 64 + next byte) bytes; high
// bit set: the socket takes up to (byte & 0x7f) * 512 bytes of what waits. What is
// taken must be exactly what was queued, in order, and the limit must hold.

func pattern(_ position: Int) -> UInt8 { UInt8(position * 31 % 251) }

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  var pending = Pending()
  var (queued, taken) = (0, 0)
  let input = UnsafeBufferPointer(start: data, count: size)
  var i = 0
  while i < size {
    let op = input[i]
    i += 1
    if op & 0x80 != 0 {
      let next = pending.next.prefix(Int(op & 0x7f) * 512)  // what a send takes
      for (k, byte) in next.enumerated() where byte != pattern(taken + k) {
        fatalError("byte \(taken + k) differs from what was queued")
      }
      taken += next.count
      pending.sent(next.count)
      continue
    }
    let n = Int(op) * 64 + (i < size ? Int(input[i]) : 0)
    i += 1
    let fits = pending.waiting + n <= maxPending
    let chunk = (0..<n).map { pattern(queued + $0) }
    precondition(
      pending.queue(chunk[...]) == fits, "the limit of \(maxPending) bytes does not hold")
    if fits { queued += n }
    precondition(
      pending.waiting == queued - taken, "\(pending.waiting) waiting, not \(queued - taken)")
  }
  precondition(
    Array(pending.next) == (taken..<queued).map(pattern), "what waits is not what was queued")
  return 0
}
