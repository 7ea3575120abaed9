/*
step: 08-multi-server
bug: none
fails: none
*/
/*
 * multi-server.c -- WP/1 for many clients, written differently from the
 * reference: one thread per client (small stacks), blocking sockets. A
 * blocking send() to a client that does not read is the back-pressure: its
 * thread stops reading, and no other thread waits for it. The main thread
 * accepts, with ppoll() unblocking SIGINT/SIGTERM (blocked in every other
 * thread); out of descriptors, it stops accepting for 100 ms. On a signal it
 * closes every client's socket, under the lock the client threads take to
 * close their own, and exits 0. It must get full marks.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FRAME_MAX 512
#define STACK     (64 * 1024)
#define OUT_SIZE  8192

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int *open_fds; /* every client's descriptor, -1 in free slots */
static size_t open_room;
static volatile sig_atomic_t stop;

/* === The table of open client sockets === */

static int remember(int fd)
{
    pthread_mutex_lock(&lock);
    size_t i = 0;
    while (i < open_room && open_fds[i] >= 0) i++;
    if (i == open_room) {
        size_t room = open_room ? 2 * open_room : 256;
        int *bigger = realloc(open_fds, room * sizeof *bigger);
        if (bigger == NULL) {
            pthread_mutex_unlock(&lock);
            return -1;
        }
        for (size_t j = open_room; j < room; j++) bigger[j] = -1;
        open_fds = bigger;
        open_room = room;
    }
    open_fds[i] = fd;
    pthread_mutex_unlock(&lock);
    return 0;
}

static void forget_and_close(int fd)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < open_room; i++)
        if (open_fds[i] == fd) open_fds[i] = -1;
    close(fd);
    pthread_mutex_unlock(&lock);
}

/* === WP/1 === */

static int number(const char **p, const char *end, int64_t *v)
{
    __int128 m = 0;
    int neg = *p < end && **p == '-', big = 0;
    const char *d = (*p += neg);
    for (; *p < end && **p >= '0' && **p <= '9'; (*p)++) {
        m = m * 10 + (**p - '0');
        if (m > (__int128)INT64_MAX + 1) big = 1, m = (__int128)INT64_MAX + 2;
    }
    if (*p == d) return -1;
    m = neg ? -m : m;
    if (big || m > INT64_MAX || m < INT64_MIN) return 0;
    *v = (int64_t)m;
    return 1;
}

static int reply(const char *line, size_t len, char *out, int *bye)
{
    const char *colon = memchr(line, ':', len), *end = line + len, *p;
    size_t k = colon ? (size_t)(colon - line) : 0;
    int64_t a = 0, b = 0;
    *bye = 0;
    for (size_t i = 0; i < k; i++)
        if (line[i] < 'A' || line[i] > 'Z') k = 0;
    if (k < 1 || k > 10) return sprintf(out, "ERROR:SYNTAX\n");
    p = colon + 1;
    if (k == 4 && memcmp(line, "PING", 4) == 0) {
        memcpy(out, "PONG:", 5);
        memcpy(out + 5, p, (size_t)(end - p));
        out[5 + (end - p)] = '\n';
        return (int)(6 + (end - p));
    }
    if (k == 4 && memcmp(line, "QUIT", 4) == 0) return *bye = 1, sprintf(out, "BYE:\n");
    if (k != 4 || memcmp(line, "CALC", 4) != 0) return sprintf(out, "ERROR:UNKNOWN\n");
    int fa = number(&p, end, &a);
    if (fa < 0 || p == end || *p == 0 || strchr("+-*/%", *p) == NULL) return sprintf(out, "ERROR:SYNTAX\n");
    char op = *p++;
    int fb = number(&p, end, &b);
    if (fb < 0 || p != end) return sprintf(out, "ERROR:SYNTAX\n");
    if (!fa || !fb) return sprintf(out, "ERROR:OVERFLOW\n");
    if ((op == '/' || op == '%') && b == 0) return sprintf(out, "ERROR:DIVZERO\n");
    __int128 r;
    if (op == '+') r = (__int128)a + b;
    else if (op == '-') r = (__int128)a - b;
    else if (op == '*') r = (__int128)a * b;
    else if (op == '/') r = (__int128)a / b;
    else r = (__int128)a % b;
    if (r > INT64_MAX || r < INT64_MIN) return sprintf(out, "ERROR:OVERFLOW\n");
    return sprintf(out, "CALC:%" PRId64 "\n", (int64_t)r);
}

/* === One client, one thread === */

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

static void *client(void *arg)
{
    int fd = (int)(intptr_t)arg, bye = 0, skipping = 0;
    char in[FRAME_MAX], out[OUT_SIZE];
    size_t used = 0;

    while (!bye) {
        ssize_t n = recv(fd, in + used, FRAME_MAX - used, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        size_t len = 0, start = 0, end = used + (size_t)n;
        for (size_t i = used; i < end && !bye; i++) {
            if (in[i] != '\n') continue;
            size_t L = i - start;
            if (L && in[start + L - 1] == '\r') L--;
            if (!skipping) len += (size_t)reply(in + start, L, out + len, &bye);
            skipping = 0;
            start = i + 1;
            if (len > OUT_SIZE - 600 && send_all(fd, out, len) == 0) len = 0;
        }
        used = end - start;
        if (bye || skipping) used = 0;
        else if (used == FRAME_MAX) {
            len += (size_t)sprintf(out + len, "ERROR:TOOLONG\n");
            skipping = 1;
            used = 0;
        }
        memmove(in, in + start, used);
        if (len && send_all(fd, out, len) < 0) break;
    }
    forget_and_close(fd);
    return NULL;
}

/* === Accepting === */

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
        fprintf(stderr, "usage: multi-server PORT\n");
        return 2;
    }
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old); /* threads inherit it */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    addr.sin_port = htons((uint16_t)port);
    listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, SOMAXCONN) < 0) {
        fprintf(stderr, "multi-server: bind port %ld: %s\n", port, strerror(errno));
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
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            paused = errno == EMFILE || errno == ENFILE;
            continue;
        }
        pthread_t thread;
        if (remember(fd) < 0 || pthread_create(&thread, &attr, client, (void *)(intptr_t)fd) != 0) forget_and_close(fd);
    }
    pthread_mutex_lock(&lock); /* client threads wait here: their sockets are closed below */
    for (size_t i = 0; i < open_room; i++)
        if (open_fds[i] >= 0) close(open_fds[i]);
    free(open_fds);
    close(listener);
    exit(0);
}
