/* tcp-capitalize thread server: the slides' "same idea with a thread instead of a
 * process", in the kit's own hand. Accept, start a detached thread; the thread serves
 * the connection exactly as server.c does (one read, capitalize, write the whole
 * buffer) and ends; main accepts the next client at once. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define MAXLINE 1024
#define LISTENQ 5

/* In place, up to the '\0' */
void capitalize(char *s) {
    for (; *s != '\0'; s++)
        *s = toupper((unsigned char)*s);
}

/* One thread per connection. An error here ends this connection, not the server:
 * exit() would end every thread of the process. */
void *serve(void *arg) {
    int connectionSocket = *(int *)arg;
    char clientSentence[MAXLINE] = {0};
    free(arg);

    if (read(connectionSocket, clientSentence, MAXLINE) < 0) {
        perror("read failed");
        close(connectionSocket);
        return NULL;
    }
    clientSentence[MAXLINE - 1] = '\0';
    capitalize(clientSentence);
    if (write(connectionSocket, clientSentence, MAXLINE) < 0)
        perror("write failed");
    close(connectionSocket);
    return NULL;
}

int main() {
    int welcomeSocket, connectionSocket;
    struct sockaddr_in sin;
    int opt = 1;
    struct sigaction sa;
    pthread_t tid;
    int *fdp;
    int rc;
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : 6789; /* kit */

    /* Writing to a client that has reset the connection raises SIGPIPE, whose default
     * action kills the whole process. Ignored, write fails with EPIPE instead. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    if (sigaction(SIGPIPE, &sa, NULL) < 0) {
        perror("sigaction failed");
        exit(EXIT_FAILURE);
    }

    if ((welcomeSocket = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }

    /* As in server.c: bind again at once though served connections sit in TIME_WAIT */
    if (setsockopt(welcomeSocket, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = INADDR_ANY;
    sin.sin_port = htons(port);

    if (bind(welcomeSocket, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    if (listen(welcomeSocket, LISTENQ) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }

    while (1) {
        if ((connectionSocket = accept(welcomeSocket, NULL, NULL)) < 0) {
            perror("accept failed");
            exit(EXIT_FAILURE);
        }

        /* Each thread gets its own copy of the descriptor. Passing &connectionSocket
         * would race: the next accept may overwrite it before the thread reads it. */
        if ((fdp = malloc(sizeof(int))) == NULL) {
            perror("malloc failed");
            close(connectionSocket);
            continue;
        }
        *fdp = connectionSocket;

        /* pthread functions return the error number instead of setting errno */
        if ((rc = pthread_create(&tid, NULL, serve, fdp)) != 0) {
            errno = rc;
            perror("pthread_create failed");
            free(fdp);
            close(connectionSocket);
            continue;
        }
        /* Detached: its resources go back to the system when it ends, no join needed */
        if ((rc = pthread_detach(tid)) != 0) {
            errno = rc;
            perror("pthread_detach failed");
        }
    }
}
