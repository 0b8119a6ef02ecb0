// tcp-capitalize fork server, line by line over Glibc: the twin of
// CSources/tcp-capitalize/fork-server.c. Accept, fork; the child serves the connection
// exactly as server.swift does and exits; the parent accepts the next client at once.
//
// fork() copies only the calling thread. That is safe here because this program never
// starts a thread (no Foundation, no Swift concurrency) and the child only makes plain
// C calls. In a process with other threads a lock held by one of them stays locked
// forever in the child: threads are Swift's way to serve concurrently (thread-server).
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("The swift flavor calls Glibc line by line; swift-sockets is the portable one.")
#endif

let MAXLINE = 1024
let LISTENQ: Int32 = 5

// In place, up to the '\0'
func capitalize(_ s: UnsafeMutablePointer<CChar>) {
  var s = s
  while s.pointee != 0 {
    s.pointee = CChar(truncatingIfNeeded: toupper(Int32(UInt8(bitPattern: s.pointee))))
    s += 1
  }
}

// A finished child stays a zombie until its parent waits for it. One SIGCHLD may
// stand for several children, so reap until none is left; keep errno for main.
func reap(_ signo: Int32) {
  let saved = errno
  while waitpid(-1, nil, WNOHANG) > 0 {}
  errno = saved
}

var connectionSocket: Int32
var sin = sockaddr_in()
var opt: Int32 = 1
var sa = sigaction()
var pid: pid_t
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : 6789  // kit

// No SA_RESTART: a child's exit interrupts accept, which the loop retries
memset(&sa, 0, MemoryLayout<sigaction>.size)
sa.__sigaction_handler.sa_handler = reap  // sa_handler is a macro for this union member
sigemptyset(&sa.sa_mask)
sa.sa_flags = 0
if sigaction(SIGCHLD, &sa, nil) < 0 {
  perror("sigaction failed")
  exit(EXIT_FAILURE)
}

let welcomeSocket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if welcomeSocket < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}

// As in server.swift: bind again at once though served connections sit in TIME_WAIT
if setsockopt(
  welcomeSocket, SOL_SOCKET, SO_REUSEADDR, &opt, socklen_t(MemoryLayout<Int32>.size)) < 0
{
  perror("setsockopt failed")
  exit(EXIT_FAILURE)
}

memset(&sin, 0, MemoryLayout<sockaddr_in>.size)
sin.sin_family = sa_family_t(AF_INET)
sin.sin_addr.s_addr = in_addr_t(INADDR_ANY)
sin.sin_port = UInt16(port).bigEndian

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

while true {
  connectionSocket = accept(welcomeSocket, nil, nil)
  if connectionSocket < 0 {
    if errno == EINTR {  // SIGCHLD arrived: not an error
      continue
    }
    perror("accept failed")
    exit(EXIT_FAILURE)
  }

  pid = fork()
  if pid < 0 {
    // No child: drop this client, keep serving the others
    perror("fork failed")
    close(connectionSocket)
    continue
  }

  if pid == 0 {
    // Child: only the parent accepts, so let go of the welcome socket
    var clientSentence = [CChar](repeating: 0, count: MAXLINE)
    close(welcomeSocket)
    if read(connectionSocket, &clientSentence, MAXLINE) < 0 {
      perror("read failed")
      exit(EXIT_FAILURE)
    }
    clientSentence[MAXLINE - 1] = 0
    capitalize(&clientSentence)
    if write(connectionSocket, clientSentence, MAXLINE) < 0 {
      perror("write failed")
      exit(EXIT_FAILURE)
    }
    close(connectionSocket)
    exit(EXIT_SUCCESS)
  }

  // Parent: the child has its own copy; closing ours lets the client see the
  // end of the connection when the child closes, and frees the descriptor
  close(connectionSocket)
}
