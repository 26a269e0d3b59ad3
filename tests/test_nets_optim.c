/* test_nets_optim.c - optimizers, clipping and LR schedules (nets/optim.h)
 * against values worked out by hand from the formulas in the header.
 */
#include "tests/testutil.h"

#include <math.h>
#include <string.h>

#include "nets/optim.h"

START_TEST(test_sgd_momentum_weight_decay) {
    /* g' = g + wd p = [0.5 + 0.01, 0.25 - 0.02] = [0.51, 0.23]
     * m  = 0.9 m + g' = [0.09 + 0.51, -0.18 + 0.23] = [0.6, 0.05]
     * p -= 0.1 m      = [1 - 0.06, -2 - 0.005]     = [0.94, -2.005] */
    float p[2] = {1.0f, -2.0f}, g[2] = {0.5f, 0.25f}, m[2] = {0.1f, -0.2f};
    sc_sgd_step(p, g, m, 2, 0.1f, 0.9f, 0.01f);
    ck_assert_float_eq_tol(m[0], 0.6f, 1e-6f);
    ck_assert_float_eq_tol(m[1], 0.05f, 1e-6f);
    ck_assert_float_eq_tol(p[0], 0.94f, 1e-6f);
    ck_assert_float_eq_tol(p[1], -2.005f, 1e-6f);
    /* second step, same gradient: g' = [0.5094, 0.22995];
     * m = [0.54 + 0.5094, 0.045 + 0.22995] = [1.0494, 0.27495];
     * p = [0.94 - 0.10494, -2.005 - 0.027495] = [0.83506, -2.032495] */
    sc_sgd_step(p, g, m, 2, 0.1f, 0.9f, 0.01f);
    ck_assert_float_eq_tol(m[0], 1.0494f, 1e-6f);
    ck_assert_float_eq_tol(m[1], 0.27495f, 1e-6f);
    ck_assert_float_eq_tol(p[0], 0.83506f, 1e-6f);
    ck_assert_float_eq_tol(p[1], -2.032495f, 1e-6f);

    /* momentum 0: plain p -= lr (g + wd p) = 1 - 0.1 * 0.51 = 0.949; m may be NULL */
    float q = 1.0f, gq = 0.5f;
    sc_sgd_step(&q, &gq, NULL, 1, 0.1f, 0.0f, 0.01f);
    ck_assert_float_eq_tol(q, 0.949f, 1e-7f);
}
END_TEST

START_TEST(test_adam_two_steps) {
    /* t = 1: m = 0.1 g, v = 0.001 g^2, mhat = g, vhat = g^2: p moves by lr sign(g)
     *   p = [1 - 0.01, -0.5 + 0.01] = [0.99, -0.49]
     * t = 2, g = [-0.25, 1]: m = [0.045 - 0.025, -0.18 + 0.1] = [0.02, -0.08]
     *   v = [0.00024975 + 0.0000625, 0.003996 + 0.001] = [0.00031225, 0.004996]
     *   mhat = m / 0.19, vhat = v / 0.001999
     *   p0 = 0.99 - 0.01 * 0.1052632 / 0.3952254 = 0.98733663 (and p1 mirrors it) */
    float p[2] = {1.0f, -0.5f}, m[2] = {0}, v[2] = {0};
    float g1[2] = {0.5f, -2.0f}, g2[2] = {-0.25f, 1.0f};
    sc_adam_step(p, g1, m, v, 2, 0.01f, 0.9f, 0.999f, 1e-8f, 1);
    ck_assert_float_eq_tol(m[0], 0.05f, 1e-7f);
    ck_assert_float_eq_tol(v[0], 0.00025f, 1e-8f); /* 1 - 0.999f is 0.99999e-3 in float */
    ck_assert_float_eq_tol(p[0], 0.99f, 1e-6f);
    ck_assert_float_eq_tol(p[1], -0.49f, 1e-6f);
    sc_adam_step(p, g2, m, v, 2, 0.01f, 0.9f, 0.999f, 1e-8f, 2);
    ck_assert_float_eq_tol(m[0], 0.02f, 1e-7f);
    ck_assert_float_eq_tol(m[1], -0.08f, 1e-7f);
    ck_assert_float_eq_tol(v[0], 0.00031225f, 1e-8f);
    ck_assert_float_eq_tol(v[1], 0.004996f, 1e-7f);
    ck_assert_float_eq_tol(p[0], 0.98733663f, 1e-6f);
    ck_assert_float_eq_tol(p[1], -0.48733663f, 1e-6f);
}
END_TEST

