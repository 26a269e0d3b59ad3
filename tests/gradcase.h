/* gradcase.h - the layer tests' finite-difference harness (test_nets_layers.c,
 * test_nets_attn.c): scratch buffers freed at the end of a test, and a
 * "gradient case" that checks every variable of a layer at once.
 *
 * A gcase names a forward that returns a scalar loss L (a fixed random linear
 * functional of the layer's outputs) and a backward that runs the forward and
 * then ADDS dL/dx into each variable's gradient buffer. run_case:
 *   1. runs backward twice from zeroed buffers and asserts the second call
 *      doubled every gradient (backward must add), and that no gradient is
 *      identically ~0 (the check would be vacuous);
 *   2. compares each variable's analytic gradient with central differences
 *      (nets/gradcheck.h, step eps, relative error |a - n| / max(|a| + |n|,
 *      GRADCASE_ABS_FLOOR)) and asserts the worst is below tol.
 * run_case_scaled multiplies the analytic gradients by wrong_scale first and
 * only asserts for wrong_scale == 1: the tests use it to show a wrong gradient
 * is caught.
 * SACCADE_TEST_VERBOSE=1 prints every variable's figures.
 *
 * Include it once per test file, after Check and testutil.h: everything is
 * static.
 */
#ifndef SACCADE_TESTS_GRADCASE_H
#define SACCADE_TESTS_GRADCASE_H

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nets/gradcheck.h"
#include "nets/rng.h"

#define GRADCASE_EPS 1e-2f       /* finite-difference step for smooth layers */
#define GRADCASE_ABS_FLOOR 1e-2  /* rel = |a - n| / max(|a| + |n|, floor) */
#define GRADCASE_TOL 3e-3        /* worst relative error allowed */

/* ---- scratch memory: every buffer of a test, freed at its end ------------------ */

#define ARENA_MAX 512
static void *arena[ARENA_MAX];
static int arena_n;

static float *fbuf(size_t n) {
    ck_assert_int_lt(arena_n, ARENA_MAX);
    float *p = calloc(n > 0 ? n : 1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    arena[arena_n++] = p;
    return p;
}

/* n floats uniform in (-a, a). */
static float *frand(sc_rng *r, size_t n, float a) {
    float *p = fbuf(n);
    for (size_t i = 0; i < n; i++) p[i] = a * (2.0f * sc_rng_uniform(r) - 1.0f);
    return p;
}

static float *fcopy(const float *src, size_t n) {
    float *p = fbuf(n);
    memcpy(p, src, n * sizeof *p);
    return p;
}

static void arena_free(void) {
    for (int i = 0; i < arena_n; i++) free(arena[i]);
    arena_n = 0;
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static int verbose(void) {
    const char *v = getenv("SACCADE_TEST_VERBOSE");
    return v && v[0] && v[0] != '0';
}

/* ---- the generic gradient-check case --------------------------------------------- */

#define MAXV 8

typedef struct gvar {
    const char *name; /* the input or parameter, e.g. "wx" */
    float *x;         /* its values (probed by the checker) */
    float *g;         /* its gradient buffer (backward adds here) */
    size_t n;
} gvar;

typedef struct gcase {
    const char *name;
    void *ctx;
    double (*loss)(void *ctx);   /* forward, then L */
    void (*backward)(void *ctx); /* forward, then backward adding into every g */
    int nv;
    gvar v[MAXV];
    float eps;   /* finite-difference step (GRADCASE_EPS for smooth layers) */
    double tol;  /* worst relative error allowed (GRADCASE_TOL) */
} gcase;

static void add_var(gcase *c, const char *name, float *x, float *g, size_t n) {
    ck_assert_int_lt(c->nv, MAXV);
    c->v[c->nv++] = (gvar){name, x, g, n};
}

/* Returns the worst max_rel_err over the variables. */
static double run_case_scaled(const gcase *c, float wrong_scale) {
    const float eps = c->eps;
    const double tol = c->tol;
    float *g1[MAXV];
    for (int k = 0; k < c->nv; k++) memset(c->v[k].g, 0, c->v[k].n * sizeof(float));
    c->backward(c->ctx);
    for (int k = 0; k < c->nv; k++) g1[k] = fcopy(c->v[k].g, c->v[k].n);

    /* backward adds: a second call doubles every gradient */
    c->backward(c->ctx);
    for (int k = 0; k < c->nv; k++) {
        const gvar *v = &c->v[k];
        float gmax = 0.0f;
        for (size_t i = 0; i < v->n; i++) gmax = fmaxf(gmax, fabsf(g1[k][i]));
        ck_assert_msg(gmax > 1e-3f, "%s: d%s is identically ~0 (max %g): the check would be vacuous",
                      c->name, v->name, gmax);
        for (size_t i = 0; i < v->n; i++)
            ck_assert_msg(fabsf(v->g[i] - 2.0f * g1[k][i]) <= 1e-5f * gmax,
                          "%s: d%s[%zu] after two backward calls is %g, want 2 x %g "
                          "(backward must add into d-buffers)",
                          c->name, v->name, i, v->g[i], g1[k][i]);
    }

    double worst = 0.0;
    for (int k = 0; k < c->nv; k++) {
        const gvar *v = &c->v[k];
        for (size_t i = 0; i < v->n; i++) g1[k][i] *= wrong_scale;
        sc_gradcheck_report rep;
        int rc = sc_gradcheck(c->loss, c->ctx, v->x, g1[k], v->n, 0, eps, GRADCASE_ABS_FLOOR, &rep);
        ck_assert_int_eq(rc, 0);
        ck_assert_uint_eq(rep.checked, v->n);
        if (verbose())
            printf("  %-36s d%-7s n=%4zu  max rel %.2e  max abs %.2e  norm rel %.2e%s\n", c->name, v->name,
                   v->n, rep.max_rel_err, rep.max_abs_err, rep.norm_rel_err,
                   wrong_scale != 1.0f ? "  (wrong on purpose)" : "");
        if (wrong_scale == 1.0f)
            ck_assert_msg(rep.max_rel_err < tol,
                          "%s: d%s[%zu] analytic %.7g vs numeric %.7g: relative error %.3g > %.3g", c->name,
                          v->name, rep.worst_index, rep.worst_analytic, rep.worst_numeric, rep.max_rel_err, tol);
        if (rep.max_rel_err > worst) worst = rep.max_rel_err;
    }
    return worst;
}

static void run_case(const gcase *c) { run_case_scaled(c, 1.0f); }

#endif
