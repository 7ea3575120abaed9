/*
step: 09-chat-room
bug: the output queue is a linked list of lines pushed at its head and sent from its head: the lines queued for a client between two sends go out newest first
fails: keeps each sender's messages in order, with several senders at once
also: 200 clients chatting at once: every message reaches every other client, in order | memory check (valgrind) | random chat sessions match the model of the room: several clients, interleaved, slow readers, leaves | a client that never reads its replies delays nobody else, and its replies stay bounded
cause: never reorder a queue
*/
/*
 * chat-room.c -- a chat room for many clients at once (WP/1 chat), in one
 * file: the kit's reference (chat-room.c, room.c and the bits of socklab.c
 * it uses) put together, the base of the 09-chat-room test programs. Each
 * test program is this file with one known bug put in, described above.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FRAME_MAX    512
#define KEYWORD_MAX  10
#define NICK_MAX     16
#define TOOLONG      "ERROR:TOOLONG\n"
#define OUT_LIMIT    ((size_t)64 * 1024)
#define READ_LIMIT   (OUT_LIMIT / 2)
#define ACCEPT_BURST 256

/* === Errors, arguments, the listener === */

static const char *program = "chat-room";

static void complain(const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", program, line);
}

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

static int listen_on(int port)
{
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    struct sockaddr *a = (struct sockaddr *)&a6;
    socklen_t len = sizeof a6;
    const char *call = "socket";
    int on = 1, off = 0, fd = socket(AF_INET6, SOCK_STREAM, 0);

    a6.sin6_port = a4.sin_port = htons((uint16_t)port);
    if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0) {
        if (fd >= 0) close(fd);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        a = (struct sockaddr *)&a4;
        len = sizeof a4;
    }
    if (fd < 0) goto error;
    call = "setsockopt SO_REUSEADDR";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) goto error;
    call = "bind";
    if (bind(fd, a, len) < 0) goto error;
    call = "listen";
    if (listen(fd, SOMAXCONN) < 0) goto error;
    return fd;

error:
    complain("%s port %d: %s", call, port, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
}

/* === The room === */

struct chatter {
    char nick[NICK_MAX + 1];
    int quit;
};

struct room {
    struct chatter **named;
    size_t count, cap;
};

static void chat_send(struct chatter *to, const char *bytes, size_t len);

#define SAY(to, text) chat_send((to), (text), sizeof(text) - 1)

static int is_keyword(const char *s, size_t len)
{
    if (len < 1 || len > KEYWORD_MAX) return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < 'A' || s[i] > 'Z') return 0;
    return 1;
}

static int nick_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static int is_nick(const char *s, size_t len)
{
    if (len < 1 || len > NICK_MAX) return 0;
    for (size_t i = 0; i < len; i++)
        if (!nick_char(s[i])) return 0;
    return 1;
}