START_TEST(test_optim_object) {
    sc_err err = {0};
    sc_optim o;
    ck_assert_int_eq(sc_optim_create(&o, SC_OPT_SGD, 2, &err), SC_OK);
    ck_assert_ptr_nonnull(o.m);
    ck_assert_ptr_null(o.v);
    ck_assert_float_eq(o.momentum, 0.9f);
    ck_assert_float_eq(o.weight_decay, 0.0f);
    ck_assert_int_eq(o.t, 0);
    ck_assert_float_eq(o.m[0], 0.0f);
    ck_assert_float_eq(o.m[1], 0.0f);
    /* the SGD object follows sc_sgd_step: m = g, p -= lr g on the first step */
    float p[2] = {1.0f, 2.0f}, g[2] = {0.5f, -1.0f};
    o.weight_decay = 0.01f;
    sc_optim_step(&o, p, g, 0.1f);
    ck_assert_int_eq(o.t, 1);
    ck_assert_float_eq_tol(p[0], 1.0f - 0.1f * 0.51f, 1e-7f);
    ck_assert_float_eq_tol(p[1], 2.0f - 0.1f * (-0.98f), 1e-7f);
    sc_optim_free(&o);
    ck_assert_ptr_null(o.m);
    sc_optim_free(&o);
    sc_optim_free(NULL);

    /* Adam object with defaults b1 0.9, b2 0.999, eps 1e-8, and L2 weight decay
     * folded into the gradient: g' = 0.5 + 0.1 p.
     * t = 1: p = 0.99.  t = 2: g' = 0.599, p = 0.980000439 (worked in double). */
    ck_assert_int_eq(sc_optim_create(&o, SC_OPT_ADAM, 1, &err), SC_OK);
    ck_assert_ptr_nonnull(o.v);
    ck_assert_float_eq(o.b1, 0.9f);
    ck_assert_float_eq(o.b2, 0.999f);
    ck_assert_float_eq(o.eps, 1e-8f);
    o.weight_decay = 0.1f;
    float q = 1.0f, gq = 0.5f;
    sc_optim_step(&o, &q, &gq, 0.01f);
    ck_assert_float_eq_tol(q, 0.99f, 1e-6f);
    sc_optim_step(&o, &q, &gq, 0.01f);
    ck_assert_int_eq(o.t, 2);
    ck_assert_float_eq_tol(q, 0.980000439f, 1e-6f);
    sc_optim_free(&o);

    ck_assert_int_eq(sc_optim_create(&o, (sc_opt_kind)7, 4, &err), SC_EARG);
    ck_assert_int_eq(err.code, SC_EARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "7"));
    sc_optim_free(&o);
}
END_TEST

/* Polyak averaging: the warm-up decay, the update against a scalar recursion in
 * double (n = 37: two 16-wide blocks and a tail), and the optimizer keeping the
 * average of the parameters after each step. */
