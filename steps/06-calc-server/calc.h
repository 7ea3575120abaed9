/*
 * calc.h -- WP/1 answers, without sockets: one frame's line in, one reply out.
 *
 * calc-server.c reads the frames (read_line, step 05) and sends the replies;
 * everything WP/1 says about a single frame lives here, so it can be tested
 * on its own (the kit's own unit tests do).
 */
#ifndef CALC_H
#define CALC_H

#include <stddef.h>
#include <stdint.h>

/* Room for the longest reply: the PONG of a 511-byte line, its '\n' included. */
#define REPLY_MAX 512

/* The keyword may be 1 to 10 capital letters. */
#define KEYWORD_MAX 10

/* What CALC:<a><op><b> comes to, its errors in the order WP/1 checks them. */
enum calc_status { CALC_OK, CALC_SYNTAX, CALC_OVERFLOW, CALC_DIVZERO };

/* Evaluates the argument of a CALC frame (len bytes, NUL bytes allowed); on
 * CALC_OK the value is in *result. */
enum calc_status calc(const char *arg, size_t len, int64_t *result);

/* The reply to one frame's line, as read_line() gives it (no '\n', no '\r'
 * ending; len bytes, NUL bytes allowed), written to reply with its '\n'.
 * Returns the reply's length; *bye is set when the connection ends after it. */
size_t answer(const char *line, size_t len, char reply[REPLY_MAX], int *bye);

#endif
