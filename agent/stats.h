/* stats.h - the per-batch statistics of a forward pass with labels, one
 * struct for every model kind: each kind's forward (sc_ram_forward,
 * sc_soft_forward, sc_fc_forward, sc_sa_forward) fills it directly, and
 * sc_model_forward hands it on unchanged.
 *
 * A kind writes the terms it measures and leaves the others NaN
 * (sc_model_stats_clear first), so that a log never shows a 0 that was not
 * measured: the RAM's policy terms are NaN for soft, fc and selfattn, the
 * attention terms NaN for ram and fc.
 *
 * What it is not: a running average (the trainer averages over an epoch).
 */
#ifndef SACCADE_AGENT_STATS_H
#define SACCADE_AGENT_STATS_H

#include <math.h>

typedef struct sc_model_stats {
    double xent;          /* mean cross-entropy */
    double reward;        /* accuracy of the batch, correct / B (the RAM's reward R) */
    int correct;          /* correct predictions */
    double reinforce;     /* ram: mean REINFORCE surrogate -sum_t (R - b) log pi (without its weight) */
    double baseline_mse;  /* ram: mean (b - R)^2 over (b, t), b = 0 without a baseline: the
                           * advantage's second moment, which scales the estimator's variance */
    double adv_var;       /* ram: variance of R - b over (b, t) */
    double rf_grad_var;   /* ram: trace of the covariance over the batch of each example's REINFORCE
                           * gradient on the location net's output layer (sc_ram_reinforce_grads):
                           * the estimator's own variance, comparable across baselines */
    double mu_abs;        /* ram: mean |mu| over steps, examples and both coordinates */
    double mu_spread;     /* ram: std of mu across the batch, averaged over steps and coordinates
                           * (0 for a policy that ignores the image) */
    double att_entropy;   /* soft, selfattn: mean entropy of the (logged) attention weights (nats;
                           * log L = uniform) */
    double att_max;       /* soft, selfattn: mean largest attention weight (1/L = uniform) */
} sc_model_stats;

/* Every term NaN, correct 0: what a kind starts from before writing its own. */
static inline void sc_model_stats_clear(sc_model_stats *st) {
    st->xent = st->reward = NAN;
    st->correct = 0;
    st->reinforce = st->baseline_mse = st->adv_var = st->rf_grad_var = st->mu_abs = st->mu_spread = NAN;
    st->att_entropy = st->att_max = NAN;
}

#endif
