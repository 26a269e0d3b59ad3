/* testutil.h - shared helpers for saccade's Check suites.
 *
 * SC_TEST_MAIN(make_suite) defines main(): it makes sure OpenBLAS runs the
 * kernels that fit this CPU (re-executing if needed, as the saccade command
 * does), runs the suite and exits non-zero on any failure.
 */
#ifndef SACCADE_TESTS_TESTUTIL_H
#define SACCADE_TESTS_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nets/blas.h"

/* A scratch folder per test under the build folder: make_tmpdir() creates
 * BUILD/<test file>.XXXXXX into tmpdir, remove_tmpdir() deletes it and all
 * it holds. */
__attribute__((unused)) static char tmpdir[512];

static inline void sc_test_make_tmpdir(const char *file) {
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    snprintf(tmpdir, sizeof tmpdir, "%s/%.*s.XXXXXX", SACCADE_BINARY_DIR, (int)strcspn(base, "."), base);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}
#define make_tmpdir() sc_test_make_tmpdir(__FILE__)

static inline void remove_tmpdir(void) {
    char cmd[1024];
    ck_assert_int_lt(snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir), (int)sizeof cmd);
    ck_assert_int_eq(system(cmd), 0);
}

/* The whole file at path, NUL-terminated, malloc'd (caller frees); its length
 * in *n when n is non-NULL. NULL if it cannot be opened. */
static inline char *slurp(const char *path, size_t *n) {
    if (n) *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)(len > 0 ? len : 0) + 1);
    ck_assert_ptr_nonnull(buf);
    size_t got = len > 0 ? fread(buf, 1, (size_t)len, f) : 0;
    fclose(f);
    buf[got] = 0;
    if (n) *n = got;
    return buf;
}

/* Writes n bytes to path (replacing it); fails the test on error. */
static inline void spit(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* Debian's dataset-fashion-mnist, used by the end-to-end tests; absent, they
 * print a loud SKIPPED line and pass (.ci/run installs it). */
#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
static inline int have_fashion(void) {
    if (access(FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) == 0) return 1;
    fprintf(stderr, "SKIPPED: %s not installed (apt-get install dataset-fashion-mnist)\n", FASHION_DIR);
    return 0;
}

#define SC_TEST_MAIN(make_suite)                                   \
    int main(int argc, char **argv) {                              \
        (void)argc;                                                \
        sc_blas_ensure_kernels(argv);                              \
        SRunner *sr = srunner_create(make_suite());                \
        srunner_run_all(sr, CK_NORMAL);                            \
        int failed = srunner_ntests_failed(sr);                    \
        srunner_free(sr);                                          \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;          \
    }

#endif
