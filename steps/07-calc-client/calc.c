/*
 * calc.c -- socklab step 07: a calculator at the terminal, over WP/1.
 *
 *     usage: calc HOST PORT
 *
 * Each line typed is a request: `3+4` goes out as CALC:3+4, `ping` as a PING
 * with a fresh token. The replies come back in the order of the requests, so
 * the client keeps a queue of what it is owed: the oldest entry says what the
 * next reply must be, and how to print it. Requests are sent as soon as they
 * are typed (pipelined), and each reply is printed as soon as it arrives:
 * poll() watches the keyboard and the server at once. The replies are read
 * with the bounded line reader of step 05, so a server that never sends '\n'
 * cannot make us hold more than FRAME_MAX bytes.
 *
 * This is the starter: the shape is here, the work is in the TODO blocks. Do
 * them top to bottom; README.md says exactly what the program must do. The
 * typed side (read_input, send_requests) is given: it cuts what is typed into
 * lines and calls send_text() for each one.
 */
#define _POSIX_C_SOURCE 200809L

#include "frame.h"
#include "socklab.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OWED_MAX   64 /* requests in flight; the keyboard waits while the queue is full */
#define TOKEN_SIZE 24 /* "%lu" of any unsigned long, with its '\0' */

/* === State === */

enum kind { CALC, PING };

/* One request sent and not answered yet. */
struct owed {
    enum kind kind;
    char token[TOKEN_SIZE]; /* PING: the argument its PONG must echo */
    struct timespec sent;   /* PING: when it left, for the round trip */
};

/* Everything the program knows, in one place. */
struct calc {
    const char *host, *port; /* as typed: every message names them that way */
    int fd;                  /* the connected socket */
    struct line_reader replies;
    struct owed owed[OWED_MAX]; /* a ring: owed[head] is the oldest request */
    size_t head, count;         /* empty: count == 0; full: count == OWED_MAX */
    unsigned long pings;        /* the last token used: each PING gets the next */
    char input[FRAME_MAX];      /* typed bytes not sent yet */
    size_t input_used;
    int input_open;   /* 0 once stdin has ended */
    int in_long_line; /* a line longer than input[] is on its way out */
};

/* Each TODO stops the program here until it is done. Once nothing calls this
 * function any more, delete it. */
static _Noreturn void not_implemented(const char *where)
{
    fprintf(stderr, "calc: not implemented yet: see README.md (TODO in %s)\n", where);
    exit(1);
}

/* === The queue of what is owed === */

/* A new entry at the tail of the ring, for a request about to be sent. */
static struct owed *owe(struct calc *c, enum kind kind)
{
    /* TODO: the new entry is c->owed[(c->head + c->count) % OWED_MAX]; count
     * it (c->count++), set its kind, return it. The caller never calls owe()
     * on a full queue (c->count == OWED_MAX). */
    (void)c;
    (void)kind;
    not_implemented("owe");
}

/* The oldest request has its reply: drop it from the head of the ring. */
static void settle(struct calc *c)
{
    /* TODO: c->head moves on by one (% OWED_MAX), c->count goes down by one. */
    (void)c;
    not_implemented("settle");
}

/* === Sending requests === */

static int send_frame(struct calc *c, const char *frame, size_t len)
{
    if (send_all(c->fd, frame, len) == 0) return 0;
    complain("send to %s port %s: %s", c->host, c->port, strerror(errno));
    return -1;
}

/* The token is a counter: fresh for every PING of this connection. */
static int send_ping(struct calc *c)
{
    /* TODO: o = owe(c, PING); write ++c->pings into o->token with snprintf
     * ("%lu"); build the frame "PING:<token>\n" in a char array; take the time
     * with clock_gettime(CLOCK_MONOTONIC, &o->sent) (the wall clock may jump:
     * man 3 clock_gettime); then return send_frame(c, frame, strlen(frame)). */
    (void)c;
    not_implemented("send_ping");
}

/* Sends one piece of typed text. A whole line is a request of its own; a line
 * longer than input[] goes out in pieces (the server answers ERROR:TOOLONG),
 * and only its first piece is a new request. */
