/*
 * fuzz_chat_room.c -- libFuzzer target: the reference chat room
 * (solutions/09-chat-room/room.c: chat_frame() and chat_leave()) driven by
 * several clients at once, against a model of the room.
 *
 * The fuzz input is a script for up to 8 clients (slots 0 to 7), one command
 * byte at a time:
 *
 *     '0' to '7'     client c - '0' sends a frame: its line is the input bytes up
 *                    to the next '\n' (or the end of input)
 *     1sssskkk       (c >= 0x80) client c & 7 sends a frame whose line is the
 *                    keyword KEYWORDS[(c >> 3) & 15] (NICK:, MSG:, WHO:, QUIT:,
 *                    PING:, CALC:...) then the bytes up to the next '\n'; the
 *                    last two of the 16 close client c & 7 instead
 *     'a' to 'h'     client c - 'a' closes its connection (or resets it)
 *     '!'            the next realloc() fails: chat_frame() must then return -1
 *                    and send nothing, and the client is dropped
 *     anything else  skipped ('\n' between commands, say)
 *
 * A line is cut at FRAME_MAX - 1 bytes and loses one '\r' ending, as
 * read_line() and chat-room.c hand it over. A frame from an empty slot first
 * connects a new client there; QUIT, a close or a -1 empties it. As chat-room.c
 * does, a client that goes gets chat_leave() (again after QUIT: then it must
 * send nothing), and its struct is freed (ASan sees the room keep it). At the
 * end of input every client still there closes, slot by slot.
 *
 * The model is written from SPEC.md alone: the WP/1 rules (SYNTAX, PING's
 * echo, UNKNOWN, CALC not in the chat), NICK's OK/JOIN and its errors in the
 * order HAVENICK, BADNICK, NICKTAKEN (1 to 16 of A-Z a-z 0-9 _ -, case
 * sensitive, free again once its owner left), MSG to every other client with
 * a nick (NONICK before NICK), WHO sorted bytewise, QUIT's BYE: and LEAVE,
 * LEAVE on a close. After every call, what each client received in it must be
 * the model's byte for byte (so at most one message per client per call,
 * ending with its only '\n', and nothing for a client that left: chat_send()
 * to one is an error of its own); and room.h's invariants hold: room->named
 * is every nick, sorted, without duplicates, and each client's nick field is
 * the model's ("" without one), quit set after QUIT only.
 *
 * -DROOM_C=\"path\" builds it on another room.c (tests/test_fuzz.py: the room
 * of each known-bug 09-chat-room program); without room.h, room.h's fields are
 * not checked, only what is sent.
 */
#define _POSIX_C_SOURCE 200809L /* room.c's stpcpy(), before any header */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The code of this file is not instrumented for libFuzzer's coverage: room.c's
 * is what guides it (its functions stay out of line here, so they keep it), and
 * the target runs about twice as fast. ASan and UBSan still watch it all. */
#if defined(__clang__) && __clang_major__ >= 13
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define NO_COVERAGE
#endif

struct room;
struct chatter;
__attribute__((noinline)) int chat_frame(struct room *room, struct chatter *from, const char *line,
                                         size_t len);
__attribute__((noinline)) void chat_leave(struct room *room, struct chatter *who);
__attribute__((noinline)) void room_free(struct room *room);

static void *fuzz_realloc(void *old, size_t size);
#define realloc fuzz_realloc /* room.c's realloc() is ours: it may fail */
#ifndef ROOM_C               /* another room.c may be given (see above) */
#define ROOM_C "../../solutions/09-chat-room/room.c"
#endif
#include ROOM_C
#undef realloc

#define SLOTS          8
#define MODEL_NICK_MAX 16 /* SPEC: 1 to 16 of A-Z a-z 0-9 _ - */
#define MODEL_WORD_MAX 10 /* SPEC: a keyword is 1 to 10 of A-Z */
#define RECEIVED_MAX   2048

static const char *const KEYWORDS[16] = {
    "NICK:", "NICK:", "NICK:", "MSG:", "MSG:", "MSG:",   "WHO:", "QUIT:",
    "PING:", "CALC:", "NICK",  "",     "WHO:", "NICKS:", NULL,   NULL, /* NULL: a close */
};

