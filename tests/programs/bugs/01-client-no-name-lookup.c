/*
step: 01-client
bug: turns HOST into an address with inet_pton() (an IPv4, then an IPv6 literal) instead of getaddrinfo(), so a host name such as localhost is never resolved.
fails: connects to localhost by name
also: tries each address of a name in turn (the first one refuses) | unknown host: message and exit 1
cause: resolve HOST with getaddrinfo()
*/
/* A careful client: connect to HOST PORT, copy every byte to stdout until EOF. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
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
    struct sockaddr_storage ss;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    int fd;

    /* BUG: only numeric addresses; names are never looked up */
    memset(&ss, 0, sizeof ss);
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((unsigned short)atoi(port));
        len = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((unsigned short)atoi(port));
        len = sizeof *a6;
    } else {
        fprintf(stderr, "client: cannot connect to %s port %s: not an IPv4 or IPv6 address\n", host, port);
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) {
        fprintf(stderr, "client: socket for %s port %s: %s\n", host, port, strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
        fprintf(stderr, "client: cannot connect to %s port %s: %s\n", host, port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char buf[4096];
    int fd, status = 0;

    if (argc != 3 || parse_port(argv[2]) < 0) usage();
    fd = connect_to(argv[1], argv[2]);
    if (fd < 0) return 1;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "client: recv from %s port %s: %s\n", argv[1], argv[2], strerror(errno));
            status = 1;
            break;
        }
        if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
            fprintf(stderr, "client: write to stdout: %s\n", strerror(errno));
            status = 1;
            break;
        }
    }
    close(fd);
    return status;
}
