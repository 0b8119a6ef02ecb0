/* CCrypto: libcrypto (Debian's libssl-dev) for the swift flavor's TURN code, which
 * Swift's `import Glibc` does not bring in: MD5 for the long-term credential's key,
 * HMAC-SHA1 for MESSAGE-INTEGRITY. No crypto by hand. */
#ifndef KIT_CCRYPTO_H
#define KIT_CCRYPTO_H

#include <openssl/evp.h>
#include <openssl/hmac.h>

#endif
