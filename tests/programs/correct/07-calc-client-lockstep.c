/*
step: 07-calc-client
bug: none
fails: none
*/
/*
 * calc.c -- a WP/1 calculator client that waits for each reply before it
 * reads the next line (lockstep): correct, since each reply is printed as soon
 * as it arrives. No poll(): fgets() for the keyboard, a bounded reader for the
 * socket. It must get full marks.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX 512

struct reader {
    int fd;
    size_t used;
    char buf[FRAME_MAX];
};

static const char *host, *port;

static void usage(void)
{
    fputs("usage: calc HOST PORT\n", stderr);
    exit(2);
}

static int valid_port(const char *s)
{
    char *end;
    long v;

    if (s[0] < '0' || s[0] > '9') return 0;
    errno = 0;
    v = strtol(s, &end, 10);
    return errno == 0 && *end == '\0' && v >= 1 && v <= 65535;
}

static int dial(void)
{
    struct addrinfo hints, *list, *ai;
    int rc, fd = -1, err = ECONNREFUSED;

    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        fprintf(stderr, "calc: cannot resolve %s (port %s): %s\n", host, port, gai_strerror(rc));
        exit(1);
    }
    for (ai = list; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    if (fd < 0) {
        fprintf(stderr, "calc: cannot connect to %s port %s: %s\n", host, port, strerror(err));
        exit(1);
    }
    return fd;
}

/* The next reply line into line (NUL-terminated, no '\n'); exits 1 on a close,
 * an error, or a line too long for a frame. */
static size_t next_reply(struct reader *r, char *line)
{
    for (;;) {
        char *nl = memchr(r->buf, '\n', r->used);
        if (nl != NULL) {
            size_t len = (size_t)(nl - r->buf);
            memcpy(line, r->buf, len);
            line[len] = '\0';
            r->used -= len + 1;
            memmove(r->buf, nl + 1, r->used);
            if (len > 0 && line[len - 1] == '\r') line[--len] = '\0';
            return len;
        }
        if (r->used == sizeof r->buf) {
            fprintf(stderr, "calc: %s port %s sent a reply of more than %d bytes\n", host, port,
                    FRAME_MAX);
            exit(1);
        }
        ssize_t n = recv(r->fd, r->buf + r->used, sizeof r->buf - r->used, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fprintf(stderr, "calc: recv from %s port %s: %s\n", host, port, strerror(errno));
            exit(1);
        }
        if (n == 0) {
            fprintf(stderr, "calc: %s port %s closed the connection before answering\n", host,
                    port);
            exit(1);
        }
        r->used += (size_t)n;
    }
}

static void say(int fd, const char *frame, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, frame, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fprintf(stderr, "calc: send to %s port %s: %s\n", host, port, strerror(errno));
            exit(1);
        }
        frame += n;
        len -= (size_t)n;
    }
}

static void wrong(const char *asked, const char *line)
{
    fprintf(stderr, "calc: %s port %s answered %s with \"%.60s\"\n", host, port, asked, line);
    exit(1);
}

int main(int argc, char **argv)
{
    char typed[FRAME_MAX], frame[FRAME_MAX + 8], reply[FRAME_MAX];
    struct reader r = {0};
    unsigned pings = 0;

    if (argc != 3 || !valid_port(argv[2])) usage();
    host = argv[1];
    port = argv[2];
    r.fd = dial();
    while (fgets(typed, sizeof typed, stdin) != NULL) { /* a line of 506 bytes, whose frame is 512, fits */
        size_t len = strcspn(typed, "\r\n");
        struct timespec t0, t1;
        char token[32];

        typed[len] = '\0';
        if (len == 0) continue;
        if (strcmp(typed, "ping") == 0) {
            snprintf(token, sizeof token, "%x-%u", (unsigned)getpid(), ++pings);
            len = (size_t)snprintf(frame, sizeof frame, "PING:%s\n", token);
            clock_gettime(CLOCK_MONOTONIC, &t0);
            say(r.fd, frame, len);
            next_reply(&r, reply);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            if (strncmp(reply, "PONG:", 5) != 0) wrong("a PING", reply);
            if (strcmp(reply + 5, token) != 0) wrong("a PING with another token:", reply);
            printf("pong %ld ms\n",
                   (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
        } else {
            len = (size_t)snprintf(frame, sizeof frame, "CALC:%s\n", typed);
            say(r.fd, frame, len);
            len = next_reply(&r, reply);
            if (strncmp(reply, "CALC:", 5) == 0 && strlen(reply) == len)
                printf("%s\n", reply + 5);
            else if (strncmp(reply, "ERROR:", 6) == 0 && strlen(reply) == len)
                printf("error: %s\n", reply + 6);
            else
                wrong("a CALC", reply);
        }
        fflush(stdout);
    }
    close(r.fd);
    return 0;
}
