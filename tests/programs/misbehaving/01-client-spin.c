/*
step: 01-client
bug: spins in a busy loop forever without connecting, printing or exiting, whatever its arguments.
fails: *
*/
/* A grader robustness fixture: a client that burns CPU until it is killed.
 * Marker for leftover hunts: its comm is "sockfixture" (SOCKLAB_FIXTURE_MARKER). */
#define _GNU_SOURCE

#include <sys/prctl.h>

int main(void)
{
    volatile unsigned long counter = 0;

    prctl(PR_SET_NAME, "sockfixture", 0, 0, 0);
    for (;;) counter++;
}
