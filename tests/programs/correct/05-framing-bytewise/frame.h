/* frame.h -- the API of SPEC 05-framing; this reader recv()s one byte at a time. */
#ifndef FRAME_H
#define FRAME_H

#include <stddef.h>
#include <sys/types.h>

#define FRAME_MAX 512

enum { LINE_EOF = -1, LINE_ERROR = -2, LINE_TOO_LONG = -3 };

struct line_reader {
    int fd;
    size_t used;
    char buf[FRAME_MAX];
    int skipping; /* inside a too-long line */
    ssize_t over; /* 0, or the LINE_EOF / LINE_ERROR that ended the stream */
};

void line_reader_init(struct line_reader *r, int fd);
ssize_t read_line(struct line_reader *r, char line[FRAME_MAX]);
int send_all(int fd, const void *buf, size_t len);

#endif
