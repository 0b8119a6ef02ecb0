// tcp-echo client, line by line over Glibc: the twin of CSources/tcp-echo/client.c.
// Connect, send one line, print what comes back the way Python prints bytes.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let BUFFER_SIZE = 4096  // recv(4096)

// Python's repr() of a bytes object: b'...' with printable ASCII as it is, \t \n \r
// \\ and the quote escaped, any other byte as \xNN. Python picks double quotes when
// the data has a ' and no ".
func bytes_repr(_ data: ArraySlice<UInt8>) -> String {
  let quote =
    data.contains(UInt8(ascii: "'")) && !data.contains(UInt8(ascii: "\""))
    ? UInt8(ascii: "\"") : UInt8(ascii: "'")
  var out = "b" + String(UnicodeScalar(quote))
  for c in data {
    switch c {
    case quote, UInt8(ascii: "\\"): out += "\\" + String(UnicodeScalar(c))
    case UInt8(ascii: "\t"): out += "\\t"
    case UInt8(ascii: "\n"): out += "\\n"
    case UInt8(ascii: "\r"): out += "\\r"
    case 0x20..<0x7f: out += String(UnicodeScalar(c))
    default: out += (c < 0x10 ? "\\x0" : "\\x") + String(c, radix: 16)
    }
  }
  return out + String(UnicodeScalar(quote))
}

// Python's sendall(): send may take only part of the data, so loop until it is all
// gone. MSG_NOSIGNAL (kit): a closed peer means EPIPE, as in Python, not SIGPIPE.
func send_all(_ fd: Int32, _ data: UnsafeRawPointer, _ length: Int) -> Int32 {
  var data = data
  var length = length
  while length > 0 {
    let sent = send(fd, data, length, Int32(MSG_NOSIGNAL))
    if sent < 0 {
      if errno == EINTR {
        continue
      }
      return -1
    }
    data += sent
    length -= sent
  }
  return 0
}

var sock: Int32 = -1
var failure: Int32 = 0
var hints = addrinfo()  // zero-filled: C's memset
var addresses: UnsafeMutablePointer<addrinfo>?
var buffer = [UInt8](repeating: 0, count: BUFFER_SIZE)
let message = "hello, server\n"
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit
let host = getenv("KIT_HOST") != nil ? String(cString: getenv("KIT_HOST")) : "127.0.0.1"  // kit

// ("127.0.0.1", 8080), ("::1", 8080) or ("localhost", 8080): every address the
// host stands for, in the order the system prefers
hints.ai_family = AF_UNSPEC  // IPv4 or IPv6
hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
hints.ai_flags = AI_NUMERICSERV
let service = String(port)
let rc = getaddrinfo(host, service, &hints, &addresses)
if rc != 0 {
  fputs("invalid address: \(host): \(String(cString: gai_strerror(rc)))\n", stderr)
  exit(EXIT_FAILURE)
}
// Each in turn until one connects: a name may be ::1 and 127.0.0.1, and a server
// may listen on only one of them
var a = addresses
while let entry = a?.pointee, sock < 0 {
  defer { a = entry.ai_next }  // the for loop's a = a->ai_next
  sock = socket(entry.ai_family, entry.ai_socktype, entry.ai_protocol)
  if sock < 0 {
    failure = errno
    continue
  }
  if connect(sock, entry.ai_addr, entry.ai_addrlen) < 0 {
    failure = errno  // before close, which may change errno
    close(sock)
    sock = -1
  }
}
freeaddrinfo(addresses)
if sock < 0 {  // every address failed: say why the last did
  errno = failure
  perror("connect failed")
  exit(EXIT_FAILURE)
}

if send_all(sock, message, strlen(message)) < 0 {
  perror("send failed")
  exit(EXIT_FAILURE)
}
// One recv: whatever has arrived, up to 4096 bytes; 0 (b'') if the server closed
let n = recv(sock, &buffer, BUFFER_SIZE, 0)
if n < 0 {
  perror("recv failed")
  exit(EXIT_FAILURE)
}
print("Server replied: \(bytes_repr(buffer[..<n]))")

close(sock)
