/* Lab 07, stun client: ask a STUN server which address and port it sees us at.
 * The handout (labs/07-stun/README.md) says what to send, check and print;
 * lectures/stun.md shows the message byte by byte. Work where it says TODO, then run
 * `make grade LAB=07`. */
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#define DEFAULT_PORT "3478"
#define MAGIC_COOKIE 0x2112A442
#define FIRST_TIMEOUT_MS 500
#define GIVE_UP_MS 10000

int main(int argc, char *argv[]) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line reaches a pipe at once */
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: stun-client HOST [PORT]\n");
        return 64;
    }
    const char *host = argv[1];
    const char *port = argc == 3 ? argv[2] : DEFAULT_PORT;

    /* TODO 1: resolve host and port with getaddrinfo (AF_INET, SOCK_DGRAM); an unknown
     *         host: its gai_strerror on stderr, exit 1. Open a UDP socket. */
    /* TODO 2: the 20-byte request: type 0x0001, length 0, MAGIC_COOKIE, 12 random bytes
     *         (getrandom), each number in network byte order. */
    /* TODO 3: send it; wait with poll until the timeout (500 ms, then doubling) runs
     *         out, measured on CLOCK_MONOTONIC; then send the same bytes again. After
     *         GIVE_UP_MS from the first send: stderr, exit 1. */
    /* TODO 4: a datagram arrived: not your transaction id? ignore it, wait on. Yours:
     *         check it whole (size, cookie, length field, type 0x0101, every attribute
     *         inside), find XOR-MAPPED-ADDRESS (0x0020), undo the XOR, print
     *         "XOR-MAPPED-ADDRESS a.b.c.d:port" and exit 0. Malformed: stderr, exit 1. */
    (void)host;
    (void)port;
    return 0;
}
