/* test_agent_policy.c - the Gaussian location policy and the REINFORCE estimator.
 *
 * A 1-D toy problem with a known answer: policy s ~ N(theta, sigma^2), reward
 * f(s) = K - (s - a)^2, so E[f] = K - (theta - a)^2 - sigma^2 and the true
 * gradient is dE/dtheta = -2 (theta - a). The REINFORCE estimate
 * (f(s) - b) d log pi(s)/d theta, computed with saccade's own policy code, must
 * be unbiased (Monte-Carlo mean within a few standard errors of the truth) with
 * and without a baseline, and a good baseline must cut its variance.
 */
#include <math.h>
#include <stdlib.h>

#include "agent/policy.h"
#include "nets/gradcheck.h"
#include "nets/rng.h"
#include "tests/testutil.h"

typedef struct toy {
    double mean, var;
} toy;

/* Monte-Carlo mean and variance of the per-sample estimator. */
static toy reinforce_estimate(float theta, float sigma, float a, float K, int use_baseline, int N,
                              uint64_t seed) {
    sc_rng r;
    sc_rng_seed(&r, seed);
    const double baseline = use_baseline ? K - (theta - a) * (theta - a) - sigma * sigma : 0.0;
    double m = 0.0, m2 = 0.0;
    for (int i = 0; i < N; i++) {
        float s, mu = theta, g = 0.0f;
        sc_policy_sample(&s, NULL, &mu, sigma, 1, &r);
        float w = (float)((K - (s - a) * (s - a)) - baseline);
        sc_policy_logprob_backward(&g, &s, &mu, sigma, &w, 1, 1);
        m += g;
        m2 += (double)g * g;
    }
    toy t = {m / N, m2 / N - (m / N) * (m / N)};
    return t;
}

START_TEST(reinforce_unbiased_without_baseline) {
    const float theta = 0.3f, sigma = 0.2f, a = -0.1f, K = 2.0f;
    const int N = 400000;
    toy t = reinforce_estimate(theta, sigma, a, K, 0, N, 11);
    double truth = -2.0 * (theta - a);
    double se = sqrt(t.var / N);
    ck_assert_msg(fabs(t.mean - truth) < 4.0 * se, "mean %.5f vs analytic %.5f (se %.5f)", t.mean, truth, se);
    ck_assert_msg(se < 0.05 * fabs(truth), "estimate too noisy to mean anything: se %.5f", se);
}
END_TEST

START_TEST(reinforce_unbiased_with_baseline_and_lower_variance) {
    const float theta = 0.3f, sigma = 0.2f, a = -0.1f, K = 2.0f;
    const int N = 400000;
    toy nb = reinforce_estimate(theta, sigma, a, K, 0, N, 12);
    toy wb = reinforce_estimate(theta, sigma, a, K, 1, N, 12);
    double truth = -2.0 * (theta - a);
    double se = sqrt(wb.var / N);
    ck_assert_msg(fabs(wb.mean - truth) < 4.0 * se, "mean %.5f vs analytic %.5f (se %.5f)", wb.mean, truth, se);
    /* Without a baseline the reward's offset K multiplies the score: variance
     * grows like K^2/sigma^2; with the baseline only the reward's spread is left. */
    ck_assert_msg(wb.var < 0.1 * nb.var, "baseline variance %.4f not well below %.4f", wb.var, nb.var);
}
END_TEST

START_TEST(reinforce_learned_baseline_reduces_variance) {
    /* A baseline learned by SGD on (b - R)^2 from earlier samples, as the model does. */
    const float theta = -0.4f, sigma = 0.15f, a = 0.2f, K = 1.0f;
    sc_rng r;
    sc_rng_seed(&r, 99);
    double b = 0.0;
    for (int i = 0; i < 20000; i++) {
        float s, mu = theta;
        sc_policy_sample(&s, NULL, &mu, sigma, 1, &r);
        double R = K - (s - a) * (s - a);
        b -= 0.01 * 2.0 * (b - R);
    }
    const int N = 200000;
    double m = 0.0, m2 = 0.0, n0 = 0.0, n02 = 0.0;
    for (int i = 0; i < N; i++) {
        float s, mu = theta, g = 0.0f, g0 = 0.0f;
        sc_policy_sample(&s, NULL, &mu, sigma, 1, &r);
        float R = K - (s - a) * (s - a);
        float w = (float)(R - b), w0 = R;
        sc_policy_logprob_backward(&g, &s, &mu, sigma, &w, 1, 1);
        sc_policy_logprob_backward(&g0, &s, &mu, sigma, &w0, 1, 1);
        m += g; m2 += (double)g * g;
        n0 += g0; n02 += (double)g0 * g0;
    }
    double var = m2 / N - (m / N) * (m / N), var0 = n02 / N - (n0 / N) * (n0 / N);
    double truth = -2.0 * (theta - a);
    ck_assert_msg(fabs(m / N - truth) < 4.0 * sqrt(var / N), "mean %.5f vs %.5f", m / N, truth);
    ck_assert_msg(var < 0.5 * var0, "learned baseline variance %.4f vs none %.4f", var, var0);
}
END_TEST

