/* chat server (lecture document 002, chapter 14): the chapter's asyncio chat server,
 * written in C by the kit. Every client that connects joins the room; whatever one
 * client sends is relayed, chunk by chunk as it arrives, to every other client; a
 * client that leaves or fails is removed and its socket closed. One thread serves
 * them all: a poll() loop over non-blocking sockets, with an output buffer per client
 * so that one client that does not read holds up nobody else. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "queue.h"

#define PORT 8080
#define BACKLOG 100           /* asyncio.start_server's default backlog */
#define MAX_PENDING (1 << 20) /* bytes waiting for one client before it is dropped */

/* O_NONBLOCK: recv, send and accept return EAGAIN instead of waiting */
static int set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int main(void) {
    int listener, fd, opt = 1, paused = 0, timeout;
    int v6only = 0; /* IPV6_V6ONLY off: IPv4 clients too */
    struct sockaddr_in6 addr;
    socklen_t addrlen;
    struct client *clients;
    struct pollfd *fds; /* fds[0] the listener, fds[i + 1] clients[i] */
    size_t nclients = 0, capacity, n, i, j, kept;
    char buffer[CHUNK];
    char ip[INET6_ADDRSTRLEN];
    ssize_t got;
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */

    if ((listener = socket(AF_INET6, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    /* asyncio sets SO_REUSEADDR on Unix: a restarted server binds at once */
    if (setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }
    /* Dual-stack: one socket for IPv6 and IPv4 clients, an IPv4 one showing as a mapped
     * address (::ffff:127.0.0.1). Linux's default, not every system's: say it */
    if (setsockopt(listener, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }
    memset(&addr, 0, sizeof(addr));
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_any; /* ::, IPv6 and IPv4 */
    addr.sin6_port = htons(port);
    if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    if (listen(listener, BACKLOG) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }
    /* Non-blocking too: a client that resets between poll and accept leaves nothing to
     * accept, and a blocking accept would stop the whole room until the next one */
    if (set_nonblocking(listener) < 0) {
        perror("fcntl failed");
        exit(EXIT_FAILURE);
    }
    capacity = 16; /* grown by doubling as clients arrive */
    clients = malloc(capacity * sizeof(*clients));
    fds = malloc((capacity + 1) * sizeof(*fds));
    if (clients == NULL || fds == NULL) {
        perror("malloc failed");
        exit(EXIT_FAILURE);
    }
    printf("Chat server on port %d\n", port);

    for (;;) {
        /* What to wait for: a new client, and for each client its next chunk, and room
         * in its socket if bytes are waiting for it. Nothing else wakes the loop. */
        fds[0].fd = listener;
        fds[0].events = POLLIN;
        timeout = -1;
        if (paused) { /* out of descriptors: leave new clients queued for a second */
            fds[0].events = 0;
            timeout = 1000;
            paused = 0;
        }
        for (i = 0; i < nclients; i++) {
            fds[i + 1].fd = clients[i].fd;
            fds[i + 1].events = POLLIN;
            if (clients[i].start < clients[i].len)
                fds[i + 1].events |= POLLOUT;
        }
        if (poll(fds, nclients + 1, timeout) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll failed");
            exit(EXIT_FAILURE);
        }

        n = nclients;
        for (i = 0; i < n; i++) {
            struct client *c = &clients[i];
            short ready = fds[i + 1].revents;
            if (c->gone) /* dropped while relaying earlier in this pass */
                continue;
            if ((ready & POLLOUT) && flush(c) < 0) {
                c->gone = 1;
                continue;
            }
            if (!(ready & (POLLIN | POLLHUP | POLLERR)))
                continue;
            /* One read per wake-up, up to CHUNK bytes: whatever has arrived */
            got = recv(c->fd, buffer, sizeof(buffer), 0);
            if (got < 0) {
                if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                    continue;
                fprintf(stderr, "%s: recv failed: %s\n", c->name, strerror(errno));
                c->gone = 1;
            } else if (got == 0) {
                /* It left. What it is still owed goes out in one last try; flush
                 * reports its own errors and the socket is closed either way. */
                (void)flush(c);
                c->gone = 1;
            } else {
                /* Broadcast: the chunk, as it came, to everyone but its sender */
                for (j = 0; j < n; j++) {
                    if (j == i || clients[j].gone)
                        continue;
                    /* A client that does not read is not waited for: its bytes
                     * pile up in its buffer, up to a limit, and then it goes */
                    if (clients[j].len - clients[j].start + (size_t)got > MAX_PENDING) {
                        fprintf(stderr, "%s: dropped: it does not read (over %d bytes waiting)\n",
                                clients[j].name, MAX_PENDING);
                        clients[j].gone = 1;
                    } else if (queue(&clients[j], buffer, (size_t)got) < 0) {
                        fprintf(stderr, "%s: dropped: out of memory\n", clients[j].name);
                        clients[j].gone = 1;
                    }
                }
            }
        }

        /* Remove who left: close, free, and close the gap in the array */
        kept = 0;
        for (i = 0; i < nclients; i++) {
            if (!clients[i].gone) {
                clients[kept++] = clients[i];
                continue;
            }
            if (close(clients[i].fd) < 0)
                perror("close failed");
            free(clients[i].out);
        }
        nclients = kept;

        if (!(fds[0].revents & POLLIN))
            continue;
        /* A new client: one accept per wake-up; poll reports the next one */
        addrlen = sizeof(addr);
        if ((fd = accept(listener, (struct sockaddr *)&addr, &addrlen)) < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK ||
                errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                perror("accept failed");
                paused = 1;
                continue;
            }
            perror("accept failed");
            exit(EXIT_FAILURE);
        }
        if (set_nonblocking(fd) < 0) {
            perror("fcntl failed");
            if (close(fd) < 0)
                perror("close failed");
            continue;
        }
        if (nclients == capacity) { /* grow both arrays together */
            size_t more = 2 * capacity;
            struct client *bigger = realloc(clients, more * sizeof(*clients));
            struct pollfd *morefds;
            if (bigger != NULL)
                clients = bigger;
            morefds = bigger ? realloc(fds, (more + 1) * sizeof(*fds)) : NULL;
            if (morefds == NULL) {
                fputs("out of memory: a client is turned away\n", stderr);
                if (close(fd) < 0)
                    perror("close failed");
                continue;
            }
            fds = morefds;
            capacity = more;
        }
        memset(&clients[nclients], 0, sizeof(clients[nclients]));
        clients[nclients].fd = fd;
        if (inet_ntop(AF_INET6, &addr.sin6_addr, ip, sizeof(ip)) == NULL)
            strcpy(ip, "?");
        snprintf(clients[nclients].name, sizeof(clients[nclients].name), "[%s]:%d", ip,
                 ntohs(addr.sin6_port));
        nclients++;
    }
}
