/* tcp-capitalize client (lecture document 001, Kurose & Ross style slides): send one
 * line from standard input, print the server's upper-cased answer on stderr.
 * The slide's C fragment does not compile as printed: this is the smallest repair
 * that does, every repaired line marked "kit:" like the kit's own lines. No return
 * code is checked, as on the slide, which leaves the checks out for space. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* kit: the slide sizes its buffers with MAX_LINE and passes MAXLINE to fgets; it
 * defines neither, so both are defined here, as one value */
#define MAX_LINE 1024
#define MAXLINE MAX_LINE

int main(int argc, char **argv) { /* kit: "Int main" on the slide */
    int connectionSocket;
    char sentence[MAX_LINE];
    char modifiedSentence[MAX_LINE];
    struct hostent *hp;
    struct sockaddr_in sin; /* kit: the slide uses sin without declaring it */
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : 6789; /* kit */
    /* kit: the slide's placeholder "hostname" becomes localhost, or KIT_HOST */
    const char *host = getenv("KIT_HOST") ? getenv("KIT_HOST") : "localhost"; /* kit */
    /* kit: zeroed, so that %s finds a '\0' after an answer that brings none (the
     * Java and swift-sockets servers send the line and '\n' only) */
    memset(modifiedSentence, 0, sizeof(modifiedSentence)); /* kit */

    /* PF_INET names the protocol family; on Linux it equals AF_INET */
    connectionSocket = socket(PF_INET, SOCK_STREAM, 0);
    hp = gethostbyname(host); /* kit: host; the slide has "hostname" in curly quotes */
    bzero((char *) &sin, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port); /* kit: port; the slide misprints htons(6789r) */
    /* h_addr: the first address of the host entry, h_length bytes of it */
    bcopy(hp->h_addr, (char *) &sin.sin_addr, hp->h_length);
    /* kit: connectionSocket and a ';'; the slide writes connectSocket and no ';' */
    connect(connectionSocket, (struct sockaddr *) &sin, sizeof(sin));
    fgets(sentence, MAXLINE, stdin);
    sentence[MAXLINE-1] = '\0'; /* kit: sentence; the slide names an undeclared buff */
    /* strlen + 1 bytes: the terminating '\0' travels too.
     * kit: connectionSocket for connectSocket, and no 4th argument (write has 3) */
    write(connectionSocket, sentence, strlen(sentence)+1);
    /* One read: whatever has arrived so far. kit: no 4th argument */
    read(connectionSocket, modifiedSentence, sizeof(modifiedSentence));
    /* On stderr; the space before \n is the slide's */
    fprintf(stderr, "FROM SERVER: %s \n", modifiedSentence);
    close(connectionSocket); /* kit: "connectSocket" on the slide */
}
