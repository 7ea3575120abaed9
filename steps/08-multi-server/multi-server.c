/*
 * multi-server.c -- socklab step 08: WP/1 for many clients at once.
 *
 *     usage: multi-server PORT
 *
 * The same protocol as step 06 (calc.c answers each frame), but no client
 * waits for another: one process, one thread, one poll() loop. poll() sleeps
 * until some socket can be read or written; then each ready client gets one
 * recv(), the answers to every complete frame in it, and one send(). No call
 * ever blocks, so a client that stalls mid-frame or never reads its replies
 * costs the others nothing.
 *
 * Each client owns two buffers. Its input holds at most one frame (FRAME_MAX
 * bytes): the start of a line whose '\n' has not come yet. Its output holds
 * the replies the kernel has not taken yet; past OUT_LIMIT the server stops
 * reading that client until they drain (back-pressure), so a client that
 * sends and never reads cannot make the server's memory grow.
 *
 * SIGINT and SIGTERM are blocked except inside ppoll(), which unblocks them
 * only while it sleeps: a signal can only interrupt the sleep, never slip in
 * between checking the flag and going to sleep. Then every connection is
 * closed and the server exits 0.
 *
 * This is the starter: the shape is here, the work is in the TODO blocks.
 * README.md says exactly what the program must do.
 */
#define _GNU_SOURCE /* ppoll() and accept4(): Linux */

#include "calc.h"
#include "frame.h" /* FRAME_MAX */
#include "socklab.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOOLONG      "ERROR:TOOLONG\n"
#define OUT_LIMIT    ((size_t)64 * 1024) /* unsent replies past this: stop reading */
#define OUT_FIRST    4096                /* first size of an output buffer */
#define ACCEPT_BURST 256                 /* clients accepted per wakeup, at most */

/* Each TODO stops the program here until it is done. Once nothing calls this
 * function any more, delete it. */
static _Noreturn void not_implemented(const char *where)
{
    complain("not implemented yet: see README.md (TODO in %s)", where);
    exit(1);
}

/* === State === */

struct client {
    int fd;
    int closing;  /* QUIT answered or end of input: read no more, close once sent */
    int skipping; /* inside a line too long: drop bytes through its '\n' */
    size_t in_used;
    char in[FRAME_MAX]; /* the start of a frame whose '\n' has not come yet */
    char *out;          /* replies not sent yet: out[out_sent .. out_len) */
    size_t out_sent, out_len, out_cap;
};

/* polled[i] is what poll() watches for clients[i]; slot 0 is the listener
 * (clients[0] is unused). */
static struct {
    struct pollfd *polled;
    struct client *clients;
    size_t count, room;
    volatile sig_atomic_t stop;
} S;

/* === Output: queue, then one send() === */

static size_t unsent(const struct client *c)
{
    return c->out_len - c->out_sent;
}

/* Room for len more bytes at the end of c->out: the sent bytes are dropped
 * first, then the buffer doubles. -1 when memory runs out. */
static int reserve(struct client *c, size_t len)
{
    if (c->out_len + len <= c->out_cap) return 0;
    if (c->out_sent > 0) {
        memmove(c->out, c->out + c->out_sent, unsent(c));
        c->out_len -= c->out_sent;
        c->out_sent = 0;
    }
    size_t cap = c->out_cap ? c->out_cap : OUT_FIRST;
    while (cap < c->out_len + len) cap *= 2;
    if (cap == c->out_cap) return 0;
    char *bigger = realloc(c->out, cap);
    if (bigger == NULL) return -1;
    c->out = bigger;
    c->out_cap = cap;
    return 0;
}

/* One send() of everything queued; what the kernel does not take now waits
 * for POLLOUT. -1 when the client is gone (EPIPE, ECONNRESET). */
