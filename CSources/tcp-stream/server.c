/* tcp-stream server (lecture document 003, "client-server"): serve clients one after
 * another; copy everything each one sends to standard output, until it closes.
 * The lecture describes this program without printing it: all of it is the kit's,
 * written from that description. Binds port 0 unless KIT_PORT is set, and prints the
 * port the system chose as its first line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define BUFFER_SIZE 4096
#define BACKLOG 5

/* KIT_PORT's text as a port, 0 to 65535 (0: let the system choose); -1 if it is not. */
static int parse_port(const char *text) {
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 0 || value > 65535)
        return -1;
    return (int)value;
}

/* Write all len bytes: write may take fewer than asked (a pipe that is nearly full,
 * a signal), so go on from where it stopped. 0 when done, -1 with errno on failure. */
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

int main(void) {
    int listen_fd, conn_fd;
    struct sockaddr_in addr;
    socklen_t addrlen = sizeof(addr);
    char buffer[BUFFER_SIZE];
    ssize_t n;
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? parse_port(getenv("KIT_PORT")) : 0; /* kit */

    if (port < 0) {
        fprintf(stderr, "KIT_PORT must be a port number, 0 to 65535\n");
        exit(2);
    }

    if ((listen_fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }

    /* Every local address; port 0 asks the system for any free port */
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(port);

    if (bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    if (listen(listen_fd, BACKLOG) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }

    /* Ask the socket which address it got: the port the system chose for port 0 */
    if (getsockname(listen_fd, (struct sockaddr *)&addr, &addrlen) < 0) {
        perror("getsockname failed");
        exit(EXIT_FAILURE);
    }
    /* Printed once listening, so a client that waits for this line can connect */
    printf("Listening on port %d\n", ntohs(addr.sin_port));

    /* Iterative: one client at a time, the next ones wait in the backlog */
    while (1) {
        if ((conn_fd = accept(listen_fd, NULL, NULL)) < 0) {
            /* A signal, or a client that gave up while queued: not the server's end */
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("accept failed");
            exit(EXIT_FAILURE);
        }

        /* A read returns what has arrived so far, 1 byte or 4096; 0 means the client
         * closed. So read until 0, however the sender's bytes were cut up on the way. */
        while ((n = read(conn_fd, buffer, sizeof(buffer))) != 0) {
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                /* e.g. "Connection reset by peer": this client is gone, not the server */
                perror("read failed");
                break;
            }
            /* write, not printf: the bytes may hold NULs, and nothing is buffered */
            if (write_all(STDOUT_FILENO, buffer, (size_t)n) < 0) {
                perror("write failed");
                exit(EXIT_FAILURE);
            }
        }

        if (close(conn_fd) < 0)
            perror("close failed");
    }
}
