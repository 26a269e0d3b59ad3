/* gradcheck.h - finite-difference gradient checking.
 *
 * For each checked x[i]: numeric = (L(x + eps e_i) - L(x - eps e_i)) / (2 eps),
 * with L evaluated in whatever precision the loss callback returns (double
 * recommended: accumulate the loss in double). Compared to analytic[i] by
 *   rel = |a - n| / max(|a| + |n|, abs_floor)
 * x is restored exactly after each probe.
 */
#ifndef SACCADE_NETS_GRADCHECK_H
#define SACCADE_NETS_GRADCHECK_H

#include <stddef.h>

typedef double (*sc_loss_fn)(void *ctx);

typedef struct sc_gradcheck_report {
    size_t checked;        /* coordinates probed */
    double max_rel_err;    /* worst relative error */
    double max_abs_err;    /* worst absolute error */
    size_t worst_index;    /* index of the worst relative error */
    double worst_analytic, worst_numeric;
    /* Over the probed coordinates as a whole (robust to float32 noise near
     * ReLU kinks, where single coordinates may be off while the tensor's
     * gradient is right; a wrong formula or sign fails both):
     *   norm_rel_err = |a - n| / (|a| + |n|)   (L2 norms over the probes)
     *   frac_off     = share of probes with |a - n| > 0.05 (|a| + |n|) + abs_floor
     *   norm_analytic = |a|, so a caller can refuse a vacuous all-zero check */
    double norm_rel_err, frac_off, norm_analytic;
} sc_gradcheck_report;

/* Probes x[0..n) (every coordinate if max_checks == 0 or >= n, else max_checks
 * coordinates spread evenly with stride n/max_checks). abs_floor avoids dividing
 * by ~0 for tiny gradients (e.g. 1e-4). Returns 0 (or -1 if an argument is bad). */
int sc_gradcheck(sc_loss_fn loss, void *ctx, float *x, const float *analytic, size_t n,
                 size_t max_checks, float eps, double abs_floor, sc_gradcheck_report *rep);

#endif
