// Lab 03, framing, in Swift over Glibc: a server for length-prefixed messages. Each
// message is a 4-byte length N in network byte order (0 to 1 MiB), then N bytes; the
// server answers each with one message framed the same way, its ASCII letters
// uppercased. The handout (labs/03-framing/README.md) gives the protocol and says what
// the grader checks. Work where it says TODO, then run `make grade LAB=03`.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("This lab calls Glibc, as the kit's swift flavor does.")
#endif

let PORT: Int32 = 8080
let MAX_LENGTH = 1024 * 1024  // 1 MiB: a longer message closes the connection

// TODO 1: func recv_all(_ fd: Int32, _ buf: UnsafeMutablePointer<UInt8>, _ len: Int) -> Int
//         reads exactly len bytes. recv returns what has arrived, maybe less: call it
//         again for the rest. Return 1 once all have come, 0 if the client closed first
//         (recv returned 0), -1 on an error (but EINTR only means: call recv again).

// TODO 2: func send_all(_ fd: Int32, _ buf: UnsafePointer<UInt8>, _ len: Int) -> Int:
//         send may take fewer bytes than asked, so loop until all are sent; 0 when
//         done, -1 on an error. Pass Int32(MSG_NOSIGNAL): a client that has gone away
//         then makes send fail instead of ending the server with SIGPIPE.

// TODO 3: func serve(_ client_fd: Int32, _ message: UnsafeMutablePointer<UInt8>):
//         until the client closes,
//         - read the 4-byte length into message; UInt32(bigEndian:) of the 4 bytes
//           (UnsafeRawPointer(message).loadUnaligned(as: UInt32.self)) is ntohl;
//         - over MAX_LENGTH: return (the caller closes the connection), reading no further;
//         - read the payload into message + 4;
//         - uppercase a-z (0x61 to 0x7a), and nothing else: bytes, not text;
//         - send the same 4 bytes and the payload with one send_all.
//         (message is a parameter: Swift 6 keeps top-level variables to top-level code.)

setvbuf(stdout, nil, _IOLBF, 0)  // each line reaches a pipe at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT
// A reply: its length, then its payload
let message = UnsafeMutablePointer<UInt8>.allocate(capacity: 4 + MAX_LENGTH)

// TODO 4: listen as in lab 01: socket, SO_REUSEADDR, bind a sockaddr_in (INADDR_ANY,
//         UInt16(port).bigEndian), listen with a backlog of 5 (perror and exit on each
//         failure), then print "Server listening on port \(port)".
// TODO 5: for ever: accept a client (on EINTR or ECONNABORTED, accept again), serve it,
//         close its socket.
_ = (port, message)
