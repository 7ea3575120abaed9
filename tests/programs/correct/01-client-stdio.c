/*
step: 01-client
bug: none
fails: none
*/
/* client HOST PORT, written with stdio: the socket is read through a FILE
 * (fdopen + fread) and stdout is written with fwrite + fflush after each chunk.
 *
 * fread() keeps reading until it has the whole count it was asked for, which
 * would hold back data that has already arrived. So the socket is put in
 * non-blocking mode: fread() then returns what has arrived, and stops with an
 * EAGAIN error when the socket is drained; the program flushes, clears the
 * error and waits in poll() for more. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int valid_port(const char *s)
{
    char *end;
    long v;

    if (s[0] < '0' || s[0] > '9') return 0;
    errno = 0;
    v = strtol(s, &end, 10);
    return errno == 0 && *end == '\0' && v >= 1 && v <= 65535;
}

static FILE *open_connection(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *list, *ai;
    int rc, fd = -1, err = ECONNREFUSED;
    FILE *f;

    rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        fprintf(stderr, "client: %s port %s: %s\n", host, port, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return NULL;
    }
    for (ai = list; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            err = errno;
            close(fd);
            fd = -1;
        } else if (fd < 0) {
            err = errno;
        }
    }
    freeaddrinfo(list);
    if (fd < 0) {
        fprintf(stderr, "client: %s port %s: %s\n", host, port, strerror(err));
        return NULL;
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 || (f = fdopen(fd, "rb")) == NULL) {
        fprintf(stderr, "client: %s port %s: %s\n", host, port, strerror(errno));
        close(fd);
        return NULL;
    }
    return f;
}

int main(int argc, char **argv)
{
    static char chunk[16384];
    FILE *in;
    int status = 0;

    if (argc != 3 || !valid_port(argv[2])) {
        fprintf(stderr, "usage: client HOST PORT\n");
        return 2;
    }
    in = open_connection(argv[1], argv[2]);
    if (in == NULL) return 1;
    for (;;) {
        size_t n;

        errno = 0;
        n = fread(chunk, 1, sizeof chunk, in);
        if (n > 0 && (fwrite(chunk, 1, n, stdout) != n || fflush(stdout) == EOF)) {
            fprintf(stderr, "client: write to stdout: %s\n", strerror(errno));
            status = 1;
            break;
        }
        if (feof(in)) break; /* the server closed */
        if (ferror(in)) {
            struct pollfd p = {.fd = fileno(in), .events = POLLIN};
            int err = errno;

            if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
                fprintf(stderr, "client: recv from %s port %s: %s\n", argv[1], argv[2], strerror(err));
                status = 1;
                break;
            }
            clearerr(in);
            if (poll(&p, 1, -1) < 0 && errno != EINTR) {
                fprintf(stderr, "client: poll: %s\n", strerror(errno));
                status = 1;
                break;
            }
        }
    }
    fclose(in);
    return status;
}
