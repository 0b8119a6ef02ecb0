/* tcp-capitalize client (lecture document 001, Kurose & Ross style slides): send one
 * line from standard input, print the server's upper-cased answer on stderr.
 * The slides give C fragments that do not compile; this is the smallest repair that
 * does. Lines marked "kit:" are the kit's; the rest is the slides'. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define MAXLINE 1024 /* kit: the slides write MAXLINE and MAX_LINE, define neither */

int main() { /* kit: "Int main" in the slides */
    int clientSocket;
    struct sockaddr_in sin; /* kit: the slides use sin without declaring it */
    struct hostent *hp;
    char sentence[MAXLINE];
    char modifiedSentence[MAXLINE + 1] = {0}; /* kit: zeroed, one byte more than the read,
                                                 so %s always finds a '\0' */
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : 6789; /* kit */
    /* kit: the slides' placeholder "hostname" becomes localhost, or KIT_HOST */
    const char *host = getenv("KIT_HOST") ? getenv("KIT_HOST") : "localhost"; /* kit */

    /* kit: every return code below is checked; the slides only say one should */
    /* Name to address: h_addr is the first address of the host entry */
    if ((hp = gethostbyname(host)) == NULL) {
        herror("gethostbyname failed");
        exit(EXIT_FAILURE);
    }

    if ((clientSocket = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    bcopy(hp->h_addr, &sin.sin_addr, hp->h_length);
    sin.sin_port = htons(port);

    if (connect(clientSocket, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        perror("connect failed");
        exit(EXIT_FAILURE);
    }

    /* kit: fgets reads the line; it keeps the '\n', which then travels and comes back */
    if (fgets(sentence, MAXLINE, stdin) == NULL) {
        fputs("no line on standard input\n", stderr);
        exit(EXIT_FAILURE);
    }

    /* strlen + 1 bytes: the terminating '\0' travels too */
    if (write(clientSocket, sentence, strlen(sentence) + 1) < 0) {
        perror("write failed");
        exit(EXIT_FAILURE);
    }

    /* One read: whatever has arrived so far, not necessarily the whole answer */
    if (read(clientSocket, modifiedSentence, MAXLINE) < 0) {
        perror("read failed");
        exit(EXIT_FAILURE);
    }
    /* On stderr; the space before \n is the slides' (kit: plain quotes, not curly) */
    fprintf(stderr, "FROM SERVER: %s \n", modifiedSentence);

    close(clientSocket);
    return 0;
}
