/* tcp-connect client (the kit's own): connect, but give up after a deadline.
 * A blocking connect to a host that never answers waits while the kernel resends its
 * SYN, about two minutes on Linux. This one starts the handshake without blocking,
 * waits in poll for at most the deadline, and asks the socket how it ended.
 * It prints one line, and its exit status tells the outcome to a script. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PORT 8080       /* where the kit's TCP servers listen: start one to connect */
#define TIMEOUT_MS 2000 /* a handshake takes one round trip; a lost SYN is resent after 1 s */

/* Exit statuses: one per outcome, and sysexits.h's EX_USAGE for bad input */
enum { CONNECTED = 0, REFUSED = 1, TIMED_OUT = 2, FAILED = 3, BAD_INPUT = 64 };

/* A deadline in milliseconds, as poll takes it: digits only, from 1 to INT_MAX.
 * Returns 0 when text is anything else. */
int milliseconds(const char *text) {
    char *end;
    long ms = strtol(text, &end, 10);
    if (!isdigit((unsigned char)text[0]) || *end != '\0' || ms < 1 || ms > INT_MAX)
        return 0;
    return (int)ms;
}

int main(int argc, char *argv[]) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */
    const char *host = getenv("KIT_HOST") ? getenv("KIT_HOST") : "127.0.0.1"; /* kit */
    /* The deadline: the argument, else KIT_TIMEOUT_MS, else TIMEOUT_MS */
    const char *deadline = argc > 1 ? argv[1] : getenv("KIT_TIMEOUT_MS");
    int timeout_ms = deadline ? milliseconds(deadline) : TIMEOUT_MS;
    struct sockaddr_in server;

    if (argc > 2) {
        fprintf(stderr, "usage: tcp-connect-client [timeout-ms]\n");
        exit(BAD_INPUT);
    }
    if (timeout_ms == 0) {
        fprintf(stderr, "timeout-ms must be a whole number from 1 to %d, not '%s'\n", INT_MAX,
                deadline);
        exit(BAD_INPUT);
    }
    memset(&server, 0, sizeof(server));
    server.sin_family = AF_INET;
    server.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &server.sin_addr) != 1) {
        fprintf(stderr, "not an IPv4 address: %s\n", host);
        exit(BAD_INPUT);
    }

    int sock = socket(AF_INET, SOCK_STREAM, 0);
    if (sock < 0) {
        perror("socket failed");
        exit(FAILED);
    }
    /* Non-blocking: connect sends the SYN and returns; the wait is then ours to bound */
    int flags = fcntl(sock, F_GETFL);
    if (flags < 0 || fcntl(sock, F_SETFL, flags | O_NONBLOCK) < 0) {
        perror("fcntl failed");
        exit(FAILED);
    }

    int error = 0;
    if (connect(sock, (struct sockaddr *)&server, sizeof(server)) < 0)
        error = errno; /* EINPROGRESS: the handshake has begun; anything else: it failed */
    if (error == EINPROGRESS) {
        /* The socket turns writable when the handshake ends, whichever way it ends */
        struct pollfd entry = {.fd = sock, .events = POLLOUT};
        int ready = poll(&entry, 1, timeout_ms);
        if (ready < 0) {
            perror("poll failed");
            exit(FAILED);
        }
        if (ready == 0) { /* closing the socket abandons the handshake */
            printf("timed out connecting to %s:%d after %d ms\n", host, port, timeout_ms);
            close(sock);
            return TIMED_OUT;
        }
        /* SO_ERROR: 0 if it connected, else the errno a blocking connect would have set */
        socklen_t length = sizeof(error);
        if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &error, &length) < 0) {
            perror("getsockopt failed");
            exit(FAILED);
        }
    }
    close(sock);

    if (error == 0) {
        printf("connected to %s:%d\n", host, port);
        return CONNECTED;
    }
    if (error == ECONNREFUSED) { /* the host answered: nothing listens on that port */
        printf("refused by %s:%d\n", host, port);
        return REFUSED;
    }
    printf("cannot connect to %s:%d: %s\n", host, port, strerror(error));
    return FAILED;
}
