// Lab 06, http: a static HTTP/1.0 server for the files of one folder, in Swift over
// Glibc, call for call the C reference (server.c).
//   server DIR        (KIT_PORT sets the port, 8080 without it)
// GET and HEAD; 200, 400, 404, 405, 414; Content-Length and Content-Type; never a
// file outside DIR, however the path is spelled. One thread per connection, so a
// slow or silent client (a browser keeps spare connections open) holds up nobody.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("This lab calls Glibc, as the kit's swift flavor does.")
#endif

let PORT: Int32 = 8080
let MAX_LINE = 8192  // longest request or header line we read, "\r\n" included
let MAX_HEADERS = 100  // header lines read before the request is refused
let IDLE_SECONDS = 10  // a client silent this long is dropped

// DIR as realpath gives it (absolute, no links), set before the first thread
nonisolated(unsafe) var root = ""

// One request, as read_request leaves it for the answer and the log line
struct Request {
  var method: [UInt8] = Array("-".utf8)  // "-" until the request line is understood
  var target: [UInt8] = Array("-".utf8)
  var head = false  // HEAD: GET's headers, no body
  var file = ""  // for 200: the file to send
}

func reason(_ status: Int) -> String {
  switch status {
  case 200: "OK"
  case 400: "Bad Request"
  case 404: "Not Found"
  case 405: "Method Not Allowed"
  case 414: "URI Too Long"
  default: "Internal Server Error"
  }
}

// The browser decides what to do with the bytes from this header alone: a
// stylesheet served as anything but text/css is ignored.
func content_type(_ file: String) -> String {
  guard let dot = file.lastIndex(of: ".") else { return "application/octet-stream" }
  switch file[dot...].lowercased() {
  case ".html": return "text/html; charset=utf-8"
  case ".css": return "text/css; charset=utf-8"
  case ".js": return "text/javascript; charset=utf-8"
  case ".png": return "image/png"
  case ".txt": return "text/plain; charset=utf-8"
  default: return "application/octet-stream"
  }
}

// One line, without its "\r\n" (or bare "\n"). Returns its length, -1 if the client
// closed or went silent first, -2 if it does not fit: the rest is never read, so no
// client can make us store more than MAX_LINE bytes.
func read_line(_ input: UnsafeMutablePointer<FILE>, _ line: inout [UInt8]) -> Int {
  line.removeAll(keepingCapacity: true)
  var c = getc(input)
  while c != EOF && c != Int32(UInt8(ascii: "\n")) {
    if line.count == MAX_LINE - 1 { return -2 }
    line.append(UInt8(c))
    c = getc(input)
  }
  if c == EOF { return -1 }
  if line.last == UInt8(ascii: "\r") { line.removeLast() }
  return line.contains(0) ? -3 : line.count  // a NUL inside is no text
}

func hex(_ c: UInt8) -> Int {
  switch c {
  case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(c - UInt8(ascii: "0"))
  case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(c - UInt8(ascii: "a")) + 10
  case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(c - UInt8(ascii: "A")) + 10
  default: -1
  }
}

// realpath(3) as a String: ".", ".." and symbolic links resolved; nil if a part of
// the path does not exist.
func real_path(_ path: [UInt8]) -> String? {
  guard let resolved = realpath(path.map { CChar(bitPattern: $0) } + [0], nil) else {
    return nil
  }
  defer { free(resolved) }
  return String(cString: resolved)
}

// realpath's answer is the root or below it, compared byte for byte. The '/'
// matters: without it, root /tmp/site would let in /tmp/site-private/key.
func inside_root(_ file: String) -> Bool {
  let (f, r) = (Array(file.utf8), Array(root.utf8))
  return f.starts(with: r) && (f.count == r.count || f[r.count] == UInt8(ascii: "/"))
}

func is_directory(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFDIR }  // C's S_ISDIR
func is_regular(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFREG }  // C's S_ISREG

