/* Pitfall: "Address already in use" after a restart.
 * The side that closes a TCP connection first keeps it in TIME_WAIT for a minute, so
 * that a late segment of the old connection cannot be taken for part of a new one.
 * A server closes first often, and its connections hold its port: restarted at once,
 * its bind fails. Here one program plays both runs of the server, and a client between
 * them. With -DFIX the server sets SO_REUSEADDR before bind, as servers should: bind
 * then ignores connections in TIME_WAIT (never a socket that still listens), provided
 * they too had it set: the old run's sockets count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* The server's start: socket, (SO_REUSEADDR,) bind, listen. -1 if bind failed.
 * Port 0 in *address takes a free port, written back to *address. */
int start_server(struct sockaddr_in *address) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) { perror("socket"); exit(1); }
#ifdef FIX
    int on = 1;
    if (setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0) {
        perror("setsockopt");
        exit(1);
    }
#endif
    if (bind(listener, (struct sockaddr *)address, sizeof(*address)) < 0) {
        perror("server: bind");
        close(listener);
        return -1;
    }
    socklen_t length = sizeof(*address);
    if (listen(listener, 5) < 0 || getsockname(listener, (struct sockaddr *)address, &length) < 0) {
        perror("listen");
        exit(1);
    }
    return listener;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* a pipe sees each line at once */
    /* KIT_PORT, else a free port: a run of the pitfall leaves its port in TIME_WAIT,
     * and a second run on the same port would fail even with the fix (below) */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : 0;
    struct sockaddr_in address;
    char byte;

    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);

    int listener = start_server(&address);
    if (listener < 0) return 1;
    port = ntohs(address.sin_port);
    printf("server: listening on port %d\n", port);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0 || connect(client, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("client: connect");
        return 1;
    }
    int connection = accept(listener, NULL, NULL);
    if (connection < 0) { perror("accept"); return 1; }
    close(connection); /* the server closes first: its end will wait in TIME_WAIT */
    if (recv(client, &byte, 1, 0) != 0) { /* the client sees the end of the stream */
        fprintf(stderr, "client: expected the end of the stream\n");
        return 1;
    }
    close(client);
    close(listener);
    printf("server: stopped; its side of the connection waits in TIME_WAIT\n");

    listener = start_server(&address); /* the restart */
    if (listener < 0) return 1;
    printf("server: restarted on port %d\n", port);
    close(listener);
    return 0;
}