static int send_text(struct calc *c, const char *text, size_t len, int whole)
{
    char frame[sizeof "CALC:\n" + FRAME_MAX];
    size_t n = 0;

    if (!c->in_long_line) {
        /* TODO: the start of a request (text[0..len) is the line, without its
         * '\n'):
         *   - a whole line that is empty asks nothing: return 0 (send nothing);
         *   - the whole line "ping" (len 4, memcmp): return send_ping(c);
         *   - anything else is a calculation: owe(c, CALC), then put "CALC:"
         *     at the start of frame (memcpy) and set n to 5. */
        (void)owe;
        (void)send_ping;
        not_implemented("send_text");
    }
    memcpy(frame + n, text, len);
    n += len;
    if (whole) frame[n++] = '\n';
    c->in_long_line = !whole;
    return send_frame(c, frame, n);
}

/* Sends the lines held in input[] while the queue has room. An unfinished
 * line waits for its end, unless it fills input[] or the input has ended
 * (the end of input ends the last line, even a long one). */
static int send_requests(struct calc *c)
{
    while (c->input_used > 0 || (c->in_long_line && !c->input_open)) {
        char *nl = memchr(c->input, '\n', c->input_used);
        size_t len = nl ? (size_t)(nl - c->input) : c->input_used;
        int whole = nl != NULL || !c->input_open;

        if (!whole && c->input_used < sizeof c->input) return 0;
        if (!c->in_long_line && c->count == OWED_MAX) return 0; /* replies first */
        if (send_text(c, c->input, len, whole) < 0) return -1;
        len += nl != NULL;
        memmove(c->input, c->input + len, c->input_used - len);
        c->input_used -= len;
    }
    return 0;
}

/* One read() of stdin: whatever was typed, or the end of input. */
static int read_input(struct calc *c)
{
    ssize_t n = read(STDIN_FILENO, c->input + c->input_used, sizeof c->input - c->input_used);

    if (n < 0 && errno == EINTR) return 0;
    if (n < 0) {
        complain("read from stdin: %s", strerror(errno));
        return -1;
    }
    if (n == 0) c->input_open = 0;
    c->input_used += (size_t)n;
    return send_requests(c);
}

/* === Printing replies === */

/* stdout is a pipe for the grader (and for `calc ... | tee log`): without the
 * fflush(), the line would wait in stdio's buffer. */
static int print(const char *prefix, const char *text, size_t len)
{
    fputs(prefix, stdout);
    fwrite(text, 1, len, stdout); /* fwrite, not printf: the text may hold '\0' */
    putchar('\n');
    if (fflush(stdout) == 0 && !ferror(stdout)) return 0;
    complain("write to stdout: %s", strerror(errno));
    return -1;
}

/* The PONG's argument arg[0..len) must be the token of the PING o. */
static int print_pong(struct calc *c, const struct owed *o, const char *arg, size_t len)
{
    /* TODO:
     *   - another token than o->token (compare the length with strlen, then
     *     memcmp): complain("%s port %s answered PING:%s with another token",
     *     ...) and return -1;
     *   - the round trip: clock_gettime(CLOCK_MONOTONIC, &now), then
     *     (now.tv_sec - o->sent.tv_sec) * 1e3 + (now.tv_nsec - o->sent.tv_nsec) / 1e6
     *     milliseconds, as doubles;
     *   - printf("pong %.3f ms\n", ms), then fflush(stdout) (its failure:
     *     complain, return -1); return 0. */
    (void)c;
    (void)o;
    (void)arg;
    (void)len;
    not_implemented("print_pong");
}

/* A WP/1 frame is KEYWORD:ARGUMENT, the keyword 1 to 10 of A-Z. Returns the
 * argument (just after the ':'), or NULL when the line is not a frame. */
static const char *split(const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    size_t n = colon ? (size_t)(colon - line) : 0;

    if (n < 1 || n > 10 || strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != n) return NULL;
    return colon + 1;
}

