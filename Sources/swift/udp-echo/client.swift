// udp-echo client, line by line over Glibc: the twin of CSources/udp-echo/client.c.
// Send one datagram, wait at most 5 seconds for the echo, print it the way Python
// prints bytes.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let BUFFER_SIZE = 4096
let TIMEOUT_SECONDS = 5

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

var server = sockaddr_in()  // zero-filled: C's memset
var timeout = timeval(tv_sec: TIMEOUT_SECONDS, tv_usec: 0)
var buffer = [UInt8](repeating: 0, count: BUFFER_SIZE)
let message = "hello, server\n"
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit
let host = getenv("KIT_HOST") != nil ? String(cString: getenv("KIT_HOST")) : "127.0.0.1"  // kit

let sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
if sock < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}
// A datagram or its echo may be lost, and nothing would ever say so: without a
// timeout recvfrom could wait forever
if setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
  < 0
{
  perror("setsockopt failed")
  exit(EXIT_FAILURE)
}

server.sin_family = sa_family_t(AF_INET)
server.sin_port = UInt16(port).bigEndian
if inet_pton(AF_INET, host, &server.sin_addr) <= 0 {
  fputs("invalid address: \(host)\n", stderr)
  exit(EXIT_FAILURE)
}

// No connect: the first sendto binds an ephemeral port
let sent = withUnsafePointer(to: &server) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    sendto(sock, message, strlen(message), 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if sent < 0 {
  perror("sendto failed")
  exit(EXIT_FAILURE)
}
// Addresses not needed: any datagram to this port is taken as the reply
let n = recvfrom(sock, &buffer, BUFFER_SIZE, 0, nil, nil)
if n < 0 {
  if errno == EAGAIN || errno == EWOULDBLOCK {
    fputs(
      "no reply within \(TIMEOUT_SECONDS) seconds: is the server running on \(host):\(port)?\n",
      stderr)
  } else {
    perror("recvfrom failed")
  }
  exit(EXIT_FAILURE)
}
print("Server replied: \(bytes_repr(buffer[..<n]))")

close(sock)
