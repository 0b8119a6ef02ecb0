/* http-server's request reading: the part of the server that takes in a client's
 * bytes, apart from the sockets so that fuzz/http-c can feed it any bytes at all. */
#include <limits.h>
#include <stdio.h>
#include <time.h>

#define MAX_LINE 8192          /* longest request line or header line, "\r\n" included */
#define MAX_HEADERS 64         /* most header lines in one request */
#define MAX_HEADER_BYTES 16384 /* most bytes in all header lines together */

/* The folder served, as realpath gives it: absolute, no symbolic links, no '/' at the
 * end. Written once before the first thread starts, only read afterwards. */
extern char root[PATH_MAX];

/* One request, as read_request leaves it for the reply and the log line */
struct request {
    char line[MAX_LINE];  /* the request line, cut into method and target */
    const char *method;   /* "-" until the request line is understood */
    const char *target;
    int head;             /* HEAD: the same headers as GET, no body */
    char file[PATH_MAX];  /* for 200: the file to send */
};

/* Reads and checks one request from input (the connection, through stdio) until
 * deadline. Returns the status to answer with (200: rq->file is the file to send), or
 * 0 when the client sent nothing or left mid-request: there is nobody to answer. */
int read_request(FILE *input, struct request *rq, const struct timespec *deadline);
