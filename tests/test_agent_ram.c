/* test_agent_ram.c - the recurrent attention model.
 *
 * - whole-model finite-difference gradient check of every parameter, with the
 *   sampled locations held fixed, for rnn and lstm cores and linear and MLP
 *   location nets: classifier/core/glimpse parameters against the
 *   cross-entropy, location parameters against the REINFORCE term, baseline
 *   parameters against its MSE (the stop-gradients of ram.h); with
 *   reinforce_full the core and glimpse parameters against the cross-entropy
 *   plus the REINFORCE term; the constant baseline's one parameter; and on
 *   3-channel non-square canvases (12 x 20, 20 x 12), where the glimpse
 *   network reads k g g 3 values;
 * - the ema baseline: its updates and its use as b;
 * - the location net gets no gradient from the cross-entropy and the core none
 *   from REINFORCE or the baseline (no leaks);
 * - samples are stored unclamped, locations clamped; no log-probability for a
 *   location after the last glimpse;
 * - learning: on small synthetic tasks with fixed seeds, loss falls and
 *   accuracy rises well above chance within a bounded number of steps, and the
 *   location policy learns to move to where the class information is.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ram.h"
#include "nets/gradcheck.h"
#include "nets/optim.h"
#include "tests/testutil.h"

static sc_ram_cfg small_cfg(sc_core_kind core, int loc_mlp) {
    sc_ram_cfg c;
    memset(&c, 0, sizeof c);
    c.img_h = 12; c.img_w = 12; c.num_classes = 3; c.glimpses = 3; c.glimpse_size = 3; c.scales = 2;
    c.glimpse_hidden = 5; c.loc_hidden = 4; c.glimpse_out = 6; c.core = core; c.hidden = 7;
    c.loc_mlp = loc_mlp; c.loc_net_hidden = 5; c.first_center = 0; c.baseline = 1; c.reinforce = 1;
    c.reinforce_weight = 0.7f; c.max_batch = 4;
    return c;
}

typedef struct gc_ctx {
    sc_ram *m;
    float *x, *loc;
    int *labels, B;
    float std;
    int term;  /* 0 xent, 1 reinforce (weighted), 2 baseline mse, 3 xent + reinforce */
} gc_ctx;

static double gc_loss(void *p) {
    gc_ctx *c = p;
    sc_model_stats st;
    sc_rng r;
    sc_rng_seed(&r, 1);
    sc_ram_forward(c->m, c->x, c->labels, c->B, c->std, &r, c->loc, &st);
    const sc_ram_cfg *cfg = sc_ram_config(c->m);
    const double rf = cfg->reinforce_weight * st.reinforce;
    return c->term == 0 ? st.xent : c->term == 1 ? rf : c->term == 2 ? st.baseline_mse : st.xent + rf;
}

/* Every coordinate by central differences (nets/gradcheck.h); callers judge
 * the tensor as a whole (norm_rel_err, frac_off), robust to float32 noise near
 * ReLU kinks, and refuse an all-zero gradient (norm_analytic). */
static sc_gradcheck_report check_tensor(gc_ctx *c, float *w, const float *a, size_t n) {
    sc_gradcheck_report rep;
    ck_assert_int_eq(sc_gradcheck(gc_loss, c, w, a, n, 0, 2e-3f, 1e-4, &rep), 0);
    return rep;
}

static int term_of(const char *name, int full) {
    if (!strncmp(name, "loc.", 4)) return 1;
    if (!strncmp(name, "baseline.", 9)) return 2;
    return full ? 3 : 0;
}

/* full: REINFORCE into the core and glimpse net, checked with a baseline that
 * does not depend on h (constant): a state baseline's b moves with the core
 * under finite differences, while its gradient is (rightly) stopped.
 * channels, H, W: the canvas (B, H, W, channels); small_cfg's is 12 x 12 grey. */
