/* policy.h - the Gaussian location policy and its REINFORCE pieces.
 *
 * The policy samples s ~ N(mu, std^2 I) per D-dimensional row; the location
 * actually used is clamp(s, -1, 1), but the log-probability (and so its
 * gradient) is always of the unclamped sample s:
 *     log pi(s | mu) = -|s - mu|^2 / (2 std^2) - D log(std) - D/2 log(2 pi)
 *     d log pi / d mu = (s - mu) / std^2
 * REINFORCE then weights d log pi / d mu by the advantage (R - b).
 */
#ifndef SACCADE_AGENT_POLICY_H
#define SACCADE_AGENT_POLICY_H

#include "nets/rng.h"

/* mu, s, l (N) : s = mu + std * eps, l = clamp(s, -1, 1). l may be NULL. */
void sc_policy_sample(float *s, float *l, const float *mu, float std, int N, sc_rng *r);

/* logp (B) = log pi(s[b] | mu[b]) over D coordinates per row. */
void sc_policy_logprob(float *logp, const float *s, const float *mu, float std, int B, int D);

/* dmu (B,D) += weight[b] * (s - mu) / std^2   (weight NULL = 1). */
void sc_policy_logprob_backward(float *dmu, const float *s, const float *mu, float std,
                                const float *weight, int B, int D);

/* Returns the mean of advantages (R - b) and stores their variance in *var. */
double sc_advantage_stats(const float *R, const float *b, int N, double *var);

#endif
