/* test_agent_model.c - the model interface (agent/model.h) over every row of
 * the model table: ram, soft, fc and selfattn (tests/test_agent_kinds.c checks
 * the table itself and a kind outside it).
 *
 * - what each kind says about itself (steps, sampling, REINFORCE, trajectories,
 *   locations), its parameter count and its analytic cost equal the kind's own;
 * - channels: a 3-channel model of every kind whose first layer's channel-1
 *   columns are a grey model's gives the grey model's output on a canvas whose
 *   channel 1 is the grey one (HWC, each value's channels side by side),
 *   non-square;
 * - forward and backward through the interface give the bit-identical loss,
 *   statistics and gradients of the kind's own calls; terms a kind does not
 *   have are NaN;
 * - predict: the RAM averages M samples (as sc_ram_predict); soft, fc and
 *   selfattn make one deterministic pass whatever M;
 * - trace (the run log's glimpse records): per-step probabilities are
 *   distributions whose last step is the prediction; the RAM's locations are
 *   the ones looked at; the soft model's attention weights are its own, its
 *   locations their weighted mean of the grid, and its step-t probabilities
 *   those of an independently built (t+1)-step soft model with the same
 *   parameters; fc has one step; selfattn's steps are its heads, each with
 *   the model's own logged attention over the patches, its weighted mean
 *   patch centre and the final probabilities;
 * - threads: every kind takes them as data-parallel workers with OpenBLAS at
 *   one thread (the RAM its own, soft, fc and selfattn as copies in
 *   model.c); the copies give one worker's step up to rounding, the same
 *   bits run to run;
 * - the training step through the interface (forward, zero grad, backward)
 *   allocates nothing, opens no file and starts no thread, for every kind
 *   (this executable is linked with --wrap, as test_agent_noalloc);
 * - bad input: unknown kind words and kinds, batch sizes out of range, M < 1.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/model.h"
#include "nets/blas.h"
#include "tests/testutil.h"

/* ---- counters behind the linker's --wrap: n_alloc, n_fopen, n_thread ---------------- */

#include "tests/wrapcount.h"

/* ---- small models of each kind (tests/smallmodels.h) ------------------------------- */

#include "tests/smallmodels.h"

static sc_model *make(const sc_model_cfg *c, uint64_t seed) {
    sc_model *m = NULL;
    sc_err err = {0};
    ck_assert_msg(sc_model_create(&m, c, &err) == SC_OK, "create: %s", err.msg);
    sc_rng r;
    sc_rng_seed(&r, seed);
    sc_model_init_params(m, &r);
    return m;
}

/* ---- what a model says about itself --------------------------------------------------- */

START_TEST(describe_and_cost) {
    /* the expectations below name every row: a fifth kind adds its own */
    ck_assert_int_eq(SC_MODEL_KINDS, 4);
    for (int k = SC_MODEL_RAM; k < SC_MODEL_KINDS; k++) {
        sc_model_cfg c = small_cfg((sc_model_kind)k);
        sc_model *m = make(&c, 1);
        const sc_model_info *in = sc_model_describe(m);
        ck_assert_int_eq(in->kind, k);
        ck_assert_str_eq(in->name, k == 0 ? "ram" : k == 1 ? "soft" : k == 2 ? "fc" : "selfattn");
        ck_assert_int_eq(in->num_classes, C);
        ck_assert_int_eq(in->max_batch, NB);
        ck_assert_int_eq(in->steps, k == SC_MODEL_FC ? 1 : T);
        ck_assert_int_eq(in->stochastic, k == SC_MODEL_RAM);
        ck_assert_int_eq(in->reinforce, k == SC_MODEL_RAM);
        ck_assert_int_eq(in->trajectories, k != SC_MODEL_FC);
        ck_assert_int_eq(in->locations, k == SC_MODEL_SOFT ? GRID * GRID : k == SC_MODEL_SELFATTN ? TOK : 0);
        ck_assert((sc_model_grid(m) != NULL) == (k == SC_MODEL_SOFT || k == SC_MODEL_SELFATTN));
        sc_cost own = k == 0 ? sc_cost_ram(&c.ram) : k == 1 ? sc_cost_soft(&c.soft) : k == 2 ? sc_cost_fc(&c.fc)
                                                                                          : sc_cost_selfattn(&c.selfattn);
        sc_cost via = sc_model_cost(&c);
        ck_assert(!memcmp(&own, &via, sizeof own));
        ck_assert_int_eq((long)via.params, (long)sc_params_count(sc_model_params(m)));
        sc_model_free(m);
    }
    /* the RAM without REINFORCE (random glimpses) still samples */
    sc_model_cfg c = small_cfg(SC_MODEL_RAM);
    c.ram.reinforce = 0;
    sc_model *m = make(&c, 1);
    ck_assert(sc_model_describe(m)->stochastic && !sc_model_describe(m)->reinforce);
    sc_model_free(m);
    sc_model_free(NULL);
}
END_TEST

