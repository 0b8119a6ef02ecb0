/* CUring: liburing for the swift flavor's io_uring server. Glibc's module does not
 * include <liburing.h>; this one does, and its module map links liburing. Swift
 * imports liburing's `static inline` helpers (io_uring_prep_recv, io_uring_peek_cqe,
 * the buffer-ring calls) as they are, clang compiling them into the caller, so
 * they need no wrappers. What it cannot import are macros defined through an
 * enum: those few get a constant under the macro's name with a kit_ prefix. */
#ifndef KIT_CURING_H
#define KIT_CURING_H

/* First, before liburing.h defines _XOPEN_SOURCE: under it glibc names fd_set's field
 * fds_bits, not __fds_bits, and a program importing both Glibc and CUring would see
 * two fd_sets that differ. Included here as Glibc's module has it, liburing.h's own
 * include of it is skipped. */
#include <sys/socket.h>
#include <liburing.h>

/* IOSQE_BUFFER_SELECT is (1U << IOSQE_BUFFER_SELECT_BIT), an enum member: no macro
 * of that kind reaches Swift */
static const unsigned char kit_IOSQE_BUFFER_SELECT = IOSQE_BUFFER_SELECT;

#endif
