/*
step: 01-client
bug: reads PORT with atoi(): '+80', ' 80' and '80a' pass as port 80 (a select() loop otherwise)
fails: bad arguments: usage and exit 2
cause: parse PORT with strtol and an end pointer
*/
/* client: port with atoi, a select() loop on the socket */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) goto usage;
    int port = atoi(argv[2]);
    if (port <= 0 || port > 65535) goto usage;

    struct addrinfo hints, *ais;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(argv[1], service, &hints, &ais);
    if (rc) {
        fprintf(stderr, "client: cannot resolve %s port %s: %s\n", argv[1], argv[2], gai_strerror(rc));
        return 1;
    }
    int sock = -1, e = 0;
    for (struct addrinfo *ai = ais; ai; ai = ai->ai_next) {
        sock = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (sock < 0) { e = errno; continue; }
        if (connect(sock, ai->ai_addr, ai->ai_addrlen) == 0) break;
        e = errno;
        close(sock);
        sock = -1;
    }
    freeaddrinfo(ais);
    if (sock < 0) {
        fprintf(stderr, "client: connect to %s port %s: %s\n", argv[1], argv[2], strerror(e));
        return 1;
    }
    for (;;) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(sock, &rd);
        if (select(sock + 1, &rd, NULL, NULL, NULL) < 0) {
            if (errno == EINTR) continue;
            perror("client: select");
            return 1;
        }
        char chunk[2048];
        ssize_t n = read(sock, chunk, sizeof chunk);
        if (n == 0) break;
        if (n < 0) { fprintf(stderr, "client: recv from %s: %s\n", argv[1], strerror(errno)); return 1; }
        char *p = chunk;
        while (n > 0) {
            ssize_t w = write(1, p, (size_t)n);
            if (w < 0) { perror("client: write"); return 1; }
            p += w; n -= w;
        }
    }
    close(sock);
    return 0;
usage:
    fprintf(stderr, "usage: client HOST PORT\n");
    return 2;
}
