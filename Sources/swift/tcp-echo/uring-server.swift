// tcp-echo io_uring server, line by line over Glibc and liburing: the twin of
// CSources/tcp-echo/uring-server.c. One thread hands the kernel its recvs and sends
// on a submission queue and takes their results from a completion queue.
// CUring includes <liburing.h> and links liburing: its static inline helpers
// (io_uring_prep_recv, io_uring_peek_cqe, io_uring_buf_ring_add...) come under their
// C names. IOSQE_BUFFER_SELECT is a macro Swift cannot import: CUring gives it as
// kit_IOSQE_BUFFER_SELECT.
//
// Swift 6 treats top-level variables as belonging to the main actor, so the functions
// that share them are marked @MainActor. It only tells the compiler what is true: the
// whole program runs on the main thread. There is no other thread, and no await.
#if canImport(Glibc)
  @preconcurrency import Glibc
  import CUring  // io_uring_*, struct io_uring, IORING_* constants
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let BUFFER_CAP = 1024 * 1024  // the most echo one client may owe us
let MAX_FDS = 65536  // the table's size if RLIMIT_NOFILE allows more
let RING_ENTRIES: UInt32 = 1024  // SQ slots (the CQ gets twice as many)
let BUF_COUNT = 256  // provided buffers: a power of two, as the ring needs
let BUF_SIZE = 16 * 1024  // one recv fills at most one of them
let BGID: UInt16 = 0  // the buffer group the recvs select from
let MAP_FAILED = UnsafeMutableRawPointer(bitPattern: -1)  // C's ((void *) -1)

// What a completion is for: the low two bits of its user_data, the descriptor above
let ACCEPT: UInt64 = 0
let RECV: UInt64 = 1
let SEND: UInt64 = 2

// A client: the echo it has not taken yet is buf[start..<end].
struct Conn {
  var open = false
  var eof = false  // it has shut down its sending side: read no more
  var closing = false  // failed: close it once the kernel has finished with it
  var recving = false  // a recv is in flight: the kernel will fill a provided buffer
  var sending = 0  // a send of buf[start..<start+sending] is in flight: hands off
  var buf: UnsafeMutableRawPointer? = nil  // malloc'd (BUFFER_CAP) at its first bytes
  var start = 0
  var end = 0
}

// C's `static struct io_uring ring`: liburing takes its address in every call
let ring = UnsafeMutablePointer<io_uring>.allocate(capacity: 1)
var buf_ring: UnsafeMutablePointer<io_uring_buf_ring>!  // shared with the kernel: free buffers
var bufs: UnsafeMutableRawPointer!  // the BUF_COUNT buffers it points to
var listener: Int32 = -1
var accepting = true  // false while accept has run out of descriptors
var conns: UnsafeMutablePointer<Conn>!  // indexed by descriptor, max_fds of them
var max_fds = 0

func report(_ call: String, _ res: Int32) {
  errno = -res  // io_uring returns -errno in the completion, errno is untouched
  perror(call)
}

// A free SQ slot. When all are taken, hand the queued requests to the kernel first.
@MainActor func get_sqe() -> UnsafeMutablePointer<io_uring_sqe> {
  var sqe = io_uring_get_sqe(ring)
  if sqe == nil {
    io_uring_submit(ring)
    sqe = io_uring_get_sqe(ring)
  }
  if sqe == nil {
    fputs("no free submission queue entry\n", stderr)
    exit(EXIT_FAILURE)
  }
  return sqe!
}

// One request that keeps accepting: a completion per client, flagged
// IORING_CQE_F_MORE while it stays armed.
@MainActor func arm_accept() {
  let sqe = get_sqe()
  io_uring_prep_multishot_accept(sqe, listener, nil, nil, 0)
  io_uring_sqe_set_data64(sqe, UInt64(listener) << 2 | ACCEPT)
}

// No buffer of ours: the kernel picks a free one from group BGID when bytes arrive,
// so an idle client holds no buffer. One recv at a time, and only while there is
// room for what it may bring: that is the cap on what one client makes us keep.
@MainActor func arm_recv(_ fd: Int32) {
  let sqe = get_sqe()
  io_uring_prep_recv(sqe, fd, nil, BUF_SIZE, 0)
  sqe.pointee.flags |= kit_IOSQE_BUFFER_SELECT
  sqe.pointee.buf_group = BGID
  io_uring_sqe_set_data64(sqe, UInt64(fd) << 2 | RECV)
  conns[Int(fd)].recving = true
}

// Send all that is owed. Until it completes, the kernel reads buf[start..<end]: new
// bytes may go after end, but nothing there may move.
@MainActor func arm_send(_ fd: Int32) {
  let c = conns + Int(fd)
  let sqe = get_sqe()
  c.pointee.sending = c.pointee.end - c.pointee.start
  io_uring_prep_send(
    sqe, fd, c.pointee.buf! + c.pointee.start, c.pointee.sending, Int32(MSG_NOSIGNAL))
  io_uring_sqe_set_data64(sqe, UInt64(fd) << 2 | SEND)
}