static void run_gradcheck_canvas(sc_core_kind core, int loc_mlp, int full, int baseline_kind, int channels, int H,
                                 int W) {
    sc_ram_cfg cfg = small_cfg(core, loc_mlp);
    cfg.reinforce_full = full;
    cfg.baseline_kind = baseline_kind;
    cfg.channels = channels;
    cfg.img_h = H;
    cfg.img_w = W;
    sc_ram *m;
    sc_err err = {0};
    ck_assert_int_eq(sc_ram_create(&m, &cfg, &err), SC_OK);
    sc_rng r;
    sc_rng_seed(&r, 42);
    sc_ram_init_params(m, &r);
    sc_params *ps = sc_ram_params(m);
    /* larger weights than the default init so every path carries signal */
    for (size_t i = 0; i < ps->n; i++) ps->data[i] *= 2.0f;
    const int B = 3, T = cfg.glimpses, npix = H * W * (channels ? channels : 1);
    /* the glimpse network reads k g g channels values per glimpse */
    const int iwg = sc_params_find(ps, "glimpse.Wg");
    ck_assert_int_eq(ps->p[iwg].cols, cfg.scales * cfg.glimpse_size * cfg.glimpse_size * (channels ? channels : 1));
    float *x = malloc(sizeof(float) * B * npix), loc[3 * 3 * 2];
    ck_assert_ptr_nonnull(x);
    int labels[3] = {0, 2, 1};
    for (int i = 0; i < B * npix; i++) x[i] = sc_rng_uniform(&r);
    for (int i = 0; i < T * B * 2; i++) loc[i] = 1.6f * sc_rng_uniform(&r) - 0.8f;
    loc[T * B * 2 - 1] = 1.3f;  /* an out-of-range sample: clamped location, unclamped log-prob */
    gc_ctx c = {m, x, loc, labels, B, 0.3f, 0};
    sc_model_stats st;
    ck_assert_int_eq(sc_ram_forward(m, x, labels, B, c.std, &r, loc, &st), SC_OK);
    sc_params_zero_grad(ps);
    sc_ram_backward(m, labels, B, c.std);
    float *analytic = malloc(sizeof(float) * ps->n);
    memcpy(analytic, ps->grad, sizeof(float) * ps->n);
    for (int i = 0; i < ps->count; i++) {
        c.term = term_of(ps->p[i].name, full);
        size_t n = sc_params_size(ps, i);
        sc_gradcheck_report tc = check_tensor(&c, sc_params_data(ps, i), analytic + ps->p[i].offset, n);
        ck_assert_msg(tc.norm_rel_err < 2e-2 && tc.frac_off < 0.1,
                      "%s (core %d, mlp %d, full %d, baseline %d, %d x %d x %d): |a-n|/(|a|+|n|) = %.3g, %.0f%% of "
                      "coordinates off by > 5%%",
                      ps->p[i].name, core, loc_mlp, full, baseline_kind, H, W, channels, tc.norm_rel_err,
                      100.0 * tc.frac_off);
        ck_assert_msg(tc.norm_analytic > 0.0, "%s has an all-zero gradient: the check would be vacuous", ps->p[i].name);
    }
    free(analytic);
    free(x);
    sc_ram_free(m);
}

static void run_gradcheck_cfg(sc_core_kind core, int loc_mlp, int full, int baseline_kind) {
    run_gradcheck_canvas(core, loc_mlp, full, baseline_kind, 1, 12, 12);
}

static void run_gradcheck(sc_core_kind core, int loc_mlp) { run_gradcheck_cfg(core, loc_mlp, 0, SC_BASELINE_STATE); }

START_TEST(gradcheck_rnn_linear) { run_gradcheck(SC_CORE_RNN, 0); }
END_TEST
START_TEST(gradcheck_rnn_mlp) { run_gradcheck(SC_CORE_RNN, 1); }
END_TEST
START_TEST(gradcheck_lstm_linear) { run_gradcheck(SC_CORE_LSTM, 0); }
END_TEST
START_TEST(gradcheck_lstm_mlp) { run_gradcheck(SC_CORE_LSTM, 1); }
END_TEST
START_TEST(gradcheck_full_rnn_linear) { run_gradcheck_cfg(SC_CORE_RNN, 0, 1, SC_BASELINE_CONSTANT); }
END_TEST
START_TEST(gradcheck_full_rnn_mlp) { run_gradcheck_cfg(SC_CORE_RNN, 1, 1, SC_BASELINE_CONSTANT); }
END_TEST
START_TEST(gradcheck_full_lstm_linear) { run_gradcheck_cfg(SC_CORE_LSTM, 0, 1, SC_BASELINE_CONSTANT); }
END_TEST
START_TEST(gradcheck_full_lstm_mlp) { run_gradcheck_cfg(SC_CORE_LSTM, 1, 1, SC_BASELINE_CONSTANT); }
END_TEST
START_TEST(gradcheck_constant_baseline) { run_gradcheck_cfg(SC_CORE_RNN, 0, 0, SC_BASELINE_CONSTANT); }
END_TEST
/* colour on a non-square canvas: 3 channels, 12 rows x 20 columns (and 20 x 12).
 * As above, a tensor can fail a correct gradient when a step crosses a ReLU
 * kink (10 x 14 does: glimpse.bl's numeric value moves from 0.380 to 0.424 as
 * the step shrinks from 2e-3 to 3e-4, onto the analytic 0.424); with these
 * canvases every tensor clears the bounds by 5x or more. */
