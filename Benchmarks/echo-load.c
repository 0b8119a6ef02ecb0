/* echo-load: the kit's load generator for the tcp-echo servers (scripts/bench).
 * One thread, one epoll loop, so it takes one core and leaves the other to the server.
 *
 *   echo-load -p PORT [-c CONNECTIONS] [-s SIZE] [-w WARMUP] [-d SECONDS] [-P PID]  round trips
 *             [-i IDLE] [-n COUNT]
 *   echo-load -p PORT -b [-r READ_SIZE] [-w WARMUP] [-d SECONDS] [-P PID]           bulk stream
 *
 * Round trips (closed loop): every connection sends SIZE bytes (64), waits until all
 * SIZE come back, checks them, sends the next message. Prints the round trips done in
 * the measured window, after WARMUP seconds (1) not counted, over SECONDS (3), or
 * until COUNT round trips have been counted if that comes first. With IDLE, that many
 * connections are opened first and stay silent the whole time (a server holding many
 * clients of which few are busy); they are closed with a reset, so that thousands of
 * closes leave no TIME_WAIT behind to use up the ephemeral ports of later runs.
 * Bulk: one connection sends a pattern as fast as the server takes it and reads the
 * echo at the same time, checking every byte; prints the bytes echoed in the window.
 * Every echoed byte is compared with what was sent: a server that drops, repeats or
 * mixes up bytes fails (exit status 1) instead of looking fast. With -P SERVER_PID it
 * also reports how busy the machine was with other work during the window (others=,
 * in cores, from /proc: all CPU time less the server's and its own), so a script can
 * tell a slow server from a busy machine, and the server's resident memory at the end
 * of the window (server_rss=, KiB, VmRSS), its connections still open. The last line
 * is key=value pairs for the script: ... rate=<per second> [others=<cores> server_rss=<KiB>]. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define MAX_SIZE 65536         /* the largest round-trip message */
#define PATTERN_SIZE 1048573   /* bulk pattern: a prime, so no read size lines up with it */
#define MAX_EVENTS 256

struct conn {
    int fd;
    uint32_t id;
    uint64_t sequence;        /* of the message in flight */
    size_t sent, received;    /* of the message in flight */
    unsigned char message[MAX_SIZE];
};

/* Other work: CPU ticks of the whole machine (user, nice, system, steal) less those of
 * the server and of this process. */
static int server_pid;
static long long busy_mark;

static long long process_ticks(const char *path) {
    char text[1024];
    unsigned long long utime = 0, stime = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    char *p = strrchr(text, ')'); /* the name may hold spaces: fields follow the last ) */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return 0;
    return (long long)(utime + stime);
}

static long long others_ticks(void) {
    unsigned long long user = 0, nice = 0, system = 0, idle, iowait, irq, softirq, steal = 0;
    char path[64];
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return 0;
    /* steal: time a virtual machine's CPU was given to another machine */
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle,
               &iowait, &irq, &softirq, &steal) != 8)
        user = nice = system = steal = 0;
    fclose(f);
    snprintf(path, sizeof(path), "/proc/%d/stat", server_pid);
    return (long long)(user + nice + system + steal) - process_ticks(path) -
           process_ticks("/proc/self/stat");
}

/* Called when the window opens (start = 1) and when it closes: the other work's
 * average over the window, in cores. */
static double others(int start, double elapsed) {
    if (server_pid <= 0)
        return -1;
    if (start) {
        busy_mark = others_ticks();
        return 0;
    }
    return (double)(others_ticks() - busy_mark) / (double)sysconf(_SC_CLK_TCK) / elapsed;
}

/* The server's VmRSS in KiB, or -1 */
static long server_rss(void) {
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", server_pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* It can come out a little below zero: /proc/stat and a process's own times are
 * counted apart, in clock ticks. */
static void print_others(double cores) {
    if (server_pid > 0)
        printf(" others=%.2f server_rss=%ld", cores < 0.005 ? 0 : cores, server_rss());
    printf("\n");
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    exit(EXIT_FAILURE);
}

static void usage(void) {
    fprintf(stderr, "usage: echo-load -p PORT [-c CONNECTIONS] [-s SIZE] [-w WARMUP] [-d SECONDS] [-P PID]\n"
                    "                 [-i IDLE] [-n COUNT]\n"
                    "       echo-load -p PORT -b [-r READ_SIZE] [-w WARMUP] [-d SECONDS] [-P PID]\n");
    exit(2);
}

/* A connected, non-blocking TCP socket to 127.0.0.1:port. Nagle off: each message
 * leaves at once, as a request would. */
static int open_connection(int port) {
    struct sockaddr_in server;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket failed");
    memset(&server, 0, sizeof(server));
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)port);
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&server, sizeof(server)) < 0)
        die("connect failed");
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
        die("setsockopt failed");
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
        die("fcntl failed");
    return fd;
}

