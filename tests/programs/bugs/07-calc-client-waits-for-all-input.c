/*
step: 07-calc-client
bug: reads all the input (sending each line) before it reads any reply
fails: prints each reply before the next line is typed
also: a PONG with the wrong token: message and exit 1 | a reply longer than 512 bytes: message and exit 1 | a reply of 1 MiB without a newline: exit 1, memory bounded | a reply of the wrong kind (PONG to a CALC, not a frame): message and exit 1 | matches replies to requests in order, a ping among calculations | memory check (valgrind) | ping prints pong N ms, measured, the PONG echoing the client's own token | prints a reply sent in pieces, with pauses and byte by byte | prints both replies when they come in one segment | prints each result, replies sent whole | prints error: E for an ERROR reply | server closes before the end of input: message on stderr and exit 1 | skips empty lines: nothing is sent for them | tries each address of a name in turn (the first one refuses) | accepts the ports 1 and 65535 (both ends of the range) | connects to localhost by name and to ::1 (IPv6) | prints and sends what the WP/1 model says in random sessions: typed lines, replies batched and cut anywhere | a reply when nothing is owed: message and exit 1
cause: while it waits for its stdin
*/
/*
 * calc.c -- a WP/1 calculator client in one file: poll() on stdin and the
 * socket, requests sent as they are typed, a queue of the replies owed.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX 512
#define OWED_MAX 64

static const char *host, *port;
static int fd = -1;
static struct owed {
    int ping;
    char token[32];
    struct timespec sent;
} owed[OWED_MAX];
static size_t head, count;
static unsigned long pings;
static char replies[FRAME_MAX]; /* bytes of replies received, not handled yet */
static size_t used;
static char input[4096]; /* typed bytes, not sent yet */
static size_t typed;
static int input_open = 1;

static _Noreturn void die(const char *fmt, ...)
{
    va_list ap;

    fputs("calc: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static int parse_port(const char *s)
{
    long v = 0;

    if (*s == '\0' || strlen(s) > 5) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (*s - '0');
    }
    return v >= 1 && v <= 65535 ? (int)v : -1;
}

static void connect_or_die(void)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *list, *ai;
    int rc = getaddrinfo(host, port, &hints, &list), err = 0;

    if (rc != 0) die("%s port %s: %s", host, port, gai_strerror(rc));
    for (ai = list; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(list);
    if (fd < 0) die("connect to %s port %s: %s", host, port, strerror(err));
}

static void send_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) die("send to %s port %s: %s", host, port, strerror(errno));
        p += k;
        n -= (size_t)k;
    }
}

static double since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

/* One typed line (without its '\n'): a request, or nothing. */
static void send_line(const char *line, size_t len)
{
    char frame[FRAME_MAX + 16];
    struct owed *o;

    if (len == 0) return;
    if (len > FRAME_MAX) die("line too long");
    if (count == OWED_MAX) die("too many requests in flight");
    o = &owed[(head + count++) % OWED_MAX];
    o->ping = len == 4 && memcmp(line, "ping", 4) == 0;
    if (o->ping) {
        snprintf(o->token, sizeof o->token, "t%lu", ++pings);
        snprintf(frame, sizeof frame, "PING:%s\n", o->token);
        clock_gettime(CLOCK_MONOTONIC, &o->sent);
        send_all(frame, strlen(frame));
        return;
    }
    memcpy(frame, "CALC:", 5);
    memcpy(frame + 5, line, len);
    frame[5 + len] = '\n';
    send_all(frame, len + 6);
}

static void out(const char *prefix, const char *text, size_t len)
{
    printf("%s%.*s\n", prefix, (int)len, text);
    fflush(stdout);
}

/* One reply line (without its '\n'): the answer to the oldest request. */
static void take_reply(const char *line, size_t len)
{
    struct owed *o = &owed[head];

    if (count == 0) die("%s port %s sent a reply nobody asked for", host, port);
    if (o->ping && len >= 5 && memcmp(line, "PONG:", 5) == 0) {
        if (len - 5 != strlen(o->token) || memcmp(line + 5, o->token, len - 5) != 0)
            die("%s port %s answered PING:%s with another token", host, port, o->token);
        printf("pong %.3f ms\n", since(&o->sent));
        fflush(stdout);
    } else if (!o->ping && len >= 5 && memcmp(line, "CALC:", 5) == 0) {
        out("", line + 5, len - 5);
    } else if (!o->ping && len >= 6 && memcmp(line, "ERROR:", 6) == 0) {
        out("error: ", line + 6, len - 6);
    } else {
        die("%s port %s answered a %s with \"%.*s\"", host, port, o->ping ? "PING" : "CALC",
            (int)(len > 60 ? 60 : len), line);
    }
    head = (head + 1) % OWED_MAX;
    count--;
}


/* Handles every whole reply held: two may have come in one recv(). */
static void handle_replies(void)
{
    char *nl;

    while ((nl = memchr(replies, '\n', used)) != NULL) {
        size_t len = (size_t)(nl - replies);
        take_reply(replies, len > 0 && replies[len - 1] == '\r' ? len - 1 : len);
        memmove(replies, nl + 1, used - len - 1);
        used -= len + 1;
    }
    if (used == sizeof replies) die("%s port %s sent a reply longer than %d bytes", host, port, FRAME_MAX);
}

static void read_socket(void)
{
    ssize_t n = recv(fd, replies + used, sizeof replies - used, 0);

    if (n < 0 && errno == EINTR) return;
    if (n < 0) die("recv from %s port %s: %s", host, port, strerror(errno));
    if (n == 0) die("%s port %s closed the connection (%zu replies owed)", host, port, count);
    used += (size_t)n;
    handle_replies();
}


/* One read() of stdin; every whole line goes out at once. */
static void read_stdin(void)
{
    ssize_t n = read(STDIN_FILENO, input + typed, sizeof input - typed);
    char *nl;

    if (n < 0 && errno == EINTR) return;
    if (n < 0) die("read from stdin: %s", strerror(errno));
    if (n == 0) input_open = 0;
    typed += (size_t)n;
    while ((nl = memchr(input, '\n', typed)) != NULL) {
        size_t len = (size_t)(nl - input);
        send_line(input, len);
        memmove(input, nl + 1, typed - len - 1);
        typed -= len + 1;
    }
    if (!input_open && typed > 0) { /* a last line without '\n' */
        send_line(input, typed);
        typed = 0;
    }
    if (typed == sizeof input) die("line too long");
}

int main(int argc, char **argv)
{
    if (argc != 3 || parse_port(argv[2]) < 0) {
        fprintf(stderr, "usage: calc HOST PORT\n");
        return 2;
    }
    host = argv[1];
    port = argv[2];
    connect_or_die();
    
    /* BUG: all the input first (each line sent as it is read), the replies after */
    while (input_open) read_stdin();
    while (count > 0) read_socket();
    
    close(fd);
    return 0;
}
