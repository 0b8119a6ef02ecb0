/* CShims' wrappers are `static inline` in include/CShims.h; a C target still needs
 * one source file, and this one checks at compile time that the structures Swift
 * and the kernel exchange have the layout both sides expect. */
#include "CShims.h"

#if defined(__linux__) && defined(__x86_64__)
/* On x86-64 the kernel packs struct epoll_event: a 4-byte events field, then the
 * 8-byte data union at offset 4, 12 bytes in all (no padding). An array of them
 * passed to epoll_wait must have that stride in Swift too, or every entry after the
 * first would be read from the wrong place. */
_Static_assert(sizeof(struct epoll_event) == 12, "epoll_event is packed on x86-64");
#endif

/* FD_SETSIZE bits, one per descriptor: select() cannot watch descriptor 1024 or more */
_Static_assert(sizeof(fd_set) * 8 == FD_SETSIZE, "fd_set holds FD_SETSIZE bits");
