/*
 * test_frame.c -- the kit's unit tests of a student's frame.c (step 05).
 *
 * grader/checks/s05_framing.py builds it against the student's frame.h and
 * frame.c, with recv() and send() replaced by the mocks below:
 *
 *     cc -std=c17 -g -O1 -U_FORTIFY_SOURCE -I STEP test_frame.c STEP/frame.c \
 *        -Wl,--wrap=recv,--wrap=send -lcmocka
 *
 * and runs it as `test_frame GROUP` (lines, toolong, end, bounds, send): one
 * group per graded check. The mocked recv() plays a script of chunks, ends of
 * stream and errors, and refuses to be asked for more room than the reader
 * has left (FRAME_MAX - used): that is the lesson of the step. Canary bytes
 * around the caller's line and after the reader catch any write past them.
 * A failure says which case failed, what recv() gave, what read_line() was
 * expected to return and what it returned.
 */
#define _POSIX_C_SOURCE 200809L

#include "frame.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#if FRAME_MAX != 512
#error "frame.h must define FRAME_MAX as 512 (see the README of 05-framing): put it back"
#endif

#define FD       7  /* the reader's descriptor: any other is a mistake */
#define CANARY   64 /* guard bytes on each side of line, after the reader */
#define GUARD    0xA5
#define SHOW_MAX 120 /* escaped bytes shown of one string */
#define ALARM_S  3   /* one case longer than this: an endless loop */

/* === Showing bytes === */

/* data as a quoted C string, long ones cut in the middle, into out. */
static const char *show(char *out, size_t size, const char *data, size_t len)
{
    size_t at = 0;
    int cut = len > SHOW_MAX;

    out[at++] = '"';
    for (size_t i = 0; i < len && at + 12 < size; i++) {
        if (cut && i == SHOW_MAX / 2) {
            at += (size_t)snprintf(out + at, size - at, "\" ... \"");
            i = len - SHOW_MAX / 4;
        }
        unsigned char c = (unsigned char)data[i];
        const char *e = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\\' ? "\\\\" : c == '"' ? "\\\"" : c == 0 ? "\\0" : NULL;
        if (e) at += (size_t)snprintf(out + at, size - at, "%s", e);
        else if (c >= 0x20 && c < 0x7f) out[at++] = (char)c;
        else at += (size_t)snprintf(out + at, size - at, "\\x%02x", c);
    }
    out[at++] = '"';
    out[at] = '\0';
    if (cut) snprintf(out + at, size - at, " (%zu bytes)", len);
    return out;
}

static const char *errno_name(int e)
{
    switch (e) {
    case EINTR: return "EINTR";
    case ECONNRESET: return "ECONNRESET";
    case EBADF: return "EBADF";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EPIPE: return "EPIPE";
    default: return strerror(e);
    }
}

static const char *ret_name(ssize_t n)
{
    switch (n) {
    case LINE_EOF: return "LINE_EOF";
    case LINE_ERROR: return "LINE_ERROR";
    case LINE_TOO_LONG: return "LINE_TOO_LONG";
    default: return n >= 0 ? "a line" : "an unknown negative value";
    }
}

/* === The recv() script === */

enum kind { DATA, END, ERROR, GATE };

struct chunk {
    enum kind kind;
    const char *data; /* DATA */
    size_t len;       /* DATA */
    int err;          /* ERROR: the errno of a failed recv() */
};

#define CHUNK(s)     {DATA, s, sizeof s - 1, 0}
#define BYTES(p, n)  {DATA, p, n, 0}
#define EOS          {END, NULL, 0, 0}
#define FAILS(e)     {ERROR, NULL, 0, e}
#define STOP         {GATE, NULL, 0, 0} /* recv() must not get here yet */
#define COUNT(a)     (sizeof a / sizeof a[0])

