/*
step: 02-server
bug: prints sin_port as it is, in network byte order
fails: greets a client and logs its address
also: listens on every local address | logs an IPv6 client as [IP]:PORT, an IPv4 one as IP:PORT (a dual-stack server) | prints nothing on stdout but the Got connection lines
cause: two bytes swapped
*/
/* server: IPv4, prints the port straight from sin_port */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char greeting[] = "Welcome to the server!\n";

static int port_arg(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 5 || strspn(s, "0123456789") != n) return -1;
    long v = strtol(s, NULL, 10);
    return v >= 1 && v <= 65535 ? (int)v : -1;
}

int main(int argc, char **argv)
{
    int port;
    if (argc != 2 || (port = port_arg(argv[1])) < 0) {
        fprintf(stderr, "usage: server PORT\n");
        return 2;
    }
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) { fprintf(stderr, "server: socket port %d: %s\n", port, strerror(errno)); return 1; }
    int one = 1;
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
        fprintf(stderr, "server: setsockopt port %d: %s\n", port, strerror(errno)); return 1;
    }
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(lfd, (struct sockaddr *)&me, sizeof me) < 0) {
        fprintf(stderr, "server: bind port %d: %s\n", port, strerror(errno)); return 1;
    }
    if (listen(lfd, 16) < 0) { fprintf(stderr, "server: listen port %d: %s\n", port, strerror(errno)); return 1; }
    fprintf(stderr, "server: listening on port %d\n", port);
    for (;;) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        int c = accept(lfd, (struct sockaddr *)&peer, &len);
        if (c < 0) {
            if (errno != EINTR && errno != ECONNABORTED) fprintf(stderr, "server: accept: %s\n", strerror(errno));
            continue;
        }
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
        printf("Got connection from %s:%u\n", ip, (unsigned)peer.sin_port);
        fflush(stdout);
        if (send(c, greeting, sizeof greeting - 1, MSG_NOSIGNAL) < 0)
            fprintf(stderr, "server: send to %s: %s\n", ip, strerror(errno));
        close(c);
    }
}
