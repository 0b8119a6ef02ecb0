/* libFuzzer target: http-server's read_request (CSources/http/request.c) on any bytes,
 * as if a client had sent them and closed. The folder served is lectures/http-site
 * (make fuzz runs in the kit's folder). Besides crashes and overreads (ASan), it checks
 * what the server promises: a known status, and a 200 only for a file inside the root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../../CSources/http/request.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (realpath("lectures/http-site", root) == NULL) {
        perror("fuzz/http-c: lectures/http-site (run it in the kit's folder)");
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    static struct request rq;
    struct timespec deadline;
    FILE *input;
    int status;
    size_t n = strlen(root);

    if (size == 0) return 0; /* fmemopen refuses an empty buffer */
    if ((input = fmemopen((void *)data, size, "r")) == NULL) abort();
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += 60; /* never reached: the bytes are all there */
    status = read_request(input, &rq, &deadline);
    fclose(input);

    switch (status) {
    case 0: case 200: case 400: case 404: case 405: case 408: case 414: case 431: case 505:
        break;
    default:
        fprintf(stderr, "unexpected status %d\n", status);
        abort();
    }
    if (status == 200 && (strncmp(rq.file, root, n) != 0 || (rq.file[n] != '\0' && rq.file[n] != '/'))) {
        fprintf(stderr, "200 for %s, outside %s\n", rq.file, root);
        abort();
    }
    return 0;
}
