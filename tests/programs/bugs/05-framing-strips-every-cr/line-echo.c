/*
 * line-echo.c -- socklab step 05: echo lines, one client at a time.
 *
 *     usage: line-echo PORT
 *
 * Every line a client sends comes back as read_line() gave it, then '\n'; a
 * line longer than FRAME_MAX gets ERROR:TOOLONG once, and the client goes on.
 * Ctrl-C (SIGINT) or kill (SIGTERM) stop the server, by their default action.
 */
#define _POSIX_C_SOURCE 200809L

#include "frame.h"
#include "socklab.h"

#include <unistd.h>

static const char TOOLONG[] = "ERROR:TOOLONG\n";

/* Echo the client's lines until it leaves (or a send to it fails). */
static void echo_lines(int fd)
{
    struct line_reader r;
    char line[FRAME_MAX];

    line_reader_init(&r, fd);
    for (;;) {
        ssize_t n = read_line(&r, line);
        int failed;

        if (n == LINE_TOO_LONG) {
            failed = send_all(fd, TOOLONG, sizeof TOOLONG - 1);
        } else if (n >= 0) {
            line[n] = '\n'; /* n < FRAME_MAX: the '\0' was there */
            failed = send_all(fd, line, (size_t)n + 1);
        } else {
            return; /* LINE_EOF or LINE_ERROR: the client has gone */
        }
        if (failed) return;
    }
}

int main(int argc, char **argv)
{
    int listener;

    check_usage(argc == 2 && parse_port(argv[1]) > 0, argv, "PORT");
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
