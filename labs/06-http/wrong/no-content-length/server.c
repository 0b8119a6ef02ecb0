/* Lab 06, http: a static HTTP/1.0 server for the files of one folder.
 *   server DIR        (KIT_PORT sets the port, 8080 without it)
 * GET and HEAD; 200, 400, 404, 405, 414; Content-Length and Content-Type; never a
 * file outside DIR, however the path is spelled. One thread per connection, so a
 * slow or silent client (a browser keeps spare connections open) holds up nobody. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <netinet/in.h>

#define PORT 8080
#define MAX_LINE 8192   /* longest request or header line we read, "\r\n" included */
#define MAX_HEADERS 100 /* header lines read before the request is refused */
#define IDLE_SECONDS 10 /* a client silent this long is dropped */

/* DIR as realpath gives it (absolute, no links), set before the first thread */
static char root[PATH_MAX];

/* One request, as read_request leaves it for the answer and the log line */
struct request {
    char line[MAX_LINE];  /* the request line, cut into method and target */
    const char *method;   /* "-" until the request line is understood */
    const char *target;
    int head;             /* HEAD: GET's headers, no body */
    char file[PATH_MAX];  /* for 200: the file to send */
};

static const char *reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 414: return "URI Too Long";
    default: return "Internal Server Error";
    }
}

/* The browser decides what to do with the bytes from this header alone: a
 * stylesheet served as anything but text/css is ignored. */
static const char *content_type(const char *file) {
    const char *dot = strrchr(file, '.');
    if (dot == NULL) return "application/octet-stream";
    if (strcasecmp(dot, ".html") == 0) return "text/html; charset=utf-8";
    if (strcasecmp(dot, ".css") == 0) return "text/css; charset=utf-8";
    if (strcasecmp(dot, ".js") == 0) return "text/javascript; charset=utf-8";
    if (strcasecmp(dot, ".png") == 0) return "image/png";
    if (strcasecmp(dot, ".txt") == 0) return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

/* One line into line[MAX_LINE], without its "\r\n" (or bare "\n"). Returns its
 * length, -1 if the client closed or went silent first, -2 if it does not fit: the
 * rest is never read, so no client can make us store more than MAX_LINE bytes. */
static long read_line(FILE *in, char *line) {
    long n = 0;
    int c;
    while ((c = getc(in)) != EOF && c != '\n') {
        if (n == MAX_LINE - 1) return -2;
        line[n++] = (char)c;
    }
    if (c == EOF) return -1;
    if (n > 0 && line[n - 1] == '\r') n--;
    line[n] = '\0';
    return (long)strlen(line) == n ? n : -3; /* a NUL inside is no text */
}

static int hex(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* realpath's answer is the root or below it. The '/' matters: without it, root
 * /tmp/site would let in /tmp/site-private/key. */
static int inside_root(const char *file) {
    size_t n = strlen(root);
    return strncmp(file, root, n) == 0 && (file[n] == '\0' || file[n] == '/');
}

/* The file a target names, in file[PATH_MAX]: returns 200, or the status to answer.
 * Decode %XX first, so that %2e%2e is judged as the ".." it is; then realpath, which
 * resolves "..", "." and symbolic links, and only then the root check. Outside the
 * root is 404, like a missing file. */
static int resolve(const char *target, char *file) {
    char path[PATH_MAX];
    size_t n = strlen(root);
    struct stat st;
    int hi, lo;

    if (target[0] != '/') return 400;
    memcpy(path, root, n);
    for (; *target != '\0' && *target != '?'; target++) {
        char c = *target;
        if (c == '%') {
            if ((hi = hex(target[1])) < 0 || (lo = hex(target[2])) < 0) return 400;
            c = (char)(hi * 16 + lo);
            if (c == '\0') return 400; /* it would cut the name short */
            target += 2;
        }
        if (n + 1 >= sizeof(path)) return 404; /* longer than any file name */
        path[n++] = c;
    }
    path[n] = '\0';

    if (realpath(path, file) == NULL || !inside_root(file) || stat(file, &st) < 0) return 404;
    if (S_ISDIR(st.st_mode)) { /* a folder: its index.html, itself maybe a link out */
        if (snprintf(path, sizeof(path), "%s/index.html", file) >= (int)sizeof(path)) return 404;
        if (realpath(path, file) == NULL || !inside_root(file) || stat(file, &st) < 0)
            return 404;
    }
    return S_ISREG(st.st_mode) ? 200 : 404;
}

/* Reads the request and returns the status to answer (200: rq->file is the file), or
 * 0 when the client left before a whole request: nobody to answer. */
static int read_request(FILE *in, struct request *rq) {
    char header[MAX_LINE];
    char *target, *version;
    long n;
    int headers = 0;

    rq->method = rq->target = "-";
    rq->head = 0;
    if ((n = read_line(in, rq->line)) == -1) return 0;
    if (n == -2) return 414;
    if (n < 0) return 400;
    /* METHOD SP TARGET SP HTTP/1.x: exactly two spaces */
    if ((target = strchr(rq->line, ' ')) == NULL) return 400;
    *target++ = '\0';
    if ((version = strchr(target, ' ')) == NULL) return 400;
    *version++ = '\0';
    if (rq->line[0] == '\0' || target[0] == '\0' ||
        (strcmp(version, "HTTP/1.0") != 0 && strcmp(version, "HTTP/1.1") != 0))
        return 400;
    rq->method = rq->line;
    rq->target = target;
    rq->head = strcmp(rq->method, "HEAD") == 0;

    /* The headers, up to the empty line: read so that the whole request is in before
     * the answer, but none of them changes what a GET of a file gets. */
    while ((n = read_line(in, header)) != 0) {
        if (n == -1) return 0;
        if (n < 0 || ++headers > MAX_HEADERS || strchr(header, ':') == NULL) return 400;
    }

    if (strcmp(rq->method, "GET") != 0 && !rq->head) return 405;
    return resolve(rq->target, rq->file);
}

/* write() until all is gone: a socket may take only part of a buffer */
static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The status line and headers. Content-Length is where the body ends; HEAD gets the
 * same headers as GET, and no body. */
static int send_head(int fd, int status, const char *type, long long length) {
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nConnection: close\r\n\r\n",
                     status, reason(status), type);
    /* wrong: no Content-Length, "HTTP/1.0 closes the connection anyway". The client
     * cannot tell a whole body from a cut one, and HEAD cannot say the size. */
    (void)length;
    return write_all(fd, head, (size_t)n);
}

static void send_error(int fd, int status, int head) {
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));
    if (send_head(fd, status, "text/plain; charset=utf-8", n) == 0 && !head)
        write_all(fd, body, (size_t)n);
}

