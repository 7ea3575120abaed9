/*
step: 02-server
bug: peeks at the client with a non-blocking recv() before greeting it and takes a return of 0 (the client has already closed) for a fatal error: it exits.
fails: survives clients that close at once
also: memory check (valgrind)
cause: a client that vanished must not stop your server
*/
/* A careful server: greet every client on PORT, one after another. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static const char welcome[] = "Welcome to the server!\n";

static void usage(void)
{
    fputs("usage: server PORT\n", stderr);
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

static int listen_on(long port)
{
    struct sockaddr_in addr;
    int on = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        fprintf(stderr, "server: socket for port %ld: %s\n", port, strerror(errno));
        exit(1);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) {
        fprintf(stderr, "server: setsockopt SO_REUSEADDR for port %ld: %s\n", port, strerror(errno));
        exit(1);
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons((unsigned short)port);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "server: cannot bind port %ld: %s\n", port, strerror(errno));
        exit(1);
    }
    if (listen(fd, 16) < 0) {
        fprintf(stderr, "server: cannot listen on port %ld: %s\n", port, strerror(errno));
        exit(1);
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void serve(int fd, const struct sockaddr_in *peer)
{
    char ip[INET_ADDRSTRLEN];
    unsigned port = ntohs(peer->sin_port);

    if (inet_ntop(AF_INET, &peer->sin_addr, ip, sizeof ip) == NULL) strcpy(ip, "?");
    char peek;
    ssize_t got;

    printf("Got connection from %s:%u\n", ip, port);
    fflush(stdout);
    got = recv(fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT);
    if (got == 0) { /* BUG: a client that left is no reason to stop the server */
        fprintf(stderr, "server: %s:%u closed the connection\n", ip, port);
        exit(1);
    }
    if (send_all(fd, welcome, sizeof welcome - 1) < 0)
        fprintf(stderr, "server: send to %s:%u: %s\n", ip, port, strerror(errno));
    close(fd);
}

int main(int argc, char **argv)
{
    long port;
    int lfd;

    if (argc != 2 || (port = parse_port(argv[1])) < 0) usage();
    lfd = listen_on(port);
    fprintf(stderr, "server: listening on port %ld\n", port);
    for (;;) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        int fd = accept(lfd, (struct sockaddr *)&peer, &len);

        if (fd < 0) {
            int err = errno;
            if (err == EINTR || err == ECONNABORTED) continue;
            fprintf(stderr, "server: accept on port %ld: %s\n", port, strerror(err));
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) sleep(1);
            continue;
        }
        serve(fd, &peer);
    }
}