// Give a provided buffer back to the kernel for the next recv of any client
@MainActor func recycle(_ bid: Int) {
  io_uring_buf_ring_add(
    buf_ring, bufs + bid * BUF_SIZE, UInt32(BUF_SIZE), UInt16(bid),
    io_uring_buf_ring_mask(UInt32(BUF_COUNT)), 0)
  io_uring_buf_ring_advance(buf_ring, 1)
}

@MainActor func drop(_ fd: Int32) {
  let c = conns + Int(fd)
  free(c.pointee.buf)
  c.pointee = Conn()
  if close(fd) < 0 {
    perror("close failed")
  }
  if !accepting {  // a descriptor is free again: accept again
    arm_accept()
    accepting = true
  }
}

// Close a failed client. Closing its descriptor would not end a request still in
// flight (the request holds the socket), and its completion could later be taken for
// a new client given the same number: shut it down instead, which ends them, and
// close it when the last has completed (in serve).
@MainActor func shut(_ fd: Int32) {
  let c = conns + Int(fd)
  if !c.pointee.recving && c.pointee.sending == 0 {
    drop(fd)
    return
  }
  c.pointee.closing = true
  shutdown(fd, Int32(SHUT_RDWR))
}

// A reset or vanished peer is routine for a server; other errors are news.
@MainActor func fail(_ fd: Int32, _ call: String, _ res: Int32) {
  if res != -ECONNRESET && res != -EPIPE {
    report(call, res)
  }
  shut(fd)
}

// After every completion of a client: send what is owed, read while there is room
// to keep its echo, close when it is done.
@MainActor func serve(_ fd: Int32) {
  let c = conns + Int(fd)
  if c.pointee.closing || (c.pointee.eof && c.pointee.start == c.pointee.end) {
    if !c.pointee.recving && c.pointee.sending == 0 {
      drop(fd)
    }
    return
  }
  if c.pointee.sending == 0 && c.pointee.end > c.pointee.start {
    arm_send(fd)
  }
  if c.pointee.eof || c.pointee.recving {
    return
  }
  if c.pointee.sending == 0 && c.pointee.start > 0 && c.pointee.end + BUF_SIZE > BUFFER_CAP {
    let buf = c.pointee.buf!
    memmove(buf, buf + c.pointee.start, c.pointee.end - c.pointee.start)  // to the front
    c.pointee.end -= c.pointee.start
    c.pointee.start = 0
  }
  if c.pointee.end + BUF_SIZE <= BUFFER_CAP {
    arm_recv(fd)
  }
}

@MainActor func on_accept(_ res: Int32, _ flags: UInt32) {
  var peer = sockaddr_in()
  var peer_len = socklen_t(MemoryLayout<sockaddr_in>.size)
  var ip = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
  if flags & IORING_CQE_F_MORE == 0 {  // the multishot accept has ended
    if res == -EMFILE || res == -ENFILE {
      accepting = false  // re-armed when a client leaves (drop), not spun on
    } else {
      arm_accept()
    }
  }
  if res < 0 {
    if res != -ECONNABORTED && res != -EINTR {
      report("accept failed", res)
    }
    return
  }
  let fd = res
  if fd >= max_fds {
    fputs("refused a client: descriptor \(fd) is past the table (\(max_fds))\n", stderr)
    close(fd)
    return
  }
  // One accept request serves many clients, so an address buffer given with it
  // would be overwritten by the next one before we read it: ask the socket.
  let named = withUnsafeMutablePointer(to: &peer) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &peer_len) }
  }
  if named < 0 || inet_ntop(AF_INET, &peer.sin_addr, &ip, socklen_t(INET_ADDRSTRLEN)) == nil {
    ip = [CChar(UInt8(ascii: "?")), 0]
    peer.sin_port = 0
  }
  print("Connected: ('\(String(cString: &ip))', \(UInt16(bigEndian: peer.sin_port)))")
  conns[Int(fd)].open = true
  arm_recv(fd)
}

@MainActor func on_recv(_ fd: Int32, _ res: Int32, _ flags: UInt32) {
  let c = conns + Int(fd)
  let bid = Int(flags >> IORING_CQE_BUFFER_SHIFT)
  c.pointee.recving = false
  if res > 0 && !c.pointee.closing {
    if c.pointee.buf == nil {
      c.pointee.buf = malloc(BUFFER_CAP)
    }
    if c.pointee.buf == nil {
      perror("malloc failed")
      shut(fd)  // closes it, or marks it closing
    } else {
      // Copy the bytes out so the buffer goes straight back: the pool is every
      // client's, and one that reads its echo slowly must not hold any of it.
      memcpy(c.pointee.buf! + c.pointee.end, bufs + bid * BUF_SIZE, Int(res))
      c.pointee.end += Int(res)
    }
  }
  if flags & IORING_CQE_F_BUFFER != 0 {
    recycle(bid)
  }
  if !conns[Int(fd)].open {  // shut closed it above
    return
  }
  if res == 0 {  // FIN: it sends no more, but may still read its echo
    c.pointee.eof = true
  } else if res < 0 && res != -ENOBUFS && !c.pointee.closing {
    // (ENOBUFS: every provided buffer was taken at that moment; serve asks again)
    fail(fd, "recv failed", res)
    return
  }
  serve(fd)
}

