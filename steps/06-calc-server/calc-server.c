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
 *
 * This is the starter: the shape is here, the work is in the TODO blocks (and
 * in calc.c). README.md says exactly what the program must do.
 */
#define _POSIX_C_SOURCE 200809L

#include "calc.h"
#include "frame.h"
#include "socklab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOOLONG "ERROR:TOOLONG\n"

/* Each TODO stops the program here until it is done. Once nothing calls this
 * function any more, delete it. */
static _Noreturn void not_implemented(const char *where)
{
    complain("not implemented yet: see README.md (TODO in %s)", where);
    exit(1);
}

/* === One client === */

/* The reply to the next thing read_line() returns, in reply; its length, or
 * 0 when the client has left (closed, half-closed or reset): no more frames
 * will come, and every complete one has been answered already. */
static size_t next_reply(struct line_reader *reader, char reply[REPLY_MAX], int *bye)
{
    /* TODO 2: one read_line(reader, line) into a char line[FRAME_MAX], then:
     *   - LINE_EOF or LINE_ERROR: the client has left, return 0;
     *   - LINE_TOO_LONG: the reply is TOOLONG (read_line drops the rest of
     *     that line by itself);
     *   - a length n >= 0: the reply is answer(line, n, reply, bye) (calc.c).
     * Mind the NUL bytes: the line's length is n, not strlen(line). */
    (void)reader;
    (void)reply;
    (void)bye;
    not_implemented("next_reply");
}

/* Replies go out one by one, in request order, as each frame is read. */
static void serve(int fd)
{
    /* TODO 3: a struct line_reader on fd (line_reader_init), then a loop:
     * next_reply(), then send_all() of that reply; stop when next_reply()
     * returns 0, when the reply was BYE: (bye is set), or when send_all()
     * fails (the client is gone: that ends the client, not the server). */
    (void)fd;
    (void)next_reply;
    not_implemented("serve");
}

/* === Main loop === */

int main(int argc, char **argv)
{
    int port = -1, listener;

    /* TODO 1: the command line, as in step 04: check_usage() with
     * argc == 2 and parse_port(argv[1]) > 0 (socklab.h), the port in port. */
    (void)argc;
    (void)argv;
    not_implemented("main");

    if ((listener = listen_on(port)) < 0) return 1;
    for (;;) {
        union address peer;
        int fd = accept_client(listener, &peer);

        if (fd < 0) continue; /* a client that gave up while it waited: next */
        serve(fd);
        if (close(fd) < 0) complain("close: %s", strerror(errno));
    }
}
