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

#define PORT 8080
#define LISTENQ 16
#define DEFAULT_DIR "lectures/http-site"
#define MAX_LINE 8192          /* longest request line or header line, "\r\n" included */
#define MAX_HEADERS 64         /* most header lines in one request */
#define MAX_HEADER_BYTES 16384 /* most bytes in all header lines together */
#define IDLE_SECONDS 5         /* longest wait for a client's next bytes */
#define REQUEST_SECONDS 10     /* longest a whole request may take to arrive */
#define LOG_FIELD 100          /* longest method or target copied into the log */
#define LINGER_SECONDS 2       /* longest we read what a client sends after our answer */
#define LINGER_BYTES (1 << 20) /* most bytes we read and discard after our answer */

/* What read_line returns instead of a length */
#define LINE_TOO_LONG (-1)
#define LINE_CLOSED (-2)  /* the client closed, or reading failed */
#define LINE_TIMEOUT (-3) /* IDLE_SECONDS of silence, or past the request's deadline */
#define LINE_BAD (-4)     /* a NUL byte or a lone '\r' */

/* The folder served, as realpath gives it: absolute, no symbolic links, no '/' at the
 * end. Written once before the first thread starts, only read afterwards. */
static char root[PATH_MAX];

/* One request, as read_request leaves it for the reply and the log line */
struct request {
    char line[MAX_LINE];  /* the request line, cut into method and target */
    const char *method;   /* "-" until the request line is understood */
    const char *target;
    int head;             /* HEAD: the same headers as GET, no body */
    char file[PATH_MAX];  /* for 200: the file to send */
};

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

static int past(const struct timespec *deadline) {
    struct timespec now;
    if (clock_gettime(CLOCK_MONOTONIC, &now) < 0) return 1;
    return now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* Reads one line into line[size], without its "\n" or "\r\n", and ends it with '\0'.
 * Bounded: it stores at most size - 1 bytes whatever the client sends (getline would
 * grow its buffer for as long as a client keeps sending). Returns the length or a
 * LINE_ reason. */
static long read_line(FILE *input, char *line, size_t size, const struct timespec *deadline) {
    size_t n = 0, i;
    int c;

    while ((c = getc(input)) != EOF) {
        if (past(deadline)) return LINE_TIMEOUT;
        if (c == '\n') {
            if (n > 0 && line[n - 1] == '\r') n--;
            line[n] = '\0';
            for (i = 0; i < n; i++)
                if (line[i] == '\0' || line[i] == '\r') return LINE_BAD;
            return (long)n;
        }
        if (n + 1 >= size) return LINE_TOO_LONG;
        line[n++] = (char)c;
    }
    /* SO_RCVTIMEO makes a read that waited too long fail with EAGAIN */
    if (ferror(input) && (errno == EAGAIN || errno == EWOULDBLOCK)) return LINE_TIMEOUT;
    return LINE_CLOSED;
}

/* RFC 9110's token: what a method or a header name may be made of */
static int is_token(const char *s, size_t n) {
    size_t i;
    if (n == 0) return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL)))
            return 0;
    }
    return 1;
}

static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Whether realpath's answer is the root or below it. Comparing the prefix alone would
 * let root "/srv/site" accept "/srv/site-private/key". */
static int inside_root(const char *file) {
    size_t n = strlen(root);
    return strncmp(file, root, n) == 0 &&
           (file[n] == '\0' || file[n] == '/' || root[n - 1] == '/');
}

/* The target's path as a file below the root: the query dropped, %XX decoded, then
 * resolved by realpath, which follows "..", "." and symbolic links, and accepted only
 * inside the root. Decoding first means "%2e%2e%2f" is judged as the "../" it is.
 * Returns 200 with file filled in, or the status to answer. Outside the root is 404,
 * like a missing file, so a client cannot probe which files exist elsewhere. */
