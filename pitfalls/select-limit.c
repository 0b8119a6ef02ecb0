/* Pitfall: select past FD_SETSIZE.
 * An fd_set is a bitmap of FD_SETSIZE (1024) bits on the stack. A server with more
 * than a thousand connections gets descriptors above 1023, and FD_SET on one writes
 * past the end of the set: undefined behaviour that may corrupt memory silently. Built
 * with _FORTIFY_SOURCE (as here and in most distributions' packages), glibc checks
 * and aborts instead. With -DFIX the same wait uses poll, which takes any descriptor. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* a pipe sees each line at once */
    int pair[2];
    struct rlimit limit;

    /* Room for descriptors above FD_SETSIZE: the soft limit is often exactly 1024 */
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0) { perror("getrlimit"); return 1; }
    if (limit.rlim_cur < 2 * FD_SETSIZE && limit.rlim_max >= 2 * FD_SETSIZE) {
        limit.rlim_cur = 2 * FD_SETSIZE;
        if (setrlimit(RLIMIT_NOFILE, &limit) < 0) { perror("setrlimit"); return 1; }
    }
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0) { perror("socketpair"); return 1; }
    /* As if a thousand clients were connected: the next descriptor is past the set */
    int fd = fcntl(pair[0], F_DUPFD, FD_SETSIZE + 100);
    if (fd < 0) { perror("a descriptor above FD_SETSIZE"); return 1; }
    if (write(pair[1], "x", 1) != 1) { perror("write"); return 1; }
    printf("waiting for descriptor %d to be readable (FD_SETSIZE is %d)\n", fd, FD_SETSIZE);

#ifdef FIX
    struct pollfd wanted = {.fd = fd, .events = POLLIN};
    int ready = poll(&wanted, 1, 1000);
#else
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(fd, &readable); /* the pitfall: bit fd of a set that has FD_SETSIZE bits */
    struct timeval timeout = {.tv_sec = 1, .tv_usec = 0};
    int ready = select(fd + 1, &readable, NULL, NULL, &timeout);
#endif
    if (ready < 0) { perror("waiting"); return 1; }
    printf("%d descriptor ready\n", ready);
    return 0;
}