static struct {
    struct chatter *client[SLOTS];        /* NULL: nobody there */
    char nick[SLOTS][MODEL_NICK_MAX + 1]; /* the model's: "" without one */
    char got[SLOTS][RECEIVED_MAX];        /* what chat_send() gave each in this call */
    size_t got_len[SLOTS];
    char want[SLOTS][RECEIVED_MAX]; /* what the model says it gets */
    size_t want_len[SLOTS];
    char *block;      /* FRAME_MAX bytes on the heap: each line is put at its end */
    unsigned touched; /* the slots with something got or wanted in this call */
    int fail_next_realloc, realloc_failed;
} fz;

NO_COVERAGE static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_chat_room: invariant broken: %s\n", what);
        abort();
    }
}

NO_COVERAGE static void *fuzz_realloc(void *old, size_t size)
{
    if (fz.fail_next_realloc) {
        fz.fail_next_realloc = 0;
        fz.realloc_failed = 1;
        return NULL;
    }
    return realloc(old, size);
}

NO_COVERAGE static int slot_of(const struct chatter *c)
{
    for (int s = 0; s < SLOTS; s++)
        if (c != NULL && fz.client[s] == c) return s;
    return -1;
}

/* === What the room sends === */

NO_COVERAGE void chat_send(struct chatter *to, const char *bytes, size_t len)
{
    int s = slot_of(to);

    check(s >= 0, "chat_send() to a client that is there (not one that left)");
    check(len <= RECEIVED_MAX - fz.got_len[s], "at most one message per client per call");
    if (len > 0) memcpy(fz.got[s] + fz.got_len[s], bytes, len); /* ASan: bytes readable */
    fz.got_len[s] += len;
    fz.touched |= 1u << s;
}

/* === The model === */

/* memcmp() and strcmp() of the model and the checks, without libc: libFuzzer
 * hooks those (for room.c's comparisons, not these), and they cost it time. */
