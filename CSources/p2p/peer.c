/* p2p peer (the kit's own): two programs behind NATs reach each other directly.
 * 1. Ask a STUN server which public address our UDP socket has (mapped).
 * 2. Tell a rendezvous server (TCP, lectures/rendezvous.md) and learn the peer's.
 * 3. Both send probes to each other's mapped address at once: each NAT sees its own
 *    host send first, so it lets the other's datagrams in (hole punching).
 * 4. If nothing gets through in 3 s, fall back to a TURN relay: allocate an address
 *    on the TURN server, swap relays through the rendezvous server, and send to the
 *    peer's relay, which passes it on to the peer inside a Data indication.
 * One UDP socket does all of it, so every NAT mapping is the same one. */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "stun.h"

#define DEADLINE_MS 20000  /* for everything */
#define STUN_GIVE_UP_MS 5000
#define FIRST_WAIT_MS 500  /* then 1000, 2000...: RFC 8489's retransmissions */
#define PROBE_EVERY_MS 200
#define PUNCH_MS 3000
#define LINGER_MS 1000     /* answering the peer's hellos after ours got through */
#define LINE_MAX_BYTES 255
#define BAD_INPUT 64

static const char *name, *peer;
static int sock, rendezvous;
static long long deadline;
static struct sockaddr_in stun_server, turn_server, peer_mapped, peer_relay;
static char line[LINE_MAX_BYTES + 1];   /* the rendezvous server's last line */
static char pending[2 * LINE_MAX_BYTES]; /* what it sent after that line */
static size_t pending_length;
static unsigned char answer[STUN_MAX];  /* the last STUN/TURN answer */
static struct stun_parsed parsed;
static char realm[764], nonce[764];     /* TURN's long-term credentials */
static unsigned char key[16];

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void fail(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fprintf(stderr, "p2p-peer: ");
    vfprintf(stderr, format, arguments);
    fprintf(stderr, "\n");
    va_end(arguments);
    exit(EXIT_FAILURE);
}

static void check_deadline(const char *waiting_for) {
    if (now_ms() >= deadline)
        fail("%s did not happen in %d s", waiting_for, DEADLINE_MS / 1000);
}

/* Milliseconds poll may wait until until, at most */
static int wait_ms(long long until) {
    long long left = (until < deadline ? until : deadline) - now_ms();
    return left > 0 ? (int)left : 0;
}

static const char *text_address(const struct sockaddr_in *address) {
    static char text[32];
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &address->sin_addr, ip, sizeof(ip));
    snprintf(text, sizeof(text), "%s:%d", ip, ntohs(address->sin_port));
    return text;
}

