/* tcp-echo epoll server: the echo server of lecture document 002 as one event loop
 * over Linux's epoll (the chapter's "Non-blocking I/O"), in the kit's own hand. One
 * thread serves every client; it prints what server.c prints. Descriptors: 3
 * standard ones, the epoll instance, the listener, one per client, up to the
 * RLIMIT_NOFILE soft limit. KIT_REUSEPORT=1 sets SO_REUSEPORT, so that several of
 * them can share a port (lectures/production.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define PORT 8080
#define READ_SIZE (256 * 1024)    /* one recv: big reads make bulk echo cheap */
#define BUFFER_CAP (1024 * 1024)  /* the most echo one client may owe us */
#define MAX_FDS 65536             /* the table's size if RLIMIT_NOFILE allows more */
#define MAX_EVENTS 256            /* ready descriptors taken per epoll_wait */

/* A client: the echo it has not taken yet is buf[start..end). */
struct conn {
    int open;
    int eof;          /* it has shut down its sending side: read no more */
    char *buf;        /* malloc'd (BUFFER_CAP) at the first short send, kept till close */
    size_t start, end;
    uint32_t events;  /* what the epoll instance watches for it now */
};

static int epfd;             /* the epoll instance: the kernel keeps the watch list */
static int listener;         /* the listening socket */
static int accepting = 1;    /* 0 while accept has run out of descriptors */
static struct conn *conns;   /* indexed by descriptor, max_fds of them */
static int max_fds;
static char readbuf[READ_SIZE];

/* O_NONBLOCK: recv, send and accept return EAGAIN instead of waiting */
int set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Tell the kernel what to watch fd for: op is EPOLL_CTL_ADD or EPOLL_CTL_MOD */
int watch_for(int op, int fd, uint32_t events) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.fd = fd;
    return epoll_ctl(epfd, op, fd, &ev);
}

void drop(int fd) {
    struct conn *c = &conns[fd];
    free(c->buf);
    memset(c, 0, sizeof(*c));
    /* Closing also takes it off the epoll list (no other descriptor shares it) */
    if (close(fd) < 0)
        perror("close failed");
    if (!accepting) { /* a descriptor is free again: watch the listener again */
        if (watch_for(EPOLL_CTL_MOD, listener, EPOLLIN) < 0)
            perror("epoll_ctl failed");
        accepting = 1;
    }
}

/* A reset or vanished peer is routine for a server; other errors are news. */
void fail(int fd, const char *call) {
    if (errno != ECONNRESET && errno != EPIPE)
        perror(call);
    drop(fd);
}

/* Watch for input while there is room to keep its echo, for output while some is
 * owed: EPOLLOUT only then, or epoll_wait would return at once, forever. The watch
 * list lives in the kernel, so a change costs a call: make it only on a change. */
void watch(int fd) {
    struct conn *c = &conns[fd];
    uint32_t events = 0;
    if (!c->eof && c->end - c->start < BUFFER_CAP)
        events |= EPOLLIN;
    if (c->end > c->start)
        events |= EPOLLOUT;
    if (events == c->events)
        return;
    if (watch_for(EPOLL_CTL_MOD, fd, events) < 0) {
        fail(fd, "epoll_ctl failed");
        return;
    }
    c->events = events;
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

/* Readable: one recv (level-triggered, epoll says again if more is waiting). */
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
        else
            watch(fd);
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
        return;
    }
    watch(fd);
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
        if (c->eof) { /* all echoed after its FIN: done */
            drop(fd);
            return;
        }
    }
    watch(fd);
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
                 * leaves, or level-triggered epoll would report it again at once. */
                perror("accept failed");
                if (watch_for(EPOLL_CTL_MOD, listener, 0) < 0)
                    perror("epoll_ctl failed");
                accepting = 0;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                perror("accept failed");
            }
            return;
        }
        if (fd >= max_fds) {
            fprintf(stderr, "refused a client: descriptor %d is past the table (%d)\n", fd,
                    max_fds);
            discard(fd);
            continue;
        }
        if (set_nonblocking(fd) < 0) {
            perror("fcntl failed");
            discard(fd);
            continue;
        }
        /* Registered once; from now on epoll_wait reports it only when it is ready */
        if (watch_for(EPOLL_CTL_ADD, fd, EPOLLIN) < 0) {
            perror("epoll_ctl failed");
            discard(fd);
            continue;
        }
        if (inet_ntop(AF_INET6, &peer.sin6_addr, ip, sizeof(ip)) == NULL)
            strcpy(ip, "?");
        printf("Connected: ('%s', %d, %u, %u)\n", ip, ntohs(peer.sin6_port),
               ntohl(peer.sin6_flowinfo), peer.sin6_scope_id);
        conns[fd].open = 1;
        conns[fd].events = EPOLLIN;
    }
}

int main(void) {
    struct sockaddr_in6 address;
    struct rlimit limit;
    struct epoll_event events[MAX_EVENTS];
    int opt = 1;
    int v6only = 0; /* IPV6_V6ONLY off: IPv4 clients too */
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */
    int reuseport = getenv("KIT_REUSEPORT") && strcmp(getenv("KIT_REUSEPORT"), "1") == 0; /* kit */

    /* One table entry per descriptor this process may open */
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0) {
        perror("getrlimit failed");
        exit(EXIT_FAILURE);
    }
    max_fds = limit.rlim_cur < MAX_FDS ? (int)limit.rlim_cur : MAX_FDS;
    if ((conns = calloc((size_t)max_fds, sizeof(*conns))) == NULL) {
        perror("calloc failed");
        exit(EXIT_FAILURE);
    }

    if ((listener = socket(AF_INET6, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    if (setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }
    /* kit: with KIT_REUSEPORT=1, several of these processes may bind this one port
     * (each sets it), and the kernel spreads new connections among their listeners */
    if (reuseport && setsockopt(listener, SOL_SOCKET, SO_REUSEPORT, &opt, sizeof(opt)) < 0) {
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
    if ((epfd = epoll_create1(0)) < 0) {
        perror("epoll_create1 failed");
        exit(EXIT_FAILURE);
    }
    if (watch_for(EPOLL_CTL_ADD, listener, EPOLLIN) < 0) {
        perror("epoll_ctl failed");
        exit(EXIT_FAILURE);
    }
    printf("Listening on port %d\n", port);

    while (1) {
        /* Sleep until something is ready; only the ready descriptors come back */
        int ready = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            perror("epoll_wait failed");
            exit(EXIT_FAILURE);
        }
        int listener_ready = 0;
        for (int i = 0; i < ready; i++) {
            int fd = events[i].data.fd;
            uint32_t revents = events[i].events;
            if (fd == listener) { /* accepted after the batch: see below */
                listener_ready = 1;
                continue;
            }
            if (!conns[fd].open) /* dropped earlier in this batch */
                continue;
            /* EPOLLERR and EPOLLHUP come unasked: the recv or send says what happened */
            if (revents & (EPOLLIN | EPOLLERR | EPOLLHUP) && conns[fd].events & EPOLLIN)
                on_readable(fd);
            if (conns[fd].open && revents & (EPOLLOUT | EPOLLERR | EPOLLHUP) &&
                conns[fd].end > conns[fd].start)
                on_writable(fd);
        }
        /* Last, so a descriptor closed above and reused by accept cannot receive an
         * event of this batch that was meant for the client it belonged to before */
        if (listener_ready)
            accept_clients();
    }
}
