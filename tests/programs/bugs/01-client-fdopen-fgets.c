/*
step: 01-client
bug: reads the socket through fdopen()/fgets(): a partial line waits for its '\n', and strlen() cuts at a NUL
fails: prints a partial line (no \n) as it arrives
also: copies NUL bytes and every byte value
cause: not only whole lines
*/
/* client: reads the server's text line by line with fdopen/fgets */
#define _GNU_SOURCE
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <errno.h>

static int port_ok(const char *s)
{
    if (!*s || strlen(s) > 5) return 0;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        v = v * 10 + (*p - '0');
    }
    return v >= 1 && v <= 65535;
}

int main(int argc, char **argv)
{
    if (argc != 3 || !port_ok(argv[2])) {
        fprintf(stderr, "usage: client HOST PORT\n");
        return 2;
    }
    struct addrinfo hints = {0}, *res, *ai;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(argv[1], argv[2], &hints, &res);
    if (rc) {
        fprintf(stderr, "client: cannot resolve %s port %s: %s\n", argv[1], argv[2], gai_strerror(rc));
        return 1;
    }
    int fd = -1, err = 0;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) { err = errno; continue; }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "client: connect to %s port %s: %s\n", argv[1], argv[2], strerror(err));
        return 1;
    }
    FILE *in = fdopen(fd, "r");
    char line[4096];
    size_t n;
    /* fread of whole chunks, so NUL bytes survive; but fgets-style waiting */
    while (fgets(line, sizeof line, in)) {
        n = strlen(line);
        fwrite(line, 1, n, stdout);
        fflush(stdout);
    }
    if (ferror(in)) {
        fprintf(stderr, "client: recv: %s\n", strerror(errno));
        fclose(in);
        return 1;
    }
    fclose(in);
    return 0;
}
