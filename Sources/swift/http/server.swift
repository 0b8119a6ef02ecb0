// http-server, line by line over Glibc: the twin of CSources/http/server.c. Serves the
// files of one folder over HTTP/1.0 and 1.1, GET and HEAD, one request per connection,
// each connection on its own thread.
//   http-server [DIR]     DIR defaults to lectures/http-site (from the current folder)
// Every byte a client sends is treated as hostile: each limit below stops a client
// from exhausting the server or reading a file outside DIR.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let LISTENQ: Int32 = 16
let DEFAULT_DIR = "lectures/http-site"
let IDLE_SECONDS = 5  // longest wait for a client's next bytes
let REQUEST_SECONDS = 10  // longest a whole request may take to arrive
let LOG_FIELD = 100  // longest method or target copied into the log
let LINGER_SECONDS = 2  // longest we read what a client sends after our answer
let LINGER_BYTES = 1 << 20  // most bytes we read and discard after our answer

func reason(_ status: Int32) -> String {
  switch status {
  case 200: "OK"
  case 400: "Bad Request"
  case 404: "Not Found"
  case 405: "Method Not Allowed"
  case 408: "Request Timeout"
  case 414: "URI Too Long"
  case 431: "Request Header Fields Too Large"
  case 505: "HTTP Version Not Supported"
  default: "Internal Server Error"
  }
}

func content_type(_ file: [CChar]) -> String {
  let name = file[..<strlen(file)].map { UInt8(bitPattern: $0) }
  guard let dot = name.lastIndex(of: UInt8(ascii: ".")), !name[dot...].contains(UInt8(ascii: "/"))
  else { return "application/octet-stream" }
  switch String(decoding: name[dot...], as: UTF8.self).lowercased() {
  case ".html": return "text/html; charset=utf-8"
  case ".css": return "text/css; charset=utf-8"
  case ".js": return "text/javascript; charset=utf-8"
  case ".png": return "image/png"
  case ".txt": return "text/plain; charset=utf-8"
  default: return "application/octet-stream"
  }
}

// write() until all is written: a socket may take only part of a buffer at a time
func write_all(_ fd: Int32, _ buf: UnsafeRawPointer, _ len: Int) -> Int32 {
  var buf = buf
  var len = len
  while len > 0 {
    let n = write(fd, buf, len)
    if n < 0 {
      if errno == EINTR { continue }
      return -1
    }
    buf += n
    len -= n
  }
  return 0
}

// The status line and headers. Content-Length tells the client where the body ends;
// Connection: close says that this connection carries no second request.
func format_head(_ status: Int32, _ type: String, _ length: Int, _ extra: String) -> [UInt8] {
  Array(
    ("HTTP/1.0 \(status) \(reason(status))\r\nContent-Type: \(type)\r\n"
      + "Content-Length: \(length)\r\n\(extra)Connection: close\r\n\r\n").utf8)
}

// An answer without a file: a one-line text body, none for HEAD
func send_error(_ fd: Int32, _ status: Int32, _ head: Bool) {
  let body = Array("\(status) \(reason(status))\n".utf8)
  var response = format_head(
    status, "text/plain; charset=utf-8", body.count, status == 405 ? "Allow: GET, HEAD\r\n" : "")
  if !head {
    response += body
  }
  _ = write_all(fd, response, response.count)  // failing, it ends only this connection
}

// 200 and the file, or an error if it cannot be opened after all. Returns the status
// sent. The headers and the start of the file share one write, so a small file goes
// in one piece; no more bytes are sent than Content-Length announced.
func send_file(_ fd: Int32, _ rq: Request) -> Int32 {
  var buffer = [UInt8](repeating: 0, count: 16384)
  var st = stat()

  let file = open(rq.file, O_RDONLY)
  if file < 0 {
    send_error(fd, 404, rq.head)
    return 404
  }
  if fstat(file, &st) < 0 || !is_regular(st) {
    close(file)
    send_error(fd, 404, rq.head)
    return 404
  }
  var left = Int(st.st_size)
  let head = format_head(200, content_type(rq.file), left, "")
  if head.count > buffer.count {
    close(file)
    send_error(fd, 500, rq.head)
    return 500
  }
  buffer.replaceSubrange(0..<head.count, with: head)
  var used = head.count
  repeat {
    // Fill the buffer from the file (nothing for HEAD), then write it all
    while !rq.head && left > 0 && used < buffer.count {
      let n = buffer[used...].withUnsafeMutableBytes {
        read(file, $0.baseAddress, min(left, $0.count))
      }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 {
        left = 0  // the file shrank: the client sees a short body
        break
      }
      used += n
      left -= n
    }
    if write_all(fd, buffer, used) < 0 { break }
    used = 0
  } while !rq.head && left > 0
  close(file)
  return 200
}

