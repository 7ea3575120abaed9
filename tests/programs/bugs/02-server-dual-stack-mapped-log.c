/*
step: 02-server
bug: a dual-stack server that logs an IPv4 client as inet_ntop(AF_INET6) gives it: ::ffff:127.0.0.1
fails: greets a client and logs its address
also: listens on every local address | logs an IPv6 client as [IP]:PORT, an IPv4 one as IP:PORT (a dual-stack server) | prints nothing on stdout but the Got connection lines
cause: IPv4-mapped form
*/
/* server: dual-stack, logs the address as inet_ntop gives it */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long port = -1;
    if (argc == 2 && argv[1][0] >= '0' && argv[1][0] <= '9' && strlen(argv[1]) <= 5) {
        char *e;
        port = strtol(argv[1], &e, 10);
        if (*e) port = -1;
    }
    if (port < 1 || port > 65535) { fprintf(stderr, "usage: server PORT\n"); return 2; }
    int fd = socket(AF_INET6, SOCK_STREAM, 0), zero = 0, one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = IN6ADDR_ANY_INIT};
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { fprintf(stderr, "server: bind port %ld: %s\n", port, strerror(errno)); return 1; }
    if (listen(fd, 64) < 0) { fprintf(stderr, "server: listen port %ld: %s\n", port, strerror(errno)); return 1; }
    for (;;) {
        struct sockaddr_in6 p;
        socklen_t pl = sizeof p;
        int c = accept(fd, (struct sockaddr *)&p, &pl);
        if (c < 0) continue;
        char ip[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &p.sin6_addr, ip, sizeof ip);
        if (strchr(ip, ':') && !IN6_IS_ADDR_V4MAPPED(&p.sin6_addr))
            printf("Got connection from [%s]:%u\n", ip, ntohs(p.sin6_port));
        else
            printf("Got connection from %s:%u\n", ip, ntohs(p.sin6_port));
        fflush(stdout);
        if (send(c, "Welcome to the server!\n", 23, MSG_NOSIGNAL) < 0) perror("server: send");
        close(c);
    }
}
