// http-client, line by line over Glibc: the twin of CSources/http/client.c. Fetches one
// URL with HTTP/1.0 and copies the response, status line, headers and body, to
// standard output byte for byte (http only, no https).
//   http-client http://HOST[:PORT]/PATH
//   http-client HOST PORT PATH
//   http-client                 GET / from KIT_HOST (localhost), KIT_PORT (8080)
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let BUFFER_SIZE = 4096
let RECV_SECONDS = 30  // a server silent this long is given up on

struct Url {
  var host = ""  // without the [ ] of an IPv6 address
  var port = ""
  var path = ""
}

func fail(_ what: String, _ detail: String) -> Never {
  fputs("http-client: \(what): \(detail)\n", stderr)
  exit(EXIT_FAILURE)
}

func usage(_ why: String) -> Never {
  fputs("http-client: \(why)\n", stderr)
  fputs(
    "usage: http-client http://HOST[:PORT]/PATH\n"
      + "       http-client HOST PORT PATH\n"
      + "       http-client   (GET / from $KIT_HOST:$KIT_PORT, default localhost:8080)\n",
    stderr)
  exit(EXIT_FAILURE)
}

// The bytes of s as a String, or fails if they would not fit C's buffer of size bytes
func copy(_ s: ArraySlice<UInt8>, _ size: Int, _ what: String) -> String {
  if s.count >= size { usage(what) }
  return String(decoding: s, as: UTF8.self)
}

// A host name (letters, digits, '-', '.', '_') or an IPv6 address's hex digits,
// ':' and '.'. Nothing that could end the Host line early.
func check_host(_ host: String) {
  if host.isEmpty { usage("no host in the URL") }
  let allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._:".utf8
  for c in host.utf8 where !allowed.contains(c) {
    usage("bad character in the host name")
  }
}

// 1 to 65535, digits only
func check_port(_ port: String) {
  if port.isEmpty || port.utf8.count > 5 { usage("bad port") }
  for c in port.utf8 where c < UInt8(ascii: "0") || c > UInt8(ascii: "9") {
    usage("bad port")
  }
  if atoi(port) < 1 || atoi(port) > 65535 { usage("bad port") }
}

// A path starting with '/', with no space or control character: those would let
// the path end the request line and write headers of its own.
func check_path(_ path: String) {
  if !path.hasPrefix("/") { usage("the path must start with '/'") }
  for c in path.utf8 where c <= UInt8(ascii: " ") || c >= 0x7f {
    usage("bad character in the path (spaces and the like must be %-encoded)")
  }
}

// http://HOST[:PORT][/PATH][#FRAGMENT]; HOST may be [IPv6]
func parse_url(_ url: String, _ u: inout Url) {
  let s = Array(url.utf8)
  let lower = String(decoding: s.prefix(8), as: UTF8.self).lowercased()
  if lower.hasPrefix("https://") { usage("https is not supported, only http://") }
  if !lower.hasPrefix("http://") { usage("the URL must start with http://") }
  let host = 7
  var end: Int
  if host < s.count && s[host] == UInt8(ascii: "[") {
    guard let close = s[host...].firstIndex(of: UInt8(ascii: "]")) else {
      usage("no ']' after the IPv6 address")
    }
    u.host = copy(s[(host + 1)..<close], 256, "host too long")
    end = close + 1
  } else {
    end = s[host...].firstIndex { ":/?#".utf8.contains($0) } ?? s.count
    u.host = copy(s[host..<end], 256, "host too long")
  }
  let path = s[end...].firstIndex { "/?#".utf8.contains($0) } ?? s.count
  if end < s.count && s[end] == UInt8(ascii: ":") {
    u.port = copy(s[(end + 1)..<path], 6, "bad port")
  } else if end == path {
    u.port = "80"
  } else {
    usage("bad URL after the host")
  }
  // The fragment (#...) is for the browser, never sent
  let fragment = s[path...].firstIndex(of: UInt8(ascii: "#")) ?? s.count
  if path < s.count && s[path] == UInt8(ascii: "/") {
    u.path = copy(s[path..<fragment], 4096, "path too long")
  } else {
    // "http://host" or "http://host?q": the path is "/"
    u.path = "/" + copy(s[path..<fragment], 4096 - 1, "path too long")
  }
}

