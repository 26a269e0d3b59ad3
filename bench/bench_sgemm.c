/* bench_sgemm.c - cblas_sgemm throughput for the shapes saccade's layers use.
 *
 * For each linear-forward shape (B, IN, OUT) it times
 *     out (B,OUT) = in (B,IN) @ w^T (OUT,IN)      (2 B IN OUT flops)
 * exactly as sc_linear_forward calls it, plus a 1024^3 square product, with 1
 * and 2 OpenBLAS threads, and prints the median GFLOP/s over several timed
 * repetitions after a warm-up. Each repetition runs enough calls to last about
 * 20 ms. Not a test: it only measures (and restarts itself once, like every
 * saccade program, if OpenBLAS picked kernels below what the CPU supports).
 *
 *     bench_sgemm [reps]      (default 9 repetitions)
 */
#include <cblas.h> /* first: openblas_config.h needs _GNU_SOURCE before any libc header */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nets/blas.h"
#include "nets/rng.h"

typedef struct shape {
    const char *what;
    int B, IN, OUT;
} shape;

static const shape SHAPES[] = {
    {"linear", 128, 64, 128},  {"linear", 128, 256, 256},  {"linear", 128, 512, 256},
    {"linear", 128, 256, 1024}, {"square", 1024, 1024, 1024},
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void sgemm_forward(float *out, const float *in, const float *w, const shape *s) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->B, s->OUT, s->IN,
                1.0f, in, s->IN, w, s->IN, 0.0f, out, s->OUT);
}

/* Median GFLOP/s of `reps` timed repetitions for shape s. */
static double bench_shape(const shape *s, const float *in, const float *w, float *out, int reps) {
    double flops = 2.0 * s->B * s->IN * (double)s->OUT;
    /* warm-up, and calls per repetition for ~20 ms */
    sgemm_forward(out, in, w, s);
    double t0 = now_s();
    sgemm_forward(out, in, w, s);
    double one = now_s() - t0;
    long calls = one > 0 ? (long)(0.02 / one) : 1000;
    if (calls < 1) calls = 1;
    for (long i = 0; i < calls; i++) sgemm_forward(out, in, w, s);

    double *gf = malloc((size_t)reps * sizeof *gf);
    if (!gf) return -1.0;
    for (int r = 0; r < reps; r++) {
        t0 = now_s();
        for (long i = 0; i < calls; i++) sgemm_forward(out, in, w, s);
        double dt = now_s() - t0;
        gf[r] = flops * (double)calls / dt * 1e-9;
    }
    qsort(gf, (size_t)reps, sizeof *gf, cmp_double);
    double med = gf[reps / 2];
    free(gf);
    return med;
}

static float *random_floats(size_t n, sc_rng *r) {
    float *p = malloc(n * sizeof *p);
    if (!p) return NULL;
    for (size_t i = 0; i < n; i++) p[i] = 2.0f * sc_rng_uniform(r) - 1.0f;
    return p;
}

int main(int argc, char **argv) {
    sc_blas_ensure_kernels(argv);
    int reps = 9;
    if (argc > 1) {
        char *end = NULL;
        long v = strtol(argv[1], &end, 10);
        if (!end || *end != '\0' || v < 1 || v > 1000) {
            fprintf(stderr, "bench_sgemm: repetitions must be an integer in 1..1000, got '%s'\n",
                    argv[1]);
            return EXIT_FAILURE;
        }
        reps = (int)v;
    }

    const char *how = !getenv("OPENBLAS_CORETYPE") ? "chosen by OpenBLAS"
                      : getenv("SACCADE_BLAS_REEXEC") ? "OPENBLAS_CORETYPE set by the restart"
                                                       : "OPENBLAS_CORETYPE set by the user";
    printf("# %s\n", sc_blas_config());
    printf("# core %s (%s); median of %d repetitions (~20 ms each) after warm-up\n",
           sc_blas_corename(), how, reps);
    printf("%-8s %5s %5s %5s  %14s  %14s\n", "shape", "B", "IN", "OUT", "1 thread GF/s",
           "2 threads GF/s");

    sc_rng r;
    sc_rng_seed(&r, 1);
    int status = EXIT_SUCCESS;
    for (size_t k = 0; k < sizeof SHAPES / sizeof SHAPES[0]; k++) {
        const shape *s = &SHAPES[k];
        float *in = random_floats((size_t)s->B * s->IN, &r);
        float *w = random_floats((size_t)s->OUT * s->IN, &r);
        float *out = malloc((size_t)s->B * s->OUT * sizeof *out);
        if (!in || !w || !out) {
            fprintf(stderr, "bench_sgemm: out of memory for shape %d x %d x %d\n", s->B, s->IN,
                    s->OUT);
            free(in);
            free(w);
            free(out);
            status = EXIT_FAILURE;
            break;
        }
        double gf[2];
        for (int t = 1; t <= 2; t++) {
            sc_blas_set_threads(t);
            gf[t - 1] = bench_shape(s, in, w, out, reps);
        }
        printf("%-8s %5d %5d %5d  %14.1f  %14.1f\n", s->what, s->B, s->IN, s->OUT, gf[0], gf[1]);
        fflush(stdout);
        free(in);
        free(w);
        free(out);
        if (gf[0] < 0 || gf[1] < 0) {
            fprintf(stderr, "bench_sgemm: out of memory for the timings\n");
            status = EXIT_FAILURE;
            break;
        }
    }
    return status;
}
