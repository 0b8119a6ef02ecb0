/* tcp-capitalize server (lecture document 001, Kurose & Ross style slides): accept a
 * connection, read one line, send it back upper-cased, close, wait for the next one.
 * The slide's C fragment does not compile as printed: this is the smallest repair
 * that does, every repaired line marked "kit:" like the kit's own lines. No return
 * code is checked, as on the slide: a failed accept or read does not stop the loop. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* kit: the slide sizes its buffer with MAX_LINE, reads and writes MAXLINE bytes, and
 * listens with a backlog of LISTENQ; it defines none of them */
#define MAX_LINE 1024
#define MAXLINE MAX_LINE
#define LISTENQ 5 /* "about 5", as the slides put the backlog */

/* kit: the slide leaves capitalize() to be written. In place, up to the '\0', and
 * never past the buffer's MAXLINE bytes if the read brought no '\0'. */
void capitalize(char *s) {
    for (int i = 0; i < MAXLINE && s[i] != '\0'; i++)
        s[i] = toupper((unsigned char)s[i]);
}

int main(void) { /* kit: main around the slide's fragment */
    int welcomeSocket, connectionSocket;
    char clientSentence[MAX_LINE];; /* the second ';' is the slide's, and harmless */
    struct sockaddr_in servaddr;
    ssize_t bytesRead; /* kit: the slide assigns bytesRead without declaring it */
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : 6789; /* kit */
    /* kit: zeroed once, so a first read that brings no '\0' (one byte "h" from the
     * Java client) is answered "H" and zeros, not "H" and whatever the stack held */
    memset(clientSentence, 0, sizeof(clientSentence)); /* kit */

    welcomeSocket = socket(AF_INET, SOCK_STREAM, 0);
    /* kit: the server closes first, so every connection it served waits a minute in
     * TIME_WAIT on this port; without SO_REUSEADDR a restarted server could not bind */
    int opt = 1; /* kit */
    setsockopt(welcomeSocket, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt)); /* kit */
    /* Not zeroed first: Linux ignores sin_zero */
    servaddr.sin_family = AF_INET;
    servaddr.sin_addr.s_addr = htonl(INADDR_ANY);
    servaddr.sin_port = htons(port); /* kit: port, 6789 unless KIT_PORT says otherwise */
    /* The welcome socket: the door every client knocks on.
     * kit: welcomeSocket; the slide misspells it lwelcomeSocket */
    bind(welcomeSocket, (struct sockaddr *) &servaddr, sizeof(servaddr));
    listen(welcomeSocket, LISTENQ);

    /* Iterative: one client at a time; the others wait in the LISTENQ backlog */
    for ( ; ; ) {
        /* A new socket for this client; welcomeSocket keeps listening */
        connectionSocket = accept(welcomeSocket, (struct sockaddr *) NULL, NULL);
        /* One read: whatever has arrived so far, not necessarily the whole line */
        bytesRead = read(connectionSocket, clientSentence, MAXLINE);
        capitalize(clientSentence);
        /* The whole buffer goes back: the string, its '\0' and whatever follows */
        write(connectionSocket, clientSentence, MAXLINE);
        close(connectionSocket); /* kit: "connectSocket" on the slide */
    }
    close(welcomeSocket); /* never reached: the loop has no way out */
}
