/* frame.c -- a line reader that asks recv() for one byte at a time: slow,
 * but it never holds more than the line being read. */
#define _POSIX_C_SOURCE 200809L

#include "frame.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

void line_reader_init(struct line_reader *r, int fd)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
}

ssize_t read_line(struct line_reader *r, char line[FRAME_MAX])
{
    while (!r->over) {
        ssize_t n = recv(r->fd, r->buf + r->used, 1, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            r->over = n == 0 ? LINE_EOF : LINE_ERROR;
            break;
        }
        if (r->buf[r->used] == '\n') {
            size_t len = r->used;
            r->used = 0;
            if (r->skipping) {
                r->skipping = 0;
                continue;
            }
            if (len > 0 && r->buf[len - 1] == '\r') len--;
            memcpy(line, r->buf, len);
            line[len] = '\0';
            return (ssize_t)len;
        }
        if (r->skipping) continue; /* the byte is overwritten by the next */
        if (++r->used == FRAME_MAX) {
            r->used = 0;
            r->skipping = 1;
            return LINE_TOO_LONG;
        }
    }
    return r->over;
}

int send_all(int fd, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);
        if (n >= 0) done += (size_t)n;
        else if (errno != EINTR) return -1;
    }
    return 0;
}
