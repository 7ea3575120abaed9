/*
step: 02-server
bug: a failed send() (a client that reset) is fatal: the server exits 1
fails: survives clients that reset
also: memory check (valgrind)
cause: a failed send() is no reason to exit
*/
/* server: treats a failed send as fatal */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void fail(const char *what, int port)
{
    fprintf(stderr, "server: %s port %d: %s\n", what, port, strerror(errno));
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 2 || strspn(argv[1], "0123456789") != strlen(argv[1]) || !*argv[1] || strlen(argv[1]) > 5) {
        fprintf(stderr, "usage: server PORT\n");
        return 2;
    }
    int port = atoi(argv[1]);
    if (port < 1 || port > 65535) { fprintf(stderr, "usage: server PORT\n"); return 2; }
    signal(SIGPIPE, SIG_IGN);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0) fail("socket", port);
    int y = 1;
    if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &y, sizeof y)) fail("setsockopt", port);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = {htonl(INADDR_ANY)}};
    if (bind(l, (struct sockaddr *)&sin, sizeof sin)) fail("bind", port);
    if (listen(l, 5)) fail("listen", port);
    for (;;) {
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        int c = accept(l, (struct sockaddr *)&peer, &pl);
        if (c < 0) fail("accept", port);
        char txt[INET_ADDRSTRLEN];
        printf("Got connection from %s:%u\n", inet_ntop(AF_INET, &peer.sin_addr, txt, sizeof txt), ntohs(peer.sin_port));
        fflush(stdout);
        const char *g = "Welcome to the server!\n";
        size_t sent = 0, total = strlen(g);
        while (sent < total) {
            ssize_t k = send(c, g + sent, total - sent, 0);
            if (k < 0) fail("send", port);
            sent += (size_t)k;
        }
        close(c);
    }
}
