/* blas.h - making sure OpenBLAS runs kernels that fit this CPU.
 *
 * Debian's OpenBLAS 0.3.21 does not recognise recent CPUs (e.g. AVX-512 Zen 4
 * or Sapphire Rapids) and silently falls back to SSE3 "Prescott" kernels,
 * about 5x slower. The core type can only be chosen before the library loads,
 * via the OPENBLAS_CORETYPE environment variable. Programs (the saccade
 * command, tests, benchmarks) therefore call sc_blas_wanted_coretype() first
 * thing in main() and, if it names a core, print the reason and call
 * sc_blas_reexec() to start again with the variable set.
 */
#ifndef SACCADE_NETS_BLAS_H
#define SACCADE_NETS_BLAS_H

#include <stddef.h>
#include "err.h"

/* The OPENBLAS_CORETYPE this process should be restarted with, or NULL when
 * nothing needs doing: the user set OPENBLAS_CORETYPE themselves, we already
 * re-executed once (SACCADE_BLAS_REEXEC is set), or the kernels OpenBLAS chose
 * are at least as good as what the CPU supports. When non-NULL, why[] holds
 * one line explaining it (detected core vs CPU features). */
const char *sc_blas_wanted_coretype(char *why, size_t whylen);

/* Sets OPENBLAS_CORETYPE=coretype and SACCADE_BLAS_REEXEC=1, then execv()s
 * /proc/self/exe with argv. Returns only on failure (SC_EIO with a message). */
int sc_blas_reexec(const char *coretype, char **argv, sc_err *err);

/* The kernel core OpenBLAS uses ("SkylakeX", "Haswell", "Prescott", ...). */
const char *sc_blas_corename(void);
/* A one-line description: version, core, threads. */
const char *sc_blas_config(void);
void sc_blas_set_threads(int n);
int sc_blas_get_threads(void);

/* Convenience for main(): the two calls above, printing the reason to stderr.
 * Only for programs (it may print and it may not return). */
void sc_blas_ensure_kernels(char **argv);

#endif
