/*
 * chat-server.c -- socklab step 04: talk with one client at a time.
 *
 *     usage: chat-server PORT
 *
 * The operator types at the server's stdin, the client talks over its socket,
 * and either may speak at any moment: poll() waits on both. While nobody is
 * connected it waits on stdin and on the listening socket instead. Clients
 * that connect meanwhile wait in the listen backlog until the current one has
 * left. The end of stdin ends the server.
 *
 * This is the starter: the shape is here, the work is in the TODO blocks. Do them
 * top to bottom; README.md says exactly what the program must do. What you wrote
 * in step 02 (listening, the client's address, send_all) is given, but for the
 * command line: copy yours.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define WELCOME   "Welcome to the server!\n"
#define ADDR_SIZE (INET6_ADDRSTRLEN + sizeof "[]:65535") /* the longest "IP:PORT" */
#define BUF_SIZE  16384 /* one read's worth; more simply takes several */

/* === State === */

struct server {
    int port;            /* 1 to 65535, checked */
    int listen_fd;       /* the listening socket, -1 until it listens */
    int client_fd;       /* the client being served, -1 while nobody is connected */
    char who[ADDR_SIZE]; /* that client's "IP:PORT", for the log */
};

/* === Errors === */

/* One line on stderr, prefixed with the program's name, written in one go.
 * Callers decide whether to exit or to go on. */
static void complain(const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "chat-server: %s\n", line);
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
    /* TODO: the same as in step 02 (copy your parse_port): strtol(text, &end, 10),
     * and -1 unless text[0] is a digit, *end == '\0', errno stayed 0 and the
     * value is from 1 to 65535. */
    (void)text;
    not_implemented("parse_port");
}

/* A bad command line is the user's mistake, not a failure: usage, exit 2. */
static void read_arguments(struct server *s, int argc, char **argv)
{
    /* TODO: `chat-server PORT` means argc == 2.
     *   - wrong count, or parse_port(argv[1]) returns -1: print the line
     *     "usage: chat-server PORT" on stderr and exit(2);
     *   - otherwise keep the port in s->port. */
    (void)s;
    (void)argc;
    (void)argv;
    (void)parse_port; /* silences "unused function": delete once you call it */
    not_implemented("read_arguments");
}

/* === Listening === */

/* An IPv6 socket with IPV6_V6ONLY off takes IPv4 clients too (they show up as
 * ::ffff:a.b.c.d), so one socket covers every local address. A host without
 * IPv6 refuses that socket: then a plain IPv4 one will do. */
static int open_socket(int *family)
{
    int off = 0;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);

    if (fd >= 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) == 0) {
        *family = AF_INET6;
        return fd;
    }
    if (fd >= 0) close(fd); /* IPv6 only would miss the IPv4 clients: nothing to report */
    *family = AF_INET;
    return socket(AF_INET, SOCK_STREAM, 0);
}

/* The wildcard address of the family ("any local address") on our port. The
 * port goes in network byte order: htons. */
static socklen_t any_address(int family, int port, struct sockaddr_storage *ss)
{
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

    memset(ss, 0, sizeof *ss);
    if (family == AF_INET6) {
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_any;
        a6->sin6_port = htons((uint16_t)port);
        return sizeof *a6;
    }
    a4->sin_family = AF_INET;
    a4->sin_addr.s_addr = htonl(INADDR_ANY);
    a4->sin_port = htons((uint16_t)port);
    return sizeof *a4;
}

/* socket, SO_REUSEADDR, bind, listen. SO_REUSEADDR lets a restarted server bind
 * its port at once, while the connections of its last run linger in TIME_WAIT.
 * Returns 0, or -1 after one line on stderr (and with the socket closed). */
static int listen_on_port(struct server *s)
{
    struct sockaddr_storage addr;
    const char *call;
    int family, on = 1;

    call = "socket";
    if ((s->listen_fd = open_socket(&family)) < 0) goto error;
    call = "setsockopt SO_REUSEADDR";
    if (setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) goto error;
    call = "bind";
    if (bind(s->listen_fd, (struct sockaddr *)&addr, any_address(family, s->port, &addr)) < 0)
        goto error;
    call = "listen";
    if (listen(s->listen_fd, SOMAXCONN) < 0) goto error;
    return 0;

error:
    complain("%s port %d: %s", call, s->port, strerror(errno));
    if (s->listen_fd >= 0) close(s->listen_fd);
    s->listen_fd = -1;
    return -1;
}

/* === Writing it all === */

/* write() may take fewer bytes than offered (a pipe that is nearly full), or be
 * interrupted by a signal before writing anything: go on until all is out. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The same for a socket. Without MSG_NOSIGNAL, sending to a client that has
 * already left raises SIGPIPE, and its default action kills the whole server;
 * with it, send() fails with EPIPE and the server goes on. */
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

/* The log lines go through stdio; stdout may be a pipe, where printf keeps
 * lines in a buffer: flush each one as it is printed. */
static void log_line(const char *what, const char *who, const char *rest)
{
    printf("%s%s%s\n", what, who, rest);
    if (fflush(stdout) == EOF) complain("write to stdout: %s", strerror(errno));
}

/* === The client === */

/* "IP:PORT" for a peer: IPv4 as is, IPv6 in brackets, and an IPv4 client of
 * the dual-stack socket (::ffff:a.b.c.d) back in its IPv4 form. */
