/* Lab 02, udp-retry client: send each line of stdin as one datagram "SEQ LINE", print
 * the server's answer, and send again what goes unanswered.
 * The handout (labs/02-udp-retry/README.md) says what to send, print and check;
 * lectures/udp-hello.md and lectures/udp-echo.md walk through the calls. Work where
 * it says TODO, then run `make grade LAB=02`. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PORT 9876
#define BUFFER_SIZE 1024
#define TRIES 5
#define TRY_MS 500

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line reaches a pipe at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT;
    const char *host = getenv("KIT_HOST") ? getenv("KIT_HOST") : "127.0.0.1";

    /* TODO 1: a UDP socket; if it fails, perror("socket failed") and exit(EXIT_FAILURE). */
    /* TODO 2: the server's address: AF_INET, port in network byte order, host through
     *         inet_pton (if it is not an address, say so on stderr and exit 1). */
    /* TODO 3: for each line of stdin (fgets), seq counting from 1: cut the newline off
     *         and make the request "<seq> <line>" (snprintf). */
    /* TODO 4: up to TRIES times: sendto the request, then wait for its answer until
     *         TRY_MS after that send: poll for what is left of the wait (a clock that
     *         only moves forward: clock_gettime(CLOCK_MONOTONIC)), then recvfrom.
     *         Only a datagram that starts with "<seq> " is the answer; any other is a
     *         late or doubled answer to an earlier datagram: ignore it and wait on,
     *         until the same deadline. */
    /* TODO 5: answered: print "FROM SERVER: <the text after "<seq> ">". No answer after
     *         TRIES tries: print "no answer after 5 tries" on stderr and exit 1. */
    /* TODO 6: at the end of stdin, close the socket and return 0. */
    (void)port;
    (void)host;
    return 0;
}
