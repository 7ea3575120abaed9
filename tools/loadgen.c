/*
 * loadgen.c -- socklab's load generator: many connections, pipelined PINGs.
 *
 *     usage: loadgen [-c CONNS] [-P PIPELINE] [-d SECONDS | -n REQUESTS]
 *                    [-t THREADS] [-r] [HOST] PORT
 *
 * Opens CONNS connections to HOST:PORT (default 127.0.0.1) and keeps
 * PIPELINE requests in flight on each: every reply that comes back is
 * answered by a new request, so the server is never idle and never flooded.
 * It runs for SECONDS (default 5), or until REQUESTS replies came, then
 * prints the requests per second and the latency percentiles.
 *
 * It speaks WP/1 ("PING:x\n" -> "PONG:x\n") or, with -r, Redis's inline
 * protocol ("PING\r\n" -> "+PONG\r\n"), so the same tool measures a socklab
 * server and redis-server. Each thread has its own epoll loop and its share
 * of the connections; every reply is checked, byte for byte.
 *
 * Latency is the time from the send() that carried a request to the recv()
 * that brought its reply; with a pipeline, it includes the wait behind the
 * requests in front of it, as a client would see it.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PIPELINE_MAX 1024
#define SUB_BUCKETS  64 /* per power of two: latencies within ~1.6% */
#define BUCKETS      (64 * SUB_BUCKETS)

/* === Options and state === */

static struct {
    const char *host, *port;
    int conns, pipeline, threads, redis;
    double seconds;
    long long requests; /* 0: run for seconds */
} opt = {"127.0.0.1", NULL, 1, 1, 1, 0, 5.0, 0};

static const char *request, *reply; /* one request, its expected reply */
static size_t request_len, reply_len;

struct conn {
    int fd;
    int inflight;                   /* requests sent, reply not yet seen */
    uint64_t sent_at[PIPELINE_MAX]; /* ring: when each in-flight request left */
    int head;                       /* the oldest in flight */
    size_t matched;                 /* bytes of the next reply seen so far */
};

struct worker {
    pthread_t thread;
    struct conn *conns;
    int count;
    long long done, errors;
    uint64_t histogram[BUCKETS];
    long long quota; /* replies this worker stops after (-n), or 0 */
};

static uint64_t deadline_ns;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "loadgen: %s: %s\n", what, why);
    exit(1);
}

/* === Latency histogram: log-linear buckets === */

/* Values below SUB_BUCKETS ns are exact; above, each power of two is split
 * in SUB_BUCKETS equal parts. */
static int bucket_of(uint64_t ns)
{
    if (ns < SUB_BUCKETS) return (int)ns;
    int top = 63 - __builtin_clzll(ns); /* ns is in [2^top, 2^(top+1)) */
    int shift = top - 6;                /* 6 = log2(SUB_BUCKETS) */
    int b = (shift + 1) * SUB_BUCKETS + (int)((ns >> shift) - SUB_BUCKETS);
    return b < BUCKETS ? b : BUCKETS - 1;
}

static uint64_t value_of(int b)
{
    if (b < SUB_BUCKETS) return (uint64_t)b;
    int shift = b / SUB_BUCKETS - 1;
    return ((uint64_t)(b % SUB_BUCKETS + SUB_BUCKETS) << shift) +
           ((1ull << shift) >> 1); /* mid-bucket */
}

static double percentile(const uint64_t *h, long long total, double p)
{
    long long rank = (long long)ceil(p * (double)total), seen = 0;

    for (int b = 0; b < BUCKETS; b++)
        if ((seen += (long long)h[b]) >= rank && h[b]) return (double)value_of(b) / 1000.0;
    return 0;
}

/* === Connections === */

static int open_conn(void)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *list;
    int one = 1, fd, rc = getaddrinfo(opt.host, opt.port, &hints, &list);

    if (rc != 0) die(opt.host, gai_strerror(rc));
    fd = socket(list->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, list->ai_addr, list->ai_addrlen) < 0) die("connect", strerror(errno));
    freeaddrinfo(list);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Tops the connection up to opt.pipeline requests in flight, one send(). */
static void fill(struct worker *w, struct conn *c)
{
    static __thread char batch[PIPELINE_MAX * 64];
    int n = opt.pipeline - c->inflight;
    uint64_t t;

    if (n <= 0 || (w->quota && w->done + c->inflight >= w->quota)) return;
    for (int i = 0; i < n; i++) memcpy(batch + (size_t)i * request_len, request, request_len);
    ssize_t sent = send(c->fd, batch, (size_t)n * request_len, MSG_NOSIGNAL);
    if (sent != (ssize_t)((size_t)n * request_len))
        die("send", sent < 0 ? strerror(errno) : "short send");
    t = now_ns();
    for (int i = 0; i < n; i++) c->sent_at[(c->head + c->inflight++) % PIPELINE_MAX] = t;
}

/* Matches the bytes received against the expected replies; each complete
 * one retires the oldest request in flight. */
static void received(struct worker *w, struct conn *c, const char *p, size_t len)
{
    uint64_t t = now_ns();

    for (size_t i = 0; i < len; i++) {
        if (p[i] != reply[c->matched]) {
            w->errors++;
            c->matched = 0;
            continue;
        }
        if (++c->matched < reply_len) continue;
        c->matched = 0;
        if (c->inflight == 0) {
            w->errors++;
            continue;
        }
        w->histogram[bucket_of(t - c->sent_at[c->head])]++;
        c->head = (c->head + 1) % PIPELINE_MAX;
        c->inflight--;
        w->done++;
    }
}

