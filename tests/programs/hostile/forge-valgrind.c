/*
 * forge-valgrind.c -- linked into a client that leaks (tests/programs/bugs/
 * 01-client-leaks-buffers.c) by tests/test_security.py: before main() runs,
 * it tries every way a program has to pass valgrind's memory check anyway.
 *
 *  1. rename a clean report over valgrind's files, wherever it can find them
 *     (beside the step folder: where the grader kept them until issue 14);
 *  2. through every descriptor it inherited besides stdin/out/err (valgrind's
 *     own, if it can reach them): truncate and write a clean report;
 *  3. fork a child that waits for the program's end (valgrind's report is
 *     complete then) and does 1 and 2 again.
 */
#define _GNU_SOURCE

#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char CLEAN_XML[] =
    "<?xml version=\"1.0\"?>\n<valgrindoutput>\n<protocolversion>4</protocolversion>\n"
    "<status><state>FINISHED</state><time>00:00:00:01.000 </time></status>\n</valgrindoutput>\n";
static const char CLEAN_LOG[] = "==2== HEAP SUMMARY:\n==2==     in use at exit: 0 bytes in 0 blocks\n";

static void put(const char *path, const char *text)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof tmp, "%s.forged", path);
    f = fopen(tmp, "w");
    if (f == NULL) return;
    fputs(text, f);
    fclose(f);
    rename(tmp, path);
}

static void rename_over(void)
{
    const char *patterns[] = {"../memcheck-*.xml", "../memcheck-*.log", "memcheck-*.xml", "memcheck-*.log",
                              "/tmp/memcheck-*.xml", "/tmp/memcheck-*.log", "../*/memcheck-*.xml", "../*/memcheck-*.log"};
    for (size_t p = 0; p < sizeof patterns / sizeof *patterns; p++) {
        glob_t found;
        if (glob(patterns[p], 0, NULL, &found) != 0) continue;
        for (size_t i = 0; i < found.gl_pathc; i++)
            put(found.gl_pathv[i], strstr(found.gl_pathv[i], ".xml") ? CLEAN_XML : CLEAN_LOG);
        globfree(&found);
    }
}

/* What each descriptor names (readlink of /proc/self/fd/N), "" if none. */
static char names[1024][64];

static void read_names(void)
{
    for (int fd = 0; fd < 1024; fd++) {
        char link[64];
        ssize_t n;
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        n = readlink(link, names[fd], sizeof names[fd] - 1);
        names[fd][n > 0 ? n : 0] = '\0';
    }
}

/* Valgrind's own report, wherever it goes: a file named memcheck-*, or the
 * write end of a pipe whose read end is elsewhere (a pipe with both ends
 * here is valgrind's own scheduler lock: touching it stops valgrind). */
static int is_report(int fd)
{
    if (strstr(names[fd], "memcheck-") != NULL) return 1;
    if (strncmp(names[fd], "pipe:", 5) != 0 || (fcntl(fd, F_GETFL) & O_ACCMODE) != O_WRONLY) return 0;
    for (int i = 0; i < 1024; i++)
        if (strcmp(names[fd], names[i]) == 0 && (fcntl(i, F_GETFL) & O_ACCMODE) == O_RDONLY) return 0;
    return 1;
}

static void write_through_descriptors(void)
{
    read_names();
    for (int fd = 3; fd < 1024; fd++) {
        int copy;
        if (!is_report(fd)) continue;
        copy = fcntl(fd, F_DUPFD, 3);
        if (copy < 0) continue;
        if (ftruncate(copy, 0) == 0) lseek(copy, 0, SEEK_SET);
        if (write(copy, CLEAN_XML, sizeof CLEAN_XML - 1) < 0) { /* nothing to do */ }
        close(copy);
    }
}

__attribute__((constructor)) static void forge(void)
{
    pid_t parent = getpid();

    rename_over();
    write_through_descriptors();
    if (fork() == 0) {
        for (int i = 0; i < 3000 && getppid() == parent; i++) usleep(1000);
        rename_over();
        write_through_descriptors();
        _exit(0);
    }
}
