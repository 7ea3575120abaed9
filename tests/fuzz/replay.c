/*
 * replay.c -- runs a fuzz target without libFuzzer: `make test` builds each
 * target with this main (and ASan + UBSan) and replays the seed corpus and the
 * regressions through it, so the targets are compiled and exercised in every
 * test run.
 *
 *     replay FILE|DIR...        every file given, and every file of every folder
 *     replay --random N SEED    also N pseudo-random inputs (a fixed seed: the
 *                               same inputs every run), biased towards the
 *                               bytes the targets care about
 */
#define _DEFAULT_SOURCE

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long replayed;

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    static uint8_t data[1 << 20];
    size_t n;

    if (!f) {
        perror(path);
        return -1;
    }
    n = fread(data, 1, sizeof data, f);
    fclose(f);
    uint8_t *copy = malloc(n ? n : 1); /* exactly n bytes: ASan sees a read past them */
    memcpy(copy, data, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
    replayed++;
    return 0;
}

static int replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) return replay_file(path);

    struct dirent **names;
    int count = scandir(path, &names, NULL, alphasort), status = 0;
    if (count < 0) {
        perror(path);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        char full[4096];
        if (names[i]->d_name[0] != '.') {
            snprintf(full, sizeof full, "%s/%s", path, names[i]->d_name);
            status |= replay_file(full);
        }
        free(names[i]);
    }
    free(names);
    return status;
}

/* xorshift64: the same numbers on every machine */
static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void replay_random(long count, uint64_t seed)
{
    static const char alphabet[] = "\n\r:-+*/%0123456789CALPINGQUT\xc0\xf8\x3f\x7f\x80\xbf";
    uint8_t data[2048];

    for (long i = 0; i < count; i++) {
        size_t n = (size_t)(next(&seed) % (i % 8 == 0 ? sizeof data : 64));
        for (size_t j = 0; j < n; j++) {
            uint64_t x = next(&seed);
            data[j] =
                x % 4 ? (uint8_t)alphabet[(x >> 8) % (sizeof alphabet - 1)] : (uint8_t)(x >> 16);
        }
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, data, n);
        LLVMFuzzerTestOneInput(copy, n);
        free(copy);
        replayed++;
    }
}

int main(int argc, char **argv)
{
    int status = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--random") == 0 && i + 2 < argc) {
            replay_random(atol(argv[i + 1]), strtoull(argv[i + 2], NULL, 0));
            i += 2;
        } else {
            status |= replay_path(argv[i]);
        }
    }
    printf("replayed %ld inputs\n", replayed);
    return status ? 1 : 0;
}