@MainActor func on_send(_ fd: Int32, _ res: Int32) {
  let c = conns + Int(fd)
  c.pointee.sending = 0
  if res < 0 {
    if !c.pointee.closing {
      fail(fd, "send failed", res)
      return
    }
  } else {
    c.pointee.start += Int(res)  // a short send: serve sends the rest
    if c.pointee.start == c.pointee.end {
      c.pointee.start = 0
      c.pointee.end = 0
    }
  }
  serve(fd)
}

var address = sockaddr_in()  // zero-filled: C's memset
var limit = rlimit()
var reg = io_uring_buf_reg()  // zero-filled: C's memset
var cqe: UnsafeMutablePointer<io_uring_cqe>? = nil
var opt: Int32 = 1
var ret: Int32
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
// used, and all-zero bytes are a Conn() (false, nil, 0)
conns = calloc(max_fds, MemoryLayout<Conn>.stride)?.bindMemory(to: Conn.self, capacity: max_fds)
if conns == nil {
  perror("calloc failed")
  exit(EXIT_FAILURE)
}

listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
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
address.sin_family = sa_family_t(AF_INET)
address.sin_addr.s_addr = in_addr_t(INADDR_ANY).bigEndian
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
if listen(listener, SOMAXCONN) < 0 {
  perror("listen failed")
  exit(EXIT_FAILURE)
}
// The two queues, shared memory between this process and the kernel. One thread
// submits (SINGLE_ISSUER), and the kernel finishes completions when that thread
// next enters to wait (DEFER_TASKRUN) instead of interrupting it at once; kernels
// before 6.1 refuse these flags, and get a plain ring.
ring.initialize(to: io_uring())
ret = io_uring_queue_init(
  RING_ENTRIES, ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN)
if ret == -EINVAL {
  ret = io_uring_queue_init(RING_ENTRIES, ring, 0)
}
if ret < 0 {
  report("io_uring_queue_init failed", ret)
  exit(EXIT_FAILURE)
}
// The provided buffers, resident from the start (MAP_POPULATE) so that memory
// does not creep up as recvs take them in turn, and the page-aligned ring
// through which we hand them to the kernel. (liburing 2.4's
// io_uring_setup_buf_ring does these steps; 2.3 has only the register call.)
bufs = mmap(
  nil, BUF_COUNT * BUF_SIZE, PROT_READ | PROT_WRITE,
  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0)
let ring_memory = mmap(
  nil, BUF_COUNT * MemoryLayout<io_uring_buf>.size, PROT_READ | PROT_WRITE,
  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
if bufs == MAP_FAILED || ring_memory == MAP_FAILED {
  perror("mmap failed")
  exit(EXIT_FAILURE)
}
buf_ring = ring_memory!.bindMemory(to: io_uring_buf_ring.self, capacity: 1)
reg.ring_addr = UInt64(UInt(bitPattern: buf_ring))
reg.ring_entries = UInt32(BUF_COUNT)
reg.bgid = BGID
ret = io_uring_register_buf_ring(ring, &reg, 0)
if ret < 0 {
  report("io_uring_register_buf_ring failed", ret)
  exit(EXIT_FAILURE)
}
io_uring_buf_ring_init(buf_ring)
for bid in 0..<BUF_COUNT {
  recycle(bid)
}
arm_accept()
print("Listening on port \(port)")

while true {
  // One system call: hand over every request queued since the last one, and
  // sleep until at least one has completed
  ret = io_uring_submit_and_wait(ring, 1)
  if ret < 0 && ret != -EINTR && ret != -EBUSY {
    report("io_uring_submit_and_wait failed", ret)
    exit(EXIT_FAILURE)
  }
  // Every completion there is, read from shared memory: no system call
  while io_uring_peek_cqe(ring, &cqe) == 0 {
    let data = io_uring_cqe_get_data64(cqe)
    let res = cqe!.pointee.res
    let flags = cqe!.pointee.flags
    io_uring_cqe_seen(ring, cqe)
    let fd = Int32(data >> 2)
    switch data & 3 {
    case ACCEPT: on_accept(res, flags)
    case RECV: on_recv(fd, res, flags)
    case SEND: on_send(fd, res)
    default: break
    }
  }
}
