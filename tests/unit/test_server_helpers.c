/*
 * Unit tests of the reference server's helpers (solutions/02-server/server.c):
 * the PORT parser every binary shares the rules of, and the "IP:PORT" format
 * of the connection log. The solution is included whole, its main renamed, so
 * its static functions are in reach.
 */
#define _POSIX_C_SOURCE 200809L
#define main            server_main
#include "../../solutions/02-server/server.c"
#undef main

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define ADDR_SIZE (INET6_ADDRSTRLEN + sizeof "[]:65535") /* the longest "IP:PORT" */

/* === parse_port === */

static void parse_port_takes_plain_decimal_from_1_to_65535(void **state)
{
    (void)state;
    assert_int_equal(parse_port("1"), 1);
    assert_int_equal(parse_port("4242"), 4242);
    assert_int_equal(parse_port("65535"), 65535);
    assert_int_equal(parse_port("08080"), 8080); /* leading zeros are still decimal */
}

static void parse_port_refuses_everything_else(void **state)
{
    const char *bad[] = {
        "", "0", "65536", "-1", "+80", " 80", "80 ", "80a", "0x50", "99999999999999999999", "1e3"};
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse_port(bad[i]) != -1) fail_msg("parse_port(\"%s\") accepted a bad port", bad[i]);
    }
}

/* === format_address === */

static void format(int family, const char *ip, unsigned port, char *out, size_t size)
{
    union address a;
    memset(&a, 0, sizeof a);
    if (family == AF_INET) {
        a.v4.sin_family = AF_INET;
        a.v4.sin_port = htons((uint16_t)port);
        assert_int_equal(inet_pton(AF_INET, ip, &a.v4.sin_addr), 1);
    } else {
        a.v6.sin6_family = AF_INET6;
        a.v6.sin6_port = htons((uint16_t)port);
        assert_int_equal(inet_pton(AF_INET6, ip, &a.v6.sin6_addr), 1);
    }
    format_address(&a, out, size);
}

static void format_address_writes_ipv4_as_ip_colon_port(void **state)
{
    char out[ADDR_SIZE];
    (void)state;
    format(AF_INET, "127.0.0.3", 54321, out, sizeof out);
    assert_string_equal(out, "127.0.0.3:54321");
}

static void format_address_brackets_ipv6(void **state)
{
    char out[ADDR_SIZE];
    (void)state;
    format(AF_INET6, "::1", 1, out, sizeof out);
    assert_string_equal(out, "[::1]:1");
    format(AF_INET6, "fe80::1:2:3:4", 65535, out, sizeof out);
    assert_string_equal(out, "[fe80::1:2:3:4]:65535");
}

static void format_address_shows_mapped_ipv4_in_ipv4_form(void **state)
{
    char out[ADDR_SIZE];
    (void)state;
    format(AF_INET6, "::ffff:192.0.2.7", 4242, out, sizeof out);
    assert_string_equal(out, "192.0.2.7:4242");
}

static void format_address_fits_the_longest_address(void **state)
{
    char out[ADDR_SIZE];
    (void)state;
    format(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, out, sizeof out);
    assert_string_equal(out, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_port_takes_plain_decimal_from_1_to_65535),
        cmocka_unit_test(parse_port_refuses_everything_else),
        cmocka_unit_test(format_address_writes_ipv4_as_ip_colon_port),
        cmocka_unit_test(format_address_brackets_ipv6),
        cmocka_unit_test(format_address_shows_mapped_ipv4_in_ipv4_form),
        cmocka_unit_test(format_address_fits_the_longest_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