static int epoll_add(int epfd, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* A message nobody could echo by accident: connection, sequence number, then bytes
 * that depend on both. */
static void make_message(struct conn *c, size_t size) {
    uint64_t x = ((uint64_t)c->id << 40) ^ c->sequence ^ 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c->message[i] = (unsigned char)x;
    }
    memcpy(c->message, &c->id, sizeof(c->id) < size ? sizeof(c->id) : size);
    c->sent = c->received = 0;
}

/* Send what the socket takes of the message in flight; 0, or -1 on a real error. */
static int send_some(struct conn *c, size_t size) {
    while (c->sent < size) {
        ssize_t n = send(c->fd, c->message + c->sent, size - c->sent, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        c->sent += (size_t)n;
    }
    return 0;
}

static int round_trips(int port, int connections, size_t size, double warmup, double seconds,
                       int idle, uint64_t limit) {
    struct epoll_event events[MAX_EVENTS];
    unsigned char buffer[MAX_SIZE];
    struct conn *conns = calloc((size_t)connections, sizeof(*conns));
    int *idlers = calloc((size_t)idle + 1, sizeof(*idlers));
    struct linger reset = {1, 0};
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (conns == NULL || idlers == NULL)
        die("calloc failed");
    if (epfd < 0)
        die("epoll_create1 failed");
    for (int i = 0; i < idle; i++) {
        idlers[i] = open_connection(port);
        if (setsockopt(idlers[i], SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)) < 0)
            die("setsockopt failed");
    }
    for (int i = 0; i < connections; i++) {
        conns[i].fd = open_connection(port);
        conns[i].id = (uint32_t)i;
        if (epoll_add(epfd, conns[i].fd, EPOLLIN, (uint64_t)i) < 0)
            die("epoll_ctl failed");
    }
    for (int i = 0; i < connections; i++) {
        make_message(&conns[i], size);
        if (send_some(&conns[i], size) < 0)
            die("send failed");
    }

    double start = now(), measure_from = start + warmup, end = measure_from + seconds;
    uint64_t done = 0, counted_from = 0;
    int measuring = 0;
    while (1) {
        int ready = epoll_wait(epfd, events, MAX_EVENTS, 10);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait failed");
        }
        for (int e = 0; e < ready; e++) {
            struct conn *c = &conns[events[e].data.u64];
            /* Read only what this message still lacks: a byte too many would be the
             * next message's first, and fail the check there. */
            ssize_t n = recv(c->fd, buffer, size - c->received, 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    continue;
                die("recv failed");
            }
            if (n == 0) {
                fprintf(stderr, "echo-load: the server closed connection %u\n", c->id);
                exit(EXIT_FAILURE);
            }
            if (memcmp(buffer, c->message + c->received, (size_t)n) != 0) {
                fprintf(stderr, "echo-load: connection %u, message %llu: echo differs from what was sent\n",
                        c->id, (unsigned long long)c->sequence);
                exit(EXIT_FAILURE);
            }
            c->received += (size_t)n;
            if (c->received > c->sent) {
                fprintf(stderr, "echo-load: connection %u: echo of bytes never sent\n", c->id);
                exit(EXIT_FAILURE);
            }
            if (c->sent < size && send_some(c, size) < 0) /* a message bigger than the buffer */
                die("send failed");
            if (c->received == size) {
                done++;
                c->sequence++;
                make_message(c, size);
                if (send_some(c, size) < 0)
                    die("send failed");
            }
        }
        double t = now();
        if (!measuring && t >= measure_from) {
            measuring = 1;
            counted_from = done;
            measure_from = t;
            others(1, 0);
        }
        if (t >= end || (limit > 0 && measuring && done - counted_from >= limit))
            break;
    }
    double elapsed = now() - measure_from;
    double busy = others(0, elapsed);
    uint64_t count = done - counted_from;
    printf("mode=rt connections=%d idle=%d size=%zu seconds=%.3f count=%llu rate=%.0f", connections,
           idle, size, elapsed, (unsigned long long)count, (double)count / elapsed);
    print_others(busy); /* the server's memory while every connection is still open */
    for (int i = 0; i < connections; i++)
        close(conns[i].fd);
    for (int i = 0; i < idle; i++)
        close(idlers[i]);
    return 0;
}

