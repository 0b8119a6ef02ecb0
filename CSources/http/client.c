/* http-client (lecture document 003, "client-server-http"): fetches one URL with
 * HTTP/1.0 and copies the response, status line, headers and body, to standard output
 * byte for byte. It works with the kit's http-server and with real web servers (http
 * only, no https). The lecture describes the program; the code is the kit's own.
 *   http-client http://HOST[:PORT]/PATH
 *   http-client HOST PORT PATH
 *   http-client                 GET / from KIT_HOST (localhost), KIT_PORT (8080) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>

#define PORT 8080
#define BUFFER_SIZE 4096
#define RECV_SECONDS 30 /* a server silent this long is given up on */

struct url {
    char host[256]; /* without the [ ] of an IPv6 address */
    char port[6];
    char path[4096];
};

static void fail(const char *what, const char *detail) {
    fprintf(stderr, "http-client: %s: %s\n", what, detail);
    exit(EXIT_FAILURE);
}

static void usage(const char *why) {
    fprintf(stderr, "http-client: %s\n", why);
    fprintf(stderr, "usage: http-client http://HOST[:PORT]/PATH\n"
                    "       http-client HOST PORT PATH\n"
                    "       http-client   (GET / from $KIT_HOST:$KIT_PORT, default localhost:8080)\n");
    exit(EXIT_FAILURE);
}

/* Copies n bytes of s into dst[size] with a '\0', or fails if they do not fit */
static void copy(char *dst, size_t size, const char *s, size_t n, const char *what) {
    if (n >= size) usage(what);
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* A host name (letters, digits, '-', '.', '_') or an IPv6 address's hex digits,
 * ':' and '.'. Nothing that could end the Host line early. */
static void check_host(const char *host) {
    size_t i;
    if (host[0] == '\0') usage("no host in the URL");
    for (i = 0; host[i] != '\0'; i++)
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._:",
                   host[i]) == NULL)
            usage("bad character in the host name");
}

/* 1 to 65535, digits only */
static void check_port(const char *port) {
    size_t i;
    if (port[0] == '\0' || strlen(port) > 5) usage("bad port");
    for (i = 0; port[i] != '\0'; i++)
        if (port[i] < '0' || port[i] > '9') usage("bad port");
    if (atoi(port) < 1 || atoi(port) > 65535) usage("bad port");
}

/* A path starting with '/', with no space or control character: those would let
 * the path end the request line and write headers of its own. */
static void check_path(const char *path) {
    size_t i;
    if (path[0] != '/') usage("the path must start with '/'");
    for (i = 0; path[i] != '\0'; i++)
        if ((unsigned char)path[i] <= ' ' || (unsigned char)path[i] >= 0x7f)
            usage("bad character in the path (spaces and the like must be %-encoded)");
}

/* http://HOST[:PORT][/PATH][#FRAGMENT]; HOST may be [IPv6] */
static void parse_url(const char *s, struct url *u) {
    const char *host, *end, *path;

    if (strncasecmp(s, "https://", 8) == 0) usage("https is not supported, only http://");
    if (strncasecmp(s, "http://", 7) != 0) usage("the URL must start with http://");
    host = s + 7;
    if (host[0] == '[') {
        if ((end = strchr(host, ']')) == NULL) usage("no ']' after the IPv6 address");
        copy(u->host, sizeof(u->host), host + 1, (size_t)(end - host - 1), "host too long");
        end++;
    } else {
        end = host + strcspn(host, ":/?#");
        copy(u->host, sizeof(u->host), host, (size_t)(end - host), "host too long");
    }
    path = end + strcspn(end, "/?#");
    if (*end == ':')
        copy(u->port, sizeof(u->port), end + 1, (size_t)(path - end - 1), "bad port");
    else if (end == path)
        copy(u->port, sizeof(u->port), "80", 2, "bad port");
    else
        usage("bad URL after the host");
    /* The fragment (#...) is for the browser, never sent */
    if (*path == '/') {
        copy(u->path, sizeof(u->path), path, strcspn(path, "#"), "path too long");
    } else {
        u->path[0] = '/'; /* "http://host" or "http://host?q": the path is "/" */
        copy(u->path + 1, sizeof(u->path) - 1, path, strcspn(path, "#"), "path too long");
    }
}

/* send() until all is sent. MSG_NOSIGNAL: a server that has gone makes send fail with
 * EPIPE instead of raising SIGPIPE, which would kill the client silently. */