// Lingering close (RFC 9112, section 9.6). After our answer a client may still be
// sending: the rest of a request we refused, a body we ignored. Closing with its bytes
// unread makes the kernel reset the connection, and a reset can destroy our answer
// before the client has read it. So we end only our side (the client reads the answer,
// then end of stream) and read and discard until the client closes too, but no more
// than LINGER_BYTES within LINGER_SECONDS: a client that never stops sending cannot
// hold the thread. The caller then closes.
func linger_before_close(_ fd: Int32) {
  var discard = [UInt8](repeating: 0, count: 16384)
  var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
  var deadline = timespec()
  var now = timespec()
  var left = LINGER_BYTES

  if shutdown(fd, Int32(SHUT_WR)) < 0 { return }  // the client is gone already
  if clock_gettime(CLOCK_MONOTONIC, &deadline) < 0 { return }
  deadline.tv_sec += LINGER_SECONDS
  while left > 0 {
    if clock_gettime(CLOCK_MONOTONIC, &now) < 0 { return }
    let wait_ms =
      (deadline.tv_sec - now.tv_sec) * 1000 + (deadline.tv_nsec - now.tv_nsec) / 1_000_000
    if wait_ms <= 0 || poll(&pfd, 1, Int32(wait_ms)) <= 0 { return }  // time is up
    let n = read(fd, &discard, min(left, discard.count))
    if n <= 0 { return }  // the client closed (0) or reset the connection
    left -= n
  }
}

// A copy of s for the log: at most LOG_FIELD bytes, anything but printable ASCII as
// '?', so a client cannot write terminal escape codes or fake lines into the log.
func printable(_ s: [UInt8]) -> String {
  String(
    decoding: s.prefix(LOG_FIELD).map { $0 > 0x20 && $0 < 0x7f ? $0 : UInt8(ascii: "?") },
    as: UTF8.self)
}

func cannot_serve(_ dir: String, _ why: String) -> Never {
  fputs("http-server: cannot serve \(dir): \(why)\n", stderr)
  fputs(
    "usage: http-server [DIR]   (DIR defaults to \(DEFAULT_DIR), from the current folder:"
      + " run it in the kit's folder, or name a folder)\n", stderr)
  exit(EXIT_FAILURE)
}

// One thread per connection. An error here ends this connection, not the server:
// exit() would end every thread of the process. Its one network call is the shutdown
// in linger_before_close: a socket is a file descriptor, read through stdio and
// written with write.
func serve(_ arg: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
  let fd = arg!.load(as: Int32.self)
  var rq = Request()
  var deadline = timespec()
  free(arg)

  if clock_gettime(CLOCK_MONOTONIC, &deadline) < 0 {
    perror("clock_gettime failed")
    close(fd)
    return nil
  }
  deadline.tv_sec += REQUEST_SECONDS

  // The descriptor as a FILE * for reading only: stdio buffers what arrives and
  // getc takes it a byte at a time. Answers go straight to fd with write.
  guard let input = fdopen(fd, "r") else {
    perror("fdopen failed")
    close(fd)
    return nil
  }

  var status = read_request(input, &rq, deadline)
  if status == 200 {
    status = send_file(fd, rq)
  } else if status != 0 {
    send_error(fd, status, rq.head)
  }
  if status != 0 {
    print("\(status) \(printable(rq.method)) \(printable(rq.target))")
    linger_before_close(fd)
  }

  // Closes fd too: the FILE owns the descriptor now
  if fclose(input) != 0 { perror("fclose failed") }
  return nil
}

