// udp-capitalize client, line by line over Glibc: the twin of
// CSources/udp-capitalize/client.c. Send one line from standard input in one
// datagram, print the upper-cased reply on stderr. No return code is checked, as in
// the C.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let MAX_LINE = 1024  // kit: the slide gives no value; the Java versions use 1024

// kit: "socket" on the slide, which hides the function socket(); in Swift too the
// name would clash ("circular reference")
var sock: Int32
var sentence = [CChar](repeating: 0, count: MAX_LINE)  // zeros: the C leaves it unset
var modifiedSentence = [CChar](repeating: 0, count: MAX_LINE)  // the same
var hp: UnsafeMutablePointer<hostent>?
var cliAddr = sockaddr_in()  // Swift zero-fills both; the C leaves them unset
var remoteServAddr = sockaddr_in()
var remoteServLen = socklen_t(MemoryLayout<sockaddr_in>.size)  // kit: undeclared on the slide
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : 9876  // kit
// kit: the slide's placeholder "hostname" becomes localhost, or KIT_HOST
let host = getenv("KIT_HOST") != nil ? String(cString: getenv("KIT_HOST")) : "localhost"  // kit

sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)  // On Glibc SOCK_DGRAM is an enum
hp = gethostbyname(host)  // kit: host for "hostname"

// Bind any port: port 0 asks the kernel to pick a free one
cliAddr.sin_family = sa_family_t(AF_INET)
cliAddr.sin_addr.s_addr = in_addr_t(INADDR_ANY).bigEndian  // .bigEndian is htonl
cliAddr.sin_port = UInt16(0).bigEndian
_ = withUnsafePointer(to: &cliAddr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}

// The server's address: family and first address from the host entry.
// kit: hp->, where the slide writes h-> for the hp it declared
remoteServAddr.sin_family = sa_family_t(hp!.pointee.h_addrtype)
memcpy(&remoteServAddr.sin_addr.s_addr, hp!.pointee.h_addr_list[0]!, Int(hp!.pointee.h_length))
remoteServAddr.sin_port = UInt16(port).bigEndian  // kit: port, 9876 unless KIT_PORT says

// kit: the slide never fills sentence; fgets reads the line, '\n' kept
fgets(&sentence, Int32(MAX_LINE), stdin)  // kit
// The whole buffer travels: the line, its '\0', then whatever the rest holds
_ = withUnsafePointer(to: &remoteServAddr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    sendto(sock, sentence, MAX_LINE, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
// Blocks until a datagram arrives; no timeout, so a lost one means forever.
// The reply's source address overwrites remoteServAddr.
_ = withUnsafeMutablePointer(to: &remoteServAddr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    recvfrom(sock, &modifiedSentence, MAX_LINE, 0, $0, &remoteServLen)
  }
}
// On stderr; the space before \n is the slide's. fprintf is variadic: Swift has none.
fputs("FROM SERVER: \(String(cString: &modifiedSentence)) \n", stderr)
close(sock)