static void format_address(const struct sockaddr_storage *ss, char *out, size_t size)
{
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)ss;
    int family = AF_INET;
    const void *ip = &a4->sin_addr;
    unsigned port = ntohs(a4->sin_port);
    char text[INET6_ADDRSTRLEN];

    if (ss->ss_family == AF_INET6) {
        int mapped = IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr);
        family = mapped ? AF_INET : AF_INET6;
        ip = mapped ? (const void *)&a6->sin6_addr.s6_addr[12] : (const void *)&a6->sin6_addr;
        port = ntohs(a6->sin6_port);
    }
    if (inet_ntop(family, ip, text, sizeof text) == NULL)
        snprintf(text, sizeof text, "?"); /* cannot happen: text fits any address */
    if (family == AF_INET6)
        snprintf(out, size, "[%s]:%u", text, port);
    else
        snprintf(out, size, "%s:%u", text, port);
}

/* The client has left (it closed, reset, or could not be sent to): log it and
 * free its socket, so that poll() turns to the listening socket again. */
static void drop_client(struct server *s)
{
    /* TODO: log_line("Client ", s->who, " left"); close(s->client_fd) (if it
     * fails: complain("close connection from %s: %s", ...)); s->client_fd = -1. */
    (void)s;
    not_implemented("drop_client");
}

/* poll() said a client is waiting: take it, log it, greet it. accept() fails
 * for reasons that are not the server's fault: a signal (EINTR), a client that
 * gave up while it waited (ECONNABORTED), a shortage of descriptors. None is a
 * reason to stop serving; after a shortage, pause rather than spin. */
static void accept_client(struct server *s)
{
    /* TODO: as in step 02: struct sockaddr_storage peer; socklen_t len = sizeof peer;
     * fd = accept(s->listen_fd, (struct sockaddr *)&peer, &len);
     *   - it fails: EINTR is no news (return); anything else: complain("accept on
     *     port %d: %s", ...), sleep(1) after EMFILE, ENFILE, ENOBUFS or ENOMEM
     *     (rather than spin), return;
     *   - it works: s->client_fd = fd; format_address(&peer, s->who, sizeof s->who);
     *     log_line("Got connection from ", s->who, ""); send_all() the WELCOME
     *     line (if it fails: complain("send to %s: %s", ...), drop_client(s)). */
    (void)s;
    (void)format_address; /* silences "unused function": delete once you call it */
    (void)log_line;
    (void)send_all;
    not_implemented("accept_client");
}

/* The client said something, or left (recv returns 0 on close, -1 on a
 * reset). Its bytes go to stdout as they are, at once, with write(). */
static void relay_from_client(struct server *s)
{
    /* TODO: one recv() from s->client_fd into a char buf[BUF_SIZE], then:
     *   - -1 with errno == EINTR: return;
     *   - -1 otherwise (ECONNRESET: it reset): complain("recv from %s: %s", ...),
     *     then drop_client(s), as for 0;
     *   - 0: the client has closed: drop_client(s);
     *   - n > 0: write_all(STDOUT_FILENO, buf, n) at once (if it fails:
     *     complain("write to stdout: %s", ...)). */
    (void)s;
    (void)write_all; /* silences "unused function": delete once you call it */
    (void)drop_client;
    not_implemented("relay_from_client");
}

/* === The operator === */

/* The operator typed something: it goes to the client, or nowhere if nobody
 * is connected (reading it anyway keeps it from reaching the next client).
 * Returns 1 at the end of stdin, -1 if stdin fails, 0 otherwise. */
static int relay_from_operator(struct server *s)
{
    /* TODO: one read() from STDIN_FILENO into a char buf[BUF_SIZE], then:
     *   - -1 with errno == EINTR: return 0;
     *   - -1 otherwise: complain("read from stdin: %s", ...), return -1;
     *   - 0, the end of input: return 1;
     *   - n > 0: if a client is connected (s->client_fd >= 0), send_all() the
     *     n bytes to it (if it fails: complain("send to %s: %s", ...) and
     *     drop_client(s)); with nobody connected they are dropped. Return 0. */
    (void)s;
    not_implemented("relay_from_operator");
}

/* === Main loop === */

/* Wait on stdin and on one socket: the client while there is one, else the
 * listening socket. Not watching the listening socket during a conversation
 * is what makes the next clients wait in the backlog. Returns the exit status
 * once stdin has ended (or failed). */
static int serve(struct server *s)
{
    /* TODO: loop forever:
     *   - int talking = s->client_fd >= 0;
     *   - struct pollfd fds[2]: {talking ? s->client_fd : s->listen_fd, POLLIN}
     *     and {STDIN_FILENO, POLLIN};
     *   - poll(fds, 2, -1): -1 with errno == EINTR means poll again; any other
     *     failure: complain("poll: %s", ...) and return 1;
     *   - fds[0].revents != 0: relay_from_client(s) if talking, else
     *     accept_client(s);
     *   - fds[1].revents != 0: ended = relay_from_operator(s); 1 means the end
     *     of input: return 0; -1: return 1. */
    (void)s;
    (void)accept_client; /* silences "unused function": delete once you call it */
    (void)relay_from_client;
    (void)relay_from_operator;
    not_implemented("serve");
}

/* === Main === */

int main(int argc, char **argv)
{
    struct server s = {.listen_fd = -1, .client_fd = -1};
    int status;

    read_arguments(&s, argc, argv);
    if (listen_on_port(&s) < 0) return 1;
    /* stderr: stdout carries nothing but the log and the client's words */
    fprintf(stderr, "chat-server: listening on port %d\n", s.port);
    status = serve(&s);
    /* the end of stdin hangs up on the client too: it gets an end of file */
    if (s.client_fd >= 0 && close(s.client_fd) < 0)
        complain("close connection from %s: %s", s.who, strerror(errno));
    if (close(s.listen_fd) < 0) complain("close port %d: %s", s.port, strerror(errno));
    return status;
}