// send() until all is sent. MSG_NOSIGNAL: a server that has gone makes send fail with
// EPIPE instead of raising SIGPIPE, which would kill the client silently.
func send_all(_ sock: Int32, _ bytes: [UInt8]) {
  var sent = 0
  while sent < bytes.count {
    let n = bytes[sent...].withUnsafeBytes {
      send(sock, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
    }
    if n < 0 {
      if errno == EINTR { continue }
      fail("send failed", String(cString: strerror(errno)))
    }
    sent += n
  }
}

var u = Url()
var hints = addrinfo()
var res: UnsafeMutablePointer<addrinfo>?
var patience = timeval(tv_sec: RECV_SECONDS, tv_usec: 0)
var buffer = [UInt8](repeating: 0, count: BUFFER_SIZE)
var total = 0
var sock: Int32 = -1
var err: Int32 = 0
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit
let host = getenv("KIT_HOST") != nil ? String(cString: getenv("KIT_HOST")) : "localhost"  // kit

let argv = CommandLine.arguments
if argv.count == 2 {
  parse_url(argv[1], &u)
} else if argv.count == 4 {
  u.host = copy(Array(argv[1].utf8)[...], 256, "host too long")
  u.port = copy(Array(argv[2].utf8)[...], 6, "bad port")
  u.path = copy(Array(argv[3].utf8)[...], 4096, "path too long")
} else if argv.count == 1 {
  u.host = copy(Array(host.utf8)[...], 256, "host too long")
  u.port = String(port)
  if u.port.utf8.count >= 6 { usage("bad port") }
  u.path = "/"
} else {
  usage("expected a URL, or HOST PORT PATH, or nothing")
}
check_host(u.host)
check_port(u.port)
check_path(u.path)

// HTTP/1.0: the server closes the connection after one response and sends the body
// as it is (no chunks), so everything until the close is the response. Host names
// the site, for servers that serve several under one address.
let hostField = u.host.contains(":") ? "[\(u.host)]" : u.host
let portField = u.port != "80" ? ":\(u.port)" : ""
let request = Array(
  ("GET \(u.path) HTTP/1.0\r\nHost: \(hostField)\(portField)\r\nUser-Agent: kit-http-client\r\n"
    + "Connection: close\r\n\r\n").utf8)

// getaddrinfo, not the lecture's gethostbyname: it knows IPv6 as well as IPv4,
// turns the port into the address too, and is safe in threads. A name may have
// several addresses (localhost: ::1 and 127.0.0.1): try each until one connects.
hints.ai_family = AF_UNSPEC
hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
let rc = getaddrinfo(u.host, u.port, &hints, &res)
if rc != 0 {
  fputs("http-client: unknown host \(u.host): \(String(cString: gai_strerror(rc)))\n", stderr)
  exit(EXIT_FAILURE)
}
var ai = res
while let a = ai {
  ai = a.pointee.ai_next
  sock = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
  if sock < 0 {
    err = errno
    continue
  }
  if connect(sock, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { break }
  err = errno
  close(sock)
  sock = -1
}
freeaddrinfo(res)
if sock < 0 {
  fputs(
    "http-client: cannot connect to \(u.host) port \(u.port): \(String(cString: strerror(err)))\n",
    stderr)
  exit(EXIT_FAILURE)
}

// Every blocking call needs a timeout: a silent server makes recv fail with EAGAIN
if setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &patience, socklen_t(MemoryLayout<timeval>.size))
  < 0
{
  fail("setsockopt failed", String(cString: strerror(errno)))
}

send_all(sock, request)

// A read returns whatever has arrived, a few bytes or many: copy each piece as it
// is, until recv returns 0, the server's close.
while true {
  let n = recv(sock, &buffer, buffer.count, 0)
  if n == 0 { break }
  if n < 0 {
    if errno == EINTR { continue }
    if errno == EAGAIN || errno == EWOULDBLOCK { fail("recv failed", "the server went silent") }
    fail("recv failed", String(cString: strerror(errno)))
  }
  if fwrite(buffer, 1, n, stdout) != n {
    fail("cannot write to standard output", String(cString: strerror(errno)))
  }
  total += n
}
if fflush(stdout) == EOF {
  fail("cannot write to standard output", String(cString: strerror(errno)))
}
if total == 0 { fail(u.host, "the server closed the connection without a response") }

close(sock)
