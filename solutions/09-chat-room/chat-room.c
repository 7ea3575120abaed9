/*
 * chat-room.c -- socklab step 09: a chat room for many clients at once.
 *
 *     usage: chat-room PORT
 *
 * The loop is step 08's: one process, one ppoll(), non-blocking sockets, an
 * input buffer of one frame and an output queue per client. What changes is
 * that a frame from one client may queue bytes for every other (room.c says
 * which); so a client's output no longer grows only with what it asks.
 *
 * Two limits keep memory bounded. A client whose own queue holds more than
 * READ_LIMIT is not read until it drains (a client that asks and never reads
 * slows only itself). A client whose queue passes OUT_LIMIT -- it does not
 * read what the room sends it -- is disconnected: the room never waits for
 * one client, and the others get LEAVE.
 *
 * Clients are dropped in one place, tidy(), after the ready ones are served:
 * a drop sends LEAVE to the others, which may push another slow reader past
 * the limit; tidy() goes round until nobody is left to drop.
 */
#define _GNU_SOURCE /* ppoll() and accept4(): Linux */

#include "frame.h" /* FRAME_MAX */
#include "room.h"
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
#define OUT_LIMIT    ((size_t)64 * 1024) /* unsent output past this: disconnect */
#define READ_LIMIT   (OUT_LIMIT / 2)     /* unsent output past this: stop reading */
#define OUT_FIRST    4096                /* first size of an output buffer */
#define ACCEPT_BURST 256                 /* clients accepted per wakeup, at most */

/* === State === */

struct client {
    struct chatter chat; /* first: room.c's pointer is the client's */
    int fd;
    int closing;  /* QUIT or end of input: read no more, close once sent */
    int dead;     /* gone or too slow: tidy() closes it */
    int skipping; /* inside a line too long: drop bytes through its '\n' */
    size_t in_used;
    char in[FRAME_MAX]; /* the start of a frame whose '\n' has not come yet */
    char *out;          /* output not sent yet: out[out_sent .. out_len) */
    size_t out_sent, out_len, out_cap;
};

/* polled[0] is the listener; polled[1 + i] is what poll() watches for
 * clients[i]. Clients live apart: room.c points to them, so they must not
 * move when the table grows. */
static struct {
    struct pollfd *polled;
    struct client **clients;
    size_t count, room;
    struct room chat;
    volatile sig_atomic_t stop;
} S;

/* === Output: queue, then send() === */

static size_t unsent(const struct client *c)
{
    return c->out_len - c->out_sent;
}

static void kill_client(struct client *c)
{
    c->dead = 1;
}

/* One send() of everything queued; what the kernel does not take now waits
 * for POLLOUT. A client that is gone (EPIPE, ECONNRESET) is marked dead. */
static void flush(struct client *c)
{
    if (c->dead || unsent(c) == 0) return;
    ssize_t n = send(c->fd, c->out + c->out_sent, unsent(c), MSG_NOSIGNAL);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) kill_client(c);
        return;
    }
    c->out_sent += (size_t)n;
    if (unsent(c) == 0) c->out_sent = c->out_len = 0;
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

/* room.c's way out. Past OUT_LIMIT the kernel gets one more chance to take
 * some; a client still past it does not read: it is dropped, not waited for. */
void chat_send(struct chatter *to, const char *bytes, size_t len)
{
    struct client *c = (struct client *)to;

    if (c->dead) return;
    if (unsent(c) + len > OUT_LIMIT) flush(c);
    if (unsent(c) + len > OUT_LIMIT || reserve(c, len) < 0) {
        kill_client(c);
        return;
    }
    memcpy(c->out + c->out_len, bytes, len);
    c->out_len += len;
}

/* === Input: frames out of a stream === */

static void answer_line(struct client *c, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r') len--; /* the '\r' of "\r\n" */
    if (chat_frame(&S.chat, &c->chat, line, len) < 0) kill_client(c);
    c->closing |= c->chat.quit; /* after QUIT, nothing more is read */
}

/* Answers every complete frame held; keeps the start of the next one. A
 * FRAME_MAX bytes held with no '\n' are a line too long: ERROR:TOOLONG once,
 * then everything through the next '\n' is dropped. */
static void answer_frames(struct client *c)
{
    char *start = c->in, *end = c->in + c->in_used, *nl;

    while (!c->closing && !c->dead && (nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
        if (!c->skipping) answer_line(c, start, (size_t)(nl - start));
        c->skipping = 0;
        start = nl + 1;
    }
    size_t left = (size_t)(end - start);
    if (c->closing || c->skipping) {
        left = 0;
    } else if (left == FRAME_MAX) {
        chat_send(&c->chat, TOOLONG, sizeof TOOLONG - 1);
        c->skipping = 1;
        left = 0;
    }
    memmove(c->in, end - left, left);
    c->in_used = left;
}

/* One recv() of what has arrived, and the answers to it. End of input: the
 * frames before it are answered, the client leaves the room at once (its
 * replies still go out), an unterminated tail is dropped. */
static void receive(struct client *c)
{
    ssize_t n = recv(c->fd, c->in + c->in_used, FRAME_MAX - c->in_used, 0);

    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) kill_client(c);
    } else if (n == 0) {
        c->closing = 1;
        chat_leave(&S.chat, &c->chat);
    } else {
        c->in_used += (size_t)n;
        answer_frames(c);
    }
}

