/* test_nets_gradcheck.c - the finite-difference checker itself (nets/gradcheck.h):
 * it must report a tiny error for a correct gradient and a large one, at the
 * right coordinate, for a wrong gradient (so a gradient test can fail). It must
 * restore x exactly, honour max_checks and refuse bad arguments.
 */
#include "tests/testutil.h"

#include <math.h>
#include <string.h>

#include "nets/gradcheck.h"

/* L(x) = sum_i c_i sin(x_i) x_{i+1} + 0.5 sum_i x_i^3 (indices cyclic, in double).
 * dL/dx_i = c_i cos(x_i) x_{i+1} + c_{i-1} sin(x_{i-1}) + 1.5 x_i^2 */
typedef struct fn_ctx {
    float *x;
    const double *coef;
    int n;
    int calls;
} fn_ctx;

static double fn_loss(void *p) {
    fn_ctx *c = p;
    c->calls++;
    double L = 0.0;
    for (int i = 0; i < c->n; i++) {
        double xi = c->x[i], xn = c->x[(i + 1) % c->n];
        L += c->coef[i] * sin(xi) * xn + 0.5 * xi * xi * xi;
    }
    return L;
}

static void fn_grad(const fn_ctx *c, float *g) {
    int n = c->n;
    for (int i = 0; i < n; i++) {
        double xi = c->x[i], xn = c->x[(i + 1) % n], xp = c->x[(i + n - 1) % n];
        g[i] = (float)(c->coef[i] * cos(xi) * xn + c->coef[(i + n - 1) % n] * sin(xp) +
                       1.5 * xi * xi);
    }
}

enum { N = 9 };
static const double COEF[N] = {0.3, -1.2, 0.7, 2.0, -0.4, 1.1, -0.9, 0.25, 1.6};
static const float X0[N] = {0.1f, -0.7f, 1.3f, 0.45f, -1.1f, 0.8f, -0.2f, 0.65f, -0.35f};

START_TEST(test_correct_gradient_small_error) {
    float x[N], g[N];
    memcpy(x, X0, sizeof x);
    fn_ctx c = {x, COEF, N, 0};
    fn_grad(&c, g);
    sc_gradcheck_report rep;
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, g, N, 0, 1e-3f, 1e-4, &rep), 0);
    ck_assert_uint_eq(rep.checked, N);
    ck_assert_int_eq(c.calls, 2 * N);
    ck_assert_double_lt(rep.max_rel_err, 1e-5);
    ck_assert_double_lt(rep.max_abs_err, 1e-5);
    ck_assert_double_lt(rep.norm_rel_err, 1e-5);
    ck_assert_double_eq(rep.frac_off, 0.0);
    double a2 = 0.0;
    for (int i = 0; i < N; i++) a2 += (double)g[i] * g[i];
    ck_assert_double_eq_tol(rep.norm_analytic, sqrt(a2), 1e-9);
    ck_assert_int_eq(memcmp(x, X0, sizeof x), 0); /* restored bit for bit */
}
END_TEST

/* The tensor-level figures: one coordinate off moves frac_off by 1/N; a
 * negated gradient gives norm_rel_err 1 and every coordinate off. */
START_TEST(test_tensor_level_figures) {
    float x[N], g[N];
    memcpy(x, X0, sizeof x);
    fn_ctx c = {x, COEF, N, 0};
    fn_grad(&c, g);
    sc_gradcheck_report rep;
    g[2] = -g[2];
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, g, N, 0, 1e-3f, 1e-4, &rep), 0);
    ck_assert_double_eq_tol(rep.frac_off, 1.0 / N, 1e-12);
    ck_assert_double_gt(rep.norm_rel_err, 0.01);
    ck_assert_double_lt(rep.norm_rel_err, 1.0);
    for (int i = 0; i < N; i++) g[i] = -g[i];
    g[2] = -g[2];  /* now every coordinate is negated */
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, g, N, 0, 1e-3f, 1e-4, &rep), 0);
    ck_assert_double_eq(rep.frac_off, 1.0);
    ck_assert_double_gt(rep.norm_rel_err, 0.999);
    for (int i = 0; i < N; i++) g[i] = 0.0f;  /* all zero: vacuous, visible as norm_analytic 0 */
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, g, N, 0, 1e-3f, 1e-4, &rep), 0);
    ck_assert_double_eq(rep.norm_analytic, 0.0);
    ck_assert_double_gt(rep.norm_rel_err, 0.999);
}
END_TEST

