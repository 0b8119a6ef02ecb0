/* udp-hello client (lecture document 000): send one datagram, print the answer.
 * Lines marked "kit:" are the kit's; the rest is the lecture's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define PORT 8080
#define BUFFER_SIZE 1024

int main() {
    int sock;
    struct sockaddr_in serv_addr;
    socklen_t addr_len = sizeof(serv_addr);
    char buffer[BUFFER_SIZE] = {0};
    const char *message = "Hello from UDP client";
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT; /* kit */
    const char *host = getenv("KIT_HOST") ? getenv("KIT_HOST") : "127.0.0.1"; /* kit */

    if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }

    memset(&serv_addr, 0, sizeof(serv_addr));
    serv_addr.sin_family = AF_INET;
    serv_addr.sin_port = htons(port);
    /* Return not checked: a bad address leaves sin_addr at 0 (0.0.0.0) */
    inet_pton(AF_INET, host, &serv_addr.sin_addr);

    /* No connect: every datagram names its destination */
    sendto(sock, message, strlen(message), 0,
           (struct sockaddr *)&serv_addr, sizeof(serv_addr));
    printf("Message sent\n");

    /* Blocks until a datagram comes back; no timeout, so a lost one means forever.
     * The reply's source address overwrites serv_addr. */
    ssize_t bytes_read = recvfrom(sock, buffer, BUFFER_SIZE - 1, 0,
                                  (struct sockaddr *)&serv_addr, &addr_len);
    if (bytes_read > 0) {
        buffer[bytes_read] = '\0';
        printf("Received: %s\n", buffer);
    }

    close(sock);
    return 0;
}