START_TEST(test_ema) {
    ck_assert_float_eq_tol(sc_ema_decay(0.999f, 1), 2.0f / 11.0f, 1e-7f);
    ck_assert_float_eq_tol(sc_ema_decay(0.999f, 90), 91.0f / 100.0f, 1e-7f);
    ck_assert_float_eq(sc_ema_decay(0.999f, 100000), 0.999f);
    ck_assert_float_eq(sc_ema_decay(0.5f, 100), 0.5f);

    enum { N = 37 };
    float avg[N], p[N];
    double ref[N];
    for (int i = 0; i < N; i++) avg[i] = (float)(ref[i] = 0.1 * i - 1.0);
    for (int step = 0; step < 50; step++) {
        for (int i = 0; i < N; i++) p[i] = (float)sin(0.3 * step + i);
        sc_ema_update(avg, p, N, 0.9f);
        for (int i = 0; i < N; i++) ref[i] = 0.9 * ref[i] + 0.1 * (double)p[i];
    }
    for (int i = 0; i < N; i++) ck_assert_msg(fabs(avg[i] - ref[i]) < 1e-5, "i=%d: %g vs %g", i, avg[i], ref[i]);

    /* SGD without momentum on f = p^2/2 (g = p): p_t = 0.9^t p_0, the average
     * follows avg_t = d_t avg_{t-1} + (1 - d_t) p_t from avg_0 = p_0 */
    sc_err err = {0};
    sc_optim o;
    ck_assert_int_eq(sc_optim_create(&o, SC_OPT_SGD, 1, &err), SC_OK);
    o.momentum = 0.0f;
    float q = 2.0f;
    ck_assert_int_eq(sc_optim_enable_ema(&o, 0.95f, &q, &err), SC_OK);
    ck_assert_float_eq(o.ema[0], 2.0f);
    double a = 2.0, pq = 2.0;
    for (long t = 1; t <= 40; t++) {
        float g = q;
        sc_optim_step(&o, &q, &g, 0.1f);
        pq *= 0.9;
        double d = fmin(0.95, (1.0 + t) / (10.0 + t));
        a = d * a + (1 - d) * pq;
        ck_assert_msg(fabs(o.ema[0] - a) < 1e-5, "t=%ld: %g vs %g", t, o.ema[0], a);
    }
    ck_assert_msg(o.ema[0] > q, "the average (%g) lags the decaying parameter (%g)", o.ema[0], q);
    sc_optim_free(&o);
    ck_assert_ptr_null(o.ema);

    ck_assert_int_eq(sc_optim_create(&o, SC_OPT_ADAM, 1, &err), SC_OK);
    ck_assert_int_eq(sc_optim_enable_ema(&o, 1.0f, &q, &err), SC_EARG);
    ck_assert_msg(strstr(err.msg, "decay 1") && strstr(err.msg, "expected"), "%s", err.msg);
    ck_assert_int_eq(sc_optim_enable_ema(&o, 0.0f, &q, &err), SC_EARG);
    ck_assert_ptr_null(o.ema);
    sc_optim_free(&o);
}
END_TEST

/* Slices of a step (sc_optim_step_range, any cut points, any order, then one
 * sc_optim_count_step) give the bits of sc_optim_step over three steps: Adam
 * with weight decay and the parameter average, SGD with and without momentum,
 * cuts inside and at the edges of 16-blocks, empty and out-of-range slices. */
