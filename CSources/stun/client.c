/* stun client (the kit's own): ask a STUN server which address it sees us at.
 * One Binding request (RFC 8489) over UDP, resent with a doubling timeout, and the
 * answer checked byte by byte before anything in it is believed: the datagram comes
 * from the network, and a server (or anyone who can reach our port) may send anything.
 * It prints one line: XOR-MAPPED-ADDRESS ip:port, our address as the server saw it. */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#define PORT 3478          /* STUN's registered port */
#define FIRST_WAIT_MS 500  /* RFC 8489's initial retransmission timeout */
#define GIVE_UP_MS 10000   /* after the first send */
#define MAGIC_COOKIE 0x2112A442u
#define BINDING_REQUEST 0x0001
#define BINDING_SUCCESS 0x0101
#define BINDING_ERROR 0x0111
#define MAPPED_ADDRESS 0x0001
#define ERROR_CODE 0x0009
#define XOR_MAPPED_ADDRESS 0x0020
#define BAD_INPUT 64 /* sysexits.h's EX_USAGE */

/* What one datagram turned out to be */
enum { NOT_OURS, ANSWER, SERVER_ERROR, MALFORMED };

static char what[300]; /* the answer's line, or what is wrong with it */

/* Network byte order, read from bytes that have been checked to be there */
static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* An address attribute's value: family, port and address, XORed if xor is set
 * (the port with the cookie's top half, IPv4 with the cookie, IPv6 with the cookie
 * and the transaction id: so a NAT that rewrites addresses it finds in packets
 * leaves this one alone). */
static int address(const unsigned char *msg, const unsigned char *value, unsigned length,
                   int xor, const char *name) {
    char ip[INET6_ADDRSTRLEN];
    unsigned char bytes[16];
    if (length < 4) {
        snprintf(what, sizeof(what), "%s is %u bytes, too short", name, length);
        return MALFORMED;
    }
    unsigned family = value[1];
    unsigned port = get16(value + 2) ^ (xor ? MAGIC_COOKIE >> 16 : 0);
    if (family != 0x01 && family != 0x02) {
        snprintf(what, sizeof(what), "%s has family 0x%02x", name, family);
        return MALFORMED;
    }
    unsigned size = family == 0x01 ? 4 : 16;
    if (length != 4 + size) {
        snprintf(what, sizeof(what), "%s for IPv%d is %u bytes, not %u", name,
                 family == 0x01 ? 4 : 6, length, 4 + size);
        return MALFORMED;
    }
    for (unsigned i = 0; i < size; i++) /* msg + 4: the cookie, then the transaction id */
        bytes[i] = value[4 + i] ^ (xor ? msg[4 + i] : 0);
    inet_ntop(family == 0x01 ? AF_INET : AF_INET6, bytes, ip, sizeof(ip));
    snprintf(what, sizeof(what), family == 0x01 ? "%s %s:%u" : "%s [%s]:%u", name, ip, port);
    return ANSWER;
}

/* Checks a datagram from the server against our request, and says what it is. */
static int check(const unsigned char *msg, size_t n, const unsigned char *id) {
    if (n < 20) {
        snprintf(what, sizeof(what), "truncated header (%zu bytes)", n);
        return MALFORMED;
    }
    if (memcmp(msg + 8, id, 12) != 0)
        return NOT_OURS; /* a stray or forged datagram: keep waiting for ours */
    unsigned type = get16(msg), length = get16(msg + 2);
    if (type & 0xC000) {
        snprintf(what, sizeof(what), "first two bits are not zero");
        return MALFORMED;
    }
    if (get32(msg + 4) != MAGIC_COOKIE) {
        snprintf(what, sizeof(what), "bad magic cookie 0x%08x", (unsigned)get32(msg + 4));
        return MALFORMED;
    }
    if (length % 4 != 0 || length != n - 20) {
        snprintf(what, sizeof(what), "length field %u, but %zu bytes follow the header", length,
                 n - 20);
        return MALFORMED;
    }
    if (type != BINDING_SUCCESS && type != BINDING_ERROR) {
        snprintf(what, sizeof(what), "message type 0x%04x is no Binding answer", type);
        return MALFORMED;
    }
    /* Every attribute: type, length, value padded to 4 bytes, all inside the message */
    const unsigned char *mapped = NULL, *xor_mapped = NULL, *error = NULL;
    unsigned mapped_length = 0, xor_length = 0, error_length = 0;
    for (size_t at = 20; at < n;) {
        if (n - at < 4) {
            snprintf(what, sizeof(what), "attribute header runs past the end");
            return MALFORMED;
        }
        unsigned attribute = get16(msg + at), size = get16(msg + at + 2);
        size_t padded = (size + 3u) & ~3u;
        if (padded > n - at - 4) {
            snprintf(what, sizeof(what), "attribute 0x%04x (%u bytes) runs past the end",
                     attribute, size);
            return MALFORMED;
        }
        const unsigned char *value = msg + at + 4;
        if (attribute == XOR_MAPPED_ADDRESS && !xor_mapped)
            xor_mapped = value, xor_length = size;
        else if (attribute == MAPPED_ADDRESS && !mapped)
            mapped = value, mapped_length = size;
        else if (attribute == ERROR_CODE && !error)
            error = value, error_length = size;
        at += 4 + padded;
    }
    if (type == BINDING_ERROR) {
        if (!error || error_length < 4) {
            snprintf(what, sizeof(what), "server answered error without an ERROR-CODE");
            return SERVER_ERROR;
        }
        /* class (hundreds) in 3 bits, number in a byte, then the reason in UTF-8 */
        int used = snprintf(what, sizeof(what), "server answered error %u ",
                         (error[2] & 7) * 100 + error[3]);
        for (unsigned i = 4; i < error_length && used < (int)sizeof(what) - 1; i++)
            what[used++] = isprint(error[i]) ? (char)error[i] : '?'; /* text from the network */
        what[used] = '\0';
        return SERVER_ERROR;
    }
    if (xor_mapped)
        return address(msg, xor_mapped, xor_length, 1, "XOR-MAPPED-ADDRESS");
    if (mapped)
        return address(msg, mapped, mapped_length, 0, "MAPPED-ADDRESS");
    snprintf(what, sizeof(what), "no XOR-MAPPED-ADDRESS or MAPPED-ADDRESS");
    return MALFORMED;
}

