/*
step: 06-calc-server
bug: copies the PING argument as a C string (%s): it stops at the first NUL byte
fails: echoes PING arguments byte for byte, NUL bytes included
also: answers random WP/1 sessions as the model does: edge values, pipelined, cut anywhere, clients that leave
cause: NUL byte
*/
/*
 * calc-server.c -- a standalone WP/1 server (one file: its own line reader,
 * parser and socket code), the base of the 06-calc-server test programs. Each
 * test program is this file with one known bug put in; this one's is in
 * the header above, and marked BUG in the code.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FRAME_MAX     512
#define REPLY_MAX     512
#define LINE_END      (-1)
#define LINE_TOO_LONG (-3)

/* === Reading lines === */

struct reader {
    int fd, dropping, end;
    size_t used;
    char buf[FRAME_MAX];
};

static ssize_t take(struct reader *r, size_t len, char *line)
{
    size_t kept = len > 0 && r->buf[len - 1] == '\r' ? len - 1 : len;
    memcpy(line, r->buf, kept);
    line[kept] = '\0';
    memmove(r->buf, r->buf + len + 1, r->used - len - 1);
    r->used -= len + 1;
    return (ssize_t)kept;
}

static ssize_t read_line(struct reader *r, char *line)
{
    for (;;) {
        if (r->end) return LINE_END;
        char *nl = memchr(r->buf, '\n', r->used);
        if (nl && !r->dropping) return take(r, (size_t)(nl - r->buf), line);
        if (nl) {
            size_t skip = (size_t)(nl - r->buf) + 1;
            memmove(r->buf, r->buf + skip, r->used - skip);
            r->used -= skip;
            r->dropping = 0;
            continue;
        }
        if (r->dropping) r->used = 0;
        if (r->used == FRAME_MAX) {
            r->used = 0;
            r->dropping = 1;
            return LINE_TOO_LONG;
        }
        ssize_t n = recv(r->fd, r->buf + r->used, FRAME_MAX - r->used, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            r->end = 1;
        else
            r->used += (size_t)n;
    }
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* === CALC === */

/* "-"?digit+ into *v; *fits says whether it is in int64_t. NULL: no operand. */
static const char *operand(const char *p, const char *end, int64_t *v, int *fits)
{
    int neg = p < end && *p == '-';
    uint64_t mag = 0, limit = (uint64_t)INT64_MAX + 1;
    const char *digits = p += neg;

    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        mag = mag <= (limit - d) / 10 ? mag * 10 + d : limit + 1;
    }
    if (p == digits) return NULL;
    *fits = mag <= (neg ? limit : limit - 1);
    *v = 0;
    if (*fits) *v = neg ? (mag == limit ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    return p;
}

static const char *apply(int64_t a, char op, int64_t b, int64_t *r)
{
    if ((op == '/' || op == '%') && b == 0) return "ERROR:DIVZERO";
    if ((op == '/' || op == '%') && a == INT64_MIN && b == -1) {
        *r = 0;
        return op == '%' ? NULL : "ERROR:OVERFLOW";
    }
    int over = 0;
    if (op == '+') over = __builtin_add_overflow(a, b, r);
    if (op == '-') over = __builtin_sub_overflow(a, b, r);
    if (op == '*') over = __builtin_mul_overflow(a, b, r);
    if (op == '/') *r = a / b;
    if (op == '%') *r = a % b;
    return over ? "ERROR:OVERFLOW" : NULL;
}

/* NULL and the value in *r, or the error reply. */
static const char *calc(const char *arg, size_t len, int64_t *r)
{
    const char *end = arg + len;
    int64_t a, b;
    int a_fits, b_fits;
    const char *p = operand(arg, end, &a, &a_fits);

    if (!p || p == end || !memchr("+-*/%", *p, 5)) return "ERROR:SYNTAX";
    char op = *p++;
    p = operand(p, end, &b, &b_fits);
    if (p != end) return "ERROR:SYNTAX";
    if (!a_fits || !b_fits) return "ERROR:OVERFLOW";
    return apply(a, op, b, r);
}

/* === One frame === */

static size_t answer_ping(const char *arg, size_t len, char *reply)
{
    len = strlen(arg); /* BUG: stops at the first NUL byte */
    memcpy(reply, "PONG:", 5);
    memcpy(reply + 5, arg, len);
    reply[5 + len] = '\n';
    return 5 + len + 1;
}

static size_t answer(const char *line, size_t len, char *reply, int *bye)
{
    const char *colon = memchr(line, ':', len);
    size_t n = colon ? (size_t)(colon - line) : 0;
    const char *arg = line + n + 1;
    size_t arg_len = len - n - 1;
    int64_t r = 0;

    *bye = 0;
    for (size_t i = 0; i < n; i++)
        if (line[i] < 'A' || line[i] > 'Z') n = 0;
    if (n == 0 || n > 10) return (size_t)sprintf(reply, "ERROR:SYNTAX\n");
    if (n == 4 && memcmp(line, "PING", 4) == 0) return answer_ping(arg, arg_len, reply);
    if (n == 4 && memcmp(line, "QUIT", 4) == 0) {
        *bye = 1;
        return (size_t)sprintf(reply, "BYE:\n");
    }
    if (n != 4 || memcmp(line, "CALC", 4) != 0) return (size_t)sprintf(reply, "ERROR:UNKNOWN\n");
    const char *error = calc(arg, arg_len, &r);
    if (error) return (size_t)sprintf(reply, "%s\n", error);
    return (size_t)sprintf(reply, "CALC:%" PRId64 "\n", r);
}

/* === The server === */

static void serve(int fd)
{
    struct reader reader = {.fd = fd};
    char line[FRAME_MAX], reply[REPLY_MAX];
    int bye = 0;

    while (!bye) {
        ssize_t n = read_line(&reader, line);
        size_t len;
        if (n == LINE_END) break;
        if (n == LINE_TOO_LONG)
            len = (size_t)sprintf(reply, "ERROR:TOOLONG\n");
        else
            len = answer(line, (size_t)n, reply, &bye);
        if (send_all(fd, reply, len) < 0) break;
    }
    close(fd);
}

static int parse_port(const char *s)
{
    long port = 0;
    if (!*s || strlen(s) > 5) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        port = port * 10 + (*s - '0');
    }
    return port >= 1 && port <= 65535 ? (int)port : -1;
}

int main(int argc, char **argv)
{
    int port = argc == 2 ? parse_port(argv[1]) : -1, one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};

    if (port < 0) {
        fprintf(stderr, "usage: calc-server PORT\n");
        return 2;
    }
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) {
        perror("socket");
        return 1;
    }
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    addr.sin_port = htons((uint16_t)port);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 16) < 0) {
        fprintf(stderr, "calc-server: bind port %d: %s\n", port, strerror(errno));
        return 1;
    }
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) continue;
        serve(fd);
    }
}