static size_t place(const struct room *room, const char *nick, int *found)
{
    size_t low = 0, high = room->count;

    *found = 0;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        int order = strcmp(room->named[mid]->nick, nick);
        if (order == 0) {
            *found = 1;
            return mid;
        }
        if (order < 0)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

static void broadcast(const struct room *room, const struct chatter *but, const char *bytes,
                      size_t len)
{
    for (size_t i = 0; i < room->count; i++)
        if (room->named[i] != but) chat_send(room->named[i], bytes, len);
}

static void announce(const struct room *room, const char *what, const struct chatter *who)
{
    char line[sizeof "LEAVE:" + NICK_MAX + 1];
    size_t len = (size_t)(stpcpy(stpcpy(stpcpy(line, what), who->nick), "\n") - line);

    broadcast(room, who, line, len);
}

static int nick(struct room *room, struct chatter *from, const char *name, size_t len)
{
    int taken;

    if (from->nick[0] != '\0') return SAY(from, "ERROR:HAVENICK\n"), 0;
    if (!is_nick(name, len)) return SAY(from, "ERROR:BADNICK\n"), 0;
    char wanted[NICK_MAX + 1];
    memcpy(wanted, name, len);
    wanted[len] = '\0';
    size_t at = place(room, wanted, &taken);
    if (taken) return SAY(from, "ERROR:NICKTAKEN\n"), 0;
    if (room->count == room->cap) {
        size_t cap = room->cap ? 2 * room->cap : 64;
        struct chatter **named = realloc(room->named, cap * sizeof *named);
        if (named == NULL) return -1;
        room->named = named;
        room->cap = cap;
    }
    memmove(room->named + at + 1, room->named + at, (room->count - at) * sizeof *room->named);
    room->named[at] = from;
    room->count++;
    memcpy(from->nick, wanted, len + 1);
    char ok[sizeof "OK:\n" + NICK_MAX];
    chat_send(from, ok, (size_t)(stpcpy(stpcpy(stpcpy(ok, "OK:"), from->nick), "\n") - ok));
    announce(room, "JOIN:", from);
    return 0;
}

static void message(struct room *room, struct chatter *from, const char *text, size_t len)
{
    char line[sizeof "MSG::\n" + NICK_MAX + FRAME_MAX];
    char *end = stpcpy(stpcpy(stpcpy(line, "MSG:"), from->nick), ":");

    if (from->nick[0] == '\0') {
        SAY(from, "ERROR:NONICK\n");
        return;
    }
    memcpy(end, text, len);
    end[len] = '\n';
    broadcast(room, from, line, (size_t)(end - line) + len + 1);
}

static void who(const struct room *room, struct chatter *from)
{
    char *line = malloc(sizeof "WHO:\n" + room->count * (NICK_MAX + 1)), *end;

    if (line == NULL) return;
    end = stpcpy(line, "WHO:");
    for (size_t i = 0; i < room->count; i++) {
        if (i > 0) *end++ = ',';
        end = stpcpy(end, room->named[i]->nick);
    }
    *end++ = '\n';
    chat_send(from, line, (size_t)(end - line));
    free(line);
}

static void chat_leave(struct room *room, struct chatter *who)
{
    int found;

    if (who->nick[0] == '\0') return;
    size_t at = place(room, who->nick, &found);
    if (found) {
        memmove(room->named + at, room->named + at + 1,
                (room->count - at - 1) * sizeof *room->named);
        room->count--;
    }
    announce(room, "LEAVE:", who);
    who->nick[0] = '\0';
}

static int keyword_is(const char *word, size_t len, const char *name)
{
    return len == strlen(name) && memcmp(word, name, len) == 0;
}

static int chat_frame(struct room *room, struct chatter *from, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    size_t word = colon ? (size_t)(colon - line) : 0;

    if (colon == NULL || !is_keyword(line, word)) {
        SAY(from, "ERROR:SYNTAX\n");
        return 0;
    }
    const char *arg = colon + 1;
    size_t arg_len = len - word - 1;
    if (keyword_is(line, word, "PING")) {
        char pong[sizeof "PONG:\n" + FRAME_MAX];
        memcpy(pong, "PONG:", 5);
        memcpy(pong + 5, arg, arg_len);
        pong[5 + arg_len] = '\n';
        chat_send(from, pong, arg_len + 6);
    } else if (keyword_is(line, word, "NICK")) {
        return nick(room, from, arg, arg_len);
    } else if (keyword_is(line, word, "MSG")) {
        message(room, from, arg, arg_len);
    } else if (keyword_is(line, word, "WHO")) {
        who(room, from);
    } else if (keyword_is(line, word, "QUIT")) {
        SAY(from, "BYE:\n");
        chat_leave(room, from);
        from->quit = 1;
    } else {
        SAY(from, "ERROR:UNKNOWN\n");
    }
    return 0;
}

static void room_free(struct room *room)
{
    free(room->named);
    *room = (struct room){0};
}

/* === Clients === */

struct chunk {
    struct chunk *next;
    size_t len, sent;
    char bytes[];
};

struct client {
    struct chatter chat;
    int fd;
    int closing;
    int dead;
    int skipping;
    size_t in_used;
    char in[FRAME_MAX];
    struct chunk *out;
    size_t queued;
};

static struct {
    struct pollfd *polled;
    struct client **clients;
    size_t count, room;
    struct room chat;
    volatile sig_atomic_t stop;
} S;

static size_t unsent(const struct client *c)
{
    return c->queued;
}

static void kill_client(struct client *c)
{
    c->dead = 1;
}

static void flush(struct client *c)
{
    while (!c->dead && c->out != NULL) {
        struct chunk *head = c->out;
        ssize_t n = send(c->fd, head->bytes + head->sent, head->len - head->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) kill_client(c);
            return;
        }
        head->sent += (size_t)n;
        c->queued -= (size_t)n;
        if (head->sent < head->len) return;
        c->out = head->next;
        free(head);
    }
}

static void free_queue(struct client *c)
{
    while (c->out != NULL) {
        struct chunk *next = c->out->next;
        free(c->out);
        c->out = next;
    }
}

static void chat_send(struct chatter *to, const char *bytes, size_t len)
{
    struct client *c = (struct client *)to;

    if (c->dead) return;
    if (unsent(c) + len > OUT_LIMIT) flush(c);
    struct chunk *chunk = unsent(c) + len > OUT_LIMIT ? NULL : malloc(sizeof *chunk + len);
    if (chunk == NULL) {
        kill_client(c);
        return;
    }
    memcpy(chunk->bytes, bytes, len);
    chunk->len = len;
    chunk->sent = 0;
    chunk->next = c->out;
    c->out = chunk;
    c->queued += len;
}

static void answer_line(struct client *c, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r') len--;
    if (chat_frame(&S.chat, &c->chat, line, len) < 0) kill_client(c);
    c->closing |= c->chat.quit;
}