START_TEST(kind_names) {
    sc_model_kind k;
    sc_err err = {0};
    static const char *const names[] = {"ram", "soft", "fc", "selfattn"};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(sc_model_kind_parse(names[i], &k, &err), SC_OK);
        ck_assert_int_eq(k, i);
        ck_assert_str_eq(sc_model_kind_name(k), names[i]);
    }
    ck_assert_int_eq(sc_model_kind_parse("hard", &k, &err), SC_EARG);
    ck_assert_msg(strstr(err.msg, "'hard'") && strstr(err.msg, "ram, soft, fc or selfattn"), "%s", err.msg);
    ck_assert_ptr_null(sc_model_kind_name((sc_model_kind)7));
    sc_model_cfg c = small_cfg(SC_MODEL_RAM);
    c.kind = (sc_model_kind)7;
    sc_model *m = (sc_model *)&c;  /* must be set to NULL on failure */
    ck_assert_int_eq(sc_model_create(&m, &c, &err), SC_EARG);
    ck_assert_ptr_null(m);
    c = small_cfg(SC_MODEL_SOFT);
    c.soft.grid = 0;
    ck_assert_int_eq(sc_model_create(&m, &c, &err), SC_EARG);
    ck_assert_msg(strstr(err.msg, "grid"), "%s", err.msg);
    c = small_cfg(SC_MODEL_SELFATTN);
    c.selfattn.patch = 5;
    ck_assert_int_eq(sc_model_create(&m, &c, &err), SC_EARG);
    ck_assert_msg(strstr(err.msg, "patch"), "%s", err.msg);
}
END_TEST

/* ---- channels ---------------------------------------------------------------------- */

/* The canvas is (B, H, W, ch) with each pixel's channels together, and the
 * first layer reads each value's ch channels side by side: a 3-channel model
 * whose first-layer columns j*3 + 1 are a grey model's columns j (the other
 * columns left at their random start), every other tensor copied, on canvases
 * whose channel 1 is the grey canvas and channels 0 and 2 are zero, gives the
 * grey model's log-probabilities (up to float rounding: the products with the
 * zeros are summed in another order). Every kind, on a 12 x 16 canvas. A model
 * that read the channels as planes, another channel, or ignored them, would not. */
START_TEST(channels_are_interleaved) {
    enum { H = 12, W = 16, CH = 3, BB = 4 };
    for (int k = 0; k < SC_MODEL_KINDS; k++) {
        sc_model_cfg c1 = small_cfg((sc_model_kind)k);
        c1.ram.img_h = c1.soft.img_h = c1.fc.img_h = c1.selfattn.img_h = H;
        c1.ram.img_w = c1.soft.img_w = c1.fc.img_w = c1.selfattn.img_w = W;
        sc_model_cfg c3 = c1;
        c3.ram.channels = c3.soft.channels = c3.fc.channels = c3.selfattn.channels = CH;
        sc_model *m1 = make(&c1, 7), *m3 = make(&c3, 8);
        const sc_params *p1 = sc_model_params(m1), *p3 = sc_model_params(m3);
        const char *name = sc_model_describe(m1)->name;
        ck_assert_int_eq(p1->count, p3->count);
        int widened = 0;
        for (int i = 0; i < p1->count; i++) {
            const sc_param *a = &p1->p[i], *b = &p3->p[i];
            ck_assert_str_eq(a->name, b->name);
            ck_assert_int_eq(a->rows, b->rows);
            const float *w1 = sc_params_data(p1, i);
            float *w3 = sc_params_data(p3, i);
            if (a->cols == b->cols) {
                memcpy(w3, w1, sizeof(float) * sc_params_size(p1, i));
                continue;
            }
            ck_assert_msg(b->cols == CH * a->cols, "%s %s: %d columns for %d channels, %d for one", name, a->name,
                          b->cols, CH, a->cols);
            for (int r = 0; r < a->rows; r++)
                for (int j = 0; j < a->cols; j++)
                    w3[(size_t)r * b->cols + (size_t)j * CH + 1] = w1[(size_t)r * a->cols + j];
            widened++;
        }
        ck_assert_msg(widened == 1, "%s: %d tensors widened by the channels, expected the first layer's", name,
                      widened);
        float x1[BB * H * W], x3[BB * H * W * CH];
        int labels[BB];
        sc_rng r;
        sc_rng_seed(&r, 21);
        for (int i = 0; i < BB * H * W; i++) x1[i] = sc_rng_uniform(&r);
        for (int b = 0; b < BB; b++) labels[b] = (int)sc_rng_int(&r, C);
        memset(x3, 0, sizeof x3);
        for (int i = 0; i < BB * H * W; i++) x3[i * CH + 1] = x1[i];
        float lp1[BB * C], lp3[BB * C];
        sc_rng r1, r3;  /* the RAM draws the same locations for both */
        sc_rng_seed(&r1, 22);
        sc_rng_seed(&r3, 22);
        ck_assert_int_ge(sc_model_predict(m1, x1, labels, BB, 1, 0.1f, &r1, lp1, NULL), 0);
        ck_assert_int_ge(sc_model_predict(m3, x3, labels, BB, 1, 0.1f, &r3, lp3, NULL), 0);
        for (int i = 0; i < BB * C; i++)
            ck_assert_msg(fabsf(lp1[i] - lp3[i]) <= 1e-5f * (1.0f + fabsf(lp1[i])),
                          "%s: logp[%d] %.7g with 3 channels, %.7g grey", name, i, lp3[i], lp1[i]);
        /* and the other channels count: light channel 0 and the outputs move */
        for (int i = 0; i < BB * H * W; i++) x3[i * CH] = 1.0f;
        sc_rng_seed(&r3, 22);
        ck_assert_int_ge(sc_model_predict(m3, x3, labels, BB, 1, 0.1f, &r3, lp3, NULL), 0);
        double moved = 0.0;
        for (int i = 0; i < BB * C; i++) moved += fabs((double)lp1[i] - lp3[i]);
        ck_assert_msg(moved > 1e-3, "%s: channel 0 changed nothing (%.3g)", name, moved);
        sc_model_free(m1);
        sc_model_free(m3);
    }
}
END_TEST

