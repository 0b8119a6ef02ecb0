/* libFuzzer target: lab 06's reference (labs/06-http/reference/c/server.c), its
 * read_request on any bytes, as if a client had sent them and closed; the twin of
 * fuzz/http-c for the students' one-file server. The file is included whole, main
 * renamed, to reach its static functions. The folder served is lectures/http-site
 * (make fuzz runs in the kit's folder). Besides crashes, overreads (ASan) and undefined
 * behaviour (UBSan), it checks what the server promises: a status it knows, and a 200
 * only for a regular file inside the root. */
#define main http_lab_main
#include "../../labs/06-http/reference/c/server.c"
#undef main

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (realpath("lectures/http-site", root) == NULL) {
        perror("fuzz/lab06-http-c: lectures/http-site (run it in the kit's folder)");
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    static struct request rq;
    struct stat st;
    FILE *input;
    int status;

    if (size == 0) return 0; /* fmemopen refuses an empty buffer */
    if ((input = fmemopen((void *)data, size, "r")) == NULL) abort();
    status = read_request(input, &rq);
    fclose(input);

    switch (status) {
    case 0: case 200: case 400: case 404: case 405: case 414:
        break;
    default:
        fprintf(stderr, "unexpected status %d\n", status);
        abort();
    }
    if (status == 200 && (!inside_root(rq.file) || stat(rq.file, &st) < 0 || !S_ISREG(st.st_mode))) {
        fprintf(stderr, "200 for %s, not a file inside %s\n", rq.file, root);
        abort();
    }
    return 0;
}
