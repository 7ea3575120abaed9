/*
 * room.c -- the chat table of WP/1 chat (README.md).
 *
 * A frame is keyword ':' argument. PING, QUIT and the errors are those of
 * WP/1; NICK, MSG and WHO are the chat. Replies and broadcasts leave through
 * chat_send(), which only queues bytes: nothing here blocks or fails but a
 * malloc, and the order of one sender's frames is the order of the queue.
 */
#define _POSIX_C_SOURCE 200809L /* stpcpy() */

#include "room.h"

#include "calc.h"  /* KEYWORD_MAX */
#include "frame.h" /* FRAME_MAX */

#include <stdlib.h>
#include <string.h>

#define SAY(to, text) chat_send((to), (text), sizeof(text) - 1) /* a literal, no NUL */

/* === Names === */

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

/* Where nick is in room->named, or would go; *found tells which. */
static size_t place(const struct room *room, const char *nick, int *found)
{
    size_t low = 0, high = room->count;

    *found = 0;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        int order = strcmp(room->named[mid]->nick, nick); /* bytewise: unsigned char */
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

/* === Sending to many === */

/* bytes to every client with a nick, but one (NULL: nobody left out). */
static void broadcast(const struct room *room, const struct chatter *but, const char *bytes,
                      size_t len)
{
    for (size_t i = 0; i < room->count; i++)
        if (room->named[i] != but) chat_send(room->named[i], bytes, len);
}

/* "<what>:<nick>\n" to every other client with a nick. */
static void announce(const struct room *room, const char *what, const struct chatter *who)
{
    char line[sizeof "LEAVE:" + NICK_MAX + 1];
    size_t len = (size_t)(stpcpy(stpcpy(stpcpy(line, what), who->nick), "\n") - line);

    broadcast(room, who, line, len);
}

/* === The chat table === */

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
        struct chatter **named = realloc(
            room->named,
            cap * sizeof *named); /* NOLINT(bugprone-sizeof-expression): an array of pointers */
        if (named == NULL) return -1;
        room->named = named;
        room->cap = cap;
    }
    memmove(room->named + at + 1, room->named + at,
            (room->count - at) * sizeof *room->named); /* NOLINT(bugprone-sizeof-expression) */
    room->named[at] = from;
    room->count++;
    memcpy(from->nick, wanted, len + 1);
    SAY(from, "OK:");
    chat_send(from, from->nick, len);
    SAY(from, "\n");
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
    memcpy(end, text, len); /* may hold NUL bytes */
    end[len] = '\n';
    broadcast(room, from, line, (size_t)(end - line) + len + 1);
}

/* WHO:<n1>,<n2>,... in pieces: the queue makes them one line. */
static void who(const struct room *room, struct chatter *from)
{
    SAY(from, "WHO:");
    for (size_t i = 0; i < room->count; i++) {
        if (i > 0) SAY(from, ",");
        chat_send(from, room->named[i]->nick, strlen(room->named[i]->nick));
    }
    SAY(from, "\n");
}

void chat_leave(struct room *room, struct chatter *who)
{
    int found;

    if (who->nick[0] == '\0') return;
    size_t at = place(room, who->nick, &found);
    if (found) {
        memmove(room->named + at, room->named + at + 1,
                (room->count - at - 1) *
                    sizeof *room->named); /* NOLINT(bugprone-sizeof-expression) */
        room->count--;
    }
    announce(room, "LEAVE:", who); /* who is out of the room already: not to itself */
    who->nick[0] = '\0';
}

static int keyword_is(const char *word, size_t len, const char *name)
{
    return len == strlen(name) && memcmp(word, name, len) == 0;
}

int chat_frame(struct room *room, struct chatter *from, const char *line, size_t len)
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
        SAY(from, "PONG:");
        chat_send(from, arg, arg_len);
        SAY(from, "\n");
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

void room_free(struct room *room)
{
    free(room->named);
    *room = (struct room){0};
}