@main
enum HttpServer {
  static func main() {
    var connfd: Int32
    var sin = sockaddr_in6()
    var idle = timeval(tv_sec: IDLE_SECONDS, tv_usec: 0)
    var sa = sigaction()
    var st = stat()
    var tid = pthread_t()
    var opt: Int32 = 1
    var v6only: Int32 = 0  // IPV6_V6ONLY off: IPv4 clients too
    var rc: Int32
    var fdp: UnsafeMutableRawPointer?
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit
    let dir = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : DEFAULT_DIR

    if CommandLine.arguments.count > 2 {
      fputs("usage: http-server [DIR]   (DIR defaults to \(DEFAULT_DIR))\n", stderr)
      exit(EXIT_FAILURE)
    }
    if realpath(dir, &root) == nil || stat(root, &st) < 0 {
      cannot_serve(dir, String(cString: strerror(errno)))
    }
    if !is_directory(st) {
      cannot_serve(dir, "not a folder")
    }

    // A client that resets its connection makes our write raise SIGPIPE, which would
    // kill the whole server. Ignored, write fails with EPIPE instead.
    memset(&sa, 0, MemoryLayout<sigaction>.size)
    sa.__sigaction_handler.sa_handler = SIG_IGN  // sa_handler is a macro for this union member
    sigemptyset(&sa.sa_mask)
    if sigaction(SIGPIPE, &sa, nil) < 0 {
      perror("sigaction failed")
      exit(EXIT_FAILURE)
    }

    let listenfd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
    if listenfd < 0 {
      perror("socket failed")
      exit(EXIT_FAILURE)
    }
    if setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &opt, socklen_t(MemoryLayout<Int32>.size)) < 0
    {
      perror("setsockopt failed")
      exit(EXIT_FAILURE)
    }
    // Dual-stack: one socket for IPv6 and IPv4 clients, an IPv4 one showing as a mapped
    // address (::ffff:127.0.0.1). Linux's default, not every system's: say it
    if setsockopt(
      listenfd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &v6only, socklen_t(MemoryLayout<Int32>.size)) < 0
    {
      perror("setsockopt failed")
      exit(EXIT_FAILURE)
    }
    memset(&sin, 0, MemoryLayout<sockaddr_in6>.size)
    sin.sin6_family = sa_family_t(AF_INET6)
    sin.sin6_addr = in6addr_any  // ::, IPv6 and IPv4
    sin.sin6_port = UInt16(port).bigEndian
    let bound = withUnsafePointer(to: &sin) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(listenfd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
      }
    }
    if bound < 0 {
      perror("bind failed")
      exit(EXIT_FAILURE)
    }
    if listen(listenfd, LISTENQ) < 0 {
      perror("listen failed")
      exit(EXIT_FAILURE)
    }
    print("Serving \(dir) on port \(port)")

    while true {
      connfd = accept(listenfd, nil, nil)
      if connfd < 0 {
        // Out of descriptors, or a client gone before accept: keep serving, and
        // give threads a moment to close some descriptors
        rc = errno
        perror("accept failed")
        if rc == EMFILE || rc == ENFILE { sleep(1) }
        continue
      }

      // A silent or slow client times out instead of holding its thread forever:
      // a read or write that waits IDLE_SECONDS fails with EAGAIN.
      let size = socklen_t(MemoryLayout<timeval>.size)
      if setsockopt(connfd, SOL_SOCKET, SO_RCVTIMEO, &idle, size) < 0
        || setsockopt(connfd, SOL_SOCKET, SO_SNDTIMEO, &idle, size) < 0
      {
        perror("setsockopt failed")
        close(connfd)
        continue
      }

      // Each thread gets its own copy of the descriptor, not &connfd, which the next
      // accept overwrites
      fdp = malloc(MemoryLayout<Int32>.size)
      if fdp == nil {
        perror("malloc failed")
        close(connfd)
        continue
      }
      fdp!.storeBytes(of: connfd, as: Int32.self)
      // pthread functions return the error number instead of setting errno
      rc = pthread_create(&tid, nil, serve, fdp)
      if rc != 0 {
        errno = rc
        perror("pthread_create failed")
        free(fdp)
        close(connfd)
        continue
      }
      rc = pthread_detach(tid)
      if rc != 0 {
        errno = rc
        perror("pthread_detach failed")
      }
    }
  }
}
