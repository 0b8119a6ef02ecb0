/* udp-capitalize client (lecture document 001, Kurose & Ross style slides): send one
 * line from standard input in one datagram, print the upper-cased reply on stderr.
 * The slide's C fragment does not compile as printed: this is the smallest repair
 * that does, every repaired line marked "kit:" like the kit's own lines. No return
 * code is checked, as on the slide. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define MAX_LINE 1024 /* kit: the slide gives no value; the Java versions use 1024 */

int main(void) { /* kit: main around the slide's fragment */
    int sock; /* kit: "socket" on the slide, which hides the function socket() */
    char sentence[MAX_LINE];
    char modifiedSentence[MAX_LINE];
    struct hostent *hp;
    struct sockaddr_in cliAddr, remoteServAddr;
    socklen_t remoteServLen = sizeof(remoteServAddr); /* kit: undeclared on the slide */
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : 9876; /* kit */
    /* kit: the slide's placeholder "hostname" becomes localhost, or KIT_HOST */
    const char *host = getenv("KIT_HOST") ? getenv("KIT_HOST") : "localhost"; /* kit */

    sock = socket(AF_INET, SOCK_DGRAM, 0);
    hp = gethostbyname(host); /* kit: host for "hostname" */

    /* Bind any port: port 0 asks the kernel to pick a free one */
    cliAddr.sin_family = AF_INET;
    cliAddr.sin_addr.s_addr = htonl(INADDR_ANY);
    cliAddr.sin_port = htons(0);
    bind(sock, (struct sockaddr *) &cliAddr, sizeof(cliAddr));

    /* The server's address: family and first address from the host entry.
     * kit: hp->, where the slide writes h-> for the hp it declared */
    remoteServAddr.sin_family = hp->h_addrtype;
    memcpy((char *) &remoteServAddr.sin_addr.s_addr, hp->h_addr_list[0], hp->h_length);
    remoteServAddr.sin_port = htons(port); /* kit: port, 9876 unless KIT_PORT says */

    /* kit: the slide never fills sentence; fgets reads the line, '\n' kept */
    fgets(sentence, MAX_LINE, stdin); /* kit */
    /* The whole buffer travels: the line, its '\0', then whatever the rest holds */
    sendto(sock, sentence, MAX_LINE, 0, (struct sockaddr *) &remoteServAddr,
           sizeof(remoteServAddr));
    /* Blocks until a datagram arrives; no timeout, so a lost one means forever.
     * The reply's source address overwrites remoteServAddr. */
    recvfrom(sock, modifiedSentence, MAX_LINE, 0, (struct sockaddr *) &remoteServAddr,
             &remoteServLen);
    /* On stderr; the space before \n is the slide's */
    fprintf(stderr, "FROM SERVER: %s \n", modifiedSentence);
    close(sock);
}
