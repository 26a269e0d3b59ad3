/* test_nets_params.c - the parameter store (nets/params.h): declaring, allocating,
 * views, alignment, counts and lookup; the documented errors (with messages
 * that name the tensor); and the initialisers' ranges.
 */
#include "tests/testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nets/params.h"

START_TEST(test_add_alloc_views) {
    sc_params ps;
    sc_params_init(&ps);
    sc_err err = {0};
    int iw = sc_params_add(&ps, "fc.w", 10, 37, &err);   /* 370 floats: padded to 384 */
    int ib = sc_params_add(&ps, "fc.b", 1, 10, &err);    /* 10 floats: padded to 16 */
    int iv = sc_params_add(&ps, "v", 3, 16, &err);       /* 48 floats: no padding */
    ck_assert_int_eq(iw, 0);
    ck_assert_int_eq(ib, 1);
    ck_assert_int_eq(iv, 2);
    ck_assert_int_eq(ps.count, 3);
    ck_assert_ptr_null(ps.data);
    ck_assert_ptr_null(sc_params_data(&ps, iw)); /* no views before alloc */

    ck_assert_uint_eq(ps.p[iw].offset, 0);
    ck_assert_uint_eq(ps.p[ib].offset, 384);
    ck_assert_uint_eq(ps.p[iv].offset, 400);
    ck_assert_uint_eq(ps.n, 448);
    ck_assert_uint_eq(sc_params_count(&ps), 370 + 10 + 48);
    ck_assert_uint_eq(sc_params_size(&ps, iw), 370);
    ck_assert_uint_eq(sc_params_size(&ps, ib), 10);

    ck_assert_int_eq(sc_params_alloc(&ps, &err), SC_OK);
    ck_assert_ptr_nonnull(ps.data);
    ck_assert_ptr_nonnull(ps.grad);
    for (int i = 0; i < ps.count; i++) {
        ck_assert_uint_eq(ps.p[i].offset % 16, 0);
        ck_assert_uint_eq((uintptr_t)sc_params_data(&ps, i) % 64, 0);
        ck_assert_uint_eq((uintptr_t)sc_params_grad(&ps, i) % 64, 0);
        ck_assert_ptr_eq(sc_params_data(&ps, i), ps.data + ps.p[i].offset);
        ck_assert_ptr_eq(sc_params_grad(&ps, i), ps.grad + ps.p[i].offset);
    }
    /* zeroed, padding included */
    for (size_t i = 0; i < ps.n; i++) {
        ck_assert_float_eq(ps.data[i], 0.0f);
        ck_assert_float_eq(ps.grad[i], 0.0f);
    }
    /* views are disjoint: writing one tensor leaves the others alone */
    float *w = sc_params_data(&ps, iw), *b = sc_params_data(&ps, ib);
    for (size_t i = 0; i < sc_params_size(&ps, iw); i++) w[i] = 1.0f;
    for (size_t i = 0; i < sc_params_size(&ps, ib); i++) ck_assert_float_eq(b[i], 0.0f);

    ck_assert_int_eq(sc_params_find(&ps, "fc.w"), iw);
    ck_assert_int_eq(sc_params_find(&ps, "fc.b"), ib);
    ck_assert_int_eq(sc_params_find(&ps, "v"), iv);
    ck_assert_int_eq(sc_params_find(&ps, "fc"), -1);
    ck_assert_int_eq(sc_params_find(&ps, "fc.w "), -1);
    ck_assert_int_eq(sc_params_find(&ps, NULL), -1);

    for (size_t i = 0; i < ps.n; i++) ps.grad[i] = 3.0f;
    sc_params_zero_grad(&ps);
    for (size_t i = 0; i < ps.n; i++) ck_assert_float_eq(ps.grad[i], 0.0f);
    ck_assert_float_eq(w[0], 1.0f); /* data untouched */

    sc_params_free(&ps);
    ck_assert_ptr_null(ps.data);
    ck_assert_ptr_null(ps.grad);
    ck_assert_int_eq(ps.count, 0);
    ck_assert_uint_eq(ps.n, 0);
    sc_params_free(&ps);  /* twice is fine */
    sc_params_free(NULL); /* NULL is fine */
}
END_TEST