NO_COVERAGE static int same_bytes(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

NO_COVERAGE static int text_order(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

NO_COVERAGE static void want(int s, const void *bytes, size_t len)
{
    check(len <= RECEIVED_MAX - fz.want_len[s], "the model's buffer is big enough");
    memcpy(fz.want[s] + fz.want_len[s], bytes, len);
    fz.want_len[s] += len;
    fz.touched |= 1u << s;
}

NO_COVERAGE static void want_text(int s, const char *text)
{
    want(s, text, strlen(text));
}

/* "<what><nick>\n" to every client with a nick but s. */
NO_COVERAGE static void want_others(int s, const char *what, const void *rest, size_t rest_len)
{
    for (int t = 0; t < SLOTS; t++)
        if (t != s && fz.nick[t][0] != '\0') {
            want_text(t, what);
            want(t, rest, rest_len);
            want_text(t, "\n");
        }
}

NO_COVERAGE static int model_nick_ok(const uint8_t *name, size_t len)
{
    if (len < 1 || len > MODEL_NICK_MAX) return 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

NO_COVERAGE static int by_bytes(const void *a, const void *b)
{
    return text_order(*(const char *const *)a, *(const char *const *)b); /* bytewise */
}

/* s leaves: LEAVE:<nick> to the others with a nick; its nick is free again. */
NO_COVERAGE static void model_leave(int s)
{
    if (fz.nick[s][0] != '\0') want_others(s, "LEAVE:", fz.nick[s], strlen(fz.nick[s]));
    fz.nick[s][0] = '\0';
}

/* What client s's frame sends, to whom, and the room after it; 1 after QUIT. */
NO_COVERAGE static int model_frame(int s, const uint8_t *line, size_t len)
{
    const uint8_t *colon = memchr(line, ':', len);
    size_t k = colon ? (size_t)(colon - line) : 0;
    const uint8_t *arg = line + k + 1;
    size_t arg_len = colon ? len - k - 1 : 0;

    for (size_t i = 0; i < k; i++)
        if (line[i] < 'A' || line[i] > 'Z') k = 0;
    if (k == 0 || k > MODEL_WORD_MAX) {
        want_text(s, "ERROR:SYNTAX\n");
    } else if (k == 4 && same_bytes((const char *)line, "PING", 4)) {
        want_text(s, "PONG:");
        want(s, arg, arg_len);
        want_text(s, "\n");
    } else if (k == 4 && same_bytes((const char *)line, "NICK", 4)) {
        int taken = 0;
        for (int t = 0; t < SLOTS; t++)
            taken |=
                strlen(fz.nick[t]) == arg_len && same_bytes(fz.nick[t], (const char *)arg, arg_len);
        if (fz.nick[s][0] != '\0') {
            want_text(s, "ERROR:HAVENICK\n");
        } else if (!model_nick_ok(arg, arg_len)) {
            want_text(s, "ERROR:BADNICK\n");
        } else if (taken) {
            want_text(s, "ERROR:NICKTAKEN\n");
        } else {
            want_text(s, "OK:");
            want(s, arg, arg_len);
            want_text(s, "\n");
            want_others(s, "JOIN:", arg, arg_len);
            memcpy(fz.nick[s], arg, arg_len);
            fz.nick[s][arg_len] = '\0';
        }
    } else if (k == 3 && same_bytes((const char *)line, "MSG", 3)) {
        if (fz.nick[s][0] == '\0') {
            want_text(s, "ERROR:NONICK\n");
        } else {
            char head[sizeof "MSG:" + MODEL_NICK_MAX + 1];
            snprintf(head, sizeof head, "MSG:%s:", fz.nick[s]);
            want_others(s, head, arg, arg_len);
        }
    } else if (k == 3 && same_bytes((const char *)line, "WHO", 3)) {
        const char *names[SLOTS];
        size_t count = 0;
        for (int t = 0; t < SLOTS; t++)
            if (fz.nick[t][0] != '\0') names[count++] = fz.nick[t];
        qsort(names, count, sizeof names[0], by_bytes);
        want_text(s, "WHO:");
        for (size_t i = 0; i < count; i++) {
            if (i > 0) want_text(s, ",");
            want_text(s, names[i]);
        }
        want_text(s, "\n");
    } else if (k == 4 && same_bytes((const char *)line, "QUIT", 4)) {
        want_text(s, "BYE:\n");
        model_leave(s);
        return 1;
    } else {
        want_text(s, "ERROR:UNKNOWN\n"); /* CALC too: it is not part of the chat */
    }
    return 0;
}

/* === Comparing === */

NO_COVERAGE static void start_call(void)
{
    for (int s = 0; s < SLOTS; s++)
        if (fz.touched & 1u << s) fz.got_len[s] = fz.want_len[s] = 0;
    fz.touched = 0;
}

/* What every client received in the call is the model's. */
NO_COVERAGE static void compare(void)
{
    for (int s = 0; s < SLOTS; s++) {
        if (!(fz.touched & 1u << s)) continue; /* nothing got, nothing wanted */
        size_t n = fz.got_len[s];
        if (n > 0) {
            check(fz.got[s][n - 1] == '\n', "a message ends with '\\n'");
            for (size_t i = 0; i + 1 < n; i++)
                check(fz.got[s][i] != '\n',
                      "one message per client per call, with one '\\n', at its end");
        }
        check(n == fz.want_len[s] && same_bytes(fz.got[s], fz.want[s], n),
              "every client receives what the model says");
    }
}

/* room.h's fields, when room.c comes with room.h: named is every client with
 * a nick, sorted bytewise, once each; each client's nick is the model's.
 * (tests/test_fuzz.py also builds this target on the room of the known-bug
 * programs of tests/programs/bugs/: they are judged on what they send.) */
NO_COVERAGE static void check_room(const struct room *room)
{
#ifndef ROOM_H
    (void)room;
#else
    size_t named = 0;

    for (int s = 0; s < SLOTS; s++)
        if (fz.client[s] != NULL) {
            check(text_order(fz.client[s]->nick, fz.nick[s]) == 0,
                  "each client's nick is the model's (and NUL-terminated)");
            named += fz.nick[s][0] != '\0';
        }
    check(room->count == named, "room->count is the number of clients with a nick");
    check(room->count <= room->cap, "room->count <= room->cap");
    for (size_t i = 0; i < room->count; i++) {
        check(slot_of(room->named[i]) >= 0, "room->named holds clients that are there");
        check(i == 0 || text_order(room->named[i - 1]->nick, room->named[i]->nick) < 0,
              "room->named is sorted bytewise, each nick once");
    }
#endif
}

/* === The clients === */

/* Client s is gone (closed, reset, dropped, or after BYE:): the server calls
 * chat_leave(), then once more as it closes the socket; then frees it. */
NO_COVERAGE static void gone(struct room *room, int s, int told)
{
    struct chatter *c = fz.client[s];

    fz.client[s] = NULL;
    if (!told) {
        start_call();
        model_leave(s);
        chat_leave(room, c);
        compare();
    }
#ifdef ROOM_H
    check(c->nick[0] == '\0', "a client that left has no nick");
#endif
    start_call();
    chat_leave(room, c); /* without a nick: nothing happens */
    compare();
    check_room(room);
    free(c);
}

NO_COVERAGE static void frame(struct room *room, int s, const char *raw, size_t len)
{
    char before[SLOTS][MODEL_NICK_MAX + 1];

    if (len > 0 && raw[len - 1] == '\r') len--;
    if (fz.client[s] == NULL) {
        fz.client[s] = calloc(1, sizeof *fz.client[s]);
        check(fz.client[s] != NULL, "calloc");
    }
    memcpy(before, fz.nick, sizeof before);
    start_call();
    int quits = model_frame(s, (const uint8_t *)raw, len);

    char *line = fz.block + FRAME_MAX - len; /* at the end of its block: ASan sees a read past it */
    memcpy(line, raw, len);
    fz.realloc_failed = 0;
    int status = chat_frame(room, fz.client[s], line, len);
    check(status == 0 || status == -1, "chat_frame() returns 0 or -1");
    if (status < 0) {
        check(fz.realloc_failed, "chat_frame() returns -1 only when memory runs out");
        for (int t = 0; t < SLOTS; t++) check(fz.got_len[t] == 0, "nothing is sent on -1");
        memcpy(fz.nick, before, sizeof before); /* nothing happened */
        check_room(room);
        gone(room, s, 0); /* chat-room.c drops the client */
        return;
    }
    compare();
#ifdef ROOM_H
    check(fz.client[s]->quit == quits, "quit is set after QUIT only");
#endif
    check_room(room);
    if (quits) gone(room, s, 1);
}

/* The line that starts at *in (after prefix), cut at FRAME_MAX - 1 bytes;
 * *in moves past its '\n'. */
NO_COVERAGE static size_t take_line(const uint8_t **in, const uint8_t *end, const char *prefix,
                                    char *raw)
{
    const uint8_t *nl = memchr(*in, '\n', (size_t)(end - *in));
    size_t n = nl ? (size_t)(nl - *in) : (size_t)(end - *in);
    size_t have = strlen(prefix), room_left = FRAME_MAX - 1 - have;

    memcpy(raw, prefix, have);
    memcpy(raw + have, *in, n < room_left ? n : room_left);
    *in = nl ? nl + 1 : end;
    return have + (n < room_left ? n : room_left);
}

/* === The target === */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *in = data, *end = data + size;
    struct room room = {0};
    char raw[FRAME_MAX];

    fz.block = malloc(FRAME_MAX);
    check(fz.block != NULL, "malloc");
    memset(fz.client, 0, sizeof fz.client);
    memset(fz.nick, 0, sizeof fz.nick);
    fz.touched = (1u << SLOTS) - 1;
    start_call();
    fz.fail_next_realloc = 0;
    while (in < end) {
        uint8_t c = *in++;
        if (c >= '0' && c <= '7') {
            frame(&room, c - '0', raw, take_line(&in, end, "", raw));
        } else if (c >= 0x80 && KEYWORDS[(c >> 3) & 15] != NULL) {
            frame(&room, c & 7, raw, take_line(&in, end, KEYWORDS[(c >> 3) & 15], raw));
        } else if (c >= 0x80 || (c >= 'a' && c <= 'h')) {
            int s = c >= 0x80 ? c & 7 : c - 'a';
            if (fz.client[s] != NULL) gone(&room, s, 0);
        } else if (c == '!') {
            fz.fail_next_realloc = 1;
        }
    }
    for (int s = 0; s < SLOTS; s++)
        if (fz.client[s] != NULL) gone(&room, s, 0);
    check(room.count == 0, "an empty room has no nick left");
    room_free(&room);
    free(fz.block);
    return 0;
}
