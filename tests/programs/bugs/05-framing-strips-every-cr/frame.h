/*
 * frame.h -- a bounded line reader: TCP is a stream of bytes, not of messages.
 *
 * read_line() cuts the stream into lines of at most FRAME_MAX bytes, however
 * the bytes arrive: several lines in one recv(), or one line over many. A
 * longer line is reported as LINE_TOO_LONG and skipped; nothing is ever
 * written past the reader's buffer or the caller's line.
 */
#ifndef FRAME_H
#define FRAME_H

#include <stddef.h>
#include <sys/types.h>

#define FRAME_MAX 512 /* longest frame, its '\n' included */

enum { LINE_EOF = -1, LINE_ERROR = -2, LINE_TOO_LONG = -3 };

struct line_reader {
    int fd;
    size_t used;         /* bytes held in buf: 0 <= used <= FRAME_MAX */
    char buf[FRAME_MAX]; /* buf[0..used) is what came and was not returned yet */
    int dropping;        /* inside a too-long line: drop through its '\n' */
    int end;             /* 0 while the stream goes on; then LINE_EOF or LINE_ERROR */
};

/* A reader of fd, holding nothing yet. */
void line_reader_init(struct line_reader *r, int fd);

/* The next line's length, its bytes copied to line without the '\n' (nor a
 * '\r' just before it) and NUL-terminated; or LINE_EOF, LINE_ERROR or
 * LINE_TOO_LONG (see SPEC.md). */
ssize_t read_line(struct line_reader *r, char line[FRAME_MAX]);

/* Sends all len bytes (short writes and EINTR retried); 0, or -1 with errno. */
int send_all(int fd, const void *buf, size_t len);

#endif
