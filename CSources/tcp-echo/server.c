/* tcp-echo server (lecture document 002, chapter 14, where it is Python): accept a
 * client, send back every byte it sends until it closes, then the next client.
 * The chapter's program in C, the kit's hand; lines marked "kit:" go beyond it.
 * Dual-stack (the chapter's is IPv4): one IPv6 socket takes IPv4 clients too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PORT 8080
#define BUFFER_SIZE 4096 /* recv(4096) */

/* Python's sendall(): send may take only part of the data, so loop until it is all
 * gone. MSG_NOSIGNAL (kit): a peer that has gone away makes send fail with EPIPE,
 * as in Python, which ignores SIGPIPE, instead of raising SIGPIPE, which kills. */
int send_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t sent = send(fd, data, length, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += sent;
        length -= (size_t)sent;
    }
    return 0;
}

int main(void) {
    int server_fd, conn;
    struct sockaddr_in6 address, peer;
    socklen_t peer_len;
    char buffer[BUFFER_SIZE];
    char ip[INET6_ADDRSTRLEN];
    ssize_t n;
    int opt = 1;
    int v6only = 0; /* IPV6_V6ONLY off: IPv4 clients too */
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */

    if ((server_fd = socket(AF_INET6, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    /* Restart at once, though connections this server closed sit in TIME_WAIT */
    if (setsockopt(server_fd, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }
    /* Dual-stack: one socket for IPv6 and IPv4 clients, an IPv4 one showing as a mapped
     * address (::ffff:127.0.0.1). Linux's default, not every system's: say it */
    if (setsockopt(server_fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }

    /* ("::", 8080): every local interface, IPv6 and IPv4 */
    memset(&address, 0, sizeof(address));
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_any;
    address.sin6_port = htons(port);
    if (bind(server_fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    if (listen(server_fd, 5) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }
    printf("Listening on port %d\n", port);

    while (1) {
        /* accept() returns (conn, addr); in C the address lands in peer */
        peer_len = sizeof(peer);
        if ((conn = accept(server_fd, (struct sockaddr *)&peer, &peer_len)) < 0) {
            perror("accept failed");
            exit(EXIT_FAILURE);
        }
        /* Python prints an IPv6 address as a 4-tuple, flow label and scope last:
         * ('::ffff:127.0.0.1', 54321, 0, 0) */
        if (inet_ntop(AF_INET6, &peer.sin6_addr, ip, sizeof(ip)) == NULL) {
            perror("inet_ntop failed");
            exit(EXIT_FAILURE);
        }
        printf("Connected: ('%s', %d, %u, %u)\n", ip, ntohs(peer.sin6_port),
               ntohl(peer.sin6_flowinfo), peer.sin6_scope_id);

        /* Whatever arrives goes back; recv returns 0 (Python: b'') once the client
         * has closed. One client at a time: the next waits in the backlog. */
        while (1) {
            n = recv(conn, buffer, BUFFER_SIZE, 0);
            if (n == 0)
                break;
            if (n < 0) { /* kit: Python would stop with a traceback; C serves on */
                perror("recv failed");
                break;
            }
            if (send_all(conn, buffer, (size_t)n) < 0) { /* kit: as for recv */
                perror("send failed");
                break;
            }
        }
        close(conn);
    }
}
