/*
step: 01-client
bug: connects (or tries to) and then blocks forever without reading or exiting, whatever happened and whatever its arguments.
fails: *
*/
/* A grader robustness fixture: a client that never ends by itself.
 * Marker for leftover hunts: its comm is "sockfixture" (SOCKLAB_FIXTURE_MARKER). */
#define _GNU_SOURCE

#include <netdb.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct addrinfo hints, *list = NULL;
    int fd = -1;

    prctl(PR_SET_NAME, "sockfixture", 0, 0, 0);
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (argc == 3 && getaddrinfo(argv[1], argv[2], &hints, &list) == 0) {
        fd = socket(list->ai_family, list->ai_socktype, list->ai_protocol);
        if (fd >= 0) connect(fd, list->ai_addr, list->ai_addrlen);
        freeaddrinfo(list);
    }
    for (;;) pause(); /* never reads, never closes, never exits */
}
