/* Lab 03 reference: a server for length-prefixed messages. A message is a 4-byte length
 * N in network byte order (big-endian), 0 to 1 MiB, then N bytes of payload; the reply
 * to each is one message framed the same way, its ASCII letters uppercased. Many
 * messages per connection, one connection after another. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define PORT 8080
#define MAX_LENGTH (1024 * 1024) /* 1 MiB: a longer message closes the connection */

/* Read exactly len bytes: recv returns what has arrived, which may be less.
 * 1 once all have come, 0 if the client closed first, -1 on error. */
static int recv_all(int fd, char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return (int)n;
        buf += n;
        len -= (size_t)n;
    }
    return 1;
}

/* Send all len bytes: send may take fewer. 0 when done, -1 on error. MSG_NOSIGNAL: a
 * client that has gone away is an error to report, not a SIGPIPE that ends the server. */
static int send_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Answer one client's messages until it closes, errs, or sends a length over the limit.
 * message holds a whole reply, its length then its payload: one send takes both. */
static void serve(int client_fd, char *message) {
    uint32_t length;
    int got;
    while ((got = recv_all(client_fd, message, 4)) == 1) {
        memcpy(&length, message, 4); /* the reply keeps these 4 bytes as they are */
        length = ntohl(length);
        if (length > MAX_LENGTH) {
            fprintf(stderr, "Length %u is over 1 MiB: closing the connection\n", length);
            return;
        }
        if ((got = recv_all(client_fd, message + 4, length)) != 1)
            break;
        /* ASCII letters only: any other byte is data, passed on unchanged */
        for (char *c = message + 4; c < message + 4 + length; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 'a' + 'A');
        if (send_all(client_fd, message, 4 + length) < 0) {
            perror("send failed");
            return;
        }
    }
    if (got < 0)
        perror("recv failed");
}

int main(void) {
    int server_fd, client_fd;
    struct sockaddr_in address;
    int opt = 1;
    static char message[4 + MAX_LENGTH];
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line reaches a pipe at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT;

    if ((server_fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    if (setsockopt(server_fd, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(port);
    if (bind(server_fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    if (listen(server_fd, 5) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }
    printf("Server listening on port %d\n", port);

    /* One client after another: the next waits in the backlog meanwhile */
    while (1) {
        if ((client_fd = accept(server_fd, NULL, NULL)) < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue; /* a signal, or a client that left while queued */
            perror("accept failed");
            exit(EXIT_FAILURE);
        }
        printf("Client connected\n");
        serve(client_fd, message);
        close(client_fd);
        printf("Client gone\n");
    }
}
