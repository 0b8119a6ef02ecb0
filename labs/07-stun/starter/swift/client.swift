// Lab 07, stun client: ask a STUN server which address and port it sees us at.
// The handout (labs/07-stun/README.md) says what to send, check and print;
// lectures/stun.md shows the message byte by byte. Work where it says TODO, then run
// `make grade LAB=07`.
#if canImport(Glibc)
  @preconcurrency import Glibc
  import CShims  // getrandom: sys/random.h is not in Glibc's module map
#else
  #error("This lab calls Glibc, as the kit's swift flavor does.")
#endif

let defaultPort = "3478"
let magicCookie: UInt32 = 0x2112_A442
let firstTimeoutMs: Int32 = 500
let giveUpMs: Int32 = 10_000

setvbuf(stdout, nil, _IOLBF, 0)  // each line reaches a pipe at once
let arguments = CommandLine.arguments
guard (2...3).contains(arguments.count) else {
  fputs("usage: stun-client HOST [PORT]\n", stderr)
  exit(64)
}
let host = arguments[1]
let port = arguments.count == 3 ? arguments[2] : defaultPort

// TODO 1: resolve host and port with getaddrinfo (AF_INET, SOCK_DGRAM); an unknown
//         host: its gai_strerror on stderr, exit 1. Open a UDP socket.
// TODO 2: the 20-byte request: type 0x0001, length 0, magicCookie, 12 random bytes
//         (getrandom), each number in network byte order ([UInt8] is simplest).
// TODO 3: send it; wait with poll until the timeout (500 ms, then doubling) runs out,
//         measured on CLOCK_MONOTONIC; then send the same bytes again. After giveUpMs
//         from the first send: stderr, exit 1.
// TODO 4: a datagram arrived: not your transaction id? ignore it, wait on. Yours:
//         check it whole (size, cookie, length field, type 0x0101, every attribute
//         inside), find XOR-MAPPED-ADDRESS (0x0020), undo the XOR, print
//         "XOR-MAPPED-ADDRESS a.b.c.d:port" and exit 0. Malformed: stderr, exit 1.
_ = (host, port, magicCookie, firstTimeoutMs, giveUpMs)
