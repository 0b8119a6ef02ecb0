/* Lab 01, tcp-hello server: accept one client, read its message, answer, exit.
 * The handout (labs/01-tcp-hello/README.md) says what to print and what the grader
 * checks; lectures/tcp-hello.md walks through every call. Work where it says TODO,
 * then run `make grade LAB=01`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define PORT 8080
#define BUFFER_SIZE 1024

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line reaches a pipe at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT;

    /* TODO 1: a TCP socket; if it fails, perror("socket failed") and exit(EXIT_FAILURE). */
    /* TODO 2: SO_REUSEADDR, then bind to INADDR_ANY and port (in network byte order);
     *         perror("bind failed") on failure. */
    /* TODO 3: listen with a backlog of 5 (perror("listen failed")), then print
     *         "Server listening on port <port>". */
    /* TODO 4: accept one client (perror("accept failed")); print "Client connected". */
    /* TODO 5: one recv of at most BUFFER_SIZE - 1 bytes; if it got any, end them with
     *         '\0' and print "Received: <text>". */
    /* TODO 6: send "Hello from server", print "Response sent", close both sockets. */
    (void)port;
    return 0;
}
