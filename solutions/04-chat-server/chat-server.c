/*
 * chat-server.c -- socklab step 04: talk with one client at a time.
 *
 *     usage: chat-server PORT
 *
 * The operator types at the server's stdin, the client talks over its socket,
 * and either may speak at any moment: poll() waits on both. While nobody is
 * connected it waits on stdin and on the listening socket instead, so what the
 * operator types then is read (and dropped) rather than saved for the next
 * client. Clients that connect meanwhile wait in the listen backlog until the
 * current one has left. The end of stdin ends the server; Ctrl-C (SIGINT) or
 * kill (SIGTERM) too, by their default action.
 *
 * What step 02 wrote by hand (the PORT parser, the listening socket, accept,
 * the client's address, write_all, the error line) comes from the kit's
 * library, ../common/socklab.h.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
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

/* === Command line === */

/* A bad command line is the user's mistake, not a failure: usage, exit 2. */
static void read_arguments(struct server *s, int argc, char **argv)
{
    check_usage(argc == 2 && (s->port = parse_port(argv[1])) > 0, argv, "PORT");
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
    log_line("Client ", s->who, " left");
    if (close(s->client_fd) < 0) complain("close connection from %s: %s", s->who, strerror(errno));
    s->client_fd = -1;
}

/* poll() said a client is waiting: take it, log it, greet it. A failed accept
 * (a client that gave up while it waited) is not the server's fault: it has
 * been reported, and the server goes on waiting. */
static void greet_client(struct server *s)
{
    union address peer;
    int fd = accept_client(s->listen_fd, &peer);

    if (fd < 0) return;
    s->client_fd = fd;
    format_address(&peer, s->who);
    log_line("Got connection from ", s->who, "");
    /* write_all sends with MSG_NOSIGNAL: a client that is already gone is an
     * EPIPE to log, not a SIGPIPE that kills the whole server */
    if (write_all(fd, WELCOME, strlen(WELCOME)) < 0) {
        complain("send to %s: %s", s->who, strerror(errno));
        drop_client(s);
    }
}

/* The client said something, or left (recv returns 0 on close, -1 on a
 * reset). Its bytes go to stdout as they are, at once, with write(). */
static void relay_from_client(struct server *s)
{
    char buf[BUF_SIZE];
    ssize_t n = recv(s->client_fd, buf, sizeof buf, 0);

    if (n < 0 && errno == EINTR) return;
    if (n < 0) complain("recv from %s: %s", s->who, strerror(errno));
    if (n <= 0) {
        drop_client(s);
        return;
    }
    if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
        complain("write to stdout: %s", strerror(errno));
}

/* === The operator === */

/* The operator typed something: it goes to the client, or nowhere if nobody
 * is connected (reading it anyway keeps it from reaching the next client).
 * Returns 1 at the end of stdin, -1 if stdin fails, 0 otherwise. */
static int relay_from_operator(struct server *s)
{
    char buf[BUF_SIZE];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);

    if (n < 0 && errno == EINTR) return 0;
    if (n < 0) {
        complain("read from stdin: %s", strerror(errno));
        return -1;
    }
    if (n == 0) return 1;
    if (s->client_fd >= 0 && write_all(s->client_fd, buf, (size_t)n) < 0) {
        complain("send to %s: %s", s->who, strerror(errno));
        drop_client(s);
    }
    return 0;
}

/* === Main loop === */

/* Wait on stdin and on one socket: the client while there is one, else the
 * listening socket. Not watching the listening socket during a conversation
 * is what makes the next clients wait in the backlog. Returns the exit status
 * once stdin has ended (or failed). */
static int serve(struct server *s)
{
    for (;;) {
        int talking = s->client_fd >= 0;
        struct pollfd fds[2] = {
            {.fd = talking ? s->client_fd : s->listen_fd, .events = POLLIN},
            {.fd = STDIN_FILENO, .events = POLLIN},
        };
        int ended = 0;

        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            complain("poll: %s", strerror(errno));
            return 1;
        }
        /* POLLHUP and POLLERR come even unasked: the next read tells which */
        if (fds[0].revents != 0 && talking) relay_from_client(s);
        if (fds[0].revents != 0 && !talking) greet_client(s);
        if (fds[1].revents != 0) ended = relay_from_operator(s);
        if (ended != 0) return ended > 0 ? 0 : 1;
    }
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
