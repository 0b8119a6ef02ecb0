// libFuzzer target: the swift twin's queue and flush (Sources/swift/chat/queue.swift),
// driven as the poll loop drives them; the twin of fuzz/chat-c, with the same script:
// a byte per step, high bit clear: queue a chunk of (byte * 64 + next byte) bytes;
// high bit set: flush to the socket, then let the client read up to (byte & 0x7f) * 512
// bytes. The socket has a small buffer, so sends are often partial. What the client
// reads must be exactly what was queued, in order.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

let maxPending = 1 << 20  // as in server.swift: more waiting, and the client is dropped

func pattern(_ position: Int) -> UInt8 { UInt8(position * 31 % 251) }

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  var pair: [Int32] = [0, 0]
  var small: Int32 = 4096
  precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
  _ = setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<Int32>.size))
  _ = fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK)  // as the server's sockets
  defer {
    close(pair[0])
    close(pair[1])
  }
  var c = Client(fd: pair[0], name: "fuzz")
  var (queued, received) = (0, 0)
  var buffer = [UInt8](repeating: 0, count: 4096)

  // The client reads up to `most` bytes; each must be the next one queued
  func clientReads(_ most: Int) {
    var most = most
    while most > 0 {
      let n = recv(pair[1], &buffer, min(most, buffer.count), Int32(MSG_DONTWAIT))
      if n <= 0 { return }
      for i in 0..<n where buffer[i] != pattern(received + i) {
        fatalError("byte \(received + i) differs from what was queued")
      }
      received += n
      most -= n
    }
  }

  let input = UnsafeBufferPointer(start: data, count: size)
  var i = 0
  while i < size {
    let op = input[i]
    i += 1
    if op & 0x80 != 0 {
      precondition(flush(&c) == 0, "flush failed")
      clientReads(Int(op & 0x7f) * 512)
      continue
    }
    let n = Int(op) * 64 + (i < size ? Int(input[i]) : 0)
    i += 1
    if c.out.count - c.start + n > maxPending { continue }  // the server drops it instead
    let chunk = (0..<n).map { pattern(queued + $0) }
    chunk.withUnsafeBytes { queue(&c, $0) }
    queued += n
  }
  // The client reads the rest: everything queued arrives
  while received < queued {
    let before = received
    precondition(flush(&c) == 0, "flush failed")
    clientReads(Int.max)
    if received == before && c.start == c.out.count { break }
  }
  precondition(received == queued, "queued \(queued) bytes, the client got \(received)")
  return 0
}