static struct {
    const struct chunk *chunks;
    size_t count, at, taken; /* chunk at, of which taken bytes went out */
    int ended_calls;         /* recv() calls after the script ended */
    int calls;               /* recv() calls in this case */
    const char *why_stop;    /* what a STOP means, for the message */
} script;

/* What the student's code writes into: the reader and the caller's line,
 * each with guard bytes around. */
static struct {
    unsigned char before[CANARY];
    char line[FRAME_MAX];
    unsigned char after[CANARY];
} out;

static struct {
    struct line_reader r;
    unsigned char after[CANARY];
} box;

static char fed[2048]; /* the script, shown: "\"ab\" | \"c\\n\" | end of stream" */

static void describe_script(const struct chunk *c, size_t n)
{
    size_t at = 0;
    char s[SHOW_MAX * 4 + 64];

    fed[0] = '\0';
    for (size_t i = 0; i < n && at + 64 < sizeof fed; i++) {
        const char *what = c[i].kind == DATA ? show(s, sizeof s, c[i].data, c[i].len)
                           : c[i].kind == END ? "end of stream (0)"
                           : c[i].kind == GATE ? "(read_line should have returned before this recv)"
                                               : (snprintf(s, sizeof s, "-1 with errno %s", errno_name(c[i].err)), s);
        at += (size_t)snprintf(fed + at, sizeof fed - at, "%s%s", i ? " | " : "", what);
    }
    if (at + 8 >= sizeof fed) snprintf(fed + sizeof fed - 8, 8, " ...");
}

static void play(const struct chunk *c, size_t n)
{
    script.chunks = c;
    script.count = n;
    script.at = script.taken = 0;
    script.ended_calls = 0;
    script.calls = 0;
    describe_script(c, n);
    memset(&box, GUARD, sizeof box);
    line_reader_init(&box.r, FD);
}

/* The room recv() may fill: inside the reader, only buf[used..FRAME_MAX). */
static void check_room(const char *p, size_t len)
{
    const char *lo = (const char *)&box, *hi = lo + sizeof box;
    const char *buf = box.r.buf;

    if (len == 0)
        fail_msg("recv() was asked for 0 bytes (used = %zu): with buf full and no '\\n', "
                 "read_line must return LINE_TOO_LONG instead of reading more\n           recv gave: %s",
                 box.r.used, fed);
    if (p + len > lo && p < hi) {
        if (p < buf || p + len > buf + FRAME_MAX)
            fail_msg("recv() was asked to write %zu bytes at buf + %td: that goes past the end of buf[FRAME_MAX] "
                     "(a buffer overflow)\n           recv gave: %s",
                     len, p - buf, fed);
        if (len > FRAME_MAX - box.r.used)
            fail_msg("recv() was asked for %zu bytes while used = %zu: only FRAME_MAX - used = %zu bytes are free. "
                     "Asking for more is how buffers overflow: a peer decides how much arrives\n           recv gave: %s",
                     len, box.r.used, FRAME_MAX - box.r.used, fed);
    }
    if (p + len > out.line && p < out.line + FRAME_MAX + CANARY && p + len > out.line + FRAME_MAX)
        fail_msg("recv() was asked to write %zu bytes at line + %td: past the end of line[FRAME_MAX]", len, p - out.line);
}

ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags);
ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags)
{
    (void)flags;
    script.calls++;
    if (fd != FD) fail_msg("recv() was called on descriptor %d; the reader was given %d", fd, FD);
    check_room(buf, len);
    if (script.at == script.count) { /* a real socket says 0 again after the end */
        if (++script.ended_calls > 100)
            fail_msg("read_line calls recv() again and again after it returned 0 or failed: 0 means the peer "
                     "closed (LINE_EOF), -1 an error (LINE_ERROR)\n           recv gave: %s",
                     fed);
        const struct chunk *last = script.count ? &script.chunks[script.count - 1] : NULL;
        if (last && last->kind == ERROR) {
            errno = last->err;
            return -1;
        }
        return 0;
    }
    const struct chunk *c = &script.chunks[script.at];
    switch (c->kind) {
    case GATE:
        fail_msg("read_line called recv() again when it should have returned: %s\n           recv gave: %s",
                 script.why_stop, fed);
        return -1;
    case END: script.at++; return 0;
    case ERROR: script.at++; errno = c->err; return -1;
    case DATA: break;
    }
    size_t n = c->len - script.taken < len ? c->len - script.taken : len;
    memcpy(buf, c->data + script.taken, n);
    script.taken += n;
    if (script.taken == c->len) script.at++, script.taken = 0;
    return (ssize_t)n;
}

