/*
 * Unit tests of the reference WP/1 answers (solutions/06-calc-server/calc.c):
 * calc() on one CALC argument, answer() on one frame's line. No sockets: this
 * is why calc.c is apart from calc-server.c. The expected replies of the
 * tables are those grader/wp1.py (the grader's model) computes for the same
 * requests; the checks of step 06 send most of them over a socket too.
 */
#include "../../solutions/05-framing/frame.h" /* FRAME_MAX: the longest frame */
#include "../../solutions/06-calc-server/calc.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* A request as a string literal, NUL bytes included: its length is its size. */
#define REQ(text) text, sizeof text - 1

struct row {
    const char *line;
    size_t len;
    const char *reply; /* without its '\n' */
};

/* answer() on line must give reply and its '\n', and set *bye as told. */
static void expect_answer(const char *line, size_t len, const char *reply, int bye)
{
    char got[REPLY_MAX + 1], want[REPLY_MAX + 1];
    int got_bye = -1;
    size_t n = answer(line, len, got, &got_bye);

    snprintf(want, sizeof want, "%s\n", reply);
    got[n < REPLY_MAX ? n : REPLY_MAX] = '\0';
    if (n != strlen(want) || memcmp(got, want, n) != 0)
        fail_msg("request \"%.*s\" (%zu bytes): expected \"%s\", got \"%s\"", (int)len, line, len,
                 reply, got);
    assert_int_equal(got_bye, bye);
}

static void expect_rows(const struct row *rows, size_t count)
{
    for (size_t i = 0; i < count; i++) expect_answer(rows[i].line, rows[i].len, rows[i].reply, 0);
}

#define EXPECT_ROWS(rows) expect_rows(rows, sizeof rows / sizeof rows[0])

/* === Arithmetic === */

static void calc_computes_like_c99(void **state)
{
    static const struct row rows[] = {
        {REQ("CALC:3+4"), "CALC:7"},    {REQ("CALC:-3--4"), "CALC:1"},
        {REQ("CALC:007*6"), "CALC:42"}, {REQ("CALC:12-30"), "CALC:-18"},
        {REQ("CALC:7/2"), "CALC:3"},    {REQ("CALC:-7/2"), "CALC:-3"}, /* toward zero */
        {REQ("CALC:7%-3"), "CALC:1"},   {REQ("CALC:-7%3"), "CALC:-1"}, /* the dividend's sign */
        {REQ("CALC:-7%-3"), "CALC:-1"}, {REQ("CALC:0*-5"), "CALC:0"},
        {REQ("CALC:-0+0"), "CALC:0"},   {REQ("CALC:0/-7"), "CALC:0"},
        {REQ("CALC:100/7"), "CALC:14"}, {REQ("CALC:100%7"), "CALC:2"},
    };
    (void)state;
    EXPECT_ROWS(rows);
}

static void calc_gives_the_value_and_ok(void **state)
{
    int64_t result = 0;
    (void)state;
    assert_int_equal(calc(REQ("6*7"), &result), CALC_OK);
    assert_int_equal(result, 42);
    assert_int_equal(calc(REQ("-9223372036854775808%-1"), &result), CALC_OK);
    assert_int_equal(result, 0);
    assert_int_equal(calc(REQ("3+"), &result), CALC_SYNTAX);
    assert_int_equal(calc(REQ("99999999999999999999+0"), &result), CALC_OVERFLOW);
    assert_int_equal(calc(REQ("1%0"), &result), CALC_DIVZERO);
}

/* === Errors === */

static void calc_refuses_what_is_not_a_op_b(void **state)
{
    static const struct row rows[] = {
        {REQ("CALC:"), "ERROR:SYNTAX"},       {REQ("CALC:3"), "ERROR:SYNTAX"},
        {REQ("CALC:3+"), "ERROR:SYNTAX"},     {REQ("CALC:+3"), "ERROR:SYNTAX"},
        {REQ("CALC:+3+4"), "ERROR:SYNTAX"},   {REQ("CALC:3 + 4"), "ERROR:SYNTAX"},
        {REQ("CALC: 3+4"), "ERROR:SYNTAX"},   {REQ("CALC:3+4 "), "ERROR:SYNTAX"},
        {REQ("CALC:3+4+5"), "ERROR:SYNTAX"},  {REQ("CALC:3^4"), "ERROR:SYNTAX"},
        {REQ("CALC:--3+4"), "ERROR:SYNTAX"},  {REQ("CALC:3+--4"), "ERROR:SYNTAX"},
        {REQ("CALC:-"), "ERROR:SYNTAX"},      {REQ("CALC:3+-"), "ERROR:SYNTAX"},
        {REQ("CALC:0x10+1"), "ERROR:SYNTAX"}, {REQ("CALC:1e3+1"), "ERROR:SYNTAX"},
        {REQ("CALC:3+4\r"), "ERROR:SYNTAX"}, /* read_line took the \r of \r\n already */
        {REQ("CALC::3+4"), "ERROR:SYNTAX"},
    };
    (void)state;
    EXPECT_ROWS(rows);
}

