/*
step: 01-client
bug: connects to the first address getaddrinfo gives and gives up when it refuses
fails: tries each address of a name in turn (the first one refuses)
cause: go on with the next one
*/
/* client: connects to the first address getaddrinfo gives, nothing else */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int valid_port(const char *p)
{
    int v = 0, digits = 0;
    for (; *p; p++, digits++) {
        if (*p < '0' || *p > '9' || digits >= 5) return 0;
        v = v * 10 + (*p - '0');
    }
    return digits > 0 && v > 0 && v < 65536;
}

int main(int argc, char **argv)
{
    if (argc != 3 || !valid_port(argv[2])) {
        fputs("usage: client HOST PORT\n", stderr);
        return 2;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int rc = getaddrinfo(argv[1], argv[2], &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "client: cannot resolve %s port %s: %s\n", argv[1], argv[2], gai_strerror(rc));
        return 1;
    }
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
        fprintf(stderr, "client: connect to %s port %s: %s\n", argv[1], argv[2], strerror(errno));
        freeaddrinfo(res);
        return 1;
    }
    freeaddrinfo(res);
    static char buf[65536];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "client: recv: %s\n", strerror(errno));
            return 1;
        }
        for (ssize_t off = 0, w; off < n; off += w)
            if ((w = write(1, buf + off, (size_t)(n - off))) < 0) { perror("client: write"); return 1; }
    }
    close(fd);
    return 0;
}