static int bulk(int port, size_t read_size, double warmup, double seconds) {
    struct epoll_event events[4];
    unsigned char *pattern = malloc(2 * (size_t)PATTERN_SIZE);
    unsigned char *buffer = malloc(read_size);
    uint64_t sent = 0, received = 0, counted_from = 0;
    uint64_t x = 0x2545f4914f6cdd1du;
    if (pattern == NULL || buffer == NULL)
        die("malloc failed");
    /* Twice over, so any stretch of up to PATTERN_SIZE bytes is contiguous */
    for (size_t i = 0; i < PATTERN_SIZE; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pattern[i] = pattern[i + PATTERN_SIZE] = (unsigned char)x;
    }
    if (read_size > PATTERN_SIZE)
        read_size = PATTERN_SIZE;
    int fd = open_connection(port);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1 failed");
    if (epoll_add(epfd, fd, EPOLLIN | EPOLLOUT, 0) < 0)
        die("epoll_ctl failed");

    double start = now(), measure_from = start + warmup, end = measure_from + seconds;
    int measuring = 0;
    while (1) {
        int ready = epoll_wait(epfd, events, 4, 10);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait failed");
        }
        if (ready > 0 && events[0].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
            ssize_t n = recv(fd, buffer, read_size, 0);
            if (n == 0) {
                fprintf(stderr, "echo-load: the server closed the connection\n");
                exit(EXIT_FAILURE);
            }
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                die("recv failed");
            if (n > 0) {
                if (received + (uint64_t)n > sent ||
                    memcmp(buffer, pattern + received % PATTERN_SIZE, (size_t)n) != 0) {
                    fprintf(stderr, "echo-load: echo differs from what was sent, after %llu bytes\n",
                            (unsigned long long)received);
                    exit(EXIT_FAILURE);
                }
                received += (uint64_t)n;
            }
        }
        if (ready > 0 && events[0].events & EPOLLOUT) {
            ssize_t n = send(fd, pattern + sent % PATTERN_SIZE, read_size, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                die("send failed");
            if (n > 0)
                sent += (uint64_t)n;
        }
        double t = now();
        if (!measuring && t >= measure_from) {
            measuring = 1;
            counted_from = received;
            measure_from = t;
            others(1, 0);
        }
        if (t >= end)
            break;
    }
    double elapsed = now() - measure_from;
    double busy = others(0, elapsed);
    uint64_t bytes = received - counted_from;
    close(fd);
    printf("mode=bulk read_size=%zu seconds=%.3f bytes=%llu rate=%.0f", read_size, elapsed,
           (unsigned long long)bytes, (double)bytes / elapsed);
    print_others(busy);
    return 0;
}

int main(int argc, char **argv) {
    int port = 0, connections = 1, is_bulk = 0, idle = 0, opt;
    long long limit = 0;
    size_t size = 64, read_size = 256 * 1024;
    double warmup = 1, seconds = 3;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt(argc, argv, "p:c:s:w:d:br:P:i:n:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'c': connections = atoi(optarg); break;
        case 's': size = (size_t)atol(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'd': seconds = atof(optarg); break;
        case 'b': is_bulk = 1; break;
        case 'r': read_size = (size_t)atol(optarg); break;
        case 'P': server_pid = atoi(optarg); break;
        case 'i': idle = atoi(optarg); break;
        case 'n': limit = atoll(optarg); break;
        default: usage();
        }
    }
    if (optind != argc || port <= 0 || port > 65535 || connections < 1 || size < 1 ||
        size > MAX_SIZE || read_size < 1 || warmup < 0 || seconds <= 0 || idle < 0 || limit < 0)
        usage();
    return is_bulk ? bulk(port, read_size, warmup, seconds)
                   : round_trips(port, connections, size, warmup, seconds, idle, (uint64_t)limit);
}
