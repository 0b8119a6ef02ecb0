/* CCrypto: the C the swift flavor's STUN and TURN code calls that Swift's `import Glibc`
 * does not bring in: getrandom (sys/random.h is not in Glibc's module map) for
 * transaction ids, and libcrypto (Debian's libssl-dev) for TURN's long-term
 * credentials: MD5 for the key, HMAC-SHA1 for MESSAGE-INTEGRITY. No crypto by hand. */
#ifndef KIT_CCRYPTO_H
#define KIT_CCRYPTO_H

#include <sys/random.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#endif
