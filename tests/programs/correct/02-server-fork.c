/*
step: 02-server
bug: none
fails: none
*/
/* server PORT with a child process per client: the parent accepts and logs,
 * a child greets the client and exits. The parent closes its copy of each
 * client socket at once and reaps its children from a SIGCHLD handler. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char greeting[] = "Welcome to the server!\n";

static void reap(int sig)
{
    int saved = errno;

    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0) continue;
    errno = saved;
}

static int port_number(const char *s)
{
    char *end;
    long v;

    if (s[0] < '0' || s[0] > '9') return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    return errno == 0 && *end == '\0' && v >= 1 && v <= 65535 ? (int)v : -1;
}

static void greet(int fd)
{
    const char *p = greeting;
    size_t left = sizeof greeting - 1;

    while (left > 0) {
        ssize_t n = send(fd, p, left, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break; /* the client left: nothing more to do for it */
        p += n;
        left -= (size_t)n;
    }
    close(fd);
}

int main(int argc, char **argv)
{
    struct sockaddr_in me = {0};
    struct sigaction sa = {0};
    int port, lfd, yes = 1;

    if (argc != 2 || (port = port_number(argv[1])) < 0) {
        fputs("usage: server PORT\n", stderr);
        return 2;
    }
    sa.sa_handler = reap;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    me.sin_family = AF_INET;
    me.sin_addr.s_addr = htonl(INADDR_ANY);
    me.sin_port = htons((unsigned short)port);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) < 0 ||
        bind(lfd, (struct sockaddr *)&me, sizeof me) < 0 || listen(lfd, SOMAXCONN) < 0) {
        fprintf(stderr, "server: port %d: %s\n", port, strerror(errno));
        return 1;
    }
    for (;;) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        char ip[INET_ADDRSTRLEN];
        pid_t child;
        int fd = accept(lfd, (struct sockaddr *)&peer, &len);

        if (fd < 0) {
            if (errno != EINTR && errno != ECONNABORTED) {
                fprintf(stderr, "server: accept: %s\n", strerror(errno));
                sleep(1);
            }
            continue;
        }
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
        printf("Got connection from %s:%u\n", ip, (unsigned)ntohs(peer.sin_port));
        fflush(stdout); /* before fork: the child must not inherit a full buffer */
        child = fork();
        if (child == 0) {
            close(lfd);
            greet(fd);
            _exit(0);
        }
        if (child < 0) {
            fprintf(stderr, "server: fork: %s; greeting %s in the parent\n", strerror(errno), ip);
            greet(fd);
            continue;
        }
        close(fd); /* the child has its own copy */
    }
}