/* A line for a failure message when the kit's stand-in for call() was never
 * called in the case: frame.c went around it (read(), write()...), so the
 * script of the case never reached it. */
static const char *never_called(int calls, const char *call)
{
    static char note[160];
    if (calls) return "";
    snprintf(note, sizeof note, "\n           %s() was never called: frame.c must call %s(), which the tests replace", call, call);
    return note;
}

/* Let read_line go past a STOP of the script. */
static void pass_stop(void)
{
    if (script.at < script.count && script.chunks[script.at].kind == GATE) script.at++;
}

/* === Expectations === */

struct want {
    ssize_t ret;      /* a length (>= 0) or LINE_EOF, LINE_ERROR, LINE_TOO_LONG */
    const char *line; /* for a length */
};

#define LINE(s)  {sizeof s - 1, s}
#define IS(code) {code, NULL}

static void check_guards(const char *when)
{
    for (size_t i = 0; i < CANARY; i++) {
        if (out.before[i] != GUARD) fail_msg("%s: a byte before line[0] was overwritten (line[%td])", when, (ptrdiff_t)i - CANARY);
        if (out.after[i] != GUARD) fail_msg("%s: line[%zu] was written: past the end of line[FRAME_MAX] (a buffer overflow)", when, FRAME_MAX + i);
        if (box.after[i] != GUARD)
            fail_msg("%s: the %zu-th byte after the struct line_reader was written: past the end of the reader (a buffer overflow)", when, i + 1);
    }
    if (box.r.used > FRAME_MAX) fail_msg("%s: the reader's used is %zu, more than FRAME_MAX", when, box.r.used);
}

/* One read_line() call, the k-th of the case: it must return w. */
static void expect_call(int k, const struct want *w, const char *detail)
{
    char a[SHOW_MAX * 4 + 64], b[SHOW_MAX * 4 + 64], when[64];

    memset(out.before, GUARD, CANARY);
    memset(out.after, GUARD, CANARY);
    memset(out.line, 'Z', FRAME_MAX);
    ssize_t got = read_line(&box.r, out.line);
    snprintf(when, sizeof when, "read_line call %d", k);
    check_guards(when);
    if (w->ret >= 0 && got == w->ret && memcmp(out.line, w->line, (size_t)got) == 0 && out.line[got] == '\0') return;
    if (got == w->ret && w->ret < 0) return;

    const char *expected = w->ret >= 0 ? show(a, sizeof a, w->line, (size_t)w->ret) : ret_name(w->ret);
    char got_text[SHOW_MAX * 4 + 96];
    if (got >= 0 && got < FRAME_MAX) {
        int nul = out.line[got] == '\0';
        snprintf(got_text, sizeof got_text, "%zd, line %s%s", got, show(b, sizeof b, out.line, (size_t)got), nul ? "" : " with no '\\0' after it");
    } else if (got >= 0) {
        snprintf(got_text, sizeof got_text, "%zd: longer than a line can be (FRAME_MAX - 1 at most)", got);
    } else {
        snprintf(got_text, sizeof got_text, "%zd (%s)", got, ret_name(got));
    }
    fail_msg("%s%sread_line call %d\n           recv gave: %s\n           expected:  %s%s\n           returned:  %s%s",
             detail ? detail : "", detail ? "\n           " : "", k, fed, w->ret >= 0 ? "a line " : "", expected, got_text,
             never_called(script.calls, "recv"));
}