static void send_all(int sock, const char *buf, size_t len) {
    ssize_t n;
    while (len > 0) {
        if ((n = send(sock, buf, len, MSG_NOSIGNAL)) < 0) {
            if (errno == EINTR) continue;
            fail("send failed", strerror(errno));
        }
        buf += n;
        len -= (size_t)n;
    }
}

int main(int argc, char *argv[]) {
    struct url u;
    struct addrinfo hints, *res, *ai;
    struct timeval patience = {RECV_SECONDS, 0};
    char request[sizeof(u.path) + sizeof(u.host) + 128];
    char buffer[BUFFER_SIZE];
    ssize_t n;
    size_t total = 0;
    int sock = -1, rc, err = 0, len;
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */
    const char *host = getenv("KIT_HOST") ? getenv("KIT_HOST") : "localhost"; /* kit */

    if (argc == 2) {
        parse_url(argv[1], &u);
    } else if (argc == 4) {
        copy(u.host, sizeof(u.host), argv[1], strlen(argv[1]), "host too long");
        copy(u.port, sizeof(u.port), argv[2], strlen(argv[2]), "bad port");
        copy(u.path, sizeof(u.path), argv[3], strlen(argv[3]), "path too long");
    } else if (argc == 1) {
        copy(u.host, sizeof(u.host), host, strlen(host), "host too long");
        if (snprintf(u.port, sizeof(u.port), "%d", port) >= (int)sizeof(u.port)) usage("bad port");
        copy(u.path, sizeof(u.path), "/", 1, "path too long");
    } else {
        usage("expected a URL, or HOST PORT PATH, or nothing");
    }
    check_host(u.host);
    check_port(u.port);
    check_path(u.path);

    /* HTTP/1.0: the server closes the connection after one response and sends the body
     * as it is (no chunks), so everything until the close is the response. Host names
     * the site, for servers that serve several under one address. */
    len = snprintf(request, sizeof(request),
                   "GET %s HTTP/1.0\r\nHost: %s%s%s%s%s\r\nUser-Agent: kit-http-client\r\n"
                   "Connection: close\r\n\r\n",
                   u.path, strchr(u.host, ':') ? "[" : "", u.host, strchr(u.host, ':') ? "]" : "",
                   strcmp(u.port, "80") != 0 ? ":" : "", strcmp(u.port, "80") != 0 ? u.port : "");
    if (len < 0 || len >= (int)sizeof(request)) usage("URL too long");

    /* getaddrinfo, not the lecture's gethostbyname: it knows IPv6 as well as IPv4,
     * turns the port into the address too, and is safe in threads. A name may have
     * several addresses (localhost: ::1 and 127.0.0.1): try each until one connects. */
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((rc = getaddrinfo(u.host, u.port, &hints, &res)) != 0) {
        fprintf(stderr, "http-client: unknown host %s: %s\n", u.host, gai_strerror(rc));
        exit(EXIT_FAILURE);
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        if ((sock = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) < 0) {
            err = errno;
            continue;
        }
        if (connect(sock, ai->ai_addr, ai->ai_addrlen) == 0) break;
        err = errno;
        close(sock);
        sock = -1;
    }
    freeaddrinfo(res);
    if (sock < 0) {
        fprintf(stderr, "http-client: cannot connect to %s port %s: %s\n", u.host, u.port,
                strerror(err));
        exit(EXIT_FAILURE);
    }

    /* Every blocking call needs a timeout: a silent server makes recv fail with EAGAIN */
    if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience)) < 0)
        fail("setsockopt failed", strerror(errno));

    send_all(sock, request, (size_t)len);

    /* A read returns whatever has arrived, a few bytes or many: copy each piece as it
     * is, until recv returns 0, the server's close. */
    while ((n = recv(sock, buffer, sizeof(buffer), 0)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) fail("recv failed", "the server went silent");
            fail("recv failed", strerror(errno));
        }
        if (fwrite(buffer, 1, (size_t)n, stdout) != (size_t)n)
            fail("cannot write to standard output", strerror(errno));
        total += (size_t)n;
    }
    if (fflush(stdout) == EOF) fail("cannot write to standard output", strerror(errno));
    if (total == 0) fail(u.host, "the server closed the connection without a response");

    close(sock);
    return 0;
}
