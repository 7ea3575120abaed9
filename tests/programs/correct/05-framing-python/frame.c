/* frame.c -- lines are handed out by moving a start offset; the held bytes
 * go back to the front only when recv() needs the room. */
#define _POSIX_C_SOURCE 200809L

#include "frame.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

void line_reader_init(struct line_reader *r, int fd)
{
    r->fd = fd;
    r->used = r->start = 0;
    r->dropping = r->end = 0;
}

ssize_t read_line(struct line_reader *r, char line[FRAME_MAX])
{
    for (;;) {
        if (r->end) return r->end;
        char *from = r->buf + r->start;
        size_t held = r->used - r->start;
        char *nl = memchr(from, '\n', held);
        if (nl) {
            size_t len = (size_t)(nl - from);
            r->start += len + 1;
            if (r->dropping) {
                r->dropping = 0;
                continue;
            }
            if (len && from[len - 1] == '\r') len--;
            memcpy(line, from, len);
            line[len] = '\0';
            return (ssize_t)len;
        }
        if (r->dropping) {
            r->used = r->start = 0;
        } else if (held == FRAME_MAX) {
            r->used = r->start = 0;
            r->dropping = 1;
            return LINE_TOO_LONG;
        } else if (r->start) {
            memmove(r->buf, from, held);
            r->used = held;
            r->start = 0;
        }
        ssize_t n;
        do n = recv(r->fd, r->buf + r->used, FRAME_MAX - r->used, 0);
        while (n < 0 && errno == EINTR);
        if (n > 0) r->used += (size_t)n;
        else r->end = n == 0 ? LINE_EOF : LINE_ERROR;
    }
}

int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf, *end = p + len;
    while (p < end) {
        ssize_t n = send(fd, p, (size_t)(end - p), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
    }
    return 0;
}
