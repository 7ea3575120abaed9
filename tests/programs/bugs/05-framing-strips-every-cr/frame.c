/*
 * frame.c -- a bounded line reader over a TCP stream (see frame.h).
 *
 * One recv() is not one message: it may bring half a line, or three lines
 * and a half. So the reader keeps what came in a fixed buffer and hands out
 * one line at a time. The buffer is never asked to hold more than it can: a
 * line that fills it without its '\n' is reported as too long and skipped,
 * which is what keeps a hostile client from overflowing anything.
 */
#define _POSIX_C_SOURCE 200809L

#include "frame.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* === The buffer ===
 *
 * buf[0..used) holds the bytes received and not handed out yet; the oldest
 * first. Like xv6's pipe, its state is one-line expressions:
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

/* Forget the first n bytes of buf (n <= used). */
static void consume(struct line_reader *r, size_t n)
{
    memmove(r->buf, r->buf + n, r->used - n);
    r->used -= n;
}

/* One recv() into the room left: > 0 bytes came, 0 the peer closed, -1 error. */
static ssize_t fill(struct line_reader *r)
{
    for (;;) {
        ssize_t n = recv(r->fd, r->buf + r->used, FRAME_MAX - r->used, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n > 0) r->used += (size_t)n;
        return n;
    }
}

/* Hand out the line buf[0..len) and its '\n'; a '\r' just before it goes too. */
static ssize_t take_line(struct line_reader *r, size_t len, char line[FRAME_MAX])
{
    size_t kept = len;

    while (kept > 0 && r->buf[kept - 1] == '\r') kept--; /* BUG: only the '\r' just before '\n' goes */

    memcpy(line, r->buf, kept);
    line[kept] = '\0'; /* kept < len + 1 <= used <= FRAME_MAX */
    consume(r, len + 1);
    return (ssize_t)kept;
}

/* === Reading lines === */

ssize_t read_line(struct line_reader *r, char line[FRAME_MAX])
{
    for (;;) {
        if (r->end) return r->end; /* LINE_EOF and LINE_ERROR stick */

        char *nl = memchr(r->buf, '\n', r->used);
        if (nl && !r->dropping) return take_line(r, (size_t)(nl - r->buf), line);
        if (nl) { /* the end of a too-long line: drop it, go on with the next */
            consume(r, (size_t)(nl - r->buf) + 1);
            r->dropping = 0;
            continue;
        }
        if (r->dropping) r->used = 0; /* more of the too-long line: not kept */
        if (r->used == FRAME_MAX) {   /* full, and no '\n': too long */
            r->used = 0;
            r->dropping = 1;
            return LINE_TOO_LONG;
        }
        ssize_t n = fill(r);
        if (n == 0) r->end = LINE_EOF; /* an unterminated tail is dropped */
        if (n < 0) r->end = LINE_ERROR;
    }
}

/* === Writing === */

/* MSG_NOSIGNAL: a peer that has gone makes send() fail with EPIPE instead of
 * killing the whole program with SIGPIPE. */
int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
