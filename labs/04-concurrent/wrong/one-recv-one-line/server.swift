// Lab 04, a wrong solution: a thread per client, as it should be, but each recv is
// taken for one line. Over loopback, with a line per write, it seems to work.
#if canImport(Glibc)
  @preconcurrency import Glibc
  import Foundation  // Thread; after Glibc, or @preconcurrency would not reach stdout
#else
  #error("This lab calls Glibc, as the kit's swift flavor does.")
#endif

let PORT: Int32 = 6789
let BACKLOG: Int32 = 64  // a burst of clients queues here instead of waiting for a SYN retry
let MAXLINE = 1024

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

/// One client, in its own thread, until it closes.
func serve(_ fd: Int32) {
  defer { close(fd) }
  var chunk = [UInt8](repeating: 0, count: MAXLINE)
  while true {
    let got = recv(fd, &chunk, chunk.count, 0)
    guard got > 0 else { return }
    // wrong: one recv taken for one line. A piece of a line is answered as if it were
    // a line, and whatever came after the first "\n" is lost.
    let line = String(decoding: chunk[..<got], as: UTF8.self).split(separator: "\n").first ?? ""
    guard sendAll(fd, Array((line.uppercased() + "\n").utf8)[...]) else { return }
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
