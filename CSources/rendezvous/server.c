/* rendezvous server (the kit's own): introduces two peers who want to talk directly.
 * Each peer connects over TCP and says REGISTER <name> <peer> <ip>:<port>, its address
 * as a STUN server saw it; once both of a pair have named each other, each hears the
 * other's address (PEER <name> <ip>:<port>) and can start punching holes. If that
 * fails, RELAY <ip>:<port> passes a TURN relay's address on to the other of the pair.
 * One thread and poll serve every connection; the protocol is in lectures/rendezvous.md. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PORT 3479
#define MAX_CLIENTS 1024
#define LINE_MAX_BYTES 255 /* a line, "\n" included */
#define NAME_MAX_CHARS 32
#define ADDRESS_CHARS 22   /* 255.255.255.255:65535 and a NUL */

struct client {
    int fd;                    /* -1: a free slot */
    char from[ADDRESS_CHARS];  /* its TCP address, to name it in errors */
    char line[LINE_MAX_BYTES]; /* what it sent of its current line */
    size_t length;
    char name[NAME_MAX_CHARS + 1];  /* empty until it registers */
    char peer[NAME_MAX_CHARS + 1];
    char candidate[ADDRESS_CHARS];
    int partner;               /* index of its pair's other peer, or -1 */
    int paired;                /* it has had its PEER line */
};

static struct client clients[MAX_CLIENTS];

/* 1 to 32 characters from [A-Za-z0-9_-] */
int valid_name(const char *name) {
    size_t length = strlen(name);
    if (length < 1 || length > NAME_MAX_CHARS)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
            return 0;
    return 1;
}

/* A dotted IPv4 address, a colon, and a port from 1 to 65535 in plain digits */
int valid_address(const char *text) {
    char ip[INET_ADDRSTRLEN];
    struct in_addr parsed;
    const char *colon = strrchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof(ip))
        return 0;
    memcpy(ip, text, (size_t)(colon - text));
    ip[colon - text] = '\0';
    const char *port = colon + 1;
    size_t digits = strspn(port, "0123456789");
    if (inet_pton(AF_INET, ip, &parsed) != 1 || digits < 1 || digits > 5 ||
        port[digits] != '\0' || port[0] == '0' || atoi(port) > 65535)
        return 0;
    return 1;
}

/* One line to a client; the lines are short, so a send that does not take it all means
 * a peer that stopped reading: it is dropped by the caller. */
int send_line(int index, const char *line) {
    size_t length = strlen(line);
    return send(clients[index].fd, line, length, MSG_NOSIGNAL) == (ssize_t)length ? 0 : -1;
}

void drop(int index) {
    struct client *c = &clients[index];
    if (c->name[0] != '\0')
        printf("%s left\n", c->name);
    if (c->partner >= 0)
        clients[c->partner].partner = -1;
    if (close(c->fd) < 0)
        perror("close failed");
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->partner = -1;
}

/* An ERROR line, then the connection is closed: the server goes on with the rest. */
void refuse(int index, const char *reason) {
    char line[LINE_MAX_BYTES];
    printf("error from %s: %s\n", clients[index].from, reason);
    snprintf(line, sizeof(line), "ERROR %s\n", reason);
    send_line(index, line);
    drop(index);
}

void on_register(int index, char *name, char *peer, char *candidate) {
    struct client *c = &clients[index];
    if (c->name[0] != '\0') {
        refuse(index, "already registered");
        return;
    }
    if (!valid_name(name) || !valid_name(peer)) {
        refuse(index, "bad name");
        return;
    }
    if (!valid_address(candidate)) {
        refuse(index, "bad address");
        return;
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (clients[i].fd >= 0 && strcmp(clients[i].name, name) == 0) {
            refuse(index, "name already registered");
            return;
        }
    }
    strcpy(c->name, name);
    strcpy(c->peer, peer);
    strcpy(c->candidate, candidate);
    /* Its peer, waiting for it by name? */
    int other = -1;
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (i != index && clients[i].fd >= 0 && !clients[i].paired &&
            strcmp(clients[i].name, peer) == 0 && strcmp(clients[i].peer, name) == 0)
            other = i;
    if (other < 0) {
        printf("%s registered (waiting for %s)\n", name, peer);
        return;
    }
    char line[LINE_MAX_BYTES];
    c->partner = other;
    clients[other].partner = index;
    c->paired = clients[other].paired = 1;
    printf("paired %s and %s\n", clients[other].name, name);
    snprintf(line, sizeof(line), "PEER %s %s\n", name, candidate);
    if (send_line(other, line) < 0)
        drop(other);
    snprintf(line, sizeof(line), "PEER %s %s\n", clients[other].name, clients[other].candidate);
    if (send_line(index, line) < 0)
        drop(index);
}

