// tcp-echo epoll server, line by line over Glibc: the twin of
// CSources/tcp-echo/epoll-server.c. One thread serves every client through epoll.
// KIT_REUSEPORT=1 sets SO_REUSEPORT, so that N of them can share a port.
// Glibc's module for Swift leaves <sys/epoll.h> out; CShims includes it, so
// epoll_create1, epoll_ctl, epoll_wait and struct epoll_event come under their C names.
// The EPOLL* constants come as an enum, EPOLL_EVENTS: the calls take its rawValue.
//
// Swift 6 treats top-level variables as belonging to the main actor, so the functions
// that share them are marked @MainActor. It only tells the compiler what is true: the
// whole program runs on the main thread. There is no other thread, and no await.
#if canImport(Glibc)
  @preconcurrency import Glibc
  import CShims  // epoll_create1, epoll_ctl, epoll_wait, epoll_event
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let READ_SIZE = 256 * 1024  // one recv: big reads make bulk echo cheap
let BUFFER_CAP = 1024 * 1024  // the most echo one client may owe us
let MAX_FDS = 65536  // the table's size if RLIMIT_NOFILE allows more
let MAX_EVENTS = 256  // ready descriptors taken per epoll_wait

// A client: the echo it has not taken yet is buf[start..<end].
struct Conn {
  var open = false
  var eof = false  // it has shut down its sending side: read no more
  var buf: UnsafeMutableRawPointer? = nil  // malloc'd (BUFFER_CAP) at the first short send
  var start = 0
  var end = 0
  var events: UInt32 = 0  // what the epoll instance watches for it now
}

var epfd: Int32 = -1  // the epoll instance: the kernel keeps the watch list
var listener: Int32 = -1  // the listening socket
var accepting = true  // false while accept has run out of descriptors
var conns: UnsafeMutablePointer<Conn>!  // indexed by descriptor, max_fds of them
var max_fds = 0
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

// Tell the kernel what to watch fd for: op is EPOLL_CTL_ADD or EPOLL_CTL_MOD
@MainActor func watch_for(_ op: Int32, _ fd: Int32, _ events: UInt32) -> Int32 {
  var ev = epoll_event()  // zero-filled: C's memset
  ev.events = events
  ev.data.fd = fd
  return epoll_ctl(epfd, op, fd, &ev)
}

@MainActor func drop(_ fd: Int32) {
  let c = conns + Int(fd)
  free(c.pointee.buf)
  c.pointee = Conn()
  // Closing also takes it off the epoll list (no other descriptor shares it)
  if close(fd) < 0 {
    perror("close failed")
  }
  if !accepting {  // a descriptor is free again: watch the listener again
    if watch_for(EPOLL_CTL_MOD, listener, EPOLLIN.rawValue) < 0 {
      perror("epoll_ctl failed")
    }
    accepting = true
  }
}

// A reset or vanished peer is routine for a server; other errors are news.
@MainActor func fail(_ fd: Int32, _ call: String) {
  if errno != ECONNRESET && errno != EPIPE {
    perror(call)
  }
  drop(fd)
}

// Watch for input while there is room to keep its echo, for output while some is
// owed: EPOLLOUT only then, or epoll_wait would return at once, forever. The watch
// list lives in the kernel, so a change costs a call: make it only on a change.
@MainActor func watch(_ fd: Int32) {
  let c = conns + Int(fd)
  var events: UInt32 = 0
  if !c.pointee.eof && c.pointee.end - c.pointee.start < BUFFER_CAP {
    events |= EPOLLIN.rawValue
  }
  if c.pointee.end > c.pointee.start {
    events |= EPOLLOUT.rawValue
  }
  if events == c.pointee.events {
    return
  }
  if watch_for(EPOLL_CTL_MOD, fd, events) < 0 {
    fail(fd, "epoll_ctl failed")
    return
  }
  c.pointee.events = events
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

// Readable: one recv (level-triggered, epoll says again if more is waiting).
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
        // leaves, or level-triggered epoll would report it again at once.
        perror("accept failed")
        if watch_for(EPOLL_CTL_MOD, listener, 0) < 0 {
          perror("epoll_ctl failed")
        }
        accepting = false
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
    // Registered once; from now on epoll_wait reports it only when it is ready
    if watch_for(EPOLL_CTL_ADD, fd, EPOLLIN.rawValue) < 0 {
      perror("epoll_ctl failed")
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
    conns[Int(fd)].events = EPOLLIN.rawValue
  }
}

var address = sockaddr_in6()  // zero-filled: C's memset
var limit = rlimit()
let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: MAX_EVENTS)
var opt: Int32 = 1
var v6only: Int32 = 0  // IPV6_V6ONLY off: IPv4 clients too
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit
let reuseport = getenv("KIT_REUSEPORT") != nil && strcmp(getenv("KIT_REUSEPORT"), "1") == 0  // kit

// One table entry per descriptor this process may open (Glibc's RLIMIT_NOFILE is
// an enum; getrlimit takes its raw value)
if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) < 0 {
  perror("getrlimit failed")
  exit(EXIT_FAILURE)
}
max_fds = limit.rlim_cur < MAX_FDS ? Int(limit.rlim_cur) : MAX_FDS
// calloc, as the C: zero-filled pages that become memory only where a descriptor is
// used, and all-zero bytes are a Conn() (false, nil, 0)
conns = calloc(max_fds, MemoryLayout<Conn>.stride)?.bindMemory(to: Conn.self, capacity: max_fds)
if conns == nil {
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
// kit: with KIT_REUSEPORT=1, several of these processes may bind this one port
// (each sets it), and the kernel spreads new connections among their listeners
if reuseport
  && setsockopt(listener, SOL_SOCKET, SO_REUSEPORT, &opt, socklen_t(MemoryLayout<Int32>.size))
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
epfd = epoll_create1(0)
if epfd < 0 {
  perror("epoll_create1 failed")
  exit(EXIT_FAILURE)
}
if watch_for(EPOLL_CTL_ADD, listener, EPOLLIN.rawValue) < 0 {
  perror("epoll_ctl failed")
  exit(EXIT_FAILURE)
}
print("Listening on port \(port)")

while true {
  // Sleep until something is ready; only the ready descriptors come back
  let ready = epoll_wait(epfd, events, Int32(MAX_EVENTS), -1)
  if ready < 0 {
    if errno == EINTR {
      continue
    }
    perror("epoll_wait failed")
    exit(EXIT_FAILURE)
  }
  var listener_ready = false
  for i in 0..<Int(ready) {
    let fd = events[i].data.fd
    let revents = events[i].events
    if fd == listener {  // accepted after the batch: see below
      listener_ready = true
      continue
    }
    if !conns[Int(fd)].open {  // dropped earlier in this batch
      continue
    }
    // EPOLLERR and EPOLLHUP come unasked: the recv or send says what happened
    if revents & (EPOLLIN.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0
      && conns[Int(fd)].events & EPOLLIN.rawValue != 0
    {
      on_readable(fd)
    }
    if conns[Int(fd)].open
      && revents & (EPOLLOUT.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0
      && conns[Int(fd)].end > conns[Int(fd)].start
    {
      on_writable(fd)
    }
  }
  // Last, so a descriptor closed above and reused by accept cannot receive an
  // event of this batch that was meant for the client it belonged to before
  if listener_ready {
    accept_clients()
  }
}
