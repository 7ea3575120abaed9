/*
 * socklab.c -- the kit's small socket library (see socklab.h).
 *
 * Every function does one socket job; errors go out through one path, so
 * freeaddrinfo() and close() run once whatever fails.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *program = "socklab";

/* === Errors and command line === */

void complain(const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", program, line); /* one call: the line stays whole */
}

/* strtol alone would take " 80", "+80" and "-1" (it skips spaces and reads a
 * sign), so the first character must be a digit; the end pointer rejects
 * "80a" and "0x50"; errno catches numbers too large for a long. */
int parse_port(const char *text)
{
    char *end;
    long value;

    if (!isdigit((unsigned char)text[0])) return -1;
    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 1 || value > 65535) return -1;
    return (int)value;
}

void check_usage(int ok, char **argv, const char *args)
{
    const char *slash = strrchr(argv[0], '/');

    program = slash ? slash + 1 : argv[0];
    if (!ok) {
        fprintf(stderr, "usage: %s %s\n", program, args);
        exit(2);
    }
}

/* === Connecting === */

int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *list, *ai;
    int fd = -1, err = 0, rc = getaddrinfo(host, port, &hints, &list);

    if (rc != 0) {
        complain("cannot resolve %s port %s: %s", host, port, gai_strerror(rc));
        return -1;
    }
    for (ai = list; ai != NULL && fd < 0; ai = ai->ai_next) { /* the first that answers */
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            err = errno;
            close(fd);
            fd = -1;
        } else if (fd < 0) {
            err = errno;
        }
    }
    freeaddrinfo(list);
    if (fd < 0) complain("connect to %s port %s: %s", host, port, strerror(err));
    return fd;
}

/* === Listening === */

/* An IPv6 socket with IPV6_V6ONLY off takes IPv4 clients too (as
 * ::ffff:a.b.c.d); a host without IPv6 refuses it, and IPv4 alone will do. */
static int open_listener(int port, union address *a, socklen_t *len)
{
    int off = 0, fd = socket(AF_INET6, SOCK_STREAM, 0);

    memset(a, 0, sizeof *a);
    if (fd >= 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) == 0) {
        a->v6.sin6_family = AF_INET6;
        a->v6.sin6_addr = in6addr_any;
        a->v6.sin6_port = htons((uint16_t)port);
        *len = sizeof a->v6;
        return fd;
    }
    if (fd >= 0) close(fd);
    a->v4.sin_family = AF_INET;
    a->v4.sin_addr.s_addr = htonl(INADDR_ANY);
    a->v4.sin_port = htons((uint16_t)port);
    *len = sizeof a->v4;
    return socket(AF_INET, SOCK_STREAM, 0);
}

/* SO_REUSEADDR lets a restarted server bind its port at once, while the
 * connections of its last run linger in TIME_WAIT. */
int listen_on(int port)
{
    union address a;
    socklen_t len;
    const char *call = "socket";
    int on = 1, err, fd = open_listener(port, &a, &len);

    if (fd < 0) goto error;
    call = "setsockopt SO_REUSEADDR";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) goto error;
    call = "bind";
    if (bind(fd, &a.sa, len) < 0) goto error;
    call = "listen";
    if (listen(fd, SOMAXCONN) < 0) goto error;
    return fd;

error:
    err = errno;
    complain("%s port %d: %s", call, port, strerror(err));
    if (fd >= 0) close(fd);
    return -1;
}

int accept_client(int listener, union address *peer)
{
    for (;;) {
        socklen_t len = sizeof *peer;
        int fd = accept(listener, &peer->sa, &len);

        if (fd >= 0) return fd;
        if (errno == EINTR) continue;
        complain("accept: %s", strerror(errno));
        return -1;
    }
}

void format_address(const union address *a, char out[ADDRESS_SIZE])
{
    int family = AF_INET, v6 = a->sa.sa_family == AF_INET6;
    const void *ip = v6 ? (const void *)&a->v6.sin6_addr : (const void *)&a->v4.sin_addr;
    unsigned port = ntohs(v6 ? a->v6.sin6_port : a->v4.sin_port);
    char text[INET6_ADDRSTRLEN];

    if (v6 && IN6_IS_ADDR_V4MAPPED(&a->v6.sin6_addr))
        ip = &a->v6.sin6_addr.s6_addr[12]; /* the last 4 bytes are the IPv4 address */
    else if (v6)
        family = AF_INET6;
    if (inet_ntop(family, ip, text, sizeof text) == NULL) snprintf(text, sizeof text, "?");
    snprintf(out, ADDRESS_SIZE, family == AF_INET6 ? "[%s]:%u" : "%s:%u", text, port);
}

/* === Writing === */

int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    int is_socket = 1;

    while (len > 0) {
        ssize_t n = is_socket ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
        if (n < 0 && errno == ENOTSOCK && is_socket) {
            is_socket = 0; /* stdout, a pipe, a file: plain write() */
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
