/*
 * socklab.h -- the kit's small socket library, given from step 03 on.
 *
 * Steps 01 and 02 had you write each of these by hand; from step 03 on they
 * come ready, so each step's program can tell its own story. Read socklab.c
 * once: nothing in it is magic. Step Makefiles build it in with
 * `-I../common ../common/socklab.c`.
 */
#ifndef SOCKLAB_H
#define SOCKLAB_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

/* Longest "IP:PORT" text, IPv6 in brackets included, with its '\0'. */
#define ADDRESS_SIZE (INET6_ADDRSTRLEN + sizeof "[]:65535")

/* Any socket address, seen as whichever family it holds: no casts needed. */
union address {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    struct sockaddr_storage any;
};

/* One line on stderr, "NAME: message\n"; NAME is set by check_usage(). */
void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A plain decimal port from 1 to 65535, or -1 (no sign, spaces or hex). */
int parse_port(const char *text);

/* Takes the program's name from argv[0]; with ok false, prints
 * "usage: NAME ARGS" on stderr and exits 2. */
void check_usage(int ok, char **argv, const char *args);

/* A socket connected to host:port (each address getaddrinfo gives is tried),
 * or -1 after one line on stderr naming the host, the port and the reason. */
int connect_to(const char *host, const char *port);

/* A socket listening on every local address (IPv6 with IPv4 mapped when the
 * host has IPv6), SO_REUSEADDR set; -1 after one line naming the port. */
int listen_on(int port);

/* The next client of a listening socket: its descriptor and its address.
 * Retries EINTR; -1 (after one line on stderr) for a failure that is not the
 * server's fault, such as a client that gave up while it waited. */
int accept_client(int listener, union address *peer);

/* "IP:PORT": IPv4 as is, IPv6 in brackets, IPv4-mapped IPv6 as IPv4. */
void format_address(const union address *a, char out[ADDRESS_SIZE]);

/* Writes all len bytes to fd, retrying short writes and EINTR; on a socket
 * with MSG_NOSIGNAL (a peer that left is an error, EPIPE, not a SIGPIPE
 * death). 0, or -1 with errno set. */
int write_all(int fd, const void *buf, size_t len);

#endif
