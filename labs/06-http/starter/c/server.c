/* Lab 06, http: a static HTTP/1.0 server for the files of one folder.
 *   server DIR        (KIT_PORT sets the port, 8080 without it)
 * The handout (labs/06-http/README.md) gives the protocol and what the grader checks;
 * lectures/http.md explains HTTP on the wire and the security rules. The socket
 * setup is done; work where it says TODO, then run `make grade LAB=06`. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <netinet/in.h>

#define PORT 8080

/* DIR as realpath gives it (absolute, no links): every file served is below it */
static char root[PATH_MAX];

/* One connection: one request, one answer, close. */
static void serve(int fd) {
    /* TODO 1: read the request line, at most a fixed number of bytes (8 KiB, say): a
     *         longer one gets 414 at once, unread. fdopen(fd, "r") and getc help. */
    /* TODO 2: METHOD TARGET VERSION, exactly two spaces, VERSION HTTP/1.0 or HTTP/1.1;
     *         anything else gets 400. Then read the header lines up to the empty one. */
    /* TODO 3: GET and HEAD only: any other method gets 405. */
    /* TODO 4: the file: decode every %XX of the target, put root in front, realpath()
     *         the result and check it is root or starts with root + "/"; a name that
     *         is missing or outside gets 404. */
    /* TODO 5: "HTTP/1.0 200 OK\r\n", Content-Type (by the extension), Content-Length
     *         (the size), an empty line, then the file's bytes (none for HEAD). Every
     *         write in a loop: a socket may take part of a buffer. An error gets its
     *         status line and a one-line text body. */
    close(fd);
}

int main(int argc, char *argv[]) {
    struct sockaddr_in address;
    struct stat st;
    int listen_fd, fd, opt = 1;
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line reaches a pipe at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT;

    if (argc != 2) {
        fprintf(stderr, "usage: server DIR\n");
        exit(EXIT_FAILURE);
    }
    if (realpath(argv[1], root) == NULL || stat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "server: %s is not a folder\n", argv[1]);
        exit(EXIT_FAILURE);
    }
    /* TODO 6: a client that hangs up while you write makes write raise SIGPIPE, and
     *         SIGPIPE's default action ends the whole process: ignore it. */

    if ((listen_fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt));
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = INADDR_ANY;
    address.sin_port = htons(port);
    if (bind(listen_fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("bind failed");
        exit(EXIT_FAILURE);
    }
    if (listen(listen_fd, 16) < 0) {
        perror("listen failed");
        exit(EXIT_FAILURE);
    }
    printf("Serving %s on port %d\n", root, port);

    while (1) {
        if ((fd = accept(listen_fd, NULL, NULL)) < 0) {
            perror("accept failed");
            continue;
        }
        /* TODO 7: a thread per connection (pthread_create, pthread_detach) and a read
         *         timeout (SO_RCVTIMEO): a client that connects and says nothing must
         *         not hold up everyone else, nor its thread forever. */
        serve(fd);
    }
}
