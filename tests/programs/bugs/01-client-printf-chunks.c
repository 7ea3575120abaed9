/*
step: 01-client
bug: prints each chunk with printf("%s") after buf[n] = '\0': bytes after a NUL are lost
fails: copies NUL bytes and every byte value
cause: the bytes stop at a NUL byte
*/
/* client: prints each chunk with printf("%s") */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char *end;
    long port;
    if (argc != 3 || argv[2][0] < '0' || argv[2][0] > '9'
        || (port = strtol(argv[2], &end, 10), *end) || port < 1 || port > 65535 || strlen(argv[2]) > 5) {
        fprintf(stderr, "usage: client HOST PORT\n");
        return 2;
    }
    struct addrinfo h = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *r;
    int g = getaddrinfo(argv[1], argv[2], &h, &r);
    if (g) { fprintf(stderr, "client: cannot resolve %s port %s: %s\n", argv[1], argv[2], gai_strerror(g)); return 1; }
    int fd = -1, why = 0;
    for (struct addrinfo *a = r; a; a = a->ai_next) {
        if ((fd = socket(a->ai_family, SOCK_STREAM, 0)) < 0) { why = errno; continue; }
        if (!connect(fd, a->ai_addr, a->ai_addrlen)) break;
        why = errno; close(fd); fd = -1;
    }
    freeaddrinfo(r);
    if (fd < 0) { fprintf(stderr, "client: connect to %s port %s: %s\n", argv[1], argv[2], strerror(why)); return 1; }
    char buf[1024];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        if (n == 0) break;
        if (n < 0) { fprintf(stderr, "client: recv: %s\n", strerror(errno)); close(fd); return 1; }
        buf[n] = '\0';
        printf("%s", buf);
        fflush(stdout);
    }
    close(fd);
    return 0;
}