/* err.msg contains `want`. */
static void assert_msg_has(const sc_err *err, const char *want) {
    ck_assert_msg(strstr(err->msg, want) != NULL, "message '%s' does not mention '%s'",
                  err->msg, want);
}

/* sc_params_nonfinite: the first tensor and element holding a NaN or an
 * infinity, in data or in grad; padding between tensors is never read. */
START_TEST(test_nonfinite) {
    sc_params ps;
    sc_params_init(&ps);
    sc_err err = {0};
    sc_params_add(&ps, "fc.w", 10, 37, &err);
    sc_params_add(&ps, "fc.b", 1, 10, &err);
    sc_params_add(&ps, "v", 3, 16, &err);
    ck_assert_int_eq(sc_params_alloc(&ps, &err), SC_OK);
    for (size_t i = 0; i < ps.n; i++) ps.data[i] = ps.grad[i] = 1.0f;
    size_t at = 99;
    ck_assert_int_eq(sc_params_nonfinite(&ps, ps.data, &at), -1);
    ck_assert_uint_eq(at, 99);
    ps.data[384 - 1] = NAN;                      /* padding after fc.w: not a value */
    ck_assert_int_eq(sc_params_nonfinite(&ps, ps.data, &at), -1);
    ps.data[400 + 47] = -INFINITY;               /* v's last element */
    ck_assert_int_eq(sc_params_nonfinite(&ps, ps.data, &at), 2);
    ck_assert_uint_eq(at, 47);
    ps.data[384 + 3] = NAN;                      /* fc.b comes first */
    ck_assert_int_eq(sc_params_nonfinite(&ps, ps.data, &at), 1);
    ck_assert_uint_eq(at, 3);
    ck_assert_int_eq(sc_params_nonfinite(&ps, ps.grad, &at), -1);
    ps.grad[369] = INFINITY;                     /* fc.w's last element */
    ck_assert_int_eq(sc_params_nonfinite(&ps, ps.grad, &at), 0);
    ck_assert_uint_eq(at, 369);
    ps.grad[369] = 3.4e38f;                      /* huge but finite */
    ck_assert_int_eq(sc_params_nonfinite(&ps, ps.grad, NULL), -1);
    sc_params_free(&ps);
}
END_TEST

