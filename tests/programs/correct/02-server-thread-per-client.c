/*
step: 02-server
bug: none (a detached thread per client greets it; the log line printed under a mutex)
fails: none
*/
/* server, correct: a detached thread per client */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void *greet(void *arg)
{
    int fd = (int)(long)arg;
    const char *msg = "Welcome to the server!\n";
    size_t left = strlen(msg);
    while (left > 0) {
        ssize_t n = send(fd, msg, left, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            pthread_mutex_lock(&out_lock);
            fprintf(stderr, "server: send: %s\n", strerror(errno));
            pthread_mutex_unlock(&out_lock);
            break;
        }
        msg += n;
        left -= (size_t)n;
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *p = argc == 2 ? argv[1] : "";
    size_t len = strlen(p);
    long port = 0;
    int ok = len >= 1 && len <= 5 && strspn(p, "0123456789") == len;
    if (ok) port = strtol(p, NULL, 10);
    if (!ok || port < 1 || port > 65535) {
        fprintf(stderr, "usage: server PORT\n");
        return 2;
    }
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) { fprintf(stderr, "server: socket port %ld: %s\n", port, strerror(errno)); return 1; }
    int one = 1;
    if (setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
        fprintf(stderr, "server: setsockopt port %ld: %s\n", port, strerror(errno));
        return 1;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0) { fprintf(stderr, "server: bind port %ld: %s\n", port, strerror(errno)); return 1; }
    if (listen(ls, 64) < 0) { fprintf(stderr, "server: listen port %ld: %s\n", port, strerror(errno)); return 1; }
    for (;;) {
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        int c = accept(ls, (struct sockaddr *)&peer, &pl);
        if (c < 0) {
            if (errno != EINTR && errno != ECONNABORTED) fprintf(stderr, "server: accept: %s\n", strerror(errno));
            continue;
        }
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
        pthread_mutex_lock(&out_lock);
        printf("Got connection from %s:%u\n", ip, (unsigned)ntohs(peer.sin_port));
        fflush(stdout);
        pthread_mutex_unlock(&out_lock);
        pthread_t t;
        if (pthread_create(&t, NULL, greet, (void *)(long)c) != 0) {
            greet((void *)(long)c);
            continue;
        }
        pthread_detach(t);
    }
}
