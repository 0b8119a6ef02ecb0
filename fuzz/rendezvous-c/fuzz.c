/* libFuzzer target: rendezvous-server's handling of what its clients send
 * (CSources/rendezvous/server.c, included whole with its main renamed, so the
 * program stays as the lecture lists it). Three clients, each a socket pair whose
 * server end sits in the server's table as accept_client would put it; the input is a
 * script: a byte picks a client (byte % 3) and a chunk length (byte / 4), that many
 * bytes follow and are sent, then the server's on_readable takes them as poll would
 * have it. What it checks besides crashes, overreads (ASan) and undefined behaviour:
 * - every line the server sends is PEER <name> <ip>:<port>, RELAY <name> <ip>:<port>
 *   or ERROR <reason> with a reason of lectures/rendezvous.md's table;
 * - after ERROR the server sends nothing more, and closes that connection;
 * - a bad line (an unknown first word, a NUL, 255 bytes without "\n") never goes
 *   unanswered: by the time on_readable returns, that client has had its ERROR. */
#define main rendezvous_server_main
#include "../../CSources/rendezvous/server.c"
#undef main

#define PEERS 3

static const char *reasons[] = {
    "unknown command", "usage: REGISTER <name> <peer> <ip>:<port>", "usage: RELAY <ip>:<port>",
    "bad name", "bad address", "line too long", "NUL in a line", "already registered",
    "name already registered", "RELAY before PEER", "the peer has left",
};

struct end {
    int fd;              /* our end of the pair, -1: none */
    char sent[4096];     /* what this connection sent (a prefix, if more) */
    size_t sent_length;
    char got[1024];      /* what it received, not yet a whole line */
    size_t got_length;
    int refused, closed; /* it had its ERROR; the server closed it */
    int hung_up;         /* we closed our side: the server may close without a word */
};
static struct end ends[PEERS];

static void fail(int peer, const char *why, const char *line) {
    fprintf(stderr, "client %d: %s: \"%s\"\n", peer, why, line);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (freopen("/dev/null", "w", stdout) == NULL) /* the server's log lines */
        abort();
    for (int i = 0; i < MAX_CLIENTS; i++) {
        clients[i].fd = -1;
        clients[i].partner = -1;
    }
    return 0;
}

/* A new connection in slot i, as accept_client makes one */
static void connect_peer(int i) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0 ||
        fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK) < 0)
        abort();
    memset(&ends[i], 0, sizeof(ends[i]));
    ends[i].fd = pair[1];
    clients[i].fd = pair[0];
    clients[i].partner = -1;
    snprintf(clients[i].from, sizeof(clients[i].from), "10.0.0.%d:4000", i);
}

/* One line the server sent */
static void check_line(int i, char *line) {
    char name[64], address[64], extra;
    if (ends[i].refused)
        fail(i, "a line after ERROR", line);
    if (strncmp(line, "ERROR ", 6) == 0) {
        for (size_t r = 0; r < sizeof(reasons) / sizeof(reasons[0]); r++)
            if (strcmp(line + 6, reasons[r]) == 0) {
                ends[i].refused = 1;
                return;
            }
        fail(i, "ERROR with a reason the protocol does not have", line);
    }
    if ((sscanf(line, "PEER %63s %63s%c", name, address, &extra) == 2 ||
         sscanf(line, "RELAY %63s %63s%c", name, address, &extra) == 2) &&
        valid_name(name) && valid_address(address))
        return;
    fail(i, "not a line of the protocol", line);
}

/* Everything the server sent to client i so far, line by line */
static void receive(int i) {
    char data[512];
    ssize_t n;
    while ((n = recv(ends[i].fd, data, sizeof(data), MSG_DONTWAIT)) > 0)
        for (ssize_t k = 0; k < n; k++) {
            struct end *e = &ends[i];
            if (data[k] == '\n') {
                e->got[e->got_length] = '\0';
                e->got_length = 0;
                check_line(i, e->got);
            } else if (e->got_length == sizeof(e->got) - 1) {
                fail(i, "a line longer than the protocol allows", e->got);
            } else {
                e->got[e->got_length++] = data[k];
            }
        }
    if (n == 0) {
        if (ends[i].got_length > 0)
            fail(i, "a last line without its newline", ends[i].got);
        ends[i].closed = 1;
    }
}

/* Is there a line in what it sent that must have been refused? */
static int sent_a_bad_line(int i) {
    const char *line = ends[i].sent, *end = ends[i].sent + ends[i].sent_length;
    while (line < end) {
        const char *newline = memchr(line, '\n', (size_t)(end - line));
        const char *stop = newline ? newline : end;
        if (memchr(line, '\0', (size_t)(stop - line)) != NULL || stop - line >= LINE_MAX_BYTES)
            return 1;
        if (newline == NULL)
            return 0; /* not a whole line yet */
        const char *word = line;
        while (word < stop && *word == ' ')
            word++;
        size_t length = strcspn(word, " \n");
        if (!(length == 8 && memcmp(word, "REGISTER", 8) == 0) &&
            !(length == 5 && memcmp(word, "RELAY", 5) == 0))
            return 1;
        line = newline + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    for (int i = 0; i < PEERS; i++)
        connect_peer(i);
    size_t at = 0;
    while (at < size) {
        int i = data[at] % PEERS;
        size_t length = data[at] / 4u;
        at++;
        if (length > size - at)
            length = size - at;
        if (ends[i].closed) { /* a new client takes the free slot */
            close(ends[i].fd);
            connect_peer(i);
        }
        if (clients[i].fd < 0) /* dropped, not yet seen closed: it reads the end first */
            goto next;
        if (send(ends[i].fd, data + at, length, MSG_NOSIGNAL) != (ssize_t)length)
            abort();
        size_t room = sizeof(ends[i].sent) - ends[i].sent_length;
        memcpy(ends[i].sent + ends[i].sent_length, data + at, length < room ? length : room);
        ends[i].sent_length += length < room ? length : room;
        if (length == 0) { /* no chunk: the client hangs up */
            shutdown(ends[i].fd, SHUT_WR);
            ends[i].hung_up = 1;
        }
        on_readable(i);
    next:
        at += length;
        for (int k = 0; k < PEERS; k++)
            receive(k);
        for (int k = 0; k < PEERS; k++) {
            if (ends[k].refused && !ends[k].closed)
                fail(k, "ERROR, and the connection stayed open", "");
            if (ends[k].closed && !ends[k].refused && !ends[k].hung_up)
                fail(k, "closed without an ERROR", "");
            if (!ends[k].refused && !ends[k].closed && clients[k].fd >= 0 && sent_a_bad_line(k))
                fail(k, "a bad line went unanswered", ends[k].sent);
        }
    }
    for (int i = 0; i < PEERS; i++) {
        if (clients[i].fd >= 0)
            drop(i);
        close(ends[i].fd);
    }
    return 0;
}