START_TEST(gradcheck_rgb_non_square) { run_gradcheck_canvas(SC_CORE_RNN, 0, 0, SC_BASELINE_STATE, 3, 12, 20); }
END_TEST
START_TEST(gradcheck_rgb_non_square_lstm_full) {
    run_gradcheck_canvas(SC_CORE_LSTM, 1, 1, SC_BASELINE_CONSTANT, 3, 20, 12);
}
END_TEST

/* With reinforce_full the core's gradient is the cross-entropy's plus the
 * REINFORCE term's, and the two differ: the check above would also pass for a
 * model that ignored the flag only if the REINFORCE part were zero. */
START_TEST(full_gradient_changes_core_gradient) {
    float *g[2];
    size_t n = 0;
    for (int full = 0; full < 2; full++) {
        sc_ram_cfg cfg = small_cfg(SC_CORE_LSTM, 0);
        cfg.reinforce_full = full;
        cfg.baseline_kind = SC_BASELINE_CONSTANT;
        sc_ram *m;
        ck_assert_int_eq(sc_ram_create(&m, &cfg, NULL), SC_OK);
        sc_rng r;
        sc_rng_seed(&r, 5);
        sc_ram_init_params(m, &r);
        sc_params *ps = sc_ram_params(m);
        const int B = 3;
        float x[3 * 144];
        int labels[3] = {2, 0, 1};
        for (int i = 0; i < 3 * 144; i++) x[i] = sc_rng_uniform(&r);
        sc_model_stats st;
        ck_assert_int_eq(sc_ram_forward(m, x, labels, B, 0.2f, &r, NULL, &st), SC_OK);
        sc_params_zero_grad(ps);
        sc_ram_backward(m, labels, B, 0.2f);
        int iwg = sc_params_find(ps, "glimpse.Wg");
        n = sc_params_size(ps, iwg);
        g[full] = malloc(sizeof(float) * n);
        memcpy(g[full], sc_params_grad(ps, iwg), sizeof(float) * n);
        sc_ram_free(m);
    }
    double diff = 0.0;
    for (size_t i = 0; i < n; i++) diff += fabs((double)g[0][i] - g[1][i]);
    ck_assert_msg(diff > 1e-6, "reinforce_full left glimpse.Wg's gradient unchanged (sum |diff| %.3g)", diff);
    free(g[0]);
    free(g[1]);
}
END_TEST

/* The ema baseline: no parameters; b = 0 until the first backward, which sets
 * it to the batch's mean reward; then b <- d b + (1 - d) mean R; the forward
 * subtracts it (baseline_mse = mean (b - R)^2 shows which b was used). */
START_TEST(ema_baseline_updates) {
    sc_ram_cfg cfg = small_cfg(SC_CORE_RNN, 0);
    cfg.baseline_kind = SC_BASELINE_EMA;
    cfg.baseline_decay = 0.75f;
    sc_ram *m;
    ck_assert_int_eq(sc_ram_create(&m, &cfg, NULL), SC_OK);
    ck_assert_int_lt(sc_params_find(sc_ram_params(m), "baseline.b"), 0);
    ck_assert(isnan(sc_ram_baseline_ema(m)));
    sc_rng r;
    sc_rng_seed(&r, 9);
    sc_ram_init_params(m, &r);
    const int B = 4;
    float x[4 * 144];
    for (int i = 0; i < 4 * 144; i++) x[i] = sc_rng_uniform(&r);
    double expect = NAN;
    for (int step = 0; step < 6; step++) {
        int labels[4];
        for (int b = 0; b < B; b++) labels[b] = (int)(sc_rng_uniform(&r) * 3.0f) % 3;
        sc_model_stats st;
        ck_assert_int_eq(sc_ram_forward(m, x, labels, B, 0.2f, &r, NULL, &st), SC_OK);
        const double bused = isnan(expect) ? 0.0 : (double)(float)expect, R = st.reward;
        /* every row's R is 0 or 1: mean (b - R)^2 = R (1 - b)^2 + (1 - R) b^2 */
        const double mse = R * (1.0 - bused) * (1.0 - bused) + (1.0 - R) * bused * bused;
        ck_assert_msg(fabs(st.baseline_mse - mse) < 1e-6, "step %d: baseline_mse %.9f, expected %.9f for b = %.6f",
                      step, st.baseline_mse, mse, bused);
        sc_params_zero_grad(sc_ram_params(m));
        sc_ram_backward(m, labels, B, 0.2f);
        expect = isnan(expect) ? R : 0.75 * expect + 0.25 * R;
        ck_assert_msg(fabs(sc_ram_baseline_ema(m) - expect) < 1e-12, "step %d: ema %.9f, expected %.9f", step,
                      sc_ram_baseline_ema(m), expect);
    }
    /* evaluation (no labels) does not move it */
    float lp[4 * 3];
    int pred[4];
    ck_assert_int_ge(sc_ram_predict(m, x, NULL, B, 2, 0.2f, &r, lp, pred), 0);
    ck_assert(fabs(sc_ram_baseline_ema(m) - expect) < 1e-12);
    sc_ram_free(m);
}
END_TEST

