/* http-server's request reading (request.h): every byte a client sends is hostile
 * here, so each line, header and path is bounded and checked. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include "request.h"

/* What read_line returns instead of a length */
#define LINE_TOO_LONG (-1)
#define LINE_CLOSED (-2)  /* the client closed, or reading failed */
#define LINE_TIMEOUT (-3) /* the socket's SO_RCVTIMEO passed, or the request's deadline */
#define LINE_BAD (-4)     /* a NUL byte or a lone '\r' */

/* The folder served, as realpath gives it: absolute, no symbolic links, no '/' at the
 * end. Written once before the first thread starts, only read afterwards. */
char root[PATH_MAX];

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
int read_request(FILE *input, struct request *rq, const struct timespec *deadline) {
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

