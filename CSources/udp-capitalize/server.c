/* udp-capitalize server (lecture document 001, Kurose & Ross style slides): forever,
 * receive a datagram, upper-case it, send it back to whoever sent it.
 * The slides give C fragments that do not compile; this is the smallest repair that
 * does. Lines marked "kit:" are the kit's; the rest is the slides'. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define MAX_LINE 1024 /* kit: the slides give no value; the Java versions use 1024 */

/* kit: the slides leave capitalize() to the reader. All MAX_LINE bytes, as the Java
 * server upper-cases the string it makes of its whole buffer; NULs stay NULs. */
void capitalize(char *s) {
    for (int i = 0; i < MAX_LINE; i++)
        s[i] = toupper((unsigned char)s[i]);
}

int main() { /* kit: "Int main" in the slides */
    int sock; /* kit: "socket" in the slides, which hides the function socket() */
    struct sockaddr_in servAddr, cliAddr;
    socklen_t cliLen = sizeof(cliAddr); /* kit: the slides use cliLen undeclared */
    char msg[MAX_LINE] = {0}; /* kit: zeroed, so every byte sent is known */
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : 9876; /* kit */

    /* kit: every return code below is checked; the slides only say one should */
    /* A datagram (UDP) socket: no listen, no accept, no connection */
    if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }

    /* Any local interface, the well-known port: clients must know where to send */
    servAddr.sin_family = AF_INET;
    servAddr.sin_addr.s_addr = htonl(INADDR_ANY);
    servAddr.sin_port = htons(port);
    if (bind(sock, (struct sockaddr *)&servAddr, sizeof(servAddr)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }

    while (1) {
        /* One call, one whole datagram; the sender's address lands in cliAddr.
         * The buffer is reused: a shorter datagram leaves the last one's tail. */
        if (recvfrom(sock, msg, MAX_LINE, 0, (struct sockaddr *)&cliAddr, &cliLen) < 0) {
            perror("recvfrom failed");
            exit(EXIT_FAILURE);
        }
        capitalize(msg);
        /* The whole buffer goes back, not just the string: MAX_LINE bytes */
        if (sendto(sock, msg, MAX_LINE, 0, (struct sockaddr *)&cliAddr, cliLen) < 0) {
            perror("sendto failed");
            exit(EXIT_FAILURE);
        }
    }
}