void on_relay(int index, char *relay) {
    struct client *c = &clients[index];
    if (!c->paired) {
        refuse(index, "RELAY before PEER");
        return;
    }
    if (!valid_address(relay)) {
        refuse(index, "bad address");
        return;
    }
    if (c->partner < 0) {
        refuse(index, "the peer has left");
        return;
    }
    char line[LINE_MAX_BYTES];
    printf("relay from %s\n", c->name);
    snprintf(line, sizeof(line), "RELAY %s %s\n", c->name, relay);
    if (send_line(c->partner, line) < 0)
        drop(c->partner);
}

/* One complete line, without its "\n" */
void on_line(int index, char *line) {
    char *words[5], *rest = NULL;
    int count = 0;
    for (char *word = strtok_r(line, " ", &rest); word != NULL && count < 5;
         word = strtok_r(NULL, " ", &rest))
        words[count++] = word;
    if (count == 4 && strcmp(words[0], "REGISTER") == 0)
        on_register(index, words[1], words[2], words[3]);
    else if (count == 2 && strcmp(words[0], "RELAY") == 0)
        on_relay(index, words[1]);
    else
        refuse(index, "unknown command");
}

/* Readable: take what came, and act on each complete line in it. */
void on_readable(int index) {
    struct client *c = &clients[index];
    char data[512];
    ssize_t n = recv(c->fd, data, sizeof(data), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) { /* closed or reset: it is forgotten, its name free again */
        drop(index);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (data[i] == '\n') {
            c->line[c->length] = '\0';
            c->length = 0;
            int fd = c->fd;
            on_line(index, c->line);
            if (clients[index].fd != fd) /* refused: the rest of what it sent is moot */
                return;
        } else if (c->length == LINE_MAX_BYTES - 1 || data[i] == '\0') {
            refuse(index, data[i] == '\0' ? "NUL in a line" : "line too long");
            return;
        } else {
            c->line[c->length++] = data[i];
        }
    }
}

void accept_client(int listener) {
    struct sockaddr_in peer;
    socklen_t peer_len = sizeof(peer);
    int fd = accept(listener, (struct sockaddr *)&peer, &peer_len);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
            perror("accept failed");
        return;
    }
    int index = 0;
    while (index < MAX_CLIENTS && clients[index].fd >= 0)
        index++;
    if (index == MAX_CLIENTS || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        fprintf(stderr, "refused a client: no room\n");
        close(fd);
        return;
    }
    struct client *c = &clients[index];
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
    snprintf(c->from, sizeof(c->from), "%s:%d", ip, ntohs(peer.sin_port));
    c->fd = fd;
}

int main(int argc, char *argv[]) {
    struct sockaddr_in address;
    struct pollfd fds[MAX_CLIENTS + 1];
    int where[MAX_CLIENTS + 1]; /* fds[i] watches clients[where[i]] */
    int opt = 1;
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */

    if (argc > 2) {
        fprintf(stderr, "usage: rendezvous-server [PORT]\n");
        exit(64);
    }
    if (argc == 2) {
        char *end;
        long number = strtol(argv[1], &end, 10);
        if (!isdigit((unsigned char)argv[1][0]) || *end != '\0' || number < 1 || number > 65535) {
            fprintf(stderr, "rendezvous-server: port must be a number from 1 to 65535, not '%s'\n",
                    argv[1]);
            exit(64);
        }
        port = (int)number;
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
        clients[i].fd = -1;
        clients[i].partner = -1;
    }

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    if (setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(port);
    if (bind(listener, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    if (listen(listener, SOMAXCONN) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }
    printf("listening on port %d\n", port);

    while (1) {
        /* Who to watch: the listener, then every open connection */
        nfds_t count = 1;
        fds[0].fd = listener;
        fds[0].events = POLLIN;
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (clients[i].fd >= 0) {
                fds[count].fd = clients[i].fd;
                fds[count].events = POLLIN;
                where[count++] = i;
            }
        if (poll(fds, count, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll failed");
            exit(EXIT_FAILURE);
        }
        for (nfds_t i = 1; i < count; i++)
            /* still the same connection: an earlier one's line may have dropped it */
            if (fds[i].revents && clients[where[i]].fd == fds[i].fd)
                on_readable(where[i]);
        if (fds[0].revents & POLLIN)
            accept_client(listener);
    }
}
