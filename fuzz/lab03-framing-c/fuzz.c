/* libFuzzer target: lab 03's reference server (labs/03-framing/reference/c/server.c),
 * its serve() on any bytes a client sends before it closes. The file is included
 * whole, main renamed: the reference stays the one file students compare theirs with.
 * The reply must be exactly what the framing says, worked out here on its own: for
 * each whole message (a 4-byte big-endian length up to 1 MiB, then that many bytes),
 * the same length and the payload with a-z uppercased; nothing for a message cut short
 * or after a length over 1 MiB (the server closes there). */
#include <pthread.h>
#include <stdio.h>
static FILE *quiet; /* the server's "Length ... is over 1 MiB" lines, at every such input */
#undef stderr
#define stderr quiet
#define main framing_server_main
#include "../../labs/03-framing/reference/c/server.c"
#undef main
#undef stderr

static char message[4 + MAX_LENGTH];
static unsigned char got[65536 + 1];
static size_t received;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if ((quiet = fopen("/dev/null", "w")) == NULL)
        abort();
    return 0;
}

/* The client reads the replies as they come: many small ones would fill the socket's
 * buffer, and the server would wait in send for a reader */
static void *client_reads(void *fd) {
    ssize_t r;
    received = 0;
    while ((r = recv(*(int *)fd, got + received, sizeof(got) - received, 0)) > 0)
        received += (size_t)r;
    return NULL;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    static unsigned char expected[65536];
    int pair[2];
    pthread_t reader;
    if (size > 60000) /* all of it and the replies fit in the socket buffers */
        return 0;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0)
        abort();
    if (send(pair[1], data, size, 0) != (ssize_t)size)
        abort();
    shutdown(pair[1], SHUT_WR); /* the client closes: serve returns */
    if (pthread_create(&reader, NULL, client_reads, &pair[1]) != 0)
        abort();
    serve(pair[0], message);
    close(pair[0]);
    pthread_join(reader, NULL);

    size_t n = 0, at = 0;
    while (size - at >= 4) {
        uint32_t length = (uint32_t)data[at] << 24 | (uint32_t)data[at + 1] << 16 |
                          (uint32_t)data[at + 2] << 8 | data[at + 3];
        if (length > MAX_LENGTH || length > size - at - 4)
            break;
        memcpy(expected + n, data + at, 4 + length);
        for (size_t i = 4; i < 4 + length; i++)
            if (expected[n + i] >= 'a' && expected[n + i] <= 'z')
                expected[n + i] -= 'a' - 'A';
        n += 4 + length;
        at += 4 + length;
    }
    close(pair[1]);
    if (received != n || memcmp(got, expected, n) != 0) {
        fprintf(stderr, "expected %zu bytes of replies, got %zu%s\n", n, received,
                received == n ? " (different bytes)" : "");
        abort();
    }
    return 0;
}