/* === One thread's loop === */

static void *run(void *arg)
{
    struct worker *w = arg;
    struct epoll_event events[256];
    char buf[65536];
    int ep = epoll_create1(0);

    if (ep < 0) die("epoll_create1", strerror(errno));
    for (int i = 0; i < w->count; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w->conns[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, w->conns[i].fd, &ev) < 0)
            die("epoll_ctl", strerror(errno));
        fill(w, &w->conns[i]);
    }
    while (w->quota ? w->done < w->quota : now_ns() < deadline_ns) {
        int n = epoll_wait(ep, events, 256, 100);
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            ssize_t got = recv(c->fd, buf, sizeof buf, 0);
            if (got <= 0)
                die("recv", got < 0 ? strerror(errno) : "the server closed the connection");
            received(w, c, buf, (size_t)got);
            fill(w, c);
        }
    }
    close(ep);
    return NULL;
}

/* === Main === */

static void usage(void)
{
    fprintf(stderr, "usage: loadgen [-c CONNS] [-P PIPELINE] [-d SECONDS | -n REQUESTS] [-t "
                    "THREADS] [-r] [HOST] PORT\n"
                    "  -r  Redis inline PING (+PONG) instead of WP/1 PING:x (PONG:x)\n");
    exit(2);
}

/* A whole decimal number (or, with fraction set, a decimal fraction), or usage. */
static double number(const char *text, int fraction)
{
    char *end;
    double value = fraction ? strtod(text, &end) : (double)strtoll(text, &end, 10);

    if (end == text || *end != '\0') usage();
    return value;
}

static void options(int argc, char **argv)
{
    int ch;

    while ((ch = getopt(argc, argv, "c:P:d:n:t:r")) != -1) {
        switch (ch) {
        case 'c':
            opt.conns = (int)number(optarg, 0);
            break;
        case 'P':
            opt.pipeline = (int)number(optarg, 0);
            break;
        case 'd':
            opt.seconds = number(optarg, 1);
            break;
        case 'n':
            opt.requests = (long long)number(optarg, 0);
            break;
        case 't':
            opt.threads = (int)number(optarg, 0);
            break;
        case 'r':
            opt.redis = 1;
            break;
        default:
            usage();
        }
    }
    if (argc - optind == 2) opt.host = argv[optind++];
    if (argc - optind != 1) usage();
    opt.port = argv[optind];
    if (opt.conns < 1 || opt.pipeline < 1 || opt.pipeline > PIPELINE_MAX || opt.threads < 1 ||
        opt.seconds <= 0 || opt.requests < 0)
        usage();
    if (opt.threads > opt.conns) opt.threads = opt.conns;
}

int main(int argc, char **argv)
{
    struct rlimit nofile;

    options(argc, argv);
    request = opt.redis ? "PING\r\n" : "PING:x\n";
    reply = opt.redis ? "+PONG\r\n" : "PONG:x\n";
    request_len = strlen(request);
    reply_len = strlen(reply);
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max; /* room for many connections */
        setrlimit(RLIMIT_NOFILE, &nofile);
    }

    struct worker *workers = calloc((size_t)opt.threads, sizeof *workers);
    struct conn *conns = calloc((size_t)opt.conns, sizeof *conns);
    if (workers == NULL || conns == NULL) die("calloc", strerror(errno));
    for (int i = 0; i < opt.conns; i++) conns[i].fd = open_conn();
    for (int i = 0, first = 0; i < opt.threads; i++) {
        workers[i].count = opt.conns / opt.threads + (i < opt.conns % opt.threads);
        workers[i].conns = conns + first;
        workers[i].quota =
            opt.requests ? opt.requests / opt.threads + (i < opt.requests % opt.threads) : 0;
        first += workers[i].count;
    }

    uint64_t started = now_ns();
    deadline_ns = started + (uint64_t)(opt.seconds * 1e9);
    for (int i = 0; i < opt.threads; i++)
        if (pthread_create(&workers[i].thread, NULL, run, &workers[i]) != 0)
            die("pthread_create", "failed");
    long long done = 0, errors = 0;
    static uint64_t histogram[BUCKETS];
    for (int i = 0; i < opt.threads; i++) {
        pthread_join(workers[i].thread, NULL);
        done += workers[i].done;
        errors += workers[i].errors;
        for (int b = 0; b < BUCKETS; b++) histogram[b] += workers[i].histogram[b];
    }
    double took = (double)(now_ns() - started) / 1e9;

    printf("%s %s:%s  conns %d  pipeline %d  threads %d\n",
           opt.redis ? "redis PING" : "WP/1 PING:x", opt.host, opt.port, opt.conns, opt.pipeline,
           opt.threads);
    printf("requests %lld in %.2f s: %.0f req/s  latency p50 %.1f us  p99 %.1f us  p999 %.1f us  "
           "errors %lld\n",
           done, took, (double)done / took, percentile(histogram, done, 0.50),
           percentile(histogram, done, 0.99), percentile(histogram, done, 0.999), errors);
    for (int i = 0; i < opt.conns; i++) close(conns[i].fd);
    free(conns);
    free(workers);
    return errors ? 1 : 0;
}
