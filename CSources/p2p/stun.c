/* STUN and TURN messages for p2p-peer: building requests (with MESSAGE-INTEGRITY for
 * TURN's long-term credentials) and checking answers byte by byte before they are
 * believed. The crypto is libcrypto's: MD5 for the key, HMAC-SHA1 for the integrity. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>
#include "stun.h"

static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static unsigned long get32(const unsigned char *p) {
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}
static void put16(unsigned char *p, unsigned value) {
    p[0] = (unsigned char)(value >> 8);
    p[1] = (unsigned char)value;
}

/* The header: type, length 0 so far, the cookie and 96 random bits of transaction id */
int stun_start(struct stun_message *m, unsigned type) {
    put16(m->bytes, type);
    put16(m->bytes + 2, 0);
    put16(m->bytes + 4, STUN_COOKIE >> 16);
    put16(m->bytes + 6, STUN_COOKIE & 0xffff);
    m->length = 20;
    return getrandom(m->bytes + 8, 12, 0) == 12 ? 0 : -1;
}

/* An attribute, its value padded with zeros to a multiple of 4 bytes. The kit's values
 * are short; one that would not fit is left out (and the server says what is missing). */
void stun_add(struct stun_message *m, unsigned type, const void *value, size_t length) {
    size_t padded = (length + 3) & ~(size_t)3;
    if (m->length + 4 + padded > STUN_MAX)
        return;
    put16(m->bytes + m->length, type);
    put16(m->bytes + m->length + 2, (unsigned)length);
    memset(m->bytes + m->length + 4, 0, padded);
    memcpy(m->bytes + m->length + 4, value, length);
    m->length += 4 + padded;
    put16(m->bytes + 2, (unsigned)(m->length - 20));
}

/* An IPv4 address XORed with the cookie, as XOR-PEER-ADDRESS wants it */
void stun_add_address(struct stun_message *m, unsigned type, const struct sockaddr_in *address) {
    unsigned char value[8] = {0, 0x01};
    put16(value + 2, ntohs(address->sin_port) ^ (STUN_COOKIE >> 16));
    memcpy(value + 4, &address->sin_addr, 4);
    for (int i = 0; i < 4; i++)
        value[4 + i] ^= m->bytes[4 + i];
    stun_add(m, type, value, sizeof(value));
}

/* MESSAGE-INTEGRITY: HMAC-SHA1 of the message so far, with the length field already
 * counting the 24 bytes of the attribute itself (RFC 8489 section 14.5). */
int stun_add_integrity(struct stun_message *m, const unsigned char key[16]) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_length = 0;
    put16(m->bytes + 2, (unsigned)(m->length - 20 + 24));
    if (HMAC(EVP_sha1(), key, 16, m->bytes, m->length, mac, &mac_length) == NULL ||
        mac_length != 20)
        return -1;
    stun_add(m, MESSAGE_INTEGRITY, mac, 20);
    return 0;
}

/* The long-term credential key: MD5(user ":" realm ":" password) */
int stun_key(const char *user, const char *realm, const char *password, unsigned char key[16]) {
    char text[1200];
    unsigned int length = 0;
    int n = snprintf(text, sizeof(text), "%s:%s:%s", user, realm, password);
    if (n < 0 || (size_t)n >= sizeof(text))
        return -1;
    if (!EVP_Digest(text, (size_t)n, key, &length, EVP_md5(), NULL) || length != 16)
        return -1;
    return 0;
}

/* Checks the header and every attribute's bounds; remembers the attributes p2p-peer
 * reads (the first of each). 0, or -1 with what is wrong in error. */
int stun_parse(const unsigned char *msg, size_t n, struct stun_parsed *out, char *error,
               size_t size) {
    memset(out, 0, sizeof(*out));
    if (n < 20) {
        snprintf(error, size, "truncated header (%zu bytes)", n);
        return -1;
    }
    unsigned length = get16(msg + 2);
    out->type = get16(msg);
    if (out->type & 0xC000) {
        snprintf(error, size, "first two bits are not zero");
        return -1;
    }
    if (get32(msg + 4) != STUN_COOKIE) {
        snprintf(error, size, "bad magic cookie 0x%08lx", get32(msg + 4));
        return -1;
    }
    if (length % 4 != 0 || length != n - 20) {
        snprintf(error, size, "length field %u, but %zu bytes follow the header", length, n - 20);
        return -1;
    }
    for (size_t at = 20; at < n;) {
        if (n - at < 4) {
            snprintf(error, size, "attribute header runs past the end");
            return -1;
        }
        unsigned type = get16(msg + at), value_length = get16(msg + at + 2);
        size_t padded = (value_length + 3u) & ~3u;
        if (padded > n - at - 4) {
            snprintf(error, size, "attribute 0x%04x (%u bytes) runs past the end", type,
                     value_length);
            return -1;
        }
        struct stun_value found = {msg + at + 4, value_length}, *slot = NULL;
        switch (type) {
        case MAPPED_ADDRESS: slot = &out->mapped; break;
        case XOR_MAPPED_ADDRESS: slot = &out->xor_mapped; break;
        case XOR_RELAYED_ADDRESS: slot = &out->relayed; break;
        case XOR_PEER_ADDRESS: slot = &out->peer; break;
        case DATA: slot = &out->data; break;
        case ERROR_CODE: slot = &out->error; break;
        case REALM: slot = &out->realm; break;
        case NONCE: slot = &out->nonce; break;
        }
        if (slot != NULL && slot->value == NULL)
            *slot = found;
        at += 4 + padded;
    }
    return 0;
}

/* An address attribute as an IPv4 sockaddr (the kit's peers speak IPv4 only) */
int stun_address(const unsigned char *msg, struct stun_value attribute, int xor,
                 struct sockaddr_in *out, char *error, size_t size) {
    const unsigned char *v = attribute.value;
    if (v == NULL) {
        snprintf(error, size, "no address attribute");
        return -1;
    }
    if (attribute.length < 4 || (v[1] != 0x01 && v[1] != 0x02)) {
        snprintf(error, size, "address attribute of unknown family");
        return -1;
    }
    if (v[1] == 0x02) {
        snprintf(error, size, "an IPv6 address, and the kit's peers speak IPv4");
        return -1;
    }
    if (attribute.length != 8) {
        snprintf(error, size, "IPv4 address attribute of %u bytes, not 8", attribute.length);
        return -1;
    }
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    out->sin_port = htons(get16(v + 2) ^ (xor ? STUN_COOKIE >> 16 : 0));
    unsigned char ip[4];
    for (int i = 0; i < 4; i++)
        ip[i] = v[4 + i] ^ (xor ? msg[4 + i] : 0);
    memcpy(&out->sin_addr, ip, 4);
    return 0;
}

/* "CODE REASON" from an ERROR-CODE attribute, the reason's bytes made printable */
void stun_error_text(struct stun_value attribute, char *text, size_t size) {
    const unsigned char *v = attribute.value;
    if (v == NULL || attribute.length < 4) {
        snprintf(text, size, "(no ERROR-CODE)");
        return;
    }
    int used = snprintf(text, size, "%u ", (v[2] & 7) * 100u + v[3]);
    if (used < 0 || (size_t)used >= size)
        return; /* no room for the reason: the code, cut short (used counts what did not fit) */
    for (unsigned i = 4; i < attribute.length && used < (int)size - 1; i++)
        text[used++] = isprint(v[i]) ? (char)v[i] : '?';
    text[used] = '\0';
}
