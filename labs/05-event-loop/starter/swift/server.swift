// Lab 05, event-loop server in Swift over Glibc: the echo server with one thread for
// every client, which waits in poll (or epoll_wait) for whichever socket is ready. The
// handout (labs/05-event-loop/README.md) gives the protocol and what the grader checks;
// lectures/tcp-echo.md excerpts the kit's poll and epoll servers, C next to Swift, and
// lectures/listings/tcp-echo.md has them whole. Work where it says TODO, then run
// `make grade LAB=05`.
#if canImport(Glibc)
  @preconcurrency import Glibc
  import CShims  // epoll_create1, epoll_ctl, epoll_wait, epoll_event, if you choose epoll
#else
  #error("This lab calls Glibc, as the kit's swift flavor does.")
#endif

let PORT: Int32 = 8080
let MAX_CLIENTS = 4096  // the grader connects 500 at once
let BUFFER_CAP = 1024 * 1024  // the most echo you keep for one client

// A client, as the loop needs to know it (a suggestion: shape it as you like).
struct Client {
  var fd: Int32
  var owed: [UInt8] = []  // echo that send did not take yet, oldest first
  var eof = false  // recv returned 0: it sends no more, but still reads
}

setvbuf(stdout, nil, _IOLBF, 0)  // each line reaches a pipe at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT

// TODO 1: the listening socket as in lab 01 (socket, SO_REUSEADDR, bind to INADDR_ANY
//         and UInt16(port).bigEndian), but listen(fd, SOMAXCONN): 500 clients connect
//         at once. Make it non-blocking (fcntl(fd, F_SETFL, flags | O_NONBLOCK));
//         print "Listening on port \(port)". Every failure: perror, exit(EXIT_FAILURE).
// TODO 2: an array of pollfd (pollfd(fd:events:revents:), events Int16(POLLIN)): the
//         listener first, then one per client.
// TODO 3: loop forever: poll(&fds, nfds_t(fds.count), -1), the only call that may
//         wait. Then
//         - listener readable: accept until EAGAIN; make each new socket non-blocking
//           and watch it for POLLIN;
//         - client readable: one recv. 0 means end of stream (see TODO 4). Bytes: if
//           nothing is owed, send them at once; keep what send does not take (all of
//           it if something is owed already, to keep the order);
//         - client writable: send what is owed, from the oldest byte.
//         Ask for POLLOUT only while something is owed (a socket is writable almost
//         always: asking always is a busy loop), and stop asking for POLLIN while
//         BUFFER_CAP bytes are owed.
// TODO 4: end of stream is a half-close: send everything still owed, then close. recv
//         or send failing (ECONNRESET, EPIPE: pass Int32(MSG_NOSIGNAL)) closes that
//         client only. Closing a client removes it from the array.
_ = (port, MAX_CLIENTS, BUFFER_CAP)
