/* chat-server's queues (queue.h): what one client is owed, kept until its socket
 * takes it, so that a client that does not read holds up nobody else. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "queue.h"

/* Appends to c's output buffer, growing it if need be; -1 if memory runs out. */
int queue(struct client *c, const char *data, size_t n) {
    /* Nothing to add: a client that was never owed anything has no buffer yet, and
     * memcpy to NULL is undefined even for 0 bytes (found by fuzz/chat-c) */
    if (n == 0)
        return 0;
    if (c->len + n > c->cap && c->start > 0) { /* move what is left to the front */
        memmove(c->out, c->out + c->start, c->len - c->start);
        c->len -= c->start;
        c->start = 0;
    }
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? 2 * c->cap : CHUNK;
        char *out;
        while (cap < c->len + n)
            cap *= 2;
        if ((out = realloc(c->out, cap)) == NULL)
            return -1;
        c->out = out;
        c->cap = cap;
    }
    memcpy(c->out + c->len, data, n);
    c->len += n;
    return 0;
}

/* Sends what the socket takes now; the rest waits for the next POLLOUT. -1 on error.
 * MSG_NOSIGNAL: a peer that has gone makes send fail with EPIPE, not raise SIGPIPE,
 * whose default action would end the server and every conversation in it. */
int flush(struct client *c) {
    while (c->start < c->len) {
        ssize_t n = send(c->fd, c->out + c->start, c->len - c->start, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            fprintf(stderr, "%s: send failed: %s\n", c->name, strerror(errno));
            return -1;
        }
        c->start += (size_t)n;
    }
    c->start = c->len = 0;
    return 0;
}
