// Lab 04, a wrong solution: a thread per client, right but for one line copied from
// the lecture: when recv fails (a client reset its connection), it calls exit().
#if canImport(Glibc)
  @preconcurrency import Glibc
  import Foundation  // Thread; after Glibc, or @preconcurrency would not reach stdout
#else
  #error("This lab calls Glibc, as the kit's swift flavor does.")
#endif

let PORT: Int32 = 6789
let BACKLOG: Int32 = 64  // a burst of clients queues here instead of waiting for a SYN retry
let MAXLINE = 1024
let newline = UInt8(ascii: "\n")

/// ASCII letters upper-cased, every other byte as it came.
func upper(_ byte: UInt8) -> UInt8 {
  (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 32 : byte
}

/// send may take fewer bytes than asked: go on until all are gone. MSG_NOSIGNAL: a
/// client that has reset makes send fail with EPIPE instead of raising SIGPIPE, whose
/// default action would end the process, every client's thread with it.
func sendAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
  var rest = bytes[...]
  while !rest.isEmpty {
    let sent = rest.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    if sent < 0 { return false }
    rest = rest.dropFirst(sent)
  }
  return true
}

/// One client, in its own thread, until it closes. A recv returns whatever has
/// arrived: part of a line, or several lines. Answer up to the last "\n" received and
/// keep the rest, the start of a line still coming, for the next recv.
func serve(_ fd: Int32) {
  defer { close(fd) }  // however it ends: closed, reset, or a failed send
  var chunk = [UInt8](repeating: 0, count: MAXLINE)
  var pending: [UInt8] = []
  while true {
    let got = recv(fd, &chunk, chunk.count, 0)
    if got < 0 {
      // wrong: the lecture's iterative server handles a failed read so, and here it
      // is copied into a thread; but exit() ends the process, every client with it.
      perror("recv failed")
      exit(EXIT_FAILURE)
    }
    guard got > 0 else { return }  // the client closed
    pending += chunk[..<got].map(upper)
    // A line longer than MAXLINE goes back in pieces: the same bytes, bounded memory
    let answered =
      pending.lastIndex(of: newline).map { $0 + 1 }
      ?? (pending.count >= MAXLINE ? pending.count : 0)
    guard sendAll(fd, pending[..<answered]) else { return }
    pending.removeFirst(answered)
  }
}

setvbuf(stdout, nil, _IOLBF, 0)  // each line reaches a pipe at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT

let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if listener < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}
var opt: Int32 = 1  // restart at once, though served connections wait in TIME_WAIT
if setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &opt, socklen_t(MemoryLayout<Int32>.size)) < 0 {
  perror("setsockopt failed")
  exit(EXIT_FAILURE)
}
var address = sockaddr_in()
address.sin_family = sa_family_t(AF_INET)
address.sin_addr.s_addr = in_addr_t(INADDR_ANY)
address.sin_port = UInt16(port).bigEndian
let bound = withUnsafePointer(to: &address) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if bound < 0 {
  perror("bind failed")
  exit(EXIT_FAILURE)
}
if listen(listener, BACKLOG) < 0 {
  perror("listen failed")
  exit(EXIT_FAILURE)
}

while true {
  let client = accept(listener, nil, nil)
  if client < 0 {
    if errno == EINTR || errno == ECONNABORTED { continue }  // a client gone before accept
    perror("accept failed")
    exit(EXIT_FAILURE)
  }
  // The closure captures this client's descriptor by value: the next accept cannot
  // change which one the thread serves (C's pthread_create(&client) race).
  Thread.detachNewThread { serve(client) }
}
