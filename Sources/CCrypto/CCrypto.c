/* CCrypto's declarations are all in include/ccrypto.h; a C target still needs one
 * source file. */
#include "ccrypto.h"
