/*
step: 01-client
bug: resolves HOST with gethostbyname(): IPv4 only, and hstrerror's reason is not the system's
fails: connects over IPv6 (::1)
also: unknown host: message and exit 1
cause: ask getaddrinfo() for every family
*/
/* client: old-style resolution with gethostbyname, IPv4 only */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port_of(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5 || strspn(s, "0123456789") != n) return -1;
    int p = atoi(s);
    return p >= 1 && p <= 65535 ? p : -1;
}

int main(int argc, char **argv)
{
    int port;
    if (argc != 3 || (port = port_of(argv[2])) < 0) {
        fprintf(stderr, "usage: client HOST PORT\n");
        return 2;
    }
    struct hostent *he = gethostbyname(argv[1]);
    if (!he) {
        fprintf(stderr, "client: cannot resolve %s port %s: %s\n", argv[1], argv[2], hstrerror(h_errno));
        return 1;
    }
    int fd = -1, err = 0;
    for (char **a = he->h_addr_list; *a; a++) {
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        sin.sin_port = htons((unsigned short)port);
        memcpy(&sin.sin_addr, *a, sizeof sin.sin_addr);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) { err = errno; continue; }
        if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0) break;
        err = errno;
        close(fd);
        fd = -1;
    }
    if (fd < 0) {
        fprintf(stderr, "client: connect to %s port %s: %s\n", argv[1], argv[2], strerror(err));
        return 1;
    }
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(1, buf + done, (size_t)(n - done));
            if (w < 0) { perror("client: write"); return 1; }
            done += w;
        }
    }
    if (n < 0) { fprintf(stderr, "client: recv: %s\n", strerror(errno)); return 1; }
    close(fd);
    return 0;
}