/* ---- forward and backward ---------------------------------------------------------- */

/* The kind's own forward + backward on a second model with the same seed. */
static void own_step(const sc_model_cfg *c, const float *x, const int *labels, int B, float *grad, double *xent) {
    sc_rng r;
    sc_rng_seed(&r, 3);
    sc_rng loc;
    sc_rng_seed(&loc, 77);
    sc_err err = {0};
    sc_params *ps = NULL;
    if (c->kind == SC_MODEL_RAM) {
        sc_ram *m;
        ck_assert_int_eq(sc_ram_create(&m, &c->ram, &err), SC_OK);
        sc_ram_init_params(m, &r);
        sc_model_stats st;
        ck_assert_int_eq(sc_ram_forward(m, x, labels, B, 0.2f, &loc, NULL, &st), SC_OK);
        ps = sc_ram_params(m);
        sc_params_zero_grad(ps);
        sc_ram_backward(m, labels, B, 0.2f);
        memcpy(grad, ps->grad, sizeof(float) * ps->n);
        *xent = st.xent;
        sc_ram_free(m);
    } else if (c->kind == SC_MODEL_SOFT) {
        sc_soft *m;
        ck_assert_int_eq(sc_soft_create(&m, &c->soft, &err), SC_OK);
        sc_soft_init_params(m, &r);
        sc_model_stats st;
        ck_assert_int_eq(sc_soft_forward(m, x, labels, B, &st), SC_OK);
        ps = sc_soft_params(m);
        sc_params_zero_grad(ps);
        sc_soft_backward(m, labels, B);
        memcpy(grad, ps->grad, sizeof(float) * ps->n);
        *xent = st.xent;
        sc_soft_free(m);
    } else if (c->kind == SC_MODEL_SELFATTN) {
        sc_sa *m;
        ck_assert_int_eq(sc_sa_create(&m, &c->selfattn, &err), SC_OK);
        sc_sa_init_params(m, &r);
        sc_model_stats st;
        ck_assert_int_eq(sc_sa_forward(m, x, labels, B, &st), SC_OK);
        ps = sc_sa_params(m);
        sc_params_zero_grad(ps);
        sc_sa_backward(m, labels, B);
        memcpy(grad, ps->grad, sizeof(float) * ps->n);
        *xent = st.xent;
        sc_sa_free(m);
    } else {
        sc_fc *m;
        ck_assert_int_eq(sc_fc_create(&m, &c->fc, &err), SC_OK);
        sc_fc_init_params(m, &r);
        sc_model_stats st;
        ck_assert_int_eq(sc_fc_forward(m, x, labels, B, &st), SC_OK);
        ps = sc_fc_params(m);
        sc_params_zero_grad(ps);
        sc_fc_backward(m, labels, B);
        memcpy(grad, ps->grad, sizeof(float) * ps->n);
        *xent = st.xent;
        sc_fc_free(m);
    }
}

