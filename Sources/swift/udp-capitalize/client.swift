// udp-capitalize client, line by line over Glibc: the twin of
// CSources/udp-capitalize/client.c. Send one line from standard input in one
// datagram, print the upper-cased reply on stderr.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let MAX_LINE = 1024  // kit: the slides give no value; the Java versions use 1024

var cliAddr = sockaddr_in()  // Swift zero-fills both; the C leaves them unset
var remoteServAddr = sockaddr_in()
var remoteServLen = socklen_t(MemoryLayout<sockaddr_in>.size)  // kit: undeclared in the slides
var sentence = [CChar](repeating: 0, count: MAX_LINE)  // kit: zeroed, so every byte sent is known
// kit: zeroed, one byte more than the recvfrom, so String(cString:) always finds a '\0'
var modifiedSentence = [CChar](repeating: 0, count: MAX_LINE + 1)
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : 9876  // kit
let host = getenv("KIT_HOST") != nil ? String(cString: getenv("KIT_HOST")) : "localhost"  // kit

// kit: every return code below is checked; the slides only say one should
// Name to address: h_addr is the first address of the host entry
let hp = gethostbyname(host)
if hp == nil {
  herror("gethostbyname failed")
  exit(EXIT_FAILURE)
}
remoteServAddr.sin_family = sa_family_t(AF_INET)
// C's hp->h_addr is a macro for h_addr_list[0], which Swift does not import
bcopy(hp!.pointee.h_addr_list[0]!, &remoteServAddr.sin_addr, Int(hp!.pointee.h_length))
remoteServAddr.sin_port = UInt16(port).bigEndian

// On Glibc SOCK_DGRAM is an enum
let sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
if sock < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

// Bind any port: port 0 asks the kernel to pick a free one
cliAddr.sin_family = sa_family_t(AF_INET)
cliAddr.sin_addr.s_addr = in_addr_t(INADDR_ANY).bigEndian
cliAddr.sin_port = UInt16(0).bigEndian
let bound = withUnsafePointer(to: &cliAddr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if bound < 0 {
  perror("bind failed")
  exit(EXIT_FAILURE)
}

// kit: fgets reads the line; it keeps the '\n', which then travels and comes back
if fgets(&sentence, Int32(MAX_LINE), stdin) == nil {
  fputs("no line on standard input\n", stderr)
  exit(EXIT_FAILURE)
}

// The whole buffer travels: the line, then NULs up to MAX_LINE bytes
let sent = withUnsafePointer(to: &remoteServAddr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    sendto(sock, sentence, MAX_LINE, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if sent < 0 {
  perror("sendto failed")
  exit(EXIT_FAILURE)
}

// Blocks until a datagram arrives; no timeout, so a lost one means forever.
// The reply's source address overwrites remoteServAddr.
let received = withUnsafeMutablePointer(to: &remoteServAddr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    recvfrom(sock, &modifiedSentence, MAX_LINE, 0, $0, &remoteServLen)
  }
}
if received < 0 {
  perror("recvfrom failed")
  exit(EXIT_FAILURE)
}
// On stderr; the space before \n is the slides'. fprintf is variadic: Swift has none.
fputs("FROM SERVER: \(String(cString: &modifiedSentence)) \n", stderr)

close(sock)
