// tcp-connect client, line by line over Glibc: the twin of CSources/tcp-connect/client.c.
// Connect, but give up after a deadline: a non-blocking connect, a bounded poll, and
// SO_ERROR to learn how the handshake ended. One line, and an exit status per outcome.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080  // where the kit's TCP servers listen: start one to connect
let TIMEOUT_MS: Int32 = 2000  // a handshake takes one round trip; a lost SYN is resent after 1 s

// Exit statuses: one per outcome, and sysexits.h's EX_USAGE for bad input
let CONNECTED: Int32 = 0
let REFUSED: Int32 = 1
let TIMED_OUT: Int32 = 2
let FAILED: Int32 = 3
let BAD_INPUT: Int32 = 64

// A deadline in milliseconds, as poll takes it: digits only, from 1 to INT_MAX.
// Returns 0 when text is anything else.
func milliseconds(_ text: UnsafePointer<CChar>) -> Int32 {
  var end: UnsafeMutablePointer<CChar>?
  let ms = strtol(text, &end, 10)
  if isdigit(Int32(UInt8(bitPattern: text[0]))) == 0 || end!.pointee != 0 || ms < 1
    || ms > Int(INT_MAX)
  {
    return 0
  }
  return Int32(ms)
}

setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit
let host = getenv("KIT_HOST") != nil ? String(cString: getenv("KIT_HOST")) : "127.0.0.1"  // kit
// The deadline: the argument, else KIT_TIMEOUT_MS, else TIMEOUT_MS
let deadline = CommandLine.argc > 1 ? CommandLine.unsafeArgv[1] : getenv("KIT_TIMEOUT_MS")
let timeout_ms = deadline != nil ? milliseconds(deadline!) : TIMEOUT_MS
var server = sockaddr_in()  // zero-filled: C's memset

if CommandLine.argc > 2 {
  fputs("usage: tcp-connect-client [timeout-ms]\n", stderr)
  exit(BAD_INPUT)
}
if timeout_ms == 0 {
  fputs(
    "timeout-ms must be a whole number from 1 to \(INT_MAX), not '\(String(cString: deadline!))'\n",
    stderr)
  exit(BAD_INPUT)
}
server.sin_family = sa_family_t(AF_INET)
server.sin_port = UInt16(port).bigEndian
if inet_pton(AF_INET, host, &server.sin_addr) != 1 {
  fputs("not an IPv4 address: \(host)\n", stderr)
  exit(BAD_INPUT)
}

let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if sock < 0 {
  perror("socket failed")
  exit(FAILED)
}
// Non-blocking: connect sends the SYN and returns; the wait is then ours to bound
let flags = fcntl(sock, F_GETFL)
if flags < 0 || fcntl(sock, F_SETFL, flags | O_NONBLOCK) < 0 {
  perror("fcntl failed")
  exit(FAILED)
}

var error: Int32 = 0
let started = withUnsafePointer(to: &server) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    connect(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if started < 0 {
  error = errno  // EINPROGRESS: the handshake has begun; anything else: it failed
}
if error == EINPROGRESS {
  // The socket turns writable when the handshake ends, whichever way it ends
  var entry = pollfd(fd: sock, events: Int16(POLLOUT), revents: 0)
  let ready = poll(&entry, 1, timeout_ms)
  if ready < 0 {
    perror("poll failed")
    exit(FAILED)
  }
  if ready == 0 {  // closing the socket abandons the handshake
    print("timed out connecting to \(host):\(port) after \(timeout_ms) ms")
    close(sock)
    exit(TIMED_OUT)
  }
  // SO_ERROR: 0 if it connected, else the errno a blocking connect would have set
  var length = socklen_t(MemoryLayout<Int32>.size)
  if getsockopt(sock, SOL_SOCKET, SO_ERROR, &error, &length) < 0 {
    perror("getsockopt failed")
    exit(FAILED)
  }
}
close(sock)

if error == 0 {
  print("connected to \(host):\(port)")
  exit(CONNECTED)
}
if error == ECONNREFUSED {  // the host answered: nothing listens on that port
  print("refused by \(host):\(port)")
  exit(REFUSED)
}
print("cannot connect to \(host):\(port): \(String(cString: strerror(error)))")
exit(FAILED)
