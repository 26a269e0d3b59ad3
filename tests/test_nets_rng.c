/* test_nets_rng.c - the explicit-state RNG (nets/rng.h): reproducibility,
 * independence of seeds and streams, ranges, and distribution checks with
 * statistical bounds loose enough never to fail by chance (about 5 standard
 * errors, or chi-square far in the tail) yet tight enough to catch a biased
 * or broken generator.
 */
#include "tests/testutil.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nets/rng.h"

START_TEST(test_same_seed_same_stream) {
    sc_rng a, b;
    sc_rng_seed(&a, 42);
    sc_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++) ck_assert_uint_eq(sc_rng_u64(&a), sc_rng_u64(&b));
    /* every draw kind follows the seed, including the Box-Muller spare */
    for (int i = 0; i < 101; i++) {
        ck_assert_float_eq(sc_rng_normal(&a), sc_rng_normal(&b));
        ck_assert_float_eq(sc_rng_uniform(&a), sc_rng_uniform(&b));
        ck_assert_uint_eq(sc_rng_int(&a, 1000), sc_rng_int(&b, 1000));
    }
    /* re-seeding discards a pending spare normal */
    sc_rng_seed(&a, 7);
    (void)sc_rng_normal(&a);          /* leaves a spare */
    sc_rng_seed(&a, 7);
    sc_rng_seed(&b, 7);
    ck_assert_float_eq(sc_rng_normal(&a), sc_rng_normal(&b));

    sc_rng d1, d2;
    sc_rng_derive(&d1, 123, 5);
    sc_rng_derive(&d2, 123, 5);
    for (int i = 0; i < 100; i++) ck_assert_uint_eq(sc_rng_u64(&d1), sc_rng_u64(&d2));
}
END_TEST

/* Counts positions where two streams agree among the first n draws. */
static int agreements(sc_rng *a, sc_rng *b, int n) {
    int same = 0;
    for (int i = 0; i < n; i++) same += sc_rng_u64(a) == sc_rng_u64(b);
    return same;
}

START_TEST(test_different_seeds_and_streams_differ) {
    sc_rng a, b;
    sc_rng_seed(&a, 1);
    sc_rng_seed(&b, 2);
    ck_assert_int_eq(agreements(&a, &b, 1000), 0);
    sc_rng_seed(&a, 0);
    sc_rng_seed(&b, 0x8000000000000000ull); /* one bit apart */
    ck_assert_int_eq(agreements(&a, &b, 1000), 0);

    /* neighbouring streams of one seed, and one stream of neighbouring seeds */
    for (uint64_t s = 0; s < 8; s++) {
        sc_rng_derive(&a, 99, s);
        sc_rng_derive(&b, 99, s + 1);
        ck_assert_int_eq(agreements(&a, &b, 200), 0);
        sc_rng_derive(&a, s, 3);
        sc_rng_derive(&b, s + 1, 3);
        ck_assert_int_eq(agreements(&a, &b, 200), 0);
    }
    /* a derived stream is not the plain seed's stream */
    sc_rng_seed(&a, 99);
    sc_rng_derive(&b, 99, 0);
    ck_assert_int_eq(agreements(&a, &b, 200), 0);

    /* streams are not shifted copies of each other: the first draws of
     * stream 1 do not appear among the first 1000 draws of stream 0 */
    sc_rng_derive(&a, 5, 0);
    sc_rng_derive(&b, 5, 1);
    uint64_t first = sc_rng_u64(&b);
    for (int i = 0; i < 1000; i++) ck_assert_uint_ne(sc_rng_u64(&a), first);
}
END_TEST

START_TEST(test_uniform_range_and_moments) {
    sc_rng r;
    sc_rng_seed(&r, 2024);
    const int n = 1000000;
    double s = 0.0, sd = 0.0;
    float lo = 1.0f, hi = 0.0f;
    for (int i = 0; i < n; i++) {
        float u = sc_rng_uniform(&r);
        ck_assert(u >= 0.0f && u < 1.0f);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
        s += u;
        double ud = sc_rng_uniform_d(&r);
        ck_assert(ud >= 0.0 && ud < 1.0);
        sd += ud;
    }
    /* mean 1/2, standard error sqrt(1/12 / n) */
    double se = sqrt(1.0 / 12.0 / n);
    ck_assert_double_lt(fabs(s / n - 0.5), 5 * se);
    ck_assert_double_lt(fabs(sd / n - 0.5), 5 * se);
    ck_assert_float_lt(lo, 1e-5f);   /* covers the whole interval */
    ck_assert_float_gt(hi, 1.0f - 1e-5f);
}
END_TEST

