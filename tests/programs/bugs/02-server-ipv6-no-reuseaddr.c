/*
step: 02-server
bug: a dual-stack IPv6 server without SO_REUSEADDR: a restart fails to bind while connections are in TIME_WAIT
fails: restarts on the same port right after serving
cause: set SO_REUSEADDR
*/
/* server: dual-stack IPv6 socket, forgets SO_REUSEADDR */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *call, const char *port)
{
    fprintf(stderr, "server: %s port %s: %s\n", call, port, strerror(errno));
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 2) goto usage;
    const char *p = argv[1];
    long port = 0;
    if (!*p || strlen(p) > 5) goto usage;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') goto usage;
        port = port * 10 + *p - '0';
    }
    if (port < 1 || port > 65535) goto usage;

    int s = socket(AF_INET6, SOCK_STREAM, 0);
    if (s < 0) die("socket", argv[1]);
    int off = 0;
    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    a.sin6_port = htons((uint16_t)port);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) die("bind", argv[1]);
    if (listen(s, 32) < 0) die("listen", argv[1]);
    for (;;) {
        struct sockaddr_in6 c;
        socklen_t cl = sizeof c;
        int fd = accept(s, (struct sockaddr *)&c, &cl);
        if (fd < 0) continue;
        char ip[INET6_ADDRSTRLEN];
        if (IN6_IS_ADDR_V4MAPPED(&c.sin6_addr)) {
            inet_ntop(AF_INET, &c.sin6_addr.s6_addr[12], ip, sizeof ip);
            printf("Got connection from %s:%d\n", ip, ntohs(c.sin6_port));
        } else {
            inet_ntop(AF_INET6, &c.sin6_addr, ip, sizeof ip);
            printf("Got connection from [%s]:%d\n", ip, ntohs(c.sin6_port));
        }
        fflush(stdout);
        if (send(fd, "Welcome to the server!\n", 23, MSG_NOSIGNAL) != 23)
            fprintf(stderr, "server: send: %s\n", strerror(errno));
        close(fd);
    }
usage:
    fprintf(stderr, "usage: server PORT\n");
    return 2;
}
