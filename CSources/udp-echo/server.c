/* udp-echo server (lecture document 002, chapter 14, where it is Python): send every
 * datagram back to whoever sent it, forever, printing each one as Python prints it.
 * The chapter's program in C, the kit's hand; lines marked "kit:" go beyond it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PORT 8080
#define BUFFER_SIZE 4096 /* recvfrom(4096): the rest of a longer datagram is lost */

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
    struct sockaddr_in address, peer;
    socklen_t peer_len;
    unsigned char buffer[BUFFER_SIZE];
    char text[4 * BUFFER_SIZE + 4];
    char ip[INET_ADDRSTRLEN];
    ssize_t n;
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */

    if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }

    /* ("0.0.0.0", 8080): every local interface */
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(port);
    if (bind(sock, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }

    while (1) {
        /* recvfrom() returns (data, addr): one whole datagram and who sent it */
        peer_len = sizeof(peer);
        if ((n = recvfrom(sock, buffer, BUFFER_SIZE, 0, (struct sockaddr *)&peer,
                          &peer_len)) < 0) {
            perror("recvfrom failed");
            exit(EXIT_FAILURE);
        }
        if (inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip)) == NULL) {
            perror("inet_ntop failed");
            exit(EXIT_FAILURE);
        }
        printf("Received %s from ('%s', %d)\n", bytes_repr(buffer, (size_t)n, text), ip,
               ntohs(peer.sin_port));
        /* The same bytes back to that address: one datagram, sent whole or not at all */
        if (sendto(sock, buffer, (size_t)n, 0, (struct sockaddr *)&peer, peer_len) < 0) {
            perror("sendto failed");
            exit(EXIT_FAILURE);
        }
    }
}
