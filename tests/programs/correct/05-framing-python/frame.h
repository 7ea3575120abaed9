#ifndef FRAME_H
#define FRAME_H

#include <stddef.h>
#include <sys/types.h>

#define FRAME_MAX 512

enum { LINE_EOF = -1, LINE_ERROR = -2, LINE_TOO_LONG = -3 };

/* buf[start..used) is held; recv() fills buf[used..FRAME_MAX). */
struct line_reader { int fd; size_t used; char buf[FRAME_MAX]; size_t start; int dropping; int end; };

void line_reader_init(struct line_reader *r, int fd);
ssize_t read_line(struct line_reader *r, char line[FRAME_MAX]);
int send_all(int fd, const void *buf, size_t len);

#endif