static int flush(struct client *c)
{
    /* TODO 5: nothing unsent: return 0. Else one send() of the unsent bytes,
     * out + out_sent, with MSG_NOSIGNAL. It may take only part of them:
     * advance out_sent by what it took; all sent: out_sent = out_len = 0.
     * EAGAIN (EWOULDBLOCK) or EINTR: the kernel's buffer is full, not an
     * error, return 0 (POLLOUT will say when to try again). Any other error:
     * the client is gone, return -1. */
    (void)c;
    not_implemented("flush");
}

/* === Input: frames out of a stream === */

/* Appends the reply to one line (its '\n' cut off) to the output. */
static int answer_line(struct client *c, const char *line, size_t len)
{
    int bye;

    if (len > 0 && line[len - 1] == '\r') len--; /* the '\r' of "\r\n" */
    if (reserve(c, REPLY_MAX) < 0) return -1;
    c->out_len += answer(line, len, c->out + c->out_len, &bye);
    c->closing |= bye; /* after QUIT, nothing more is read */
    return 0;
}

/* Answers every complete frame held; keeps the start of the next one. A
 * FRAME_MAX bytes held with no '\n' are a line too long: ERROR:TOOLONG once,
 * then everything through the next '\n' is dropped. */
static int answer_frames(struct client *c)
{
    /* TODO 4: for each '\n' in c->in[0 .. in_used) (memchr), from the
     * start: the bytes before it are a frame; answer_line() it, unless
     * c->skipping (then they end the line too long: skipping = 0). Stop
     * early once c->closing is set (QUIT: what follows is never answered).
     * What is left after the last '\n' is the start of the next frame:
     *   - closing or skipping: drop it all;
     *   - FRAME_MAX bytes with no '\n': append TOOLONG to the output
     *     (reserve() first), set skipping, drop them;
     *   - else move it to the front of c->in (memmove) for the next recv().
     * Set in_used to what is kept. -1 if reserve() or answer_line() fails. */
    (void)c;
    (void)answer_line;
    not_implemented("answer_frames");
}

/* One recv() of what has arrived, and the answers to it. End of input: the
 * frames before it are answered already, an unterminated tail is dropped. */
static int receive(struct client *c)
{
    /* TODO 3: one recv() into the free end of the input, c->in + in_used,
     * at most FRAME_MAX - in_used bytes (never more: the buffer is bounded).
     *   - n > 0: in_used += n, then return answer_frames(c);
     *   - 0: end of input: set c->closing (the replies owed still go out);
     *   - -1 with EAGAIN, EWOULDBLOCK or EINTR: nothing to read after all, 0;
     *   - -1 otherwise (ECONNRESET): return -1, the client is gone. */
    (void)c;
    (void)answer_frames;
    not_implemented("receive");
}

/* What poll() should wait for: input unless closing or held back by
 * unsent replies (back-pressure), output while replies wait. */
static short interest(const struct client *c)
{
    /* TODO 6: POLLOUT while replies are unsent; POLLIN unless the client is
     * closing or more than OUT_LIMIT bytes are unsent (back-pressure: the
     * client must read its replies before it is heard again). */
    (void)c;
    not_implemented("interest");
}

/* === The client table === */

static int add(int fd)
{
    if (S.count == S.room) {
        size_t room = S.room ? 2 * S.room : 64;
        struct pollfd *polled = realloc(S.polled, room * sizeof *polled);
        if (polled != NULL) S.polled = polled;
        struct client *clients = realloc(S.clients, room * sizeof *clients);
        if (clients != NULL) S.clients = clients;
        if (polled == NULL || clients == NULL) return -1;
        S.room = room;
    }
    S.polled[S.count] = (struct pollfd){.fd = fd, .events = POLLIN};
    S.clients[S.count++] = (struct client){.fd = fd};
    return 0;
}

/* Closes client i; the last one takes its slot (the loop runs downwards, so
 * the one moved has been served already). */
static void drop(size_t i)
{
    struct client *c = &S.clients[i];

    if (close(c->fd) < 0) complain("close: %s", strerror(errno));
    free(c->out);
    S.count--;
    S.polled[i] = S.polled[S.count];
    S.clients[i] = S.clients[S.count];
}