// The file a target names, in file: returns 200, or the status to answer. Decode
// %XX first, so that %2e%2e is judged as the ".." it is; then realpath, which
// resolves "..", "." and symbolic links, and only then the root check. Outside the
// root is 404, like a missing file.
func resolve(_ target: [UInt8], _ file: inout String) -> Int {
  var path = Array(root.utf8)
  var st = stat()
  var i = 0

  if target.first != UInt8(ascii: "/") { return 400 }
  while i < target.count && target[i] != UInt8(ascii: "?") {
    var c = target[i]
    if c == UInt8(ascii: "%") {
      let hi = i + 1 < target.count ? hex(target[i + 1]) : -1
      let lo = i + 2 < target.count ? hex(target[i + 2]) : -1
      if hi < 0 || lo < 0 { return 400 }
      c = UInt8(hi * 16 + lo)
      if c == 0 { return 400 }  // it would cut the name short
      i += 2
    }
    if path.count + 1 >= Int(PATH_MAX) { return 404 }  // longer than any file name
    path.append(c)
    i += 1
  }

  guard let found = real_path(path), inside_root(found), stat(found, &st) == 0 else { return 404 }
  file = found
  if is_directory(st) {  // a folder: its index.html, itself maybe a link out
    guard let index = real_path(Array((found + "/index.html").utf8)), inside_root(index),
      stat(index, &st) == 0
    else { return 404 }
    file = index
  }
  return is_regular(st) ? 200 : 404
}

// Reads the request and returns the status to answer (200: rq.file is the file), or
// 0 when the client left before a whole request: nobody to answer.
func read_request(_ input: UnsafeMutablePointer<FILE>, _ rq: inout Request) -> Int {
  var line: [UInt8] = []
  var header: [UInt8] = []
  var headers = 0
  let space = UInt8(ascii: " ")

  var n = read_line(input, &line)
  if n == -1 { return 0 }
  if n == -2 { return 414 }
  if n < 0 { return 400 }
  // METHOD SP TARGET SP HTTP/1.x: exactly two spaces
  guard let first = line.firstIndex(of: space),
    let second = line[(first + 1)...].firstIndex(of: space)
  else { return 400 }
  let version = String(decoding: line[(second + 1)...], as: UTF8.self)
  if first == 0 || second == first + 1 || (version != "HTTP/1.0" && version != "HTTP/1.1") {
    return 400
  }
  rq.method = Array(line[..<first])
  rq.target = Array(line[(first + 1)..<second])
  rq.head = rq.method == Array("HEAD".utf8)

  // The headers, up to the empty line: read so that the whole request is in before
  // the answer, but none of them changes what a GET of a file gets.
  while true {
    n = read_line(input, &header)
    if n == 0 { break }
    if n == -1 { return 0 }
    headers += 1
    if n < 0 || headers > MAX_HEADERS || !header.contains(UInt8(ascii: ":")) { return 400 }
  }

  if rq.method != Array("GET".utf8) && !rq.head { return 405 }
  return resolve(rq.target, &rq.file)
}

// write() until all is gone: a socket may take only part of a buffer
func write_all(_ fd: Int32, _ bytes: [UInt8]) -> Int32 {
  var sent = 0
  while sent < bytes.count {
    let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    if n < 0 && errno == EINTR { continue }
    if n < 0 { return -1 }
    sent += n
  }
  return 0
}

// The status line and headers. Content-Length is where the body ends; HEAD gets the
// same headers as GET, and no body.
func send_head(_ fd: Int32, _ status: Int, _ type: String, _ length: Int) -> Int32 {
  // wrong: no Content-Type, "the file's name says what it is". The client sees only
  // the bytes and this header: a browser may guess, a program has nothing to go by.
  _ = type
  let head =
    "HTTP/1.0 \(status) \(reason(status))\r\n"
    + "Content-Length: \(length)\r\nConnection: close\r\n\r\n"
  return write_all(fd, Array(head.utf8))
}

func send_error(_ fd: Int32, _ status: Int, _ head: Bool) {
  let body = Array("\(status) \(reason(status))\n".utf8)
  if send_head(fd, status, "text/plain; charset=utf-8", body.count) == 0 && !head {
    _ = write_all(fd, body)
  }
}

