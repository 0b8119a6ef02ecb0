/* udp-capitalize server (lecture document 001, Kurose & Ross style slides): forever,
 * receive a datagram, upper-case it, send it back to whoever sent it.
 * The slide's C fragment does not compile as printed: this is the smallest repair
 * that does, every repaired line marked "kit:" like the kit's own lines. No return
 * code is checked, as on the slide. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define MAX_LINE 1024 /* kit: the slide gives no value; the Java versions use 1024 */

/* kit: the slide leaves capitalize() to be written. All MAX_LINE bytes, as the Java
 * server upper-cases the string it makes of its whole buffer; NULs stay NULs. */
void capitalize(char *s) {
    for (int i = 0; i < MAX_LINE; i++)
        s[i] = toupper((unsigned char)s[i]);
}

int main(void) { /* kit: main around the slide's fragment */
    int sock; /* kit: "socket" on the slide, which hides the function socket() */
    char clientSentence[MAX_LINE];
    struct sockaddr_in svrAddr, cliAddr;
    socklen_t cliLen = sizeof(cliAddr); /* kit: the slide uses cliLen undeclared */
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : 9876; /* kit */

    /* A datagram (UDP) socket: no listen, no accept, no connection */
    sock = socket(AF_INET, SOCK_DGRAM, 0);

    /* "Bind any port", says the slide's comment; the bind is to the well-known port,
     * which clients must know to send anything here */
    svrAddr.sin_family = AF_INET;
    svrAddr.sin_addr.s_addr = htonl(INADDR_ANY);
    svrAddr.sin_port = htons(port); /* kit: port, 9876 unless KIT_PORT says */
    bind(sock, (struct sockaddr *) &svrAddr, sizeof(svrAddr));

    for (;;) {
        /* One call, one whole datagram; the sender's address lands in cliAddr.
         * The buffer is reused: a shorter datagram leaves the last one's tail. */
        recvfrom(sock, clientSentence, MAX_LINE, 0, (struct sockaddr *) &cliAddr, &cliLen);
        capitalize(clientSentence);
        /* The whole buffer goes back, not just the string: MAX_LINE bytes */
        sendto(sock, clientSentence, MAX_LINE, 0, (struct sockaddr *) &cliAddr,
               sizeof(cliAddr));
    }
    close(sock); /* never reached: the loop has no way out */
}