/* Play the script, then expect each result in turn. */
static void run_case(const struct chunk *c, size_t n, const struct want *w, size_t nw, const char *detail)
{
    play(c, n);
    for (size_t i = 0; i < nw; i++) {
        expect_call((int)i + 1, &w[i], detail);
        if (w[i].ret == LINE_TOO_LONG) pass_stop();
    }
}

#define RUN(chunks, wants) run_case(chunks, COUNT(chunks), wants, COUNT(wants), NULL)

/* === lines: however the bytes are cut === */

static const char SAMPLE[] = "hello\nworld, a longer line\n\nx\r\nsplit \r in the middle\nlast one\n";
static const struct want SAMPLE_LINES[] = {
    LINE("hello"), LINE("world, a longer line"), LINE(""), LINE("x"), LINE("split \r in the middle"), LINE("last one"), IS(LINE_EOF),
};

static void lines_cut_at_every_position(void **state)
{
    size_t len = sizeof SAMPLE - 1;
    char detail[64];
    (void)state;
    for (size_t cut = 1; cut < len; cut++) {
        struct chunk c[] = {BYTES(SAMPLE, cut), BYTES(SAMPLE + cut, len - cut), EOS};
        snprintf(detail, sizeof detail, "the sample stream cut after byte %zu:", cut);
        run_case(c, COUNT(c), SAMPLE_LINES, COUNT(SAMPLE_LINES), detail);
    }
}

static void lines_one_byte_per_recv(void **state)
{
    size_t len = sizeof SAMPLE - 1;
    struct chunk c[sizeof SAMPLE];
    (void)state;
    for (size_t i = 0; i < len; i++) c[i] = (struct chunk)BYTES(SAMPLE + i, 1);
    c[len] = (struct chunk)EOS;
    run_case(c, len + 1, SAMPLE_LINES, COUNT(SAMPLE_LINES), "one byte per recv():");
}

static void lines_many_in_one_recv(void **state)
{
    static const struct chunk c[] = {CHUNK("one\ntwo\nthree\n\nfive\nsix\nseven\neight\nnine\nten\n"), EOS};
    static const struct want w[] = {LINE("one"), LINE("two"), LINE("three"), LINE(""), LINE("five"), LINE("six"),
                                    LINE("seven"), LINE("eight"), LINE("nine"), LINE("ten"), IS(LINE_EOF)};
    (void)state;
    RUN(c, w);
}

static void lines_crlf(void **state)
{
    static const struct chunk c[] = {CHUNK("ab\r\n\r\n"), CHUNK("cd\r"), CHUNK("\n"), CHUNK("e\r\rf\r\n"), EOS};
    static const struct want w[] = {LINE("ab"), LINE(""), LINE("cd"), LINE("e\r\rf"), IS(LINE_EOF)};
    (void)state;
    RUN(c, w);
}

static void lines_keep_every_byte(void **state)
{
    static const struct chunk c[] = {BYTES("a\0b\xff\t:\n", 7), CHUNK(" spaces \n"), EOS};
    static const struct want w[] = {{6, "a\0b\xff\t:"}, LINE(" spaces "), IS(LINE_EOF)};
    (void)state;
    RUN(c, w);
}

/* === toolong: a bounded buffer === */

static char xs[4096]; /* 'x' bytes, for long lines */

