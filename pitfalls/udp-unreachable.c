/* Pitfall: an unconnected UDP socket never hears that nothing listens.
 * A datagram to a closed port makes the receiving host answer with an ICMP "port
 * unreachable". Linux reports that error only to a connected UDP socket: the one that
 * used sendto without connect waits for an answer that will never come. With -DFIX the
 * client connects its UDP socket first, and recv fails at once with ECONNREFUSED. Both
 * wait at most TIMEOUT_SECONDS, so that the pitfall's run ends too. */
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
    const char *message = "anyone there?";

    /* A closed port: one the system hands out, then closed again */
    int probe = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (probe < 0 || bind(probe, (struct sockaddr *)&address, sizeof(address)) < 0 ||
        getsockname(probe, (struct sockaddr *)&address, &length) < 0) {
        perror("finding a closed port");
        return 1;
    }
    close(probe);

    int client = socket(AF_INET, SOCK_DGRAM, 0);
    struct timeval timeout = {.tv_sec = TIMEOUT_SECONDS, .tv_usec = 0};
    if (client < 0 || setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0) {
        perror("client");
        return 1;
    }
#ifdef FIX
    if (connect(client, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("connect");
        return 1;
    }
    send(client, message, strlen(message), 0);
#else
    sendto(client, message, strlen(message), 0, (struct sockaddr *)&address, sizeof(address));
#endif
    printf("client: sent to port %d, where nothing listens\n", ntohs(address.sin_port));
    ssize_t n = recv(client, buffer, sizeof(buffer), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        printf("client: no answer and no error in %d s\n", TIMEOUT_SECONDS);
    else if (n < 0)
        printf("client: recv failed at once: %s\n", strerror(errno));
    else
        printf("client: %zd bytes\n", n);
    close(client);
    return 0;
}
