// http-server's request reading, line by line over Glibc: the twin of
// CSources/http/request.c, apart from the sockets so that fuzz/http-swift can feed it
// any bytes at all. Every byte a client sends is hostile here, so each line, header and
// path is bounded and checked.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let MAX_LINE = 8192  // longest request line or header line, "\r\n" included
let MAX_HEADERS = 64  // most header lines in one request
let MAX_HEADER_BYTES = 16384  // most bytes in all header lines together

// What read_line returns instead of a length
let LINE_TOO_LONG = -1
let LINE_CLOSED = -2  // the client closed, or reading failed
let LINE_TIMEOUT = -3  // the socket's SO_RCVTIMEO passed, or the request's deadline
let LINE_BAD = -4  // a NUL byte or a lone '\r'

// The folder served, as realpath gives it: absolute, no symbolic links, no '/' at the
// end. Written once before the first thread starts, only read afterwards.
nonisolated(unsafe) var root = [CChar](repeating: 0, count: Int(PATH_MAX))

// One request, as read_request leaves it for the reply and the log line
struct Request {
  var line: [UInt8] = []  // the request line
  var method: [UInt8] = Array("-".utf8)  // "-" until the request line is understood
  var target: [UInt8] = Array("-".utf8)
  var head = false  // HEAD: the same headers as GET, no body
  var file = [CChar](repeating: 0, count: Int(PATH_MAX))  // for 200: the file to send
}

func past(_ deadline: timespec) -> Bool {
  var now = timespec()
  if clock_gettime(CLOCK_MONOTONIC, &now) < 0 { return true }
  return now.tv_sec > deadline.tv_sec
    || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)
}

// Reads one line into line, without its "\n" or "\r\n". Bounded: it keeps at most
// size - 1 bytes whatever the client sends (getline would grow its buffer for as long
// as a client keeps sending). Returns the length or a LINE_ reason.
func read_line(
  _ input: UnsafeMutablePointer<FILE>, _ line: inout [UInt8], _ size: Int, _ deadline: timespec
) -> Int {
  line.removeAll(keepingCapacity: true)
  var c = getc(input)
  while c != EOF {
    if past(deadline) { return LINE_TIMEOUT }
    if c == Int32(UInt8(ascii: "\n")) {
      if line.last == UInt8(ascii: "\r") { line.removeLast() }
      if line.contains(0) || line.contains(UInt8(ascii: "\r")) { return LINE_BAD }
      return line.count
    }
    if line.count + 1 >= size { return LINE_TOO_LONG }
    line.append(UInt8(c))
    c = getc(input)
  }
  // SO_RCVTIMEO makes a read that waited too long fail with EAGAIN
  if ferror(input) != 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return LINE_TIMEOUT }
  return LINE_CLOSED
}

// RFC 9110's token: what a method or a header name may be made of
func is_token(_ s: ArraySlice<UInt8>) -> Bool {
  if s.isEmpty { return false }
  for c in s {
    if !((c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
      || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
      || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
      || "!#$%&'*+-.^_`|~".utf8.contains(c))
    {
      return false
    }
  }
  return true
}

func hex(_ c: UInt8) -> Int {
  if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") { return Int(c - UInt8(ascii: "0")) }
  if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f") { return Int(c - UInt8(ascii: "a")) + 10 }
  if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "F") { return Int(c - UInt8(ascii: "A")) + 10 }
  return -1
}

// Whether realpath's answer is the root or below it. Comparing the prefix alone would
// let root "/srv/site" accept "/srv/site-private/key".
func inside_root(_ file: [CChar]) -> Bool {
  let n = strlen(root)
  return strncmp(file, root, n) == 0
    && (file[n] == 0 || file[n] == CChar(UInt8(ascii: "/"))
      || root[n - 1] == CChar(UInt8(ascii: "/")))
}

func is_directory(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFDIR }  // C's S_ISDIR
func is_regular(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFREG }  // C's S_ISREG

