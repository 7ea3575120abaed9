/*
step: 02-server
bug: catches SIGINT with a flag-setting handler installed with SA_RESTART, so the blocked accept() is restarted and SIGINT does not stop the server. After each client it also keeps the CPU busy for 100 ms, as if it were descheduled on a loaded machine: a SIGINT sent as soon as the greeting arrives finds it between two calls, it sees the flag and exits, and the grader would miss the bug unless it waits for the server to block in accept() first.
fails: stops on SIGINT and SIGTERM
cause: SA_RESTART
*/
/* A careful server: greet every client on PORT, one after another. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#include <time.h>

static const char welcome[] = "Welcome to the server!\n";
static volatile sig_atomic_t stopping = 0;

static void on_sigint(int sig)
{
    (void)sig;
    stopping = 1;
}

static void usage(void)
{
    fputs("usage: server PORT\n", stderr);
    exit(2);
}

/* 1 to 65535, plain decimal digits only; -1 otherwise. */
static long parse_port(const char *s)
{
    long v = 0;

    if (*s == '\0') return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (*s - '0');
        if (v > 65535) return -1;
    }
    return v >= 1 ? v : -1;
}

static int listen_on(long port)
{
    struct sockaddr_in addr;
    int on = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        fprintf(stderr, "server: socket for port %ld: %s\n", port, strerror(errno));
        exit(1);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) {
        fprintf(stderr, "server: setsockopt SO_REUSEADDR for port %ld: %s\n", port, strerror(errno));
        exit(1);
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons((unsigned short)port);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "server: cannot bind port %ld: %s\n", port, strerror(errno));
        exit(1);
    }
    if (listen(fd, 16) < 0) {
        fprintf(stderr, "server: cannot listen on port %ld: %s\n", port, strerror(errno));
        exit(1);
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Keep the CPU busy (no system call that sleeps) for ms milliseconds. */
static void busy_for_ms(long ms)
{
    struct timespec start, now;

    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L < ms);
}

static void serve(int fd, const struct sockaddr_in *peer)
{
    char ip[INET_ADDRSTRLEN];
    unsigned port = ntohs(peer->sin_port);

    if (inet_ntop(AF_INET, &peer->sin_addr, ip, sizeof ip) == NULL) strcpy(ip, "?");
    printf("Got connection from %s:%u\n", ip, port);
    fflush(stdout);
    if (send_all(fd, welcome, sizeof welcome - 1) < 0)
        fprintf(stderr, "server: send to %s:%u: %s\n", ip, port, strerror(errno));
    close(fd);
    busy_for_ms(100);
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    long port;
    int lfd;

    if (argc != 2 || (port = parse_port(argv[1])) < 0) usage();
    lfd = listen_on(port);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* BUG: accept() is restarted, never returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    fprintf(stderr, "server: listening on port %ld\n", port);
    while (!stopping) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        int fd = accept(lfd, (struct sockaddr *)&peer, &len);

        if (fd < 0) {
            int err = errno;
            if (err == EINTR || err == ECONNABORTED) continue;
            fprintf(stderr, "server: accept on port %ld: %s\n", port, strerror(err));
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) sleep(1);
            continue;
        }
        serve(fd, &peer);
    }
    close(lfd);
    return 0;
}
