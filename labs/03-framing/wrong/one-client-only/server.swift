// Lab 03, a known-wrong server: the reference with one mistake, marked "wrong:".
// It serves one client, then exits, as lab 01's server does.
// FAILS says which checks catch it.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("This lab calls Glibc, as the kit's swift flavor does.")
#endif

let PORT: Int32 = 8080
let MAX_LENGTH = 1024 * 1024  // 1 MiB: a longer message closes the connection

// Read exactly len bytes: recv returns what has arrived, which may be less.
// 1 once all have come, 0 if the client closed first, -1 on error.
func recv_all(_ fd: Int32, _ buf: UnsafeMutablePointer<UInt8>, _ len: Int) -> Int {
  var buf = buf
  var len = len
  while len > 0 {
    let n = recv(fd, buf, len, 0)
    if n < 0 && errno == EINTR {
      continue
    }
    if n <= 0 {
      return n
    }
    buf += n
    len -= n
  }
  return 1
}

// Send all len bytes: send may take fewer. 0 when done, -1 on error. MSG_NOSIGNAL: a
// client that has gone away is an error to report, not a SIGPIPE that ends the server.
func send_all(_ fd: Int32, _ buf: UnsafePointer<UInt8>, _ len: Int) -> Int {
  var buf = buf
  var len = len
  while len > 0 {
    let n = send(fd, buf, len, Int32(MSG_NOSIGNAL))
    if n < 0 && errno == EINTR {
      continue
    }
    if n < 0 {
      return -1
    }
    buf += n
    len -= n
  }
  return 0
}

// Answer one client's messages until it closes, errs, or sends a length over the limit.
// message holds a whole reply, its length then its payload: one send takes both.
func serve(_ client_fd: Int32, _ message: UnsafeMutablePointer<UInt8>) {
  var got = recv_all(client_fd, message, 4)
  while got == 1 {
    // The reply keeps these 4 bytes as they are; UInt32(bigEndian:) is ntohl
    let length = Int(UInt32(bigEndian: UnsafeRawPointer(message).loadUnaligned(as: UInt32.self)))
    if length > MAX_LENGTH {
      fputs("Length \(length) is over 1 MiB: closing the connection\n", stderr)
      return
    }
    got = recv_all(client_fd, message + 4, length)
    if got != 1 {
      break
    }
    // ASCII letters only: any other byte is data, passed on unchanged
    for c in message + 4..<message + 4 + length where c.pointee >= 0x61 && c.pointee <= 0x7a {
      c.pointee -= 0x20
    }
    if send_all(client_fd, message, 4 + length) < 0 {
      perror("send failed")
      return
    }
    got = recv_all(client_fd, message, 4)
  }
  if got < 0 {
    perror("recv failed")
  }
}

var address = sockaddr_in()
let message = UnsafeMutablePointer<UInt8>.allocate(capacity: 4 + MAX_LENGTH)
var opt: Int32 = 1
setvbuf(stdout, nil, _IOLBF, 0)  // each line reaches a pipe at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT

let server_fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if server_fd < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}
if setsockopt(server_fd, SOL_SOCKET, SO_REUSEADDR, &opt, socklen_t(MemoryLayout<Int32>.size)) < 0 {
  perror("setsockopt failed")
  exit(EXIT_FAILURE)
}
address.sin_family = sa_family_t(AF_INET)
address.sin_addr.s_addr = in_addr_t(INADDR_ANY).bigEndian
address.sin_port = UInt16(port).bigEndian
let bound = withUnsafePointer(to: &address) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(server_fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if bound < 0 {
  perror("bind failed")
  exit(EXIT_FAILURE)
}
if listen(server_fd, 5) < 0 {
  perror("listen failed")
  exit(EXIT_FAILURE)
}
print("Server listening on port \(port)")

// wrong: one client, then the end, as in lab 01's server; this protocol's server
// serves one client after another
let client_fd = accept(server_fd, nil, nil)
if client_fd < 0 {
  perror("accept failed")
  exit(EXIT_FAILURE)
}
print("Client connected")
serve(client_fd, message)
close(client_fd)
print("Client gone")
close(server_fd)
