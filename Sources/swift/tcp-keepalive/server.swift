// tcp-keepalive server, line by line over Glibc: the twin of CSources/tcp-keepalive/server.c.
// Notice a client whose network has vanished: with SO_KEEPALIVE the kernel probes an
// idle connection and fails it with ETIMEDOUT when no probe is answered. One client at
// a time: read (and discard) until it closes or the connection fails, and say which.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let BUFFER_SIZE = 4096
// Small, to watch it happen: a vanished client is noticed 1 + 3 * 1 = 4 s after its
// last packet. Linux's defaults (sysctl net.ipv4.tcp_keepalive_time, _intvl, _probes)
// are 7200 s, 75 s and 9 probes: over two hours.
let IDLE: Int32 = 1  // seconds of silence before the first probe
let INTERVAL: Int32 = 1  // seconds between probes
let COUNT: Int32 = 3  // unanswered probes before the connection fails
let BAD_INPUT: Int32 = 64  // sysexits.h's EX_USAGE

// A whole number from 1 to max, digits only; 0 when text is anything else.
func number(_ text: UnsafePointer<CChar>, _ max: Int) -> Int32 {
  var end: UnsafeMutablePointer<CChar>?
  let value = strtol(text, &end, 10)
  if isdigit(Int32(UInt8(bitPattern: text[0]))) == 0 || end!.pointee != 0 || value < 1
    || value > max
  {
    return 0
  }
  return Int32(value)
}

setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit
// No arguments: the defaults; "off": no keepalive; or idle, interval and count,
// up to Linux's limits (it refuses more with EINVAL)
let argc = CommandLine.argc
let argv = CommandLine.unsafeArgv
let off = argc == 2 && strcmp(argv[1]!, "off") == 0
var idle = argc == 4 ? number(argv[1]!, 32767) : IDLE
var interval = argc == 4 ? number(argv[2]!, 32767) : INTERVAL
var count = argc == 4 ? number(argv[3]!, 127) : COUNT
var address = sockaddr_in()  // zero-filled: C's memset
var length: socklen_t
var buffer = [UInt8](repeating: 0, count: BUFFER_SIZE)
var peer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))

if !(argc == 1 || argc == 4 || off) || idle == 0 || interval == 0 || count == 0 {
  fputs(
    "usage: tcp-keepalive-server [off | idle interval count]\n"
      + "  (idle and interval in seconds, count in probes)\n", stderr)
  exit(BAD_INPUT)
}

let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if server < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}
var on: Int32 = 1  // let a restarted server bind its port at once (TIME_WAIT)
let size = socklen_t(MemoryLayout<Int32>.size)
if setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &on, size) < 0 {
  perror("setsockopt failed")
  exit(EXIT_FAILURE)
}
address.sin_family = sa_family_t(AF_INET)
address.sin_addr.s_addr = in_addr_t(INADDR_ANY).bigEndian
address.sin_port = UInt16(port).bigEndian
let bound = withUnsafePointer(to: &address) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if bound < 0 {
  perror("bind failed")
  exit(EXIT_FAILURE)
}
if listen(server, 5) < 0 {
  perror("listen failed")
  exit(EXIT_FAILURE)
}
if off {
  print("listening on port \(port), keepalive off")
} else {
  print(
    "listening on port \(port), keepalive: idle \(idle) s, interval \(interval) s, \(count) probes")
}

while true {  // one client at a time: the next waits in the backlog
  length = socklen_t(MemoryLayout<sockaddr_in>.size)
  let client = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(server, $0, &length) }
  }
  if client < 0 {
    // A signal, or a client that gave up while queued: not the server's end
    if errno == EINTR || errno == ECONNABORTED {
      continue
    }
    perror("accept failed")
    exit(EXIT_FAILURE)
  }
  // The three settings, then keepalive on: from now on the kernel probes this
  // connection whenever it has been silent for idle seconds
  let tcp = Int32(IPPROTO_TCP)
  if !off
    && (setsockopt(client, tcp, TCP_KEEPIDLE, &idle, size) < 0
      || setsockopt(client, tcp, TCP_KEEPINTVL, &interval, size) < 0
      || setsockopt(client, tcp, TCP_KEEPCNT, &count, size) < 0
      || setsockopt(client, SOL_SOCKET, SO_KEEPALIVE, &on, size) < 0)
  {
    perror("setsockopt failed")
    exit(EXIT_FAILURE)
  }
  if inet_ntop(AF_INET, &address.sin_addr, &peer, socklen_t(INET_ADDRSTRLEN)) == nil {
    perror("inet_ntop failed")
    exit(EXIT_FAILURE)
  }
  print("connected: \(String(cString: &peer))")

  // The bytes do not matter here, only how the connection ends: recv returns 0
  // when the client has closed, -1 when the connection failed. No signal handler
  // is installed, so recv is never interrupted (EINTR).
  var n: Int
  repeat {
    n = recv(client, &buffer, BUFFER_SIZE, 0)
  } while n > 0
  if n == 0 {
    print("closed by peer")
  } else {  // a reset, or ETIMEDOUT: the keepalive probes went unanswered
    print("lost: \(String(cString: strerror(errno)))")
  }
  if close(client) < 0 {
    perror("close failed")
  }
}
