/* Pitfall: a blocking call with no timeout.
 * recv waits until data arrives, the peer closes, or an error: a peer that stays
 * connected and says nothing holds the caller forever. The silent server here is a
 * listener that never accepts: the kernel completes the handshake for it, and nothing
 * is ever sent. With -DFIX the client sets SO_RCVTIMEO, and recv gives up with EAGAIN
 * after TIMEOUT_SECONDS. (poll with a timeout, or a non-blocking socket, do as well.) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#define TIMEOUT_SECONDS 2

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* a pipe sees each line at once */
    struct sockaddr_in address;
    socklen_t length = sizeof(address);
    char buffer[1024];

    int silent = socket(AF_INET, SOCK_STREAM, 0);
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (silent < 0 || bind(silent, (struct sockaddr *)&address, sizeof(address)) < 0 ||
        listen(silent, 1) < 0 || getsockname(silent, (struct sockaddr *)&address, &length) < 0) {
        perror("the silent server");
        return 1;
    }
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0 || connect(client, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("client: connect");
        return 1;
    }
#ifdef FIX
    struct timeval timeout = {.tv_sec = TIMEOUT_SECONDS, .tv_usec = 0};
    if (setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0) {
        perror("setsockopt");
        return 1;
    }
#endif
    printf("client: connected, waiting for the server's answer\n");
    ssize_t n = recv(client, buffer, sizeof(buffer), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        printf("client: no answer in %d s, giving up (%s)\n", TIMEOUT_SECONDS, strerror(errno));
    else if (n < 0)
        perror("client: recv");
    else
        printf("client: %zd bytes\n", n);
    close(client);
    close(silent);
    return 0;
}
