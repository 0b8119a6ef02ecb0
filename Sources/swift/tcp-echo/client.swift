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

var server = sockaddr_in()  // zero-filled: C's memset
var buffer = [UInt8](repeating: 0, count: BUFFER_SIZE)
let message = "hello, server\n"
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit
let host = getenv("KIT_HOST") != nil ? String(cString: getenv("KIT_HOST")) : "127.0.0.1"  // kit

let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if sock < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

// ("127.0.0.1", 8080)
server.sin_family = sa_family_t(AF_INET)
server.sin_port = UInt16(port).bigEndian
if inet_pton(AF_INET, host, &server.sin_addr) <= 0 {
  fputs("invalid address: \(host)\n", stderr)
  exit(EXIT_FAILURE)
}
let connected = withUnsafePointer(to: &server) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    connect(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if connected < 0 {
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