// 200 and the file, in pieces: it may be larger than any buffer
func send_file(_ fd: Int32, _ rq: Request) -> Int {
  var buffer = [UInt8](repeating: 0, count: 16384)
  var st = stat()
  guard let f = fopen(rq.file, "rb") else {
    send_error(fd, 404, rq.head)
    return 404
  }
  defer { fclose(f) }
  if fstat(fileno(f), &st) < 0 {
    send_error(fd, 404, rq.head)
    return 404
  }
  if send_head(fd, 200, content_type(rq.file), Int(st.st_size)) == 0 && !rq.head {
    while case let n = fread(&buffer, 1, buffer.count, f), n > 0 {
      if write_all(fd, Array(buffer[..<n])) < 0 { break }  // the client left
    }
  }
  return 200
}

// At most 100 bytes, anything but printable ASCII as '?': a request must not write
// escape codes to our terminal, nor a fake line into the log.
func printable(_ s: [UInt8]) -> String {
  String(
    decoding: s.prefix(100).map { $0 > 0x20 && $0 < 0x7f ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
}

// One connection: one request, one answer, close. An error ends this connection
// only; exit() here would end every thread.
func serve(_ arg: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
  let fd = Int32(Int(bitPattern: arg))  // the descriptor travels in the pointer itself
  var rq = Request()
  guard let input = fdopen(fd, "r") else {  // stdio reads for us; answers go out with write
    perror("fdopen failed")
    close(fd)
    return nil
  }
  var status = read_request(input, &rq)
  if status == 200 {
    status = send_file(fd, rq)
  } else if status != 0 {
    send_error(fd, status, rq.head)
  }
  if status != 0 {
    print("\(status) \(printable(rq.method)) \(printable(rq.target))")
  }
  fclose(input)  // closes fd too
  return nil
}

var address = sockaddr_in()
var idle = timeval(tv_sec: IDLE_SECONDS, tv_usec: 0)
var st = stat()
var thread = pthread_t()
var opt: Int32 = 1
setvbuf(stdout, nil, _IOLBF, 0)  // each line reaches a pipe at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT

if CommandLine.arguments.count != 2 {
  fputs("usage: server DIR\n", stderr)
  exit(EXIT_FAILURE)
}
guard let folder = real_path(Array(CommandLine.arguments[1].utf8)), stat(folder, &st) == 0,
  is_directory(st)
else {
  fputs("server: \(CommandLine.arguments[1]) is not a folder\n", stderr)
  exit(EXIT_FAILURE)
}
root = folder
// A client that hangs up mid-answer makes write raise SIGPIPE, which would end the
// whole server; ignored, write fails with EPIPE and only that thread ends.
signal(SIGPIPE, SIG_IGN)

let listen_fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if listen_fd < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}
setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &opt, socklen_t(MemoryLayout<Int32>.size))
address.sin_family = sa_family_t(AF_INET)
address.sin_addr.s_addr = in_addr_t(INADDR_ANY)
address.sin_port = UInt16(port).bigEndian
let bound = withUnsafePointer(to: &address) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(listen_fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if bound < 0 {
  perror("bind failed")
  exit(EXIT_FAILURE)
}
if listen(listen_fd, 16) < 0 {
  perror("listen failed")
  exit(EXIT_FAILURE)
}
print("Serving \(root) on port \(port)")

while true {
  let fd = accept(listen_fd, nil, nil)
  if fd < 0 {
    perror("accept failed")
    continue
  }
  // A silent client's reads fail after IDLE_SECONDS, and its thread ends
  let size = socklen_t(MemoryLayout<timeval>.size)
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, size)
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &idle, size)
  if pthread_create(&thread, nil, serve, UnsafeMutableRawPointer(bitPattern: Int(fd))) != 0 {
    fputs("pthread_create failed\n", stderr)
    close(fd)
    continue
  }
  pthread_detach(thread)
}