/* The REINFORCE term does change with the core's parameters (through mu and b),
 * but the core must not receive that gradient: finite differences of the
 * REINFORCE term w.r.t. core.Wx are non-zero while the analytic core gradient
 * equals the cross-entropy's alone. */
START_TEST(no_policy_gradient_into_core) {
    sc_ram_cfg cfg = small_cfg(SC_CORE_RNN, 0);
    sc_ram *m;
    ck_assert_int_eq(sc_ram_create(&m, &cfg, NULL), SC_OK);
    sc_rng r;
    sc_rng_seed(&r, 3);
    sc_ram_init_params(m, &r);
    sc_params *ps = sc_ram_params(m);
    const int B = 3, T = cfg.glimpses;
    float x[3 * 144], loc[3 * 3 * 2];
    int labels[3] = {1, 1, 0};
    for (int i = 0; i < 3 * 144; i++) x[i] = sc_rng_uniform(&r);
    for (int i = 0; i < T * B * 2; i++) loc[i] = sc_rng_uniform(&r) - 0.5f;
    gc_ctx c = {m, x, loc, labels, B, 0.2f, 0};
    int iwx = sc_params_find(ps, "core.Wx");
    ck_assert_int_ge(iwx, 0);
    size_t n = sc_params_size(ps, iwx);
    sc_model_stats st;
    sc_ram_forward(m, x, labels, B, c.std, &r, loc, &st);
    sc_params_zero_grad(ps);
    sc_ram_backward(m, labels, B, c.std);
    float *full = malloc(sizeof(float) * n);
    memcpy(full, sc_params_grad(ps, iwx), sizeof(float) * n);
    /* the cross-entropy alone explains the core gradient */
    sc_gradcheck_report rep;
    c.term = 0;
    sc_gradcheck_report tc = check_tensor(&c, sc_params_data(ps, iwx), full, n);
    ck_assert_msg(tc.norm_rel_err < 2e-2, "core grad != xent grad: rel err %.3g", tc.norm_rel_err);
    /* while the REINFORCE term does depend on the core */
    float *zero = calloc(n, sizeof(float));
    c.term = 1;
    sc_gradcheck(gc_loss, &c, sc_params_data(ps, iwx), zero, n, 0, 1e-2f, 1e-3, &rep);
    ck_assert_msg(rep.max_abs_err > 1e-4, "REINFORCE term does not depend on the core: test is vacuous");
    free(zero);
    free(full);
    sc_ram_free(m);
}
END_TEST

/* sc_ram_reinforce_grads: the per-example REINFORCE gradients on loc.W2/b2
 * add up to what the backward puts there (reinforce_weight / B times their
 * sum), for a linear and an MLP location net, each baseline and one or two
 * workers; stats' rf_grad_var is the trace of their covariance. */
