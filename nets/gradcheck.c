/* gradcheck.c - central finite differences against an analytic gradient (see gradcheck.h).
 *
 * For each probed coordinate i:
 *   numeric = (L(x + eps e_i) - L(x - eps e_i)) / (x_i^+ - x_i^-)
 * where x_i^+ and x_i^- are the float values actually stored (so the step is
 * exact even when x_i + eps rounds), and
 *   rel = |a - n| / max(|a| + |n|, abs_floor).
 * A NaN anywhere counts as an infinite error, so a checker never passes on NaN.
 * This file only measures; deciding what error is acceptable is the caller's.
 */
#include "gradcheck.h"

#include <math.h>

int sc_gradcheck(sc_loss_fn loss, void *ctx, float *x, const float *analytic, size_t n,
                 size_t max_checks, float eps, double abs_floor, sc_gradcheck_report *rep) {
    if (!loss || !rep || (n > 0 && (!x || !analytic)) || !(eps > 0.0f) || !(abs_floor >= 0.0))
        return -1;
    rep->checked = 0;
    rep->max_rel_err = 0.0;
    rep->max_abs_err = 0.0;
    rep->worst_index = 0;
    rep->worst_analytic = 0.0;
    rep->worst_numeric = 0.0;
    rep->norm_rel_err = rep->frac_off = rep->norm_analytic = 0.0;
    double d2 = 0.0, a2 = 0.0, n2 = 0.0;
    size_t off = 0;

    size_t probes = (max_checks == 0 || max_checks >= n) ? n : max_checks;
    int have_worst = 0;
    for (size_t k = 0; k < probes; k++) {
        /* every coordinate, or `probes` of them spread evenly over [0, n) */
        size_t i = probes == n ? k : (size_t)((double)k * (double)n / (double)probes);
        float orig = x[i];
        float xp = orig + eps, xm = orig - eps;
        x[i] = xp;
        double lp = loss(ctx);
        x[i] = xm;
        double lm = loss(ctx);
        x[i] = orig; /* restored exactly */

        double a = analytic[i];
        double num = (lp - lm) / ((double)xp - (double)xm);
        double abs_err = fabs(a - num);
        double denom = fabs(a) + fabs(num);
        if (denom < abs_floor) denom = abs_floor;
        double rel = denom > 0.0 ? abs_err / denom : abs_err; /* both 0: rel 0 */
        if (isnan(rel)) rel = INFINITY;
        if (isnan(abs_err)) abs_err = INFINITY;

        d2 += abs_err * abs_err;
        a2 += a * a;
        n2 += num * num;
        if (!(abs_err <= 0.05 * (fabs(a) + fabs(num)) + abs_floor)) off++;  /* NaN counts as off */
        rep->checked++;
        if (abs_err > rep->max_abs_err) rep->max_abs_err = abs_err;
        if (!have_worst || rel > rep->max_rel_err) {
            have_worst = 1;
            rep->max_rel_err = rel;
            rep->worst_index = i;
            rep->worst_analytic = a;
            rep->worst_numeric = num;
        }
    }
    double norms = sqrt(a2) + sqrt(n2);
    rep->norm_rel_err = norms > 0.0 ? sqrt(d2) / norms : (d2 > 0.0 ? INFINITY : 0.0);
    if (isnan(rep->norm_rel_err)) rep->norm_rel_err = INFINITY;
    rep->frac_off = probes ? (double)off / (double)probes : 0.0;
    rep->norm_analytic = sqrt(a2);
    return 0;
}
