/* libFuzzer target: p2p-peer's STUN/TURN codec (CSources/p2p/stun.c) on any bytes, as
 * an answer from a STUN or TURN server (or anyone who can reach the peer's port) would
 * come. stun_parse, then every address and ERROR-CODE it found read as p2p-peer reads
 * them: ASan sees any read past the datagram, UBSan any undefined arithmetic. Then the
 * other way round: an address built into a message (stun_add_address, with an
 * attribute and MESSAGE-INTEGRITY before or after it, as the input says) must parse
 * back to the same address and port. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "../../CSources/p2p/stun.h"

static void fail(const char *what) {
    fprintf(stderr, "%s\n", what);
    abort();
}

/* An attribute stun_parse kept must lie inside the message, after the header */
static void inside(const unsigned char *msg, size_t n, struct stun_value v) {
    if (v.value != NULL && (v.value < msg + 24 || v.value + v.length > msg + n))
        fail("an attribute's value lies outside the message");
}

/* Reads an address attribute as p2p-peer does; the error text must be a C string */
static void read_address(const unsigned char *msg, struct stun_value v, int xor) {
    struct sockaddr_in a;
    char error[200];
    error[0] = 'x';
    if (stun_address(msg, v, xor, &a, error, sizeof(error)) < 0 &&
        memchr(error, '\0', sizeof(error)) == NULL)
        fail("stun_address failed without an error text");
}

/* Build: the input's first 6 bytes are an IPv4 address and port, the next 12 the
 * transaction id, one byte says what else goes in, the rest is an attribute's value. */
static void round_trip(const unsigned char *data, size_t size) {
    struct stun_message m;
    struct stun_parsed p;
    struct sockaddr_in a, back;
    char error[200];
    if (size < 19)
        return;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    memcpy(&a.sin_addr, data, 4);
    memcpy(&a.sin_port, data + 4, 2);
    if (stun_start(&m, ALLOCATE | SUCCESS) < 0)
        fail("stun_start: getrandom failed");
    memcpy(m.bytes + 8, data + 6, 12);
    unsigned how = data[18];
    const unsigned char *value = data + 19;
    size_t length = size - 19 > 600 ? 600 : size - 19;
    unsigned char key[16] = {0};
    memcpy(key, data + 6, 12);
    if (how & 1)
        stun_add(&m, 0x8000 | (how >> 2), value, length); /* an attribute it does not read */
    if (how & 2)
        stun_add(&m, XOR_MAPPED_ADDRESS, value, length < 8 ? length : 8); /* a first one wins */
    stun_add_address(&m, XOR_RELAYED_ADDRESS, &a);
    if ((how & 4) && stun_add_integrity(&m, key) < 0)
        fail("stun_add_integrity failed");
    if (how & 8)
        stun_add(&m, REALM, value, length);
    if (stun_parse(m.bytes, m.length, &p, error, sizeof(error)) < 0) {
        fprintf(stderr, "a message stun_add built does not parse: %s\n", error);
        abort();
    }
    if (p.type != (ALLOCATE | SUCCESS))
        fail("the type changed");
    if (stun_address(m.bytes, p.relayed, 1, &back, error, sizeof(error)) < 0) {
        fprintf(stderr, "the built address does not read back: %s\n", error);
        abort();
    }
    if (back.sin_family != AF_INET || back.sin_port != a.sin_port ||
        back.sin_addr.s_addr != a.sin_addr.s_addr) {
        char was[INET_ADDRSTRLEN], got[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &a.sin_addr, was, sizeof(was));
        inet_ntop(AF_INET, &back.sin_addr, got, sizeof(got));
        fprintf(stderr, "built %s:%u, read back %s:%u\n", was, ntohs(a.sin_port), got,
                ntohs(back.sin_port));
        abort();
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    struct stun_parsed p;
    char error[200];

    /* The bytes as a datagram: libFuzzer's buffer is exactly size bytes, so ASan
     * catches a read of one more */
    error[0] = 'x';
    if (stun_parse(data, size, &p, error, sizeof(error)) == 0) {
        struct stun_value all[] = {p.mapped, p.xor_mapped, p.relayed, p.peer,
                                   p.data,   p.error,      p.realm,   p.nonce};
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
            inside(data, size, all[i]);
        read_address(data, p.mapped, 0);
        read_address(data, p.xor_mapped, 1);
        read_address(data, p.relayed, 1);
        read_address(data, p.peer, 1);
        /* ERROR-CODE's reason goes to a terminal: printable, NUL-terminated, bounded */
        for (size_t room = 1; room <= 64; room *= 4) {
            char *text = malloc(room); /* exactly room bytes: ASan sees one more */
            stun_error_text(p.error, text, room);
            size_t n = strnlen(text, room);
            if (n == room)
                fail("stun_error_text wrote no NUL within its buffer");
            for (size_t i = 0; i < n; i++)
                if (text[i] < 0x20 || text[i] > 0x7e)
                    fail("stun_error_text let an unprintable byte through");
            free(text);
        }
    } else if (memchr(error, '\0', sizeof(error)) == NULL) {
        fail("stun_parse failed without an error text");
    }
    round_trip(data, size);
    return 0;
}
