/*
step: 04-chat-server
bug: once its client has left it exits instead of accepting the next one
fails: logs Client IP:PORT left when the client closes, then greets the next one waiting
also: memory check (valgrind) | logs an IPv6 client as [IP]:PORT, an IPv4 one as IP:PORT (a dual-stack server) | a client that half-closes has left: logs it, closes its connection | prints nothing on stdout but the Got connection and left lines and the client's bytes | survives a client that resets while text is typed to it
cause: accept() the next one
*/
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
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define WELCOME   "Welcome to the server!\n"
#define ADDR_SIZE (INET6_ADDRSTRLEN + sizeof "[]:65535") /* the longest "IP:PORT" */
#define BUF_SIZE  16384 /* one read's worth; more simply takes several */

/* === State === */

struct server {
    int port;            /* 1 to 65535, checked */
    int listen_fd;       /* the listening socket, -1 until it listens */
    int client_fd;       /* the client being served, -1 while nobody is connected */
    char who[ADDR_SIZE]; /* that client's "IP:PORT", for the log */
};

/* === Errors === */

/* One line on stderr, prefixed with the program's name, written in one go.
 * Callers decide whether to exit or to go on. */
static void complain(const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "chat-server: %s\n", line);
}

/* === Command line === */

/* A port is a plain decimal number from 1 to 65535. strtol alone would also
 * accept " 80", "+80" and "-1" (it skips spaces and takes a sign), so the first
 * character must be a digit; the end pointer rejects "80a" and "0x50". */
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
static void read_arguments(struct server *s, int argc, char **argv)
{
    if (argc != 2 || (s->port = parse_port(argv[1])) < 0) {
        fprintf(stderr, "usage: chat-server PORT\n");
        exit(2);
    }
}

/* === Listening === */

/* An IPv6 socket with IPV6_V6ONLY off takes IPv4 clients too (they show up as
 * ::ffff:a.b.c.d), so one socket covers every local address. A host without
 * IPv6 refuses that socket: then a plain IPv4 one will do. */
static int open_socket(int *family)
{
    int off = 0;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);

    if (fd >= 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) == 0) {
        *family = AF_INET6;
        return fd;
    }
    if (fd >= 0) close(fd); /* IPv6 only would miss the IPv4 clients: nothing to report */
    *family = AF_INET;
    return socket(AF_INET, SOCK_STREAM, 0);
}

/* The wildcard address of the family ("any local address") on our port. The
 * port goes in network byte order: htons. */
static socklen_t any_address(int family, int port, struct sockaddr_storage *ss)
{
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

    memset(ss, 0, sizeof *ss);
    if (family == AF_INET6) {
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_any;
        a6->sin6_port = htons((uint16_t)port);
        return sizeof *a6;
    }
    a4->sin_family = AF_INET;
    a4->sin_addr.s_addr = htonl(INADDR_ANY);
    a4->sin_port = htons((uint16_t)port);
    return sizeof *a4;
}

/* socket, SO_REUSEADDR, bind, listen. SO_REUSEADDR lets a restarted server bind
 * its port at once, while the connections of its last run linger in TIME_WAIT.
 * Returns 0, or -1 after one line on stderr (and with the socket closed). */
static int listen_on_port(struct server *s)
{
    struct sockaddr_storage addr;
    const char *call;
    int family, on = 1;

    call = "socket";
    if ((s->listen_fd = open_socket(&family)) < 0) goto error;
    call = "setsockopt SO_REUSEADDR";
    if (setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) goto error;
    call = "bind";
    if (bind(s->listen_fd, (struct sockaddr *)&addr, any_address(family, s->port, &addr)) < 0)
        goto error;
    call = "listen";
    if (listen(s->listen_fd, SOMAXCONN) < 0) goto error;
    return 0;

error:
    complain("%s port %d: %s", call, s->port, strerror(errno));
    if (s->listen_fd >= 0) close(s->listen_fd);
    s->listen_fd = -1;
    return -1;
}

/* === Writing it all === */

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

/* The same for a socket. Without MSG_NOSIGNAL, sending to a client that has
 * already left raises SIGPIPE, and its default action kills the whole server;
 * with it, send() fails with EPIPE and the server goes on. */
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

/* The log lines go through stdio; stdout may be a pipe, where printf keeps
 * lines in a buffer: flush each one as it is printed. */
static void log_line(const char *what, const char *who, const char *rest)
{
    printf("%s%s%s\n", what, who, rest);
    if (fflush(stdout) == EOF) complain("write to stdout: %s", strerror(errno));
}

/* === The client === */

/* "IP:PORT" for a peer: IPv4 as is, IPv6 in brackets, and an IPv4 client of
 * the dual-stack socket (::ffff:a.b.c.d) back in its IPv4 form. */
static void format_address(const struct sockaddr_storage *ss, char *out, size_t size)
{
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)ss;
    int family = AF_INET;
    const void *ip = &a4->sin_addr;
    unsigned port = ntohs(a4->sin_port);
    char text[INET6_ADDRSTRLEN];

    if (ss->ss_family == AF_INET6) {
        int mapped = IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr);
        family = mapped ? AF_INET : AF_INET6;
        ip = mapped ? (const void *)&a6->sin6_addr.s6_addr[12] : (const void *)&a6->sin6_addr;
        port = ntohs(a6->sin6_port);
    }
    if (inet_ntop(family, ip, text, sizeof text) == NULL)
        snprintf(text, sizeof text, "?"); /* cannot happen: text fits any address */
    if (family == AF_INET6)
        snprintf(out, size, "[%s]:%u", text, port);
    else
        snprintf(out, size, "%s:%u", text, port);
}

/* The client has left (it closed, reset, or could not be sent to): log it and
 * free its socket, so that poll() turns to the listening socket again. */
static void drop_client(struct server *s)
{
    log_line("Client ", s->who, " left");
    if (close(s->client_fd) < 0) complain("close connection from %s: %s", s->who, strerror(errno));
    s->client_fd = -1;
}

/* poll() said a client is waiting: take it, log it, greet it. accept() fails
 * for reasons that are not the server's fault: a signal (EINTR), a client that
 * gave up while it waited (ECONNABORTED), a shortage of descriptors. None is a
 * reason to stop serving; after a shortage, pause rather than spin. */
static void accept_client(struct server *s)
{
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int fd = accept(s->listen_fd, (struct sockaddr *)&peer, &len);

    if (fd < 0) {
        int err = errno;
        if (err == EINTR) return;
        complain("accept on port %d: %s", s->port, strerror(err));
        if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) sleep(1);
        return;
    }
    s->client_fd = fd;
    format_address(&peer, s->who, sizeof s->who);
    log_line("Got connection from ", s->who, "");
    if (send_all(fd, WELCOME, strlen(WELCOME)) < 0) {
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
    if (s->client_fd >= 0 && send_all(s->client_fd, buf, (size_t)n) < 0) {
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
        if (talking && s->client_fd < 0) return 0; /* the client has gone: the chat is over */
        if (fds[0].revents != 0 && !talking) accept_client(s);
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
    if (listen_on_port(&s) < 0) return 1;
    /* stderr: stdout carries nothing but the log and the client's words */
    fprintf(stderr, "chat-server: listening on port %d\n", s.port);
    status = serve(&s);
    /* the end of stdin hangs up on the client too: it gets an end of file */
    if (s.client_fd >= 0 && close(s.client_fd) < 0)
        complain("close connection from %s: %s", s.who, strerror(errno));
    if (close(s.listen_fd) < 0) complain("close port %d: %s", s.port, strerror(errno));
    return status;
}
