// tcp-capitalize server, line by line over Glibc: the twin of
// CSources/tcp-capitalize/server.c. Accept a connection, read one line, send it back
// upper-cased, close, wait for the next one.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let MAXLINE = 1024  // kit: the slides use MAXLINE and LISTENQ without defining them
let LISTENQ: Int32 = 5  // kit: the backlog, "about 5" in the slides

// kit: the slides leave capitalize() to the reader. In place, up to the '\0'.
func capitalize(_ s: UnsafeMutablePointer<CChar>) {
  var s = s
  while s.pointee != 0 {
    s.pointee = CChar(truncatingIfNeeded: toupper(Int32(UInt8(bitPattern: s.pointee))))
    s += 1
  }
}

var connectionSocket: Int32
var sin = sockaddr_in()  // kit: the slides use sin without declaring it
var opt: Int32 = 1  // kit
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : 6789  // kit

// kit: every return code below is checked; the slides only say one should
let welcomeSocket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if welcomeSocket < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

// kit: the server closes first, so every connection it served waits a minute in
// TIME_WAIT on this port; without this a restarted server could not bind
if setsockopt(
  welcomeSocket, SOL_SOCKET, SO_REUSEADDR, &opt, socklen_t(MemoryLayout<Int32>.size)) < 0
{
  perror("setsockopt failed")
  exit(EXIT_FAILURE)
}

memset(&sin, 0, MemoryLayout<sockaddr_in>.size)
sin.sin_family = sa_family_t(AF_INET)
sin.sin_addr.s_addr = in_addr_t(INADDR_ANY)
sin.sin_port = UInt16(port).bigEndian  // kit: port; the slides misprint "htons(6789r)"

// The welcome socket: the door every client knocks on (kit: "lwelcomeSocket")
let bound = withUnsafePointer(to: &sin) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(welcomeSocket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if bound < 0 {
  perror("bind failed")
  exit(EXIT_FAILURE)
}
if listen(welcomeSocket, LISTENQ) < 0 {
  perror("listen failed")
  exit(EXIT_FAILURE)
}

// Iterative: one client at a time; the others wait in the LISTENQ backlog
while true {
  // kit: zeroed for every connection, so the bytes after the string are zeros
  var clientSentence = [CChar](repeating: 0, count: MAXLINE)

  // A new socket for this client; welcomeSocket keeps listening
  connectionSocket = accept(welcomeSocket, nil, nil)
  if connectionSocket < 0 {
    perror("accept failed")
    exit(EXIT_FAILURE)
  }

  // One read: whatever has arrived so far, not necessarily the whole line
  if read(connectionSocket, &clientSentence, MAXLINE) < 0 {
    perror("read failed")
    exit(EXIT_FAILURE)
  }
  clientSentence[MAXLINE - 1] = 0  // kit: "buff[MAXLINE-1]" in the slides
  capitalize(&clientSentence)

  // The whole buffer goes back: the string, its '\0' and the zeros after it.
  // kit: three arguments; the slides add send's fourth, flags
  if write(connectionSocket, clientSentence, MAXLINE) < 0 {
    perror("write failed")
    exit(EXIT_FAILURE)
  }
  close(connectionSocket)  // kit: "connectSocket" in the slides
}
