/* libFuzzer target: stun-client's check of an answer (CSources/stun/client.c), on any
 * bytes as a datagram from the server's address. The program is included whole, its
 * main renamed, so the target calls its own static check(): the program (lab 07's
 * reference) stays one file. Besides overreads (ASan) and undefined behaviour (UBSan):
 * a datagram is NOT_OURS exactly when its transaction id is another; what the client
 * would print is one printable line; and the other way round, an address built into a
 * Binding success (after other attributes, as the input says) is printed as it was. */
#define main stun_client_main
#include "../../CSources/stun/client.c"
#undef main

static void fail(const char *why) {
    fprintf(stderr, "%s (what: \"%s\")\n", why, what);
    abort();
}

/* The line the client prints or reports: a C string of printable ASCII */
static void printable(void) {
    size_t n = strnlen(what, sizeof(what));
    if (n == sizeof(what))
        fail("what has no NUL");
    for (size_t i = 0; i < n; i++)
        if (!isprint((unsigned char)what[i]))
            fail("an unprintable byte in what the client prints");
}

static void put(unsigned char *p, unsigned value) {
    p[0] = (unsigned char)(value >> 8);
    p[1] = (unsigned char)value;
}

/* The input: byte 0 says IPv4 or IPv6 and how many attributes of the rest go first,
 * then the address (16 bytes), the port (2), and attribute values to put before it. */
static void round_trip(const unsigned char *data, size_t size) {
    unsigned char msg[1500], id[12];
    if (size < 19)
        return;
    int v6 = data[0] & 1;
    unsigned before = data[0] >> 1 & 7, port = (unsigned)data[17] << 8 | data[18];
    size_t n = 20;
    put(msg, BINDING_SUCCESS);
    for (int i = 0; i < 4; i++)
        msg[4 + i] = (unsigned char)(MAGIC_COOKIE >> (24 - 8 * i));
    for (int i = 0; i < 12; i++)
        id[i] = msg[8 + i] = (unsigned char)(data[1 + i] * 7 + i);
    const unsigned char *rest = data + 19;
    size_t left = size - 19;
    for (unsigned a = 0; a < before && left > 0; a++) { /* attributes it skips */
        size_t length = rest[0] % 40 < left - 1 ? rest[0] % 40 : left - 1;
        unsigned type = 0x8000 | (unsigned)rest[0] << 4; /* comprehension-optional */
        if (n + 4 + length + 3 + 24 > sizeof(msg))
            break;
        put(msg + n, type);
        put(msg + n + 2, (unsigned)length);
        memcpy(msg + n + 4, rest + 1, length);
        memset(msg + n + 4 + length, 0, (4 - length % 4) % 4);
        n += 4 + (length + 3) / 4 * 4;
        rest += 1 + length;
        left -= 1 + length;
    }
    unsigned size_ip = v6 ? 16 : 4;
    put(msg + n, XOR_MAPPED_ADDRESS);
    put(msg + n + 2, 4 + size_ip);
    msg[n + 4] = 0;
    msg[n + 5] = v6 ? 0x02 : 0x01;
    put(msg + n + 6, port ^ MAGIC_COOKIE >> 16);
    for (unsigned i = 0; i < size_ip; i++)
        msg[n + 8 + i] = data[1 + i] ^ msg[4 + i];
    n += 8 + size_ip;
    put(msg + 2, (unsigned)(n - 20));

    char ip[INET6_ADDRSTRLEN], expected[sizeof(what)];
    inet_ntop(v6 ? AF_INET6 : AF_INET, data + 1, ip, sizeof(ip));
    snprintf(expected, sizeof(expected), v6 ? "XOR-MAPPED-ADDRESS [%s]:%u" : "XOR-MAPPED-ADDRESS %s:%u",
             ip, port);
    if (check(msg, n, id) != ANSWER)
        fail("a well-formed Binding success is not an answer");
    if (strcmp(what, expected) != 0) {
        fprintf(stderr, "expected \"%s\"\n", expected);
        fail("the address read back is not the one built");
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    unsigned char id[12];
    /* Ours: the id of our request, the bytes where the answer's id is (or any, if short) */
    memset(id, 0, sizeof(id));
    if (size >= 20)
        memcpy(id, data + 8, 12);
    what[0] = '\0';
    int verdict = check(data, size, id);
    if (verdict != ANSWER && verdict != SERVER_ERROR && verdict != MALFORMED)
        fail("the client's own transaction id, and not ours");
    printable();
    if (verdict == ANSWER && strncmp(what, "XOR-MAPPED-ADDRESS ", 19) != 0 &&
        strncmp(what, "MAPPED-ADDRESS ", 15) != 0)
        fail("an answer that names no address");
    if (size >= 20) { /* another transaction: never believed, whatever it holds */
        id[size % 12] ^= 1;
        if (check(data, size, id) != NOT_OURS)
            fail("another transaction's answer was taken");
    }
    round_trip(data, size);
    return 0;
}
