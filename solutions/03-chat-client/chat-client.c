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
 *
 * What steps 01 and 02 wrote by hand (the PORT parser, connecting, write_all,
 * the error line) comes from the kit's library, ../common/socklab.h.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define BUF_SIZE 16384 /* one read's worth; longer lines simply take several */

/* === State === */

/* Everything the program knows, in one place. */
struct chat {
    const char *host; /* as the user typed them: every message names them that way */
    const char *port;
    int fd;     /* the connected socket, -1 until connected */
    int typing; /* 1 until stdin ends: only then is it worth watching */
};

/* What relaying one piece of data leads to. */
enum { GO_ON, SERVER_CLOSED, FAILED };

/* === Command line === */

/* A bad command line is the user's mistake, not a failure: usage, exit 2. */
static void read_arguments(struct chat *c, int argc, char **argv)
{
    check_usage(argc == 3 && parse_port(argv[2]) > 0, argv, "HOST PORT");
    c->host = argv[1];
    c->port = argv[2]; /* checked, and kept as text: connect_to takes it so */
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
        complain("recv from %s port %s: %s", c->host, c->port, strerror(errno));
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
        c->typing = 0;
        if (shutdown(c->fd, SHUT_WR) == 0) return GO_ON;
        complain("shutdown connection to %s port %s: %s", c->host, c->port, strerror(errno));
        return FAILED;
    }
    /* write_all sends with MSG_NOSIGNAL: a server that has gone is an EPIPE
     * we can report, not a SIGPIPE that kills us without a word */
    if (write_all(c->fd, buf, (size_t)n) < 0) {
        complain("send to %s port %s: %s", c->host, c->port, strerror(errno));
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
    if ((c.fd = connect_to(c.host, c.port)) < 0) return 1;
    status = chat(&c);
    if (close(c.fd) < 0) {
        complain("close connection to %s port %s: %s", c.host, c.port, strerror(errno));
        status = 1;
    }
    return status;
}
