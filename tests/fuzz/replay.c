/* replay.c - runs a fuzz harness's inputs without libFuzzer, so the normal
 * (gcc, and gcc + ASan) builds replay the crash inputs kept as regression
 * tests (ctest fuzz_replay_TARGET over tests/fuzz/regress/TARGET/).
 *
 * Usage: fuzz_replay_TARGET PATH... where each PATH is an input file or a
 * folder of them. Before them it runs a few built-in inputs (empty, and the
 * two-byte headers 0..15 followed by zeros: every template unmutated, with
 * each flag), so the harness itself is exercised even with no regression
 * input kept. A harness that finds a broken promise aborts (fuzz_common.h);
 * the exit status is then non-zero.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz_common.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t k; buf && (k = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += k;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "replay: out of memory reading %s\n", path);
        return -1;
    }
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 1;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every regular file in dir, in name order; the count, or -1. */
static int run_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: cannot open folder %s\n", dir);
        return -1;
    }
    char **names = NULL;
    int n = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char **nn = realloc(names, sizeof *names * (size_t)(n + 1));
        if (!nn) break;
        names = nn;
        names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (!names[n]) break;
        sprintf(names[n], "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n > 0) qsort(names, (size_t)n, sizeof *names, cmp);
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (rc >= 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) rc = run_file(names[i]) < 0 ? -1 : rc + 1;
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    uint8_t zero[64] = {0};
    LLVMFuzzerTestOneInput(zero, 0);
    for (int h = 0; h < 16; h++) {
        zero[0] = (uint8_t)h;
        LLVMFuzzerTestOneInput(zero, sizeof zero);
    }
    int total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int k = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
        if (k < 0) return EXIT_FAILURE;
        total += k;
    }
    fprintf(stderr, "replay: %d input(s) and 17 built-in ones, no finding\n", total);
    return EXIT_SUCCESS;
}
