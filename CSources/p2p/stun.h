/* The STUN/TURN messages p2p-peer sends and the checks on those it receives
 * (RFC 8489 STUN, RFC 8656 TURN): see stun.c. */
#include <stddef.h>
#include <netinet/in.h>

#define STUN_COOKIE 0x2112A442u
#define STUN_MAX 1500

/* Methods and classes: a request, its success (0x0100) and error (0x0110) answers */
#define BINDING 0x0001
#define ALLOCATE 0x0003
#define CREATE_PERMISSION 0x0008
#define DATA_INDICATION 0x0017
#define SUCCESS 0x0100
#define FAILURE 0x0110

/* Attributes */
#define MAPPED_ADDRESS 0x0001
#define USERNAME 0x0006
#define MESSAGE_INTEGRITY 0x0008
#define ERROR_CODE 0x0009
#define XOR_PEER_ADDRESS 0x0012
#define DATA 0x0013
#define REALM 0x0014
#define NONCE 0x0015
#define XOR_RELAYED_ADDRESS 0x0016
#define REQUESTED_TRANSPORT 0x0019
#define XOR_MAPPED_ADDRESS 0x0020

/* A message being built */
struct stun_message {
    unsigned char bytes[STUN_MAX];
    size_t length;
};

/* A checked message: its type and where the attributes it may use are */
struct stun_value {
    const unsigned char *value; /* NULL: absent */
    unsigned length;
};
struct stun_parsed {
    unsigned type;
    struct stun_value mapped, xor_mapped, relayed, peer, data, error, realm, nonce;
};

int stun_start(struct stun_message *m, unsigned type);
void stun_add(struct stun_message *m, unsigned type, const void *value, size_t length);
void stun_add_address(struct stun_message *m, unsigned type, const struct sockaddr_in *address);
int stun_add_integrity(struct stun_message *m, const unsigned char key[16]);
int stun_key(const char *user, const char *realm, const char *password, unsigned char key[16]);
int stun_parse(const unsigned char *msg, size_t n, struct stun_parsed *out, char *error,
               size_t size);
int stun_address(const unsigned char *msg, struct stun_value attribute, int xor,
                 struct sockaddr_in *out, char *error, size_t size);
void stun_error_text(struct stun_value attribute, char *text, size_t size);