static int resolve(const char *target, char *file) {
    char path[PATH_MAX];
    size_t n = strlen(root);
    const char *p;
    struct stat st;
    int hi, lo, c;

    if (target[0] != '/') return 400;
    memcpy(path, root, n);
    for (p = target; *p != '\0' && *p != '?' && *p != '#'; p++) {
        c = (unsigned char)*p;
        if (c == '%') {
            if ((hi = hex(p[1])) < 0 || (lo = hex(p[2])) < 0) return 400;
            c = hi * 16 + lo;
            p += 2;
            if (c == 0) return 400; /* a NUL would cut the name short */
        } else if (c <= ' ' || c >= 0x7f) {
            return 400;
        }
        if (n + 1 >= sizeof(path)) return 404; /* longer than any file name */
        path[n++] = (char)c;
    }
    path[n] = '\0';

    if (realpath(path, file) == NULL || !inside_root(file)) return 404;
    if (stat(file, &st) < 0) return 404;
    if (S_ISDIR(st.st_mode)) {
        /* index.html may itself be a link out of the root: resolve and check again */
        if (snprintf(path, sizeof(path), "%s/index.html", file) >= (int)sizeof(path)) return 404;
        if (realpath(path, file) == NULL || !inside_root(file)) return 404;
        if (stat(file, &st) < 0) return 404;
    }
    if (!S_ISREG(st.st_mode)) return 404;
    return 200;
}

/* Reads and checks one request. Returns the status to answer with (200: rq->file is
 * the file to send), or 0 when the client sent nothing or left mid-request: there is
 * nobody to answer. */
static int read_request(FILE *input, struct request *rq, const struct timespec *deadline) {
    char header[MAX_LINE];
    char *target, *version, *colon;
    long n;
    int c, headers = 0, hosts = 0, minor;
    size_t header_bytes = 0;

    rq->method = rq->target = "-";
    rq->head = 0;

    /* A connection that stays silent (a browser opens spares) is closed quietly */
    if ((c = getc(input)) == EOF) return 0;
    if (ungetc(c, input) == EOF) return 0;

    n = read_line(input, rq->line, sizeof(rq->line), deadline);
    if (n == LINE_TOO_LONG) return 414;
    if (n == LINE_TIMEOUT) return 408;
    if (n == LINE_BAD) return 400;
    if (n == LINE_CLOSED) return 0;

    /* METHOD SP TARGET SP HTTP/1.x, exactly one space apart */
    if ((target = strchr(rq->line, ' ')) == NULL) return 400;
    *target++ = '\0';
    if ((version = strchr(target, ' ')) == NULL) return 400;
    *version++ = '\0';
    if (!is_token(rq->line, strlen(rq->line)) || target[0] == '\0') return 400;
    rq->method = rq->line;
    rq->target = target;
    rq->head = strcmp(rq->method, "HEAD") == 0;
    if (strcmp(version, "HTTP/1.0") == 0 || strcmp(version, "HTTP/1.1") == 0) {
        minor = version[7] - '0';
    } else if (strlen(version) == 8 && strncmp(version, "HTTP/", 5) == 0 &&
               version[5] >= '0' && version[5] <= '9' && version[6] == '.' &&
               version[7] >= '0' && version[7] <= '9') {
        return 505;
    } else {
        return 400;
    }

    /* Header lines up to the empty line. Only Host matters here, but all are read so
     * that the request has been taken in whole before the answer. */
    while ((n = read_line(input, header, sizeof(header), deadline)) != 0) {
        if (n == LINE_TOO_LONG) return 431;
        if (n == LINE_TIMEOUT) return 408;
        if (n == LINE_BAD) return 400;
        if (n == LINE_CLOSED) return 0;
        header_bytes += (size_t)n + 2;
        if (++headers > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES) return 431;
        if ((colon = strchr(header, ':')) == NULL || !is_token(header, (size_t)(colon - header)))
            return 400; /* also a folded line: it starts with a space */
        if (colon - header == 4 && strncasecmp(header, "Host", 4) == 0) hosts++;
    }

    if (strcmp(rq->method, "GET") != 0 && !rq->head) return 405;
    if (minor == 1 && hosts != 1) return 400; /* HTTP/1.1 requires exactly one Host */
    return resolve(rq->target, rq->file);
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