/* The reply to the oldest request: it must be of the kind that request asks. */
static int take_reply(struct calc *c, const char *line, size_t len)
{
    /* TODO: arg = split(line, len); the oldest request is o = &c->owed[c->head].
     *   - arg == NULL (not a frame) or c->count == 0 (nothing owed): complain,
     *     quoting the line ("%.60s"), return -1;
     *   - o is a PING and the line starts with "PONG:": print_pong(c, o, arg,
     *     its length);
     *   - o is a CALC and the line starts with "CALC:": print("", arg, ...);
     *   - o is a CALC and the line starts with "ERROR:": print("error: ", arg, ...);
     *   - anything else is a reply of the wrong kind: complain, return -1.
     * The length of the argument is len - (arg - line). When the reply was
     * printed (0), settle(c): that request has its answer. Return 0 or -1. */
    (void)c;
    (void)line;
    (void)len;
    (void)split;
    (void)print;
    (void)print_pong;
    (void)settle;
    not_implemented("take_reply");
}

/* Reads replies while some are owed and the reader holds their bytes: two
 * replies may come in one segment, and poll() will not wake us for the
 * second, which already sits in the reader's buffer. */
static int read_replies(struct calc *c)
{
    /* TODO: with char line[FRAME_MAX], do { ... } while (c->count > 0 &&
     * c->replies.used > 0):
     *   n = read_line(&c->replies, line), then
     *   - LINE_EOF: the server closed while we still need it (the loop of
     *     converse() runs only until the input has ended and nothing is owed):
     *     complain("%s port %s closed the connection with %zu replies owed",
     *     ...), return -1;
     *   - LINE_ERROR: complain("recv from %s port %s: %s", ...), return -1;
     *   - LINE_TOO_LONG: complain("%s port %s sent a reply longer than %d
     *     bytes", ...), return -1;
     *   - a line: take_reply(c, line, n); -1 from it: return -1.
     * Return 0. */
    (void)c;
    (void)take_reply;
    not_implemented("read_replies");
}

/* === The conversation === */

/* Typing is welcome while there is room for it: in input[] and in the queue. */
static int wants_input(const struct calc *c)
{
    return c->input_open && c->input_used < sizeof c->input && c->count < OWED_MAX;
}

/* Until the input has ended and every reply has come: the socket first, so a
 * server that has closed is noticed before more is typed. Returns the exit
 * status. */
static int converse(struct calc *c)
{
    /* TODO: while (c->input_open || c->input_used > 0 || c->count > 0):
     *   - struct pollfd fds[2]: {c->fd, POLLIN}, and {STDIN_FILENO, POLLIN}
     *     when wants_input(c), else -1 in its place (poll skips it);
     *   - held = c->count > 0 && c->replies.used > 0: bytes of a reply already
     *     wait in the reader, poll() would not wake us for them: poll with a
     *     timeout of 0 then, else -1 (no timeout);
     *   - poll(): -1 with EINTR: again; -1 otherwise: complain("poll: %s"), return 1;
     *   - fds[0].revents != 0 or held: read_replies(c) (-1: return 1);
     *   - fds[1].revents != 0: read_input(c) (-1: return 1);
     *   - then send_requests(c) (-1: return 1): the queue may have room again.
     * Return 0 at the end of the loop. */
    (void)c;
    (void)wants_input;
    (void)read_replies;
    (void)read_input;
    not_implemented("converse");
}

/* === Main === */

/* A bad command line is the user's mistake, not a failure: usage, exit 2. */
static void read_arguments(struct calc *c, int argc, char **argv)
{
    /* TODO: as in step 03: check_usage(argc == 3 && parse_port(argv[2]) > 0,
     * argv, "HOST PORT"), then keep argv[1] in c->host and argv[2] in c->port. */
    (void)c;
    (void)argc;
    (void)argv;
    not_implemented("read_arguments");
}

int main(int argc, char **argv)
{
    struct calc c = {.input_open = 1};
    int status;

    read_arguments(&c, argc, argv);
    c.fd = connect_to(c.host, c.port);
    if (c.fd < 0) return 1;
    line_reader_init(&c.replies, c.fd);
    status = converse(&c);
    close(c.fd);
    return status;
}
