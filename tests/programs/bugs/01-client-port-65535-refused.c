/*
step: 01-client
bug: checks the port with v >= 65535: the highest port, 65535, is a usage error
fails: accepts the ports 1 and 65535 (both ends of the range)
cause: both ends included
*/
/* client: strtoul for the port, range checked with < 65535 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port_number(const char *text)
{
    if (text[0] < '0' || text[0] > '9') return 0;
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || *end != '\0') return 0;
    if (v == 0 || v >= 65535) return 0;
    return (int)v;
}

int main(int argc, char **argv)
{
    if (argc != 3 || !port_number(argv[2])) {
        fprintf(stderr, "usage: client HOST PORT\n");
        exit(2);
    }
    struct addrinfo hints, *first;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int st = getaddrinfo(argv[1], argv[2], &hints, &first);
    if (st) {
        fprintf(stderr, "client: cannot resolve %s port %s: %s\n", argv[1], argv[2], gai_strerror(st));
        exit(1);
    }
    int sock = -1, last = 0;
    for (struct addrinfo *p = first; p != NULL; p = p->ai_next) {
        sock = socket(p->ai_family, p->ai_socktype, p->ai_protocol);
        if (sock == -1) { last = errno; continue; }
        if (connect(sock, p->ai_addr, p->ai_addrlen) == -1) { last = errno; close(sock); sock = -1; continue; }
        break;
    }
    freeaddrinfo(first);
    if (sock == -1) {
        fprintf(stderr, "client: connect to %s port %s: %s\n", argv[1], argv[2], strerror(last));
        exit(1);
    }
    char data[16384];
    for (;;) {
        ssize_t got = recv(sock, data, sizeof data, 0);
        if (got == 0) break;
        if (got < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "client: recv: %s\n", strerror(errno));
            exit(1);
        }
        if (fwrite(data, 1, (size_t)got, stdout) != (size_t)got || fflush(stdout)) {
            perror("client: write");
            exit(1);
        }
    }
    close(sock);
    return 0;
}
