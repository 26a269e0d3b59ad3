/* policy.c - Gaussian location policy: sampling, log-probability, its gradient. */
#include "policy.h"

#include <math.h>

void sc_policy_sample(float *s, float *l, const float *mu, float std, int N, sc_rng *r) {
    for (int i = 0; i < N; i++) {
        float v = mu[i] + std * sc_rng_normal(r);
        s[i] = v;
        if (l) l[i] = v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : v);
    }
}

void sc_policy_logprob(float *logp, const float *s, const float *mu, float std, int B, int D) {
    /* log pi = -|s-mu|^2/(2 std^2) - D log std - D/2 log 2pi */
    const double c = -(double)D * (log((double)std) + 0.5 * log(2.0 * M_PI));
    const double inv2v = 1.0 / (2.0 * (double)std * (double)std);
    for (int b = 0; b < B; b++) {
        double q = 0.0;
        for (int d = 0; d < D; d++) {
            double z = (double)s[b * D + d] - (double)mu[b * D + d];
            q += z * z;
        }
        logp[b] = (float)(c - q * inv2v);
    }
}

void sc_policy_logprob_backward(float *dmu, const float *s, const float *mu, float std,
                                const float *weight, int B, int D) {
    const float iv = 1.0f / (std * std);
    for (int b = 0; b < B; b++) {
        float w = weight ? weight[b] : 1.0f;
        for (int d = 0; d < D; d++) dmu[b * D + d] += w * (s[b * D + d] - mu[b * D + d]) * iv;
    }
}

double sc_advantage_stats(const float *R, const float *b, int N, double *var) {
    double m = 0.0, m2 = 0.0;
    for (int i = 0; i < N; i++) {
        double a = (double)R[i] - (b ? (double)b[i] : 0.0);
        m += a;
        m2 += a * a;
    }
    if (N <= 0) { if (var) *var = 0.0; return 0.0; }
    m /= N;
    if (var) *var = m2 / N - m * m;
    return m;
}