static void long_line_of_511_bytes_fits(void **state)
{
    static char stream[511 + 4];
    struct want w[] = {{511, xs}, LINE("ok")};
    (void)state;
    memcpy(stream, xs, 511);
    memcpy(stream + 511, "\nok\n", 4);
    size_t cuts[] = {sizeof stream, 1, 256, 511, 512};
    for (size_t i = 0; i < COUNT(cuts); i++) {
        struct chunk c[] = {BYTES(stream, cuts[i]), BYTES(stream + cuts[i], sizeof stream - cuts[i])};
        char detail[80];
        snprintf(detail, sizeof detail, "511 bytes, '\\n', \"ok\\n\", cut after byte %zu:", cuts[i]);
        run_case(c, cuts[i] == sizeof stream ? 1 : 2, w, COUNT(w), detail);
    }
    struct chunk crlf[] = {BYTES(xs, 510), CHUNK("\r\n"), EOS};
    struct want w2[] = {{510, xs}, IS(LINE_EOF)};
    run_case(crlf, COUNT(crlf), w2, COUNT(w2), "510 bytes then \"\\r\\n\":");
}

static void too_long_at_512_then_next_line(void **state)
{
    struct chunk c[] = {BYTES(xs, 512), STOP, CHUNK("the rest of it\nnext\n"), EOS};
    struct want w[] = {IS(LINE_TOO_LONG), LINE("next"), IS(LINE_EOF)};
    (void)state;
    script.why_stop = "512 bytes were held with no '\\n': LINE_TOO_LONG was due at once, without waiting for the '\\n'";
    RUN(c, w);
}

static void too_long_in_one_recv_then_next(void **state)
{
    static char stream[700 + 7];
    struct want w[] = {IS(LINE_TOO_LONG), LINE("after"), IS(LINE_EOF)};
    (void)state;
    memcpy(stream, xs, 700);
    memcpy(stream + 700, "\nafter\n", 7);
    struct chunk c[] = {BYTES(stream, sizeof stream), EOS};
    RUN(c, w);
}

static void too_long_over_many_buffers_once(void **state)
{
    struct chunk c[] = {BYTES(xs, 1000), BYTES(xs, 4096), BYTES(xs, 3), CHUNK("x\nafter\n"), EOS};
    struct want w[] = {IS(LINE_TOO_LONG), LINE("after"), IS(LINE_EOF)};
    (void)state;
    RUN(c, w);
}

static void too_long_twice(void **state)
{
    struct chunk c[] = {CHUNK("first\n"), BYTES(xs, 600), CHUNK("\n"), BYTES(xs, 512), CHUNK("\nlast\n"), EOS};
    struct want w[] = {LINE("first"), IS(LINE_TOO_LONG), IS(LINE_TOO_LONG), LINE("last"), IS(LINE_EOF)};
    (void)state;
    RUN(c, w);
}

static void too_long_with_cr(void **state)
{
    /* 511 bytes and a '\r' are 512 bytes held with no '\n': too long */
    struct chunk c[] = {BYTES(xs, 511), CHUNK("\r"), STOP, CHUNK("\nok\n"), EOS};
    struct want w[] = {IS(LINE_TOO_LONG), LINE("ok"), IS(LINE_EOF)};
    (void)state;
    script.why_stop = "511 bytes and a '\\r' are 512 bytes held with no '\\n': LINE_TOO_LONG was due";
    RUN(c, w);
}

static void too_long_then_end(void **state)
{
    struct chunk c[] = {BYTES(xs, 900), EOS};
    struct want w[] = {IS(LINE_TOO_LONG), IS(LINE_EOF), IS(LINE_EOF)};
    (void)state;
    RUN(c, w);
}

/* === end: end of stream and errors === */

static void end_at_once(void **state)
{
    static const struct chunk c[] = {EOS};
    static const struct want w[] = {IS(LINE_EOF), IS(LINE_EOF)};
    (void)state;
    RUN(c, w);
}

static void end_after_lines(void **state)
{
    static const struct chunk c[] = {CHUNK("a\nb\n"), EOS};
    static const struct want w[] = {LINE("a"), LINE("b"), IS(LINE_EOF), IS(LINE_EOF)};
    (void)state;
    RUN(c, w);
}