START_TEST(test_errors) {
    sc_params ps;
    sc_params_init(&ps);
    sc_err err = {0};

    ck_assert_int_eq(sc_params_add(&ps, "core.wx", 0, 5, &err), SC_EARG);
    ck_assert_int_eq(err.code, SC_EARG);
    assert_msg_has(&err, "core.wx");
    ck_assert_int_eq(sc_params_add(&ps, "core.wh", 4, -1, &err), SC_EARG);
    assert_msg_has(&err, "core.wh");
    ck_assert_int_eq(sc_params_add(&ps, "huge", 100000, 100000, &err), SC_EARG);
    assert_msg_has(&err, "huge");
    ck_assert_int_eq(sc_params_add(&ps, "", 1, 1, &err), SC_EARG);
    ck_assert_int_eq(sc_params_add(&ps, NULL, 1, 1, &err), SC_EARG);
    char longname[SC_PARAM_NAME_MAX + 8];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ck_assert_int_eq(sc_params_add(&ps, longname, 1, 1, &err), SC_EARG);
    ck_assert_int_eq(ps.count, 0); /* failures declare nothing */
    ck_assert_uint_eq(ps.n, 0);

    /* a name of exactly SC_PARAM_NAME_MAX - 1 characters fits */
    longname[SC_PARAM_NAME_MAX - 1] = '\0';
    ck_assert_int_eq(sc_params_add(&ps, longname, 1, 1, &err), 0);
    ck_assert_str_eq(ps.p[0].name, longname);

    ck_assert_int_eq(sc_params_add(&ps, "fc.w", 2, 3, &err), 1);
    ck_assert_int_eq(sc_params_add(&ps, "fc.w", 2, 3, &err), SC_EARG);
    assert_msg_has(&err, "fc.w");
    ck_assert_int_eq(ps.count, 2);

    /* the errors work without an sc_err too */
    ck_assert_int_eq(sc_params_add(&ps, "fc.w", 2, 3, NULL), SC_EARG);

    ck_assert_int_eq(sc_params_alloc(&ps, &err), SC_OK);
    ck_assert_int_eq(sc_params_add(&ps, "late.b", 1, 3, &err), SC_ESTATE);
    ck_assert_int_eq(err.code, SC_ESTATE);
    assert_msg_has(&err, "late.b");
    ck_assert_int_eq(sc_params_alloc(&ps, &err), SC_ESTATE);
    sc_params_free(&ps);

    /* past SC_PARAMS_MAX tensors */
    sc_params_init(&ps);
    char name[32];
    for (int i = 0; i < SC_PARAMS_MAX; i++) {
        snprintf(name, sizeof name, "t%d", i);
        ck_assert_int_eq(sc_params_add(&ps, name, 1, 1, &err), i);
    }
    ck_assert_int_eq(sc_params_add(&ps, "one.too.many", 1, 1, &err), SC_ENOMEM);
    assert_msg_has(&err, "one.too.many");
    ck_assert_int_eq(ps.count, SC_PARAMS_MAX);
    ck_assert_uint_eq(ps.n, 16 * SC_PARAMS_MAX);
    ck_assert_int_eq(sc_params_alloc(&ps, &err), SC_OK);
    sc_params_free(&ps);
}
END_TEST

START_TEST(test_init_ranges) {
    enum { N = 20000 };
    static float w[N];
    sc_rng r;
    sc_rng_seed(&r, 11);

    for (int i = 0; i < N; i++) w[i] = 5.0f;
    sc_init_zero(w, N);
    for (int i = 0; i < N; i++) ck_assert_float_eq(w[i], 0.0f);

    /* U(-a, a): in range, reaching both ends, mean ~0 */
    float a = 0.25f;
    sc_init_uniform(w, N, a, &r);
    float lo = a, hi = -a;
    double s = 0.0;
    for (int i = 0; i < N; i++) {
        ck_assert(w[i] >= -a && w[i] <= a);
        lo = w[i] < lo ? w[i] : lo;
        hi = w[i] > hi ? w[i] : hi;
        s += w[i];
    }
    ck_assert_float_lt(lo, -0.99f * a);
    ck_assert_float_gt(hi, 0.99f * a);
    ck_assert_double_lt(fabs(s / N), 5.0 * a / sqrt(3.0 * N)); /* 5 standard errors */

    /* Xavier: a = sqrt(6 / (fan_in + fan_out)), variance a^2 / 3 */
    int fan_in = 30, fan_out = 20;
    float ax = sqrtf(6.0f / (fan_in + fan_out));
    sc_init_xavier(w, N, fan_in, fan_out, &r);
    double s2 = 0.0;
    lo = ax;
    hi = -ax;
    for (int i = 0; i < N; i++) {
        ck_assert(w[i] >= -ax && w[i] <= ax);
        lo = w[i] < lo ? w[i] : lo;
        hi = w[i] > hi ? w[i] : hi;
        s2 += (double)w[i] * w[i];
    }
    ck_assert_float_lt(lo, -0.99f * ax);
    ck_assert_float_gt(hi, 0.99f * ax);
    double var = s2 / N, want = ax * ax / 3.0;
    ck_assert_double_lt(fabs(var - want), 0.05 * want);

    /* reproducible from the seed */
    static float w2[N];
    sc_rng_seed(&r, 99);
    sc_init_xavier(w, N, 8, 8, &r);
    sc_rng_seed(&r, 99);
    sc_init_xavier(w2, N, 8, 8, &r);
    ck_assert_int_eq(memcmp(w, w2, sizeof w), 0);
}
END_TEST

