/*
step: 08-multi-server
bug: listens on 127.0.0.1 only, never accepts, and exits with status 3 after 300 ms: it dies while the grader watches it idle, and every check must still say so plainly (not "the grader itself failed").
fails: *
*/
/* A grader robustness fixture: a server that listens, then quits on its own. */
#define _POSIX_C_SOURCE 200809L

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_in addr;
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 300000000L};
    int on = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (argc != 2 || fd < 0) return 3;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((unsigned short)atoi(argv[1]));
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0) return 3;
    nanosleep(&pause, NULL);
    return 3;
}
