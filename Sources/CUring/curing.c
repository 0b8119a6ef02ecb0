/* A C target needs one source file. This one checks at compile time the layout the
 * server and the kernel share through the provided-buffer ring. */
#include "curing.h"

/* One entry of the buffer ring: address, length, buffer id (and a reserved field
 * whose place the ring's tail takes in entry 0). The kernel reads them at this stride. */
_Static_assert(sizeof(struct io_uring_buf) == 16, "io_uring_buf is 16 bytes");