START_TEST(test_step_in_slices) {
    enum { N = 203 };
    const sc_opt_kind kinds[] = {SC_OPT_ADAM, SC_OPT_SGD, SC_OPT_SGD};
    const float moms[] = {0.0f, 0.9f, 0.0f};
    const size_t cuts[] = {0, 5, 16, 17, 100, 160, 203};
    sc_err err = {0};
    for (int kk = 0; kk < 3; kk++) {
        sc_optim a, b;
        ck_assert_int_eq(sc_optim_create(&a, kinds[kk], N, &err), SC_OK);
        ck_assert_int_eq(sc_optim_create(&b, kinds[kk], N, &err), SC_OK);
        a.momentum = b.momentum = moms[kk];
        a.weight_decay = b.weight_decay = 0.01f;
        float pa[N], pb[N], g[N];
        for (int i = 0; i < N; i++) pa[i] = pb[i] = sinf(0.37f * i);
        if (kk == 0) {
            ck_assert_int_eq(sc_optim_enable_ema(&a, 0.9f, pa, &err), SC_OK);
            ck_assert_int_eq(sc_optim_enable_ema(&b, 0.9f, pb, &err), SC_OK);
        }
        for (int step = 0; step < 3; step++) {
            for (int i = 0; i < N; i++) g[i] = cosf(0.11f * i + step) * (1 + step);
            sc_optim_step(&a, pa, g, 0.01f);
            for (int c = 5; c >= 0; c--)  /* last slice first */
                sc_optim_step_range(&b, pb, g, 0.01f, cuts[c], cuts[c + 1]);
            sc_optim_step_range(&b, pb, g, 0.01f, 50, 50);       /* empty */
            sc_optim_step_range(&b, pb, g, 0.01f, N + 3, N + 9);  /* beyond n: nothing */
            ck_assert_int_eq(b.t, a.t - 1);                      /* not counted yet */
            sc_optim_count_step(&b);
            ck_assert_int_eq(b.t, a.t);
            ck_assert_msg(!memcmp(pa, pb, sizeof pa), "kind %d step %d: parameters differ", kk, step);
            if (a.m) ck_assert(!memcmp(a.m, b.m, sizeof(float) * N));
            if (a.v) ck_assert(!memcmp(a.v, b.v, sizeof(float) * N));
            if (a.ema) ck_assert(!memcmp(a.ema, b.ema, sizeof(float) * N));
        }
        ck_assert(pa[7] != sinf(0.37f * 7));  /* the steps moved the parameters */
        sc_optim_free(&a);
        sc_optim_free(&b);
    }
}
END_TEST

START_TEST(test_clip_grad_norm) {
    float g[2] = {3.0f, 4.0f};
    ck_assert_float_eq_tol(sc_clip_grad_norm(g, 2, 10.0f), 5.0f, 1e-6f); /* below: untouched */
    ck_assert_float_eq(g[0], 3.0f);
    ck_assert_float_eq(g[1], 4.0f);
    ck_assert_float_eq_tol(sc_clip_grad_norm(g, 2, 0.0f), 5.0f, 1e-6f);  /* 0: no clipping */
    ck_assert_float_eq(g[0], 3.0f);
    ck_assert_float_eq_tol(sc_clip_grad_norm(g, 2, 5.0f), 5.0f, 1e-6f);  /* at: untouched */
    ck_assert_float_eq(g[1], 4.0f);
    ck_assert_float_eq_tol(sc_clip_grad_norm(g, 2, 1.0f), 5.0f, 1e-6f);  /* above: scaled */
    ck_assert_float_eq_tol(g[0], 0.6f, 1e-7f);
    ck_assert_float_eq_tol(g[1], 0.8f, 1e-7f);
    ck_assert_float_eq_tol(sc_clip_grad_norm(g, 2, 0.0f), 1.0f, 1e-6f);

    /* a long vector: clipped to exactly max_norm (to float precision), direction kept */
    enum { N = 10000 };
    static float v[N], v0[N];
    double ss = 0.0;
    for (int i = 0; i < N; i++) {
        v[i] = v0[i] = (float)sin(0.37 * i) * (1.0f + (float)(i % 7));
        ss += (double)v[i] * v[i];
    }
    float norm = sc_clip_grad_norm(v, N, 2.5f);
    ck_assert_double_eq_tol(norm, sqrt(ss), 1e-6 * sqrt(ss));
    double ss2 = 0.0;
    for (int i = 0; i < N; i++) ss2 += (double)v[i] * v[i];
    ck_assert_double_eq_tol(sqrt(ss2), 2.5, 1e-5);
    for (int i = 0; i < N; i++)
        ck_assert_float_eq_tol(v[i], v0[i] * (float)(2.5 / sqrt(ss)), 1e-6f);
    ck_assert_float_eq(sc_clip_grad_norm(v, 0, 1.0f), 0.0f);
}
END_TEST

