// tcp-stream client, line by line over Glibc: the twin of CSources/tcp-stream/client.c.
// Look the server's name up, connect, send all of standard input, close.
//   tcp-stream-client [HOST [PORT]]   arguments first, then KIT_HOST and KIT_PORT;
//                                     the host defaults to localhost, the port must be given
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let BUFFER_SIZE = 4096

// A port's text as a number, 1 to 65535; -1 if it is not one.
func parse_port(_ text: UnsafePointer<CChar>) -> Int32 {
  var end: UnsafeMutablePointer<CChar>?
  errno = 0
  let value = strtol(text, &end, 10)
  if errno != 0 || UnsafePointer(end) == text || end!.pointee != 0 || value < 1
    || value > 65535
  {
    return -1
  }
  return Int32(value)
}

// Write all len bytes: write may take fewer than asked (a full socket buffer, a
// signal), so go on from where it stopped. 0 when done, -1 with errno on failure.
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

let argc = CommandLine.argc
let argv = CommandLine.arguments
var addr = sockaddr_in()
var sa = sigaction()
var buffer = [UInt8](repeating: 0, count: BUFFER_SIZE)
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
var host = getenv("KIT_HOST") != nil ? String(cString: getenv("KIT_HOST")) : "localhost"  // kit
// kit: KIT_PORT has no default, see below
var port_text = getenv("KIT_PORT") != nil ? String(cString: getenv("KIT_PORT")) : nil

// Arguments win over the environment. There is no usual port: the server
// takes whatever port the system gives it and prints it.
if argc > 3 {
  fputs("usage: \(argv[0]) [HOST [PORT]]\n", stderr)
  exit(2)
}
if argc > 1 {
  host = argv[1]
}
if argc > 2 {
  port_text = argv[2]
}
if port_text == nil {
  fputs("usage: \(argv[0]) [HOST [PORT]] (or set KIT_PORT)\n", stderr)
  exit(2)
}
let port = parse_port(port_text!)
if port < 0 {
  fputs("\(port_text!): not a port number (1 to 65535)\n", stderr)
  exit(2)
}

// A server that goes away mid-stream would make write raise SIGPIPE, which kills
// silently. Ignored, write fails with EPIPE and the client says so.
memset(&sa, 0, MemoryLayout<sigaction>.size)
sa.__sigaction_handler.sa_handler = SIG_IGN  // sa_handler is a macro for this union member
sigemptyset(&sa.sa_mask)
if sigaction(SIGPIPE, &sa, nil) < 0 {
  perror("sigaction failed")
  exit(EXIT_FAILURE)
}

// Name to IPv4 address. It reports failure in h_errno, not errno (h_errno is a macro
// for *__h_errno_location(), which Swift does not import).
let hp = gethostbyname(host)
if hp == nil {
  let reason = String(cString: hstrerror(__h_errno_location().pointee))
  fputs("gethostbyname \(host): \(reason)\n", stderr)
  exit(EXIT_FAILURE)
}

let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if sock < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

// The first address of the host, already in network byte order; the port not yet
memset(&addr, 0, MemoryLayout<sockaddr_in>.size)
addr.sin_family = sa_family_t(AF_INET)
memcpy(&addr.sin_addr, hp!.pointee.h_addr_list[0]!, MemoryLayout<in_addr>.size)
addr.sin_port = UInt16(port).bigEndian

let connected = withUnsafePointer(to: &addr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    connect(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if connected < 0 {
  perror("connect failed")
  exit(EXIT_FAILURE)
}

// Copy standard input to the socket until end of file: each read gets what is
// there (a line from a terminal, up to 4096 bytes from a file or pipe)
while true {
  let n = read(STDIN_FILENO, &buffer, BUFFER_SIZE)
  if n == 0 {
    break
  }
  if n < 0 {
    if errno == EINTR {
      continue
    }
    perror("read failed")
    exit(EXIT_FAILURE)
  }
  if write_all(sock, buffer, n) < 0 {
    perror("write failed")
    exit(EXIT_FAILURE)
  }
}

// The server reads until it sees this close: the end of the stream is the end of
// the message
if close(sock) < 0 {
  perror("close failed")
  exit(EXIT_FAILURE)
}