/* sc_params_init_linear draws U(+-1/sqrt(fan_in)) per tensor: cols by default,
 * the declared fan-in for a bias; both ends of each range are reached. */
START_TEST(test_init_linear_fan_in) {
    sc_params ps;
    sc_params_init(&ps);
    sc_err err = {0};
    int w = sc_params_add(&ps, "fc.W", 300, 16, &err);
    int b = sc_params_add(&ps, "fc.b", 1, 300, &err);
    ck_assert_int_ge(w, 0);
    ck_assert_int_ge(b, 0);
    ck_assert_int_eq(ps.p[w].fan_in, 16);
    ck_assert_int_eq(ps.p[b].fan_in, 300);
    ck_assert_int_eq(sc_params_set_fan_in(&ps, b, 16, &err), SC_OK);
    ck_assert_int_eq(sc_params_set_fan_in(&ps, b, 0, &err), SC_EARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "fc.b"));
    ck_assert_int_eq(sc_params_set_fan_in(&ps, 7, 3, &err), SC_EARG);
    ck_assert_int_eq(ps.p[b].fan_in, 16);
    ck_assert_int_eq(sc_params_alloc(&ps, &err), SC_OK);
    sc_rng r;
    sc_rng_seed(&r, 3);
    sc_params_init_linear(&ps, &r);
    for (int t = 0; t < 2; t++) {
        const float *x = sc_params_data(&ps, t);
        float lo = 1.0f, hi = -1.0f;
        for (size_t i = 0; i < sc_params_size(&ps, t); i++) {
            lo = x[i] < lo ? x[i] : lo;
            hi = x[i] > hi ? x[i] : hi;
        }
        ck_assert_float_le(hi, 0.25f);  /* 1/sqrt(16) */
        ck_assert_float_ge(lo, -0.25f);
        ck_assert_float_gt(hi, 0.2f);
        ck_assert_float_lt(lo, -0.2f);
    }
    sc_params_free(&ps);
}
END_TEST

/* sc_carve: each buffer 64-byte aligned, zeroed, disjoint and in order; zero sizes get NULL */
START_TEST(test_carve) {
    float *a = (float *)1, *b = (float *)1, *c = (float *)1, *d = (float *)1;
    float **ptrs[] = {&a, &b, &c, &d};
    const size_t sizes[] = {5, 0, 16, 33};
    size_t total = 0;
    float *mem = sc_carve(ptrs, sizes, 4, &total);
    ck_assert_ptr_nonnull(mem);
    ck_assert_uint_eq(total, 16 + 0 + 16 + 48);
    ck_assert_ptr_eq(a, mem);
    ck_assert_ptr_null(b);
    ck_assert_ptr_eq(c, mem + 16);
    ck_assert_ptr_eq(d, mem + 32);
    for (int k = 0; k < 4; k++)
        if (*ptrs[k]) ck_assert_uint_eq((uintptr_t)*ptrs[k] % 64, 0);
    for (size_t i = 0; i < total; i++) ck_assert_float_eq(mem[i], 0.0f);
    free(mem);
}
END_TEST

static Suite *params_suite(void) {
    Suite *s = suite_create("nets_params");
    TCase *tc = tcase_create("params");
    tcase_add_test(tc, test_add_alloc_views);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_nonfinite);
    tcase_add_test(tc, test_init_ranges);
    tcase_add_test(tc, test_init_linear_fan_in);
    tcase_add_test(tc, test_carve);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(params_suite)