// The target's path as a file below the root: the query dropped, %XX decoded, then
// resolved by realpath, which follows "..", "." and symbolic links, and accepted only
// inside the root. Decoding first means "%2e%2e%2f" is judged as the "../" it is.
// Returns 200 with file filled in, or the status to answer. Outside the root is 404,
// like a missing file, so a client cannot probe which files exist elsewhere.
func resolve(_ target: [UInt8], _ file: inout [CChar]) -> Int32 {
  var path = [CChar](repeating: 0, count: Int(PATH_MAX))
  var n = strlen(root)
  var st = stat()
  var i = 0

  if target.first != UInt8(ascii: "/") { return 400 }
  memcpy(&path, root, n)
  while i < target.count && target[i] != UInt8(ascii: "?") && target[i] != UInt8(ascii: "#") {
    var c = target[i]
    if c == UInt8(ascii: "%") {
      let hi = i + 1 < target.count ? hex(target[i + 1]) : -1
      let lo = i + 2 < target.count ? hex(target[i + 2]) : -1
      if hi < 0 || lo < 0 { return 400 }
      c = UInt8(hi * 16 + lo)
      i += 2
      if c == 0 { return 400 }  // a NUL would cut the name short
    } else if c <= UInt8(ascii: " ") || c >= 0x7f {
      return 400
    }
    if n + 1 >= path.count { return 404 }  // longer than any file name
    path[n] = CChar(bitPattern: c)
    n += 1
    i += 1
  }
  path[n] = 0

  if realpath(path, &file) == nil || !inside_root(file) { return 404 }
  if stat(file, &st) < 0 { return 404 }
  if is_directory(st) {
    // index.html may itself be a link out of the root: resolve and check again
    path = Array(file[..<strlen(file)]) + Array("/index.html".utf8CString)
    if path.count > Int(PATH_MAX) { return 404 }
    if realpath(path, &file) == nil || !inside_root(file) { return 404 }
    if stat(file, &st) < 0 { return 404 }
  }
  if !is_regular(st) { return 404 }
  return 200
}

// Reads and checks one request. Returns the status to answer with (200: rq.file is
// the file to send), or 0 when the client sent nothing or left mid-request: there is
// nobody to answer.
func read_request(
  _ input: UnsafeMutablePointer<FILE>, _ rq: inout Request, _ deadline: timespec
) -> Int32 {
  var header: [UInt8] = []
  var n: Int
  var headers = 0
  var hosts = 0
  let minor: UInt8
  var header_bytes = 0
  let space = UInt8(ascii: " ")

  // A connection that stays silent (a browser opens spares) is closed quietly
  let c = getc(input)
  if c == EOF { return 0 }
  if ungetc(c, input) == EOF { return 0 }

  n = read_line(input, &rq.line, MAX_LINE, deadline)
  if n == LINE_TOO_LONG { return 414 }
  if n == LINE_TIMEOUT { return 408 }
  if n == LINE_BAD { return 400 }
  if n == LINE_CLOSED { return 0 }

  // METHOD SP TARGET SP HTTP/1.x, exactly one space apart
  guard let first = rq.line.firstIndex(of: space) else { return 400 }
  guard let second = rq.line[(first + 1)...].firstIndex(of: space) else { return 400 }
  let version = Array(rq.line[(second + 1)...])
  if !is_token(rq.line[..<first]) || second == first + 1 { return 400 }
  rq.method = Array(rq.line[..<first])
  rq.target = Array(rq.line[(first + 1)..<second])
  rq.head = rq.method == Array("HEAD".utf8)
  let isDigit = { (c: UInt8) in c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
  if version == Array("HTTP/1.0".utf8) || version == Array("HTTP/1.1".utf8) {
    minor = version[7] - UInt8(ascii: "0")
  } else if version.count == 8 && version.starts(with: "HTTP/".utf8) && isDigit(version[5])
    && version[6] == UInt8(ascii: ".") && isDigit(version[7])
  {
    return 505
  } else {
    return 400
  }

  // Header lines up to the empty line. Only Host matters here, but all are read so
  // that the request has been taken in whole before the answer.
  while true {
    n = read_line(input, &header, MAX_LINE, deadline)
    if n == 0 { break }
    if n == LINE_TOO_LONG { return 431 }
    if n == LINE_TIMEOUT { return 408 }
    if n == LINE_BAD { return 400 }
    if n == LINE_CLOSED { return 0 }
    header_bytes += n + 2
    headers += 1
    if headers > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES { return 431 }
    guard let colon = header.firstIndex(of: UInt8(ascii: ":")), is_token(header[..<colon]) else {
      return 400  // also a folded line: it starts with a space
    }
    if String(decoding: header[..<colon], as: UTF8.self).lowercased() == "host" { hosts += 1 }
  }

  if rq.method != Array("GET".utf8) && !rq.head { return 405 }
  if minor == 1 && hosts != 1 { return 400 }  // HTTP/1.1 requires exactly one Host
  return resolve(rq.target, &rq.file)
}