START_TEST(test_normal_moments) {
    sc_rng r;
    sc_rng_seed(&r, 77);
    const int n = 200000;
    double s = 0.0, s2 = 0.0, s4 = 0.0;
    int beyond2 = 0;
    for (int i = 0; i < n; i++) {
        double z = sc_rng_normal(&r);
        ck_assert(isfinite(z));
        s += z;
        s2 += z * z;
        s4 += z * z * z * z;
        beyond2 += fabs(z) > 2.0;
    }
    double mean = s / n;
    double var = s2 / n - mean * mean;
    /* SE(mean) = 1/sqrt(n); SE(var) = sqrt(2/n) for a standard normal */
    ck_assert_double_lt(fabs(mean), 5.0 / sqrt((double)n));
    ck_assert_double_lt(fabs(var - 1.0), 5.0 * sqrt(2.0 / n));
    /* shape: E z^4 = 3 (SE sqrt(96/n)), P(|z| > 2) = 0.0455 (binomial SE) */
    ck_assert_double_lt(fabs(s4 / n - 3.0), 5.0 * sqrt(96.0 / n));
    double p2 = 0.0455003;
    ck_assert_double_lt(fabs((double)beyond2 / n - p2), 5.0 * sqrt(p2 * (1 - p2) / n));
}
END_TEST

/* Pearson chi-square of counts against equal expected frequencies. */
static double chi_square(const long *counts, int k, long n) {
    double e = (double)n / k, chi = 0.0;
    for (int i = 0; i < k; i++) chi += (counts[i] - e) * (counts[i] - e) / e;
    return chi;
}

START_TEST(test_int_range_and_unbiased) {
    sc_rng r;
    sc_rng_seed(&r, 31337);
    for (int i = 0; i < 1000; i++) ck_assert_uint_eq(sc_rng_int(&r, 1), 0);

    /* n = 10, 200k draws: chi-square with 9 dof has mean 9, sd 4.24;
     * P(chi2_9 > 40) ~ 5e-6. */
    long counts[10] = {0};
    const long draws = 200000;
    for (long i = 0; i < draws; i++) {
        uint32_t v = sc_rng_int(&r, 10);
        ck_assert_uint_lt(v, 10);
        counts[v]++;
    }
    ck_assert_double_lt(chi_square(counts, 10, draws), 40.0);

    /* n = 3 * 2^30: plain `u32 % n` would put half of all draws in the lowest
     * third (values below 2^32 - n = 2^30 come up twice). Unbiased: 1/3 each.
     * Chi-square with 2 dof: P(> 25) ~ 4e-6. */
    const uint32_t big = 3u << 30;
    long thirds[3] = {0};
    const long draws_big = 120000;
    for (long i = 0; i < draws_big; i++) {
        uint32_t v = sc_rng_int(&r, big);
        ck_assert_uint_lt(v, big);
        thirds[v >> 30]++;
    }
    ck_assert_double_lt(chi_square(thirds, 3, draws_big), 25.0);

    /* the largest n still stays in range */
    for (int i = 0; i < 10000; i++) ck_assert_uint_lt(sc_rng_int(&r, UINT32_MAX), UINT32_MAX);
}
END_TEST

START_TEST(test_shuffle_permutation_reproducible) {
    enum { N = 100 };
    int a[N], b[N], seen[N];
    for (int i = 0; i < N; i++) a[i] = b[i] = i;
    sc_rng r1, r2;
    sc_rng_seed(&r1, 5);
    sc_rng_seed(&r2, 5);
    sc_rng_shuffle(&r1, a, N);
    sc_rng_shuffle(&r2, b, N);
    memset(seen, 0, sizeof seen);
    int fixed = 0;
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(a[i], b[i]);          /* same seed, same order */
        ck_assert(a[i] >= 0 && a[i] < N);
        seen[a[i]]++;
        fixed += a[i] == i;
    }
    for (int i = 0; i < N; i++) ck_assert_int_eq(seen[i], 1); /* a permutation */
    ck_assert_int_lt(fixed, 10);                /* E[fixed points] = 1 */

    /* a different seed gives a different order */
    for (int i = 0; i < N; i++) b[i] = i;
    sc_rng_seed(&r2, 6);
    sc_rng_shuffle(&r2, b, N);
    int same = 0;
    for (int i = 0; i < N; i++) same += a[i] == b[i];
    ck_assert_int_lt(same, 10);

    /* every position is uniform: element 0 of a 4-shuffle lands anywhere
     * with probability 1/4 (chi-square, 3 dof, P(> 30) ~ 1e-6) */
    long where[4] = {0};
    const long trials = 40000;
    for (long t = 0; t < trials; t++) {
        int v[4] = {0, 1, 2, 3};
        sc_rng_shuffle(&r1, v, 4);
        for (int i = 0; i < 4; i++)
            if (v[i] == 0) where[i]++;
    }
    ck_assert_double_lt(chi_square(where, 4, trials), 30.0);

    /* degenerate sizes are no-ops */
    int one = 17;
    sc_rng_shuffle(&r1, &one, 1);
    ck_assert_int_eq(one, 17);
    sc_rng_shuffle(&r1, NULL, 0);
}
END_TEST

static Suite *rng_suite(void) {
    Suite *s = suite_create("nets_rng");
    TCase *tc = tcase_create("rng");
    tcase_add_test(tc, test_same_seed_same_stream);
    tcase_add_test(tc, test_different_seeds_and_streams_differ);
    tcase_add_test(tc, test_uniform_range_and_moments);
    tcase_add_test(tc, test_normal_moments);
    tcase_add_test(tc, test_int_range_and_unbiased);
    tcase_add_test(tc, test_shuffle_permutation_reproducible);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(rng_suite)
