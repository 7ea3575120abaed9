/*
 * room.c -- the chat table of WP/1 chat (README.md).
 *
 * A frame is keyword ':' argument. PING, QUIT and the errors are those of
 * WP/1; NICK, MSG and WHO are the chat. Replies and broadcasts leave through
 * chat_send(), which only queues bytes: nothing here blocks or fails but a
 * malloc, and the order of one sender's frames is the order of the queue.
 *
 * The room is the array room->named: every client with a nick, sorted
 * bytewise by nick. WHO is one walk along it; a nick is found (NICKTAKEN) or
 * placed by a binary search.
 *
 * This is the starter: the shape is here, the work is in the TODO blocks.
 * README.md says exactly what the room must do.
 */
#define _POSIX_C_SOURCE 200809L /* stpcpy() */

#include "room.h"

#include "calc.h"  /* KEYWORD_MAX */
#include "frame.h" /* FRAME_MAX */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAY(to, text) chat_send((to), (text), sizeof(text) - 1) /* a literal, no NUL */

/* Each TODO stops the program here until it is done. Once nothing calls this
 * function any more, delete it. */
static _Noreturn void not_implemented(const char *where)
{
    fprintf(stderr, "chat-room: not implemented yet: see README.md (TODO in %s)\n", where);
    exit(1);
}

/* === Names === */

static int is_keyword(const char *s, size_t len)
{
    if (len < 1 || len > KEYWORD_MAX) return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < 'A' || s[i] > 'Z') return 0;
    return 1;
}

/* 1 to NICK_MAX of A-Z a-z 0-9 _ - */
static int is_nick(const char *s, size_t len)
{
    /* TODO 9: 1 if s[0 .. len) is a nick, else 0. Byte by byte: isalnum()
     * depends on the locale, and a NUL byte or an 'é' is not a nick. */
    (void)s;
    (void)len;
    not_implemented("is_nick");
}

/* Where nick is in room->named, or would go; *found tells which. */
static size_t place(const struct room *room, const char *nick, int *found)
{
    /* TODO 10: a binary search of room->named[0 .. count) for nick, by
     * strcmp() (bytewise: "Ann" < "ann", "-x" < "9" < "Z" < "_" < "a").
     * Found: *found = 1 and its index. Not found: *found = 0 and the index
     * where it would go to keep the array sorted (0 to count). */
    (void)room;
    (void)nick;
    (void)found;
    not_implemented("place");
}

/* === Sending to many === */

/* bytes to every client with a nick, but one (NULL: nobody left out). */
static void broadcast(const struct room *room, const struct chatter *but, const char *bytes,
                      size_t len)
{
    /* TODO 11: chat_send() the bytes to each client of room->named but
     * `but`. chat_send() only queues them: the loop sends each queue when
     * its client can take it, so a slow receiver delays nobody. */
    (void)room;
    (void)but;
    (void)bytes;
    (void)len;
    not_implemented("broadcast");
}

/* "<what>:<nick>\n" to every other client with a nick. */
static void announce(const struct room *room, const char *what, const struct chatter *who)
{
    char line[sizeof "LEAVE:" + NICK_MAX + 1];
    size_t len = (size_t)(stpcpy(stpcpy(stpcpy(line, what), who->nick), "\n") - line);

    broadcast(room, who, line, len);
}

/* === The chat table === */

/* NICK:<name>. -1 when memory runs out (nothing sent then). */
static int nick(struct room *room, struct chatter *from, const char *name, size_t len)
{
    /* TODO 12: the errors in the README's order, the first that applies is the
     * reply: ERROR:HAVENICK (from->nick is set), ERROR:BADNICK (is_nick),
     * ERROR:NICKTAKEN (place() finds it; name is not NUL-terminated: copy
     * it into a char[NICK_MAX + 1] first). Else insert from into
     * room->named at the place found (memmove the tail up; grow the array
     * by doubling with realloc first, -1 if that fails), copy the nick into
     * from->nick, reply "OK:<nick>\n", and announce "JOIN:" to the others. */
    (void)room;
    (void)from;
    (void)name;
    (void)len;
    (void)is_nick;
    (void)place;
    (void)announce;
    not_implemented("nick");
}

/* MSG:<text>: to the others, not back to the sender. */
static void message(struct room *room, struct chatter *from, const char *text, size_t len)
{
    /* TODO 13: ERROR:NONICK to a sender without a nick. Else one line,
     * "MSG:<nick>:<text>\n", built once in a buffer big enough for the
     * longest (sizeof "MSG::\n" + NICK_MAX + FRAME_MAX), and broadcast to
     * every other client with a nick. The text may hold NUL bytes and
     * colons: memcpy() it, never strcpy(). */
    (void)room;
    (void)from;
    (void)text;
    (void)len;
    not_implemented("message");
}

/* WHO:<n1>,<n2>,... in pieces: the queue makes them one line. */
static void who(const struct room *room, struct chatter *from)
{
    /* TODO 14: "WHO:", then the nicks of room->named in order, separated by
     * ',', then "\n": to from only. Nobody named: "WHO:\n". */
    (void)room;
    (void)from;
    not_implemented("who");
}

void chat_leave(struct room *room, struct chatter *who)
{
    /* TODO 15: nothing to do for a client without a nick (it never joined,
     * or it has left already: this is called once per way of leaving).
     * Else take it out of room->named (place() finds it; memmove the tail
     * down), announce "LEAVE:" to the others, and clear who->nick: the nick
     * is free again. */
    (void)room;
    (void)who;
    not_implemented("chat_leave");
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
        SAY(from, "ERROR:UNKNOWN\n"); /* CALC too: it is not part of the chat */
    }
    return 0;
}

void room_free(struct room *room)
{
    free(room->named);
    *room = (struct room){0};
}
