/* tcp-echo client (lecture document 002, chapter 14, where it is Python): connect,
 * send one line, print what comes back the way Python prints bytes.
 * The chapter's program in C, the kit's hand; lines marked "kit:" go beyond it.
 * The host may be IPv4, IPv6 or a name: getaddrinfo, as Python's create_connection. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>

#define PORT 8080
#define BUFFER_SIZE 4096 /* recv(4096) */

/* Python's repr() of a bytes object, into out (4 * length + 4 bytes at least):
 * b'...' with printable ASCII as it is, \t \n \r \\ and the quote escaped, any other
 * byte as \xNN. Python picks double quotes when the data has a ' and no ". */
char *bytes_repr(const unsigned char *data, size_t length, char *out) {
    char quote = memchr(data, '\'', length) && !memchr(data, '"', length) ? '"' : '\'';
    char *p = out;
    *p++ = 'b';
    *p++ = quote;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = data[i];
        if (c == quote || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c == '\t') {
            *p++ = '\\';
            *p++ = 't';
        } else if (c == '\n') {
            *p++ = '\\';
            *p++ = 'n';
        } else if (c == '\r') {
            *p++ = '\\';
            *p++ = 'r';
        } else if (c < 0x20 || c >= 0x7f) {
            p += sprintf(p, "\\x%02x", c);
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = quote;
    *p = '\0';
    return out;
}

/* Python's sendall(): send may take only part of the data, so loop until it is all
 * gone. MSG_NOSIGNAL (kit): a closed peer means EPIPE, as in Python, not SIGPIPE. */
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
    int sock = -1, rc, failure = 0;
    struct addrinfo hints, *addresses, *a;
    char service[8];
    unsigned char buffer[BUFFER_SIZE];
    char text[4 * BUFFER_SIZE + 4];
    const char *message = "hello, server\n";
    ssize_t n;
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */
    const char *host = getenv("KIT_HOST") ? getenv("KIT_HOST") : "127.0.0.1"; /* kit */

    /* ("127.0.0.1", 8080), ("::1", 8080) or ("localhost", 8080): every address the
     * host stands for, in the order the system prefers */
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC; /* IPv4 or IPv6 */
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%d", port);
    if ((rc = getaddrinfo(host, service, &hints, &addresses)) != 0) {
        fprintf(stderr, "invalid address: %s: %s\n", host, gai_strerror(rc));
        exit(EXIT_FAILURE);
    }
    /* Each in turn until one connects: a name may be ::1 and 127.0.0.1, and a server
     * may listen on only one of them */
    for (a = addresses; a != NULL && sock < 0; a = a->ai_next) {
        if ((sock = socket(a->ai_family, a->ai_socktype, a->ai_protocol)) < 0) {
            failure = errno;
            continue;
        }
        if (connect(sock, a->ai_addr, a->ai_addrlen) < 0) {
            failure = errno; /* before close, which may change errno */
            close(sock);
            sock = -1;
        }
    }
    freeaddrinfo(addresses);
    if (sock < 0) { /* every address failed: say why the last did */
        errno = failure;
        perror("connect failed");
        exit(EXIT_FAILURE);
    }

    if (send_all(sock, message, strlen(message)) < 0) {
        perror("send failed");
        exit(EXIT_FAILURE);
    }
    /* One recv: whatever has arrived, up to 4096 bytes; 0 (b'') if the server closed */
    if ((n = recv(sock, buffer, BUFFER_SIZE, 0)) < 0) {
        perror("recv failed");
        exit(EXIT_FAILURE);
    }
    printf("Server replied: %s\n", bytes_repr(buffer, (size_t)n, text));

    close(sock);
    return 0;
}
