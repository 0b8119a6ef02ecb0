/* Lab 04, a wrong solution: a fork server whose parent never closes its copy of each
 * connection. Children serve and exit, yet every connection stays open in the parent. */
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

#define PORT 6789
#define BACKLOG 64 /* a burst of clients queues here instead of waiting for a SYN retry */
#define MAXLINE 1024

/* A child that has exited stays a zombie until it is waited for. One SIGCHLD may
 * stand for several exits, so reap all that are ready; keep errno for main. */
static void reap(int signo) {
    (void)signo;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

/* send may take fewer bytes than asked: go on until all are gone. MSG_NOSIGNAL: a
 * client that has reset makes send fail with EPIPE instead of raising SIGPIPE. */
static int send_all(int fd, const char *bytes, size_t length) {
    while (length > 0) {
        ssize_t sent = send(fd, bytes, length, MSG_NOSIGNAL);
        if (sent < 0)
            return -1;
        bytes += sent;
        length -= sent;
    }
    return 0;
}

/* One client, until it closes. A recv returns whatever has arrived: part of a line,
 * or several lines. Answer up to the last '\n' received and keep the rest, the start
 * of a line still coming, at the front of the buffer for the next recv. */
static void serve(int fd) {
    char buffer[MAXLINE];
    size_t kept = 0;
    ssize_t got;
    while ((got = recv(fd, buffer + kept, sizeof(buffer) - kept, 0)) > 0) {
        size_t filled = kept + got, answered = 0;
        for (size_t i = kept; i < filled; i++) {
            buffer[i] = toupper((unsigned char)buffer[i]);
            if (buffer[i] == '\n')
                answered = i + 1;
        }
        /* A line longer than the buffer goes back in pieces: the same bytes */
        if (answered == 0 && filled == sizeof(buffer))
            answered = filled;
        if (send_all(fd, buffer, answered) < 0)
            return;
        kept = filled - answered;
        memmove(buffer, buffer + answered, kept);
    }
    /* got == 0: the client closed, and a last line without '\n' is dropped.
     * got < 0: it reset the connection. Either way this connection is over. */
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines reach a pipe at once, and fork copies none */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT;

    /* SA_RESTART: accept, interrupted by a SIGCHLD, resumes by itself */
    struct sigaction reaper = {0};
    reaper.sa_handler = reap;
    sigemptyset(&reaper.sa_mask);
    reaper.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    if (sigaction(SIGCHLD, &reaper, NULL) < 0) {
        perror("sigaction failed");
        exit(EXIT_FAILURE);
    }

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    int opt = 1; /* restart at once, though served connections wait in TIME_WAIT */
    if (setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt)) < 0) {
        perror("setsockopt failed");
        exit(EXIT_FAILURE);
    }
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(port);
    if (bind(listener, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    if (listen(listener, BACKLOG) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }

    while (1) {
        int client = accept(listener, NULL, NULL);
        if (client < 0) {
            if (errno == EINTR || errno == ECONNABORTED) /* a client gone before accept */
                continue;
            perror("accept failed");
            exit(EXIT_FAILURE);
        }
        pid_t child = fork();
        if (child < 0) {
            perror("fork failed"); /* this client is dropped; the others go on */
        } else if (child == 0) {
            close(listener); /* only the parent accepts */
            serve(client);
            close(client);
            exit(EXIT_SUCCESS);
        }
        /* wrong: the parent keeps its copy of the connection "because the child
         * serves it". The child's close then ends nothing: the client never sees
         * the connection end, and the parent holds one more descriptor per client. */
    }
}
