/* tcp-echo select server: the echo server of lecture document 002 as one event loop
 * over select() (the chapter's "Non-blocking I/O"), in the kit's own hand. One thread
 * serves every client; it prints what server.c prints. select() watches descriptors
 * below FD_SETSIZE (1024) only: 3 standard ones, the listener, and up to 1020
 * clients; a client given a higher descriptor is refused. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>

#define PORT 8080
#define READ_SIZE (256 * 1024)    /* one recv: big reads make bulk echo cheap */
#define BUFFER_CAP (1024 * 1024)  /* the most echo one client may owe us */

/* A client: the echo it has not taken yet is buf[start..end). */
struct conn {
    int open;
    int eof;          /* it has shut down its sending side: read no more */
    char *buf;        /* malloc'd (BUFFER_CAP) at the first short send, kept till close */
    size_t start, end;
};

static struct conn conns[FD_SETSIZE]; /* indexed by descriptor */
static int listener;                  /* the listening socket */
static int max_fd;                    /* the highest open client, or the listener */
static int accepting = 1;             /* 0 while accept has run out of descriptors */
static char readbuf[READ_SIZE];

/* O_NONBLOCK: recv, send and accept return EAGAIN instead of waiting */
int set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Watch for input while there is room to keep its echo */
int wants_input(const struct conn *c) {
    return !c->eof && c->end - c->start < BUFFER_CAP;
}

/* Watch for output only while echo is owed, or select would return at once, forever */
int wants_output(const struct conn *c) {
    return c->end > c->start;
}

void drop(int fd) {
    struct conn *c = &conns[fd];
    free(c->buf);
    memset(c, 0, sizeof(*c));
    if (close(fd) < 0)
        perror("close failed");
    while (max_fd > listener && !conns[max_fd].open)
        max_fd--; /* select() looks at descriptors below max_fd + 1 */
    accepting = 1; /* a descriptor is free again, if accept had run out */
}

/* A reset or vanished peer is routine for a server; other errors are news. */
void fail(int fd, const char *call) {
    if (errno != ECONNRESET && errno != EPIPE)
        perror(call);
    drop(fd);
}

/* Keep what send did not take, after what is already owed. */
int keep(struct conn *c, const char *data, size_t length) {
    if (c->buf == NULL && (c->buf = malloc(BUFFER_CAP)) == NULL)
        return -1;
    if (c->end + length > BUFFER_CAP) { /* slide the owed bytes to the front */
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    memcpy(c->buf + c->end, data, length);
    c->end += length;
    return 0;
}

/* Readable: one recv (level-triggered, select says again if more is waiting). */
void on_readable(int fd) {
    struct conn *c = &conns[fd];
    size_t owed = c->end - c->start;
    size_t room = BUFFER_CAP - owed;
    ssize_t n = recv(fd, readbuf, room < READ_SIZE ? room : READ_SIZE, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            fail(fd, "recv failed");
        return;
    }
    if (n == 0) { /* FIN: it sends no more, but may still read its echo */
        c->eof = 1;
        if (owed == 0)
            drop(fd);
        return;
    }
    ssize_t sent = 0;
    if (owed == 0) { /* nothing queued before it: try to answer at once */
        sent = send(fd, readbuf, (size_t)n, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                fail(fd, "send failed");
                return;
            }
            sent = 0;
        }
    }
    if (sent < n && keep(c, readbuf + sent, (size_t)(n - sent)) < 0) {
        perror("malloc failed");
        drop(fd);
    }
}

/* Writable, and echo is owed: send what the socket takes. */
void on_writable(int fd) {
    struct conn *c = &conns[fd];
    ssize_t sent = send(fd, c->buf + c->start, c->end - c->start, MSG_NOSIGNAL);
    if (sent < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            fail(fd, "send failed");
        return;
    }
    c->start += (size_t)sent;
    if (c->start == c->end) {
        c->start = c->end = 0;
        if (c->eof) /* all echoed after its FIN: done */
            drop(fd);
    }
}

