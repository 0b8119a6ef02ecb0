/* tcp-echo io_uring server: the echo server of lecture document 002 as one loop over
 * Linux's io_uring, in the kit's own hand. epoll says "this socket is ready, now
 * call recv"; io_uring takes the recv itself and says "done, here are the bytes".
 * The program puts requests on a submission queue (SQ), one io_uring_enter call
 * hands the kernel all of them and waits, and results come back on a completion
 * queue (CQ), each tagged with the user_data its request carried. It prints what
 * server.c prints. Descriptors: 3 standard ones, the ring, the listener, one per
 * client, up to the RLIMIT_NOFILE soft limit. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define PORT 8080
#define BUFFER_CAP (1024 * 1024)  /* the most echo one client may owe us */
#define MAX_FDS 65536             /* the table's size if RLIMIT_NOFILE allows more */
#define RING_ENTRIES 1024         /* SQ slots (the CQ gets twice as many) */
#define BUF_COUNT 256             /* provided buffers: a power of two, as the ring needs */
#define BUF_SIZE (16 * 1024)      /* one recv fills at most one of them */
#define BGID 0                    /* the buffer group the recvs select from */

/* What a completion is for: the low two bits of its user_data, the descriptor above */
enum { ACCEPT, RECV, SEND };

/* A client: the echo it has not taken yet is buf[start..end). */
struct conn {
    int open;
    int eof;          /* it has shut down its sending side: read no more */
    int closing;      /* failed: close it once the kernel has finished with it */
    int recving;      /* a recv is in flight: the kernel will fill a provided buffer */
    size_t sending;   /* a send of buf[start..start+sending) is in flight: hands off */
    char *buf;        /* malloc'd (BUFFER_CAP) at its first bytes, kept till close */
    size_t start, end;
};

static struct io_uring ring;
static struct io_uring_buf_ring *buf_ring; /* shared with the kernel: free buffers */
static char *bufs;                         /* the BUF_COUNT buffers it points to */
static int listener;
static int accepting = 1;  /* 0 while accept has run out of descriptors */
static struct conn *conns; /* indexed by descriptor, max_fds of them */
static int max_fds;

void report(const char *call, int res) {
    errno = -res; /* io_uring returns -errno in the completion, errno is untouched */
    perror(call);
}

/* A free SQ slot. When all are taken, hand the queued requests to the kernel first. */
struct io_uring_sqe *get_sqe(void) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (sqe == NULL) {
        io_uring_submit(&ring);
        sqe = io_uring_get_sqe(&ring);
    }
    if (sqe == NULL) {
        fprintf(stderr, "no free submission queue entry\n");
        exit(EXIT_FAILURE);
    }
    return sqe;
}

/* One request that keeps accepting: a completion per client, flagged
 * IORING_CQE_F_MORE while it stays armed. */
void arm_accept(void) {
    struct io_uring_sqe *sqe = get_sqe();
    io_uring_prep_multishot_accept(sqe, listener, NULL, NULL, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)listener << 2 | ACCEPT);
}

/* No buffer of ours: the kernel picks a free one from group BGID when bytes arrive,
 * so an idle client holds no buffer. One recv at a time, and only while there is
 * room for what it may bring: that is the cap on what one client makes us keep. */
