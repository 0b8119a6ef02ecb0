/* CCrypto: libcrypto's HMAC and message digests for Swift (STUN's MESSAGE-INTEGRITY
 * is HMAC-SHA1, its long-term key an MD5). Only the headers: Swift calls them directly. */
#ifndef KIT_CCRYPTO_H
#define KIT_CCRYPTO_H

#include <openssl/evp.h>
#include <openssl/hmac.h>

#endif