START_TEST(forward_backward_are_the_kinds_own) {
    float x[NB * S * S];
    int labels[NB];
    data(x, labels, NB, 5);
    for (int k = SC_MODEL_RAM; k < SC_MODEL_KINDS; k++) {
        sc_model_cfg c = small_cfg((sc_model_kind)k);
        sc_model *m = make(&c, 3);
        sc_params *ps = sc_model_params(m);
        float *want = malloc(sizeof(float) * ps->n);
        double xent = 0;
        const int B = NB - 1;  /* below max_batch */
        own_step(&c, x, labels, B, want, &xent);
        sc_rng loc;
        sc_rng_seed(&loc, 77);
        sc_model_stats st;
        ck_assert_int_eq(sc_model_forward(m, x, labels, B, 0.2f, &loc, &st), SC_OK);
        sc_params_zero_grad(ps);
        sc_model_backward(m, labels, B, 0.2f);
        ck_assert_msg(!memcmp(ps->grad, want, sizeof(float) * ps->n), "kind %d: gradients differ", k);
        ck_assert(st.xent == xent && st.xent > 0);
        ck_assert(st.reward >= 0 && st.reward <= 1 && fabs(st.reward - (double)st.correct / B) < 1e-12);
        /* the terms of other kinds are NaN, a kind's own are numbers */
        ck_assert(isnan(st.reinforce) == (k != SC_MODEL_RAM) && isnan(st.baseline_mse) == (k != SC_MODEL_RAM));
        ck_assert(isnan(st.adv_var) == (k != SC_MODEL_RAM) && isnan(st.mu_abs) == (k != SC_MODEL_RAM));
        ck_assert(isnan(st.mu_spread) == (k != SC_MODEL_RAM));
        const int attends = k == SC_MODEL_SOFT || k == SC_MODEL_SELFATTN, L = k == SC_MODEL_SOFT ? GRID * GRID : TOK;
        ck_assert(isnan(st.att_entropy) == !attends && isnan(st.att_max) == !attends);
        if (attends)
            ck_assert(st.att_entropy >= 0 && st.att_entropy <= log(L) + 1e-6 && st.att_max >= 1.0 / L - 1e-6 &&
                      st.att_max <= 1);
        /* out of range */
        ck_assert_int_eq(sc_model_forward(m, x, labels, 0, 0.2f, &loc, &st), SC_EARG);
        ck_assert_int_eq(sc_model_forward(m, x, labels, NB + 1, 0.2f, &loc, &st), SC_EARG);
        free(want);
        sc_model_free(m);
    }
}
END_TEST

/* ---- inference ---------------------------------------------------------------------- */

START_TEST(predict_samples_only_when_stochastic) {
    float x[NB * S * S], lp1[NB * C], lp5[NB * C], own[NB * C];
    int labels[NB], p1[NB], p5[NB], pown[NB];
    data(x, labels, NB, 6);
    for (int k = SC_MODEL_RAM; k < SC_MODEL_KINDS; k++) {
        sc_model_cfg c = small_cfg((sc_model_kind)k);
        sc_model *m = make(&c, 4);
        sc_rng r;
        sc_rng_seed(&r, 9);
        int k1 = sc_model_predict(m, x, labels, NB, 1, 0.1f, &r, lp1, p1);
        int k5 = sc_model_predict(m, x, labels, NB, 5, 0.1f, &r, lp5, p5);
        ck_assert(k1 >= 0 && k1 <= NB && k5 >= 0 && k5 <= NB);
        if (k == SC_MODEL_RAM) {
            /* as sc_ram_predict with the same draws */
            sc_ram *own_m;
            sc_rng ri;
            sc_rng_seed(&ri, 4);
            ck_assert_int_eq(sc_ram_create(&own_m, &c.ram, NULL), SC_OK);
            sc_ram_init_params(own_m, &ri);
            sc_rng_seed(&r, 9);
            ck_assert_int_eq(sc_ram_predict(own_m, x, labels, NB, 1, 0.1f, &r, own, pown), k1);
            ck_assert(!memcmp(own, lp1, sizeof lp1) && !memcmp(pown, p1, sizeof p1));
            ck_assert_int_eq(sc_ram_predict(own_m, x, labels, NB, 5, 0.1f, &r, own, pown), k5);
            ck_assert(!memcmp(own, lp5, sizeof lp5));
            ck_assert(memcmp(lp1, lp5, sizeof lp1) != 0);  /* 5 samples average differently */
            sc_ram_free(own_m);
        } else {
            ck_assert(k1 == k5 && !memcmp(lp1, lp5, sizeof lp1) && !memcmp(p1, p5, sizeof p1));
            ck_assert_int_eq(sc_model_predict(m, x, labels, NB, 1, 0.1f, NULL, lp5, NULL), k1);
        }
        for (int b = 0; b < NB; b++) {
            double s = 0;
            for (int j = 0; j < C; j++) s += exp(lp1[b * C + j]);
            ck_assert(fabs(s - 1) < 1e-4);
        }
        ck_assert_int_eq(sc_model_predict(m, x, labels, NB, 0, 0.1f, &r, lp1, p1), SC_EARG);
        ck_assert_int_eq(sc_model_predict(m, x, labels, NB + 1, 1, 0.1f, &r, lp1, p1), SC_EARG);
        ck_assert_int_eq(sc_model_predict(m, x, labels, NB, 1, 0.1f, &r, NULL, p1), SC_EARG);
        sc_model_free(m);
    }
}
END_TEST

/* ---- trajectories ------------------------------------------------------------------- */

