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
    if (unsent(c) == 0) return 0;
    ssize_t n = send(c->fd, c->out + c->out_sent, unsent(c), MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    c->out_sent += (size_t)n;
    if (unsent(c) == 0) c->out_sent = c->out_len = 0;
    return 0;
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
    char *start = c->in, *end = c->in + c->in_used, *nl;

    while (!c->closing && (nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
        if (!c->skipping && answer_line(c, start, (size_t)(nl - start)) < 0) return -1;
        c->skipping = 0;
        start = nl + 1;
    }
    size_t left = (size_t)(end - start);
    if (c->closing || c->skipping) {
        left = 0;
    } else if (left == FRAME_MAX) {
        if (reserve(c, sizeof TOOLONG) < 0) return -1;
        memcpy(c->out + c->out_len, TOOLONG, sizeof TOOLONG - 1);
        c->out_len += sizeof TOOLONG - 1;
        c->skipping = 1;
        left = 0;
    }
    memmove(c->in, end - left, left);
    c->in_used = left;
    return 0;
}

/* One recv() of what has arrived, and the answers to it. End of input: the
 * frames before it are answered already, an unterminated tail is dropped. */
static int receive(struct client *c)
{
    ssize_t n = recv(c->fd, c->in + c->in_used, FRAME_MAX - c->in_used, 0);

    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    if (n == 0) {
        c->closing = 1;
        return 0;
    }
    c->in_used += (size_t)n;
    return answer_frames(c);
}

/* What poll() should wait for: input unless closing or held back by
 * unsent replies (back-pressure), output while replies wait. */
static short interest(const struct client *c)
{
    short events = unsent(c) > 0 ? POLLOUT : 0;

    if (!c->closing && unsent(c) <= OUT_LIMIT) events |= POLLIN;
    return events;
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
    for (int i = 0; i < ACCEPT_BURST; i++) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd >= 0) {
            welcome(fd);
        } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            S.polled[0].events = 0;
            return;
        } else if (errno != EINTR && errno != ECONNABORTED) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) complain("accept: %s", strerror(errno));
            return;
        }
    }
}

/* === Main loop === */

/* Client i is ready: read, answer, send; close it once it is done. */
static void serve(size_t i)
{
    struct client *c = &S.clients[i];
    short ready = S.polled[i].revents;
    int gone = (ready & POLLERR) != 0;

    if (!gone && (ready & (POLLIN | POLLHUP)) && (S.polled[i].events & POLLIN))
        gone = receive(c) < 0;
    if (!gone) gone = flush(c) < 0;
    if (gone || (c->closing && unsent(c) == 0))
        drop(i);
    else
        S.polled[i].events = interest(c);
}

static void on_signal(int sig)
{
    (void)sig;
    S.stop = 1;
}

/* SIGINT and SIGTERM set S.stop; blocked, but for *unblocked (ppoll's mask). */
static void catch_signals(sigset_t *unblocked)
{
    struct sigaction action = {.sa_handler = on_signal};
    sigset_t blocked;

    sigemptyset(&blocked);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGTERM);
    sigprocmask(SIG_BLOCK, &blocked, unblocked);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

int main(int argc, char **argv)
{
    int port = -1, listener, status = 0;
    sigset_t unblocked;

    check_usage(argc == 2 && (port = parse_port(argv[1])) > 0, argv, "PORT");
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
