/* Pitfall: SIGPIPE kills a server that writes to a closed connection.
 * A client closed its socket; the server's first write still succeeds (the bytes go to
 * the kernel) and the client's kernel answers with a reset. The next write raises
 * SIGPIPE, whose default action ends the process: every other client of that server
 * loses it too. With -DFIX the server ignores
 * SIGPIPE, so the write returns EPIPE, an error it can handle for that one connection.
 * (send with MSG_NOSIGNAL does the same for one call.) */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* a pipe sees each line at once */
    struct sockaddr_in address;
    socklen_t length = sizeof(address);
    const char *reply = "HELLO\n";

#ifdef FIX
    signal(SIGPIPE, SIG_IGN); /* a write to a closed connection returns EPIPE instead */
#endif
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof(address)) < 0 ||
        listen(listener, 1) < 0 || getsockname(listener, (struct sockaddr *)&address, &length) < 0) {
        perror("server");
        return 1;
    }
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0 || connect(client, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("client: connect");
        return 1;
    }
    int connection = accept(listener, NULL, NULL);
    if (connection < 0) { perror("accept"); return 1; }
    close(client);
    printf("client: closed its socket\n");

    for (int i = 1; i <= 3; i++) {
        ssize_t n = write(connection, reply, strlen(reply));
        if (n < 0)
            printf("server: write %d failed: %s\n", i, strerror(errno));
        else
            printf("server: write %d sent %zd bytes\n", i, n);
        if (i == 1) { /* wait (at most 5 s) for the client's reset to arrive */
            struct pollfd reset = {.fd = connection, .events = 0};
            if (poll(&reset, 1, 5000) != 1) { fprintf(stderr, "no reset in 5 s\n"); return 1; }
        }
    }
    close(connection);
    printf("server: still running, ready for its next client\n");
    close(listener);
    return 0;
}