static void division_by_zero(void **state)
{
    static const struct row rows[] = {
        {REQ("CALC:1/0"), "ERROR:DIVZERO"},   {REQ("CALC:1%0"), "ERROR:DIVZERO"},
        {REQ("CALC:-5/-0"), "ERROR:DIVZERO"}, {REQ("CALC:0/000"), "ERROR:DIVZERO"},
        {REQ("CALC:0*0"), "CALC:0"},
    };
    (void)state;
    EXPECT_ROWS(rows);
}

/* === int64 edges === */

static void overflow_at_the_int64_edges(void **state)
{
    static const struct row rows[] = {
        {REQ("CALC:9223372036854775807+0"), "CALC:9223372036854775807"},
        {REQ("CALC:9223372036854775807+1"), "ERROR:OVERFLOW"},
        {REQ("CALC:-9223372036854775808-1"), "ERROR:OVERFLOW"},
        {REQ("CALC:-9223372036854775808+0"), "CALC:-9223372036854775808"},
        {REQ("CALC:-9223372036854775808/-1"), "ERROR:OVERFLOW"},
        {REQ("CALC:-9223372036854775808%-1"), "CALC:0"},
        {REQ("CALC:-9223372036854775808*-1"), "ERROR:OVERFLOW"},
        {REQ("CALC:-9223372036854775808/1"), "CALC:-9223372036854775808"},
        {REQ("CALC:-9223372036854775807-1"), "CALC:-9223372036854775808"},
        {REQ("CALC:9223372036854775808-1"), "ERROR:OVERFLOW"}, /* the operand, not the result */
        {REQ("CALC:-9223372036854775809+1"), "ERROR:OVERFLOW"},
        {REQ("CALC:3037000500*3037000500"), "ERROR:OVERFLOW"},
        {REQ("CALC:-3037000499*3037000499"), "CALC:-9223372030926249001"},
        {REQ("CALC:4611686018427387904*2"), "ERROR:OVERFLOW"},
        {REQ("CALC:-4611686018427387904*2"), "CALC:-9223372036854775808"},
        {REQ("CALC:9223372036854775807*-1"), "CALC:-9223372036854775807"},
        {REQ("CALC:99999999999999999999*0"), "ERROR:OVERFLOW"}, /* 20 digits */
        {REQ("CALC:18446744073709551616+0"), "ERROR:OVERFLOW"}, /* 2**64: 0 if wrapped */
        {REQ("CALC:18446744073709551621-5"), "ERROR:OVERFLOW"},
        {REQ("CALC:00000000000000000000000042+0"), "CALC:42"},
        {REQ("CALC:-00000000000000000000009223372036854775808+0"), "CALC:-9223372036854775808"},
    };
    (void)state;
    EXPECT_ROWS(rows);
}

static void an_operand_of_500_digits_is_read_without_harm(void **state)
{
    char line[FRAME_MAX];
    size_t len = (size_t)sprintf(line, "CALC:-");

    (void)state;
    while (len < 500) line[len++] = '9';
    memcpy(line + len, "+1", 2);
    expect_answer(line, len + 2, "ERROR:OVERFLOW", 0);
    memset(line + 6, '0', 494); /* -000...0001 */
    line[499] = '1';
    expect_answer(line, len + 2, "CALC:0", 0);
}

/* === Error order: SYNTAX, OVERFLOW (operands), DIVZERO, OVERFLOW (result) === */

static void errors_come_in_spec_order(void **state)
{
    static const struct row rows[] = {
        {REQ("CALC:99999999999999999999/0"), "ERROR:OVERFLOW"},
        {REQ("CALC:1/99999999999999999999"), "ERROR:OVERFLOW"},
        {REQ("CALC:99999999999999999999/x"), "ERROR:SYNTAX"},
        {REQ("CALC:99999999999999999999+1 "), "ERROR:SYNTAX"},
        {REQ("CALC:1/0x"), "ERROR:SYNTAX"},
        {REQ("CALC:-9223372036854775808/0"), "ERROR:DIVZERO"},
        {REQ("CALC:-9223372036854775808%0"), "ERROR:DIVZERO"},
        {REQ("CALC:-99999999999999999999%0"), "ERROR:OVERFLOW"},
    };
    (void)state;
    EXPECT_ROWS(rows);
}

/* === Keywords, PING, QUIT === */

