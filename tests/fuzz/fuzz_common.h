/* fuzz_common.h - what every saccade fuzz harness shares (tests/fuzz/fuzz_*.c).
 *
 * What it is: a scratch folder per process under /dev/shm (the readers take
 * paths, so each input becomes a file there), removed when the process
 * exits; writing bytes to a file; and the check every harness makes of a
 * failed call: a non-zero code and one line of message that names the file.
 * A harness that finds a broken promise calls fz_fail, which prints what was
 * broken and aborts, so libFuzzer (or the replay driver, tests/fuzz/replay.c)
 * reports the input as a crash.
 *
 * What it is not: a library; only the harnesses include it.
 */
#ifndef SACCADE_TESTS_FUZZ_COMMON_H
#define SACCADE_TESTS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "nets/err.h"

/* libFuzzer's entry points, also called by tests/fuzz/replay.c. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* /dev/shm/saccade-<target>-<pid> (created on the first call; it and every
 * file in it are removed at exit). Aborts when it cannot be made. */
const char *fz_dir(const char *target);

/* dir/name into out (aborts when it does not fit). */
void fz_path(char *out, size_t n, const char *dir, const char *name);

/* Writes n bytes to path (replacing it); aborts on failure. */
void fz_write(const char *path, const void *p, size_t n);

/* Prints "fuzz: <what>" and aborts: a finding. */
__attribute__((noreturn, format(printf, 1, 2))) void fz_fail(const char *fmt, ...);

/* The promise of every reader: rc is SC_OK, or negative with err->code set
 * and a one-line message that names `name` (the file). call names the call.
 * With SACCADE_FUZZ_VERBOSE set in the environment it prints each result. */
void fz_check_error(const char *call, int rc, const sc_err *err, const char *name);

#endif
