/*
 * server.c -- socklab step 02: accept clients one after another and greet each.
 *
 *     usage: server PORT
 *
 * Read the command line, listen on every local address, then forever: accept a
 * client, log where it comes from, send it the welcome line, hang up. SIGINT or
 * SIGTERM ends it: their default action is all the shutdown this server needs.
 *
 * This is the starter: the shape is here, the work is in the TODO blocks. Do them
 * top to bottom; README.md says exactly what the program must do.
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

/* Any socket address, seen as whichever family it holds: no casts needed.
 * accept() and bind() take &a.sa; the family is in a.sa.sa_family. */
union address {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    struct sockaddr_storage any;
};

/* === Errors === */

/* One line on stderr, prefixed with the program's name, written in one go.
 * Use it like printf, without the "\n": complain("accept: %s", strerror(errno)). */
static void complain(const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "server: %s\n", line);
}

/* Each TODO stops the program here until it is done. Once nothing calls this
 * function any more, delete it. */
static _Noreturn void not_implemented(const char *where)
{
    complain("not implemented yet: see README.md (TODO in %s)", where);
    exit(1);
}

/* === Command line === */

/* A plain decimal number from 1 to 65535; -1 for anything else. */
static int parse_port(const char *text)
{
    /* TODO: the same as in step 01 (copy your parse_port): strtol(text, &end, 10),
     * and -1 unless text[0] is a digit, *end == '\0', errno stayed 0 and the
     * value is from 1 to 65535. */
    (void)text;
    not_implemented("parse_port");
}

/* A bad command line is the user's mistake, not a failure: usage, exit 2. */
static void read_arguments(struct server *s, int argc, char **argv)
{
    /* TODO: `server PORT` means argc == 2.
     *   - wrong count, or parse_port(argv[1]) returns -1: print the line
     *     "usage: server PORT" on stderr and exit(2);
     *   - otherwise keep the port in s->port. */
    (void)s;
    (void)argc;
    (void)argv;
    (void)parse_port; /* silences "unused function": delete once you call it */
    not_implemented("read_arguments");
}

/* === Listening === */

/* A socket that hears every local address. Returns it (or -1, errno set) and
 * tells in *family which kind it is: AF_INET6 or AF_INET. */
static int open_socket(int *family)
{
    /* TODO: the simple way: *family = AF_INET; return socket(AF_INET, SOCK_STREAM, 0).
     * The better way (man 7 ipv6): socket(AF_INET6, SOCK_STREAM, 0), then
     * setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) with int off = 0,
     * so that IPv4 clients reach it too (as ::ffff:a.b.c.d). If either fails,
     * close that socket and fall back to the simple way. */
    (void)family;
    not_implemented("open_socket");
}

/* The wildcard address ("every local address") of the family, on our port,
 * which goes in network byte order. Returns the address's size for bind(). */
static socklen_t any_address(int family, int port, union address *a)
{
    /* TODO: memset(a, 0, sizeof *a), then fill in the part of the family:
     *   AF_INET6: a->v6.sin6_family = AF_INET6, a->v6.sin6_addr = in6addr_any,
     *             a->v6.sin6_port = htons(port); return sizeof a->v6.
     *   AF_INET:  a->v4.sin_family, a->v4.sin_addr.s_addr = htonl(INADDR_ANY),
     *             a->v4.sin_port = htons(port); return sizeof a->v4. */
    (void)family;
    (void)port;
    (void)a;
    not_implemented("any_address");
}

/* socket, SO_REUSEADDR, bind, listen. Returns 0, or -1 after one line on stderr,
 * with the socket closed. */
static int listen_on_port(struct server *s)
{
    /* TODO: in this order, each result checked:
     *   1. s->fd = open_socket(&family);
     *   2. setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on), int on = 1:
     *      without it, a restarted server cannot bind while connections of its
     *      last run linger in TIME_WAIT;
     *   3. bind(s->fd, &addr.sa, any_address(family, s->port, &addr));
     *   4. listen(s->fd, SOMAXCONN).
     * When one fails: complain("%s port %d: %s", call name, port, strerror(errno)),
     * e.g. "bind port 4242: Address already in use"; close the socket if open;
     * return -1. (One `error:` label at the end, reached by goto, does it once.) */
    (void)s;
    (void)open_socket; /* silences "unused function": delete once you call it */
    (void)any_address; /* same */
    not_implemented("listen_on_port");
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
    /* TODO: inet_ntop(family, pointer to the address bytes, text, sizeof text)
     * writes the IP as text (char text[INET6_ADDRSTRLEN]); check its result.
     *   AF_INET:  the bytes are &a->v4.sin_addr, the port ntohs(a->v4.sin_port);
     *   AF_INET6: &a->v6.sin6_addr and ntohs(a->v6.sin6_port), but when
     *             IN6_IS_ADDR_V4MAPPED(&a->v6.sin6_addr), the client is IPv4: print
     *             the last 4 bytes (&a->v6.sin6_addr.s6_addr[12]) as AF_INET.
     * Then snprintf(out, size, ...) "IP:PORT", or "[IP]:PORT" for IPv6. */
    (void)a;
    (void)out;
    (void)size;
    not_implemented("format_address");
}

/* send() may take fewer bytes than offered: go on until all is out.
 * Returns 0, or -1 with errno set. */
static int send_all(int fd, const char *buf, size_t len)
{
    /* TODO: while len > 0: n = send(fd, buf, len, MSG_NOSIGNAL);
     *   - n < 0 and errno == EINTR: try again; n < 0 otherwise: return -1;
     *   - else move buf forward and len down by n.
     * MSG_NOSIGNAL matters: sending to a client that has left raises SIGPIPE,
     * and that signal kills the whole server. With the flag, send fails (EPIPE). */
    (void)fd;
    (void)buf;
    (void)len;
    not_implemented("send_all");
}

/* One client, start to finish: log it, greet it, hang up. A client that left
 * early or reset loses its greeting; the server reports it and goes on. */
static void serve_client(int fd, const union address *peer)
{
    /* TODO:
     *   1. format_address(peer, who, sizeof who), with
     *      char who[INET6_ADDRSTRLEN + sizeof "[]:65535"];
     *   2. printf("Got connection from %s\n", who), then fflush(stdout): stdout
     *      may be a pipe, and stdio keeps what you print in a buffer until then;
     *   3. send_all(fd, WELCOME, strlen(WELCOME)); if it fails, complain
     *      ("send to %s: %s") and go on: never exit because of one client;
     *   4. close(fd), or every client costs the server a descriptor. */
    (void)fd;
    (void)peer;
    (void)format_address; /* silences "unused function": delete once you call it */
    (void)send_all;       /* same */
    not_implemented("serve_client");
}

/* Wait for the next client and return its socket; its address lands in *peer. */
static int accept_client(const struct server *s, union address *peer)
{
    /* TODO: loop: socklen_t len = sizeof *peer; fd = accept(s->fd, &peer->sa, &len);
     *   - fd >= 0: return fd;
     *   - errno == EINTR (a signal came): accept again;
     *   - any other error (ECONNABORTED: a client gave up while queued; EMFILE: out
     *     of descriptors...): complain("accept on port %d: %s", ...) and accept
     *     again; the server must not stop for that (sleep(1) after EMFILE, ENFILE,
     *     ENOBUFS or ENOMEM, so as not to spin). */
    (void)s;
    (void)peer;
    not_implemented("accept_client");
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