/* A new client: non-blocking (accept4 does it), Nagle off (replies go out
 * as they are ready; one send() per wakeup already batches them). */
static void welcome(int fd)
{
    int on = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on); /* a nicety: may fail */
    if (add(fd) < 0) {
        complain("out of memory: client turned away");
        close(fd);
    }
}

/* Every client waiting in the backlog, up to a burst. Out of descriptors
 * (EMFILE), the listener stays readable and poll() would return at once,
 * forever: stop watching it until the next wakeup, which comes when a client
 * acts or leaves, or after a second. */
static void accept_clients(int listener)
{
    /* TODO 2: up to ACCEPT_BURST times: accept4(listener, NULL, NULL,
     * SOCK_NONBLOCK | SOCK_CLOEXEC); a descriptor goes to welcome(fd).
     *   - EMFILE, ENFILE, ENOBUFS, ENOMEM: out of descriptors or memory:
     *     stop watching the listener (S.polled[0].events = 0) and return;
     *   - EINTR, ECONNABORTED (a client that gave up): go on;
     *   - EAGAIN or EWOULDBLOCK: nobody else waits, return;
     *   - anything else: complain("accept: %s", ...) and return. */
    (void)listener;
    (void)welcome;
    not_implemented("accept_clients");
}

/* === Main loop === */

/* Client i is ready: read, answer, send; close it once it is done. */
static void serve(size_t i)
{
    /* TODO 7: S.polled[i].revents says what is ready for &S.clients[i]:
     *   - POLLERR: the client is gone;
     *   - POLLIN or POLLHUP, and POLLIN was asked for: receive();
     *   - then flush() (replies queued just now, or room after POLLOUT).
     * Gone (an error), or closing with nothing unsent: drop(i). Else set
     * S.polled[i].events = interest(c) for the next poll(). */
    (void)i;
    (void)drop;
    (void)interest;
    (void)receive;
    (void)flush;
    not_implemented("serve");
}

static void on_signal(int sig)
{
    (void)sig;
    S.stop = 1;
}

/* SIGINT and SIGTERM set S.stop; blocked, but for *unblocked (ppoll's mask). */
static void catch_signals(sigset_t *unblocked)
{
    /* TODO 8: block SIGINT and SIGTERM with sigprocmask(SIG_BLOCK, ...),
     * keeping the old mask in *unblocked (ppoll() sleeps with that one, so
     * the signals arrive only while it sleeps); then sigaction() both to
     * on_signal. */
    (void)unblocked;
    (void)on_signal;
    not_implemented("catch_signals");
}

int main(int argc, char **argv)
{
    int port = -1, listener, status = 0;
    sigset_t unblocked;

    /* TODO 1: the command line, as in step 06: check_usage() with
     * argc == 2 and parse_port(argv[1]) > 0 (socklab.h), the port in port. */
    (void)argc;
    (void)argv;
    not_implemented("main");

    catch_signals(&unblocked);
    if ((listener = listen_on(port)) < 0) return 1;
    if (fcntl(listener, F_SETFL, O_NONBLOCK) < 0 || add(listener) < 0) {
        complain("listener on port %d: %s", port, strerror(errno));
        return 1;
    }
    while (!S.stop) {
        struct timespec second = {.tv_sec = 1};
        int paused = S.polled[0].events == 0;

        if (ppoll(S.polled, S.count, paused ? &second : NULL, &unblocked) < 0) {
            if (errno == EINTR) continue; /* a signal: S.stop says which */
            complain("poll: %s", strerror(errno));
            status = 1;
            break;
        }
        for (size_t i = S.count - 1; i > 0; i--)
            if (S.polled[i].revents) serve(i);
        if (S.polled[0].revents & POLLIN) accept_clients(listener);
        if (paused) S.polled[0].events = POLLIN; /* try accept() again */
    }
    while (S.count > 1) drop(S.count - 1);
    close(listener);
    free(S.polled);
    free(S.clients);
    return status;
}