int main(int argc, char *argv[]) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */
    struct addrinfo hints, *found;
    unsigned char request[20], answer[1500];
    struct sockaddr_in server, from;
    socklen_t from_len;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: stun-client HOST [PORT]\n");
        exit(BAD_INPUT);
    }
    if (argc == 3) {
        char *end;
        long number = strtol(argv[2], &end, 10);
        if (!isdigit((unsigned char)argv[2][0]) || *end != '\0' || number < 1 || number > 65535) {
            fprintf(stderr, "stun-client: port must be a number from 1 to 65535, not '%s'\n",
                    argv[2]);
            exit(BAD_INPUT);
        }
        port = (int)number;
    }
    const char *host = argv[1];
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    int status = getaddrinfo(host, NULL, &hints, &found);
    if (status != 0) {
        fprintf(stderr, "stun-client: unknown host %s: %s\n", host, gai_strerror(status));
        exit(EXIT_FAILURE);
    }
    memcpy(&server, found->ai_addr, sizeof(server));
    server.sin_port = htons(port);
    freeaddrinfo(found);

    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (sock < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }

    /* The request: type, length 0 (no attributes), cookie, 96 random bits of id */
    request[0] = BINDING_REQUEST >> 8;
    request[1] = BINDING_REQUEST & 0xff;
    request[2] = request[3] = 0;
    for (int i = 0; i < 4; i++)
        request[4 + i] = (unsigned char)(MAGIC_COOKIE >> (24 - 8 * i));
    if (getrandom(request + 8, 12, 0) != 12) {
        perror("getrandom failed");
        exit(EXIT_FAILURE);
    }

    long long first = now_ms(), next_send = first, wait_ms = FIRST_WAIT_MS;
    while (1) {
        long long now = now_ms();
        if (now >= first + GIVE_UP_MS) {
            fprintf(stderr, "stun-client: no answer from %s:%d in %d s\n", host, port,
                    GIVE_UP_MS / 1000);
            exit(EXIT_FAILURE);
        }
        if (now >= next_send) { /* the same request again: the same transaction */
            if (sendto(sock, request, sizeof(request), 0, (struct sockaddr *)&server,
                       sizeof(server)) < 0)
                perror("sendto failed"); /* e.g. an ICMP error from the last one: retry */
            next_send = now + wait_ms;
            wait_ms *= 2;
        }
        long long until = next_send < first + GIVE_UP_MS ? next_send : first + GIVE_UP_MS;
        struct pollfd entry = {.fd = sock, .events = POLLIN};
        int ready = poll(&entry, 1, (int)(until - now_ms() > 0 ? until - now_ms() : 0));
        if (ready < 0 && errno != EINTR) {
            perror("poll failed");
            exit(EXIT_FAILURE);
        }
        if (ready <= 0)
            continue;
        from_len = sizeof(from);
        ssize_t n = recvfrom(sock, answer, sizeof(answer), 0, (struct sockaddr *)&from, &from_len);
        if (n < 0) { /* ECONNREFUSED: an ICMP port unreachable; the server may yet start */
            continue;
        }
        /* Only the server's address may answer */
        if (from_len != sizeof(from) || from.sin_family != AF_INET ||
            from.sin_addr.s_addr != server.sin_addr.s_addr || from.sin_port != server.sin_port)
            continue;
        switch (check(answer, (size_t)n, request + 8)) {
        case NOT_OURS:
            continue;
        case ANSWER:
            printf("%s\n", what);
            close(sock);
            return 0;
        case SERVER_ERROR:
            fprintf(stderr, "stun-client: %s\n", what);
            exit(EXIT_FAILURE);
        default:
            fprintf(stderr, "stun-client: malformed answer: %s\n", what);
            exit(EXIT_FAILURE);
        }
    }
}
