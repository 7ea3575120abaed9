/*
step: 04-chat-server
bug: none
fails: none
*/
/* A chat server with select() instead of poll(), IPv4 only, written as one
 * loop: it must get full marks. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void write_out(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return;
        buf += n;
        len -= (size_t)n;
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr = {0};
    char *end, who[64] = "", buf[8192];
    long port;
    int lfd, cfd = -1, on = 1;

    if (argc != 2 || argv[1][0] < '0' || argv[1][0] > '9' ||
        (errno = 0, port = strtol(argv[1], &end, 10), errno != 0 || *end != '\0') || port < 1 ||
        port > 65535) {
        fprintf(stderr, "usage: chat-server PORT\n");
        return 2;
    }
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) {
        perror("chat-server: socket");
        return 1;
    }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 16) < 0) {
        fprintf(stderr, "chat-server: bind port %ld: %s\n", port, strerror(errno));
        close(lfd);
        return 1;
    }
    for (;;) {
        fd_set ready;
        int watched = cfd >= 0 ? cfd : lfd;

        FD_ZERO(&ready);
        FD_SET(STDIN_FILENO, &ready);
        FD_SET(watched, &ready);
        if (select(watched + 1, &ready, NULL, NULL, NULL) < 0) {
            if (errno == EINTR) continue;
            perror("chat-server: select");
            return 1;
        }
        if (FD_ISSET(STDIN_FILENO, &ready)) {
            ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
            if (n == 0) break;
            if (n > 0 && cfd >= 0 && send_all(cfd, buf, (size_t)n) < 0) {
                printf("Client %s left\n", who);
                fflush(stdout);
                close(cfd);
                cfd = -1;
                continue;
            }
        }
        if (FD_ISSET(watched, &ready) && watched == lfd) {
            struct sockaddr_in peer;
            socklen_t len = sizeof peer;
            char ip[INET_ADDRSTRLEN];
            cfd = accept(lfd, (struct sockaddr *)&peer, &len);
            if (cfd < 0) continue;
            inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
            snprintf(who, sizeof who, "%s:%u", ip, (unsigned)ntohs(peer.sin_port));
            printf("Got connection from %s\n", who);
            fflush(stdout);
            send_all(cfd, "Welcome to the server!\n", 23);
        } else if (FD_ISSET(watched, &ready)) {
            ssize_t n = recv(cfd, buf, sizeof buf, 0);
            if (n > 0) {
                write_out(buf, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                printf("Client %s left\n", who);
                fflush(stdout);
                close(cfd);
                cfd = -1;
            }
        }
    }
    if (cfd >= 0) close(cfd);
    close(lfd);
    return 0;
}
