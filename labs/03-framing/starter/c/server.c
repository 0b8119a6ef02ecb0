/* Lab 03, framing: a server for length-prefixed messages. Each message is a 4-byte
 * length N in network byte order (0 to 1 MiB), then N bytes; the server answers each
 * with one message framed the same way, its ASCII letters uppercased. The handout
 * (labs/03-framing/README.md) gives the protocol and says what the grader checks.
 * Work where it says TODO, then run `make grade LAB=03`. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define PORT 8080
#define MAX_LENGTH (1024 * 1024) /* 1 MiB: a longer message closes the connection */

/* TODO 1: static int recv_all(int fd, char *buf, size_t len): read exactly len bytes.
 *         recv returns what has arrived, maybe less: call it again for the rest.
 *         Return 1 once all have come, 0 if the client closed first (recv returned 0),
 *         -1 on an error (but EINTR only means: call recv again). */

/* TODO 2: static int send_all(int fd, const char *buf, size_t len): send may take fewer
 *         bytes than asked, so loop until all are sent; 0 when done, -1 on an error.
 *         Pass MSG_NOSIGNAL: a client that has gone away then makes send fail instead
 *         of ending the server with SIGPIPE. */

/* TODO 3: static void serve(int client_fd, char *message): until the client closes,
 *         - read the 4-byte length into message; ntohl gives its value;
 *         - over MAX_LENGTH: return (main closes the connection), reading no further;
 *         - read the payload into message + 4;
 *         - uppercase a-z, and nothing else (bytes 0x80 to 0xff stay as they are);
 *         - send the same 4 bytes and the payload with one send_all. */

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line reaches a pipe at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT;
    static char message[4 + MAX_LENGTH]; /* a reply: its length, then its payload */

    /* TODO 4: listen as in lab 01: socket, SO_REUSEADDR, bind to INADDR_ANY and port,
     *         listen with a backlog of 5 (perror and exit on each failure), then print
     *         "Server listening on port <port>". */
    /* TODO 5: for ever: accept a client (on EINTR or ECONNABORTED, accept again), serve
     *         it, close its socket. */
    (void)port;
    (void)message;
    return 0;
}
