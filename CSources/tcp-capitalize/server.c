/* tcp-capitalize server (lecture document 001, Kurose & Ross style slides): accept a
 * connection, read one line, send it back upper-cased, close, wait for the next one.
 * The slides give C fragments that do not compile; this is the smallest repair that
 * does. Lines marked "kit:" are the kit's; the rest is the slides'. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define MAXLINE 1024 /* kit: the slides use MAXLINE and LISTENQ without defining them */
#define LISTENQ 5    /* kit: the backlog, "about 5" in the slides */

/* kit: the slides leave capitalize() to the reader. In place, up to the '\0'. */
void capitalize(char *s) {
    for (; *s != '\0'; s++)
        *s = toupper((unsigned char)*s);
}

int main() { /* kit: "Int main" in the slides */
    int welcomeSocket, connectionSocket;
    struct sockaddr_in sin; /* kit: the slides use sin without declaring it */
    int opt = 1; /* kit */
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : 6789; /* kit */

    /* kit: every return code below is checked; the slides only say one should */
    if ((welcomeSocket = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }

    /* kit: the server closes first, so every connection it served waits a minute in
     * TIME_WAIT on this port; without this a restarted server could not bind */
    if (setsockopt(welcomeSocket, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = INADDR_ANY;
    sin.sin_port = htons(port); /* kit: port; the slides misprint "htons(6789r)" */

    /* The welcome socket: the door every client knocks on (kit: "lwelcomeSocket") */
    if (bind(welcomeSocket, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    if (listen(welcomeSocket, LISTENQ) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }

    /* Iterative: one client at a time; the others wait in the LISTENQ backlog */
    while (1) {
        /* kit: zeroed for every connection, so the bytes after the string are zeros */
        char clientSentence[MAXLINE] = {0};

        /* A new socket for this client; welcomeSocket keeps listening */
        if ((connectionSocket = accept(welcomeSocket, NULL, NULL)) < 0) {
            perror("accept failed");
            exit(EXIT_FAILURE);
        }

        /* One read: whatever has arrived so far, not necessarily the whole line */
        if (read(connectionSocket, clientSentence, MAXLINE) < 0) {
            perror("read failed");
            exit(EXIT_FAILURE);
        }
        clientSentence[MAXLINE - 1] = '\0'; /* kit: "buff[MAXLINE-1]" in the slides */
        capitalize(clientSentence);

        /* The whole buffer goes back: the string, its '\0' and the zeros after it.
         * kit: three arguments; the slides add send's fourth, flags */
        if (write(connectionSocket, clientSentence, MAXLINE) < 0) {
            perror("write failed");
            exit(EXIT_FAILURE);
        }
        close(connectionSocket); /* kit: "connectSocket" in the slides */
    }
}