START_TEST(reinforce_grads_sum_to_the_gradient) {
    for (int loc_mlp = 0; loc_mlp <= 1; loc_mlp++)
        for (int bk = -1; bk <= SC_BASELINE_EMA; bk++)
            for (int W = 1; W <= 2; W++) {
                sc_ram_cfg cfg = small_cfg(SC_CORE_LSTM, loc_mlp);
                cfg.baseline = bk >= 0;
                cfg.baseline_kind = bk >= 0 ? bk : SC_BASELINE_STATE;
                cfg.baseline_decay = 0.9f;
                sc_ram *m;
                ck_assert_int_eq(sc_ram_create(&m, &cfg, NULL), SC_OK);
                sc_err err = {0};
                ck_assert_int_eq(sc_ram_set_workers(m, W, &err), SC_OK);
                sc_rng r;
                sc_rng_seed(&r, 11 + loc_mlp);
                sc_ram_init_params(m, &r);
                sc_params *ps = sc_ram_params(m);
                const int B = 4;
                float x[4 * 144];
                int labels[4] = {0, 1, 2, 1};
                for (int i = 0; i < B * 144; i++) x[i] = sc_rng_uniform(&r);
                sc_model_stats st;
                /* twice, so the ema baseline has a value in the second */
                for (int pass = 0; pass < 2; pass++) {
                    ck_assert_int_eq(sc_ram_forward(m, x, labels, B, 0.2f, &r, NULL, &st), SC_OK);
                    sc_params_zero_grad(ps);
                    ck_assert_int_eq(sc_ram_backward(m, labels, B, 0.2f), SC_OK);
                }
                const int X = loc_mlp ? cfg.loc_net_hidden : cfg.hidden, WD = 2 * X + 2;
                float g[4 * 32];
                ck_assert_int_le(WD, 32);
                ck_assert_int_eq(sc_ram_reinforce_grads(m, g), WD);
                const float *gw = sc_params_grad(ps, sc_params_find(ps, "loc.W2"));
                const float *gbias = sc_params_grad(ps, sc_params_find(ps, "loc.b2"));
                double gmax = 0.0, gap = 0.0, s1[32] = {0}, sq = 0.0;
                for (int i = 0; i < WD; i++) {
                    double sum = 0.0;
                    for (int b = 0; b < B; b++) sum += g[b * WD + i];
                    const double want = i < 2 * X ? gw[i] : gbias[i - 2 * X];
                    const double got = cfg.reinforce_weight / B * sum;
                    gmax = fmax(gmax, fabs(want));
                    gap = fmax(gap, fabs(got - want));
                    s1[i] = sum / B;
                }
                for (int i = 0; i < B * WD; i++) sq += (double)g[i] * g[i];
                double var = sq / B;
                for (int i = 0; i < WD; i++) var -= s1[i] * s1[i];
                ck_assert_msg(gmax > 1e-6, "mlp %d baseline %d W %d: no REINFORCE gradient: test is vacuous", loc_mlp,
                              bk, W);
                ck_assert_msg(gap <= 1e-5 * gmax, "mlp %d baseline %d W %d: per-example sum off by %.3g (max %.3g)",
                              loc_mlp, bk, W, gap, gmax);
                ck_assert_msg(var > 0.0 && fabs(st.rf_grad_var - var) <= 1e-5 * var,
                              "mlp %d baseline %d W %d: rf_grad_var %.6g, rows give %.6g", loc_mlp, bk, W,
                              st.rf_grad_var, var);
                sc_ram_free(m);
            }
}
END_TEST

START_TEST(samples_unclamped_locations_clamped) {
    sc_ram_cfg cfg = small_cfg(SC_CORE_RNN, 0);
    sc_ram *m;
    ck_assert_int_eq(sc_ram_create(&m, &cfg, NULL), SC_OK);
    sc_rng r;
    sc_rng_seed(&r, 4);
    sc_ram_init_params(m, &r);
    const int B = 4, T = cfg.glimpses;
    float x[4 * 144];
    int labels[4] = {0, 1, 2, 0};
    for (int i = 0; i < 4 * 144; i++) x[i] = sc_rng_uniform(&r);
    sc_model_stats st;
    /* a huge std: most samples fall outside [-1, 1] */
    ck_assert_int_eq(sc_ram_forward(m, x, labels, B, 3.0f, &r, NULL, &st), SC_OK);
    const float *l = sc_ram_locations(m), *s = sc_ram_samples(m);
    int outside = 0;
    for (int t = 0; t < T; t++)
        for (int i = 0; i < 2 * B; i++) {
            size_t k = (size_t)t * cfg.max_batch * 2 + i;
            float v = s[k] < -1 ? -1 : s[k] > 1 ? 1 : s[k];
            ck_assert_float_eq(l[k], v);
            ck_assert(l[k] >= -1.0f && l[k] <= 1.0f);
            outside += s[k] != l[k];
        }
    ck_assert_msg(outside > 5, "only %d samples outside [-1,1]", outside);
    ck_assert(isfinite(st.reinforce) && isfinite(st.xent));
    ck_assert_int_eq(sc_ram_forward(m, x, labels, 5, 0.1f, &r, NULL, &st), SC_EARG);
    sc_ram_free(m);
}
END_TEST

