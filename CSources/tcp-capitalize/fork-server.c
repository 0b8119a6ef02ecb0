/* tcp-capitalize fork server: the slides' pseudocode for a concurrent server, in the
 * kit's own hand. Accept, fork; the child serves the connection exactly as server.c
 * does (one read, capitalize, write the whole buffer) and exits; the parent closes its
 * copy of the connection and accepts the next client at once. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#define MAXLINE 1024
#define LISTENQ 5

/* In place, up to the '\0' */
void capitalize(char *s) {
    for (; *s != '\0'; s++)
        *s = toupper((unsigned char)*s);
}

/* A finished child stays a zombie until its parent waits for it. One SIGCHLD may
 * stand for several children, so reap until none is left; keep errno for main. */
void reap(int signo) {
    (void)signo;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

int main() {
    int welcomeSocket, connectionSocket;
    struct sockaddr_in sin;
    int opt = 1;
    struct sigaction sa;
    pid_t pid;
    setvbuf(stdout, NULL, _IOLBF, 0); /* kit: a pipe sees each line at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : 6789; /* kit */

    /* No SA_RESTART: a child's exit interrupts accept, which the loop retries */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = reap;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    if (sigaction(SIGCHLD, &sa, NULL) < 0) {
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
            if (errno == EINTR) /* SIGCHLD arrived: not an error */
                continue;
            perror("accept failed");
            exit(EXIT_FAILURE);
        }

        if ((pid = fork()) < 0) {
            /* No child: drop this client, keep serving the others */
            perror("fork failed");
            close(connectionSocket);
            continue;
        }

        if (pid == 0) {
            /* Child: only the parent accepts, so let go of the welcome socket */
            char clientSentence[MAXLINE] = {0};
            close(welcomeSocket);
            if (read(connectionSocket, clientSentence, MAXLINE) < 0) {
                perror("read failed");
                exit(EXIT_FAILURE);
            }
            clientSentence[MAXLINE - 1] = '\0';
            capitalize(clientSentence);
            if (write(connectionSocket, clientSentence, MAXLINE) < 0) {
                perror("write failed");
                exit(EXIT_FAILURE);
            }
            close(connectionSocket);
            exit(EXIT_SUCCESS);
        }

        /* Parent: the child has its own copy; closing ours lets the client see the
         * end of the connection when the child closes, and frees the descriptor */
        close(connectionSocket);
    }
}
