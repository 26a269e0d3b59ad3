/* blas.c - making sure OpenBLAS runs kernels that fit this CPU (see blas.h).
 *
 * OpenBLAS (DYNAMIC_ARCH builds) picks its kernels once, when the library
 * loads; an old release that does not recognise a CPU falls back to SSE3
 * "Prescott" kernels. We compare the kernels it chose with what the CPU
 * supports (via __builtin_cpu_supports) on a coarse ranking of core names:
 *
 *   1  SSE-era cores (Prescott, Core2, Nehalem, Atom, Barcelona, Bulldozer, ...)
 *   2  AVX          (Sandybridge)
 *   3  AVX2 + FMA   (Haswell, Zen, Excavator)
 *   4  AVX-512      (SkylakeX, Cooperlake, SapphireRapids)
 *
 * and, when the chosen core ranks below the CPU, ask to restart the process
 * with OPENBLAS_CORETYPE set. Core names not in the table are assumed good
 * enough (no restart). Only sc_blas_ensure_kernels prints; it is meant for
 * programs' main(), never for library code.
 */
#include <cblas.h> /* first: openblas_config.h needs _GNU_SOURCE before any libc header */

#include "blas.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct core_rank {
    const char *name;
    int rank;
} core_rank;

static const core_rank CORE_RANKS[] = {
    {"Katmai", 1},      {"Coppermine", 1},  {"Northwood", 1},    {"Prescott", 1},
    {"Banias", 1},      {"Atom", 1},        {"Core2", 1},        {"Penryn", 1},
    {"Dunnington", 1},  {"Nehalem", 1},     {"Athlon", 1},       {"Opteron", 1},
    {"Opteron_SSE3", 1}, {"Barcelona", 1},  {"Nano", 1},         {"Bobcat", 1},
    {"Bulldozer", 1},   {"Piledriver", 1},  {"Steamroller", 1},
    {"Sandybridge", 2},
    {"Haswell", 3},     {"Zen", 3},         {"Excavator", 3},
    {"SkylakeX", 4},    {"Cooperlake", 4},  {"SapphireRapids", 4},
};

/* The rank of an OpenBLAS core name, 0 when unknown. */
static int core_rank_of(const char *name) {
    if (!name) return 0;
    for (size_t i = 0; i < sizeof CORE_RANKS / sizeof CORE_RANKS[0]; i++)
        if (strcasecmp(CORE_RANKS[i].name, name) == 0) return CORE_RANKS[i].rank;
    return 0;
}

/* The best core type this CPU can run, its feature set for messages, or NULL
 * (always NULL off x86, where this ranking does not apply). */
static const char *cpu_best_core(const char **features) {
    *features = NULL;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512cd")) {
        *features = "AVX-512";
        return "SkylakeX";
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *features = "AVX2+FMA";
        return "Haswell";
    }
    if (__builtin_cpu_supports("avx")) {
        *features = "AVX";
        return "Sandybridge";
    }
#endif
    return NULL;
}

const char *sc_blas_wanted_coretype(char *why, size_t whylen) {
    if (why && whylen > 0) why[0] = '\0';
    const char *user = getenv("OPENBLAS_CORETYPE");
    if (user && user[0]) return NULL;           /* the user chose */
    if (getenv("SACCADE_BLAS_REEXEC")) return NULL; /* restarted once already: no loops */

    const char *features = NULL;
    const char *want = cpu_best_core(&features);
    if (!want) return NULL;                      /* no AVX: nothing better to ask for */
    const char *have = sc_blas_corename();
    int have_rank = core_rank_of(have);
    if (have_rank == 0) return NULL;             /* unknown name: assume good enough */
    if (have_rank >= core_rank_of(want)) return NULL;
    if (why && whylen > 0)
        snprintf(why, whylen, "OpenBLAS chose %s kernels but this CPU supports %s", have, features);
    return want;
}

int sc_blas_reexec(const char *coretype, char **argv, sc_err *err) {
    if (!coretype || !coretype[0] || !argv || !argv[0])
        return sc_errf(err, SC_EARG, "blas: cannot re-execute: no core type or no argv");
    if (setenv("OPENBLAS_CORETYPE", coretype, 1) != 0)
        return sc_errf(err, SC_EIO, "blas: cannot set OPENBLAS_CORETYPE=%s: %s",
                       coretype, strerror(errno));
    if (setenv("SACCADE_BLAS_REEXEC", "1", 1) != 0)
        return sc_errf(err, SC_EIO, "blas: cannot set SACCADE_BLAS_REEXEC=1: %s", strerror(errno));
    execv("/proc/self/exe", argv);
    return sc_errf(err, SC_EIO,
                   "blas: cannot re-execute /proc/self/exe (%s) with OPENBLAS_CORETYPE=%s: %s",
                   argv[0], coretype, strerror(errno));
}

const char *sc_blas_corename(void) {
    const char *name = openblas_get_corename();
    return name ? name : "unknown";
}

/* Leading/trailing blanks trimmed from OpenBLAS's config string, into buf. */
static void trimmed_config(char *buf, size_t len) {
    const char *cfg = openblas_get_config();
    if (!cfg) cfg = "OpenBLAS (no config string)";
    while (*cfg == ' ') cfg++;
    snprintf(buf, len, "%s", cfg);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == ' ') buf[--n] = '\0';
}

const char *sc_blas_config(void) {
    static char line[320];
    char cfg[200];
    trimmed_config(cfg, sizeof cfg);
    snprintf(line, sizeof line, "%s; core %s; %d thread%s", cfg, sc_blas_corename(),
             sc_blas_get_threads(), sc_blas_get_threads() == 1 ? "" : "s");
    return line;
}

/* n <= 0 means one thread per core OpenBLAS sees. */
void sc_blas_set_threads(int n) {
    openblas_set_num_threads(n > 0 ? n : openblas_get_num_procs());
}

int sc_blas_get_threads(void) {
    return openblas_get_num_threads();
}

void sc_blas_ensure_kernels(char **argv) {
    char why[160];
    const char *want = sc_blas_wanted_coretype(why, sizeof why);
    if (!want) return;
    fprintf(stderr, "saccade: %s; restarting with OPENBLAS_CORETYPE=%s\n", why, want);
    fflush(NULL); /* nothing buffered may be lost (or printed twice) across exec */
    sc_err err = {0};
    if (sc_blas_reexec(want, argv, &err) != SC_OK) {
        fprintf(stderr, "saccade: warning: %s; continuing with %s kernels\n", err.msg,
                sc_blas_corename());
    }
}