/* std 0 ([model] test_policy = mean): every glimpse after a centred first one
 * is at the policy's mean, so two forwards with different noise look at the
 * same places and predict the same, with finite outputs; std > 0 differs.
 * Backward refuses std 0 (REINFORCE divides by it) and forward a negative std. */
START_TEST(zero_std_follows_the_mean) {
    sc_ram_cfg cfg = small_cfg(SC_CORE_LSTM, 0);
    cfg.first_center = 1;
    sc_ram *m;
    ck_assert_int_eq(sc_ram_create(&m, &cfg, NULL), SC_OK);
    sc_rng r;
    sc_rng_seed(&r, 8);
    sc_ram_init_params(m, &r);
    const int B = 4, T = cfg.glimpses;
    const size_t nl = (size_t)T * cfg.max_batch * 2;
    float x[4 * 144], loc[2][4 * 2 * 64], lp[2][4 * 4];
    int labels[4] = {0, 1, 2, 0};
    ck_assert(nl <= sizeof loc[0] / sizeof loc[0][0] && (size_t)B * cfg.num_classes <= sizeof lp[0] / sizeof lp[0][0]);
    for (int i = 0; i < 4 * 144; i++) x[i] = sc_rng_uniform(&r);
    for (int std_case = 0; std_case < 2; std_case++) {
        const float std = std_case ? 0.2f : 0.0f;
        for (int k = 0; k < 2; k++) {
            sc_rng rk;
            sc_rng_seed(&rk, 100 + (uint64_t)k);
            sc_model_stats st;
            ck_assert_int_eq(sc_ram_forward(m, x, labels, B, std, &rk, NULL, &st), SC_OK);
            ck_assert(isfinite(st.xent) && isfinite(st.reinforce));
            memcpy(loc[k], sc_ram_locations(m), sizeof(float) * nl);
            memcpy(lp[k], sc_ram_logp(m), sizeof(float) * (size_t)B * cfg.num_classes);
        }
        int same = 1;
        for (int t = 1; t < T; t++)
            for (int i = 0; i < 2 * B; i++) same &= loc[0][(size_t)t * cfg.max_batch * 2 + i] == loc[1][(size_t)t * cfg.max_batch * 2 + i];
        for (int i = 0; i < B * cfg.num_classes; i++) {
            ck_assert(isfinite(lp[0][i]));
            same &= lp[0][i] == lp[1][i];
        }
        ck_assert_msg(same == !std_case, "std %.1f: two noise draws %s", std, same ? "looked at the same places" : "differ");
    }
    sc_model_stats st;
    ck_assert_int_eq(sc_ram_forward(m, x, labels, B, 0.0f, &r, NULL, &st), SC_OK);
    ck_assert_int_eq(sc_ram_backward(m, labels, B, 0.0f), SC_EARG);
    ck_assert_int_eq(sc_ram_forward(m, x, labels, B, -0.1f, &r, NULL, &st), SC_EARG);
    sc_ram_free(m);
}
END_TEST

/* One glimpse: no location is ever sampled, so REINFORCE has nothing to
 * weight and the location/baseline parameters get exactly zero gradient. */
START_TEST(single_glimpse_has_no_policy_term) {
    sc_ram_cfg cfg = small_cfg(SC_CORE_RNN, 0);
    cfg.glimpses = 1;
    sc_ram *m;
    ck_assert_int_eq(sc_ram_create(&m, &cfg, NULL), SC_OK);
    sc_rng r;
    sc_rng_seed(&r, 6);
    sc_ram_init_params(m, &r);
    float x[2 * 144];
    int labels[2] = {0, 1};
    for (int i = 0; i < 2 * 144; i++) x[i] = sc_rng_uniform(&r);
    sc_model_stats st;
    sc_ram_forward(m, x, labels, 2, 0.2f, &r, NULL, &st);
    ck_assert(st.reinforce == 0.0 && st.baseline_mse == 0.0);
    sc_params *ps = sc_ram_params(m);
    sc_params_zero_grad(ps);
    sc_ram_backward(m, labels, 2, 0.2f);
    for (int i = 0; i < ps->count; i++) {
        if (term_of(ps->p[i].name, 0) == 0) continue;
        const float *g = sc_params_grad(ps, i);
        for (size_t k = 0; k < sc_params_size(ps, i); k++) ck_assert_float_eq(g[k], 0.0f);
    }
    sc_ram_free(m);
}
END_TEST

