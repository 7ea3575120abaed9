/*
 * chat-client.c -- socklab step 03: talk with a server, both ways at once.
 *
 *     usage: chat-client HOST PORT
 *
 * A chat has two inputs, the keyboard (stdin) and the server (the socket), and
 * either may speak at any moment. A program that blocks in read() on one of them
 * is deaf to the other: poll() waits on both and says which one is ready.
 *
 * This is the starter: the shape is here, the work is in the TODO blocks. Do them
 * top to bottom; README.md says exactly what the program must do. What you wrote
 * in steps 01 and 02 (connecting, write_all, send_all) is given, but for the
 * command line: copy yours.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define BUF_SIZE 16384 /* one read's worth; longer lines simply take several */

/* === State === */

/* Everything the program knows, in one place. */
struct chat {
    const char *host; /* as the user typed it: every message names it that way */
    int port;         /* 1 to 65535, checked */
    int fd;           /* the connected socket, -1 until connected */
    int typing;       /* 1 until stdin ends: only then is it worth watching */
};

/* What relaying one piece of data leads to. */
enum { GO_ON, SERVER_CLOSED, FAILED };

/* === Errors === */

/* One line on stderr, prefixed with the program's name. The line is formatted
 * first and written in one go, so it cannot be torn apart. Callers choose the
 * exit status. */
static void complain(const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "chat-client: %s\n", line);
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
static void read_arguments(struct chat *c, int argc, char **argv)
{
    /* TODO: `chat-client HOST PORT` means argc == 3.
     *   - wrong count, or parse_port(argv[2]) returns -1: print the line
     *     "usage: chat-client HOST PORT" on stderr and exit(2);
     *   - otherwise keep the port in c->port and argv[1] in c->host. */
    (void)c;
    (void)argc;
    (void)argv;
    (void)parse_port; /* silences "unused function": delete once you call it */
    not_implemented("read_arguments");
}

/* === Connecting === */

/* One attempt: a socket of the address's family, then connect(). Returns the
 * socket, or -1 with *call naming the call that failed and errno saying why. */
static int try_address(const struct addrinfo *ai, const char **call)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);

    if (fd < 0) {
        *call = "socket for";
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        int saved = errno; /* close() must not overwrite the reason */
        *call = "connect to";
        close(fd); /* nothing to report: this socket never carried data */
        errno = saved;
        return -1;
    }
    return fd;
}

/* Resolve HOST and try its addresses in turn: "localhost" may give both ::1 and
 * 127.0.0.1, and the server may listen on only one of them. Returns 0 with c->fd
 * connected, or -1 after one line on stderr about the last failure. */
static int connect_to_server(struct chat *c)
{
    struct addrinfo hints = {0}, *addrs, *ai;
    const char *call = "connect to";
    char service[sizeof "65535"];
    int rc, err = 0;

    hints.ai_family = AF_UNSPEC;     /* IPv4 or IPv6, whatever HOST has */
    hints.ai_socktype = SOCK_STREAM; /* TCP */
    hints.ai_flags = AI_NUMERICSERV; /* the port is a number: no /etc/services */
    snprintf(service, sizeof service, "%d", c->port);
    rc = getaddrinfo(c->host, service, &hints, &addrs);
    if (rc != 0) {
        complain("cannot resolve %s port %d: %s", c->host, c->port,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (ai = addrs; ai != NULL && c->fd < 0; ai = ai->ai_next) {
        c->fd = try_address(ai, &call);
        err = errno;
    }
    freeaddrinfo(addrs);
    if (c->fd < 0) {
        complain("%s %s port %d: %s", call, c->host, c->port, strerror(err));
        return -1;
    }
    return 0;
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

/* The same for the socket. Without MSG_NOSIGNAL, sending to a server that has
 * gone raises SIGPIPE, whose default action kills us without a word; with it,
 * send() fails with EPIPE and we can say what happened. */
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

/* === Relaying === */

/* The server has something for us: data, its end of the conversation (recv
 * returns 0), or an error such as a reset. Whatever arrived goes to stdout at
 * once, with write(): stdio would keep it in a buffer while stdout is a pipe. */
static int relay_from_server(struct chat *c)
{
    /* TODO: one recv() from c->fd into a char buf[BUF_SIZE], then:
     *   - 0: the server has closed: return SERVER_CLOSED;
     *   - -1 with errno == EINTR (a signal): return GO_ON;
     *   - -1 otherwise (ECONNRESET...): complain("recv from %s port %d: %s", ...)
     *     and return FAILED;
     *   - n > 0: write_all(STDOUT_FILENO, buf, n) at once (if it fails:
     *     complain("write to stdout: %s", ...), return FAILED); return GO_ON. */
    (void)c;
    (void)write_all; /* silences "unused function": delete once you call it */
    not_implemented("relay_from_server");
}

/* The user typed something, or ended the input (read returns 0: Ctrl-D on a
 * terminal, the end of a file or pipe). Then we half-close: shutdown(SHUT_WR)
 * sends the server an end of file, yet leaves our receiving side open, since
 * the server may still have something to say before it closes. */
static int relay_from_user(struct chat *c)
{
    /* TODO: one read() from STDIN_FILENO into a char buf[BUF_SIZE], then:
     *   - -1 with errno == EINTR: return GO_ON;
     *   - -1 otherwise: complain("read from stdin: %s", ...), return FAILED;
     *   - 0, the end of input: c->typing = 0 (stop watching stdin), then
     *     shutdown(c->fd, SHUT_WR) (if it fails: complain, return FAILED);
     *     return GO_ON;
     *   - n > 0: send_all(c->fd, buf, n) (if it fails: complain("send to %s
     *     port %d: %s", ...), return FAILED); return GO_ON. */
    (void)c;
    (void)send_all; /* silences "unused function": delete once you call it */
    not_implemented("relay_from_user");
}

/* Wait on both inputs at once and serve whichever is ready, until the server
 * closes. A negative fd is one poll() skips: that is how stdin drops out of the
 * watch once it has ended. The socket is served first, so a server that has
 * closed ends the chat at once, even if the user is still typing. Returns the
 * exit status. */
static int chat(struct chat *c)
{
    /* TODO: loop forever:
     *   - struct pollfd fds[2]: {c->fd, POLLIN} and {STDIN_FILENO, POLLIN}, or
     *     -1 instead of STDIN_FILENO once c->typing is 0;
     *   - poll(fds, 2, -1): -1 with errno == EINTR means poll again; any other
     *     failure: complain("poll: %s", ...) and return 1;
     *   - fds[0].revents != 0: result = relay_from_server(c);
     *   - then, if result is still GO_ON and fds[1].revents != 0:
     *     result = relay_from_user(c);
     *   - SERVER_CLOSED: return 0; FAILED: return 1; GO_ON: loop. */
    (void)c;
    (void)relay_from_server; /* silences "unused function": delete once you call it */
    (void)relay_from_user;
    not_implemented("chat");
}

/* === Main === */

int main(int argc, char **argv)
{
    struct chat c = {.fd = -1, .typing = 1};
    int status;

    read_arguments(&c, argc, argv);
    if (connect_to_server(&c) < 0) return 1;
    status = chat(&c);
    if (close(c.fd) < 0) {
        complain("close connection to %s port %d: %s", c.host, c.port, strerror(errno));
        status = 1;
    }
    return status;
}
