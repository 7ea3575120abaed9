/*
step: 01-client
bug: takes a server that closes without sending anything for an error: it says so on stderr and exits 1.
fails: server closes without sending a byte: prints nothing, exits 0
cause: an empty reply is no error
*/
/* The reference client, but an empty stream is an error. */
/*
 * client.c -- socklab step 01: connect to a server and print what it sends.
 *
 *     usage: client HOST PORT
 *
 * Read the command line, connect to the first address of HOST that answers, then
 * copy every byte from the socket to stdout until the server closes.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* === State === */

struct client {
    const char *host; /* as the user typed it: every message names it that way */
    int port;         /* 1 to 65535, checked */
    int fd;           /* the connected socket, -1 until connected */
};

/* === Errors === */

/* One line on stderr, prefixed with the program's name, written in one go. */
static void complain(const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "client: %s\n", line);
}

/* === Command line === */

/* A plain decimal number from 1 to 65535. strtol alone would accept " 80",
 * "+80" and "-1", hence the first digit test; the end pointer rejects "80a". */
static int parse_port(const char *text)
{
    char *end;
    long value;

    if (!isdigit((unsigned char)text[0])) return -1;
    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 1 || value > 65535) return -1;
    return (int)value;
}

/* A bad command line is the user's mistake, not a failure: usage, exit 2. */
static void read_arguments(struct client *c, int argc, char **argv)
{
    if (argc != 3 || (c->port = parse_port(argv[2])) < 0) {
        fprintf(stderr, "usage: client HOST PORT\n");
        exit(2);
    }
    c->host = argv[1];
}

/* === Connecting === */

/* One attempt: a socket of the address's family, then connect(). Returns the
 * socket, or -1 with *call naming the call that failed and errno saying why. */
static int try_address(const struct addrinfo *ai, const char **call)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);

    if (fd < 0) {
        *call = "socket for";
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        int saved = errno; /* close() must not overwrite the reason */
        *call = "connect to";
        close(fd); /* nothing to report: this socket never carried data */
        errno = saved;
        return -1;
    }
    return fd;
}

/* Resolve HOST and try its addresses in turn: "localhost" may give both ::1 and
 * 127.0.0.1, and the server may listen on only one of them. Returns 0 with c->fd
 * connected, or -1 after one line on stderr about the last failure. */
static int connect_to_server(struct client *c)
{
    struct addrinfo hints = {0}, *addrs, *ai;
    const char *call = "connect to";
    char service[sizeof "65535"];
    int rc, err = 0;

    hints.ai_family = AF_UNSPEC;     /* IPv4 or IPv6, whatever HOST has */
    hints.ai_socktype = SOCK_STREAM; /* TCP */
    hints.ai_flags = AI_NUMERICSERV; /* the port is a number: no /etc/services */
    snprintf(service, sizeof service, "%d", c->port);
    rc = getaddrinfo(c->host, service, &hints, &addrs);
    if (rc != 0) {
        complain("cannot resolve %s port %d: %s", c->host, c->port,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (ai = addrs; ai != NULL && c->fd < 0; ai = ai->ai_next) {
        c->fd = try_address(ai, &call);
        err = errno;
    }
    freeaddrinfo(addrs);
    if (c->fd < 0) {
        complain("%s %s port %d: %s", call, c->host, c->port, strerror(err));
        return -1;
    }
    return 0;
}

/* === Copying === */

/* write() may take fewer bytes than offered (a pipe that is nearly full), or be
 * interrupted by a signal before writing anything: go on until all is out. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Copy the socket to stdout until the server closes (recv returns 0). One recv
 * gets whatever has arrived, a few bytes or a full buffer: that is why we loop.
 * Each piece goes out at once with write(), which has no buffer to hold it back
 * and copies NUL bytes like any other (printf("%s") would stop at the first).
 * Returns the exit status. */
static int copy_to_stdout(const struct client *c)
{
    char buf[16384];
    size_t total = 0;

    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n == 0 && total == 0) { /* BUG: nothing at all is a fine answer */
            complain("%s port %d sent nothing", c->host, c->port);
            return 1;
        }
        if (n == 0) return 0;
        if (n > 0) total += (size_t)n;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            complain("recv from %s port %d: %s", c->host, c->port, strerror(errno));
            return 1;
        }
        if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
            complain("write to stdout: %s", strerror(errno));
            return 1;
        }
    }
}

/* === Main === */

int main(int argc, char **argv)
{
    struct client c = {.fd = -1};
    int status;

    read_arguments(&c, argc, argv);
    if (connect_to_server(&c) < 0) return 1;
    status = copy_to_stdout(&c);
    if (close(c.fd) < 0) {
        complain("close connection to %s port %d: %s", c.host, c.port, strerror(errno));
        status = 1;
    }
    return status;
}
