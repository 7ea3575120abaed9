/*
 * client.c -- socklab step 01: connect to a server and print what it sends.
 *
 *     usage: client HOST PORT
 *
 * Read the command line, connect to the first address of HOST that answers, then
 * copy every byte from the socket to stdout until the server closes.
 *
 * This is the starter: the shape is here, the work is in the TODO blocks. Do them
 * top to bottom; README.md says exactly what the program must do.
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

/* One line on stderr, prefixed with the program's name, written in one go.
 * Use it like printf, without the "\n": complain("recv: %s", strerror(errno)). */
static void complain(const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "client: %s\n", line);
}

/* Each TODO stops the program here until it is done. Once nothing calls this
 * function any more, delete it. */
static _Noreturn void not_implemented(const char *where)
{
    complain("not implemented yet: see README.md (TODO in %s)", where);
    exit(1);
}

/* === Command line === */

/* A plain decimal number from 1 to 65535; -1 for anything else. */
static int parse_port(const char *text)
{
    /* TODO: convert text with strtol(text, &end, 10) and return the port.
     * Return -1 unless ALL of these hold:
     *   - text[0] is a digit (strtol would skip " " and accept "+" or "-": use isdigit);
     *   - strtol stopped at the end of the string (*end == '\0': "80a", "0x50", "");
     *   - errno is still 0 afterwards (set it to 0 before: ERANGE means far too big);
     *   - the value is from 1 to 65535. */
    (void)text;
    not_implemented("parse_port");
}

/* A bad command line is the user's mistake, not a failure: usage, exit 2. */
static void read_arguments(struct client *c, int argc, char **argv)
{
    /* TODO: `client HOST PORT` means argc == 3.
     *   - wrong count, or parse_port(argv[2]) returns -1: print the line
     *     "usage: client HOST PORT" on stderr (fprintf(stderr, ...)) and exit(2);
     *   - otherwise keep the port in c->port and argv[1] in c->host. */
    (void)c;
    (void)argc;
    (void)argv;
    (void)parse_port; /* silences "unused function": delete once you call it */
    not_implemented("read_arguments");
}

/* === Connecting === */

/* One attempt: a socket of the address's family, then connect(). Returns the
 * socket, or -1 with *call naming the call that failed and errno saying why. */
static int try_address(const struct addrinfo *ai, const char **call)
{
    /* TODO: fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
     *   - it fails: *call = "socket for"; return -1.
     * then connect(fd, ai->ai_addr, ai->ai_addrlen);
     *   - it fails: *call = "connect to"; close(fd), since this socket is of no
     *     more use, but keep errno as connect() left it (save it before close,
     *     put it back after): the caller reports it. Return -1.
     *   - it works: return fd. */
    (void)ai;
    (void)call;
    not_implemented("try_address");
}

/* Resolve HOST and try its addresses in turn: "localhost" may give both ::1 and
 * 127.0.0.1, and the server may listen on only one of them. Returns 0 with c->fd
 * connected, or -1 after one line on stderr about the last failure. */
static int connect_to_server(struct client *c)
{
    /* TODO:
     *   1. struct addrinfo hints = {0}: ai_family = AF_UNSPEC (IPv4 and IPv6),
     *      ai_socktype = SOCK_STREAM (TCP), ai_flags = AI_NUMERICSERV.
     *   2. getaddrinfo(c->host, service, &hints, &addrs), where service is the port
     *      as a string (snprintf). A non-zero result rc is an error: say
     *      complain("cannot resolve %s port %d: %s", host, port, gai_strerror(rc))
     *      (strerror(errno) when rc == EAI_SYSTEM) and return -1.
     *   3. Walk the list (ai = addrs; ai != NULL; ai = ai->ai_next) with
     *      try_address() until one connects; remember the call and errno of the
     *      last failure.
     *   4. freeaddrinfo(addrs), whatever happened.
     *   5. None connected: complain("%s %s port %d: %s", call, host, port,
     *      strerror(err)), which reads "connect to 127.0.0.1 port 4242: Connection
     *      refused"; return -1. Otherwise c->fd is the socket: return 0. */
    (void)c;
    (void)try_address; /* silences "unused function": delete once you call it */
    not_implemented("connect_to_server");
}

/* === Copying === */

/* write() may take fewer bytes than offered (a pipe that is nearly full), or be
 * interrupted by a signal before writing anything: go on until all is out.
 * Returns 0, or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t len)
{
    /* TODO: while len > 0: n = write(fd, buf, len);
     *   - n < 0 and errno == EINTR: try again;
     *   - n < 0 otherwise: return -1;
     *   - else n bytes are out: move buf forward and len down by n. */
    (void)fd;
    (void)buf;
    (void)len;
    not_implemented("write_all");
}

/* Copy the socket to stdout until the server closes (recv returns 0). Returns
 * the exit status: 0 when the server closed, 1 on an error. */
static int copy_to_stdout(const struct client *c)
{
    /* TODO: loop: n = recv(c->fd, buf, sizeof buf, 0) into a char buf[16384];
     *   - n == 0: the server closed, all is here: return 0;
     *   - n < 0 and errno == EINTR: recv again;
     *   - n < 0 otherwise: complain("recv from %s port %d: %s", ...); return 1;
     *   - n > 0: write_all(STDOUT_FILENO, buf, n) right away (it fails:
     *     complain("write to stdout: %s", ...); return 1).
     * One recv() is not one message: it returns whatever has arrived so far.
     * Not printf("%s"): the data may hold NUL bytes, and stdio would keep it in a
     * buffer when stdout is a pipe. */
    (void)c;
    (void)write_all; /* silences "unused function": delete once you call it */
    not_implemented("copy_to_stdout");
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
