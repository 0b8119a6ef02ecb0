/* Pitfall: one recv taken as one message.
 * TCP delivers a stream of bytes, not messages: recv returns what has arrived so far,
 * which can be less than the peer sent. The lecture's Java client writes one byte per
 * call (DataOutputStream.writeBytes); a server that reads once may get just the first.
 * Here the writer sends "h", then the rest only once the reader's first recv returned,
 * as a slow network would: so the first recv always sees one byte. With -DFIX the
 * reader loops until the newline that ends the message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* a pipe sees each line at once */
    const char *message = "hello, world\n";
    struct sockaddr_in address;
    socklen_t length = sizeof(address);
    int first_read_done[2];
    char buffer[1024];
    char token;

    /* A listener on a port the system picks, and a connection to it */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof(address)) < 0 ||
        listen(listener, 1) < 0 || getsockname(listener, (struct sockaddr *)&address, &length) < 0 ||
        pipe(first_read_done) < 0) {
        perror("setting up");
        return 1;
    }
    pid_t writer = fork();
    if (writer < 0) { perror("fork"); return 1; }
    if (writer == 0) { /* the client: the first byte, then the rest */
        int peer = socket(AF_INET, SOCK_STREAM, 0);
        if (peer < 0 || connect(peer, (struct sockaddr *)&address, sizeof(address)) < 0) {
            perror("client: connect");
            _exit(1);
        }
        send(peer, message, 1, 0);
        if (read(first_read_done[0], &token, 1) != 1) /* until the server's first recv returned */
            _exit(1);
        send(peer, message + 1, strlen(message) - 1, 0);
        close(peer);
        _exit(0);
    }
    int connection = accept(listener, NULL, NULL);
    if (connection < 0) { perror("accept"); return 1; }

#ifdef FIX
    /* Read until the message's end: the newline */
    size_t used = 0;
    int reads = 0;
    while (used < sizeof(buffer) - 1 && memchr(buffer, '\n', used) == NULL) {
        ssize_t n = recv(connection, buffer + used, sizeof(buffer) - 1 - used, 0);
        if (n <= 0) break; /* the peer closed (or failed) before a whole message */
        used += (size_t)n;
        if (++reads == 1 && write(first_read_done[1], "x", 1) != 1) return 1;
    }
    buffer[used] = '\0';
    printf("server: %d recv calls, message: %s", reads, buffer);
#else
    /* The pitfall: whatever one recv returned is taken as the whole message */
    ssize_t n = recv(connection, buffer, sizeof(buffer) - 1, 0);
    if (write(first_read_done[1], "x", 1) != 1) return 1;
    if (n < 0) { perror("recv"); return 1; }
    buffer[n] = '\0';
    printf("server: 1 recv call, message: %s\n", buffer);
#endif
    close(connection);
    close(listener);
    waitpid(writer, NULL, 0);
    return 0;
}
