/*
step: 02-server
bug: starts detached grandchildren (fork, setsid, fork again) that ignore SIGTERM/SIGINT/SIGHUP and sleep or spin forever holding stdout and stderr, then crashes with SIGSEGV.
fails: *
*/
/* A grader robustness fixture: leftovers that escape the program's session and
 * process group. Every leftover sets its comm to "sockfixture"
 * (SOCKLAB_FIXTURE_MARKER): none may be alive once a check has ended. */
#define _GNU_SOURCE

#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

enum { CHILDREN = 4 };

static void leftover(int spin)
{
    volatile unsigned long counter = 0;

    prctl(PR_SET_NAME, "sockfixture", 0, 0, 0);
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    if (spin) {
        for (;;) counter++;
    }
    for (;;) sleep(1000);
}

int main(void)
{
    int *volatile nowhere = NULL;

    for (int i = 0; i < CHILDREN; i++) {
        pid_t child = fork();
        if (child == 0) {
            setsid(); /* a session and process group of its own */
            if (fork() == 0) leftover(i % 2); /* the grandchild: orphaned at once */
            _exit(0);
        }
        if (child > 0) waitpid(child, NULL, 0);
    }
    usleep(20000); /* let the grandchildren name themselves */
    *nowhere = 1;  /* the parent crashes: SIGSEGV */
    puts("not reached");
    return 0;
}