static void answer_frames(struct client *c)
{
    char *start = c->in, *end = c->in + c->in_used, *nl;

    while (!c->closing && !c->dead && (nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
        if (!c->skipping) answer_line(c, start, (size_t)(nl - start));
        c->skipping = 0;
        start = nl + 1;
    }
    size_t left = (size_t)(end - start);
    if (c->closing || c->skipping) {
        left = 0;
    } else if (left == FRAME_MAX) {
        chat_send(&c->chat, TOOLONG, sizeof TOOLONG - 1);
        c->skipping = 1;
        left = 0;
    }
    memmove(c->in, end - left, left);
    c->in_used = left;
}

static void receive(struct client *c)
{
    ssize_t n = recv(c->fd, c->in + c->in_used, FRAME_MAX - c->in_used, 0);

    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) kill_client(c);
    } else if (n == 0) {
        c->closing = 1;
        chat_leave(&S.chat, &c->chat);
    } else {
        c->in_used += (size_t)n;
        answer_frames(c);
    }
}

static short interest(const struct client *c)
{
    short events = unsent(c) > 0 ? POLLOUT : 0;

    if (!c->closing && unsent(c) <= READ_LIMIT) events |= POLLIN;
    return events;
}

static struct pollfd *watch(size_t i)
{
    return &S.polled[1 + i];
}

static int grow(void)
{
    if (S.count < S.room) return 0;
    size_t room = S.room ? 2 * S.room : 64;
    struct pollfd *polled = realloc(S.polled, (1 + room) * sizeof *polled);
    if (polled != NULL) S.polled = polled;
    struct client **clients = realloc(S.clients, room * sizeof *clients);
    if (clients != NULL) S.clients = clients;
    if (polled == NULL || clients == NULL) return -1;
    S.room = room;
    return 0;
}

static int add(int fd, struct client *c)
{
    if (grow() < 0) return -1;
    *watch(S.count) = (struct pollfd){.fd = fd, .events = POLLIN};
    S.clients[S.count++] = c;
    return 0;
}

static void drop(size_t i)
{
    struct client *c = S.clients[i];

    chat_leave(&S.chat, &c->chat);
    if (close(c->fd) < 0) complain("close: %s", strerror(errno));
    free_queue(c);
    free(c);
    S.count--;
    *watch(i) = *watch(S.count);
    S.clients[i] = S.clients[S.count];
}

static void welcome(int fd)
{
    int on = 1;
    struct client *c = calloc(1, sizeof *c);

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    if (c == NULL || add(fd, c) < 0) {
        complain("out of memory: client turned away");
        free(c);
        close(fd);
        return;
    }
    c->fd = fd;
}

static void accept_clients(int listener)
{
    for (int i = 0; i < ACCEPT_BURST; i++) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd >= 0) {
            welcome(fd);
        } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            S.polled[0].events = 0;
            return;
        } else if (errno != EINTR && errno != ECONNABORTED) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) complain("accept: %s", strerror(errno));
            return;
        }
    }
}

/* === Main loop === */

static void serve(size_t i)
{
    struct client *c = S.clients[i];
    short ready = watch(i)->revents;

    if (ready & POLLERR) kill_client(c);
    if (!c->dead && (ready & (POLLIN | POLLHUP)) && (watch(i)->events & POLLIN)) receive(c);
    if (ready & POLLOUT) flush(c);
}

static void tidy(void)
{
    int dropped;

    do {
        dropped = 0;
        for (size_t i = S.count; i-- > 0;) {
            struct client *c = S.clients[i];
            if (!(watch(i)->events & POLLOUT)) flush(c);
            if (c->dead || (c->closing && unsent(c) == 0)) {
                drop(i);
                dropped = 1;
            } else {
                watch(i)->events = interest(c);
            }
        }
    } while (dropped);
}

static void on_signal(int sig)
{
    (void)sig;
    S.stop = 1;
}

static void catch_signals(sigset_t *unblocked)
{
    struct sigaction action = {.sa_handler = on_signal};
    sigset_t blocked;

    sigemptyset(&blocked);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGTERM);
    sigprocmask(SIG_BLOCK, &blocked, unblocked);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

int main(int argc, char **argv)
{
    int port = -1, listener, status = 0;
    sigset_t unblocked;

    if (argc != 2 || (port = parse_port(argv[1])) < 0) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    catch_signals(&unblocked);
    if ((listener = listen_on(port)) < 0) return 1;
    if (fcntl(listener, F_SETFL, O_NONBLOCK) < 0 || grow() < 0) {
        complain("listener on port %d: %s", port, strerror(errno));
        return 1;
    }
    S.polled[0] = (struct pollfd){.fd = listener, .events = POLLIN};
    while (!S.stop) {
        struct timespec second = {.tv_sec = 1};
        int paused = S.polled[0].events == 0;

        if (ppoll(S.polled, 1 + S.count, paused ? &second : NULL, &unblocked) < 0) {
            if (errno == EINTR) continue;
            complain("poll: %s", strerror(errno));
            status = 1;
            break;
        }
        for (size_t i = S.count; i-- > 0;)
            if (watch(i)->revents) serve(i);
        tidy();
        if (S.polled[0].revents & POLLIN) accept_clients(listener);
        if (paused) S.polled[0].events = POLLIN;
    }
    while (S.count > 0) drop(S.count - 1);
    close(listener);
    room_free(&S.chat);
    free(S.polled);
    free(S.clients);
    return status;
}