static void end_drops_an_unterminated_tail(void **state)
{
    static const struct chunk c[] = {CHUNK("a\nunterminated tail"), EOS};
    static const struct want w[] = {LINE("a"), IS(LINE_EOF), IS(LINE_EOF)};
    (void)state;
    RUN(c, w);
}

static void eintr_is_retried(void **state)
{
    static const struct chunk c[] = {FAILS(EINTR), CHUNK("ab"), FAILS(EINTR), FAILS(EINTR), CHUNK("c\n"), FAILS(EINTR), EOS};
    static const struct want w[] = {LINE("abc"), IS(LINE_EOF)};
    (void)state;
    RUN(c, w);
}

static void error_is_line_error_and_sticks(void **state)
{
    static const struct chunk c[] = {CHUNK("ok\npartial"), FAILS(ECONNRESET), CHUNK("late\n"), EOS};
    static const struct want w[] = {LINE("ok"), IS(LINE_ERROR), IS(LINE_ERROR), IS(LINE_ERROR)};
    (void)state;
    RUN(c, w);
}

static void other_errors_too(void **state)
{
    static const struct chunk c1[] = {FAILS(EBADF), CHUNK("late\n")};
    static const struct chunk c2[] = {FAILS(ETIMEDOUT), CHUNK("late\n")};
    static const struct want w[] = {IS(LINE_ERROR), IS(LINE_ERROR)};
    (void)state;
    RUN(c1, w);
    RUN(c2, w);
}

/* === bounds: a hostile stream never overflows anything === */

static void hostile_stream_of_odd_chunks(void **state)
{
    static char stream[20000];
    static struct chunk c[2000];
    size_t n = 0, at = 0;
    unsigned seed = 12345;
    (void)state;
    /* lines of every length from 0 to 700, cut in chunks of 1 to 1500 bytes */
    for (size_t len = 0; at + len + 1 < sizeof stream && len <= 700; len += 37) {
        memset(stream + at, 'a' + (int)(len % 26), len);
        stream[at + len] = '\n';
        at += len + 1;
    }
    for (size_t i = 0; i < at;) {
        seed = seed * 1103515245 + 12345;
        size_t size = 1 + (seed >> 8) % 1500;
        if (size > at - i) size = at - i;
        c[n++] = (struct chunk)BYTES(stream + i, size);
        i += size;
    }
    c[n++] = (struct chunk)EOS;
    play(c, n);
    for (int k = 1;; k++) {
        memset(out.before, GUARD, CANARY);
        memset(out.after, GUARD, CANARY);
        ssize_t got = read_line(&box.r, out.line);
        check_guards("a hostile stream of lines from 0 to 700 bytes, in odd chunks");
        if (got == LINE_EOF) break;
        if (got >= FRAME_MAX) fail_msg("read_line call %d returned %zd: longer than any line fits in line[FRAME_MAX]", k, got);
        if (got == LINE_ERROR || k > 1000) fail_msg("read_line call %d returned %zd (%s)", k, got, ret_name(got));
    }
}

static void full_buffer_then_more(void **state)
{
    /* each recv() brings as much as it is asked for: the reader is full at once */
    static char stream[4800]; /* 8 lines of 599 bytes, each with its newline */
    (void)state;
    for (size_t i = 0; i < sizeof stream; i++) stream[i] = (i % 600 == 599) ? '\n' : 'y';
    struct chunk c[] = {BYTES(stream, sizeof stream), EOS};
    play(c, COUNT(c));
    for (int k = 1; k < 50; k++) {
        memset(out.before, GUARD, CANARY);
        memset(out.after, GUARD, CANARY);
        ssize_t got = read_line(&box.r, out.line);
        check_guards("lines of 599 bytes back to back, in one big recv");
        if (got == LINE_EOF) return;
        if (got != LINE_TOO_LONG) fail_msg("read_line call %d returned %zd (%s); every line there is too long", k, got, ret_name(got));
    }
    fail_msg("read_line never returned LINE_EOF");
}