/* 200 and the file, in pieces: it may be larger than any buffer */
static int send_file(int fd, const struct request *rq) {
    char buffer[16384];
    struct stat st;
    size_t n;
    FILE *f = fopen(rq->file, "rb");

    if (f == NULL || fstat(fileno(f), &st) < 0) {
        if (f != NULL) fclose(f);
        send_error(fd, 404, rq->head);
        return 404;
    }
    if (send_head(fd, 200, content_type(rq->file), (long long)st.st_size) == 0 && !rq->head) {
        while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0)
            if (write_all(fd, buffer, n) < 0) break; /* the client left */
    }
    fclose(f);
    return 200;
}

/* At most 100 bytes of s, anything but printable ASCII as '?': a request must not
 * write escape codes to our terminal, nor a fake line into the log. */
static void printable(char *copy, const char *s) {
    int i;
    for (i = 0; i < 100 && s[i] != '\0'; i++)
        copy[i] = s[i] > ' ' && s[i] < 0x7f ? s[i] : '?';
    copy[i] = '\0';
}

/* One connection: one request, one answer, close. An error ends this connection
 * only; exit() here would end every thread. */
static void *serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    struct request rq;
    char method[101], target[101];
    int status;
    FILE *in = fdopen(fd, "r"); /* stdio reads for us; answers go out with write */

    if (in == NULL) {
        perror("fdopen failed");
        close(fd);
        return NULL;
    }
    status = read_request(in, &rq);
    if (status == 200) {
        status = send_file(fd, &rq);
    } else if (status != 0) {
        send_error(fd, status, rq.head);
    }
    if (status != 0) {
        printable(method, rq.method);
        printable(target, rq.target);
        printf("%d %s %s\n", status, method, target);
    }
    fclose(in); /* closes fd too */
    return NULL;
}

int main(int argc, char *argv[]) {
    struct sockaddr_in address;
    struct timeval idle = {IDLE_SECONDS, 0};
    struct stat st;
    pthread_t thread;
    int listen_fd, fd, opt = 1;
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line reaches a pipe at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT;

    if (argc != 2) {
        fprintf(stderr, "usage: server DIR\n");
        exit(EXIT_FAILURE);
    }
    if (realpath(argv[1], root) == NULL || stat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "server: %s is not a folder\n", argv[1]);
        exit(EXIT_FAILURE);
    }
    /* A client that hangs up mid-answer makes write raise SIGPIPE, which would end
     * the whole server; ignored, write fails with EPIPE and only that thread ends. */
    signal(SIGPIPE, SIG_IGN);

    if ((listen_fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt));
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = INADDR_ANY;
    address.sin_port = htons(port);
    if (bind(listen_fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    if (listen(listen_fd, 16) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }
    printf("Serving %s on port %d\n", root, port);

    while (1) {
        if ((fd = accept(listen_fd, NULL, NULL)) < 0) {
            perror("accept failed");
            continue;
        }
        /* A silent client's reads fail after IDLE_SECONDS, and its thread ends */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof(idle));
        /* The descriptor travels in the pointer itself: no copy to free */
        if (pthread_create(&thread, NULL, serve, (void *)(intptr_t)fd) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            close(fd);
            continue;
        }
        pthread_detach(thread);
    }
}
