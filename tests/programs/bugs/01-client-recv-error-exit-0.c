/*
step: 01-client
bug: loops while recv() > 0 and exits 0 after it: a reset (recv -1, ECONNRESET) ends silently with status 0
fails: server resets the connection: why on stderr and exit 1
cause: not 0: that is no end of stream
*/
/* client with a small read loop; treats any recv() <= 0 as the end */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void usage(void) { fputs("usage: client HOST PORT\n", stderr); exit(2); }

static int parse(const char *s)
{
    char *end;
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > 65535) return -1;
    return (int)v;
}

static int dial(const char *host, const char *port)
{
    struct addrinfo hints, *list;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int e = getaddrinfo(host, port, &hints, &list);
    if (e != 0) {
        fprintf(stderr, "client: cannot resolve %s port %s: %s\n", host, port, gai_strerror(e));
        exit(1);
    }
    int s = -1, saved = ECONNREFUSED;
    for (struct addrinfo *a = list; a && s < 0; a = a->ai_next) {
        s = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (s >= 0 && connect(s, a->ai_addr, a->ai_addrlen) < 0) {
            saved = errno;
            close(s);
            s = -1;
        }
    }
    freeaddrinfo(list);
    if (s < 0) {
        fprintf(stderr, "client: connect to %s port %s: %s\n", host, port, strerror(saved));
        exit(1);
    }
    return s;
}

int main(int argc, char *argv[])
{
    if (argc != 3 || parse(argv[2]) < 0) usage();
    int s = dial(argv[1], argv[2]);
    char buf[8192];
    ssize_t got;
    while ((got = recv(s, buf, sizeof buf, 0)) > 0) {
        ssize_t off = 0;
        while (off < got) {
            ssize_t w = write(STDOUT_FILENO, buf + off, (size_t)(got - off));
            if (w < 0) { if (errno == EINTR) continue; perror("client: write"); return 1; }
            off += w;
        }
    }
    close(s);
    return 0;
}
