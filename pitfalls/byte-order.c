/* Pitfall: a port without htons.
 * sin_port holds the port in network byte order, big-endian. Assigned as a plain int on
 * a little-endian machine (x86, ARM), 8080 = 0x1F90 reaches the kernel as 0x901F: the
 * server listens on port 36895, and its clients, which do call htons, are refused.
 * Compiled as is it shows the pitfall; with -DFIX, the one-line repair. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PORT 8080

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT;
    struct sockaddr_in address;
    socklen_t length = sizeof(address);

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) { perror("socket"); return 1; }
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
#ifdef FIX
    address.sin_port = htons(port); /* host to network byte order */
#else
    address.sin_port = port;        /* the pitfall: host byte order */
#endif
    if (bind(listener, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("bind");
        return 1;
    }
    if (listen(listener, 5) < 0) { perror("listen"); return 1; }
    /* Ask the kernel where the socket really is */
    if (getsockname(listener, (struct sockaddr *)&address, &length) < 0) {
        perror("getsockname");
        return 1;
    }
    printf("server: asked for port %d, listening on port %d\n", port, ntohs(address.sin_port));

    /* A client does what every client does: htons(port) */
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0) { perror("socket"); return 1; }
    address.sin_port = htons(port);
    if (connect(client, (struct sockaddr *)&address, sizeof(address)) < 0)
        perror("client: connect to the port it was told");
    else
        printf("client: connected to port %d\n", port);
    close(client);
    close(listener);
    return 0;
}
