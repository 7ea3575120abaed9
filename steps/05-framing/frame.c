/*
 * frame.c -- a bounded line reader over a TCP stream (see frame.h).
 *
 * One recv() is not one message: it may bring half a line, or three lines
 * and a half. So the reader keeps what came in a fixed buffer and hands out
 * one line at a time. The buffer is never asked to hold more than it can: a
 * line that fills it without its '\n' is reported as too long and skipped,
 * which is what keeps a hostile client from overflowing anything.
 *
 * This is the starter: the shape is here, the work is in the TODO blocks.
 * README.md says exactly what each function must do; the grader's unit
 * checks call them one by one, with a recv() and a send() of its own.
 */
#define _POSIX_C_SOURCE 200809L

#include "frame.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* === The buffer ===
 *
 * buf[0..used) holds the bytes received and not handed out yet; the oldest
 * first. Keep these true at every return, and nothing can overflow:
 *
 *     r->used <= FRAME_MAX            always: the buffer never overflows
 *     r->used == 0                    empty
 *     r->used == FRAME_MAX            full: it holds a '\n' or the line is too long
 *     FRAME_MAX - r->used             the room recv() may fill, never more
 *
 * A line found in buf is shorter than FRAME_MAX (its '\n' is in buf too), so
 * it always fits in the caller's line[FRAME_MAX] with its '\0'. */

void line_reader_init(struct line_reader *r, int fd)
{
    r->fd = fd;
    r->used = 0;
    r->dropping = 0;
    r->end = 0;
}

/* TODO (helpers, as you like them; hints/1.md shows one way):
 *   - consume(r, n): forget the first n bytes of buf, memmove() the rest to
 *     the front, used -= n;
 *   - fill(r): ONE recv(r->fd, r->buf + r->used, FRAME_MAX - r->used, 0),
 *     retried while it fails with errno EINTR; used += what came;
 *   - take_line(r, len, line): copy buf[0..len) to line without a '\r' just
 *     before the '\n', add the '\0', consume the line and its '\n'. */

/* === Reading lines === */

ssize_t read_line(struct line_reader *r, char line[FRAME_MAX])
{
    /* TODO: loop until there is something to return:
     *   1. after the end (r->end is LINE_EOF or LINE_ERROR): return it again;
     *   2. a '\n' in buf[0..used) (memchr): hand out that line and return its
     *      length; but if r->dropping, the line is the end of a too-long one:
     *      consume it, clear dropping, and go round again;
     *   3. while dropping, what buf holds is more of the too-long line: drop it;
     *   4. used == FRAME_MAX and no '\n': the line is too long: empty buf, set
     *      dropping, return LINE_TOO_LONG (at once, without waiting for '\n');
     *   5. recv() into the room left: 0 means LINE_EOF (a tail without '\n'
     *      is dropped), -1 means LINE_ERROR (EINTR excepted: just retry). */
    (void)r;
    (void)line;
    return LINE_ERROR;
}

/* === Writing === */

/* MSG_NOSIGNAL: a peer that has gone makes send() fail with EPIPE instead of
 * killing the whole program with SIGPIPE. */
int send_all(int fd, const void *buf, size_t len)
{
    /* TODO: send() may take fewer bytes than asked (a short write): loop until
     * all len bytes are sent, moving on by what each send() took; retry -1 with
     * errno EINTR; any other -1: return -1 (errno stays as send() set it).
     * Return 0 once everything is sent. Flags: MSG_NOSIGNAL. */
    (void)fd;
    (void)buf;
    (void)len;
    errno = ENOSYS;
    return -1;
}
