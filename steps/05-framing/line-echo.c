/*
 * line-echo.c -- socklab step 05: echo lines, one client at a time.
 *
 *     usage: line-echo PORT
 *
 * Every line a client sends comes back as read_line() gave it, then '\n'; a
 * line longer than FRAME_MAX gets ERROR:TOOLONG once, and the client goes on.
 * Ctrl-C (SIGINT) or kill (SIGTERM) stop the server, by their default action.
 *
 * This is the starter: the shape is here, the work is in the TODO blocks (do
 * frame.c first: this file only uses it). README.md says what it must do.
 */
#define _POSIX_C_SOURCE 200809L

#include "frame.h"
#include "socklab.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char TOOLONG[] = "ERROR:TOOLONG\n";

/* Each TODO stops the program here until it is done. Once nothing calls this
 * function any more, delete it. */
static _Noreturn void not_implemented(const char *where)
{
    fprintf(stderr, "line-echo: not implemented yet: see README.md (TODO in %s)\n", where);
    exit(1);
}

/* Echo the client's lines until it leaves (or a send to it fails). */
static void echo_lines(int fd)
{
    struct line_reader r;
    char line[FRAME_MAX];

    line_reader_init(&r, fd);
    /* TODO: loop on read_line(&r, line):
     *   - LINE_TOO_LONG: send_all() the TOOLONG reply;
     *   - n >= 0: the line and a '\n' go back (line[n] = '\n' is safe: n is at
     *     most FRAME_MAX - 1), with one send_all() of n + 1 bytes;
     *   - LINE_EOF or LINE_ERROR: the client has gone: return;
     * and return as soon as a send_all() fails (the client has gone too). */
    (void)line;
    (void)TOOLONG;
    not_implemented("echo_lines");
}

int main(int argc, char **argv)
{
    int listener;

    /* TODO: `line-echo PORT`: check_usage(argc == 2 && parse_port(argv[1]) > 0,
     * argv, "PORT") prints the usage line and exits 2 when it is wrong. */
    (void)argc;
    (void)argv;
    not_implemented("main");

    listener = listen_on(parse_port(argv[1]));
    if (listener < 0) return 1;
    for (;;) {
        union address peer;
        int fd = accept_client(listener, &peer);

        if (fd < 0) continue; /* that client gave up: serve the next */
        echo_lines(fd);
        close(fd);
    }
}
