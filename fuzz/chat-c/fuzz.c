/* libFuzzer target: chat-server's queue and flush (CSources/chat/queue.c), driven as
 * the poll loop drives them. The input is a script, a byte per step: high bit clear,
 * queue a chunk of (byte * 64 + next byte) bytes for the client; high bit set, flush
 * to its socket, then let the client read up to (byte & 0x7f) * 512 bytes. The socket
 * is one end of a socket pair with a small buffer, so sends are often partial. What
 * the client reads must be exactly what was queued, in order, nothing lost or doubled. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "../../CSources/chat/queue.h"

#define MAX_PENDING (1 << 20) /* as in server.c: more waiting, and the client is dropped */

static size_t queued, received; /* bytes so far, each the pattern byte of its position */

static unsigned char pattern(size_t position) { return (unsigned char)(position * 31 % 251); }

/* The client reads up to most bytes; each must be the next one queued. */
static void client_reads(int fd, size_t most) {
    unsigned char buf[4096];
    ssize_t n, i;
    while (most > 0) {
        n = recv(fd, buf, most < sizeof(buf) ? most : sizeof(buf), MSG_DONTWAIT);
        if (n <= 0) return;
        for (i = 0; i < n; i++)
            if (buf[i] != pattern(received + (size_t)i)) {
                fprintf(stderr, "byte %zu differs from what was queued\n", received + (size_t)i);
                abort();
            }
        received += (size_t)n;
        most -= (size_t)n;
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    static char chunk[128 * 64 + 256];
    struct client c;
    int pair[2], small = 4096, flags;
    size_t i = 0, n, k;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0) abort();
    setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    flags = fcntl(pair[0], F_GETFL);
    fcntl(pair[0], F_SETFL, flags | O_NONBLOCK); /* as the server's client sockets */
    memset(&c, 0, sizeof(c));
    c.fd = pair[0];
    strcpy(c.name, "fuzz");
    queued = received = 0;

    while (i < size) {
        unsigned char op = data[i++];
        if (op & 0x80) {
            if (flush(&c) < 0) abort();
            client_reads(pair[1], (size_t)(op & 0x7f) * 512);
            continue;
        }
        n = (size_t)op * 64 + (i < size ? data[i++] : 0);
        if (c.len - c.start + n > MAX_PENDING) continue; /* the server drops it instead */
        for (k = 0; k < n; k++) chunk[k] = (char)pattern(queued + k);
        if (queue(&c, chunk, n) < 0) abort();
        queued += n;
        if (c.start > c.len || c.len > c.cap) abort();
    }
    /* The client reads the rest: everything queued arrives */
    while (received < queued) {
        size_t before = received;
        if (flush(&c) < 0) abort();
        client_reads(pair[1], SIZE_MAX);
        if (received == before && c.start == c.len) break;
    }
    if (received != queued) {
        fprintf(stderr, "queued %zu bytes, the client got %zu\n", queued, received);
        abort();
    }
    free(c.out);
    close(pair[0]);
    close(pair[1]);
    return 0;
}
