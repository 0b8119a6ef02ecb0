// tcp-echo poll server, line by line over Glibc: the twin of
// CSources/tcp-echo/poll-server.c. One thread serves every client through poll().
//
// Swift 6 treats top-level variables as belonging to the main actor, so the functions
// that share them are marked @MainActor. It only tells the compiler what is true: the
// whole program runs on the main thread. There is no other thread, and no await.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let READ_SIZE = 256 * 1024  // one recv: big reads make bulk echo cheap
let BUFFER_CAP = 1024 * 1024  // the most echo one client may owe us
let MAX_FDS = 65536  // the table's size if RLIMIT_NOFILE allows more

// A client: the echo it has not taken yet is buf[start..<end].
struct Conn {
  var open = false
  var eof = false  // it has shut down its sending side: read no more
  var buf: UnsafeMutableRawPointer? = nil  // malloc'd (BUFFER_CAP) at the first short send
  var start = 0
  var end = 0
  var slot = 0  // its entry in fds[]
}

var listener: Int32 = -1  // the listening socket
var conns: UnsafeMutablePointer<Conn>!  // indexed by descriptor, max_fds of them
var max_fds = 0
var fds: UnsafeMutablePointer<pollfd>!  // what poll() watches: fds[0] is the listener
var nfds = 0
// Allocated once and reused for every recv: nothing is allocated per event
let readbuf = UnsafeMutableRawPointer.allocate(byteCount: READ_SIZE, alignment: 16)

// O_NONBLOCK: recv, send and accept return EAGAIN instead of waiting
func set_nonblocking(_ fd: Int32) -> Int32 {
  let flags = fcntl(fd, F_GETFL)
  if flags < 0 {
    return -1
  }
  return fcntl(fd, F_SETFL, flags | O_NONBLOCK)
}

// Watch for input while there is room to keep its echo, for output while some is
// owed: POLLOUT only then, or poll would return at once, forever (a busy loop).
@MainActor func watch(_ fd: Int32) {
  let c = conns + Int(fd)
  var events: Int32 = 0
  if !c.pointee.eof && c.pointee.end - c.pointee.start < BUFFER_CAP {
    events |= POLLIN
  }
  if c.pointee.end > c.pointee.start {
    events |= POLLOUT
  }
  fds[c.pointee.slot].events = Int16(events)
}

// Closing removes it from fds[]: the last entry moves into its slot.
@MainActor func drop(_ fd: Int32) {
  let c = conns + Int(fd)
  let moved = fds[nfds - 1].fd
  fds[c.pointee.slot] = fds[nfds - 1]
  conns[Int(moved)].slot = c.pointee.slot
  nfds -= 1
  free(c.pointee.buf)
  c.pointee = Conn()
  if close(fd) < 0 {
    perror("close failed")
  }
  fds[0].events = Int16(POLLIN)  // a descriptor is free again, if accept had run out
}

// A reset or vanished peer is routine for a server; other errors are news.
@MainActor func fail(_ fd: Int32, _ call: String) {
  if errno != ECONNRESET && errno != EPIPE {
    perror(call)
  }
  drop(fd)
}

// Keep what send did not take, after what is already owed.
func keep(_ c: UnsafeMutablePointer<Conn>, _ data: UnsafeRawPointer, _ length: Int) -> Int32 {
  if c.pointee.buf == nil {
    c.pointee.buf = malloc(BUFFER_CAP)
    if c.pointee.buf == nil {
      return -1
    }
  }
  let buf = c.pointee.buf!
  if c.pointee.end + length > BUFFER_CAP {  // slide the owed bytes to the front
    memmove(buf, buf + c.pointee.start, c.pointee.end - c.pointee.start)
    c.pointee.end -= c.pointee.start
    c.pointee.start = 0
  }
  memcpy(buf + c.pointee.end, data, length)
  c.pointee.end += length
  return 0
}

// Readable: one recv (level-triggered, poll says again if more is waiting).
@MainActor func on_readable(_ fd: Int32) {
  let c = conns + Int(fd)
  let owed = c.pointee.end - c.pointee.start
  let room = BUFFER_CAP - owed
  let n = recv(fd, readbuf, room < READ_SIZE ? room : READ_SIZE, 0)
  if n < 0 {
    if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
      fail(fd, "recv failed")
    }
    return
  }
  if n == 0 {  // FIN: it sends no more, but may still read its echo
    c.pointee.eof = true
    if owed == 0 {
      drop(fd)
    } else {
      watch(fd)
    }
    return
  }
  var sent = 0
  if owed == 0 {  // nothing queued before it: try to answer at once
    sent = send(fd, readbuf, n, Int32(MSG_NOSIGNAL))
    if sent < 0 {
      if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
        fail(fd, "send failed")
        return
      }
      sent = 0
    }
  }
  if sent < n && keep(c, readbuf + sent, n - sent) < 0 {
    perror("malloc failed")
    drop(fd)
    return
  }
  watch(fd)
}

// Writable, and echo is owed: send what the socket takes.
@MainActor func on_writable(_ fd: Int32) {
  let c = conns + Int(fd)
  let sent = send(
    fd, c.pointee.buf! + c.pointee.start, c.pointee.end - c.pointee.start, Int32(MSG_NOSIGNAL))
  if sent < 0 {
    if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
      fail(fd, "send failed")
    }
    return
  }
  c.pointee.start += sent
  if c.pointee.start == c.pointee.end {
    c.pointee.start = 0
    c.pointee.end = 0
    if c.pointee.eof {  // all echoed after its FIN: done
      drop(fd)
      return
    }
  }
  watch(fd)
}

