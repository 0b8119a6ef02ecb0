/* tcp-keepalive server (the kit's own): notice a client whose network has vanished.
 * A peer whose machine dies or whose link goes down sends no FIN and no RST, so a
 * server waiting in recv on its silent connection waits forever. With SO_KEEPALIVE
 * the kernel probes a connection that has been idle, and fails it with ETIMEDOUT
 * when no probe is answered. One client at a time: read (and discard) until the
 * client closes or the connection fails, and say which. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define PORT 8080
#define BUFFER_SIZE 4096
/* Small, to watch it happen: a vanished client is noticed 1 + 3 * 1 = 4 s after its
 * last packet. Linux's defaults (sysctl net.ipv4.tcp_keepalive_time, _intvl, _probes)
 * are 7200 s, 75 s and 9 probes: over two hours. */
#define IDLE 1       /* seconds of silence before the first probe */
#define INTERVAL 1   /* seconds between probes */
#define COUNT 3      /* unanswered probes before the connection fails */
#define BAD_INPUT 64 /* sysexits.h's EX_USAGE */

/* A whole number from 1 to max, digits only; 0 when text is anything else. */
int number(const char *text, int max) {
    char *end;
    long value = strtol(text, &end, 10);
    if (!isdigit((unsigned char)text[0]) || *end != '\0' || value < 1 || value > max)
        return 0;
    return (int)value;
}

int main(int argc, char *argv[]) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */
    /* No arguments: the defaults; "off": no keepalive; or idle, interval and count,
     * up to Linux's limits (it refuses more with EINVAL) */
    int off = argc == 2 && strcmp(argv[1], "off") == 0;
    int idle = argc == 4 ? number(argv[1], 32767) : IDLE;
    int interval = argc == 4 ? number(argv[2], 32767) : INTERVAL;
    int count = argc == 4 ? number(argv[3], 127) : COUNT;
    struct sockaddr_in address;
    socklen_t length;
    char buffer[BUFFER_SIZE];
    char peer[INET_ADDRSTRLEN];

    if (!(argc == 1 || argc == 4 || off) || idle == 0 || interval == 0 || count == 0) {
        fprintf(stderr, "usage: tcp-keepalive-server [off | idle interval count]\n"
                        "  (idle and interval in seconds, count in probes)\n");
        exit(BAD_INPUT);
    }

    int server = socket(AF_INET, SOCK_STREAM, 0);
    if (server < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    int on = 1; /* let a restarted server bind its port at once (TIME_WAIT) */
    if (setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(port);
    if (bind(server, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    if (listen(server, 5) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }
    if (off)
        printf("listening on port %d, keepalive off\n", port);
    else
        printf("listening on port %d, keepalive: idle %d s, interval %d s, %d probes\n", port,
               idle, interval, count);

    while (1) { /* one client at a time: the next waits in the backlog */
        length = sizeof(address);
        int client = accept(server, (struct sockaddr *)&address, &length);
        if (client < 0) {
            /* A signal, or a client that gave up while queued: not the server's end */
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("accept failed");
            exit(EXIT_FAILURE);
        }
        /* The three settings, then keepalive on: from now on the kernel probes this
         * connection whenever it has been silent for idle seconds */
        if (!off &&
            (setsockopt(client, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) < 0 ||
             setsockopt(client, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval)) < 0 ||
             setsockopt(client, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count)) < 0 ||
             setsockopt(client, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0)) {
            perror("setsockopt failed");
            exit(EXIT_FAILURE);
        }
        if (inet_ntop(AF_INET, &address.sin_addr, peer, sizeof(peer)) == NULL) {
            perror("inet_ntop failed");
            exit(EXIT_FAILURE);
        }
        printf("connected: %s\n", peer);

        /* The bytes do not matter here, only how the connection ends: recv returns 0
         * when the client has closed, -1 when the connection failed. No signal handler
         * is installed, so recv is never interrupted (EINTR). */
        ssize_t n;
        while ((n = recv(client, buffer, sizeof(buffer), 0)) > 0)
            continue;
        if (n == 0)
            printf("closed by peer\n");
        else /* a reset, or ETIMEDOUT: the keepalive probes went unanswered */
            printf("lost: %s\n", strerror(errno));
        if (close(client) < 0)
            perror("close failed");
    }
}