void arm_recv(int fd) {
    struct io_uring_sqe *sqe = get_sqe();
    io_uring_prep_recv(sqe, fd, NULL, BUF_SIZE, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    io_uring_sqe_set_data64(sqe, (uint64_t)fd << 2 | RECV);
    conns[fd].recving = 1;
}

/* Send all that is owed. Until it completes, the kernel reads buf[start..end): new
 * bytes may go after end, but nothing there may move. */
void arm_send(int fd) {
    struct conn *c = &conns[fd];
    struct io_uring_sqe *sqe = get_sqe();
    c->sending = c->end - c->start;
    io_uring_prep_send(sqe, fd, c->buf + c->start, c->sending, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, (uint64_t)fd << 2 | SEND);
}

/* Give a provided buffer back to the kernel for the next recv of any client */
void recycle(int bid) {
    io_uring_buf_ring_add(buf_ring, bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, bid,
                          io_uring_buf_ring_mask(BUF_COUNT), 0);
    io_uring_buf_ring_advance(buf_ring, 1);
}

void drop(int fd) {
    struct conn *c = &conns[fd];
    free(c->buf);
    memset(c, 0, sizeof(*c));
    if (close(fd) < 0)
        perror("close failed");
    if (!accepting) { /* a descriptor is free again: accept again */
        arm_accept();
        accepting = 1;
    }
}

/* Close a failed client. Closing its descriptor would not end a request still in
 * flight (the request holds the socket), and its completion could later be taken for
 * a new client given the same number: shut it down instead, which ends them, and
 * close it when the last has completed (in serve). */
void shut(int fd) {
    struct conn *c = &conns[fd];
    if (!c->recving && !c->sending) {
        drop(fd);
        return;
    }
    c->closing = 1;
    shutdown(fd, SHUT_RDWR);
}

/* A reset or vanished peer is routine for a server; other errors are news. */
void fail(int fd, const char *call, int res) {
    if (res != -ECONNRESET && res != -EPIPE)
        report(call, res);
    shut(fd);
}

/* After every completion of a client: send what is owed, read while there is room
 * to keep its echo, close when it is done. */
void serve(int fd) {
    struct conn *c = &conns[fd];
    if (c->closing || (c->eof && c->start == c->end)) {
        if (!c->recving && !c->sending)
            drop(fd);
        return;
    }
    if (!c->sending && c->end > c->start)
        arm_send(fd);
    if (c->eof || c->recving)
        return;
    if (!c->sending && c->start > 0 && c->end + BUF_SIZE > BUFFER_CAP) {
        memmove(c->buf, c->buf + c->start, c->end - c->start); /* to the front */
        c->end -= c->start;
        c->start = 0;
    }
    if (c->end + BUF_SIZE <= BUFFER_CAP)
        arm_recv(fd);
}

void on_accept(int res, uint32_t flags) {
    struct sockaddr_in peer;
    socklen_t peer_len = sizeof(peer);
    char ip[INET_ADDRSTRLEN];
    if (!(flags & IORING_CQE_F_MORE)) { /* the multishot accept has ended */
        if (res == -EMFILE || res == -ENFILE)
            accepting = 0; /* re-armed when a client leaves (drop), not spun on */
        else
            arm_accept();
    }
    if (res < 0) {
        if (res != -ECONNABORTED && res != -EINTR)
            report("accept failed", res);
        return;
    }
    int fd = res;
    if (fd >= max_fds) {
        fprintf(stderr, "refused a client: descriptor %d is past the table (%d)\n", fd,
                max_fds);
        close(fd);
        return;
    }
    /* One accept request serves many clients, so an address buffer given with it
     * would be overwritten by the next one before we read it: ask the socket. */
    if (getpeername(fd, (struct sockaddr *)&peer, &peer_len) < 0 ||
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip)) == NULL) {
        strcpy(ip, "?");
        peer.sin_port = 0;
    }
    printf("Connected: ('%s', %d)\n", ip, ntohs(peer.sin_port));
    conns[fd].open = 1;
    arm_recv(fd);
}

void on_recv(int fd, int res, uint32_t flags) {
    struct conn *c = &conns[fd];
    int bid = (int)(flags >> IORING_CQE_BUFFER_SHIFT);
    c->recving = 0;
    if (res > 0 && !c->closing) {
        if (c->buf == NULL)
            c->buf = malloc(BUFFER_CAP);
        if (c->buf == NULL) {
            perror("malloc failed");
            shut(fd); /* closes it, or marks it closing */
        } else {
            /* Copy the bytes out so the buffer goes straight back: the pool is every
             * client's, and one that reads its echo slowly must not hold any of it. */
            memcpy(c->buf + c->end, bufs + (size_t)bid * BUF_SIZE, (size_t)res);
            c->end += (size_t)res;
        }
    }
    if (flags & IORING_CQE_F_BUFFER)
        recycle(bid);
    if (!conns[fd].open) /* shut closed it above */
        return;
    if (res == 0) { /* FIN: it sends no more, but may still read its echo */
        c->eof = 1;
    } else if (res < 0 && res != -ENOBUFS && !c->closing) {
        /* (ENOBUFS: every provided buffer was taken at that moment; serve asks again) */
        fail(fd, "recv failed", res);
        return;
    }
    serve(fd);
}

