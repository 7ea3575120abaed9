/*
step: 08-multi-server
bug: each client's replies wait in a fixed ring of 64 KiB + 1 KiB, sized as if one read (512 bytes) brought one frame; once 64 KiB wait for a slow reader, a read of short frames ("\n" gets the 13 bytes of ERROR:SYNTAX) writes past the room left and overwrites the oldest unsent replies
fails: answers random sessions of several clients at once as the WP/1 model does: interleaved, slow readers, resets
cause: check the queue's room, and how it wraps or moves
*/
/*
 * multi-server.c -- a standalone WP/1 multi-server (one file: its own
 * framing, answers and socket code, one poll() loop), the base of the
 * 08-multi-server test programs. Each test program is this file with one
 * known bug put in; this one's is in the header above, and marked BUG in
 * the code.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define FRAME_MAX 512
#define OUT_LIMIT (64 * 1024)
#define RING      (OUT_LIMIT + 2 * FRAME_MAX) /* what may wait, and the replies to one more read */

struct client {
    int fd, closing, skipping;
    size_t used;
    char in[FRAME_MAX];
    char *out;           /* a ring of RING bytes (on first use): unsent replies from out[head] on */
    size_t head, unsent; /* empty: unsent == 0 */
};

static struct pollfd *fds;
static struct client **cls;
static size_t count, room;
static volatile sig_atomic_t stop;

/* === Answers === */

static int operand(const char **p, const char *end, int64_t *v)
{
    int neg = *p < end && **p == '-', fits = 1;
    uint64_t m = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    const char *d;
    *p += neg;
    for (d = *p; *p < end && **p >= '0' && **p <= '9'; (*p)++) {
        unsigned digit = (unsigned)(**p - '0');
        if (m > (lim - digit) / 10) fits = 0;
        else m = m * 10 + digit;
    }
    if (*p == d) return -1;
    if (fits) *v = neg ? (m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m) : (int64_t)m;
    return fits;
}

static const char *calc(const char *p, const char *end, int64_t *r)
{
    int64_t a = 0, b = 0;
    int fa = operand(&p, end, &a), fb;
    char op;
    if (fa < 0 || p == end || !strchr("+-*/%", *p) || *p == 0) return "SYNTAX";
    op = *p++;
    fb = operand(&p, end, &b);
    if (fb < 0 || p != end) return "SYNTAX";
    if (!fa || !fb) return "OVERFLOW";
    if ((op == '/' || op == '%') && b == 0) return "DIVZERO";
    if ((op == '/' || op == '%') && a == INT64_MIN && b == -1) {
        *r = 0;
        return op == '%' ? NULL : "OVERFLOW";
    }
    if (op == '+') return __builtin_add_overflow(a, b, r) ? "OVERFLOW" : NULL;
    if (op == '-') return __builtin_sub_overflow(a, b, r) ? "OVERFLOW" : NULL;
    if (op == '*') return __builtin_mul_overflow(a, b, r) ? "OVERFLOW" : NULL;
    *r = op == '/' ? a / b : a % b;
    return NULL;
}

/* The reply to one line (no '\n', no '\r' ending) into out (room for 600). */
static size_t answer(const char *line, size_t len, char *out, int *bye)
{
    const char *colon = memchr(line, ':', len), *arg, *end = line + len, *err;
    size_t k = colon ? (size_t)(colon - line) : 0;
    int64_t r;
    *bye = 0;
    for (size_t i = 0; i < k; i++)
        if (line[i] < 'A' || line[i] > 'Z') k = 0;
    if (k == 0 || k > 10) return (size_t)sprintf(out, "ERROR:SYNTAX\n");
    arg = colon + 1;
    if (k == 4 && !memcmp(line, "PING", 4)) {
        memcpy(out, "PONG:", 5);
        memcpy(out + 5, arg, (size_t)(end - arg));
        out[5 + (end - arg)] = '\n';
        return 6 + (size_t)(end - arg);
    }
    if (k == 4 && !memcmp(line, "QUIT", 4)) {
        *bye = 1;
        return (size_t)sprintf(out, "BYE:\n");
    }
    if (k != 4 || memcmp(line, "CALC", 4)) return (size_t)sprintf(out, "ERROR:UNKNOWN\n");
    if ((err = calc(arg, end, &r)) != NULL) return (size_t)sprintf(out, "ERROR:%s\n", err);
    return (size_t)sprintf(out, "CALC:%" PRId64 "\n", r);
}

/* === Buffers === */

