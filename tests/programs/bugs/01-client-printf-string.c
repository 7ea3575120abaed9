/*
step: 01-client
bug: prints each received piece with printf("%s") (then fflush), so output stops at the first NUL byte of every piece.
fails: copies NUL bytes and every byte value
cause: NUL byte
*/
/* A careful client: connect to HOST PORT, copy every byte to stdout until EOF. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static void usage(void)
{
    fputs("usage: client HOST PORT\n", stderr);
    exit(2);
}

/* 1 to 65535, plain decimal digits only; -1 otherwise. */
static long parse_port(const char *s)
{
    long v = 0;

    if (*s == '\0') return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (*s - '0');
        if (v > 65535) return -1;
    }
    return v >= 1 ? v : -1;
}

static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints, *list, *ai;
    int fd = -1, err = 0, rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        fprintf(stderr, "client: cannot resolve %s port %s: %s\n", host, port,
                rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (ai = list; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(list);
    if (fd < 0)
        fprintf(stderr, "client: cannot connect to %s port %s: %s\n", host, port, strerror(err));
    return fd;
}

int main(int argc, char **argv)
{
    char buf[4096];
    int fd, status = 0;

    if (argc != 3 || parse_port(argv[2]) < 0) usage();
    fd = connect_to(argv[1], argv[2]);
    if (fd < 0) return 1;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "client: recv from %s port %s: %s\n", argv[1], argv[2], strerror(errno));
            status = 1;
            break;
        }
        buf[n] = '\0';
        /* BUG: %s stops at the first NUL byte */
        if (printf("%s", buf) < 0 || fflush(stdout) == EOF) {
            fprintf(stderr, "client: write to stdout: %s\n", strerror(errno));
            status = 1;
            break;
        }
    }
    close(fd);
    return status;
}
