// tcp-stream server, line by line over Glibc: the twin of CSources/tcp-stream/server.c.
// Serve clients one after another; copy everything each one sends to standard output,
// until it closes. Binds port 0 unless KIT_PORT is set, and prints the port the system
// chose as its first line.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let BUFFER_SIZE = 4096
let BACKLOG: Int32 = 5

// KIT_PORT's text as a port, 0 to 65535 (0: let the system choose); -1 if it is not.
func parse_port(_ text: UnsafePointer<CChar>) -> Int32 {
  var end: UnsafeMutablePointer<CChar>?
  errno = 0
  let value = strtol(text, &end, 10)
  if errno != 0 || UnsafePointer(end) == text || end!.pointee != 0 || value < 0
    || value > 65535
  {
    return -1
  }
  return Int32(value)
}

// Write all len bytes: write may take fewer than asked (a pipe that is nearly full,
// a signal), so go on from where it stopped. 0 when done, -1 with errno on failure.
func write_all(_ fd: Int32, _ buf: UnsafeRawPointer, _ len: Int) -> Int32 {
  var buf = buf
  var len = len
  while len > 0 {
    let n = write(fd, buf, len)
    if n < 0 {
      if errno == EINTR {
        continue
      }
      return -1
    }
    buf += n
    len -= n
  }
  return 0
}

var conn_fd: Int32
var addr = sockaddr_in()
var addrlen = socklen_t(MemoryLayout<sockaddr_in>.size)
var buffer = [UInt8](repeating: 0, count: BUFFER_SIZE)
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? parse_port(getenv("KIT_PORT")!) : 0  // kit

if port < 0 {
  fputs("KIT_PORT must be a port number, 0 to 65535\n", stderr)
  exit(2)
}

let listen_fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if listen_fd < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

// Every local address; port 0 asks the system for any free port (.bigEndian: htonl, htons)
memset(&addr, 0, MemoryLayout<sockaddr_in>.size)
addr.sin_family = sa_family_t(AF_INET)
addr.sin_addr.s_addr = in_addr_t(INADDR_ANY).bigEndian
addr.sin_port = UInt16(port).bigEndian

let bound = withUnsafePointer(to: &addr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(listen_fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if bound < 0 {
  perror("bind failed")
  exit(EXIT_FAILURE)
}
if listen(listen_fd, BACKLOG) < 0 {
  perror("listen failed")
  exit(EXIT_FAILURE)
}

// Ask the socket which address it got: the port the system chose for port 0
let named = withUnsafeMutablePointer(to: &addr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    getsockname(listen_fd, $0, &addrlen)
  }
}
if named < 0 {
  perror("getsockname failed")
  exit(EXIT_FAILURE)
}
// Printed once listening, so a client that waits for this line can connect
print("Listening on port \(UInt16(bigEndian: addr.sin_port))")  // ntohs

// Iterative: one client at a time, the next ones wait in the backlog
while true {
  conn_fd = accept(listen_fd, nil, nil)
  if conn_fd < 0 {
    // A signal, or a client that gave up while queued: not the server's end
    if errno == EINTR || errno == ECONNABORTED {
      continue
    }
    perror("accept failed")
    exit(EXIT_FAILURE)
  }

  // A read returns what has arrived so far, 1 byte or 4096; 0 means the client
  // closed. So read until 0, however the sender's bytes were cut up on the way.
  while true {
    let n = read(conn_fd, &buffer, BUFFER_SIZE)
    if n == 0 {
      break
    }
    if n < 0 {
      if errno == EINTR {
        continue
      }
      // e.g. "Connection reset by peer": this client is gone, not the server
      perror("read failed")
      break
    }
    // write, not print: the bytes may hold NULs, and nothing is buffered
    if write_all(STDOUT_FILENO, buffer, n) < 0 {
      perror("write failed")
      exit(EXIT_FAILURE)
    }
  }

  if close(conn_fd) < 0 {
    perror("close failed")
  }
}
