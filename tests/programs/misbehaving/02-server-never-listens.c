/*
step: 02-server
bug: sleeps forever without ever creating a socket, whatever its arguments (SIGTERM and SIGINT still kill it).
fails: *
*/
/* A grader robustness fixture: a server that never listens.
 * Marker for leftover hunts: its comm is "sockfixture" (SOCKLAB_FIXTURE_MARKER). */
#define _GNU_SOURCE

#include <sys/prctl.h>
#include <unistd.h>

int main(void)
{
    prctl(PR_SET_NAME, "sockfixture", 0, 0, 0);
    for (;;) sleep(1000);
}
