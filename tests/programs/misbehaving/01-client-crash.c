/*
step: 01-client
bug: dereferences a null pointer as its first act, so it dies of SIGSEGV on every run, whatever its arguments.
fails: *
*/
/* A grader robustness fixture: a client that crashes at once. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>

int main(int argc, char **argv)
{
    int *volatile nowhere = NULL;

    (void)argc;
    (void)argv;
    *nowhere = 42; /* SIGSEGV */
    puts("not reached");
    return 0;
}
