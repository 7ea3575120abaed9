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
 * by hand in steps 01 and 02 (the PORT parser, connecting, write_all, the error
 * line) comes from the kit's library: read ../common/socklab.h first.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <poll.h>
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
    const char *host; /* as the user typed them: every message names them that way */
    const char *port;
    int fd;     /* the connected socket, -1 until connected */
    int typing; /* 1 until stdin ends: only then is it worth watching */
};

/* What relaying one piece of data leads to. */
enum { GO_ON, SERVER_CLOSED, FAILED };

/* Each TODO stops the program here until it is done. Once nothing calls this
 * function any more, delete it. (It cannot use complain() yet: complain takes
 * the program's name from check_usage(), your first TODO.) */
static _Noreturn void not_implemented(const char *where)
{
    fprintf(stderr, "chat-client: not implemented yet: see README.md (TODO in %s)\n", where);
    exit(1);
}

/* === Command line === */

/* A bad command line is the user's mistake, not a failure: usage, exit 2. */
static void read_arguments(struct chat *c, int argc, char **argv)
{
    /* TODO: `chat-client HOST PORT` means argc == 3 and parse_port(argv[2])
     * not -1. Hand that test to check_usage(ok, argv, "HOST PORT"): when ok is
     * false it prints "usage: chat-client HOST PORT" and exits 2. Then keep
     * argv[1] in c->host and argv[2] in c->port (connect_to takes the text). */
    (void)c;
    (void)argc;
    (void)argv;
    not_implemented("read_arguments");
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
     *   - -1 otherwise (ECONNRESET...): complain("recv from %s port %s: %s", ...)
     *     and return FAILED;
     *   - n > 0: write_all(STDOUT_FILENO, buf, n) at once (if it fails:
     *     complain("write to stdout: %s", ...), return FAILED); return GO_ON. */
    (void)c;
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
     *   - n > 0: write_all(c->fd, buf, n), which sends with MSG_NOSIGNAL (if it
     *     fails: complain("send to %s port %s: %s", ...), return FAILED);
     *     return GO_ON. */
    (void)c;
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
    if ((c.fd = connect_to(c.host, c.port)) < 0) return 1;
    status = chat(&c);
    if (close(c.fd) < 0) {
        complain("close connection to %s port %s: %s", c.host, c.port, strerror(errno));
        status = 1;
    }
    return status;
}
