/*
 * calc-server.c -- socklab step 06: a server for the WP/1 protocol.
 *
 *     usage: calc-server PORT
 *
 * A client sends frames, one per line, as fast as it likes: "CALC:3+4\n" gets
 * "CALC:7\n", "PING:x\n" gets "PONG:x\n", "QUIT:\n" gets "BYE:" and the end of
 * the connection. TCP delivers a stream, not messages: one recv() may hold
 * half a frame or ten of them, so frames come from step 05's line reader,
 * which never holds more than FRAME_MAX bytes. What each frame means is
 * calc.c's business; this file only moves bytes.
 *
 * Clients are served one after another, each until it leaves; those that
 * connect meanwhile wait in the listen backlog. Ctrl-C (SIGINT) or kill
 * (SIGTERM) ends the server by their default action.
 */
#define _POSIX_C_SOURCE 200809L

#include "calc.h"
#include "frame.h"
#include "socklab.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define TOOLONG "ERROR:TOOLONG\n"

/* === One client === */

/* The reply to the next thing read_line() returns, in reply; its length, or
 * 0 when the client has left (closed, half-closed or reset): no more frames
 * will come, and every complete one has been answered already. */
static size_t next_reply(struct line_reader *reader, char reply[REPLY_MAX], int *bye)
{
    char line[FRAME_MAX];
    ssize_t n = read_line(reader, line);

    if (n == LINE_EOF || n == LINE_ERROR) return 0;
    if (n == LINE_TOO_LONG) { /* the reader drops the rest of that line itself */
        memcpy(reply, TOOLONG, sizeof TOOLONG - 1);
        return sizeof TOOLONG - 1;
    }
    return answer(line, (size_t)n, reply, bye);
}

/* Replies go out one by one, in request order, as each frame is read: a
 * client that pipelines gets its answers in the order it asked. A failed
 * send means the client is gone (send_all uses MSG_NOSIGNAL: EPIPE or
 * ECONNRESET, not a SIGPIPE death); that is the end of it, not of the server. */
static void serve(int fd)
{
    struct line_reader reader;
    char reply[REPLY_MAX];
    int bye = 0;
    size_t len;

    line_reader_init(&reader, fd);
    while (!bye && (len = next_reply(&reader, reply, &bye)) > 0) {
        if (send_all(fd, reply, len) < 0) return;
    }
    /* After BYE: what the client sent after QUIT is never read. */
}

/* === Main loop === */

int main(int argc, char **argv)
{
    int port = -1, listener;

    check_usage(argc == 2 && (port = parse_port(argv[1])) > 0, argv, "PORT");
    if ((listener = listen_on(port)) < 0) return 1;
    for (;;) {
        union address peer;
        int fd = accept_client(listener, &peer);

        if (fd < 0) continue; /* a client that gave up while it waited: next */
        serve(fd);
        if (close(fd) < 0) complain("close: %s", strerror(errno));
    }
}
