/* chat-server's queues: the bytes waiting for each client, apart from the poll loop
 * so that fuzz/chat-c can drive them with any chunks in any order. */
#include <stddef.h>
#include <netinet/in.h>

#define CHUNK 4096            /* the chapter's reader.read(4096) */

struct client {
    int fd;
    int gone;                           /* left or failed: closed after this pass */
    char name[INET6_ADDRSTRLEN + 8];    /* "[::ffff:127.0.0.1]:54321", for messages */
    char *out;                          /* waiting to be sent: out[start] to out[len] */
    size_t start, len, cap;
};

/* Appends n bytes to c's output buffer, growing it if need be; -1 if memory runs out. */
int queue(struct client *c, const char *data, size_t n);

/* Sends what c's socket takes now; the rest waits for the next POLLOUT. -1 on error. */
int flush(struct client *c);