/* d log pi / d mu by finite differences, over a 2-D batch. */
typedef struct lp_ctx {
    float s[8], mu[8], std;
} lp_ctx;

static double lp_loss(void *p) {
    lp_ctx *c = p;
    float lp[4];
    sc_policy_logprob(lp, c->s, c->mu, c->std, 4, 2);
    return (double)lp[0] + 2.0 * lp[1] - 0.5 * lp[2] + 3.0 * lp[3];
}

START_TEST(logprob_gradient_matches_finite_differences) {
    lp_ctx c = {{0.1f, -0.3f, 1.4f, 0.9f, -1.2f, 0.0f, 0.5f, 0.55f},
                {0.0f, -0.1f, 0.8f, 0.95f, -0.9f, 0.2f, 0.45f, 0.5f}, 0.3f};
    float w[4] = {1.0f, 2.0f, -0.5f, 3.0f}, g[8] = {0};
    sc_policy_logprob_backward(g, c.s, c.mu, c.std, w, 4, 2);
    sc_gradcheck_report rep;
    sc_gradcheck(lp_loss, &c, c.mu, g, 8, 0, 1e-3f, 1e-4, &rep);
    ck_assert_msg(rep.max_rel_err < 1e-3, "max rel err %.3g at %zu (analytic %.5g numeric %.5g)",
                  rep.max_rel_err, rep.worst_index, rep.worst_analytic, rep.worst_numeric);
}
END_TEST

START_TEST(logprob_is_of_the_unclamped_sample) {
    /* mu near the border: most samples land outside [-1,1]; the clamped location
     * differs from the sample, and log pi must be the Gaussian density of s. */
    sc_rng r;
    sc_rng_seed(&r, 5);
    float mu[2] = {0.95f, -0.98f}, s[2], l[2], lp;
    int clamped = 0;
    for (int i = 0; i < 200; i++) {
        sc_policy_sample(s, l, mu, 0.2f, 2, &r);
        for (int d = 0; d < 2; d++) {
            ck_assert(l[d] >= -1.0f && l[d] <= 1.0f);
            if (s[d] != l[d]) clamped++;
        }
        sc_policy_logprob(&lp, s, mu, 0.2f, 1, 2);
        double q = 0.0;
        for (int d = 0; d < 2; d++) q += (double)(s[d] - mu[d]) * (s[d] - mu[d]);
        double expect = -q / (2 * 0.04) - 2 * log(0.2) - log(2 * M_PI);
        ck_assert_msg(fabs(lp - expect) < 1e-4 * (1 + fabs(expect)), "logp %.6f vs %.6f", lp, expect);
    }
    ck_assert_msg(clamped > 50, "only %d clamped samples: the test did not exercise clamping", clamped);
}
END_TEST

START_TEST(sample_mean_and_std) {
    sc_rng r;
    sc_rng_seed(&r, 8);
    const int N = 100000;
    float mu = 0.25f, s;
    double m = 0.0, m2 = 0.0;
    for (int i = 0; i < N; i++) {
        sc_policy_sample(&s, NULL, &mu, 0.1f, 1, &r);
        m += s; m2 += (double)s * s;
    }
    m /= N;
    double var = m2 / N - m * m;
    ck_assert_msg(fabs(m - 0.25) < 5 * 0.1 / sqrt(N), "mean %.5f", m);
    ck_assert_msg(fabs(var - 0.01) < 5 * 0.01 * sqrt(2.0 / N), "variance %.6f", var);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("agent_policy");
    TCase *tc = tcase_create("policy");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, reinforce_unbiased_without_baseline);
    tcase_add_test(tc, reinforce_unbiased_with_baseline_and_lower_variance);
    tcase_add_test(tc, reinforce_learned_baseline_reduces_variance);
    tcase_add_test(tc, logprob_gradient_matches_finite_differences);
    tcase_add_test(tc, logprob_is_of_the_unclamped_sample);
    tcase_add_test(tc, sample_mean_and_std);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(make_suite)