START_TEST(test_lr_constant_linear_step) {
    sc_lr_sched s;
    sc_lr_init(&s);
    ck_assert_int_eq(s.kind, SC_LR_CONSTANT);
    ck_assert_float_eq(s.base, 1e-3f);
    ck_assert_float_eq(s.cur, s.base);
    ck_assert(isinf(s.best) && s.best > 0);
    ck_assert_float_eq(sc_lr_at(&s, 0), 1e-3f);
    ck_assert_float_eq(sc_lr_at(&s, 123456), 1e-3f);
    sc_lr_epoch_end(&s, 1.0); /* ignored */
    ck_assert_float_eq(sc_lr_at(&s, 7), 1e-3f);

    /* linear 1 -> 0.1 over 10 steps */
    s.kind = SC_LR_LINEAR;
    s.base = 1.0f;
    s.final_lr = 0.1f;
    s.total_steps = 10;
    ck_assert_float_eq_tol(sc_lr_at(&s, 0), 1.0f, 1e-7f);
    ck_assert_float_eq_tol(sc_lr_at(&s, 1), 0.91f, 1e-6f);
    ck_assert_float_eq_tol(sc_lr_at(&s, 5), 0.55f, 1e-6f);
    ck_assert_float_eq_tol(sc_lr_at(&s, 10), 0.1f, 1e-7f);
    ck_assert_float_eq_tol(sc_lr_at(&s, 1000), 0.1f, 1e-7f);

    /* step: 1, x0.5 every 3 steps */
    s.kind = SC_LR_STEP;
    s.gamma = 0.5f;
    s.step_every = 3;
    const float want[8] = {1, 1, 1, 0.5f, 0.5f, 0.5f, 0.25f, 0.25f};
    for (int i = 0; i < 8; i++) ck_assert_float_eq_tol(sc_lr_at(&s, i), want[i], 1e-7f);
    ck_assert_float_eq_tol(sc_lr_at(&s, 30), 1.0f / 1024.0f, 1e-9f);
}
END_TEST

START_TEST(test_lr_plateau) {
    sc_lr_sched s;
    sc_lr_init(&s);
    s.kind = SC_LR_PLATEAU;
    s.base = s.cur = 1.0f;
    s.gamma = 0.5f;
    s.patience = 2;
    s.min_lr = 0.3f;
    /* improvements reset the count; more than `patience` bad epochs decay */
    const double metric[] = {10, 9, 9, 9.5, 9.1, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8};
    const float want[] = {1, 1, 1, 1, 0.5f, 0.5f, 0.5f, 0.5f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f,
                          0.3f};
    for (size_t e = 0; e < sizeof metric / sizeof metric[0]; e++) {
        sc_lr_epoch_end(&s, metric[e]);
        ck_assert_msg(fabsf(sc_lr_at(&s, (long)e * 100) - want[e]) < 1e-7f,
                      "epoch %zu (metric %g): lr %g, want %g", e, metric[e], sc_lr_at(&s, 0),
                      want[e]);
    }
    ck_assert_double_eq(s.best, 8.0);

    /* a NaN metric counts as a bad epoch, never as an improvement */
    sc_lr_init(&s);
    s.kind = SC_LR_PLATEAU;
    s.base = s.cur = 1.0f;
    s.gamma = 0.1f;
    s.patience = 0;
    sc_lr_epoch_end(&s, 1.0);
    sc_lr_epoch_end(&s, NAN);
    ck_assert_float_eq_tol(sc_lr_at(&s, 0), 0.1f, 1e-8f);
    ck_assert_double_eq(s.best, 1.0);
}
END_TEST

static Suite *optim_suite(void) {
    Suite *s = suite_create("nets_optim");
    TCase *tc = tcase_create("optim");
    tcase_add_test(tc, test_sgd_momentum_weight_decay);
    tcase_add_test(tc, test_adam_two_steps);
    tcase_add_test(tc, test_optim_object);
    tcase_add_test(tc, test_ema);
    tcase_add_test(tc, test_step_in_slices);
    tcase_add_test(tc, test_clip_grad_norm);
    tcase_add_test(tc, test_lr_constant_linear_step);
    tcase_add_test(tc, test_lr_plateau);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(optim_suite)
