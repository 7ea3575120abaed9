/*
 * fuzz_wp1.c -- libFuzzer target: the reference WP/1 answers
 * (solutions/06-calc-server/calc.c: answer() and calc()) against a model.
 *
 * The fuzz input is one frame's line as read_line() hands it out: cut at its
 * first '\n' and at FRAME_MAX - 1 bytes. The model is written from SPEC.md
 * alone: the keyword, PING's echo, QUIT, and CALC computed in __int128, where
 * nothing can overflow, then compared with the signed 64-bit range. Every
 * reply must end with its only '\n', fit in REPLY_MAX, and be the model's
 * byte for byte; calc() on the same bytes must agree with the model too.
 */
#include "../../solutions/05-framing/frame.h" /* FRAME_MAX */
#include "../../solutions/06-calc-server/calc.c"

#include <stdint.h>
#include <stdlib.h>

typedef __int128 wide;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_wp1: invariant broken: %s\n", what);
        abort();
    }
}

/* === The model === */

/* "-"? digit+ at s[*i..n): its value, kept at most 2^65 (far out of range but
 * no overflow); 0 if there is no operand there. */
static int model_operand(const uint8_t *s, size_t n, size_t *i, wide *value)
{
    int negative = *i < n && s[*i] == '-';
    size_t first = *i + (size_t)negative, j = first;
    wide v = 0;

    for (; j < n && s[j] >= '0' && s[j] <= '9'; j++) {
        v = v * 10 + (s[j] - '0');
        if (v > ((wide)1 << 65)) v = (wide)1 << 65;
    }
    if (j == first) return 0;
    *value = negative ? -v : v;
    *i = j;
    return 1;
}

static int fits(wide v)
{
    return v >= INT64_MIN && v <= INT64_MAX;
}

/* The reply to CALC:<s[0..n)> (without its '\n'), into text. */
static void model_calc(const uint8_t *s, size_t n, char *text, size_t room)
{
    size_t i = 0;
    wide a, b, r;

    if (!model_operand(s, n, &i, &a) || i == n || !memchr("+-*/%", s[i], 5)) {
        snprintf(text, room, "ERROR:SYNTAX");
        return;
    }
    char op = (char)s[i++];
    if (!model_operand(s, n, &i, &b) || i != n) {
        snprintf(text, room, "ERROR:SYNTAX");
        return;
    }
    if (!fits(a) || !fits(b)) {
        snprintf(text, room, "ERROR:OVERFLOW");
        return;
    }
    if ((op == '/' || op == '%') && b == 0) {
        snprintf(text, room, "ERROR:DIVZERO");
        return;
    }
    r = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : op == '/' ? a / b : a % b;
    if (fits(r))
        snprintf(text, room, "CALC:%" PRId64, (int64_t)r);
    else
        snprintf(text, room, "ERROR:OVERFLOW");
}

/* The whole reply to a line, its '\n' included; its length. */
static size_t model_answer(const uint8_t *s, size_t n, char *reply, int *bye)
{
    const uint8_t *colon = memchr(s, ':', n);
    size_t k = colon ? (size_t)(colon - s) : 0, arg = k + 1;
    char text[64];

    *bye = 0;
    for (size_t i = 0; i < k; i++)
        if (s[i] < 'A' || s[i] > 'Z') k = 0;
    if (k == 0 || k > KEYWORD_MAX)
        snprintf(text, sizeof text, "ERROR:SYNTAX");
    else if (k == 4 && memcmp(s, "PING", 4) == 0) {
        memcpy(reply, "PONG:", 5);
        memcpy(reply + 5, s + arg, n - arg);
        reply[5 + n - arg] = '\n';
        return 5 + n - arg + 1;
    } else if (k == 4 && memcmp(s, "QUIT", 4) == 0) {
        *bye = 1;
        snprintf(text, sizeof text, "BYE:");
    } else if (k == 4 && memcmp(s, "CALC", 4) == 0)
        model_calc(s + arg, n - arg, text, sizeof text);
    else
        snprintf(text, sizeof text, "ERROR:UNKNOWN");
    return (size_t)snprintf(reply, REPLY_MAX, "%s\n", text);
}

/* === The target === */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t n = nl ? (size_t)(nl - data) : size;
    char *line, *reply = malloc(REPLY_MAX), want[REPLY_MAX];
    int bye = -1, want_bye;

    if (n > FRAME_MAX - 1) n = FRAME_MAX - 1;
    line = malloc(n ? n : 1); /* exactly the line: ASan sees a read past it */
    memcpy(line, data, n);

    size_t got = answer(line, n, reply, &bye);
    size_t expected = model_answer((const uint8_t *)line, n, want, &want_bye);
    check(got >= 1 && got <= REPLY_MAX, "a reply fits in REPLY_MAX");
    check(reply[got - 1] == '\n', "a reply ends with '\\n'");
    check(memchr(reply, '\n', got - 1) == NULL, "a reply holds one '\\n', at its end");
    check(got == expected && memcmp(reply, want, got) == 0, "the reply is the model's");
    check(bye == want_bye, "*bye is set after QUIT only");

    /* calc() on the same bytes, as a CALC argument */
    int64_t value = 0;
    enum calc_status status = calc(line, n, &value);
    char text[64], mine[64];
    model_calc((const uint8_t *)line, n, text, sizeof text);
    if (status == CALC_OK)
        snprintf(mine, sizeof mine, "CALC:%" PRId64, value);
    else
        snprintf(mine, sizeof mine, "%s",
                 status == CALC_SYNTAX     ? "ERROR:SYNTAX"
                 : status == CALC_OVERFLOW ? "ERROR:OVERFLOW"
                                           : "ERROR:DIVZERO");
    check(strcmp(mine, text) == 0, "calc() agrees with the model");

    free(line);
    free(reply);
    return 0;
}
