// tcp-capitalize thread server, line by line over Glibc: the twin of
// CSources/tcp-capitalize/thread-server.c. Accept, start a detached thread; the thread
// serves the connection exactly as server.swift does; main accepts the next client.
//
// Threads, not fork, are how Swift serves clients concurrently: Darwin's Swift refuses
// fork() outright, and forking a process that has threads (a runtime, Foundation, an
// async executor) leaves the child with locks that no thread will ever release.
// pthread_create rather than Foundation's Thread keeps the calls those of the C file.
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

// One thread per connection. An error here ends this connection, not the server:
// exit() would end every thread of the process.
func serve(_ arg: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
  let connectionSocket = arg!.load(as: Int32.self)
  var clientSentence = [CChar](repeating: 0, count: MAXLINE)
  free(arg)

  if read(connectionSocket, &clientSentence, MAXLINE) < 0 {
    perror("read failed")
    close(connectionSocket)
    return nil
  }
  clientSentence[MAXLINE - 1] = 0
  capitalize(&clientSentence)
  if write(connectionSocket, clientSentence, MAXLINE) < 0 {
    perror("write failed")
  }
  close(connectionSocket)
  return nil
}

var connectionSocket: Int32
var sin = sockaddr_in()
var opt: Int32 = 1
var sa = sigaction()
var tid = pthread_t()
var fdp: UnsafeMutableRawPointer?
var rc: Int32
setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : 6789  // kit

// Writing to a client that has reset the connection raises SIGPIPE, whose default
// action kills the whole process. Ignored, write fails with EPIPE instead.
memset(&sa, 0, MemoryLayout<sigaction>.size)
sa.__sigaction_handler.sa_handler = SIG_IGN  // sa_handler is a macro for this union member
sigemptyset(&sa.sa_mask)
sa.sa_flags = 0
if sigaction(SIGPIPE, &sa, nil) < 0 {
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
    perror("accept failed")
    exit(EXIT_FAILURE)
  }

  // Each thread gets its own copy of the descriptor. Passing &connectionSocket
  // would race: the next accept may overwrite it before the thread reads it.
  fdp = malloc(MemoryLayout<Int32>.size)
  if fdp == nil {
    perror("malloc failed")
    close(connectionSocket)
    continue
  }
  fdp!.storeBytes(of: connectionSocket, as: Int32.self)

  // pthread functions return the error number instead of setting errno
  rc = pthread_create(&tid, nil, serve, fdp)
  if rc != 0 {
    errno = rc
    perror("pthread_create failed")
    free(fdp)
    close(connectionSocket)
    continue
  }
  // Detached: its resources go back to the system when it ends, no join needed
  rc = pthread_detach(tid)
  if rc != 0 {
    errno = rc
    perror("pthread_detach failed")
  }
}