/* Close a client that is refused before it is served */
void discard(int fd) {
    if (close(fd) < 0)
        perror("close failed");
}

/* The listener is readable: accept every client waiting, until EAGAIN. */
void accept_clients(void) {
    struct sockaddr_in6 peer;
    socklen_t peer_len;
    char ip[INET6_ADDRSTRLEN];
    int fd;
    while (1) {
        peer_len = sizeof(peer);
        if ((fd = accept(listener, (struct sockaddr *)&peer, &peer_len)) < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                /* No descriptor for it: stop watching the listener until a client
                 * leaves, or level-triggered select would report it again at once. */
                perror("accept failed");
                accepting = 0;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                perror("accept failed");
            }
            return;
        }
        /* FD_SET on a descriptor >= FD_SETSIZE would write past the fd_set */
        if (fd >= FD_SETSIZE) {
            fprintf(stderr, "refused a client: descriptor %d is not below FD_SETSIZE (%d)\n",
                    fd, FD_SETSIZE);
            discard(fd);
            continue;
        }
        if (set_nonblocking(fd) < 0) {
            perror("fcntl failed");
            discard(fd);
            continue;
        }
        if (inet_ntop(AF_INET6, &peer.sin6_addr, ip, sizeof(ip)) == NULL)
            strcpy(ip, "?");
        printf("Connected: ('%s', %d, %u, %u)\n", ip, ntohs(peer.sin6_port),
               ntohl(peer.sin6_flowinfo), peer.sin6_scope_id);
        conns[fd].open = 1;
        if (fd > max_fd)
            max_fd = fd;
    }
}

int main(void) {
    struct sockaddr_in6 address;
    fd_set readable, writable;
    int opt = 1;
    int v6only = 0; /* IPV6_V6ONLY off: IPv4 clients too */
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */

    if ((listener = socket(AF_INET6, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    if (listener >= FD_SETSIZE) {
        fprintf(stderr, "listener descriptor %d is not below FD_SETSIZE\n", listener);
        exit(EXIT_FAILURE);
    }
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
    memset(&address, 0, sizeof(address));
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_any;
    address.sin6_port = htons(port);
    if (bind(listener, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    /* A backlog of SOMAXCONN, not 5: hundreds of clients may connect at once, and the
     * loop accepts them all as soon as it wakes */
    if (listen(listener, SOMAXCONN) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }
    /* Non-blocking too: accept until EAGAIN, never waiting in accept */
    if (set_nonblocking(listener) < 0) {
        perror("fcntl failed");
        exit(EXIT_FAILURE);
    }
    printf("Listening on port %d\n", port);

    max_fd = listener;
    while (1) {
        /* select() overwrites its sets with the ready ones: build them every time,
         * a walk over every descriptor up to max_fd */
        FD_ZERO(&readable);
        FD_ZERO(&writable);
        if (accepting)
            FD_SET(listener, &readable);
        for (int fd = 0; fd <= max_fd; fd++) {
            if (!conns[fd].open)
                continue;
            if (wants_input(&conns[fd]))
                FD_SET(fd, &readable);
            if (wants_output(&conns[fd]))
                FD_SET(fd, &writable);
        }
        /* Sleep until something is ready: the only place this thread waits */
        if (select(max_fd + 1, &readable, &writable, NULL, NULL) < 0) {
            if (errno == EINTR)
                continue;
            perror("select failed");
            exit(EXIT_FAILURE);
        }
        /* A reset peer shows as readable (or writable): its recv or send says so */
        for (int fd = 0; fd <= max_fd; fd++) {
            if (conns[fd].open && FD_ISSET(fd, &readable))
                on_readable(fd);
            if (conns[fd].open && FD_ISSET(fd, &writable))
                on_writable(fd);
        }
        if (FD_ISSET(listener, &readable))
            accept_clients();
    }
}
