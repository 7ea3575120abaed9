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
 */
#define _POSIX_C_SOURCE 200809L

#include "frame.h"
#include "socklab.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
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

/* === The queue of what is owed === */

static struct owed *owe(struct calc *c, enum kind kind)
{
    struct owed *o = &c->owed[(c->head + c->count++) % OWED_MAX];

    o->kind = kind;
    return o;
}

static void settle(struct calc *c)
{
    c->head = (c->head + 1) % OWED_MAX;
    c->count--;
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
    char frame[sizeof "PING:\n" + TOKEN_SIZE];
    struct owed *o = owe(c, PING);

    snprintf(o->token, sizeof o->token, "%lu", ++c->pings);
    snprintf(frame, sizeof frame, "PING:%s\n", o->token);
    clock_gettime(CLOCK_MONOTONIC, &o->sent); /* not the wall clock: it may jump */
    return send_frame(c, frame, strlen(frame));
}

/* Sends one piece of typed text. A whole line is a request of its own; a line
 * longer than input[] goes out in pieces (the server answers ERROR:TOOLONG),
 * and only its first piece is a new request. */
static int send_text(struct calc *c, const char *text, size_t len, int whole)
{
    char frame[sizeof "CALC:\n" + FRAME_MAX];
    size_t n = 0;

    if (!c->in_long_line) {
        if (whole && len == 0) return 0; /* an empty line asks nothing */
        if (whole && len == 4 && memcmp(text, "ping", 4) == 0) return send_ping(c);
        owe(c, CALC);
        memcpy(frame, "CALC:", 5);
        n = 5;
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

static int print_pong(struct calc *c, const struct owed *o, const char *arg, size_t len)
{
    struct timespec now;
    double ms;

    if (len != strlen(o->token) || memcmp(arg, o->token, len) != 0) {
        complain("%s port %s answered PING:%s with another token", c->host, c->port, o->token);
        return -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms =
        (double)(now.tv_sec - o->sent.tv_sec) * 1e3 + (double)(now.tv_nsec - o->sent.tv_nsec) / 1e6;
    printf("pong %.3f ms\n", ms);
    if (fflush(stdout) == 0) return 0;
    complain("write to stdout: %s", strerror(errno));
    return -1;
}

/* A WP/1 frame is KEYWORD:ARGUMENT, the keyword 1 to 10 of A-Z. */
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
    const char *arg = split(line, len);
    size_t keyword = arg ? (size_t)(arg - line) : 0, rest = len - keyword;
    struct owed *o = &c->owed[c->head];
    int rc = -1;

    if (arg == NULL || c->count == 0) {
        complain("%s port %s sent %s: \"%.60s\"", c->host, c->port,
                 arg ? "a reply nobody asked for" : "something that is not a WP/1 frame", line);
    } else if (o->kind == PING && keyword == 5 && memcmp(line, "PONG:", 5) == 0) {
        rc = print_pong(c, o, arg, rest);
    } else if (o->kind == CALC && keyword == 5 && memcmp(line, "CALC:", 5) == 0) {
        rc = print("", arg, rest);
    } else if (o->kind == CALC && keyword == 6 && memcmp(line, "ERROR:", 6) == 0) {
        rc = print("error: ", arg, rest);
    } else {
        complain("%s port %s answered a %s with \"%.60s\"", c->host, c->port,
                 o->kind == PING ? "PING" : "CALC", line);
    }
    if (rc == 0) settle(c);
    return rc;
}

/* Reads replies while some are owed and the reader holds their bytes: two
 * replies may come in one segment, and poll() will not wake us for the
 * second, which already sits in the reader's buffer.
 *
 * read_line() blocks until a line is whole, so a reply that comes in pieces
 * keeps us here until its '\n'. That is fine: it is the reply owed first, so
 * nothing typed meanwhile could be answered sooner, and the typed lines wait
 * in stdin's pipe; a server that closes or floods us still ends the wait. */
static int read_replies(struct calc *c)
{
    char line[FRAME_MAX];

    do {
        ssize_t n = read_line(&c->replies, line);

        if (n == LINE_EOF) {
            complain("%s port %s closed the connection with %zu replies owed%s", c->host, c->port,
                     c->count, c->input_open ? ", before the end of input" : "");
            return -1;
        }
        if (n == LINE_ERROR) {
            complain("recv from %s port %s: %s", c->host, c->port, strerror(errno));
            return -1;
        }
        if (n == LINE_TOO_LONG) {
            complain("%s port %s sent a reply longer than %d bytes", c->host, c->port, FRAME_MAX);
            return -1;
        }
        if (take_reply(c, line, (size_t)n) < 0) return -1;
    } while (c->count > 0 && c->replies.used > 0);
    return 0;
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
    while (c->input_open || c->input_used > 0 || c->count > 0) {
        struct pollfd fds[2] = {
            {.fd = c->fd, .events = POLLIN},
            {.fd = wants_input(c) ? STDIN_FILENO : -1, .events = POLLIN},
        };
        int held = c->count > 0 && c->replies.used > 0; /* came before its request left */

        if (poll(fds, 2, held ? 0 : -1) < 0) {
            if (errno == EINTR) continue;
            complain("poll: %s", strerror(errno));
            return 1;
        }
        if ((fds[0].revents != 0 || held) && read_replies(c) < 0) return 1;
        if (fds[1].revents != 0 && read_input(c) < 0) return 1;
        if (send_requests(c) < 0) return 1; /* the queue may have room again */
    }
    return 0;
}

/* === Main === */

int main(int argc, char **argv)
{
    struct calc c = {.input_open = 1};
    int status;

    check_usage(argc == 3 && parse_port(argv[2]) > 0, argv, "HOST PORT");
    c.host = argv[1];
    c.port = argv[2];
    c.fd = connect_to(c.host, c.port);
    if (c.fd < 0) return 1;
    line_reader_init(&c.replies, c.fd);
    status = converse(&c);
    close(c.fd);
    return status;
}