static void check_distributions(const float *p, int rows, int n) {
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int j = 0; j < n; j++) {
            ck_assert(p[r * n + j] >= 0 && p[r * n + j] <= 1);
            s += p[r * n + j];
        }
        ck_assert_msg(fabs(s - 1) < 1e-4, "row %d sums to %g", r, s);
    }
}

START_TEST(trace_ram) {
    float x[NB * S * S], probs[NB * T * C], loc[NB * T * 2], lp[NB * C];
    int labels[NB], pred[NB], pp[NB];
    data(x, labels, NB, 7);
    sc_model_cfg c = small_cfg(SC_MODEL_RAM);
    sc_model *m = make(&c, 5);
    sc_rng r;
    sc_rng_seed(&r, 21);
    sc_err err = {0};
    ck_assert_int_eq(sc_model_trace(m, x, NB, 0.15f, &r, probs, loc, NULL, pred, &err), SC_OK);
    check_distributions(probs, NB * T, C);
    /* the same draws through predict: the last step is the prediction, the locations are l_t */
    sc_rng_seed(&r, 21);
    ck_assert_int_ge(sc_model_predict(m, x, NULL, NB, 1, 0.15f, &r, lp, pp), 0);
    sc_ram_cfg rc = c.ram;
    sc_ram *own;
    sc_rng ri;
    sc_rng_seed(&ri, 5);
    ck_assert_int_eq(sc_ram_create(&own, &rc, NULL), SC_OK);
    sc_ram_init_params(own, &ri);
    sc_rng_seed(&r, 21);
    ck_assert_int_eq(sc_ram_forward(own, x, NULL, NB, 0.15f, &r, NULL, NULL), SC_OK);
    const float *l = sc_ram_locations(own);
    for (int b = 0; b < NB; b++) {
        ck_assert_int_eq(pred[b], pp[b]);
        for (int j = 0; j < C; j++) ck_assert(fabsf(probs[(b * T + T - 1) * C + j] - expf(lp[b * C + j])) < 1e-6f);
        for (int t = 0; t < T; t++)
            for (int d = 0; d < 2; d++) {
                ck_assert(loc[(b * T + t) * 2 + d] == l[((size_t)t * NB + b) * 2 + d]);
                ck_assert(fabsf(loc[(b * T + t) * 2 + d]) <= 1.0f);
            }
    }
    sc_ram_free(own);
    ck_assert_int_eq(sc_model_trace(m, x, NB + 1, 0.15f, &r, probs, loc, NULL, pred, &err), SC_EARG);
    ck_assert_msg(strstr(err.msg, "7 images"), "%s", err.msg);
    sc_model_free(m);
}
END_TEST

START_TEST(trace_soft) {
    for (int score = 0; score < 2; score++) {
        float x[NB * S * S], probs[NB * T * C], loc[NB * T * 2], att[NB * T * GRID * GRID], lp[NB * C];
        int labels[NB], pred[NB];
        data(x, labels, NB, 8);
        sc_model_cfg c = small_cfg(SC_MODEL_SOFT);
        c.soft.score = score ? SC_SCORE_ADDITIVE : SC_SCORE_DOT;
        c.soft.core = score ? SC_CORE_LSTM : SC_CORE_RNN;
        sc_model *m = make(&c, 6);
        /* larger weights, so that the attention is not uniform */
        sc_params *ps = sc_model_params(m);
        for (size_t i = 0; i < ps->n; i++) ps->data[i] *= 3.0f;
        sc_err err = {0};
        const int L = GRID * GRID, B = NB - 1;
        ck_assert_msg(sc_model_trace(m, x, B, 0, NULL, probs, loc, att, pred, &err) == SC_OK, "%s", err.msg);
        check_distributions(probs, B * T, C);
        check_distributions(att, B * T, L);
        const float *grid = sc_model_grid(m);
        double spread = 0;
        for (int r = 0; r < B * T; r++) {
            double mx = 0, my = 0;
            for (int i = 0; i < L; i++) {
                mx += att[r * L + i] * grid[2 * i];
                my += att[r * L + i] * grid[2 * i + 1];
                spread += fabs(att[r * L + i] - 1.0 / L);
            }
            ck_assert(fabs(loc[2 * r] - mx) < 1e-5 && fabs(loc[2 * r + 1] - my) < 1e-5);
        }
        ck_assert_msg(spread > 0.05, "attention uniform everywhere (%g): the test would not see a mix-up", spread);
        /* the prediction and the last step's probabilities are predict's */
        int pp[NB];
        ck_assert_int_ge(sc_model_predict(m, x, NULL, B, 1, 0, NULL, lp, pp), 0);
        for (int b = 0; b < B; b++) {
            ck_assert_int_eq(pred[b], pp[b]);
            for (int j = 0; j < C; j++) ck_assert(fabsf(probs[(b * T + T - 1) * C + j] - expf(lp[b * C + j])) < 1e-6f);
        }
        /* step t's probabilities: a soft model of t+1 steps with these parameters, built here */
        for (int t = 0; t < T - 1; t++) {
            sc_soft_cfg sc = c.soft;
            sc.glimpses = t + 1;
            sc_soft *s;
            ck_assert_int_eq(sc_soft_create(&s, &sc, &err), SC_OK);
            sc_params *sp = sc_soft_params(s);
            ck_assert_uint_eq(sp->n, ps->n);
            memcpy(sp->data, ps->data, sizeof(float) * ps->n);
            ck_assert_int_eq(sc_soft_forward(s, x, NULL, B, NULL), SC_OK);
            const float *slp = sc_soft_logp(s);
            double d = 0;
            for (int b = 0; b < B; b++)
                for (int j = 0; j < C; j++) d = fmax(d, fabs(probs[(b * T + t) * C + j] - exp(slp[b * C + j])));
            ck_assert_msg(d < 1e-5, "step %d: probabilities differ by %g", t, d);
            /* and they are not the last step's (the test can fail) */
            double e = 0;
            for (int b = 0; b < B; b++)
                for (int j = 0; j < C; j++)
                    e = fmax(e, fabs(probs[(b * T + t) * C + j] - probs[(b * T + T - 1) * C + j]));
            ck_assert_msg(e > 1e-4, "step %d equals the last step", t);
            sc_soft_free(s);
        }
        sc_model_free(m);
    }
}
END_TEST

