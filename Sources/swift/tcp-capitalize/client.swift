// tcp-capitalize client, line by line over Glibc: the twin of
// CSources/tcp-capitalize/client.c. Send one line from standard input, print the
// server's upper-cased answer on stderr.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let MAXLINE = 1024  // kit: the slides write MAXLINE and MAX_LINE, define neither

var sin = sockaddr_in()  // kit: the slides use sin without declaring it
var sentence = [CChar](repeating: 0, count: MAXLINE)
// kit: one byte more than the read, so String(cString:) always finds a '\0'
var modifiedSentence = [CChar](repeating: 0, count: MAXLINE + 1)
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : 6789  // kit
// kit: the slides' placeholder "hostname" becomes localhost, or KIT_HOST
let host = getenv("KIT_HOST") != nil ? String(cString: getenv("KIT_HOST")) : "localhost"  // kit

// kit: every return code below is checked; the slides only say one should
// Name to address: h_addr is the first address of the host entry
let hp = gethostbyname(host)
if hp == nil {
  herror("gethostbyname failed")
  exit(EXIT_FAILURE)
}

let clientSocket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if clientSocket < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

memset(&sin, 0, MemoryLayout<sockaddr_in>.size)
sin.sin_family = sa_family_t(AF_INET)
bcopy(hp!.pointee.h_addr_list[0]!, &sin.sin_addr, Int(hp!.pointee.h_length))  // h_addr is a macro
sin.sin_port = UInt16(port).bigEndian

let connected = withUnsafePointer(to: &sin) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    connect(clientSocket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if connected < 0 {
  perror("connect failed")
  exit(EXIT_FAILURE)
}

// kit: fgets reads the line; it keeps the '\n', which then travels and comes back
if fgets(&sentence, Int32(MAXLINE), stdin) == nil {
  fputs("no line on standard input\n", stderr)
  exit(EXIT_FAILURE)
}

// strlen + 1 bytes: the terminating '\0' travels too
if write(clientSocket, sentence, strlen(sentence) + 1) < 0 {
  perror("write failed")
  exit(EXIT_FAILURE)
}

// One read: whatever has arrived so far, not necessarily the whole answer
if read(clientSocket, &modifiedSentence, MAXLINE) < 0 {
  perror("read failed")
  exit(EXIT_FAILURE)
}
// On stderr; the space before \n is the slides'. fprintf is variadic: Swift has none.
fputs("FROM SERVER: \(String(cString: &modifiedSentence)) \n", stderr)

close(clientSocket)
