/* tcp-stream client (lecture document 003, "client-server"): look the server's name
 * up, connect, send all of standard input, close.
 * The lecture describes this program without printing it: all of it is the kit's,
 * written from that description.
 *   tcp-stream-client [HOST [PORT]]   arguments first, then KIT_HOST and KIT_PORT;
 *                                     the host defaults to localhost, the port must be given */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define BUFFER_SIZE 4096

/* A port's text as a number, 1 to 65535; -1 if it is not one. */
static int parse_port(const char *text) {
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 1 || value > 65535)
        return -1;
    return (int)value;
}

/* Write all len bytes: write may take fewer than asked (a full socket buffer, a
 * signal), so go on from where it stopped. 0 when done, -1 with errno on failure. */
static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int main(int argc, char *argv[]) {
    int sock;
    struct sockaddr_in addr;
    struct hostent *hp;
    struct sigaction sa;
    char buffer[BUFFER_SIZE];
    ssize_t n;
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    const char *host = getenv("KIT_HOST") ? getenv("KIT_HOST") : "localhost"; /* kit */
    const char *port_text = getenv("KIT_PORT"); /* kit: no default, see below */

    /* Arguments win over the environment. There is no usual port: the server
     * takes whatever port the system gives it and prints it. */
    if (argc > 3) {
        fprintf(stderr, "usage: %s [HOST [PORT]]\n", argv[0]);
        exit(2);
    }
    if (argc > 1)
        host = argv[1];
    if (argc > 2)
        port_text = argv[2];
    if (port_text == NULL) {
        fprintf(stderr, "usage: %s [HOST [PORT]] (or set KIT_PORT)\n", argv[0]);
        exit(2);
    }
    int port = parse_port(port_text);
    if (port < 0) {
        fprintf(stderr, "%s: not a port number (1 to 65535)\n", port_text);
        exit(2);
    }

    /* A server that goes away mid-stream would make write raise SIGPIPE, which kills
     * silently. Ignored, write fails with EPIPE and the client says so. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) < 0) {
        perror("sigaction failed");
        exit(EXIT_FAILURE);
    }

    /* Name to IPv4 address. It reports failure in h_errno, not errno. */
    if ((hp = gethostbyname(host)) == NULL) {
        fprintf(stderr, "gethostbyname %s: %s\n", host, hstrerror(h_errno));
        exit(EXIT_FAILURE);
    }

    if ((sock = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }

    /* The first address of the host, already in network byte order; the port not yet */
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    memcpy(&addr.sin_addr, hp->h_addr_list[0], sizeof(addr.sin_addr));
    addr.sin_port = htons(port);

    if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        perror("connect failed");
        exit(EXIT_FAILURE);
    }

    /* Copy standard input to the socket until end of file: each read gets what is
     * there (a line from a terminal, up to 4096 bytes from a file or pipe) */
    while ((n = read(STDIN_FILENO, buffer, sizeof(buffer))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("read failed");
            exit(EXIT_FAILURE);
        }
        if (write_all(sock, buffer, (size_t)n) < 0) {
            perror("write failed");
            exit(EXIT_FAILURE);
        }
    }

    /* The server reads until it sees this close: the end of the stream is the end of
     * the message */
    if (close(sock) < 0) {
        perror("close failed");
        exit(EXIT_FAILURE);
    }
    return 0;
}