static int same_address(const struct sockaddr_in *a, const struct sockaddr_in *b) {
    return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

/* 1 to 32 characters from [A-Za-z0-9_-], as the rendezvous server wants */
static int valid_name(const char *text) {
    size_t length = strlen(text);
    if (length < 1 || length > 32)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (!isalnum((unsigned char)text[i]) && text[i] != '_' && text[i] != '-')
            return 0;
    return 1;
}

/* "host:port" (a name or dotted IPv4) into an address; numeric only if numeric is set */
static int parse_address(const char *text, struct sockaddr_in *out, int numeric) {
    char host[256];
    const char *colon = strrchr(text, ':');
    if (colon == NULL || colon == text || (size_t)(colon - text) >= sizeof(host))
        return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    const char *port = colon + 1;
    size_t digits = strspn(port, "0123456789");
    if (digits < 1 || digits > 5 || port[digits] != '\0' || port[0] == '0' || atoi(port) > 65535)
        return -1;
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    out->sin_port = htons(atoi(port));
    if (numeric)
        return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
    struct addrinfo hints, *found;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    int status = getaddrinfo(host, NULL, &hints, &found);
    if (status != 0)
        fail("unknown host %s: %s", host, gai_strerror(status));
    out->sin_addr = ((struct sockaddr_in *)found->ai_addr)->sin_addr;
    freeaddrinfo(found);
    return 0;
}

/* Sends request to server and waits for the answer with its transaction id, resending
 * it after 500 ms, 1 s, 2 s...; gives up at give_up. Other datagrams are not for now. */
static void transact(struct stun_message *request, const struct sockaddr_in *server,
                     long long give_up, const char *what) {
    long long next_send = now_ms(), wait = FIRST_WAIT_MS;
    char error[200];
    while (1) {
        if (now_ms() >= give_up) {
            check_deadline(what);
            fail("no answer from %s in %d s", text_address(server), STUN_GIVE_UP_MS / 1000);
        }
        check_deadline(what);
        if (now_ms() >= next_send) {
            if (sendto(sock, request->bytes, request->length, 0, (struct sockaddr *)server,
                       sizeof(*server)) < 0 && errno != ECONNREFUSED)
                perror("sendto failed");
            next_send = now_ms() + wait;
            wait *= 2;
        }
        struct pollfd entry = {.fd = sock, .events = POLLIN};
        if (poll(&entry, 1, wait_ms(next_send < give_up ? next_send : give_up)) <= 0)
            continue;
        struct sockaddr_in from;
        socklen_t from_len = sizeof(from);
        ssize_t n = recvfrom(sock, answer, sizeof(answer), 0, (struct sockaddr *)&from, &from_len);
        if (n < 0 || !same_address(&from, server))
            continue; /* an ICMP error, a probe from the peer... */
        if (n >= 20 && memcmp(answer + 8, request->bytes + 8, 12) != 0)
            continue; /* not ours: an indication, or a stray answer */
        if (stun_parse(answer, (size_t)n, &parsed, error, sizeof(error)) < 0)
            fail("malformed answer to %s: %s", what, error);
        unsigned method = request->bytes[0] << 8 | request->bytes[1];
        if (parsed.type != (method | SUCCESS) && parsed.type != (method | FAILURE))
            fail("malformed answer to %s: message type 0x%04x", what, parsed.type);
        return;
    }
}

/* The next line from the rendezvous server (an ERROR line, or its closing, ends us) */
static void read_line(const char *waiting_for) {
    while (1) {
        char *end = memchr(pending, '\n', pending_length);
        if (end != NULL) {
            size_t length = (size_t)(end - pending);
            memcpy(line, pending, length);
            line[length] = '\0';
            memmove(pending, end + 1, pending_length - length - 1);
            pending_length -= length + 1;
            if (strncmp(line, "ERROR", 5) == 0)
                fail("the rendezvous server said: %s", line);
            return;
        }
        if (pending_length > LINE_MAX_BYTES)
            fail("the rendezvous server sent a line too long");
        check_deadline(waiting_for);
        struct pollfd entry = {.fd = rendezvous, .events = POLLIN};
        if (poll(&entry, 1, wait_ms(deadline)) <= 0)
            continue;
        ssize_t n = recv(rendezvous, pending + pending_length, sizeof(pending) - pending_length, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            fail("the rendezvous server closed the connection");
        pending_length += (size_t)n;
    }
}

static void send_line(const char *text) {
    size_t length = strlen(text);
    if (send(rendezvous, text, length, MSG_NOSIGNAL) != (ssize_t)length)
        fail("cannot send to the rendezvous server: %s", strerror(errno));
}

/* "WORD <peer> <ip>:<port>" from the rendezvous server, for our peer */
static void expect_line(const char *word, struct sockaddr_in *address, const char *waiting_for) {
    char copy[sizeof(line)], *rest = NULL;
    read_line(waiting_for);
    strcpy(copy, line);
    char *first = strtok_r(copy, " ", &rest), *who = strtok_r(NULL, " ", &rest);
    char *where = strtok_r(NULL, " ", &rest);
    if (first == NULL || strcmp(first, word) != 0 || who == NULL || strcmp(who, peer) != 0 ||
        where == NULL || strtok_r(NULL, " ", &rest) != NULL || parse_address(where, address, 1) < 0)
        fail("unexpected line from the rendezvous server: %s", line);
}

/* Whether text is "probe from PEER" or "hello from PEER" (0: neither, 'p' or 'h') */
static int from_peer(const char *text, size_t length) {
    char probe[64], hello[64];
    snprintf(probe, sizeof(probe), "probe from %s", peer);
    snprintf(hello, sizeof(hello), "hello from %s", peer);
    if (length == strlen(probe) && memcmp(text, probe, length) == 0)
        return 'p';
    if (length == strlen(hello) && memcmp(text, hello, length) == 0)
        return 'h';
    return 0;
}

/* The peer's next datagram, if one came within until: its text straight from the peer
 * on the direct path; inside a Data indication from the TURN server on the relayed one. */
static int receive_from_peer(int relayed, long long until) {
    unsigned char data[STUN_MAX];
    struct sockaddr_in from;
    socklen_t from_len = sizeof(from);
    char error[200];
    struct pollfd entry = {.fd = sock, .events = POLLIN};
    if (poll(&entry, 1, wait_ms(until)) <= 0)
        return 0;
    ssize_t n = recvfrom(sock, data, sizeof(data), 0, (struct sockaddr *)&from, &from_len);
    if (n < 0)
        return 0;
    if (!relayed)
        return same_address(&from, &peer_mapped) ? from_peer((char *)data, (size_t)n) : 0;
    if (!same_address(&from, &turn_server) ||
        stun_parse(data, (size_t)n, &parsed, error, sizeof(error)) < 0 ||
        parsed.type != DATA_INDICATION || parsed.data.value == NULL)
        return 0;
    return from_peer((const char *)parsed.data.value, parsed.data.length);
}

/* Sends our hello every 200 ms until the peer's hello comes, then answers its
 * datagrams for a second (it may have missed ours), at most one answer per 200 ms:
 * the peer lingers too, and two peers answering every hello would flood each other. */
static void exchange(int relayed, int seen) {
    const struct sockaddr_in *to = relayed ? &peer_relay : &peer_mapped;
    char hello[64], waiting_for[80];
    snprintf(hello, sizeof(hello), "hello from %s", name);
    snprintf(waiting_for, sizeof(waiting_for), "%s's hello", peer);
    long long next_send = now_ms(), linger_end = 0, next_answer = 0;
    while (1) {
        if (seen == 'h' && linger_end == 0) {
            printf("%s: from %s: hello from %s\n", relayed ? "relayed" : "direct", peer, peer);
            linger_end = now_ms() + LINGER_MS;
        }
        if (linger_end == 0 && now_ms() >= next_send) {
            sendto(sock, hello, strlen(hello), 0, (struct sockaddr *)to, sizeof(*to));
            next_send = now_ms() + PROBE_EVERY_MS;
        }
        if (linger_end != 0 && seen && now_ms() >= next_answer) {
            sendto(sock, hello, strlen(hello), 0, (struct sockaddr *)to, sizeof(*to));
            next_answer = now_ms() + PROBE_EVERY_MS;
        }
        if (linger_end != 0 && now_ms() >= linger_end)
            exit(EXIT_SUCCESS);
        if (linger_end == 0)
            check_deadline(waiting_for);
        seen = receive_from_peer(relayed, linger_end ? linger_end : next_send);
        if (linger_end == 0 && seen != 'h')
            seen = 0;
    }
}

/* Probes to the peer's mapped address every 200 ms for 3 s: what came back, if anything */
static int punch(void) {
    char probe[64];
    snprintf(probe, sizeof(probe), "probe from %s", name);
    long long end = now_ms() + PUNCH_MS, next_send = now_ms();
    while (now_ms() < end) {
        check_deadline("hole punching");
        if (now_ms() >= next_send) {
            /* errors (ECONNREFUSED from an earlier probe's ICMP) are expected here */
            sendto(sock, probe, strlen(probe), 0, (struct sockaddr *)&peer_mapped,
                   sizeof(peer_mapped));
            next_send = now_ms() + PROBE_EVERY_MS;
        }
        int seen = receive_from_peer(0, next_send < end ? next_send : end);
        if (seen)
            return seen;
    }
    return 0;
}

/* A TURN request with the long-term credentials; a 438 (stale nonce) is retried once
 * with the nonce it brings. Returns with the success answer in parsed. */
static void turn_request(unsigned method, const char *what, const char *user) {
    struct stun_message request;
    char text[800];
    for (int attempt = 0;; attempt++) {
        if (stun_start(&request, method) < 0)
            fail("getrandom failed");
        if (method == ALLOCATE) {
            unsigned char transport[4] = {17, 0, 0, 0}; /* UDP */
            stun_add(&request, REQUESTED_TRANSPORT, transport, 4);
        } else {
            stun_add_address(&request, XOR_PEER_ADDRESS, &peer_mapped);
        }
        stun_add(&request, USERNAME, user, strlen(user));
        stun_add(&request, REALM, realm, strlen(realm));
        stun_add(&request, NONCE, nonce, strlen(nonce));
        if (stun_add_integrity(&request, key) < 0)
            fail("HMAC-SHA1 failed");
        transact(&request, &turn_server, deadline, what);
        if (parsed.type == (method | SUCCESS))
            return;
        stun_error_text(parsed.error, text, sizeof(text));
        if (attempt > 0 || strncmp(text, "438 ", 4) != 0 || parsed.nonce.value == NULL ||
            parsed.nonce.length >= sizeof(nonce))
            fail("TURN %s failed: %s", method == ALLOCATE ? "Allocate" : "CreatePermission", text);
        memcpy(nonce, parsed.nonce.value, parsed.nonce.length);
        nonce[parsed.nonce.length] = '\0';
    }
}

/* The relayed path: allocate, swap relays, permit the peer, exchange hellos. */
static void relay(const char *user, const char *password) {
    struct stun_message request;
    struct sockaddr_in relayed;
    char error[200], text[800];
    /* First without credentials: the 401 brings the realm and a nonce */
    if (stun_start(&request, ALLOCATE) < 0)
        fail("getrandom failed");
    unsigned char transport[4] = {17, 0, 0, 0};
    stun_add(&request, REQUESTED_TRANSPORT, transport, 4);
    transact(&request, &turn_server, deadline, "a TURN Allocate answer");
    stun_error_text(parsed.error, text, sizeof(text));
    if (parsed.type != (ALLOCATE | FAILURE) || strncmp(text, "401 ", 4) != 0)
        fail("TURN Allocate failed: %s", parsed.type == (ALLOCATE | FAILURE) ? text :
             "it answered without asking for credentials");
    if (parsed.realm.value == NULL || parsed.nonce.value == NULL ||
        parsed.realm.length >= sizeof(realm) || parsed.nonce.length >= sizeof(nonce))
        fail("malformed answer to a TURN Allocate: a 401 without REALM and NONCE");
    memcpy(realm, parsed.realm.value, parsed.realm.length);
    realm[parsed.realm.length] = '\0';
    memcpy(nonce, parsed.nonce.value, parsed.nonce.length);
    nonce[parsed.nonce.length] = '\0';
    if (stun_key(user, realm, password, key) < 0)
        fail("MD5 failed");

    turn_request(ALLOCATE, "a TURN Allocate answer", user);
    if (stun_address(answer, parsed.relayed, 1, &relayed, error, sizeof(error)) < 0)
        fail("malformed answer to a TURN Allocate: XOR-RELAYED-ADDRESS: %s", error);
    printf("relay %s\n", text_address(&relayed));
    snprintf(text, sizeof(text), "RELAY %s\n", text_address(&relayed));
    send_line(text);
    snprintf(text, sizeof(text), "%s's relay address", peer);
    expect_line("RELAY", &peer_relay, text);
    printf("peer relay %s\n", text_address(&peer_relay));
    /* The relay passes on only what comes from an IP we have permitted: the peer's */
    turn_request(CREATE_PERMISSION, "a TURN CreatePermission answer", user);
    exchange(1, 0);
}

int main(int argc, char *argv[]) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    struct sockaddr_in rendezvous_server, local, mapped;
    struct stun_message request;
    char error[200], text[LINE_MAX_BYTES + 1];

    if ((argc != 5 && argc != 8) || !valid_name(argv[1]) || !valid_name(argv[2])) {
        fprintf(stderr, "usage: p2p-peer NAME PEER RENDEZVOUS_HOST:PORT STUN_HOST:PORT "
                        "[TURN_HOST:PORT USER PASSWORD]\n"
                        "  (names: 1 to 32 of A-Z a-z 0-9 _ -)\n");
        exit(BAD_INPUT);
    }
    name = argv[1];
    peer = argv[2];
    if (parse_address(argv[3], &rendezvous_server, 0) < 0 ||
        parse_address(argv[4], &stun_server, 0) < 0 ||
        (argc == 8 && parse_address(argv[5], &turn_server, 0) < 0)) {
        fprintf(stderr, "p2p-peer: an address must be HOST:PORT, port 1 to 65535\n");
        exit(BAD_INPUT);
    }
    deadline = now_ms() + DEADLINE_MS;

    /* One UDP socket for STUN, probes, TURN and hellos: one NAT mapping for all */
    if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    memset(&local, 0, sizeof(local));
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_ANY);
    local.sin_port = htons(0);
    if (bind(sock, (struct sockaddr *)&local, sizeof(local)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }

    /* 1. Our public address, as the STUN server sees it */
    if (stun_start(&request, BINDING) < 0)
        fail("getrandom failed");
    transact(&request, &stun_server, now_ms() + STUN_GIVE_UP_MS, "an answer from the STUN server");
    if (parsed.type != (BINDING | SUCCESS)) {
        stun_error_text(parsed.error, text, sizeof(text));
        fail("STUN server answered error %s", text);
    }
    if (stun_address(answer, parsed.xor_mapped.value ? parsed.xor_mapped : parsed.mapped,
                     parsed.xor_mapped.value != NULL, &mapped, error, sizeof(error)) < 0)
        fail("malformed answer from the STUN server: %s", error);
    printf("mapped %s\n", text_address(&mapped));

    /* 2. Register with the rendezvous server and learn the peer's address */
    if ((rendezvous = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    if (connect(rendezvous, (struct sockaddr *)&rendezvous_server, sizeof(rendezvous_server)) < 0)
        fail("cannot connect to the rendezvous server %s: %s", argv[3], strerror(errno));
    snprintf(text, sizeof(text), "REGISTER %s %s %s\n", name, peer, text_address(&mapped));
    send_line(text);
    snprintf(text, sizeof(text), "%s registering", peer);
    expect_line("PEER", &peer_mapped, text);
    printf("peer %s %s\n", peer, text_address(&peer_mapped));

    /* 3. Punch; 4. or relay */
    int seen = punch();
    if (seen)
        exchange(0, seen);
    printf("punch: no answer in %d s\n", PUNCH_MS / 1000);
    if (argc != 8)
        fail("hole punching failed and no TURN server was given");
    relay(argv[6], argv[7]);
    return 0;
}
