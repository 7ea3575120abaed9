/*
step: 01-client
bug: forks 50 children that each sleep 1000 s (holding stdout and stderr), then exits 0 without connecting, whatever its arguments.
fails: *
*/
/* A grader robustness fixture: a client that leaves many processes behind.
 * Every child sets its comm to "sockfixture" (SOCKLAB_FIXTURE_MARKER): none may
 * be alive once a check has ended. */
#define _GNU_SOURCE

#include <sys/prctl.h>
#include <unistd.h>

enum { CHILDREN = 50 };

int main(void)
{
    for (int i = 0; i < CHILDREN; i++) {
        if (fork() == 0) {
            prctl(PR_SET_NAME, "sockfixture", 0, 0, 0);
            sleep(1000);
            _exit(0);
        }
    }
    return 0;
}
