/* Lab 05, event-loop server, written the way chapter 5 taught concurrency: a blocking
 * echo loop, and a thread for each client so that no client waits for another. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PORT 8080
#define BUFFER_SIZE 4096

/* wrong: one thread per client. It serves everyone, but the lab asks for one thread
 * that waits in poll or epoll_wait for all of them. */
static void *serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buffer[BUFFER_SIZE];
    ssize_t n;
    while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) {
        ssize_t sent = 0;
        while (sent < n) { /* blocking send: only this client's thread waits */
            ssize_t k = send(fd, buffer + sent, (size_t)(n - sent), MSG_NOSIGNAL);
            if (k < 0)
                goto done;
            sent += k;
        }
    }
done:
    close(fd);
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line reaches a pipe at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT;
    struct sockaddr_in address;
    int opt = 1;

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt));
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(port);
    if (bind(listener, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    if (listen(listener, SOMAXCONN) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }
    printf("Listening on port %d\n", port);

    while (1) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            perror("accept failed");
            continue;
        }
        pthread_t thread;
        if (pthread_create(&thread, NULL, serve, (void *)(intptr_t)fd) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            close(fd);
            continue;
        }
        pthread_detach(thread);
    }
}
