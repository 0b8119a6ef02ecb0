/* Lab 05, event-loop server: the echo server with one thread for every client, which
 * waits in poll (or epoll_wait) for whichever socket is ready. The handout
 * (labs/05-event-loop/README.md) gives the protocol and what the grader checks;
 * lectures/tcp-echo.md walks through the kit's poll and epoll servers. Work where it
 * says TODO, then run `make grade LAB=05`. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PORT 8080
#define MAX_CLIENTS 4096         /* the grader connects 500 at once */
#define BUFFER_CAP (1024 * 1024) /* the most echo you keep for one client */

/* A client, as the loop needs to know it (a suggestion: shape it as you like). */
struct client {
    int fd;
    char *owed;       /* echo that send did not take yet, oldest first */
    size_t owed_len;
    int eof;          /* recv returned 0: it sends no more, but still reads */
};

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line reaches a pipe at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT;

    /* TODO 1: the listening socket as in lab 01 (socket, SO_REUSEADDR, bind to
     *         INADDR_ANY and port), but listen(fd, SOMAXCONN): 500 clients connect at
     *         once. Make it non-blocking (fcntl, O_NONBLOCK); print
     *         "Listening on port <port>". Every failure: perror, exit(EXIT_FAILURE). */
    /* TODO 2: an array of struct pollfd: the listener first, then one per client. */
    /* TODO 3: loop forever: poll(fds, nfds, -1), the only call that may wait. Then
     *         - listener readable: accept until EAGAIN; make each new socket
     *           non-blocking and watch it for POLLIN;
     *         - client readable: one recv. 0 means end of stream (see TODO 4). Bytes:
     *           if nothing is owed, send them at once; keep what send does not take
     *           (all of it if something is owed already, to keep the order);
     *         - client writable: send what is owed, from the oldest byte.
     *         Ask for POLLOUT only while something is owed (a socket is writable
     *         almost always: asking always is a busy loop), and stop asking for
     *         POLLIN while BUFFER_CAP bytes are owed. */
    /* TODO 4: end of stream is a half-close: send everything still owed, then close.
     *         recv or send failing (ECONNRESET, EPIPE: use MSG_NOSIGNAL) closes that
     *         client only. Closing a client removes it from the array. */
    (void)port;
    return 0;
}
