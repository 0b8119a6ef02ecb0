// udp-echo server, line by line over Glibc: the twin of CSources/udp-echo/server.c.
// Send every datagram back to whoever sent it, forever, printing each one as Python
// prints it.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let PORT: Int32 = 8080
let BUFFER_SIZE = 4096  // recvfrom(4096): the rest of a longer datagram is lost

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

var address = sockaddr_in()  // zero-filled: C's memset
var peer = sockaddr_in()
var peer_len: socklen_t
var buffer = [UInt8](repeating: 0, count: BUFFER_SIZE)
var ip = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
var n: Int
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT  // kit

let sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
if sock < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

// ("0.0.0.0", 8080): every local interface
address.sin_family = sa_family_t(AF_INET)
address.sin_addr.s_addr = in_addr_t(INADDR_ANY).bigEndian
address.sin_port = UInt16(port).bigEndian
let bound = withUnsafePointer(to: &address) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if bound < 0 {
  perror("bind failed")
  exit(EXIT_FAILURE)
}

while true {
  // recvfrom() returns (data, addr): one whole datagram and who sent it
  peer_len = socklen_t(MemoryLayout<sockaddr_in>.size)
  n = withUnsafeMutablePointer(to: &peer) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      recvfrom(sock, &buffer, BUFFER_SIZE, 0, $0, &peer_len)
    }
  }
  if n < 0 {
    perror("recvfrom failed")
    exit(EXIT_FAILURE)
  }
  if inet_ntop(AF_INET, &peer.sin_addr, &ip, socklen_t(INET_ADDRSTRLEN)) == nil {
    perror("inet_ntop failed")
    exit(EXIT_FAILURE)
  }
  print(
    "Received \(bytes_repr(buffer[..<n])) from ('\(String(cString: &ip))', \(UInt16(bigEndian: peer.sin_port)))"
  )
  // The same bytes back to that address: one datagram, sent whole or not at all
  let sent = withUnsafePointer(to: &peer) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      sendto(sock, buffer, n, 0, $0, peer_len)
    }
  }
  if sent < 0 {
    perror("sendto failed")
    exit(EXIT_FAILURE)
  }
}
