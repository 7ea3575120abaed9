/*
step: 02-server
bug: logs with printf and never flushes: stdout is a pipe, the lines wait in stdio's buffer
fails: greets a client and logs its address
also: listens on every local address | logs an IPv6 client as [IP]:PORT, an IPv4 one as IP:PORT (a dual-stack server) | prints nothing on stdout but the Got connection lines
cause: call fflush(stdout)
*/
/* server: fork-free, logs with printf and never flushes */
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
    char *end = NULL;
    if (argc != 2 || !argv[1][0] || argv[1][0] == '+' || argv[1][0] == '-' || argv[1][0] == ' ') goto usage;
    errno = 0;
    long port = strtol(argv[1], &end, 10);
    if (errno || *end || port < 1 || port > 65535) goto usage;

    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (lfd < 0) { fprintf(stderr, "server: socket: %s\n", strerror(errno)); return 1; }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "server: bind port %ld: %s\n", port, strerror(errno));
        return 1;
    }
    if (listen(lfd, SOMAXCONN) < 0) { fprintf(stderr, "server: listen port %ld: %s\n", port, strerror(errno)); return 1; }
    for (;;) {
        struct sockaddr_in cli;
        socklen_t clen = sizeof cli;
        int cfd = accept(lfd, (struct sockaddr *)&cli, &clen);
        if (cfd < 0) continue;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &cli.sin_addr, ip, sizeof ip);
        printf("Got connection from %s:%d\n", ip, ntohs(cli.sin_port));
        static const char msg[] = "Welcome to the server!\n";
        if (send(cfd, msg, sizeof msg - 1, MSG_NOSIGNAL) < 0)
            fprintf(stderr, "server: send to %s: %s\n", ip, strerror(errno));
        close(cfd);
    }
usage:
    fprintf(stderr, "usage: server PORT\n");
    return 2;
}
