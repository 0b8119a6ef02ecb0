// Lab 06, http: a static HTTP/1.0 server for the files of one folder, in Swift over
// Glibc.
//   server DIR        (KIT_PORT sets the port, 8080 without it)
// The handout (labs/06-http/README.md) gives the protocol and what the grader checks;
// lectures/http.md explains HTTP on the wire and the security rules. The socket setup
// is done; work where it says TODO, then run `make grade LAB=06`.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("This lab calls Glibc, as the kit's swift flavor does.")
#endif

let PORT: Int32 = 8080

// DIR as realpath gives it (absolute, no links): every file served is below it
nonisolated(unsafe) var root = ""

// One connection: one request, one answer, close.
func serve(_ fd: Int32) {
  // TODO 1: read the request line, at most a fixed number of bytes (8 KiB, say): a
  //         longer one gets 414 at once, unread. fdopen(fd, "r") and getc help.
  // TODO 2: METHOD TARGET VERSION, exactly two spaces, VERSION HTTP/1.0 or HTTP/1.1;
  //         anything else gets 400. Then read the header lines up to the empty one.
  // TODO 3: GET and HEAD only: any other method gets 405.
  // TODO 4: the file: decode every %XX of the target, put root in front, realpath()
  //         the result and check it is root or starts with root + "/"; a name that is
  //         missing or outside gets 404.
  // TODO 5: "HTTP/1.0 200 OK\r\n", Content-Type (by the extension), Content-Length
  //         (the size), an empty line, then the file's bytes (none for HEAD). Every
  //         write in a loop: a socket may take part of a buffer. An error gets its
  //         status line and a one-line text body.
  close(fd)
}

var address = sockaddr_in()
var st = stat()
var opt: Int32 = 1
setvbuf(stdout, nil, _IOLBF, 0)  // each line reaches a pipe at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT

if CommandLine.arguments.count != 2 {
  fputs("usage: server DIR\n", stderr)
  exit(EXIT_FAILURE)
}
guard let resolved = realpath(CommandLine.arguments[1], nil) else {
  fputs("server: \(CommandLine.arguments[1]) is not a folder\n", stderr)
  exit(EXIT_FAILURE)
}
root = String(cString: resolved)
free(resolved)
if stat(root, &st) < 0 || st.st_mode & S_IFMT != S_IFDIR {  // C's S_ISDIR
  fputs("server: \(CommandLine.arguments[1]) is not a folder\n", stderr)
  exit(EXIT_FAILURE)
}
// TODO 6: a client that hangs up while you write makes write raise SIGPIPE, and
//         SIGPIPE's default action ends the whole process: ignore it.

let listen_fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
if listen_fd < 0 {
  perror("socket failed")
  exit(EXIT_FAILURE)
}
setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &opt, socklen_t(MemoryLayout<Int32>.size))
address.sin_family = sa_family_t(AF_INET)
address.sin_addr.s_addr = in_addr_t(INADDR_ANY)
address.sin_port = UInt16(port).bigEndian
let bound = withUnsafePointer(to: &address) {
  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
    bind(listen_fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
  }
}
if bound < 0 {
  perror("bind failed")
  exit(EXIT_FAILURE)
}
if listen(listen_fd, 16) < 0 {
  perror("listen failed")
  exit(EXIT_FAILURE)
}
print("Serving \(root) on port \(port)")

while true {
  let fd = accept(listen_fd, nil, nil)
  if fd < 0 {
    perror("accept failed")
    continue
  }
  // TODO 7: a thread per connection (pthread_create, pthread_detach) and a read
  //         timeout (SO_RCVTIMEO): a client that connects and says nothing must not
  //         hold up everyone else, nor its thread forever.
  serve(fd)
}
