/*
 * calc.c -- WP/1 answers (see calc.h): the grammar, the arithmetic, the errors.
 *
 *     frame    = keyword ":" argument "\n"
 *     keyword  = 1 to 10 of A-Z
 *     CALC arg = a op b,  a and b = "-"? digit+,  op = + - * / %
 *
 * Nothing here trusts the input: operands of any length are read without
 * overflowing, and every result is checked before it is believed. Signed
 * overflow is undefined behaviour in C, so it is detected, never caused.
 *
 * This is the starter: do the TODO blocks top to bottom (README.md, hints/).
 */
#include "calc.h"

#include "socklab.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGNITUDE_MAX ((uint64_t)INT64_MAX + 1) /* |INT64_MIN| */

/* Each TODO stops the program here until it is done. Once nothing calls this
 * function any more, delete it (and the #include "socklab.h" above). */
static _Noreturn void not_implemented(const char *where)
{
    complain("not implemented yet: see README.md (TODO in calc.c, %s)", where);
    exit(1);
}

/* === Operands === */

/* Reads "-"?digit+ from p (up to end) into *value; returns the first byte
 * after it, or NULL if there is no operand there. An operand out of range
 * still has a shape: *in_range says whether it fits in int64_t, and the
 * whole argument is read before that matters (SYNTAX comes first). */
static const char *operand(const char *p, const char *end, int64_t *value, int *in_range)
{
    /* TODO 6: an optional '-', then one digit or more (none: return NULL).
     * Add up the digits in a uint64_t magnitude, checking BEFORE each
     * magnitude * 10 + digit that it stays <= MAGNITUDE_MAX; past it, remember
     * "too large" and keep reading digits. Then *in_range: a magnitude up to
     * INT64_MAX fits, and MAGNITUDE_MAX too when negative (INT64_MIN).
     * Beware: -(int64_t)MAGNITUDE_MAX is undefined; INT64_MIN is not. */
    (void)p;
    (void)end;
    (void)value;
    (void)in_range;
    not_implemented("operand");
}

/* === Arithmetic === */

/* a op b, or CALC_OVERFLOW when the true result does not fit. C99 division
 * truncates toward zero and % takes the dividend's sign, as WP/1 wants. */
static enum calc_status apply(int64_t a, char op, int64_t b, int64_t *result)
{
    /* TODO 8: a zero divisor of / or % is CALC_DIVZERO. INT64_MIN / -1 does
     * not fit (CALC_OVERFLOW), and INT64_MIN % -1 is 0: C leaves both
     * undefined, answer them before the CPU is asked. For + - *, let
     * __builtin_add_overflow (sub, mul) compute and tell you if it overflowed. */
    (void)a;
    (void)op;
    (void)b;
    (void)result;
    not_implemented("apply");
}

enum calc_status calc(const char *arg, size_t len, int64_t *result)
{
    /* TODO 7: operand(), one of "+-*\/%", operand() ending exactly at
     * arg + len: anything else is CALC_SYNTAX. Then CALC_OVERFLOW if an
     * operand is out of range; only then apply(). */
    (void)arg;
    (void)len;
    (void)result;
    (void)operand;
    (void)apply;
    not_implemented("calc");
}

/* === Frames === */

static size_t say(char reply[REPLY_MAX], const char *text)
{
    return (size_t)snprintf(reply, REPLY_MAX, "%s\n", text);
}

static size_t answer_calc(const char *arg, size_t len, char reply[REPLY_MAX])
{
    static const char *const errors[] = {
        [CALC_SYNTAX] = "ERROR:SYNTAX",
        [CALC_OVERFLOW] = "ERROR:OVERFLOW",
        [CALC_DIVZERO] = "ERROR:DIVZERO",
    };
    int64_t result;
    enum calc_status status = calc(arg, len, &result);

    if (status != CALC_OK) return say(reply, errors[status]);
    return (size_t)snprintf(reply, REPLY_MAX, "CALC:%" PRId64 "\n", result);
}

/* PONG:<arg>, byte for byte. */
static size_t answer_ping(const char *arg, size_t len, char reply[REPLY_MAX])
{
    /* TODO 5: "PONG:", the len bytes of arg, '\n'; return the length. The
     * argument may hold NUL bytes: memcpy, not strcpy or printf("%s").
     * (A line from read_line always fits: check it all the same.) */
    (void)arg;
    (void)len;
    (void)reply;
    not_implemented("answer_ping");
}

/* 1 to KEYWORD_MAX capital letters, then the ':'. */
static int keyword_length(const char *line, size_t len)
{
    /* TODO 4: the length of the keyword before the first ':' (memchr), or -1
     * if there is no ':' or the keyword is not 1 to KEYWORD_MAX of A-Z. */
    (void)line;
    (void)len;
    not_implemented("keyword_length");
}

size_t answer(const char *line, size_t len, char reply[REPLY_MAX], int *bye)
{
    int n = keyword_length(line, len);

    *bye = 0;
    if (n < 0) return say(reply, "ERROR:SYNTAX");
    const char *arg = line + n + 1; /* after the ':' */
    size_t arg_len = len - (size_t)n - 1;
    if (n == 4 && memcmp(line, "PING", 4) == 0) return answer_ping(arg, arg_len, reply);
    if (n == 4 && memcmp(line, "CALC", 4) == 0) return answer_calc(arg, arg_len, reply);
    if (n == 4 && memcmp(line, "QUIT", 4) == 0) {
        *bye = 1;
        return say(reply, "BYE:");
    }
    return say(reply, "ERROR:UNKNOWN");
}
