/*
step: 02-server
bug: ignores SIGTERM and SIGINT, listens but never accepts, and never exits by itself (not even on bad arguments or a port in use).
fails: *
*/
/* A grader robustness fixture: a server that cannot be stopped politely.
 * Marker for leftover hunts: its comm is "sockfixture" (SOCKLAB_FIXTURE_MARKER). */
#define _GNU_SOURCE

#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_in addr;
    int on = 1, fd;

    prctl(PR_SET_NAME, "sockfixture", 0, 0, 0);
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons((unsigned short)(argc > 1 ? atoi(argv[1]) : 0));
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0) listen(fd, 16);
    for (;;) pause(); /* clients wait in the backlog forever */
}
