// Lab 04, concurrent: tcp-capitalize's server for many clients at once, in Swift over
// Glibc. The handout (labs/04-concurrent/README.md) gives the protocol and what the
// grader checks; lectures/tcp-capitalize.md shows an iterative, a fork and a thread
// server, C and Swift side by side. The listening socket is done. Work where it says
// TODO, then run `make grade LAB=04`.
#if canImport(Glibc)
  @preconcurrency import Glibc
  import Foundation  // Thread; after Glibc, or @preconcurrency would not reach stdout
#else
  #error("This lab calls Glibc, as the kit's swift flavor does.")
#endif

let PORT: Int32 = 6789
let BACKLOG: Int32 = 64
let MAXLINE = 1024

/// One client, until it closes.
func serve(_ fd: Int32) {
  // TODO 2: recv in a loop until it returns 0 (the client closed) or fails (it
  //         reset). A recv returns whatever has arrived, half a line or two lines:
  //         keep the bytes until their "\n" comes, then send that line back, letters
  //         a-z upper-cased, all of it (send may take fewer bytes than asked;
  //         Int32(MSG_NOSIGNAL) keeps a reset client from raising SIGPIPE).
}

setvbuf(stdout, nil, _IOLBF, 0)  // each line reaches a pipe at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT

let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if listener < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}
var opt: Int32 = 1
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

// TODO 1: accept clients for ever, and serve each while the others wait in recv of
//         their own: a thread per client, Thread.detachNewThread { serve(client) }
//         (or pthread_create). Not a Task: tasks share a pool of about one thread
//         per core, and a task blocked in recv keeps its thread. Not fork: a Swift
//         process has runtime threads that a child would not get.
// TODO 3: leave nothing behind: close the client's socket on every way out of serve,
//         and let an error end only its own client (exit() would end them all).
close(listener)
