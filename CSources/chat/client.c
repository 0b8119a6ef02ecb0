/* chat client: the kit's own client for the chat server of lecture document 002 (the
 * chapter gives only the server; any line-based tool such as nc can talk to it). One
 * thread, one poll() over two descriptors: what you type goes to the server, what the
 * server relays from the others is printed. At the end of input (Ctrl-D) it stops
 * sending but keeps printing until the server closes the connection. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PORT 8080
#define CHUNK 4096

/* write() may take fewer bytes than asked (a short write): loop until all are out.
 * MSG_NOSIGNAL: a server that has gone makes send fail with EPIPE, not kill us. */
static int send_all(int fd, const char *data, size_t n) {
    while (n > 0) {
        ssize_t sent = send(fd, data, n, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += sent;
        n -= (size_t)sent;
    }
    return 0;
}

static int write_all(int fd, const char *data, size_t n) {
    while (n > 0) {
        ssize_t written = write(fd, data, n);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += written;
        n -= (size_t)written;
    }
    return 0;
}

int main(void) {
    int sock;
    struct sockaddr_in addr;
    struct pollfd fds[2];
    char buffer[CHUNK];
    ssize_t got;
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */
    const char *host = getenv("KIT_HOST") ? getenv("KIT_HOST") : "127.0.0.1"; /* kit */

    if ((sock = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    /* 1 on success; 0 (errno untouched) when the text is not an IPv4 address */
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "invalid address: %s\n", host);
        exit(EXIT_FAILURE);
    }
    if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        perror("connect failed");
        exit(EXIT_FAILURE);
    }
    /* On stderr, so that stdout holds only what the others said */
    fprintf(stderr, "Connected to %s:%d; end your input (Ctrl-D) to leave\n", host, port);

    fds[0].fd = STDIN_FILENO;
    fds[0].events = POLLIN;
    fds[1].fd = sock;
    fds[1].events = POLLIN;
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll failed");
            exit(EXIT_FAILURE);
        }

        /* Standard input: what has been typed (a terminal hands over a line at a time) */
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
            got = read(STDIN_FILENO, buffer, sizeof(buffer));
            if (got < 0 && errno != EINTR) {
                perror("read failed");
                exit(EXIT_FAILURE);
            }
            if (got == 0) {
                /* End of input: send our FIN, so the server sees us leave, but keep
                 * reading what it still has for us. A negative fd: poll skips it. */
                if (shutdown(sock, SHUT_WR) < 0) {
                    perror("shutdown failed");
                    exit(EXIT_FAILURE);
                }
                fds[0].fd = -1;
            }
            if (got > 0 && send_all(sock, buffer, (size_t)got) < 0) {
                perror("send failed");
                exit(EXIT_FAILURE);
            }
        }

        /* The socket: what the others said, or 0 when the server closes */
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            got = recv(sock, buffer, sizeof(buffer), 0);
            if (got < 0 && errno != EINTR) {
                perror("recv failed");
                exit(EXIT_FAILURE);
            }
            if (got == 0)
                break;
            /* Unbuffered: the bytes go out now, whole lines or not */
            if (got > 0 && write_all(STDOUT_FILENO, buffer, (size_t)got) < 0) {
                perror("write failed");
                exit(EXIT_FAILURE);
            }
        }
    }

    if (close(sock) < 0) {
        perror("close failed");
        exit(EXIT_FAILURE);
    }
    return 0;
}