START_TEST(trace_fc) {
    float x[NB * S * S], probs[NB * C], loc[NB * 2], lp[NB * C];
    int labels[NB], pred[NB], pp[NB];
    data(x, labels, NB, 9);
    sc_model_cfg c = small_cfg(SC_MODEL_FC);
    sc_model *m = make(&c, 7);
    ck_assert_int_eq(sc_model_trace(m, x, NB, 0, NULL, probs, loc, NULL, pred, NULL), SC_OK);
    ck_assert_int_ge(sc_model_predict(m, x, NULL, NB, 1, 0, NULL, lp, pp), 0);
    check_distributions(probs, NB, C);
    for (int b = 0; b < NB; b++) {
        ck_assert_int_eq(pred[b], pp[b]);
        ck_assert(loc[2 * b] == 0 && loc[2 * b + 1] == 0);
    }
    sc_model_free(m);
}
END_TEST

/* selfattn: the heads are the steps; per head the logged attention over the
 * patches (mean readout: token [log] attn_token of the last block; query
 * readout: the learned query's), its weighted mean patch centre, and the final
 * probabilities repeated. */
START_TEST(trace_selfattn) {
    for (int q = 0; q < 2; q++) {
        float x[NB * S * S], probs[NB * T * C], loc[NB * T * 2], att[NB * T * TOK], lp[NB * C], own[T * TOK];
        int labels[NB], pred[NB], pp[NB];
        data(x, labels, NB, 13);
        sc_model_cfg c = small_cfg(SC_MODEL_SELFATTN);
        c.selfattn.readout = q ? SC_SA_READOUT_QUERY : SC_SA_READOUT_MEAN;
        c.selfattn.log_token = q ? -1 : 5;
        sc_model *m = make(&c, 14);
        sc_params *ps = sc_model_params(m);
        for (size_t i = 0; i < ps->n; i++) ps->data[i] *= 3.0f;  /* attention far from uniform */
        sc_err err = {0};
        const int B = NB - 1;
        ck_assert_int_eq(sc_model_describe(m)->steps, T);
        ck_assert_msg(sc_model_trace(m, x, B, 0, NULL, probs, loc, att, pred, &err) == SC_OK, "%s", err.msg);
        check_distributions(probs, B * T, C);
        check_distributions(att, B * T, TOK);
        ck_assert_int_ge(sc_model_predict(m, x, NULL, B, 1, 0, NULL, lp, pp), 0);
        const float *grid = sc_model_grid(m);
        double spread = 0, heads_differ = 0;
        for (int b = 0; b < B; b++) {
            ck_assert_int_eq(pred[b], pp[b]);
            for (int t = 0; t < T; t++) {
                const int r = b * T + t;
                double mx = 0, my = 0;
                for (int i = 0; i < TOK; i++) {
                    mx += att[r * TOK + i] * grid[2 * i];
                    my += att[r * TOK + i] * grid[2 * i + 1];
                    spread += fabs(att[r * TOK + i] - 1.0 / TOK);
                    heads_differ += fabs(att[r * TOK + i] - att[b * T * TOK + i]);
                }
                ck_assert(fabs(loc[2 * r] - mx) < 1e-5 && fabs(loc[2 * r + 1] - my) < 1e-5);
                for (int j = 0; j < C; j++) ck_assert(fabsf(probs[r * C + j] - expf(lp[b * C + j])) < 1e-6f);
            }
        }
        ck_assert_msg(spread > 0.05 && heads_differ > 0.01, "attention uniform (%g) or the same in every head (%g)",
                      spread, heads_differ);
        /* the rows are the model's own logged attention (after a forward over the same images) */
        sc_sa *own_m;
        sc_rng r;
        sc_rng_seed(&r, 14);
        ck_assert_int_eq(sc_sa_create(&own_m, &c.selfattn, NULL), SC_OK);
        sc_sa_init_params(own_m, &r);
        memcpy(sc_sa_params(own_m)->data, ps->data, sizeof(float) * ps->n);
        ck_assert_int_eq(sc_sa_forward(own_m, x, NULL, B, NULL), SC_OK);
        sc_sa_logged_attention(own_m, 2, own);
        ck_assert(!memcmp(own, att + 2 * T * TOK, sizeof own));
        sc_sa_free(own_m);
        sc_model_free(m);
    }
}
END_TEST