/* === send: short writes, EINTR, errors === */

static struct {
    char got[4096];
    size_t len;   /* bytes sent so far */
    size_t most;  /* bytes one send() takes at most */
    int eintr;    /* every other call fails with EINTR */
    size_t fail_at; /* once this many bytes are sent, send() fails with EPIPE */
    int calls;
    const char *base; /* the caller's buffer */
    size_t base_len;
} wire;

ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags);
ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags)
{
    const char *p = buf;
    (void)flags;
    if (fd != FD) fail_msg("send() was called on descriptor %d; send_all was given %d", fd, FD);
    if (++wire.calls > 100000) fail_msg("send_all called send() more than 100000 times: an endless loop?");
    if (p < wire.base || p + len > wire.base + wire.base_len)
        fail_msg("send() was given %zu bytes at buf + %td: outside the %zu bytes send_all was given", len, p - wire.base, wire.base_len);
    if (wire.eintr && wire.calls % 2) {
        errno = EINTR;
        return -1;
    }
    if (wire.len >= wire.fail_at) {
        errno = EPIPE;
        return -1;
    }
    size_t n = len < wire.most ? len : wire.most;
    if (wire.len + n > sizeof wire.got)
        fail_msg("send_all sent more than the %zu bytes it was given (%zu bytes so far)", wire.base_len, wire.len + n);
    memcpy(wire.got + wire.len, p, n);
    wire.len += n;
    return (ssize_t)n;
}

static const char MESSAGE[] = "a message of some length, sent with send_all, \0 NUL included, to the end\n";

static void send_with(size_t most, int eintr, size_t fail_at)
{
    memset(&wire, 0, sizeof wire);
    wire.most = most;
    wire.eintr = eintr;
    wire.fail_at = fail_at;
    wire.base = MESSAGE;
    wire.base_len = sizeof MESSAGE - 1;
}

static void send_all_short_writes(void **state)
{
    char a[400], b[400];
    (void)state;
    for (size_t most = 1; most <= sizeof MESSAGE; most++) {
        send_with(most, 0, SIZE_MAX);
        int r = send_all(FD, MESSAGE, sizeof MESSAGE - 1);
        if (r != 0 || wire.len != sizeof MESSAGE - 1 || memcmp(wire.got, MESSAGE, wire.len) != 0)
            fail_msg("each send() takes at most %zu bytes:\n           send_all of %s\n           returned %d, and the peer got %s%s",
                     most, show(a, sizeof a, MESSAGE, sizeof MESSAGE - 1), r, show(b, sizeof b, wire.got, wire.len),
                     never_called(wire.calls, "send"));
    }
}

static void send_all_retries_eintr(void **state)
{
    char a[400], b[400];
    (void)state;
    for (size_t most = 5; most <= sizeof MESSAGE; most += 30) {
        send_with(most, 1, SIZE_MAX);
        int r = send_all(FD, MESSAGE, sizeof MESSAGE - 1);
        if (r != 0 || wire.len != sizeof MESSAGE - 1 || memcmp(wire.got, MESSAGE, wire.len) != 0)
            fail_msg("every other send() fails with EINTR, the others take at most %zu bytes:\n           send_all of %s\n"
                     "           returned %d, and the peer got %s%s",
                     most, show(a, sizeof a, MESSAGE, sizeof MESSAGE - 1), r, show(b, sizeof b, wire.got, wire.len),
                     never_called(wire.calls, "send"));
    }
}

