// udp-capitalize server, line by line over Glibc: the twin of
// CSources/udp-capitalize/server.c. Forever: receive a datagram, upper-case it, send
// it back to whoever sent it.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let MAX_LINE = 1024  // kit: the slides give no value; the Java versions use 1024

// kit: the slides leave capitalize() to the reader. All MAX_LINE bytes, as the Java
// server upper-cases the string it makes of its whole buffer; NULs stay NULs.
func capitalize(_ s: UnsafeMutablePointer<CChar>) {
  for i in 0..<MAX_LINE {
    s[i] = CChar(truncatingIfNeeded: toupper(Int32(UInt8(bitPattern: s[i]))))
  }
}

var servAddr = sockaddr_in()  // Swift zero-fills both; the C leaves them unset
var cliAddr = sockaddr_in()
var cliLen = socklen_t(MemoryLayout<sockaddr_in>.size)  // kit: the slides use cliLen undeclared
var msg = [CChar](repeating: 0, count: MAX_LINE)  // kit: zeroed, so every byte sent is known
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : 9876  // kit

// kit: every return code below is checked; the slides only say one should
// A datagram (UDP) socket: no listen, no accept, no connection. On Glibc SOCK_DGRAM
// is an enum. The C names it sock, not socket; in Swift too the name would clash.
let sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
if sock < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

// Any local interface, the well-known port: clients must know where to send
servAddr.sin_family = sa_family_t(AF_INET)
servAddr.sin_addr.s_addr = in_addr_t(INADDR_ANY).bigEndian
servAddr.sin_port = UInt16(port).bigEndian
let bound = withUnsafePointer(to: &servAddr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if bound < 0 {
  perror("bind failed")
  exit(EXIT_FAILURE)
}

while true {
  // One call, one whole datagram; the sender's address lands in cliAddr.
  // The buffer is reused: a shorter datagram leaves the last one's tail.
  let received = withUnsafeMutablePointer(to: &cliAddr) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      recvfrom(sock, &msg, MAX_LINE, 0, $0, &cliLen)
    }
  }
  if received < 0 {
    perror("recvfrom failed")
    exit(EXIT_FAILURE)
  }
  capitalize(&msg)
  // The whole buffer goes back, not just the string: MAX_LINE bytes
  let sent = withUnsafePointer(to: &cliAddr) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      sendto(sock, msg, MAX_LINE, 0, $0, cliLen)
    }
  }
  if sent < 0 {
    perror("sendto failed")
    exit(EXIT_FAILURE)
  }
}
