/*
 * chat-server.c -- socklab step 04: talk with one client at a time.
 *
 *     usage: chat-server PORT
 *
 * The operator types at the server's stdin, the client talks over its socket,
 * and either may speak at any moment: poll() waits on both. While nobody is
 * connected it waits on stdin and on the listening socket instead. Clients
 * that connect meanwhile wait in the listen backlog until the current one has
 * left. The end of stdin ends the server.
 *
 * This is the starter: the shape is here, the work is in the TODO blocks. Do them
 * top to bottom; README.md says exactly what the program must do. What you wrote
 * by hand in step 02 (the PORT parser, the listening socket, accept, the client's
 * address, write_all, the error line) comes from the kit's library: read
 * ../common/socklab.h first.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define WELCOME  "Welcome to the server!\n"
#define BUF_SIZE 16384 /* one read's worth; more simply takes several */

/* === State === */

struct server {
    int port;               /* 1 to 65535, checked */
    int listen_fd;          /* the listening socket, -1 until it listens */
    int client_fd;          /* the client being served, -1 while nobody is connected */
    char who[ADDRESS_SIZE]; /* that client's "IP:PORT", for the log */
};

/* Each TODO stops the program here until it is done. Once nothing calls this
 * function any more, delete it. (It cannot use complain() yet: complain takes
 * the program's name from check_usage(), your first TODO.) */
static _Noreturn void not_implemented(const char *where)
{
    fprintf(stderr, "chat-server: not implemented yet: see README.md (TODO in %s)\n", where);
    exit(1);
}

/* === Command line === */

/* A bad command line is the user's mistake, not a failure: usage, exit 2. */
static void read_arguments(struct server *s, int argc, char **argv)
{
    /* TODO: `chat-server PORT` means argc == 2 and parse_port(argv[1]) not -1
     * (keep what it returns in s->port). Hand that test to check_usage(ok,
     * argv, "PORT"): when ok is false it prints "usage: chat-server PORT" and
     * exits 2. */
    (void)s;
    (void)argc;
    (void)argv;
    not_implemented("read_arguments");
}

/* === Logging === */

/* The log lines go through stdio; stdout may be a pipe, where printf keeps
 * lines in a buffer: flush each one as it is printed. */
static void log_line(const char *what, const char *who, const char *rest)
{
    printf("%s%s%s\n", what, who, rest);
    if (fflush(stdout) == EOF) complain("write to stdout: %s", strerror(errno));
}

/* === The client === */

/* The client has left (it closed, reset, or could not be sent to): log it and
 * free its socket, so that poll() turns to the listening socket again. */
static void drop_client(struct server *s)
{
    /* TODO: log_line("Client ", s->who, " left"); close(s->client_fd) (if it
     * fails: complain("close connection from %s: %s", ...)); s->client_fd = -1. */
    (void)s;
    not_implemented("drop_client");
}

/* poll() said a client is waiting: take it, log it, greet it. A failed accept
 * (a client that gave up while it waited) is not the server's fault: it has
 * been reported, and the server goes on waiting. */
static void greet_client(struct server *s)
{
    /* TODO: union address peer; int fd = accept_client(s->listen_fd, &peer);
     *   - -1: accept_client has said why on stderr: just return;
     *   - otherwise the client stays: s->client_fd = fd; format_address(&peer,
     *     s->who); log_line("Got connection from ", s->who, ""); then
     *     write_all() the WELCOME line to it (if it fails: complain("send to
     *     %s: %s", ...), drop_client(s)). */
    (void)s;
    (void)log_line; /* silences "unused function": delete once you call it */
    not_implemented("greet_client");
}

/* The client said something, or left (recv returns 0 on close, -1 on a
 * reset). Its bytes go to stdout as they are, at once, with write(). */
static void relay_from_client(struct server *s)
{
    /* TODO: one recv() from s->client_fd into a char buf[BUF_SIZE], then:
     *   - -1 with errno == EINTR: return;
     *   - -1 otherwise (ECONNRESET: it reset): complain("recv from %s: %s", ...),
     *     then drop_client(s), as for 0;
     *   - 0: the client has closed: drop_client(s);
     *   - n > 0: write_all(STDOUT_FILENO, buf, n) at once (if it fails:
     *     complain("write to stdout: %s", ...)). */
    (void)s;
    (void)drop_client; /* silences "unused function": delete once you call it */
    not_implemented("relay_from_client");
}

/* === The operator === */

/* The operator typed something: it goes to the client, or nowhere if nobody
 * is connected (reading it anyway keeps it from reaching the next client).
 * Returns 1 at the end of stdin, -1 if stdin fails, 0 otherwise. */
static int relay_from_operator(struct server *s)
{
    /* TODO: one read() from STDIN_FILENO into a char buf[BUF_SIZE], then:
     *   - -1 with errno == EINTR: return 0;
     *   - -1 otherwise: complain("read from stdin: %s", ...), return -1;
     *   - 0, the end of input: return 1;
     *   - n > 0: if a client is connected (s->client_fd >= 0), write_all() the
     *     n bytes to it (if it fails: complain("send to %s: %s", ...) and
     *     drop_client(s)); with nobody connected they are dropped. Return 0. */
    (void)s;
    not_implemented("relay_from_operator");
}

/* === Main loop === */

/* Wait on stdin and on one socket: the client while there is one, else the
 * listening socket. Not watching the listening socket during a conversation
 * is what makes the next clients wait in the backlog. Returns the exit status
 * once stdin has ended (or failed). */
static int serve(struct server *s)
{
    /* TODO: loop forever:
     *   - int talking = s->client_fd >= 0;
     *   - struct pollfd fds[2]: {talking ? s->client_fd : s->listen_fd, POLLIN}
     *     and {STDIN_FILENO, POLLIN};
     *   - poll(fds, 2, -1): -1 with errno == EINTR means poll again; any other
     *     failure: complain("poll: %s", ...) and return 1;
     *   - fds[0].revents != 0: relay_from_client(s) if talking, else
     *     greet_client(s);
     *   - fds[1].revents != 0: ended = relay_from_operator(s); 1 means the end
     *     of input: return 0; -1: return 1. */
    (void)s;
    (void)greet_client; /* silences "unused function": delete once you call it */
    (void)relay_from_client;
    (void)relay_from_operator;
    not_implemented("serve");
}

/* === Main === */

int main(int argc, char **argv)
{
    struct server s = {.listen_fd = -1, .client_fd = -1};
    int status;

    read_arguments(&s, argc, argv);
    if ((s.listen_fd = listen_on(s.port)) < 0) return 1;
    /* stderr: stdout carries nothing but the log and the client's words */
    fprintf(stderr, "chat-server: listening on port %d\n", s.port);
    status = serve(&s);
    /* the end of stdin hangs up on the client too: it gets an end of file */
    if (s.client_fd >= 0 && close(s.client_fd) < 0)
        complain("close connection from %s: %s", s.who, strerror(errno));
    if (close(s.listen_fd) < 0) complain("close port %d: %s", s.port, strerror(errno));
    return status;
}
