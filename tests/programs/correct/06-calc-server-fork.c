/*
step: 06-calc-server
bug: none
fails: none
*/
/*
 * calc-server.c -- WP/1, written differently from the reference: one child
 * process per client (fork), read()/write() with SIGPIPE ignored instead of
 * recv()/send() with MSG_NOSIGNAL, operands checked with strtoll() and ERANGE,
 * results computed in 128 bits and then range-checked. It must get full marks.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FRAME_MAX 512

__extension__ typedef __int128 wide;

/* === Arithmetic === */

/* "-"?digit+ exactly, nothing else: the shape strtoll() alone would not check
 * (it takes spaces and a '+'). */
static int is_operand(const char *p, size_t len)
{
    size_t i = len > 0 && p[0] == '-';
    if (i == len) return 0;
    for (; i < len; i++)
        if (p[i] < '0' || p[i] > '9') return 0;
    return 1;
}

/* 1 if the operand fits in int64_t (value in *v), 0 if not. */
static int to_int64(const char *p, size_t len, int64_t *v)
{
    char text[FRAME_MAX + 1];
    memcpy(text, p, len);
    text[len] = '\0';
    errno = 0;
    long long x = strtoll(text, NULL, 10);
    if (errno == ERANGE) return 0;
    *v = x;
    return 1;
}

/* The reply text to a CALC argument. */
static void calc(const char *arg, size_t len, char *out, size_t size)
{
    size_t op = 1; /* the operator is the first of + - * / % after the first byte */
    while (op < len && !strchr("+-*/%", arg[op])) op++;
    if (op >= len || arg[op] == '\0' || !is_operand(arg, op) ||
        !is_operand(arg + op + 1, len - op - 1)) {
        snprintf(out, size, "ERROR:SYNTAX");
        return;
    }
    int64_t a, b;
    if (!to_int64(arg, op, &a) || !to_int64(arg + op + 1, len - op - 1, &b)) {
        snprintf(out, size, "ERROR:OVERFLOW");
        return;
    }
    char o = arg[op];
    if ((o == '/' || o == '%') && b == 0) {
        snprintf(out, size, "ERROR:DIVZERO");
        return;
    }
    wide x = a, y = b, r;
    switch (o) {
    case '+':
        r = x + y;
        break;
    case '-':
        r = x - y;
        break;
    case '*':
        r = x * y;
        break;
    case '/':
        r = x / y;
        break; /* 128-bit: INT64_MIN / -1 does not trap */
    default:
        r = x % y;
    }
    if (r < INT64_MIN || r > INT64_MAX)
        snprintf(out, size, "ERROR:OVERFLOW");
    else
        snprintf(out, size, "CALC:%" PRId64, (int64_t)r);
}

/* === One client === */

static int put(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1; /* EPIPE: SIGPIPE is ignored */
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Answers one line (no '\n'); 1 after QUIT, -1 if the client is gone. */
static int answer(int fd, char *line, size_t len)
{
    char reply[FRAME_MAX + 8];
    size_t k = 0;
    int quit = 0;

    if (len > 0 && line[len - 1] == '\r') len--;
    while (k < len && k <= 10 && line[k] >= 'A' && line[k] <= 'Z') k++;
    if (k == 0 || k > 10 || k == len || line[k] != ':') {
        strcpy(reply, "ERROR:SYNTAX");
    } else if (k == 4 && !memcmp(line, "PING", 4)) {
        memcpy(reply, "PONG", 4);
        memcpy(reply + 4, line + 4, len - 4); /* the ':' and the argument, NULs too */
        reply[len] = '\n';
        return put(fd, reply, len + 1);
    } else if (k == 4 && !memcmp(line, "CALC", 4)) {
        calc(line + 5, len - 5, reply, sizeof reply);
    } else if (k == 4 && !memcmp(line, "QUIT", 4)) {
        strcpy(reply, "BYE:");
        quit = 1;
    } else {
        strcpy(reply, "ERROR:UNKNOWN");
    }
    strcat(reply, "\n");
    return put(fd, reply, strlen(reply)) < 0 ? -1 : quit;
}

static void serve(int fd)
{
    char buf[FRAME_MAX];
    size_t held = 0, start;
    int skipping = 0;

    for (;;) {
        ssize_t n = read(fd, buf + held, sizeof buf - held);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        held += (size_t)n;
        start = 0;
        for (size_t i = 0; i < held; i++) {
            if (buf[i] != '\n') continue;
            if (!skipping && answer(fd, buf + start, i - start) != 0) return;
            skipping = 0;
            start = i + 1;
        }
        memmove(buf, buf + start, held - start);
        held -= start;
        if (skipping) held = 0;
        if (held == sizeof buf) { /* full, no '\n' */
            if (put(fd, "ERROR:TOOLONG\n", 14) < 0) return;
            held = 0;
            skipping = 1;
        }
    }
}

/* === Main === */

int main(int argc, char **argv)
{
    char *end;
    long port = argc == 2 && argv[1][0] >= '0' && argv[1][0] <= '9' ? strtol(argv[1], &end, 10) : 0;
    int one = 1;

    if (port < 1 || port > 65535 || *end != '\0') {
        fprintf(stderr, "usage: calc-server PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 64) < 0) {
        fprintf(stderr, "calc-server: port %ld: %s\n", port, strerror(errno));
        return 1;
    }
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) continue;
        pid_t child = fork();
        if (child == 0) {
            close(listener);
            serve(fd);
            close(fd);
            _exit(0);
        }
        if (child < 0) {
            fprintf(stderr, "calc-server: fork: %s; serving here\n", strerror(errno));
            serve(fd);
        }
        close(fd);
    }
}
