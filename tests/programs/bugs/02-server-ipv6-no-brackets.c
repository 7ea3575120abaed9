/*
step: 02-server
bug: a dual-stack server that prints an IPv6 client's address without brackets (::1:51234 for [::1]:51234).
fails: logs an IPv6 client as [IP]:PORT, an IPv4 one as IP:PORT (a dual-stack server)
cause: in brackets
*/
/* server PORT on one IPv6 socket that takes IPv4 clients too (IPV6_V6ONLY off):
 * the listening address comes from getaddrinfo(NULL, PORT, AI_PASSIVE), and
 * clients are named with getnameinfo; an IPv4 client shows up as
 * ::ffff:a.b.c.d and is logged in its IPv4 form. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GREETING "Welcome to the server!\n"
#define HOST_SIZE (INET6_ADDRSTRLEN + 1)
#define SERV_SIZE 8

static int listen_dual_stack(const char *port)
{
    struct addrinfo hints = {.ai_family = AF_INET6, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai;
    int fd, on = 1, off = 0, rc;

    rc = getaddrinfo(NULL, port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "server: port %s: %s\n", port, gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
        int err = errno;
        fprintf(stderr, "server: cannot listen on port %s: %s\n", port, strerror(err));
        if (fd >= 0) close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* "IP:PORT", "[IPv6]:PORT", with ::ffff:a.b.c.d shown as a.b.c.d */
static void name_of(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
    char host[HOST_SIZE], serv[SERV_SIZE];
    const char *ip = host;

    if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, size, "?:?");
        return;
    }
    if (strncmp(host, "::ffff:", 7) == 0 && strchr(host + 7, ':') == NULL) ip = host + 7;
    snprintf(out, size, "%s:%s", ip, serv); /* BUG: an IPv6 address needs brackets */
}

int main(int argc, char **argv)
{
    const char *p;
    int lfd;

    if (argc != 2 || argv[1][0] == '\0' || strlen(argv[1]) > 5 || atol(argv[1]) < 1 || atol(argv[1]) > 65535)
        goto usage;
    for (p = argv[1]; *p; p++)
        if (*p < '0' || *p > '9') goto usage;
    lfd = listen_dual_stack(argv[1]);
    if (lfd < 0) return 1;
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        char who[HOST_SIZE + SERV_SIZE + 4];
        size_t sent = 0;
        int fd = accept(lfd, (struct sockaddr *)&peer, &len);

        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) sleep(1);
            continue;
        }
        name_of((struct sockaddr *)&peer, len, who, sizeof who);
        printf("Got connection from %s\n", who);
        fflush(stdout);
        while (sent < sizeof GREETING - 1) {
            ssize_t n = send(fd, GREETING + sent, sizeof GREETING - 1 - sent, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                fprintf(stderr, "server: send to %s: %s\n", who, strerror(errno));
                break;
            }
            sent += (size_t)n;
        }
        close(fd);
    }

usage:
    fputs("usage: server PORT\n", stderr);
    return 2;
}
