/* http-server (lecture document 003, "client-server-http"): serves the files of one
 * folder to browsers, curl and the kit's http-client. HTTP/1.0 and 1.1, GET and HEAD,
 * one request per connection, each connection on its own thread. The lecture
 * describes the program and its key call, fdopen(); the code is the kit's own.
 *   http-server [DIR]     DIR defaults to lectures/http-site (from the current folder)
 * Every byte a client sends is treated as hostile: each limit below stops a client
 * from exhausting the server or reading a file outside DIR. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <netinet/in.h>
#include "request.h"

#define PORT 8080
#define LISTENQ 16
#define DEFAULT_DIR "lectures/http-site"
#define IDLE_SECONDS 5         /* longest wait for a client's next bytes */
#define REQUEST_SECONDS 10     /* longest a whole request may take to arrive */
#define LOG_FIELD 100          /* longest method or target copied into the log */
#define LINGER_SECONDS 2       /* longest we read what a client sends after our answer */
#define LINGER_BYTES (1 << 20) /* most bytes we read and discard after our answer */

static const char *reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 505: return "HTTP Version Not Supported";
    default: return "Internal Server Error";
    }
}

static const char *content_type(const char *file) {
    const char *dot = strrchr(file, '.');
    if (dot == NULL || strchr(dot, '/') != NULL) return "application/octet-stream";
    if (strcasecmp(dot, ".html") == 0) return "text/html; charset=utf-8";
    if (strcasecmp(dot, ".css") == 0) return "text/css; charset=utf-8";
    if (strcasecmp(dot, ".js") == 0) return "text/javascript; charset=utf-8";
    if (strcasecmp(dot, ".png") == 0) return "image/png";
    if (strcasecmp(dot, ".txt") == 0) return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

/* write() until all is written: a socket may take only part of a buffer at a time */
static int write_all(int fd, const char *buf, size_t len) {
    ssize_t n;
    while (len > 0) {
        if ((n = write(fd, buf, len)) < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The status line and headers into buf[size]; returns their length, or -1 if they do
 * not fit. Content-Length tells the client where the body ends; Connection: close
 * says that this connection carries no second request. */
static int format_head(char *buf, size_t size, int status, const char *type, long long length,
                       const char *extra) {
    int n = snprintf(buf, size,
                     "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %lld\r\n%s"
                     "Connection: close\r\n\r\n",
                     status, reason(status), type, length, extra);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

/* An answer without a file: a one-line text body, none for HEAD */
static void send_error(int fd, int status, int head) {
    char response[512], body[64];
    int n, len;

    n = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));
    if (n < 0 || n >= (int)sizeof(body)) return;
    len = format_head(response, sizeof(response), status, "text/plain; charset=utf-8", n,
                      status == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (len < 0 || len + n > (int)sizeof(response)) return;
    if (!head) {
        memcpy(response + len, body, (size_t)n);
        len += n;
    }
    (void)write_all(fd, response, (size_t)len); /* failing, it ends only this connection */
}

/* 200 and the file, or an error if it cannot be opened after all. Returns the status
 * sent. The headers and the start of the file share one write, so a small file goes
 * in one piece; no more bytes are sent than Content-Length announced. */
static int send_file(int fd, const struct request *rq) {
    char buffer[16384];
    struct stat st;
    long long left;
    size_t used;
    ssize_t n;
    int file, len;

    if ((file = open(rq->file, O_RDONLY)) < 0) {
        send_error(fd, 404, rq->head);
        return 404;
    }
    if (fstat(file, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(file);
        send_error(fd, 404, rq->head);
        return 404;
    }
    left = (long long)st.st_size;
    if ((len = format_head(buffer, sizeof(buffer), 200, content_type(rq->file), left, "")) < 0) {
        close(file);
        send_error(fd, 500, rq->head);
        return 500;
    }
    used = (size_t)len;
    do {
        /* Fill the buffer from the file (nothing for HEAD), then write it all */
        while (!rq->head && left > 0 && used < sizeof(buffer)) {
            n = read(file, buffer + used,
                     left < (long long)(sizeof(buffer) - used) ? (size_t)left : sizeof(buffer) - used);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                left = 0; /* the file shrank: the client sees a short body */
                break;
            }
            used += (size_t)n;
            left -= n;
        }
        if (write_all(fd, buffer, used) < 0) break;
        used = 0;
    } while (!rq->head && left > 0);
    close(file);
    return 200;
}

/* Lingering close (RFC 9112, section 9.6). After our answer a client may still be
 * sending: the rest of a request we refused, a body we ignored. Closing with its bytes
 * unread makes the kernel reset the connection, and a reset can destroy our answer
 * before the client has read it. So we end only our side (the client reads the answer,
 * then end of stream) and read and discard until the client closes too, but no more
 * than LINGER_BYTES within LINGER_SECONDS: a client that never stops sending cannot
 * hold the thread. The caller then closes. */
static void linger_before_close(int fd) {
    char discard[16384];
    struct pollfd pfd = {fd, POLLIN, 0};
    struct timespec deadline, now;
    size_t left = LINGER_BYTES;
    long wait_ms;
    ssize_t n;

    if (shutdown(fd, SHUT_WR) < 0) return; /* the client is gone already */
    if (clock_gettime(CLOCK_MONOTONIC, &deadline) < 0) return;
    deadline.tv_sec += LINGER_SECONDS;
    while (left > 0) {
        if (clock_gettime(CLOCK_MONOTONIC, &now) < 0) return;
        wait_ms = (deadline.tv_sec - now.tv_sec) * 1000 +
                  (deadline.tv_nsec - now.tv_nsec) / 1000000;
        if (wait_ms <= 0 || poll(&pfd, 1, (int)wait_ms) <= 0) return; /* time is up */
        n = read(fd, discard, left < sizeof(discard) ? left : sizeof(discard));
        if (n <= 0) return; /* the client closed (0) or reset the connection */
        left -= (size_t)n;
    }
}

/* A copy of s for the log: at most LOG_FIELD bytes, anything but printable ASCII as
 * '?', so a client cannot write terminal escape codes or fake lines into the log. */
static void printable(char *copy, const char *s) {
    size_t i;
    for (i = 0; i < LOG_FIELD && s[i] != '\0'; i++)
        copy[i] = (s[i] > ' ' && s[i] < 0x7f) ? s[i] : '?';
    copy[i] = '\0';
}

static void cannot_serve(const char *dir, const char *why) {
    fprintf(stderr, "http-server: cannot serve %s: %s\n", dir, why);
    fprintf(stderr, "usage: http-server [DIR]   (DIR defaults to %s, from the current folder:"
                    " run it in the kit's folder, or name a folder)\n", DEFAULT_DIR);
    exit(EXIT_FAILURE);
}

/* One thread per connection. An error here ends this connection, not the server:
 * exit() would end every thread of the process. Its one network call is the shutdown
 * in linger_before_close: a socket is a file descriptor, read through stdio and
 * written with write. */
static void *serve(void *arg) {
    int fd = *(int *)arg;
    struct request rq;
    struct timespec deadline;
    char method[LOG_FIELD + 1], target[LOG_FIELD + 1];
    FILE *input;
    int status;
    free(arg);

    if (clock_gettime(CLOCK_MONOTONIC, &deadline) < 0) {
        perror("clock_gettime failed");
        close(fd);
        return NULL;
    }
    deadline.tv_sec += REQUEST_SECONDS;

    /* The descriptor as a FILE * for reading only: stdio buffers what arrives and
     * getc takes it a byte at a time. Answers go straight to fd with write. */
    if ((input = fdopen(fd, "r")) == NULL) {
        perror("fdopen failed");
        close(fd);
        return NULL;
    }

    status = read_request(input, &rq, &deadline);
    if (status == 200) {
        status = send_file(fd, &rq);
    } else if (status != 0) {
        send_error(fd, status, rq.head);
    }
    if (status != 0) {
        printable(method, rq.method);
        printable(target, rq.target);
        printf("%d %s %s\n", status, method, target);
        linger_before_close(fd);
    }

    /* Closes fd too: the FILE owns the descriptor now */
    if (fclose(input) != 0) perror("fclose failed");
    return NULL;
}

int main(int argc, char *argv[]) {
    int listenfd, connfd;
    struct sockaddr_in6 sin;
    struct timeval idle = {IDLE_SECONDS, 0};
    struct sigaction sa;
    struct stat st;
    pthread_t tid;
    int opt = 1, rc;
    int v6only = 0; /* IPV6_V6ONLY off: IPv4 clients too */
    int *fdp;
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */
    const char *dir = argc > 1 ? argv[1] : DEFAULT_DIR;

    if (argc > 2) {
        fprintf(stderr, "usage: http-server [DIR]   (DIR defaults to %s)\n", DEFAULT_DIR);
        exit(EXIT_FAILURE);
    }
    if (realpath(dir, root) == NULL || stat(root, &st) < 0) {
        cannot_serve(dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        cannot_serve(dir, "not a folder");
    }

    /* A client that resets its connection makes our write raise SIGPIPE, which would
     * kill the whole server. Ignored, write fails with EPIPE instead. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) < 0) {
        perror("sigaction failed");
        exit(EXIT_FAILURE);
    }

    if ((listenfd = socket(AF_INET6, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    if (setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }
    /* Dual-stack: one socket for IPv6 and IPv4 clients, an IPv4 one showing as a mapped
     * address (::ffff:127.0.0.1). Linux's default, not every system's: say it */
    if (setsockopt(listenfd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin6_family = AF_INET6;
    sin.sin6_addr = in6addr_any; /* ::, IPv6 and IPv4 */
    sin.sin6_port = htons(port);
    if (bind(listenfd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    if (listen(listenfd, LISTENQ) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }
    printf("Serving %s on port %d\n", dir, port);

    while (1) {
        if ((connfd = accept(listenfd, NULL, NULL)) < 0) {
            /* Out of descriptors, or a client gone before accept: keep serving, and
             * give threads a moment to close some descriptors */
            rc = errno;
            perror("accept failed");
            if (rc == EMFILE || rc == ENFILE) sleep(1);
            continue;
        }

        /* A silent or slow client times out instead of holding its thread forever:
         * a read or write that waits IDLE_SECONDS fails with EAGAIN. */
        if (setsockopt(connfd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle)) < 0 ||
            setsockopt(connfd, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof(idle)) < 0) {
            perror("setsockopt failed");
            close(connfd);
            continue;
        }

        /* Each thread gets its own copy of the descriptor, not &connfd, which the next
         * accept overwrites */
        if ((fdp = malloc(sizeof(int))) == NULL) {
            perror("malloc failed");
            close(connfd);
            continue;
        }
        *fdp = connfd;
        /* pthread functions return the error number instead of setting errno */
        if ((rc = pthread_create(&tid, NULL, serve, fdp)) != 0) {
            errno = rc;
            perror("pthread_create failed");
            free(fdp);
            close(connfd);
            continue;
        }
        if ((rc = pthread_detach(tid)) != 0) {
            errno = rc;
            perror("pthread_detach failed");
        }
    }
}