/* What poll() should wait for: input unless closing or held back by its own
 * unsent output (back-pressure), output while some waits. */
static short interest(const struct client *c)
{
    short events = unsent(c) > 0 ? POLLOUT : 0;

    if (!c->closing && unsent(c) <= READ_LIMIT) events |= POLLIN;
    return events;
}

/* === The client table === */

static struct pollfd *watch(size_t i)
{
    return &S.polled[1 + i];
}

/* Room for one more client (and the listener's slot). -1: out of memory. */
static int grow(void)
{
    if (S.count < S.room) return 0;
    size_t room = S.room ? 2 * S.room : 64;
    struct pollfd *polled = realloc(S.polled, (1 + room) * sizeof *polled);
    if (polled != NULL) S.polled = polled;
    struct client **clients = realloc(
        S.clients, room * sizeof *clients); /* NOLINT(bugprone-sizeof-expression): pointers */
    if (clients != NULL) S.clients = clients;
    if (polled == NULL || clients == NULL) return -1;
    S.room = room;
    return 0;
}

static int add(int fd, struct client *c)
{
    if (grow() < 0) return -1;
    *watch(S.count) = (struct pollfd){.fd = fd, .events = POLLIN};
    S.clients[S.count++] = c;
    return 0;
}

/* Closes client i, after telling the room; the last one takes its slot. */
static void drop(size_t i)
{
    struct client *c = S.clients[i];

    chat_leave(&S.chat, &c->chat);
    if (close(c->fd) < 0) complain("close: %s", strerror(errno));
    free(c->out);
    free(c);
    S.count--;
    *watch(i) = *watch(S.count);
    S.clients[i] = S.clients[S.count];
}

/* A new client: non-blocking (accept4 does it), Nagle off (output goes out
 * as it is ready; one send() per wakeup already batches it). */
static void welcome(int fd)
{
    int on = 1;
    struct client *c = calloc(1, sizeof *c);

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on); /* a nicety: may fail */
    if (c == NULL || add(fd, c) < 0) {
        complain("out of memory: client turned away");
        free(c);
        close(fd);
        return;
    }
    c->fd = fd;
}

/* Every client waiting in the backlog, up to a burst. Out of descriptors
 * (EMFILE), the listener stays readable and poll() would return at once,
 * forever: stop watching it until the next wakeup (a second at most). */
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

/* Client i is ready: read and answer, or send what waits. */
static void serve(size_t i)
{
    struct client *c = S.clients[i];
    short ready = watch(i)->revents;

    if (ready & POLLERR) kill_client(c);
    if (!c->dead && (ready & (POLLIN | POLLHUP)) && (watch(i)->events & POLLIN)) receive(c);
    if (ready & POLLOUT) flush(c);
}

/* After a round: output that is new goes out now (one send() each), the
 * clients that are done are closed, and poll() is told what to watch. A drop
 * queues LEAVE for clients already looked at (and may kill one whose queue it
 * overflows): another pass then, or that LEAVE would wait for their next
 * wakeup, which may never come. */
static void tidy(void)
{
    int dropped;

    do {
        dropped = 0;
        for (size_t i = S.count; i-- > 0;) {
            struct client *c = S.clients[i];
            if (!(watch(i)->events & POLLOUT)) flush(c);
            if (c->dead || (c->closing && unsent(c) == 0)) {
                drop(i);
                dropped = 1;
            } else {
                watch(i)->events = interest(c);
            }
        }
    } while (dropped);
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
    if (fcntl(listener, F_SETFL, O_NONBLOCK) < 0 || grow() < 0) {
        complain("listener on port %d: %s", port, strerror(errno));
        return 1;
    }
    S.polled[0] = (struct pollfd){.fd = listener, .events = POLLIN};
    while (!S.stop) {
        struct timespec second = {.tv_sec = 1};
        int paused = S.polled[0].events == 0;

        if (ppoll(S.polled, 1 + S.count, paused ? &second : NULL, &unblocked) < 0) {
            if (errno == EINTR) continue; /* a signal: S.stop says which */
            complain("poll: %s", strerror(errno));
            status = 1;
            break;
        }
        for (size_t i = S.count; i-- > 0;)
            if (watch(i)->revents) serve(i);
        tidy();
        if (S.polled[0].revents & POLLIN) accept_clients(listener);
        if (paused) S.polled[0].events = POLLIN; /* try accept() again */
    }
    while (S.count > 0) drop(S.count - 1);
    close(listener);
    room_free(&S.chat);
    free(S.polled);
    free(S.clients);
    return status;
}
