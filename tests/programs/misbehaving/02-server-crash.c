/*
step: 02-server
bug: dereferences a null pointer as its first act, so it dies of SIGSEGV on every run, before it could listen or read its arguments.
fails: *
*/
/* A grader robustness fixture: a server that crashes at once. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>

struct server {
    int fd;
    int port;
};

int main(int argc, char **argv)
{
    struct server *volatile s = NULL;

    (void)argc;
    (void)argv;
    s->port = 4242; /* SIGSEGV: the server was never allocated */
    puts("not reached");
    return 0;
}
