/* Lab 04, a wrong solution: a thread per connection, right in every way but one.
 * When recv fails (the client reset the connection) the thread returns without
 * closing the descriptor: one lost for every client that vanishes that way. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define PORT 6789
#define BACKLOG 64
#define MAXLINE 1024

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

/* The descriptor travels in the pointer itself, so no thread shares it */
static void *serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buffer[MAXLINE];
    size_t kept = 0;
    while (1) {
        ssize_t got = recv(fd, buffer + kept, sizeof(buffer) - kept, 0);
        if (got < 0) {
            perror("recv failed");
            return NULL; /* wrong: fd stays open, and nothing will ever close it */
        }
        if (got == 0)
            break;
        size_t filled = kept + got, answered = 0;
        for (size_t i = kept; i < filled; i++) {
            buffer[i] = toupper((unsigned char)buffer[i]);
            if (buffer[i] == '\n')
                answered = i + 1;
        }
        if (answered == 0 && filled == sizeof(buffer))
            answered = filled;
        if (send_all(fd, buffer, answered) < 0)
            break;
        kept = filled - answered;
        memmove(buffer, buffer + answered, kept);
    }
    close(fd);
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT;

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    int opt = 1;
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
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("accept failed");
            exit(EXIT_FAILURE);
        }
        pthread_t thread;
        int failed = pthread_create(&thread, NULL, serve, (void *)(intptr_t)client);
        if (failed) {
            fprintf(stderr, "pthread_create failed: %s\n", strerror(failed));
            close(client);
            continue;
        }
        pthread_detach(thread); /* its resources go back when it ends: no join */
    }
}
