/*
 * room.h -- the chat room of WP/1 chat, without sockets: one frame in,
 * replies and broadcasts out.
 *
 * chat-room.c owns the sockets and the buffers; everything the README's chat
 * table says about a frame lives in room.c, so it can be tested (or fuzzed) on
 * its own: link room.c with your own chat_send().
 */
#ifndef ROOM_H
#define ROOM_H

#include <stddef.h>

#define NICK_MAX 16 /* a nick is 1 to 16 of A-Z a-z 0-9 _ - */

/* One connected client, as the room sees it. */
struct chatter {
    char nick[NICK_MAX + 1]; /* "" until NICK succeeds, and again once it has left */
    int quit;                /* QUIT answered: read no more, close once BYE: is sent */
};

/* Every client with a nick, sorted bytewise by nick: WHO is one walk,
 * NICKTAKEN one binary search. */
struct room {
    struct chatter **named;
    size_t count, cap;
};

/* Queues len bytes for one client. room.c calls it; the program that holds
 * the sockets defines it. */
void chat_send(struct chatter *to, const char *bytes, size_t len);

/* Answers one frame's line (no '\n', no '\r' ending; len bytes, NUL bytes
 * allowed): the reply to from, the broadcasts to the others. -1 when memory
 * runs out (nothing was sent then). */
int chat_frame(struct room *room, struct chatter *from, const char *line, size_t len);

/* who leaves (QUIT, end of input, reset, dropped): LEAVE:<nick> to the
 * others, and the nick is free again. Nothing happens without a nick. */
void chat_leave(struct room *room, struct chatter *who);

void room_free(struct room *room);

#endif
