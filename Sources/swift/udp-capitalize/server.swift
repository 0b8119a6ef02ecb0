// udp-capitalize server, line by line over Glibc: the twin of
// CSources/udp-capitalize/server.c. Forever: receive a datagram, upper-case it, send
// it back to whoever sent it. No return code is checked, as in the C.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let MAX_LINE = 1024  // kit: the slide gives no value; the Java versions use 1024

// kit: the slide leaves capitalize() to be written. All MAX_LINE bytes, as the Java
// server upper-cases the string it makes of its whole buffer; NULs stay NULs.
func capitalize(_ s: UnsafeMutablePointer<CChar>) {
  for i in 0..<MAX_LINE {
    s[i] = CChar(truncatingIfNeeded: toupper(Int32(UInt8(bitPattern: s[i]))))
  }
}

// kit: "socket" on the slide, which hides the function socket(); in Swift too the
// name would clash ("circular reference")
var sock: Int32
var clientSentence = [CChar](repeating: 0, count: MAX_LINE)  // zeros: the C leaves it unset
var svrAddr = sockaddr_in()  // Swift zero-fills both; the C leaves them unset
var cliAddr = sockaddr_in()
var cliLen = socklen_t(MemoryLayout<sockaddr_in>.size)  // kit: the slide uses cliLen undeclared
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : 9876  // kit

// A datagram (UDP) socket: no listen, no accept, no connection. On Glibc SOCK_DGRAM
// is an enum.
sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)

// "Bind any port", says the slide's comment; the bind is to the well-known port,
// which clients must know to send anything here
svrAddr.sin_family = sa_family_t(AF_INET)
svrAddr.sin_addr.s_addr = in_addr_t(INADDR_ANY).bigEndian  // .bigEndian is htonl
svrAddr.sin_port = UInt16(port).bigEndian  // kit: port, 9876 unless KIT_PORT says
_ = withUnsafePointer(to: &svrAddr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}

// Swift has no for (;;): while true is the same endless loop
while true {
  // One call, one whole datagram; the sender's address lands in cliAddr.
  // The buffer is reused: a shorter datagram leaves the last one's tail.
  _ = withUnsafeMutablePointer(to: &cliAddr) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      recvfrom(sock, &clientSentence, MAX_LINE, 0, $0, &cliLen)
    }
  }
  capitalize(&clientSentence)
  // The whole buffer goes back, not just the string: MAX_LINE bytes
  _ = withUnsafePointer(to: &cliAddr) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      sendto(sock, clientSentence, MAX_LINE, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
    }
  }
}
close(sock)  // never reached: the loop has no way out
