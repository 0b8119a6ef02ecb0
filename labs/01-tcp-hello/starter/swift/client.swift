// Lab 01, tcp-hello client in Swift over Glibc: connect, send one message, print the
// answer. The handout (labs/01-tcp-hello/README.md) says what to print and what the
// grader checks; lectures/tcp-hello.md shows every call in C and in Swift side by
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
let host = getenv("KIT_HOST").map { String(cString: $0) } ?? "127.0.0.1"

// TODO 1: a TCP socket: socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0); if it fails,
//         perror("socket failed") and exit(EXIT_FAILURE).
// TODO 2: the server's sockaddr_in: AF_INET, UInt16(port).bigEndian, and host through
//         inet_pton (perror("invalid address") if it is not one).
// TODO 3: connect (perror("connect failed")); print "Connected to server".
// TODO 4: send "Hello from client" (no newline); print "Message sent".
// TODO 5: one recv of at most BUFFER_SIZE - 1 bytes; if it got any, print
//         "Received: <text>". Close the socket.
_ = (port, host, BUFFER_SIZE)
