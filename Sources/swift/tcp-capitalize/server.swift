// tcp-capitalize server, line by line over Glibc: the twin of
// CSources/tcp-capitalize/server.c. Accept a connection, read one line, send it back
// upper-cased, close, wait for the next one. No return code is checked, as in the C.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

// kit: the slide sizes its buffer with MAX_LINE, reads and writes MAXLINE bytes, and
// listens with a backlog of LISTENQ; it defines none of them
let MAX_LINE = 1024
let MAXLINE = MAX_LINE
let LISTENQ: Int32 = 5  // "about 5", as the slides put the backlog

// kit: the slide leaves capitalize() to be written. In place, up to the '\0', and
// never past the buffer's MAXLINE bytes if the read brought no '\0'.
func capitalize(_ s: UnsafeMutablePointer<CChar>) {
  var i = 0
  while i < MAXLINE && s[i] != 0 {
    s[i] = CChar(truncatingIfNeeded: toupper(Int32(UInt8(bitPattern: s[i]))))
    i += 1
  }
}

var welcomeSocket: Int32
var connectionSocket: Int32
var clientSentence = [CChar](repeating: 0, count: MAX_LINE)  // zeros: the C leaves it unset
var servaddr = sockaddr_in()  // Swift zero-fills it; the C leaves it unset
var bytesRead: Int  // kit: the slide assigns bytesRead without declaring it
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : 6789  // kit
// kit: zeroed once, so a first read that brings no '\0' (one byte "h" from the Java
// client) is answered "H" and zeros, not "H" and whatever the stack held
memset(&clientSentence, 0, clientSentence.count)  // kit

welcomeSocket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
// kit: the server closes first, so every connection it served waits a minute in
// TIME_WAIT on this port; without SO_REUSEADDR a restarted server could not bind
var opt: Int32 = 1  // kit
setsockopt(
  welcomeSocket, SOL_SOCKET, SO_REUSEADDR, &opt, socklen_t(MemoryLayout<Int32>.size))  // kit
servaddr.sin_family = sa_family_t(AF_INET)
servaddr.sin_addr.s_addr = in_addr_t(INADDR_ANY).bigEndian  // .bigEndian is htonl
servaddr.sin_port = UInt16(port).bigEndian  // kit: port, 6789 unless KIT_PORT says otherwise
// The welcome socket: the door every client knocks on.
// kit: welcomeSocket; the slide misspells it lwelcomeSocket
_ = withUnsafePointer(to: &servaddr) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(welcomeSocket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
listen(welcomeSocket, LISTENQ)

// Iterative: one client at a time; the others wait in the LISTENQ backlog.
// Swift has no for ( ; ; ): while true is the same endless loop.
while true {
  // A new socket for this client; welcomeSocket keeps listening
  connectionSocket = accept(welcomeSocket, nil, nil)
  // One read: whatever has arrived so far, not necessarily the whole line
  bytesRead = read(connectionSocket, &clientSentence, MAXLINE)
  capitalize(&clientSentence)
  // The whole buffer goes back: the string, its '\0' and whatever follows
  write(connectionSocket, clientSentence, MAXLINE)
  close(connectionSocket)  // kit: "connectSocket" on the slide
}
close(welcomeSocket)  // never reached: the loop has no way out
