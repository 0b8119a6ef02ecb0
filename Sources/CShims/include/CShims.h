/* CShims: the few C things Swift's `import Glibc` does not bring in, for the swift
 * flavor's event-loop servers and STUN clients. Swift imports C functions, structs and constants, but
 * not function-like macros, and Glibc's module map leaves some headers out. Each
 * wrapper below is a one-line C function that Swift can call; `static inline` lets
 * the compiler inline it into the Swift caller, so it costs what the macro costs. */
#ifndef KIT_CSHIMS_H
#define KIT_CSHIMS_H

#if defined(__linux__)  /* epoll is Linux's; the Sockets library also builds elsewhere */
#include <sys/epoll.h>  /* not in Glibc's module map: including it here imports
                           epoll_create1, epoll_ctl, epoll_wait, struct epoll_event
                           (with its packed x86-64 layout, as clang lays it out) and
                           the EPOLL* constants into Swift under their C names */
#endif
#include <sys/random.h>  /* getrandom, for STUN's transaction ids: not in Glibc's module map */
#include <sys/select.h>

/* FD_ZERO is a macro (it clears the bit array inside fd_set): Swift imports no macros */
static inline void kit_FD_ZERO(fd_set *set) { FD_ZERO(set); }

/* FD_SET is a macro that sets bit fd of the set: Swift imports no macros */
static inline void kit_FD_SET(int fd, fd_set *set) { FD_SET(fd, set); }

/* FD_CLR is a macro that clears bit fd of the set: Swift imports no macros */
static inline void kit_FD_CLR(int fd, fd_set *set) { FD_CLR(fd, set); }

/* FD_ISSET is a macro that tests bit fd of the set: Swift imports no macros */
static inline int kit_FD_ISSET(int fd, const fd_set *set) { return FD_ISSET(fd, set); }

#endif