START_TEST(random_glimpses_have_no_location_net) {
    sc_ram_cfg cfg = small_cfg(SC_CORE_RNN, 0);
    cfg.reinforce = 0;
    sc_ram *m;
    ck_assert_int_eq(sc_ram_create(&m, &cfg, NULL), SC_OK);
    sc_params *ps = sc_ram_params(m);
    ck_assert_int_eq(sc_params_find(ps, "loc.W2"), -1);
    ck_assert_int_eq(sc_params_find(ps, "baseline.W"), -1);
    sc_ram_free(m);
}
END_TEST

START_TEST(macs_match_hand_count) {
    sc_ram_cfg c = small_cfg(SC_CORE_RNN, 0);
    /* per glimpse: G*HG + 2*HL + (HG+HL)*GO + GO*H + H*H = 18*5 + 8 + 9*6 + 6*7 + 49 = 243
     * per location (T-1 = 2): H*2 + H (baseline) = 21; classifier H*C = 21 */
    ck_assert_double_eq_tol(sc_ram_macs(&c), 3 * 243 + 2 * 21 + 21, 1e-9);
    /* the paper's MNIST model: 8x8 glimpse, 128/128/256, rnn 256, 6 glimpses */
    sc_ram_cfg p = {28, 28, 10, 6, 8, 1, 128, 128, 256, SC_CORE_RNN, 256, 0, 0, 0, 1, 1, 1.0f, 1, SC_BASELINE_STATE, 0.0f, 0,
                    1};
    double per = 64.0 * 128 + 2 * 128 + 256.0 * 256 + 256.0 * 256 + 256.0 * 256;
    ck_assert_double_eq_tol(sc_ram_macs(&p), 6 * per + 5 * (512 + 256) + 2560, 1e-6);
}
END_TEST

/* ---- learning on synthetic tasks ------------------------------------------------ */

/* 16x16 images of 4 classes of texture (horizontal, vertical, checker, diagonal
 * stripes) with noise, drawn into the region [x0,x0+w) x [y0,y0+w); zero elsewhere. */
static void make_texture(float *img, int cls, int x0, int y0, int w, sc_rng *r) {
    memset(img, 0, sizeof(float) * 256);
    for (int y = y0; y < y0 + w; y++)
        for (int x = x0; x < x0 + w; x++) {
            int on = cls == 0 ? (y % 2) : cls == 1 ? (x % 2) : cls == 2 ? ((x + y) % 2) : (((x + y) / 2) % 2 == 0);
            img[y * 16 + x] = 0.8f * (float)on + 0.2f * sc_rng_uniform(r);
        }
}

typedef struct learn_out {
    double first_loss, last_loss, last_acc, mu_x, mu_y;
} learn_out;

