// tcp-capitalize client, line by line over Glibc: the twin of
// CSources/tcp-capitalize/client.c. Send one line from standard input, print the
// server's upper-cased answer on stderr. No return code is checked, as in the C.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

// kit: the slide sizes its buffers with MAX_LINE and passes MAXLINE to fgets; it
// defines neither, so both are defined here, as one value
let MAX_LINE = 1024
let MAXLINE = MAX_LINE

// main's argc and argv are CommandLine in Swift; this program, like the C, reads neither
var connectionSocket: Int32
var sentence = [CChar](repeating: 0, count: MAX_LINE)  // zeros: the C leaves it unset
var modifiedSentence = [CChar](repeating: 0, count: MAX_LINE)
var hp: UnsafeMutablePointer<hostent>?
var sin = sockaddr_in()  // kit: the slide uses sin without declaring it
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : 6789  // kit
// kit: the slide's placeholder "hostname" becomes localhost, or KIT_HOST
let host = getenv("KIT_HOST") != nil ? String(cString: getenv("KIT_HOST")) : "localhost"  // kit
// kit: zeroed, so that the String finds a '\0' after an answer that brings none (the
// Java and swift-sockets servers send the line and '\n' only)
memset(&modifiedSentence, 0, modifiedSentence.count)  // kit

// PF_INET names the protocol family; on Linux it equals AF_INET
connectionSocket = socket(PF_INET, Int32(SOCK_STREAM.rawValue), 0)
hp = gethostbyname(host)  // kit: host; the slide has "hostname" in curly quotes
bzero(&sin, MemoryLayout<sockaddr_in>.size)
sin.sin_family = sa_family_t(AF_INET)
sin.sin_port = UInt16(port).bigEndian  // kit: port; the slide misprints htons(6789r)
// h_addr: the first address of the host entry, h_length bytes of it. C's h_addr is a
// macro for h_addr_list[0], which Swift does not import.
bcopy(hp!.pointee.h_addr_list[0]!, &sin.sin_addr, Int(hp!.pointee.h_length))
// kit: connectionSocket and a ';'; the slide writes connectSocket and no ';'
_ = withUnsafePointer(to: &sin) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    connect(connectionSocket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
fgets(&sentence, Int32(MAXLINE), stdin)
sentence[MAXLINE - 1] = 0  // kit: sentence; the slide names an undeclared buff
// strlen + 1 bytes: the terminating '\0' travels too.
// kit: connectionSocket for connectSocket, and no 4th argument (write has 3)
write(connectionSocket, sentence, strlen(sentence) + 1)
// One read: whatever has arrived so far. kit: no 4th argument. sizeof of the C array
// is its count here: a CChar is one byte.
read(connectionSocket, &modifiedSentence, modifiedSentence.count)
// On stderr; the space before \n is the slide's. fprintf is variadic: Swift has none.
fputs("FROM SERVER: \(String(cString: &modifiedSentence)) \n", stderr)
close(connectionSocket)  // kit: "connectSocket" on the slide
