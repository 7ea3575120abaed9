/*
step: 02-server
bug: catches SIGINT/SIGTERM into a flag with SA_RESTART: accept() restarts and the flag is never read
fails: prints nothing on stdout but the Got connection lines
also: restarts on the same port right after serving | stops on SIGINT and SIGTERM | memory check (valgrind)
cause: SA_RESTART
*/
/* server: catches SIGINT/SIGTERM to close the listener cleanly, with SA_RESTART */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv)
{
    const char *s = argc == 2 ? argv[1] : "";
    size_t len = strlen(s);
    if (len == 0 || len > 5 || strspn(s, "0123456789") != len || atol(s) < 1 || atol(s) > 65535) {
        fprintf(stderr, "usage: server PORT\n");
        return 2;
    }
    int port = (int)atol(s);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int lsock = socket(AF_INET, SOCK_STREAM, 0), opt = 1;
    setsockopt(lsock, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof opt);
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = INADDR_ANY};
    if (bind(lsock, (struct sockaddr *)&any, sizeof any) < 0 || listen(lsock, 16) < 0) {
        fprintf(stderr, "server: bind port %d: %s\n", port, strerror(errno));
        return 1;
    }
    while (!stop) {
        struct sockaddr_in who;
        socklen_t wl = sizeof who;
        int c = accept(lsock, (struct sockaddr *)&who, &wl);
        if (c < 0) continue;
        char ip[32];
        inet_ntop(AF_INET, &who.sin_addr, ip, sizeof ip);
        printf("Got connection from %s:%d\n", ip, ntohs(who.sin_port));
        fflush(stdout);
        if (send(c, "Welcome to the server!\n", 23, MSG_NOSIGNAL) < 0) perror("server: send");
        close(c);
    }
    close(lsock);
    return 0;
}