static void send_all_reports_failure(void **state)
{
    (void)state;
    size_t fails[] = {0, 10};
    for (size_t i = 0; i < COUNT(fails); i++) {
        send_with(7, 0, fails[i]);
        errno = 0;
        int r = send_all(FD, MESSAGE, sizeof MESSAGE - 1);
        int e = errno;
        if (r != -1 || e != EPIPE)
            fail_msg("send() fails with EPIPE once %zu bytes are sent:\n           expected:  send_all returns -1 with errno EPIPE\n"
                     "           returned:  %d, errno %s%s",
                     fails[i], r, e ? errno_name(e) : "0 (not set)", never_called(wire.calls, "send"));
    }
}

static void send_all_of_nothing(void **state)
{
    (void)state;
    send_with(100, 0, SIZE_MAX);
    int r = send_all(FD, MESSAGE, 0);
    if (r != 0) fail_msg("send_all(fd, buf, 0) returned %d; nothing to send is a success (0)", r);
}

/* === Groups and main === */

static int arm(void **state)
{
    (void)state;
    alarm(ALARM_S); /* an endless loop kills the run: the grader names the case */
    return 0;
}

#define CASE(name, f) {name, f, arm, NULL, NULL}

static const struct CMUnitTest lines[] = {
    CASE("a sample stream cut in two at every position", lines_cut_at_every_position),
    CASE("the sample stream one byte per recv()", lines_one_byte_per_recv),
    CASE("ten lines in one recv()", lines_many_in_one_recv),
    CASE("\\r\\n endings: the \\r goes, a \\r elsewhere stays", lines_crlf),
    CASE("NUL, \\xff and tabs are kept as they are", lines_keep_every_byte),
};
static const struct CMUnitTest toolong[] = {
    CASE("a line of 511 bytes and its \\n fits, however it is cut", long_line_of_511_bytes_fits),
    CASE("512 bytes with no \\n: LINE_TOO_LONG at once, then the next line", too_long_at_512_then_next_line),
    CASE("700 bytes, \\n and the next line in one recv()", too_long_in_one_recv_then_next),
    CASE("a 5100-byte line over many recv(): one LINE_TOO_LONG", too_long_over_many_buffers_once),
    CASE("two too-long lines in a row: two LINE_TOO_LONG", too_long_twice),
    CASE("511 bytes and a \\r: too long", too_long_with_cr),
    CASE("a too-long line, then the end of stream", too_long_then_end),
};
static const struct CMUnitTest end[] = {
    CASE("end of stream at once", end_at_once),
    CASE("end of stream after two lines", end_after_lines),
    CASE("end of stream drops an unterminated tail", end_drops_an_unterminated_tail),
    CASE("EINTR is retried", eintr_is_retried),
    CASE("a failed recv() is LINE_ERROR, and stays so", error_is_line_error_and_sticks),
    CASE("EBADF and ETIMEDOUT are LINE_ERROR too", other_errors_too),
};
static const struct CMUnitTest bounds[] = {
    CASE("lines of 0 to 700 bytes in odd chunks", hostile_stream_of_odd_chunks),
    CASE("too-long lines back to back in one big recv()", full_buffer_then_more),
};
static const struct CMUnitTest sends[] = {
    CASE("short writes of every size", send_all_short_writes),
    CASE("EINTR is retried", send_all_retries_eintr),
    CASE("a failed send(): -1 and errno", send_all_reports_failure),
    CASE("nothing to send", send_all_of_nothing),
};

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0); /* a crash loses nothing printed */
    dup2(STDOUT_FILENO, STDERR_FILENO); /* one stream, in order */
    memset(xs, 'x', sizeof xs);
    const char *group = argc == 2 ? argv[1] : "";
#define GROUP(g) \
    if (strcmp(group, #g) == 0) return cmocka_run_group_tests_name(#g, g, NULL, NULL)
    GROUP(lines);
    GROUP(toolong);
    GROUP(end);
    GROUP(bounds);
    if (strcmp(group, "send") == 0) return cmocka_run_group_tests_name("send", sends, NULL, NULL);
    fprintf(stderr, "usage: test_frame lines|toolong|end|bounds|send\n");
    return 2;
}
