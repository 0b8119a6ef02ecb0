// Lab 02, udp-retry client in Swift over Glibc: send each line of stdin as one datagram
// "SEQ LINE", print the server's answer, and send again what goes unanswered.
// The handout (labs/02-udp-retry/README.md) says what to send, print and check;
// lectures/udp-hello.md and lectures/udp-echo.md show the calls in C and in Swift side
// by side. Work where it says TODO, then run `make grade LAB=02`.
#if canImport(Glibc)
  @preconcurrency import Glibc
#else
  #error("This lab calls Glibc, as the kit's swift flavor does.")
#endif

let PORT: Int32 = 9876
let BUFFER_SIZE = 1024
let TRIES = 5
let TRY_MS = 500

setvbuf(stdout, nil, _IOLBF, 0)  // each line reaches a pipe at once
let port = getenv("KIT_PORT") != nil ? atoi(getenv("KIT_PORT")) : PORT
let host = getenv("KIT_HOST").map { String(cString: $0) } ?? "127.0.0.1"

// TODO 1: a UDP socket: socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0); if it fails,
//         perror("socket failed") and exit(EXIT_FAILURE).
// TODO 2: the server's sockaddr_in: AF_INET, UInt16(port).bigEndian, and host through
//         inet_pton (if it is not an address, say so on stderr and exit 1).
// TODO 3: for each line of stdin (readLine() drops the newline), seq counting from 1:
//         the request is "\(seq) \(line)".
// TODO 4: up to TRIES times: sendto the request, then wait for its answer until TRY_MS
//         after that send: poll(&pollfd, 1, milliseconds left) (a clock that only
//         moves forward: clock_gettime(CLOCK_MONOTONIC, &timespec)), then recvfrom.
//         Only a datagram that starts with "\(seq) " is the answer; any other is a late
//         or doubled answer to an earlier datagram: ignore it and wait on, until the
//         same deadline.
// TODO 5: answered: print "FROM SERVER: <the text after "\(seq) ">". No answer after
//         TRIES tries: fputs("no answer after 5 tries\n", stderr) and exit(EXIT_FAILURE).
// TODO 6: at the end of stdin, close the socket.
_ = (port, host, BUFFER_SIZE, TRIES, TRY_MS)
