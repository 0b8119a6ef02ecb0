/* udp-echo client: lecture document 002 gives the UDP echo server only; this is the
 * natural client, in the kit's own hand: send one datagram, wait at most 5 seconds
 * for the echo, print it the way Python prints bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#define PORT 8080
#define BUFFER_SIZE 4096
#define TIMEOUT_SECONDS 5

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

int main(void) {
    int sock;
    struct sockaddr_in server;
    struct timeval timeout = {TIMEOUT_SECONDS, 0};
    unsigned char buffer[BUFFER_SIZE];
    char text[4 * BUFFER_SIZE + 4];
    const char *message = "hello, server\n";
    ssize_t n;
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */
    const char *host = getenv("KIT_HOST") ? getenv("KIT_HOST") : "127.0.0.1"; /* kit */

    if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    /* A datagram or its echo may be lost, and nothing would ever say so: without a
     * timeout recvfrom could wait forever */
    if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }

    memset(&server, 0, sizeof(server));
    server.sin_family = AF_INET;
    server.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &server.sin_addr) <= 0) {
        fprintf(stderr, "invalid address: %s\n", host);
        exit(EXIT_FAILURE);
    }

    /* No connect: the first sendto binds an ephemeral port */
    if (sendto(sock, message, strlen(message), 0, (struct sockaddr *)&server,
               sizeof(server)) < 0) {
        perror("sendto failed");
        exit(EXIT_FAILURE);
    }
    /* Addresses not needed: any datagram to this port is taken as the reply */
    if ((n = recvfrom(sock, buffer, BUFFER_SIZE, 0, NULL, NULL)) < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            fprintf(stderr, "no reply within %d seconds: is the server running on %s:%d?\n",
                    TIMEOUT_SECONDS, host, port);
        } else {
            perror("recvfrom failed");
        }
        exit(EXIT_FAILURE);
    }
    printf("Server replied: %s\n", bytes_repr(buffer, (size_t)n, text));

    close(sock);
    return 0;
}