static learn_out train_synthetic(int texture_everywhere, int reinforce, int steps, uint64_t seed) {
    sc_ram_cfg c;
    memset(&c, 0, sizeof c);
    c.img_h = c.img_w = 16; c.num_classes = 4; c.glimpses = 3; c.glimpse_size = 4; c.scales = 1;
    c.glimpse_hidden = 32; c.loc_hidden = 16; c.glimpse_out = 48; c.core = SC_CORE_RNN; c.hidden = 48;
    c.first_center = 1; c.baseline = 1; c.reinforce = reinforce; c.reinforce_weight = 1.0f; c.max_batch = 32;
    sc_ram *m;
    ck_assert_int_eq(sc_ram_create(&m, &c, NULL), SC_OK);
    sc_rng r;
    sc_rng_seed(&r, seed);
    sc_ram_init_params(m, &r);
    sc_params *ps = sc_ram_params(m);
    sc_optim opt;
    ck_assert_int_eq(sc_optim_create(&opt, SC_OPT_ADAM, ps->n, NULL), SC_OK);
    const int B = 32;
    float *x = malloc(sizeof(float) * B * 256);
    int labels[32];
    learn_out o = {0, 0, 0, 0, 0};
    for (int step = 0; step < steps; step++) {
        for (int b = 0; b < B; b++) {
            labels[b] = (int)sc_rng_int(&r, 4);
            if (texture_everywhere) make_texture(x + b * 256, labels[b], 0, 0, 16, &r);
            else make_texture(x + b * 256, labels[b], 0, 0, 6, &r);  /* top-left 6x6 only */
        }
        sc_model_stats st;
        sc_ram_forward(m, x, labels, B, 0.25f, &r, NULL, &st);
        sc_params_zero_grad(ps);
        sc_ram_backward(m, labels, B, 0.25f);
        sc_optim_step(&opt, ps->data, ps->grad, 3e-3f);
        if (step < 20) o.first_loss += st.xent / 20;
        if (step >= steps - 50) {
            o.last_loss += st.xent / 50;
            o.last_acc += st.reward / 50;
        }
    }
    /* where does the policy send the second glimpse? mean of l_1 over a batch */
    if (reinforce) {
        sc_model_stats st;
        sc_ram_forward(m, x, labels, B, 0.15f, &r, NULL, &st);
        const float *l = sc_ram_locations(m);
        for (int b = 0; b < B; b++) {
            o.mu_x += l[(size_t)1 * c.max_batch * 2 + 2 * b] / B;
            o.mu_y += l[(size_t)1 * c.max_batch * 2 + 2 * b + 1] / B;
        }
    }
    free(x);
    sc_optim_free(&opt);
    sc_ram_free(m);
    return o;
}

START_TEST(learns_texture_classes) {
    learn_out o = train_synthetic(1, 1, 300, 21);
    ck_assert_msg(o.last_loss < 0.5 * o.first_loss, "loss %.3f -> %.3f", o.first_loss, o.last_loss);
    ck_assert_msg(o.last_acc > 0.8, "accuracy %.3f (chance 0.25)", o.last_acc);
}
END_TEST

/* The class is only visible in the top-left 6x6 corner; the first glimpse is at
 * the centre and sees nothing. A policy that learns moves the next glimpses
 * to the top-left and beats random glimpses. */
START_TEST(policy_learns_where_to_look) {
    learn_out o = train_synthetic(0, 1, 1500, 31);
    ck_assert_msg(o.mu_x < -0.3 && o.mu_y < -0.3, "second glimpse at (%.2f, %.2f), expected the top-left",
                  o.mu_x, o.mu_y);
    learn_out rnd = train_synthetic(0, 0, 1500, 31);
    ck_assert_msg(o.last_acc > rnd.last_acc + 0.2, "learned policy accuracy %.3f vs random glimpses %.3f",
                  o.last_acc, rnd.last_acc);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("agent_ram");
    TCase *g = tcase_create("gradients");
    tcase_set_timeout(g, 300);
    tcase_add_test(g, gradcheck_rnn_linear);
    tcase_add_test(g, gradcheck_rnn_mlp);
    tcase_add_test(g, gradcheck_lstm_linear);
    tcase_add_test(g, gradcheck_lstm_mlp);
    tcase_add_test(g, no_policy_gradient_into_core);
    tcase_add_test(g, gradcheck_full_rnn_linear);
    tcase_add_test(g, gradcheck_full_rnn_mlp);
    tcase_add_test(g, gradcheck_full_lstm_linear);
    tcase_add_test(g, gradcheck_full_lstm_mlp);
    tcase_add_test(g, gradcheck_constant_baseline);
    tcase_add_test(g, gradcheck_rgb_non_square);
    tcase_add_test(g, gradcheck_rgb_non_square_lstm_full);
    tcase_add_test(g, full_gradient_changes_core_gradient);
    tcase_add_test(g, ema_baseline_updates);
    suite_add_tcase(s, g);
    TCase *b = tcase_create("behaviour");
    tcase_add_test(b, reinforce_grads_sum_to_the_gradient);
    tcase_add_test(b, samples_unclamped_locations_clamped);
    tcase_add_test(b, zero_std_follows_the_mean);
    tcase_add_test(b, single_glimpse_has_no_policy_term);
    tcase_add_test(b, random_glimpses_have_no_location_net);
    tcase_add_test(b, macs_match_hand_count);
    suite_add_tcase(s, b);
    TCase *l = tcase_create("learning");
    tcase_set_timeout(l, 600);
    tcase_add_test(l, learns_texture_classes);
    tcase_add_test(l, policy_learns_where_to_look);
    suite_add_tcase(s, l);
    return s;
}

SC_TEST_MAIN(make_suite)
