/*
step: 01-client
bug: writes an endless stream of bytes to stdout as fast as it can, without connecting or exiting, whatever its arguments.
fails: *
*/
/* A grader robustness fixture: a client that floods its stdout.
 * Marker for leftover hunts: its comm is "sockfixture" (SOCKLAB_FIXTURE_MARKER). */
#define _GNU_SOURCE

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(void)
{
    static char junk[65536];

    prctl(PR_SET_NAME, "sockfixture", 0, 0, 0);
    memset(junk, 'x', sizeof junk);
    for (size_t i = 99; i < sizeof junk; i += 100) junk[i] = '\n';
    for (;;) {
        if (write(STDOUT_FILENO, junk, sizeof junk) < 0 && errno != EINTR) return 1; /* the reader is gone */
    }
}