/* ---- threads ------------------------------------------------------------------------ */

START_TEST(threads_by_kind) {
    sc_err err = {0};
    sc_blas_set_threads(2);
    for (int k = SC_MODEL_RAM; k < SC_MODEL_KINDS; k++) {
        sc_model_cfg c = small_cfg((sc_model_kind)k);
        sc_model *m = make(&c, 8);
        ck_assert_int_eq(sc_model_describe(m)->workers, 1);
        ck_assert_int_eq(sc_model_set_threads(m, 2, &err), SC_OK);
        ck_assert_int_eq(sc_model_describe(m)->workers, 2);
        ck_assert_int_eq(sc_blas_get_threads(), 1);  /* each worker runs OpenBLAS at one thread */
        ck_assert_int_eq(sc_model_set_threads(m, 0, &err), SC_EARG);
        ck_assert_int_eq(sc_model_set_threads(m, 65, &err), SC_EARG);
        ck_assert_msg(strstr(err.msg, "65"), "%s", err.msg);
        ck_assert_int_eq(sc_model_describe(m)->workers, 2);  /* unchanged */
        ck_assert_int_eq(sc_model_set_threads(m, 1, &err), SC_OK);
        ck_assert_int_eq(sc_model_describe(m)->workers, 1);
        sc_model_free(m);
    }
    sc_blas_set_threads(1);
}
END_TEST

/* One training step and a prediction of m on B rows: the loss, the
 * statistics, the gradient (zeroed first, then ADDED to a gradient of ones
 * minus one: the contract adds) and logp, pred. */
typedef struct step_out {
    sc_model_stats st;
    float *grad;
    float lp[NB * C];
    int pred[NB], correct;
} step_out;

static void step(sc_model *m, const float *x, const int *labels, int B, step_out *o) {
    sc_params *ps = sc_model_params(m);
    ck_assert_int_eq(sc_model_forward(m, x, labels, B, 0.1f, NULL, &o->st), SC_OK);
    for (size_t i = 0; i < ps->n; i++) ps->grad[i] = 1.0f;
    ck_assert_int_eq(sc_model_backward(m, labels, B, 0.1f), SC_OK);
    o->grad = malloc(sizeof(float) * ps->n);
    for (size_t i = 0; i < ps->n; i++) o->grad[i] = ps->grad[i] - 1.0f;
    o->correct = sc_model_predict(m, x, labels, B, 1, 0.1f, NULL, o->lp, o->pred);
    ck_assert_int_ge(o->correct, 0);
}

static double rel_gap(double a, double b) { return fabs(a - b) / (fabs(a) + fabs(b) + 1e-30); }

/* soft, fc and selfattn split each batch over data-parallel copies
 * (model.c): W workers give one worker's step up to rounding (rows split
 * unevenly, fewer rows than workers, the gradient weighted by the rows),
 * the same bits run to run, and back at one worker one worker's bits. */
