/* testutil.h - shared helpers for saccade's Check suites.
 *
 * SC_TEST_MAIN(make_suite) defines main(): it makes sure OpenBLAS runs the
 * kernels that fit this CPU (re-executing if needed, as the saccade command
 * does), runs the suite and exits non-zero on any failure.
 */
#ifndef SACCADE_TESTS_TESTUTIL_H
#define SACCADE_TESTS_TESTUTIL_H

#include <check.h>
#include <stdlib.h>
#include "nets/blas.h"

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
