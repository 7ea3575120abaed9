/*
step: 02-server
bug: writes the greeting in two write() calls with SIGPIPE at its default: a client that closed at once kills the server on the second
fails: survives clients that close at once
also: memory check (valgrind)
cause: killed by SIGPIPE
*/
/* server: writes the greeting in two parts with write(), SIGPIPE not handled */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int parse_port(const char *s)
{
    if (!*s) return -1;
    int v = 0;
    for (int i = 0; s[i]; i++) {
        if (i >= 5 || s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return (v >= 1 && v <= 65535) ? v : -1;
}

int main(int argc, char **argv)
{
    int port = argc == 2 ? parse_port(argv[1]) : -1;
    if (port < 0) { fprintf(stderr, "usage: server PORT\n"); return 2; }
    int ls = socket(AF_INET, SOCK_STREAM, 0), on = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = INADDR_ANY;
    if (bind(ls, (void *)&sa, sizeof sa) || listen(ls, 8)) {
        fprintf(stderr, "server: bind port %d: %s\n", port, strerror(errno));
        return 1;
    }
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        int c = accept(ls, (void *)&from, &fl);
        if (c == -1) continue;
        printf("Got connection from %s:%d\n", inet_ntoa(from.sin_addr), ntohs(from.sin_port));
        fflush(stdout);
        const char *parts[] = {"Welcome to ", "the server!\n"};
        for (int i = 0; i < 2; i++) {
            if (write(c, parts[i], strlen(parts[i])) < 0) {
                fprintf(stderr, "server: write: %s\n", strerror(errno));
                break;
            }
        }
        close(c);
    }
}