static void keyword_rules(void **state)
{
    static const struct row rows[] = {
        {REQ("HELLO:x"), "ERROR:UNKNOWN"},
        {REQ("PINGS:x"), "ERROR:UNKNOWN"},
        {REQ("PIN:x"), "ERROR:UNKNOWN"},
        {REQ("A:"), "ERROR:UNKNOWN"},
        {REQ("ABCDEFGHIJ:x"), "ERROR:UNKNOWN"}, /* 10 letters: well-formed */
        {REQ("ABCDEFGHIJK:x"), "ERROR:SYNTAX"}, /* 11 */
        {REQ("no colon here"), "ERROR:SYNTAX"},
        {REQ(""), "ERROR:SYNTAX"},
        {REQ(":x"), "ERROR:SYNTAX"},
        {REQ(":"), "ERROR:SYNTAX"},
        {REQ("ping:x"), "ERROR:SYNTAX"},
        {REQ("Ping:x"), "ERROR:SYNTAX"},
        {REQ("CA1C:3+4"), "ERROR:SYNTAX"},
        {REQ(" CALC:3+4"), "ERROR:SYNTAX"},
        {REQ("CALC :3+4"), "ERROR:SYNTAX"},
        {REQ("PING"), "ERROR:SYNTAX"},
        {REQ("QUIT"), "ERROR:SYNTAX"},
        {REQ("\0PING:x"), "ERROR:SYNTAX"},
        {REQ("PI\0NG:x"), "ERROR:SYNTAX"},
    };
    (void)state;
    EXPECT_ROWS(rows);
}

static void ping_echoes_its_argument(void **state)
{
    static const struct row rows[] = {
        {REQ("PING:hello"), "PONG:hello"}, {REQ("PING:"), "PONG:"},
        {REQ("PING:a:b:c"), "PONG:a:b:c"}, {REQ("PING:CALC:1+1"), "PONG:CALC:1+1"},
        {REQ("PING:QUIT:"), "PONG:QUIT:"}, {REQ("PING: spaces \t "), "PONG: spaces \t "},
    };
    (void)state;
    EXPECT_ROWS(rows);
}

static void ping_keeps_nul_bytes(void **state)
{
    static const char line[] = "PING:a\0b\0\0:\xff";
    char reply[REPLY_MAX];
    int bye = -1;
    size_t n = answer(line, sizeof line - 1, reply, &bye);

    (void)state;
    assert_int_equal(n, sizeof line - 1 + 1);
    assert_memory_equal(reply, "PONG:a\0b\0\0:\xff\n", n);
    assert_int_equal(bye, 0);
    expect_answer(REQ("CALC:3+4\0"), "ERROR:SYNTAX", 0);
    expect_answer(REQ("CALC:3\0+4"), "ERROR:SYNTAX", 0);
}

static void ping_of_the_longest_line_fits(void **state)
{
    char line[FRAME_MAX], reply[REPLY_MAX];
    int bye;

    (void)state;
    memcpy(line, "PING:", 5);
    memset(line + 5, 'x', FRAME_MAX - 1 - 5); /* 511 bytes: the longest line */
    size_t n = answer(line, FRAME_MAX - 1, reply, &bye);
    assert_int_equal(n, REPLY_MAX);
    assert_memory_equal(reply, "PONG:", 5);
    assert_memory_equal(reply + 5, line + 5, FRAME_MAX - 1 - 5);
    assert_int_equal(reply[REPLY_MAX - 1], '\n');
}

static void quit_says_bye_and_ends(void **state)
{
    (void)state;
    expect_answer(REQ("QUIT:"), "BYE:", 1);
    expect_answer(REQ("QUIT:see you"), "BYE:", 1);
    expect_answer(REQ("QUIT:\0"), "BYE:", 1);
    expect_answer(REQ("QUITS:"), "ERROR:UNKNOWN", 0);
    expect_answer(REQ("quit:"), "ERROR:SYNTAX", 0);
    expect_answer(REQ("PING:x"), "PONG:x", 0); /* bye is cleared, not left as it was */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(calc_computes_like_c99),
        cmocka_unit_test(calc_gives_the_value_and_ok),
        cmocka_unit_test(calc_refuses_what_is_not_a_op_b),
        cmocka_unit_test(division_by_zero),
        cmocka_unit_test(overflow_at_the_int64_edges),
        cmocka_unit_test(an_operand_of_500_digits_is_read_without_harm),
        cmocka_unit_test(errors_come_in_spec_order),
        cmocka_unit_test(keyword_rules),
        cmocka_unit_test(ping_echoes_its_argument),
        cmocka_unit_test(ping_keeps_nul_bytes),
        cmocka_unit_test(ping_of_the_longest_line_fits),
        cmocka_unit_test(quit_says_bye_and_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