START_TEST(workers_split_the_batch) {
    float x[NB * S * S];
    int labels[NB];
    data(x, labels, NB, 21);
    sc_err err = {0};
    for (int k = SC_MODEL_SOFT; k < SC_MODEL_KINDS; k++) {
        sc_model_cfg c = small_cfg((sc_model_kind)k);
        const int Bs[] = {NB, NB - 1, 1};
        for (int bi = 0; bi < 3; bi++) {
            const int B = Bs[bi];
            sc_model *one = make(&c, 30);
            step_out want;
            step(one, x, labels, B, &want);
            const size_t n = sc_model_params(one)->n;
            double gmax = 0;
            for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(want.grad[i]));
            ck_assert(gmax > 0);
            for (int W = 2; W <= 4; W++) {
                sc_model *m = make(&c, 30), *again = make(&c, 30);
                ck_assert_int_eq(sc_model_set_threads(m, W, &err), SC_OK);
                ck_assert_int_eq(sc_model_set_threads(again, W, &err), SC_OK);
                ck_assert_int_eq(sc_model_describe(m)->workers, W);
                step_out got, got2;
                step(m, x, labels, B, &got);
                step(again, x, labels, B, &got2);
                ck_assert_msg(!memcmp(got.grad, got2.grad, sizeof(float) * n) && !memcmp(got.lp, got2.lp, sizeof got.lp),
                              "kind %d, %d workers, B %d: two runs differ", k, W, B);
                ck_assert_msg(rel_gap(got.st.xent, want.st.xent) < 1e-6, "kind %d, W %d, B %d: xent %g, one worker %g",
                              k, W, B, got.st.xent, want.st.xent);
                ck_assert_int_eq(got.st.correct, want.st.correct);
                ck_assert(fabs(got.st.reward - want.st.reward) < 1e-12);
                ck_assert(isnan(got.st.att_entropy) == isnan(want.st.att_entropy));
                if (!isnan(want.st.att_entropy))
                    ck_assert(rel_gap(got.st.att_entropy, want.st.att_entropy) < 1e-6 &&
                              rel_gap(got.st.att_max, want.st.att_max) < 1e-6);
                ck_assert(isnan(got.st.reinforce));
                double gap = 0;
                for (size_t i = 0; i < n; i++) gap = fmax(gap, fabs(got.grad[i] - want.grad[i]));
                ck_assert_msg(gap <= 1e-4 * gmax, "kind %d, %d workers, B %d: gradients differ by %g (largest %g)", k,
                              W, B, gap, gmax);
                for (int i = 0; i < B * C; i++) ck_assert(fabsf(got.lp[i] - want.lp[i]) < 1e-5f);
                ck_assert(!memcmp(got.pred, want.pred, sizeof(int) * B));
                ck_assert_int_eq(got.correct, want.correct);
                /* back to one worker: one worker's bits */
                ck_assert_int_eq(sc_model_set_threads(m, 1, &err), SC_OK);
                step_out back;
                step(m, x, labels, B, &back);
                ck_assert(!memcmp(back.grad, want.grad, sizeof(float) * n));
                free(got.grad), free(got2.grad), free(back.grad);
                sc_model_free(m), sc_model_free(again);
            }
            free(want.grad);
            sc_model_free(one);
        }
    }
}
END_TEST

/* ---- the training step allocates nothing --------------------------------------------- */

START_TEST(training_step_allocates_nothing) {
    float x[NB * S * S];
    int labels[NB];
    data(x, labels, NB, 10);
    for (int k = SC_MODEL_RAM; k < SC_MODEL_KINDS; k++)
        for (int threads = 1; threads <= 2; threads++) {
            sc_model_cfg c = small_cfg((sc_model_kind)k);
            sc_model *m = make(&c, 11);
            sc_err err = {0};
            ck_assert_int_eq(sc_model_set_threads(m, threads, &err), SC_OK);
            sc_params *ps = sc_model_params(m);
            sc_rng r;
            sc_rng_seed(&r, 12);
            sc_model_stats st;
            float lp[NB * C];
            int ok = 1;
            for (int i = 0; i < 2; i++) {  /* warm-up */
                ok &= sc_model_forward(m, x, labels, NB, 0.1f, &r, &st) == SC_OK;
                sc_model_backward(m, labels, NB, 0.1f);
            }
            long a0 = n_alloc, f0 = n_fopen, t0 = n_thread;
            for (int i = 0; i < 6; i++) {
                int B = i % 2 ? NB : NB - 2;  /* full and short batches */
                ok &= sc_model_forward(m, x, labels, B, 0.1f, &r, &st) == SC_OK;
                sc_params_zero_grad(ps);
                sc_model_backward(m, labels, B, 0.1f);
                ok &= sc_model_predict(m, x, labels, B, 2, 0.1f, &r, lp, NULL) >= 0;
            }
            long da = n_alloc - a0, df = n_fopen - f0, dt = n_thread - t0;
            ck_assert(ok);
            ck_assert_msg(da == 0 && df == 0 && dt == 0,
                          "kind %d, %d threads: %ld allocations, %ld fopen, %ld threads in 6 steps", k, threads, da,
                          df, dt);
            sc_model_free(m);
        }
    /* the counters count */
    long a0 = n_alloc;
    sc_model_cfg c = small_cfg(SC_MODEL_FC);
    sc_model *m = make(&c, 1);
    sc_model_free(m);
    ck_assert_int_ge(n_alloc - a0, 2);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("agent_model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, describe_and_cost);
    tcase_add_test(tc, kind_names);
    tcase_add_test(tc, channels_are_interleaved);
    tcase_add_test(tc, forward_backward_are_the_kinds_own);
    tcase_add_test(tc, predict_samples_only_when_stochastic);
    tcase_add_test(tc, trace_ram);
    tcase_add_test(tc, trace_soft);
    tcase_add_test(tc, trace_fc);
    tcase_add_test(tc, trace_selfattn);
    tcase_add_test(tc, threads_by_kind);
    tcase_add_test(tc, workers_split_the_batch);
    tcase_add_test(tc, training_step_allocates_nothing);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(make_suite)
