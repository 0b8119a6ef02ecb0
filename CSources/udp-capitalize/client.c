/* udp-capitalize client (lecture document 001, Kurose & Ross style slides): send one
 * line from standard input in one datagram, print the upper-cased reply on stderr.
 * The slides give C fragments that do not compile; this is the smallest repair that
 * does. Lines marked "kit:" are the kit's; the rest is the slides'. */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define MAX_LINE 1024 /* kit: the slides give no value; the Java versions use 1024 */

int main() { /* kit: "Int main" in the slides */
    int sock; /* kit: "socket" in the slides, which hides the function socket() */
    struct sockaddr_in cliAddr, remoteServAddr;
    socklen_t remoteServLen = sizeof(remoteServAddr); /* kit: undeclared in the slides */
    struct hostent *hp;
    char sentence[MAX_LINE] = {0}; /* kit: zeroed, so every byte sent is known */
    char modifiedSentence[MAX_LINE + 1] = {0}; /* kit: zeroed, one byte more than the
                                                  recvfrom, so %s always finds a '\0' */
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : 9876; /* kit */
    const char *host = getenv("KIT_HOST") ? getenv("KIT_HOST") : "localhost"; /* kit */

    /* kit: every return code below is checked; the slides only say one should */
    /* Name to address: h_addr is the first address of the host entry */
    if ((hp = gethostbyname(host)) == NULL) {
        herror("gethostbyname failed");
        exit(EXIT_FAILURE);
    }
    remoteServAddr.sin_family = AF_INET;
    bcopy(hp->h_addr, &remoteServAddr.sin_addr, hp->h_length); /* kit: "h->" */
    remoteServAddr.sin_port = htons(port);

    if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }

    /* Bind any port: port 0 asks the kernel to pick a free one */
    cliAddr.sin_family = AF_INET;
    cliAddr.sin_addr.s_addr = htonl(INADDR_ANY);
    cliAddr.sin_port = htons(0);
    if (bind(sock, (struct sockaddr *)&cliAddr, sizeof(cliAddr)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }

    /* kit: fgets reads the line; it keeps the '\n', which then travels and comes back */
    if (fgets(sentence, MAX_LINE, stdin) == NULL) {
        fputs("no line on standard input\n", stderr);
        exit(EXIT_FAILURE);
    }

    /* The whole buffer travels: the line, then NULs up to MAX_LINE bytes */
    if (sendto(sock, sentence, MAX_LINE, 0, (struct sockaddr *)&remoteServAddr,
               sizeof(remoteServAddr)) < 0) {
        perror("sendto failed");
        exit(EXIT_FAILURE);
    }

    /* Blocks until a datagram arrives; no timeout, so a lost one means forever.
     * The reply's source address overwrites remoteServAddr. */
    if (recvfrom(sock, modifiedSentence, MAX_LINE, 0, (struct sockaddr *)&remoteServAddr,
                 &remoteServLen) < 0) {
        perror("recvfrom failed");
        exit(EXIT_FAILURE);
    }
    /* On stderr; the space before \n is the slides' (kit: plain quotes, not curly) */
    fprintf(stderr, "FROM SERVER: %s \n", modifiedSentence);

    close(sock);
    return 0;
}
