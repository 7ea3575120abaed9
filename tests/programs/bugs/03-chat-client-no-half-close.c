/*
step: 03-chat-client
bug: at the end of stdin it stops reading stdin but never calls shutdown(SHUT_WR), so the server never sees the end of file
fails: at the end of input, half-closes: the server sees the end of file
also: server resets the connection: message on stderr and exit 1
cause: shutdown(fd, SHUT_WR)
*/
/*
 * chat-client.c -- socklab step 03: talk with a server, both ways at once.
 *
 *     usage: chat-client HOST PORT
 *
 * A chat has two inputs, the keyboard (stdin) and the server (the socket), and
 * either may speak at any moment. A program that blocks in read() on one of them
 * is deaf to the other, so we ask poll() to wait on both and tell us which one
 * has something to say. The story: read the command line, connect, then relay
 * in both directions until the server closes the connection.
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

/* === Command line === */

/* A port is a plain decimal number from 1 to 65535. strtol alone would also
 * accept " 80", "+80" and "-1" (it skips spaces and takes a sign), so the first
 * character must be a digit; the end pointer rejects "80a" and "0x50". */
static int parse_port(const char *text)
{
    char *end;
    long value;

    if (!isdigit((unsigned char)text[0])) return -1;
    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 1 || value > 65535) return -1;
    return (int)value;
}

/* A bad command line is the user's mistake, not a failure: usage, exit 2. */
static void read_arguments(struct chat *c, int argc, char **argv)
{
    if (argc != 3 || (c->port = parse_port(argv[2])) < 0) {
        fprintf(stderr, "usage: chat-client HOST PORT\n");
        exit(2);
    }
    c->host = argv[1];
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
    char buf[BUF_SIZE];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);

    if (n == 0) return SERVER_CLOSED;
    if (n < 0 && errno == EINTR) return GO_ON;
    if (n < 0) {
        complain("recv from %s port %d: %s", c->host, c->port, strerror(errno));
        return FAILED;
    }
    if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
        complain("write to stdout: %s", strerror(errno));
        return FAILED;
    }
    return GO_ON;
}

/* The user typed something, or ended the input (read returns 0: Ctrl-D on a
 * terminal, the end of a file or pipe). Then we half-close: shutdown(SHUT_WR)
 * sends the server an end of file, yet leaves our receiving side open, since
 * the server may still have something to say before it closes. */
static int relay_from_user(struct chat *c)
{
    char buf[BUF_SIZE];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);

    if (n < 0 && errno == EINTR) return GO_ON;
    if (n < 0) {
        complain("read from stdin: %s", strerror(errno));
        return FAILED;
    }
    if (n == 0) {
        c->typing = 0; /* end of input: nothing more to send */
        return GO_ON;
    }
    if (send_all(c->fd, buf, (size_t)n) < 0) {
        complain("send to %s port %d: %s", c->host, c->port, strerror(errno));
        return FAILED;
    }
    return GO_ON;
}

/* Wait on both inputs at once and serve whichever is ready, until the server
 * closes. A negative fd is one poll() skips: that is how stdin drops out of the
 * watch once it has ended. The socket is served first, so a server that has
 * closed ends the chat at once, even if the user is still typing. Returns the
 * exit status. */
static int chat(struct chat *c)
{
    for (;;) {
        struct pollfd fds[2] = {
            {.fd = c->fd, .events = POLLIN},
            {.fd = c->typing ? STDIN_FILENO : -1, .events = POLLIN},
        };
        int result = GO_ON;

        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            complain("poll: %s", strerror(errno));
            return 1;
        }
        /* POLLHUP and POLLERR come even unasked: the next read tells which */
        if (fds[0].revents != 0) result = relay_from_server(c);
        if (result == GO_ON && fds[1].revents != 0) result = relay_from_user(c);
        if (result != GO_ON) return result == SERVER_CLOSED ? 0 : 1;
    }
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