void on_send(int fd, int res) {
    struct conn *c = &conns[fd];
    c->sending = 0;
    if (res < 0) {
        if (!c->closing) {
            fail(fd, "send failed", res);
            return;
        }
    } else {
        c->start += (size_t)res; /* a short send: serve sends the rest */
        if (c->start == c->end)
            c->start = c->end = 0;
    }
    serve(fd);
}

int main(void) {
    struct sockaddr_in address;
    struct rlimit limit;
    struct io_uring_buf_reg reg;
    struct io_uring_cqe *cqe;
    int opt = 1, ret;
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */

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

    if ((listener = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    if (setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(port);
    if (bind(listener, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    if (listen(listener, SOMAXCONN) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }
    /* The two queues, shared memory between this process and the kernel. One thread
     * submits (SINGLE_ISSUER), and the kernel finishes completions when that thread
     * next enters to wait (DEFER_TASKRUN) instead of interrupting it at once; kernels
     * before 6.1 refuse these flags, and get a plain ring. */
    ret = io_uring_queue_init(RING_ENTRIES, &ring,
                              IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
    if (ret == -EINVAL)
        ret = io_uring_queue_init(RING_ENTRIES, &ring, 0);
    if (ret < 0) {
        report("io_uring_queue_init failed", ret);
        exit(EXIT_FAILURE);
    }
    /* The provided buffers, resident from the start (MAP_POPULATE) so that memory
     * does not creep up as recvs take them in turn, and the page-aligned ring
     * through which we hand them to the kernel. (liburing 2.4's
     * io_uring_setup_buf_ring does these steps; 2.3 has only the register call.) */
    bufs = mmap(NULL, (size_t)BUF_COUNT * BUF_SIZE, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    buf_ring = mmap(NULL, BUF_COUNT * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (bufs == MAP_FAILED || buf_ring == MAP_FAILED) {
        perror("mmap failed");
        exit(EXIT_FAILURE);
    }
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (uint64_t)(uintptr_t)buf_ring;
    reg.ring_entries = BUF_COUNT;
    reg.bgid = BGID;
    if ((ret = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) {
        report("io_uring_register_buf_ring failed", ret);
        exit(EXIT_FAILURE);
    }
    io_uring_buf_ring_init(buf_ring);
    for (int bid = 0; bid < BUF_COUNT; bid++)
        recycle(bid);
    arm_accept();
    printf("Listening on port %d\n", port);

    while (1) {
        /* One system call: hand over every request queued since the last one, and
         * sleep until at least one has completed */
        ret = io_uring_submit_and_wait(&ring, 1);
        if (ret < 0 && ret != -EINTR && ret != -EBUSY) {
            report("io_uring_submit_and_wait failed", ret);
            exit(EXIT_FAILURE);
        }
        /* Every completion there is, read from shared memory: no system call */
        while (io_uring_peek_cqe(&ring, &cqe) == 0) {
            uint64_t data = io_uring_cqe_get_data64(cqe);
            int res = cqe->res;
            uint32_t flags = cqe->flags;
            io_uring_cqe_seen(&ring, cqe);
            int fd = (int)(data >> 2);
            switch (data & 3) {
            case ACCEPT: on_accept(res, flags); break;
            case RECV: on_recv(fd, res, flags); break;
            case SEND: on_send(fd, res); break;
            }
        }
    }
}
