/*
 * fuzz_read_line.c -- libFuzzer target: the reference read_line()
 * (solutions/05-framing/frame.c) against a mocked recv() and a model.
 *
 * The fuzz input is a script of what recv() does, one command byte at a time:
 *
 *     00xxxxxx, 01xxxxxx   a chunk of the next (c & 0x7f) + 1 input bytes (1 to 128)
 *     10xxxxxx             a chunk of the next ((c & 0x3f) + 1) * 16 input bytes (16 to 1024)
 *     11xxxxxx             (c & 0x3f) < 48: recv() fails with EINTR; else with ECONNRESET
 *     the end of input     recv() returns 0: the peer closed
 *
 * A chunk larger than the room recv() is given comes in several recv()s.
 * The model cuts the whole byte stream into lines without caring how it came,
 * and every read_line() result must be the model's next one. The invariants
 * of frame.h are checked on every call; ASan watches the buffers (the line is
 * a heap block of exactly FRAME_MAX bytes).
 */
#define _POSIX_C_SOURCE 200809L
#define recv            fuzz_recv /* frame.c's recv() is ours (built with -U_FORTIFY_SOURCE) */
#ifndef FRAME_C                   /* another frame.c may be given: -DFRAME_C=\"path\" */
#define FRAME_C "../../solutions/05-framing/frame.c"
#endif
#include FRAME_C
#undef recv

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FD 42

/* === The mocked recv() === */

static struct {
    const uint8_t *in, *end; /* the script not read yet */
    const uint8_t *chunk;    /* what is left of the current chunk */
    size_t chunk_left;
    size_t delivered;                 /* stream bytes given to the reader so far */
    int ended;                        /* 0, or the end it reported: 0 (EOF) or -1 (error) */
    const struct line_reader *reader; /* whose buffer recv() may write */
} mock;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_read_line: invariant broken: %s\n", what);
        abort();
    }
}

ssize_t fuzz_recv(int fd, void *buf, size_t len, int flags)
{
    const char *room = mock.reader->buf;

    (void)flags;
    check(fd == FD, "recv() on the reader's descriptor");
    check(len > 0, "recv() is given some room (0 would look like EOF)");
    check((const char *)buf >= room && (const char *)buf + len <= room + FRAME_MAX,
          "recv() writes inside the reader's buffer only");
    if (mock.ended == -1) {
        errno = ECONNRESET;
        return -1;
    }
    while (mock.chunk_left == 0) {
        if (mock.in == mock.end) {
            mock.ended = 1;
            return 0;
        }
        uint8_t c = *mock.in++;
        if (c >> 6 == 3) {
            errno = (c & 0x3f) < 48 ? EINTR : ECONNRESET;
            if (errno == ECONNRESET) mock.ended = -1;
            return -1;
        }
        size_t want = c >> 7 ? (size_t)((c & 0x3f) + 1) * 16 : (size_t)(c & 0x7f) + 1;
        size_t have = (size_t)(mock.end - mock.in);
        mock.chunk = mock.in;
        mock.chunk_left = want < have ? want : have;
        mock.in += mock.chunk_left;
    }
    size_t n = mock.chunk_left < len ? mock.chunk_left : len;
    memcpy(buf, mock.chunk, n);
    mock.chunk += n;
    mock.chunk_left -= n;
    mock.delivered += n;
    return (ssize_t)n;
}

/* === The model === */

struct expected {
    ssize_t result;      /* a length, or LINE_TOO_LONG, LINE_EOF, LINE_ERROR */
    const uint8_t *line; /* the line's bytes (result >= 0) */
    size_t line_start;   /* its offset in the stream */
};

/* The stream (every chunk's bytes, up to the end) and how it ends. */
static size_t stream_of(const uint8_t *in, size_t size, uint8_t *stream, ssize_t *end)
{
    size_t n = 0, i = 0;

    *end = LINE_EOF;
    while (i < size) {
        uint8_t c = in[i++];
        if (c >> 6 == 3) {
            if ((c & 0x3f) >= 48) {
                *end = LINE_ERROR;
                break;
            }
            continue;
        }
        size_t want = c >> 7 ? (size_t)((c & 0x3f) + 1) * 16 : (size_t)(c & 0x7f) + 1;
        size_t take = want < size - i ? want : size - i;
        memcpy(stream + n, in + i, take);
        n += take;
        i += take;
    }
    return n;
}

/* What read_line() must return, call after call, for this stream: a line of
 * up to FRAME_MAX - 1 bytes before its '\n' (one '\r' before it dropped), or
 * LINE_TOO_LONG once for a longer one (also for an unterminated tail of
 * FRAME_MAX bytes or more), then the end. */
static size_t model(const uint8_t *s, size_t n, ssize_t end, struct expected *out)
{
    size_t count = 0, pos = 0;

    for (;;) {
        const uint8_t *nl = memchr(s + pos, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - (s + pos)) : n - pos;
        if (!nl) {
            if (len >= FRAME_MAX) out[count++] = (struct expected){LINE_TOO_LONG, NULL, pos};
            out[count++] = (struct expected){end, NULL, pos};
            return count;
        }
        if (len + 1 > FRAME_MAX) {
            out[count++] = (struct expected){LINE_TOO_LONG, NULL, pos};
        } else {
            size_t kept = len > 0 && s[pos + len - 1] == '\r' ? len - 1 : len;
            out[count++] = (struct expected){(ssize_t)kept, s + pos, pos};
        }
        pos += len + 1;
    }
}

/* === The target === */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *stream = malloc(size + 1);
    struct expected *want = malloc((size + 2) * sizeof *want);
    struct line_reader *r = malloc(sizeof *r);
    char *line = malloc(FRAME_MAX); /* exactly: ASan sees a byte written past it */
    ssize_t end;
    size_t n = stream_of(data, size, stream, &end);
    size_t count = model(stream, n, end, want);

    mock = (__typeof__(mock)){data, data + size, NULL, 0, 0, 0, r};
    line_reader_init(r, FD);
    for (size_t i = 0; i < count + 3; i++) {
        const struct expected *w = &want[i < count ? i : count - 1]; /* the end sticks */
        memset(line, 0xAA, FRAME_MAX);
        ssize_t got = read_line(r, line);
        check(r->used <= FRAME_MAX, "used <= FRAME_MAX");
        check(got == w->result, "read_line() returns what the model says");
        if (got >= 0) {
            check(got < FRAME_MAX, "a line is shorter than FRAME_MAX");
            check(line[got] == '\0', "a line is NUL-terminated");
            check(memchr(line, '\n', (size_t)got) == NULL, "a line holds no '\\n'");
            check(memcmp(line, w->line, (size_t)got) == 0, "the line's bytes are the stream's");
        }
        if (got == LINE_TOO_LONG)
            check(mock.delivered <= w->line_start + FRAME_MAX,
                  "LINE_TOO_LONG comes as soon as FRAME_MAX bytes are held");
    }
    free(line);
    free(r);
    free(want);
    free(stream);
    return 0;
}
