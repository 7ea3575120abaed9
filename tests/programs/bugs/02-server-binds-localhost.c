/*
step: 02-server
bug: binds the address getaddrinfo("localhost") gives: 127.0.0.1 only
fails: listens on every local address
cause: bind to INADDR_ANY
*/
/* server: binds 127.0.0.1 (getaddrinfo of "localhost") */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char *end;
    long port;
    if (argc != 2 || argv[1][0] < '0' || argv[1][0] > '9' || strlen(argv[1]) > 5
        || (port = strtol(argv[1], &end, 10), *end != '\0') || port < 1 || port > 65535) {
        fputs("usage: server PORT\n", stderr);
        return 2;
    }
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
    int rc = getaddrinfo("localhost", argv[1], &hints, &ai);
    if (rc) { fprintf(stderr, "server: getaddrinfo port %ld: %s\n", port, gai_strerror(rc)); return 1; }
    int ls = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    int yes = 1;
    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) < 0
        || bind(ls, ai->ai_addr, ai->ai_addrlen) < 0 || listen(ls, 10) < 0) {
        fprintf(stderr, "server: bind port %ld: %s\n", port, strerror(errno));
        return 1;
    }
    freeaddrinfo(ai);
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int cs = accept(ls, (struct sockaddr *)&ss, &sl);
        if (cs < 0) continue;
        char host[64], serv[16];
        getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
        printf("Got connection from %s:%s\n", host, serv);
        fflush(stdout);
        const char *msg = "Welcome to the server!\n";
        size_t left = strlen(msg);
        while (left) {
            ssize_t n = send(cs, msg, left, MSG_NOSIGNAL);
            if (n < 0) { if (errno == EINTR) continue; fprintf(stderr, "server: send: %s\n", strerror(errno)); break; }
            msg += n; left -= (size_t)n;
        }
        close(cs);
    }
}
