// Lab 01, tcp-hello server in Swift over Glibc: accept one client, read its message,
// answer, exit. The handout (labs/01-tcp-hello/README.md) says what to print and what
// the grader checks; lectures/tcp-hello.md shows every call in C and in Swift side by
// side. Work where it says TODO, then run `make grade LAB=01`.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("This lab calls Glibc, as the kit's swift flavor does.")
#endif

let PORT: Int32 = 8080
let BUFFER_SIZE = 1024

setvbuf(stdout, nil, _IOLBF, 0)  // each line reaches a pipe at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT

// TODO 1: a TCP socket: socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0); if it fails,
//         perror("socket failed") and exit(EXIT_FAILURE).
// TODO 2: SO_REUSEADDR, then bind a sockaddr_in (INADDR_ANY, UInt16(port).bigEndian);
//         perror("bind failed") on failure.
// TODO 3: listen with a backlog of 5 (perror("listen failed")), then print
//         "Server listening on port \(port)".
// TODO 4: accept one client (perror("accept failed")); print "Client connected".
// TODO 5: one recv of at most BUFFER_SIZE - 1 bytes; if it got any, print
//         "Received: <text>".
// TODO 6: send "Hello from server", print "Response sent", close both sockets.
_ = (port, BUFFER_SIZE)
