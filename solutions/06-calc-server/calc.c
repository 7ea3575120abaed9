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
 */
#include "calc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MAGNITUDE_MAX ((uint64_t)INT64_MAX + 1) /* |INT64_MIN| */

/* === Operands === */

/* Reads "-"?digit+ from p (up to end) into *value; returns the first byte
 * after it, or NULL if there is no operand there. An operand out of range
 * still has a shape: *in_range says whether it fits in int64_t, and the
 * whole argument is read before that matters (SYNTAX comes first). */
static const char *operand(const char *p, const char *end, int64_t *value, int *in_range)
{
    int negative = p < end && *p == '-';
    uint64_t magnitude = 0;
    const char *digits;

    p += negative;
    for (digits = p; p < end && *p >= '0' && *p <= '9'; p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (magnitude <= (MAGNITUDE_MAX - digit) / 10)
            magnitude = magnitude * 10 + digit;
        else
            magnitude = MAGNITUDE_MAX + 1; /* too large: stays too large */
    }
    if (p == digits) return NULL;
    *in_range = magnitude <= (negative ? MAGNITUDE_MAX : (uint64_t)INT64_MAX);
    if (*in_range && negative)
        *value = magnitude == MAGNITUDE_MAX ? INT64_MIN : -(int64_t)magnitude;
    else if (*in_range)
        *value = (int64_t)magnitude;
    return p;
}

/* === Arithmetic === */

/* a op b, or CALC_OVERFLOW when the true result does not fit. C99 division
 * truncates toward zero and % takes the dividend's sign, as WP/1 wants. The
 * one quotient that overflows is INT64_MIN / -1; its remainder is 0, but C
 * leaves INT64_MIN % -1 undefined too (x86 traps: SIGFPE), so both are
 * answered before the CPU is asked. */
static enum calc_status apply(int64_t a, char op, int64_t b, int64_t *result)
{
    if ((op == '/' || op == '%') && b == 0) return CALC_DIVZERO;
    if ((op == '/' || op == '%') && a == INT64_MIN && b == -1) {
        *result = 0;
        return op == '%' ? CALC_OK : CALC_OVERFLOW;
    }
    int overflow = 0;
    switch (op) {
    case '+':
        overflow = __builtin_add_overflow(a, b, result);
        break;
    case '-':
        overflow = __builtin_sub_overflow(a, b, result);
        break;
    case '*':
        overflow = __builtin_mul_overflow(a, b, result);
        break;
    case '/':
        *result = a / b;
        break;
    default:
        *result = a % b;
    }
    return overflow ? CALC_OVERFLOW : CALC_OK;
}

enum calc_status calc(const char *arg, size_t len, int64_t *result)
{
    const char *end = arg + len, *p;
    int64_t a = 0, b = 0;
    int a_fits = 0, b_fits = 0;
    char op;

    p = operand(arg, end, &a, &a_fits);
    if (p == NULL || p == end || memchr("+-*/%", *p, 5) == NULL) return CALC_SYNTAX;
    op = *p++;
    p = operand(p, end, &b, &b_fits);
    if (p != end) return CALC_SYNTAX; /* no operand, or bytes after it */
    if (!a_fits || !b_fits) return CALC_OVERFLOW;
    return apply(a, op, b, result);
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

/* PONG:<arg>, byte for byte: the argument may hold NUL bytes, so memcpy, not
 * a string function. */
static size_t answer_ping(const char *arg, size_t len, char reply[REPLY_MAX])
{
    if (5 + len + 1 > REPLY_MAX) return say(reply, "ERROR:TOOLONG"); /* not from read_line */
    memcpy(reply, "PONG:", 5);
    memcpy(reply + 5, arg, len);
    reply[5 + len] = '\n';
    return 5 + len + 1;
}

/* 1 to KEYWORD_MAX capital letters, then the ':'. */
static int keyword_length(const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    size_t n = colon ? (size_t)(colon - line) : 0;

    if (n == 0 || n > KEYWORD_MAX) return -1;
    for (size_t i = 0; i < n; i++)
        if (line[i] < 'A' || line[i] > 'Z') return -1;
    return (int)n;
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
