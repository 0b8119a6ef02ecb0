// libFuzzer target: lab 03's Swift reference (labs/03-framing/reference/swift/
// server.swift, its declarations), the twin of fuzz/lab03-framing-c: serve() on any
// bytes a client sends before it closes. The reply must be exactly what the framing
// says, worked out here on its own: for each whole message (a 4-byte big-endian length
// up to 1 MiB, then that many bytes), the same length and the payload with a-z
// uppercased; nothing for a message cut short or after a length over 1 MiB.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

// The server's "Length ... is over 1 MiB" line comes at every such input: this fputs,
// the module's own, is the one serve() calls, so libFuzzer's log stays readable
@discardableResult
func fputs(_ text: String, _ stream: UnsafeMutablePointer<FILE>?) -> Int32 { 0 }

// serve's buffer for a whole reply, as the program allocates it once
nonisolated(unsafe) let message = UnsafeMutablePointer<UInt8>.allocate(capacity: 4 + MAX_LENGTH)
nonisolated(unsafe) var got = [UInt8](repeating: 0, count: 65536 + 1)
nonisolated(unsafe) var received = 0

// The client reads the replies as they come: many small ones would fill the socket's
// buffer, and the server would wait in send for a reader
func clientReads(_ fd: Int32) {
  received = 0
  while true {
    let n = got.withUnsafeMutableBytes {
      recv(fd, $0.baseAddress! + received, $0.count - received, 0)
    }
    if n <= 0 { return }
    received += n
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  if size > 60000 { return 0 }  // all of it and the replies fit in the socket buffers
  var pair: [Int32] = [0, 0]
  precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
  precondition(send(pair[1], data, size, 0) == size)
  shutdown(pair[1], Int32(SHUT_WR))  // the client closes: serve returns
  var reader = pthread_t()
  let client = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
  client.pointee = pair[1]
  defer { client.deallocate() }
  precondition(
    pthread_create(
      &reader, nil,
      {
        clientReads($0!.load(as: Int32.self))
        return nil
      }, client) == 0)
  serve(pair[0], message)
  close(pair[0])
  pthread_join(reader, nil)

  let input = UnsafeBufferPointer(start: data, count: size)
  var expected: [UInt8] = []
  var at = 0
  while size - at >= 4 {
    let length = input[at..<at + 4].reduce(0) { $0 << 8 | Int($1) }
    if length > MAX_LENGTH || length > size - at - 4 { break }
    expected += input[at..<at + 4]
    expected += input[at + 4..<at + 4 + length].map { (0x61...0x7a).contains($0) ? $0 - 0x20 : $0 }
    at += 4 + length
  }
  close(pair[1])
  if received != expected.count || !got[..<received].elementsEqual(expected) {
    fatalError(
      "expected \(expected.count) bytes of replies, got \(received)"
        + (received == expected.count ? " (different bytes)" : ""))
  }
  return 0
}
