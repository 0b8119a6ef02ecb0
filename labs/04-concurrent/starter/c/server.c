/* Lab 04, concurrent: tcp-capitalize's server for many clients at once.
 * The handout (labs/04-concurrent/README.md) gives the protocol and what the grader
 * checks; lectures/tcp-capitalize.md shows an iterative, a fork and a thread server.
 * The listening socket is done. Work where it says TODO, then `make grade LAB=04`. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#define PORT 6789
#define BACKLOG 64
#define MAXLINE 1024

/* One client, until it closes. */
void serve(int fd) {
    /* TODO 2: recv in a loop until it returns 0 (the client closed) or fails (it
     *         reset). A recv returns whatever has arrived, half a line or two lines:
     *         keep the bytes until their '\n' comes, then send that line back, letters
     *         upper-cased (toupper), all of it (send may take fewer bytes than asked;
     *         MSG_NOSIGNAL keeps a reset client from raising SIGPIPE). */
    (void)fd;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line reaches a pipe at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT;

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    int opt = 1;
    if (setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(port);
    if (bind(listener, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    if (listen(listener, BACKLOG) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }

    /* TODO 1: accept clients for ever, and serve each while the others wait in recv
     *         of their own: fork a child per client (the child closes the listening
     *         socket, serves, exits; the parent closes the client's socket at once),
     *         or start a thread per client (pthread_create, then pthread_detach).
     * TODO 3: leave nothing behind. A fork server reaps each child as it exits
     *         (SIGCHLD); a thread closes its client's socket on every way out, and an
     *         error ends only its own client: exit() would end them all. */
    close(listener);
    return 0;
}
