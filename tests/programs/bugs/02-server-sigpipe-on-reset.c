/*
step: 02-server
bug: its send loop ignores errors and simply tries again, without MSG_NOSIGNAL, so on a connection the client has reset the retry raises SIGPIPE and kills the server.
fails: survives clients that reset
also: memory check (valgrind)
cause: MSG_NOSIGNAL
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

static void send_all(int fd, const char *p, size_t n)
{
    size_t sent = 0;

    /* BUG: no MSG_NOSIGNAL, and a failed send is simply tried again: after a
     * reset the first try fails with ECONNRESET, the next one raises SIGPIPE */
    while (sent < n) {
        ssize_t w = send(fd, p + sent, n - sent, 0);
        if (w > 0) sent += (size_t)w;
    }
}

static void serve(int fd, const struct sockaddr_in *peer)
{
    char ip[INET_ADDRSTRLEN];
    unsigned port = ntohs(peer->sin_port);

    if (inet_ntop(AF_INET, &peer->sin_addr, ip, sizeof ip) == NULL) strcpy(ip, "?");
    printf("Got connection from %s:%u\n", ip, port);
    fflush(stdout);
    send_all(fd, welcome, sizeof welcome - 1);
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
