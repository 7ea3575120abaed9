/*
step: 02-server
bug: refuses the port 65535 as a usage error: its range test is off by one (value >= 65535).
fails: accepts the ports 1 and 65535 (both ends of the range)
cause: both ends included
*/
/* The reference server, but its port range stops at 65534. */
/*
 * server.c -- socklab step 02: accept clients one after another and greet each.
 *
 *     usage: server PORT
 *
 * Read the command line, listen on every local address, then forever: accept a
 * client, log where it comes from, send it the welcome line, hang up. SIGINT or
 * SIGTERM ends it: their default action is all the shutdown this server needs.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define WELCOME "Welcome to the server!\n"

/* === State === */

struct server {
    int port; /* 1 to 65535, checked */
    int fd;   /* the listening socket, -1 until it listens */
};

/* Any socket address, seen as whichever family it holds: no casts needed. */
union address {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    struct sockaddr_storage any;
};

/* === Errors === */

/* One line on stderr, prefixed with the program's name, written in one go. */
static void complain(const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "server: %s\n", line);
}

/* === Command line === */

/* A plain decimal number from 1 to 65535. strtol alone would accept " 80",
 * "+80" and "-1", hence the first digit test; the end pointer rejects "80a". */
static int parse_port(const char *text)
{
    char *end;
    long value;

    if (!isdigit((unsigned char)text[0])) return -1;
    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 1 || value >= 65535 /* BUG: 65535 is a port too */) return -1;
    return (int)value;
}

/* A bad command line is the user's mistake, not a failure: usage, exit 2. */
static void read_arguments(struct server *s, int argc, char **argv)
{
    if (argc != 2 || (s->port = parse_port(argv[1])) < 0) {
        fprintf(stderr, "usage: server PORT\n");
        exit(2);
    }
}

/* === Listening === */

/* An IPv6 socket with IPV6_V6ONLY off takes IPv4 clients too (they show up as
 * ::ffff:a.b.c.d): one socket for every local address. A host without IPv6
 * refuses that socket; then plain IPv4 will do. */
static int open_socket(int *family)
{
    int off = 0;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);

    if (fd >= 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) == 0) {
        *family = AF_INET6;
        return fd;
    }
    if (fd >= 0) close(fd); /* IPv6 alone would miss IPv4 clients: nothing to report */
    *family = AF_INET;
    return socket(AF_INET, SOCK_STREAM, 0);
}

/* The wildcard address ("every local address") of the family, on our port,
 * which goes in network byte order. Returns the address's size for bind(). */
static socklen_t any_address(int family, int port, union address *a)
{
    memset(a, 0, sizeof *a);
    if (family == AF_INET6) {
        a->v6.sin6_family = AF_INET6;
        a->v6.sin6_addr = in6addr_any;
        a->v6.sin6_port = htons((uint16_t)port);
        return sizeof a->v6;
    }
    a->v4.sin_family = AF_INET;
    a->v4.sin_addr.s_addr = htonl(INADDR_ANY);
    a->v4.sin_port = htons((uint16_t)port);
    return sizeof a->v4;
}

/* socket, SO_REUSEADDR, bind, listen. SO_REUSEADDR lets a restarted server bind
 * its port at once, while the connections of its last run linger in TIME_WAIT.
 * Returns 0, or -1 after one line on stderr, with the socket closed. */
static int listen_on_port(struct server *s)
{
    union address addr;
    const char *call;
    int family, on = 1;

    call = "socket";
    if ((s->fd = open_socket(&family)) < 0) goto error;
    call = "setsockopt SO_REUSEADDR";
    if (setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) goto error;
    call = "bind";
    if (bind(s->fd, &addr.sa, any_address(family, s->port, &addr)) < 0) goto error;
    call = "listen";
    if (listen(s->fd, SOMAXCONN) < 0) goto error;
    return 0;

error:
    complain("%s port %d: %s", call, s->port, strerror(errno));
    if (s->fd >= 0) close(s->fd);
    return -1;
}

/* A shell starts a background job (`./server 4242 &`) with SIGINT ignored, and
 * what is ignored stays ignored in the programs it runs. SIGINT and SIGTERM must
 * stop this server however it was started: restore their default action. */
static int stop_on_signals(void)
{
    if (signal(SIGINT, SIG_DFL) != SIG_ERR && signal(SIGTERM, SIG_DFL) != SIG_ERR) return 0;
    complain("signal SIGINT, SIGTERM: %s", strerror(errno));
    return -1;
}

/* === Serving === */

/* "IP:PORT" for a peer: IPv4 as is, IPv6 in brackets, and an IPv4 client of
 * the dual-stack socket (::ffff:a.b.c.d) back in its IPv4 form. */
static void format_address(const union address *a, char *out, size_t size)
{
    int family = AF_INET, v6 = a->sa.sa_family == AF_INET6;
    const void *ip = v6 ? (const void *)&a->v6.sin6_addr : (const void *)&a->v4.sin_addr;
    unsigned port = ntohs(v6 ? a->v6.sin6_port : a->v4.sin_port);
    char text[INET6_ADDRSTRLEN];

    if (v6 && IN6_IS_ADDR_V4MAPPED(&a->v6.sin6_addr))
        ip = &a->v6.sin6_addr.s6_addr[12]; /* the last 4 bytes are the IPv4 address */
    else if (v6)
        family = AF_INET6;
    if (inet_ntop(family, ip, text, sizeof text) == NULL)
        snprintf(text, sizeof text, "?"); /* cannot happen: text fits any address */
    snprintf(out, size, family == AF_INET6 ? "[%s]:%u" : "%s:%u", text, port);
}

/* send() may take fewer bytes than offered: go on until all is out. Sending to
 * a client that has left raises SIGPIPE, whose default action would kill the
 * whole server; with MSG_NOSIGNAL, send just fails with EPIPE. */
static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One client, start to finish: log it, greet it, hang up. A client that left
 * early or reset loses its greeting; the server reports it and goes on.
 * stdout may be a pipe, where printf keeps lines in a buffer: flush each one. */
static void serve_client(int fd, const union address *peer)
{
    char who[INET6_ADDRSTRLEN + sizeof "[]:65535"];

    format_address(peer, who, sizeof who);
    printf("Got connection from %s\n", who);
    if (fflush(stdout) == EOF) complain("write to stdout: %s", strerror(errno));
    if (send_all(fd, WELCOME, strlen(WELCOME)) < 0)
        complain("send to %s: %s", who, strerror(errno));
    if (close(fd) < 0) complain("close connection from %s: %s", who, strerror(errno));
}

/* Wait for the next client. accept() fails for reasons that are not the
 * server's: a signal (EINTR), a client that gave up while it waited in the
 * queue (ECONNABORTED), a shortage of descriptors. None of them is a reason to
 * stop serving; after a shortage, pause rather than spin. */
static int accept_client(const struct server *s, union address *peer)
{
    for (;;) {
        socklen_t len = sizeof *peer;
        int fd = accept(s->fd, &peer->sa, &len);
        int err = errno;

        if (fd >= 0) return fd;
        if (err == EINTR) continue;
        complain("accept on port %d: %s", s->port, strerror(err));
        if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) sleep(1);
    }
}

/* === Main === */

int main(int argc, char **argv)
{
    struct server s = {.fd = -1};

    read_arguments(&s, argc, argv);
    if (stop_on_signals() < 0 || listen_on_port(&s) < 0) return 1;
    fprintf(stderr, "server: listening on port %d\n", s.port); /* stdout is for the log */
    for (;;) {
        union address peer;
        int fd = accept_client(&s, &peer);
        serve_client(fd, &peer);
    }
}