START_TEST(test_wrong_gradient_large_error) {
    float x[N], g[N];
    memcpy(x, X0, sizeof x);
    fn_ctx c = {x, COEF, N, 0};
    fn_grad(&c, g);
    sc_gradcheck_report rep;

    /* a flipped sign at one coordinate: rel = 2|a| / 2|a| = 1, found there */
    float good = g[4];
    g[4] = -good;
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, g, N, 0, 1e-3f, 1e-4, &rep), 0);
    ck_assert_double_gt(rep.max_rel_err, 0.99);
    ck_assert_uint_eq(rep.worst_index, 4);
    ck_assert_double_eq_tol(rep.worst_analytic, -good, 1e-6);
    ck_assert_double_eq_tol(rep.worst_numeric, good, 1e-4);
    ck_assert_double_eq_tol(rep.max_abs_err, 2.0 * fabs(good), 1e-4);

    /* a 10% scale error is also far above any sensible tolerance */
    g[4] = good * 1.1f;
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, g, N, 0, 1e-3f, 1e-4, &rep), 0);
    ck_assert_double_gt(rep.max_rel_err, 0.04);
    ck_assert_uint_eq(rep.worst_index, 4);

    /* a NaN gradient is an infinite error, never a pass */
    g[4] = NAN;
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, g, N, 0, 1e-3f, 1e-4, &rep), 0);
    ck_assert(isinf(rep.max_rel_err));
    ck_assert_uint_eq(rep.worst_index, 4);
    ck_assert_int_eq(memcmp(x, X0, sizeof x), 0);
}
END_TEST

START_TEST(test_max_checks_and_floor) {
    float x[N], g[N];
    memcpy(x, X0, sizeof x);
    fn_ctx c = {x, COEF, N, 0};
    fn_grad(&c, g);
    g[0] = -g[0]; /* index 0 is always probed */
    sc_gradcheck_report rep;
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, g, N, 3, 1e-3f, 1e-4, &rep), 0);
    ck_assert_uint_eq(rep.checked, 3);
    ck_assert_int_eq(c.calls, 6);
    ck_assert_uint_eq(rep.worst_index, 0);
    ck_assert_double_gt(rep.max_rel_err, 0.99);
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, g, N, 100, 1e-3f, 1e-4, &rep), 0);
    ck_assert_uint_eq(rep.checked, N); /* max_checks >= n: all */

    /* abs_floor: tiny gradients with a tiny absolute error are not failures */
    float z[2] = {0.0f, 0.0f}, gz[2] = {1e-7f, -1e-7f};
    static const double zc[2] = {0.0, 0.0}; /* L = 0.5 (z0^3 + z1^3): dL/dz = 0 at 0 */
    fn_ctx cz = {z, zc, 2, 0};
    ck_assert_int_eq(sc_gradcheck(fn_loss, &cz, z, gz, 2, 0, 1e-3f, 1e-4, &rep), 0);
    ck_assert_double_lt(rep.max_rel_err, 1e-2);
    ck_assert_int_eq(sc_gradcheck(fn_loss, &cz, z, gz, 2, 0, 1e-3f, 0.0, &rep), 0);
    ck_assert_double_gt(rep.max_rel_err, 0.5); /* without the floor: relative noise */
}
END_TEST

START_TEST(test_bad_arguments) {
    float x[N], g[N];
    memcpy(x, X0, sizeof x);
    fn_ctx c = {x, COEF, N, 0};
    fn_grad(&c, g);
    sc_gradcheck_report rep;
    ck_assert_int_eq(sc_gradcheck(NULL, &c, x, g, N, 0, 1e-3f, 1e-4, &rep), -1);
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, NULL, g, N, 0, 1e-3f, 1e-4, &rep), -1);
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, NULL, N, 0, 1e-3f, 1e-4, &rep), -1);
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, g, N, 0, 0.0f, 1e-4, &rep), -1);
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, g, N, 0, -1e-3f, 1e-4, &rep), -1);
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, g, N, 0, NAN, 1e-4, &rep), -1);
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, g, N, 0, 1e-3f, -1.0, &rep), -1);
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, g, N, 0, 1e-3f, 1e-4, NULL), -1);
    ck_assert_int_eq(c.calls, 0);
    ck_assert_int_eq(sc_gradcheck(fn_loss, &c, x, g, 0, 0, 1e-3f, 1e-4, &rep), 0);
    ck_assert_uint_eq(rep.checked, 0);
}
END_TEST

static Suite *gradcheck_suite(void) {
    Suite *s = suite_create("nets_gradcheck");
    TCase *tc = tcase_create("gradcheck");
    tcase_add_test(tc, test_correct_gradient_small_error);
    tcase_add_test(tc, test_wrong_gradient_large_error);
    tcase_add_test(tc, test_tensor_level_figures);
    tcase_add_test(tc, test_max_checks_and_floor);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(gradcheck_suite)