/* Appends n bytes of replies to the ring, wrapping at its end. */
static int queue(struct client *c, const char *p, size_t n)
{
    if (!c->out && !(c->out = malloc(RING))) return -1;
    /* BUG: no room check: the ring is sized as if one read brought one frame, but
     * 512 bytes of short frames ("\n", "A:") bring 13 bytes of reply each */
    size_t tail = (c->head + c->unsent) % RING, first = n < RING - tail ? n : RING - tail;
    memcpy(c->out + tail, p, first);
    memcpy(c->out, p + first, n - first);
    c->unsent += n;
    return 0;
}

static int take(struct client *c)
{
    char *start = c->in, *end = c->in + c->used, *nl;
    int bye;
    while (!c->closing && (nl = memchr(start, '\n', (size_t)(end - start)))) {
        size_t n = (size_t)(nl - start);
        if (n && start[n - 1] == '\r') n--;
        if (!c->skipping) {
            char reply[600];
            if (queue(c, reply, answer(start, n, reply, &bye)) < 0) return -1;
            c->closing |= bye;
        }
        c->skipping = 0;
        start = nl + 1;
    }
    size_t left = (size_t)(end - start);
    if (c->closing || c->skipping) left = 0;
    else if (left == FRAME_MAX) {
        if (queue(c, "ERROR:TOOLONG\n", 14) < 0) return -1;
        c->skipping = 1;
        left = 0;
    }
    memmove(c->in, end - left, left);
    c->used = left;
    return 0;
}

/* One send() of the unsent replies up to the end of the ring (the rest after it wraps). */
static int flush(struct client *c)
{
    if (c->unsent == 0) return 0;
    size_t chunk = c->unsent < RING - c->head ? c->unsent : RING - c->head;
    ssize_t n = send(c->fd, c->out + c->head, chunk, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
    c->head = (c->head + (size_t)n) % RING;
    c->unsent -= (size_t)n;
    return 0;
}

/* === Clients === */

static int add(int fd, struct client *c)
{
    if (count == room) {
        room = room ? 2 * room : 64;
        fds = realloc(fds, room * sizeof *fds);
        cls = realloc(cls, room * sizeof *cls);
        if (!fds || !cls) return -1;
    }
    fds[count] = (struct pollfd){.fd = fd, .events = POLLIN};
    cls[count++] = c;
    return 0;
}

static void drop(size_t i)
{
    close(cls[i]->fd);
    free(cls[i]->out);
    free(cls[i]);
    fds[i] = fds[--count];
    cls[i] = cls[count];
}

static void accept_all(int listener)
{
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
            fds[0].events = 0;
            return;
        }
        if (fd < 0 && (errno == EINTR || errno == ECONNABORTED)) continue;
        if (fd < 0) return;
        struct client *c = calloc(1, sizeof *c);
        if (!c || add(fd, c) < 0) {
            free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
    }
}

static void serve(size_t i)
{
    struct client *c = cls[i];
    short ready = fds[i].revents;
    int gone = (ready & POLLERR) != 0;
    if (!gone && (ready & (POLLIN | POLLHUP)) && (fds[i].events & POLLIN)) {
        ssize_t n = recv(c->fd, c->in + c->used, FRAME_MAX - c->used, 0);
        if (n == 0) c->closing = 1;
        else if (n < 0) gone = errno != EAGAIN && errno != EINTR;
        else {
            c->used += (size_t)n;
            gone = take(c) < 0;
        }
    }
    if (!gone) gone = flush(c) < 0;
    if (gone || (c->closing && c->unsent == 0)) {
        drop(i);
        return;
    }
    fds[i].events = c->unsent ? POLLOUT : 0;
    if (!c->closing && c->unsent <= OUT_LIMIT) fds[i].events |= POLLIN;
}

/* === Main === */

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int listen_on(const char *arg)
{
    char *end;
    long port = strtol(arg, &end, 10);
    int on = 1, fd;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (arg[0] < '0' || arg[0] > '9' || *end || port < 1 || port > 65535) {
        fprintf(stderr, "usage: multi-server PORT\n");
        exit(2);
    }
    a.sin_port = htons((uint16_t)port);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, SOMAXCONN) < 0) {
        fprintf(stderr, "multi-server: bind port %ld: %s\n", port, strerror(errno));
        exit(1);
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigset_t block, old;
    int listener;

    if (argc != 2) {
        fprintf(stderr, "usage: multi-server PORT\n");
        return 2;
    }
    listener = listen_on(argv[1]);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    add(listener, NULL);
    while (!stop) {
        struct timespec second = {1, 0};
        int paused = fds[0].events == 0;
        if (ppoll(fds, count, &second, &old) < 0) continue;
        for (size_t i = count - 1; i > 0; i--)
            if (fds[i].revents) serve(i);
        if (fds[0].revents & POLLIN) accept_all(listener);
        if (paused) fds[0].events = POLLIN;
    }
    while (count > 1) drop(count - 1);
    close(listener);
    free(fds);
    free(cls);
    return 0;
}