// Close a client that is refused before it is served
func discard(_ fd: Int32) {
  if close(fd) < 0 {
    perror("close failed")
  }
}

// The listener is readable: accept every client waiting, until EAGAIN.
@MainActor func accept_clients() {
  var peer = sockaddr_in6()
  var peer_len: socklen_t
  var ip = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
  var fd: Int32
  while true {
    peer_len = socklen_t(MemoryLayout<sockaddr_in6>.size)
    fd = withUnsafeMutablePointer(to: &peer) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &peer_len) }
    }
    if fd < 0 {
      if errno == EINTR || errno == ECONNABORTED {
        continue
      }
      if errno == EMFILE || errno == ENFILE {
        // No descriptor for it: stop watching the listener until a client
        // leaves, or level-triggered poll would report it again at once.
        perror("accept failed")
        fds[0].events = 0
      } else if errno != EAGAIN && errno != EWOULDBLOCK {
        perror("accept failed")
      }
      return
    }
    if fd >= max_fds {
      fputs("refused a client: descriptor \(fd) is past the table (\(max_fds))\n", stderr)
      discard(fd)
      continue
    }
    if set_nonblocking(fd) < 0 {
      perror("fcntl failed")
      discard(fd)
      continue
    }
    if inet_ntop(AF_INET6, &peer.sin6_addr, &ip, socklen_t(INET6_ADDRSTRLEN)) == nil {
      ip = [CChar(UInt8(ascii: "?")), 0]
    }
    print(
      "Connected: ('\(String(cString: &ip))', \(UInt16(bigEndian: peer.sin6_port)), "
        + "\(UInt32(bigEndian: peer.sin6_flowinfo)), \(peer.sin6_scope_id))")
    conns[Int(fd)].open = true
    conns[Int(fd)].slot = nfds
    fds[nfds].fd = fd
    fds[nfds].events = Int16(POLLIN)
    fds[nfds].revents = 0
    nfds += 1
  }
}

var address = sockaddr_in6()  // zero-filled: C's memset
var limit = rlimit()
var opt: Int32 = 1
var v6only: Int32 = 0  // IPV6_V6ONLY off: IPv4 clients too
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit

// One table entry per descriptor this process may open (Glibc's RLIMIT_NOFILE is
// an enum; getrlimit takes its raw value)
if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) < 0 {
  perror("getrlimit failed")
  exit(EXIT_FAILURE)
}
max_fds = limit.rlim_cur < MAX_FDS ? Int(limit.rlim_cur) : MAX_FDS
// calloc, as the C: zero-filled pages that become memory only where a descriptor is
// used, and all-zero bytes are a Conn() (false, nil, 0) and a pollfd()
conns = calloc(max_fds, MemoryLayout<Conn>.stride)?.bindMemory(to: Conn.self, capacity: max_fds)
fds = calloc(max_fds, MemoryLayout<pollfd>.stride)?.bindMemory(to: pollfd.self, capacity: max_fds)
if conns == nil || fds == nil {
  perror("calloc failed")
  exit(EXIT_FAILURE)
}

listener = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
if listener < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}
if setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &opt, socklen_t(MemoryLayout<Int32>.size))
  < 0
{
  perror("setsockopt failed")
  exit(EXIT_FAILURE)
}
// Dual-stack: one socket for IPv6 and IPv4 clients, an IPv4 one showing as a mapped
// address (::ffff:127.0.0.1). Linux's default, not every system's: say it
if setsockopt(
  listener, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &v6only, socklen_t(MemoryLayout<Int32>.size)) < 0
{
  perror("setsockopt failed")
  exit(EXIT_FAILURE)
}
address.sin6_family = sa_family_t(AF_INET6)
address.sin6_addr = in6addr_any
address.sin6_port = UInt16(port).bigEndian
let bound = withUnsafePointer(to: &address) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
  }
}
if bound < 0 {
  perror("bind failed")
  exit(EXIT_FAILURE)
}
// A backlog of SOMAXCONN, not 5: hundreds of clients may connect at once, and the
// loop accepts them all as soon as it wakes
if listen(listener, SOMAXCONN) < 0 {
  perror("listen failed")
  exit(EXIT_FAILURE)
}
// Non-blocking too: accept until EAGAIN, never waiting in accept
if set_nonblocking(listener) < 0 {
  perror("fcntl failed")
  exit(EXIT_FAILURE)
}
print("Listening on port \(port)")

fds[0].fd = listener
fds[0].events = Int16(POLLIN)
nfds = 1
while true {
  // Sleep until something is ready: the only place this thread waits
  if poll(fds, nfds_t(nfds), -1) < 0 {
    if errno == EINTR {
      continue
    }
    perror("poll failed")
    exit(EXIT_FAILURE)
  }
  // From the end: drop() moves the last entry, one already seen, into the hole
  var i = nfds - 1
  while i > 0 {
    let fd = fds[i].fd
    let revents = Int32(fds[i].revents)
    // POLLERR and POLLHUP come unasked: the recv or send says what happened
    if revents & (POLLIN | POLLERR | POLLHUP) != 0 && Int32(fds[i].events) & POLLIN != 0 {
      on_readable(fd)
    }
    if conns[Int(fd)].open && revents & (POLLOUT | POLLERR | POLLHUP) != 0
      && conns[Int(fd)].end > conns[Int(fd)].start
    {
      on_writable(fd)
    }
    i -= 1
  }
  if Int32(fds[0].revents) & POLLIN != 0 {
    accept_clients()
  }
}
