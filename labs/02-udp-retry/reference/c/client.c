/* Lab 02, udp-retry client: send each line of stdin as one datagram "SEQ LINE" and
 * print the server's answer, sending again what goes unanswered. UDP may lose a
 * datagram, deliver it late or deliver it twice, and never says which: a timeout,
 * a retry and a sequence number are how a client copes. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PORT 9876
#define BUFFER_SIZE 1024
#define TRIES 5
#define TRY_MS 500

/* Milliseconds on a clock that only moves forward (the wall clock can be set back) */
static long now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000L + now.tv_nsec / 1000000L;
}

/* Waits until deadline for the datagram that starts with prefix ("SEQ ") and returns
 * the text after it, or NULL when time is up. Whatever else arrives meanwhile (a late
 * answer to an earlier line, a duplicate) is read and dropped, and the deadline
 * stays where it was: an ignored datagram does not make a try longer. */
static const char *await_answer(int sock, const char *prefix, char *buffer, size_t size,
                                long deadline) {
    struct pollfd ready = {.fd = sock, .events = POLLIN};
    size_t length = strlen(prefix);
    long left;
    while ((left = deadline - now_ms()) > 0) {
        int n = poll(&ready, 1, (int)left);
        if (n < 0) {
            perror("poll failed");
            exit(EXIT_FAILURE);
        }
        if (n == 0)
            break;
        /* Any sender will do: the sequence number says whether this is the answer */
        ssize_t got = recvfrom(sock, buffer, size - 1, 0, NULL, NULL);
        if (got < 0) {
            perror("recvfrom failed");
            exit(EXIT_FAILURE);
        }
        buffer[got] = '\0';
        if ((size_t)got >= length && memcmp(buffer, prefix, length) == 0)
            return buffer + length;
    }
    return NULL;
}

int main(void) {
    struct sockaddr_in server;
    char line[BUFFER_SIZE], request[BUFFER_SIZE + 16], answer[BUFFER_SIZE + 16], prefix[16];
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line reaches a pipe at once */
    int port = getenv("KIT_PORT") ? atoi(getenv("KIT_PORT")) : PORT;
    const char *host = getenv("KIT_HOST") ? getenv("KIT_HOST") : "127.0.0.1";

    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (sock < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }
    memset(&server, 0, sizeof(server));
    server.sin_family = AF_INET;
    server.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &server.sin_addr) <= 0) {
        fprintf(stderr, "invalid address: %s\n", host);
        exit(EXIT_FAILURE);
    }

    for (unsigned seq = 1; fgets(line, sizeof(line), stdin) != NULL; seq++) {
        line[strcspn(line, "\n")] = '\0'; /* the newline ends the line; it does not travel */
        int length = snprintf(request, sizeof(request), "%u %s", seq, line);
        snprintf(prefix, sizeof(prefix), "%u ", seq);
        const char *text = NULL;
        for (int tries = 0; tries < TRIES && text == NULL; tries++) {
            /* The same bytes every time: a retry is the request again, not a new one */
            if (sendto(sock, request, (size_t)length, 0, (struct sockaddr *)&server,
                       sizeof(server)) < 0) {
                perror("sendto failed");
                exit(EXIT_FAILURE);
            }
            text = await_answer(sock, prefix, answer, sizeof(answer), now_ms() + TRY_MS);
        }
        if (text == NULL) {
            fprintf(stderr, "no answer after %d tries\n", TRIES);
            exit(EXIT_FAILURE);
        }
        printf("FROM SERVER: %s\n", text);
    }

    close(sock);
    return 0;
}
