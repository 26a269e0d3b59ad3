/* test_agent_kinds.c - the model table (agent/kind.h): every row answers
 * every operation, and a kind is one row.
 *
 * - every row of the table: the required operations are there and the
 *   optional ones either are or sc_model_* gives kind.h's default for them (no
 *   grid, a NaN baseline that setting does not change, one process, OpenBLAS
 *   threads); its name round-trips through sc_model_kind_parse and
 *   sc_model_kind_name; what it says about itself (describe) agrees with its
 *   configuration, its cost, its grid, its statistics and its trace; forward,
 *   backward, predict and trace run on a tiny batch, and their bad input gets
 *   the documented errors;
 * - the canvas's channels, every row: 0 builds the grey model of 1 bit for
 *   bit, 1..4 build and pass the check with a wider first layer, others are
 *   refused by create and check naming channels; the checks take each axis
 *   of a non-square canvas (soft's grid, the sensors, selfattn's patch and
 *   tokens);
 * - the gradient through the interface agrees with central differences for
 *   every row (the RAM with REINFORCE off, where its loss is the cross-entropy
 *   given the sampled glimpses; each kind's own suite checks its full loss);
 * - a kind outside the table, "linear" (below: multinomial logistic
 *   regression on the pixels, on fc's configuration; one struct, its
 *   adapters and a row), built with sc_model_create_ops: it answers every
 *   operation as the rows do, gives the bits of fc with no hidden layer, its
 *   gradient checks, it is no [model] kind word, and a row missing a required
 *   operation is refused, naming it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kind.h"
#include "nets/blas.h"
#include "nets/gradcheck.h"
#include "nets/layers.h"
#include "tests/testutil.h"

/* ---- a kind outside the table: "linear" ------------------------------------------------
 * logp = log_softmax(x W^T + b), x (B, N) the canvas flattened, W (C, N), b (C);
 * the loss is the mean cross-entropy. Its configuration is fc's (the sizes;
 * layers and hidden unused), so a sc_model_cfg carries it at .fc. */

typedef struct lin {
    sc_fc_cfg c;
    sc_params ps;  /* action.W, action.b: fc's names for the same layer */
    int iW, ib, N, last_B;
    float *act, *x, *logits, *logp, *dlogits;  /* (NB, N), (NB, C) x 3 */
    int *pred;
} lin;

static sc_cost lin_cost(const void *cfg) {
    const sc_fc_cfg *c = cfg;
    sc_cost k;
    memset(&k, 0, sizeof k);
    const double N = (double)c->img_h * c->img_w;
    k.params = N * c->num_classes + c->num_classes;
    k.macs_infer = N * c->num_classes;
    k.macs_train = 2.0 * k.macs_infer;  /* dW only: the input is data */
    k.flops_infer = 2.0 * k.macs_infer;
    k.flops_train = 2.0 * k.macs_train;
    k.pixels_read = N;
    return k;
}

static void lin_free(void *impl) {
    lin *m = impl;
    if (!m) return;
    sc_params_free(&m->ps);
    free(m->act);
    free(m->pred);
    free(m);
}

static int lin_create(void **impl, const void *cfg, sc_model_info *info, sc_err *err) {
    const sc_fc_cfg *c = cfg;
    *impl = NULL;
    if (c->img_h < 1 || c->img_w < 1 || c->num_classes < 2 || c->max_batch < 1)
        return sc_errf(err, SC_EARG, "linear: %d x %d canvas, %d classes, max_batch %d: expected positive sizes and "
                       ">= 2 classes", c->img_h, c->img_w, c->num_classes, c->max_batch);
    info->num_classes = c->num_classes;
    info->max_batch = c->max_batch;
    info->image_floats = (size_t)c->img_h * c->img_w * sc_kind_channels(c->channels);
    info->steps = 1;
    lin *m = calloc(1, sizeof *m);
    if (!m) return sc_errf(err, SC_ENOMEM, "linear: out of memory");
    *impl = m;
    m->c = *c;
    m->N = c->img_h * c->img_w;
    sc_params_init(&m->ps);
    const int C = c->num_classes;
    int rc = (m->iW = sc_params_add(&m->ps, "action.W", C, m->N, err)) < 0 ? m->iW : SC_OK;
    if (rc == SC_OK) rc = (m->ib = sc_params_add(&m->ps, "action.b", 1, C, err)) < 0 ? m->ib : SC_OK;
    if (rc == SC_OK) rc = sc_params_set_fan_in(&m->ps, m->iW, m->N, err);
    if (rc == SC_OK) rc = sc_params_set_fan_in(&m->ps, m->ib, m->N, err);
    if (rc == SC_OK) rc = sc_params_alloc(&m->ps, err);
    if (rc != SC_OK) return rc;
    const size_t B = (size_t)c->max_batch;
    size_t sizes[] = {B * m->N, B * C, B * C, B * C}, total;
    float **ptrs[] = {&m->x, &m->logits, &m->logp, &m->dlogits};
    m->act = sc_carve(ptrs, sizes, 4, &total);
    m->pred = malloc(B * sizeof(int));
    if (!m->act || !m->pred) return sc_errf(err, SC_ENOMEM, "linear: out of memory for %zu floats", total);
    return SC_OK;
}

static sc_params *lin_params(void *impl) { return &((lin *)impl)->ps; }
static void lin_init_params(void *impl, sc_rng *r) { sc_params_init_linear(&((lin *)impl)->ps, r); }

static int lin_forward(void *impl, const float *x, const int *labels, int B, float std, sc_rng *r,
                       sc_model_stats *st) {
    (void)std, (void)r;
    lin *m = impl;
    const int N = m->N, C = m->c.num_classes;
    if (B < 1 || B > m->c.max_batch) return SC_EARG;
    m->last_B = B;
    memcpy(m->x, x, sizeof(float) * B * N);
    sc_linear_forward(m->logits, m->x, sc_params_data(&m->ps, m->iW), sc_params_data(&m->ps, m->ib), B, N, C);
    float xent = sc_softmax_xent_forward(m->logp, m->logits, labels, B, C);
    int correct = sc_argmax_rows(m->pred, m->logp, labels, B, C);
    if (labels && st) {
        sc_model_stats_clear(st);  /* no policy, no attention */
        st->xent = xent;
        st->correct = correct;
        st->reward = (double)correct / B;
    }
    return SC_OK;
}

static int lin_backward(void *impl, const int *labels, int B, float std) {
    (void)std;
    lin *m = impl;
    const int N = m->N, C = m->c.num_classes;
    /* logp = log_softmax(x W^T + b); x is data: no din */
    memset(m->dlogits, 0, sizeof(float) * B * C);
    sc_softmax_xent_backward(m->dlogits, m->logp, labels, B, C, 1.0f);
    sc_linear_backward(NULL, sc_params_grad(&m->ps, m->iW), sc_params_grad(&m->ps, m->ib), m->dlogits, m->x,
                       sc_params_data(&m->ps, m->iW), B, N, C);
    return SC_OK;
}

static int lin_predict(void *impl, const float *x, const int *labels, int B, int M, float std, sc_rng *r,
                       float *logp_avg, int *pred) {
    (void)M;
    lin *m = impl;
    int rc = lin_forward(m, x, NULL, B, std, r, NULL);
    if (rc != SC_OK) return rc;
    memcpy(logp_avg, m->logp, sizeof(float) * B * m->c.num_classes);
    int correct = 0;
    for (int b = 0; b < B; b++) {
        if (pred) pred[b] = m->pred[b];
        correct += labels && labels[b] == m->pred[b];
    }
    return correct;
}

static int lin_trace(void *impl, const float *x, int B, float std, sc_rng *r, float *probs, float *loc, float *att,
                     int *pred, sc_err *err) {
    (void)att;
    lin *m = impl;
    const int C = m->c.num_classes;
    int rc = lin_forward(m, x, NULL, B, std, r, NULL);
    if (rc != SC_OK) return sc_errf(err, rc, "linear trace: forward pass of %d images failed", B);
    for (int b = 0; b < B; b++) {
        if (probs) sc_kind_probs(probs + (size_t)b * C, m->logp + (size_t)b * C, C);
        if (loc) loc[2 * b] = loc[2 * b + 1] = 0.0f;
        if (pred) pred[b] = sc_kind_argmax(m->logp + (size_t)b * C, C);
    }
    return SC_OK;
}

static const sc_model_ops lin_ops = {
    .name = "linear",
    .cfg_offset = offsetof(sc_model_cfg, fc),
    .cost = lin_cost,
    .create = lin_create,
    .free = lin_free,
    .params = lin_params,
    .init_params = lin_init_params,
    .forward = lin_forward,
    .backward = lin_backward,
    .predict = lin_predict,
    .trace = lin_trace,
    /* grid, set_threads, baseline_ema, set_baseline_ema, set_span: the defaults */
};

/* ---- tiny models of every kind (after the linear kind, which needs none of it) ------------ */

#include "tests/smallmodels.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static sc_model *make_ops(const sc_model_ops *ops, const sc_model_cfg *c, uint64_t seed) {
    sc_model *m = NULL;
    sc_err err = {0};
    ck_assert_msg(sc_model_create_ops(&m, ops, c, &err) == SC_OK, "%s: create: %s", ops->name, err.msg);
    sc_rng r;
    sc_rng_seed(&r, seed);
    sc_model_init_params(m, &r);
    return m;
}

static int is_distribution(const float *p, int n) {
    double s = 0;
    for (int j = 0; j < n; j++) {
        if (!(p[j] >= 0 && p[j] <= 1)) return 0;
        s += p[j];
    }
    return fabs(s - 1) < 1e-4;
}

static int all_nan(const sc_model_stats *st) {
    return isnan(st->xent) && isnan(st->reward) && st->correct == 0 && isnan(st->reinforce) &&
           isnan(st->baseline_mse) && isnan(st->adv_var) && isnan(st->mu_abs) && isnan(st->mu_spread) &&
           isnan(st->att_entropy) && isnan(st->att_max);
}

/* The required operations; the two halves of the optional baseline together. */
static void check_row(const sc_model_ops *ops) {
    ck_assert_ptr_nonnull(ops->name);
    ck_assert_msg(ops->cost && ops->create && ops->free && ops->params && ops->init_params && ops->forward &&
                  ops->backward && ops->predict && ops->trace, "%s: a required operation is NULL", ops->name);
    ck_assert_msg(!ops->baseline_ema == !ops->set_baseline_ema, "%s: half a baseline", ops->name);
    ck_assert_msg(ops->cfg_offset + sizeof(int) <= sizeof(sc_model_cfg), "%s: cfg_offset %zu outside sc_model_cfg",
                  ops->name, ops->cfg_offset);
}

/* Every operation of m (built from ops and c) on a batch of B = NB - 1. */
static void run_every_operation(sc_model *m, const sc_model_ops *ops, const sc_model_cfg *c) {
    const sc_model_info *in = sc_model_describe(m);
    const char *name = ops->name;
    /* describe */
    ck_assert_str_eq(in->name, name);
    ck_assert_int_eq(in->num_classes, C);
    ck_assert_int_eq(in->max_batch, NB);
    ck_assert_int_ge(in->steps, 1);
    ck_assert_int_eq(in->workers, 1);
    ck_assert_int_ge(in->locations, 0);
    ck_assert_msg(!in->reinforce || in->stochastic, "%s: REINFORCE without sampling", name);
    ck_assert_msg(!in->locations || in->trajectories, "%s: locations without trajectories", name);
    const float *grid = sc_model_grid(m);
    ck_assert_msg((grid != NULL) == (in->locations > 0), "%s: grid %p, %d locations", name, (void *)grid,
                  in->locations);
    if (!ops->grid) ck_assert_ptr_null(grid);
    for (int i = 0; i < 2 * in->locations; i++) ck_assert(grid[i] >= -1 && grid[i] <= 1);
    sc_params *ps = sc_model_params(m);
    sc_cost cost = ops->cost((const char *)c + ops->cfg_offset);
    ck_assert_msg((size_t)cost.params == sc_params_count(ps), "%s: cost says %.0f parameters, the store has %zu",
                  name, cost.params, sc_params_count(ps));
    ck_assert(cost.macs_infer > 0 && cost.macs_train >= cost.macs_infer);

    /* forward with and without labels, and out of range */
    const int B = NB - 1, Tn = in->steps, L = in->locations;
    float x[NB * S * S];
    int labels[NB];
    data(x, labels, NB, 31);
    sc_rng r;
    sc_rng_seed(&r, 32);
    sc_model_stats st;
    ck_assert_int_eq(sc_model_forward(m, x, labels, B, 0.1f, &r, &st), SC_OK);
    ck_assert_msg(isfinite(st.xent) && st.xent > 0, "%s: xent %g", name, st.xent);
    ck_assert(st.correct >= 0 && st.correct <= B && st.reward == (double)st.correct / B);
    if (in->reinforce)
        ck_assert(isfinite(st.reinforce) && isfinite(st.baseline_mse) && isfinite(st.adv_var) && isfinite(st.mu_abs) &&
                  isfinite(st.mu_spread));
    if (!in->stochastic)
        ck_assert_msg(isnan(st.reinforce) && isnan(st.baseline_mse) && isnan(st.adv_var) && isnan(st.mu_abs) &&
                      isnan(st.mu_spread), "%s: policy terms without a policy", name);
    ck_assert_msg(isnan(st.att_entropy) == (L == 0) && isnan(st.att_max) == (L == 0),
                  "%s: attention terms %g %g with %d locations", name, st.att_entropy, st.att_max, L);
    sc_model_stats kept = st;
    ck_assert_int_eq(sc_model_forward(m, x, NULL, B, 0.1f, &r, &st), SC_OK);
    ck_assert_msg(!memcmp(&kept, &st, sizeof st), "%s: a forward without labels wrote statistics", name);
    ck_assert_int_eq(sc_model_forward(m, x, labels, 0, 0.1f, &r, &st), SC_EARG);
    ck_assert_msg(all_nan(&st), "%s: a failed forward left numbers", name);
    ck_assert_int_eq(sc_model_forward(m, x, labels, NB + 1, 0.1f, &r, &st), SC_EARG);

    /* backward adds a finite, non-zero gradient */
    ck_assert_int_eq(sc_model_forward(m, x, labels, B, 0.1f, &r, &st), SC_OK);
    sc_params_zero_grad(ps);
    ck_assert_int_eq(sc_model_backward(m, labels, B, 0.1f), SC_OK);
    double g2 = 0;
    for (size_t i = 0; i < ps->n; i++) g2 += (double)ps->grad[i] * ps->grad[i];
    ck_assert_msg(isfinite(g2) && g2 > 0, "%s: |grad|^2 = %g", name, g2);

    /* predict: distributions; one pass whatever M unless stochastic */
    float lp1[NB * C], lp3[NB * C];
    int p1[NB], p3[NB];
    int k1 = sc_model_predict(m, x, labels, B, 1, 0.1f, &r, lp1, p1);
    int k3 = sc_model_predict(m, x, labels, B, 3, 0.1f, &r, lp3, p3);
    ck_assert(k1 >= 0 && k1 <= B && k3 >= 0 && k3 <= B);
    for (int b = 0; b < B; b++) {
        float p[C];
        sc_kind_probs(p, lp1 + b * C, C);
        ck_assert_msg(is_distribution(p, C), "%s: predict row %d", name, b);
    }
    if (!in->stochastic)
        ck_assert_msg(k1 == k3 && !memcmp(lp1, lp3, sizeof(float) * B * C) && !memcmp(p1, p3, sizeof(int) * B),
                      "%s: deterministic, but M changed the prediction", name);
    ck_assert_int_eq(sc_model_predict(m, x, labels, B, 0, 0.1f, &r, lp1, p1), SC_EARG);
    ck_assert_int_eq(sc_model_predict(m, x, labels, 0, 1, 0.1f, &r, lp1, p1), SC_EARG);
    ck_assert_int_eq(sc_model_predict(m, x, labels, NB + 1, 1, 0.1f, &r, lp1, p1), SC_EARG);
    ck_assert_int_eq(sc_model_predict(m, x, labels, B, 1, 0.1f, &r, NULL, p1), SC_EARG);

    /* trace: T steps of distributions whose last is the prediction; attention
     * over the L locations with its weighted mean as the location */
    const int Lw = L > 0 ? L : 1;
    float *probs = malloc(sizeof(float) * B * Tn * C), *loc = malloc(sizeof(float) * B * Tn * 2);
    float *att = malloc(sizeof(float) * B * Tn * Lw);
    int pred[NB];
    ck_assert(probs && loc && att);
    sc_err err = {0};
    ck_assert_msg(sc_model_trace(m, x, B, 0.1f, &r, probs, loc, att, pred, &err) == SC_OK, "%s: %s", name, err.msg);
    for (int b = 0; b < B; b++) {
        ck_assert(pred[b] >= 0 && pred[b] < C);
        const float *last = probs + ((size_t)b * Tn + Tn - 1) * C;
        for (int j = 0; j < C; j++)
            ck_assert_msg(last[j] <= last[pred[b]], "%s: pred is not the last step's argmax", name);
        for (int t = 0; t < Tn; t++) {
            const size_t bt = (size_t)b * Tn + t;
            ck_assert_msg(is_distribution(probs + bt * C, C), "%s: trace probs %d %d", name, b, t);
            ck_assert(fabsf(loc[bt * 2]) <= 1.0f + 1e-6f && fabsf(loc[bt * 2 + 1]) <= 1.0f + 1e-6f);
            if (L == 0) continue;
            ck_assert_msg(is_distribution(att + bt * L, L), "%s: trace attention %d %d", name, b, t);
            float mean[2];
            sc_kind_mean_location(mean, att + bt * L, grid, L);
            ck_assert(mean[0] == loc[bt * 2] && mean[1] == loc[bt * 2 + 1]);
        }
    }
    ck_assert_int_eq(sc_model_trace(m, x, B, 0.1f, &r, NULL, NULL, NULL, NULL, &err), SC_OK);
    ck_assert_int_eq(sc_model_trace(m, x, NB + 1, 0.1f, &r, probs, loc, att, pred, &err), SC_EARG);
    ck_assert_msg(strstr(err.msg, "7 images"), "%s", err.msg);
    free(probs);
    free(loc);
    free(att);

    /* the optional operations: the row's own, or kind.h's defaults */
    const double b0 = sc_model_baseline_ema(m);
    sc_model_set_baseline_ema(m, 0.25);
    if (ops->baseline_ema) {
        ck_assert(sc_model_baseline_ema(m) == 0.25);
        sc_model_set_baseline_ema(m, b0);
    } else {
        ck_assert(isnan(b0) && isnan(sc_model_baseline_ema(m)));
    }
    ck_assert_int_eq(sc_model_set_span(m, NULL, &err), SC_OK);
    if (!ops->set_span) {
        sc_span span = {.total = 2, .first = 0};
        ck_assert_int_eq(sc_model_set_span(m, &span, &err), SC_EARG);
        ck_assert_msg(strstr(err.msg, name) && strstr(err.msg, "one process"), "%s", err.msg);
    }
    ck_assert_int_eq(sc_model_set_threads(m, 0, &err), SC_EARG);
    ck_assert_int_eq(sc_model_set_threads(m, 1, &err), SC_OK);
    ck_assert_int_eq(in->workers, 1);
    if (!ops->set_threads) ck_assert_int_eq(sc_blas_get_threads(), 1);
}

/* ---- every row of the table --------------------------------------------------------------- */

START_TEST(every_row_answers_every_operation) {
    sc_err err = {0};
    for (int k = 0; k < SC_MODEL_KINDS; k++) {
        const sc_model_ops *ops = sc_model_kind_ops((sc_model_kind)k);
        ck_assert_ptr_nonnull(ops);
        check_row(ops);
        /* the name round-trips */
        sc_model_kind parsed;
        ck_assert_int_eq(sc_model_kind_parse(ops->name, &parsed, &err), SC_OK);
        ck_assert_int_eq(parsed, k);
        ck_assert_str_eq(sc_model_kind_name((sc_model_kind)k), ops->name);
        /* no two rows share a name */
        for (int j = 0; j < k; j++) ck_assert_str_ne(sc_model_kind_ops((sc_model_kind)j)->name, ops->name);
        /* built by kind and by row, the same model */
        sc_model_cfg c = small_cfg((sc_model_kind)k);
        sc_model *m = NULL;
        ck_assert_msg(sc_model_create(&m, &c, &err) == SC_OK, "%s: %s", ops->name, err.msg);
        ck_assert_int_eq(sc_model_describe(m)->kind, k);
        sc_model *via = make_ops(ops, &c, 1);
        ck_assert_int_eq(sc_model_describe(via)->kind, k);
        ck_assert(!memcmp(sc_model_describe(m), sc_model_describe(via), sizeof(sc_model_info)));
        sc_cost a = sc_model_cost(&c), b = ops->cost((const char *)&c + ops->cfg_offset);
        ck_assert(!memcmp(&a, &b, sizeof a));
        sc_model_free(m);
        run_every_operation(via, ops, &c);
        sc_model_free(via);
    }
    ck_assert_ptr_null(sc_model_kind_ops(SC_MODEL_KINDS));
    ck_assert_ptr_null(sc_model_kind_ops((sc_model_kind)-1));
    ck_assert_ptr_null(sc_model_kind_name(SC_MODEL_KINDS));
    sc_model_cfg c = small_cfg(SC_MODEL_KINDS);
    sc_cost none = sc_model_cost(&c);
    ck_assert(none.params == 0 && none.macs_infer == 0);
    /* the word list of an unknown kind is the table's */
    sc_model_kind k;
    ck_assert_int_eq(sc_model_kind_parse("linear", &k, &err), SC_EARG);
    for (int i = 0; i < SC_MODEL_KINDS; i++)
        ck_assert_msg(strstr(err.msg, sc_model_kind_name((sc_model_kind)i)), "%s", err.msg);
    sc_blas_set_threads(1);
}
END_TEST

/* ---- gradients through the interface ----------------------------------------------------- */

typedef struct gc_ctx {
    sc_model *m;
    const float *x;
    const int *labels;
    int B;
} gc_ctx;

/* The mean cross-entropy from predict's log-probabilities (one pass, M = 1),
 * in double; a sampling kind draws from the same seed every time. */
static double gc_loss(void *p) {
    gc_ctx *c = p;
    float lp[NB * C];
    sc_rng r;
    sc_rng_seed(&r, 41);
    ck_assert_int_ge(sc_model_predict(c->m, c->x, NULL, c->B, 1, 0.1f, &r, lp, NULL), 0);
    double loss = 0.0;
    for (int b = 0; b < c->B; b++) loss -= lp[b * C + c->labels[b]];
    return loss / c->B;
}

/* Every tensor of m judged as a whole (norm_rel_err, frac_off; robust to
 * float32 noise near ReLU kinks) and refused when its gradient is all zero.
 * 64 coordinates per tensor and loose bounds, for every kind alike: a wrong
 * sign (1), a factor of 2 (0.33) or a missing term fails it; the kinds' own
 * suites hold the strict per-kind checks. */
static void check_gradient(sc_model *m, const char *name) {
    float x[NB * S * S];
    int labels[NB];
    data(x, labels, NB, 40);
    gc_ctx c = {m, x, labels, 3};
    sc_params *ps = sc_model_params(m);
    for (size_t i = 0; i < ps->n; i++) ps->data[i] *= 2.0f;  /* attention off uniform, ReLUs off zero */
    sc_rng r;
    sc_rng_seed(&r, 41);
    sc_model_stats st;
    ck_assert_int_eq(sc_model_forward(m, x, labels, c.B, 0.1f, &r, &st), SC_OK);
    ck_assert_msg(fabs(st.xent - gc_loss(&c)) < 1e-5, "%s: forward's xent %g, predict's %g", name, st.xent,
                  gc_loss(&c));
    sc_rng_seed(&r, 41);
    ck_assert_int_eq(sc_model_forward(m, x, labels, c.B, 0.1f, &r, &st), SC_OK);
    sc_params_zero_grad(ps);
    ck_assert_int_eq(sc_model_backward(m, labels, c.B, 0.1f), SC_OK);
    float *analytic = malloc(sizeof(float) * ps->n);
    ck_assert_ptr_nonnull(analytic);
    memcpy(analytic, ps->grad, sizeof(float) * ps->n);
    for (int i = 0; i < ps->count; i++) {
        sc_gradcheck_report rep;
        ck_assert_int_eq(sc_gradcheck(gc_loss, &c, sc_params_data(ps, i), analytic + ps->p[i].offset,
                                      sc_params_size(ps, i), 64, 2e-3f, 1e-4, &rep), 0);
        if (getenv("SACCADE_TEST_VERBOSE"))
            printf("%-8s %-14s rel %.2e  off %4.1f%%  |a| %.3g\n", name, ps->p[i].name, rep.norm_rel_err,
                   100.0 * rep.frac_off, rep.norm_analytic);
        ck_assert_msg(rep.norm_rel_err < 0.1 && rep.frac_off < 0.2,
                      "%s %s: |a-n|/(|a|+|n|) = %.3g, %.0f%% of coordinates off by > 5%%", name, ps->p[i].name,
                      rep.norm_rel_err, 100.0 * rep.frac_off);
        ck_assert_msg(rep.norm_analytic > 0, "%s %s: an all-zero gradient, the check would be vacuous", name,
                      ps->p[i].name);
    }
    free(analytic);
}

/* What a row says about its kind before one is built (caps, max_threads, legend, step words, check,
 * describe, footprint, grid_at) agrees with what the built model says, for every row. */
START_TEST(every_row_says_what_it_is) {
    sc_err err = {0};
    for (int k = 0; k < SC_MODEL_KINDS; k++) {
        const sc_model_ops *ops = sc_model_kind_ops((sc_model_kind)k);
        ck_assert_ptr_eq(sc_model_ops_named(ops->name), ops);
        sc_model_cfg c = small_cfg((sc_model_kind)k);
        const void *kc = sc_model_kind_cfg(ops, &c);
        sc_model *m = NULL;
        ck_assert_msg(sc_model_create(&m, &c, &err) == SC_OK, "%s: %s", ops->name, err.msg);
        const sc_model_info *in = sc_model_describe(m);
        const unsigned caps = ops->caps;
        ck_assert_msg(!!(caps & SC_KIND_STOCHASTIC) == !!in->stochastic, "%s: SC_KIND_STOCHASTIC", ops->name);
        ck_assert_msg(!!(caps & SC_KIND_TRAJECTORIES) == !!in->trajectories, "%s: SC_KIND_TRAJECTORIES", ops->name);
        ck_assert_msg(!!(caps & SC_KIND_WEIGHTS) == (in->locations > 0), "%s: SC_KIND_WEIGHTS", ops->name);
        ck_assert_msg(!!(caps & SC_KIND_WEIGHTS) == (sc_model_grid(m) != NULL), "%s: a grid", ops->name);
        /* small_cfg turns the RAM's reinforce on: a policy kind then learns by REINFORCE, no other does */
        ck_assert_msg(!!(caps & SC_KIND_POLICY) == !!in->reinforce, "%s: SC_KIND_POLICY", ops->name);
        ck_assert_msg(ops->max_threads >= 0, "%s: max_threads", ops->name);
        if (ops->max_threads > 0) {
            ck_assert_int_eq(sc_model_set_threads(m, ops->max_threads, &err), SC_OK);
            ck_assert_int_ne(sc_model_set_threads(m, ops->max_threads + 1, &err), SC_OK);
        }
        ck_assert_msg(ops->legend && ops->legend[0], "%s: a legend", ops->name);
        ck_assert_msg(!!ops->step_name == !!(caps & SC_KIND_TRAJECTORIES) &&
                      !!ops->step_unit == !!(caps & SC_KIND_TRAJECTORIES), "%s: step words", ops->name);
        char model[96] = "", looks[48] = "", msg[SC_ERR_MSG_MAX] = "";
        if (ops->describe) {
            ops->describe(kc, model, sizeof model, looks, sizeof looks);
            ck_assert_msg(!strncmp(model, ops->name, strlen(ops->name)) && looks[0], "%s: described as %s / %s",
                          ops->name, model, looks);
        }
        if (ops->check) ck_assert_msg(ops->check(kc, "plain", msg, sizeof msg) == 0, "%s: %s", ops->name, msg);
        int g = 0, sc = 0;
        if (ops->footprint) ops->footprint(kc, &g, &sc);
        ck_assert_msg(!!ops->footprint == !!(caps & SC_KIND_TRAJECTORIES) && (!ops->footprint || (g >= 1 && sc >= 1)),
                      "%s: footprint %d x %d", ops->name, g, sc);
        if (ops->grid_at) {  /* its own side gives its own grid; a twice larger canvas about twice the grid */
            ck_assert_int_eq(ops->grid_at(kc, S) * ops->grid_at(kc, S), in->locations);
            ck_assert_int_ge(ops->grid_at(kc, 2 * S), 2 * ops->grid_at(kc, S) - 1);
        }
        sc_model_free(m);
    }
    /* the lists by capability partition the table */
    char with[128], without[128];
    sc_model_kinds_list(with, sizeof with, SC_KIND_POLICY, 0);
    sc_model_kinds_list(without, sizeof without, 0, SC_KIND_POLICY);
    for (int k = 0; k < SC_MODEL_KINDS; k++) {
        const sc_model_ops *ops = sc_model_kind_ops((sc_model_kind)k);
        ck_assert_msg(!strstr(with, ops->name) != !strstr(without, ops->name), "%s in '%s' xor '%s'", ops->name,
                      with, without);
    }
    ck_assert_ptr_null(sc_model_ops_named("no such kind"));
    ck_assert_ptr_null(sc_model_ops_named(NULL));
}
END_TEST

/* A kind's check refuses what cannot be built, in one line naming the keys. */
START_TEST(checks_name_the_keys) {
    char msg[SC_ERR_MSG_MAX];
    sc_model_cfg c = small_cfg(SC_MODEL_SOFT);
    c.soft.grid = S + 1;
    ck_assert_int_eq(sc_soft_ops.check(&c.soft, "plain", msg, sizeof msg), -1);
    ck_assert_msg(strstr(msg, "[model] grid") && strstr(msg, "plain") && !strchr(msg, '\n'), "%s", msg);
    c = small_cfg(SC_MODEL_RAM);
    c.ram.glimpse_size = 4 * S + 1;
    c.ram.scales = 1;
    ck_assert_int_eq(sc_ram_ops.check(&c.ram, "plain", msg, sizeof msg), -1);
    ck_assert_msg(strstr(msg, "[model] glimpse_size") && strstr(msg, "scales"), "%s", msg);
    c.ram.glimpse_size = 4 * S;
    ck_assert_int_eq(sc_ram_ops.check(&c.ram, "plain", msg, sizeof msg), 0);
    c = small_cfg(SC_MODEL_SELFATTN);
    c.selfattn.patch = S - 1;  /* does not tile */
    ck_assert_int_eq(sc_sa_ops.check(&c.selfattn, "plain", msg, sizeof msg), -1);
    ck_assert_msg(strstr(msg, "[model] patch"), "%s", msg);
    c = small_cfg(SC_MODEL_SELFATTN);
    c.selfattn.heads = 3;
    c.selfattn.d_model = 8;
    ck_assert_int_eq(sc_sa_ops.check(&c.selfattn, "plain", msg, sizeof msg), -1);
    ck_assert_msg(strstr(msg, "d_model") && strstr(msg, "heads"), "%s", msg);
}
END_TEST

/* Every kind's channels field, through its row: 0 builds the grey model of
 * 1, bit for bit (parameters and a forward pass); 1..SC_KIND_CHANNELS_MAX
 * build and pass the check; anything else is refused by create (SC_EARG
 * naming channels and the range) and by the check (naming the canvas). */
static void set_channels(sc_model_cfg *c, int ch) {
    c->ram.channels = c->soft.channels = c->fc.channels = c->selfattn.channels = ch;
}

START_TEST(every_row_reads_its_channels) {
    enum { BB = 3 };
    float x[BB * S * S];
    int labels[BB];
    data(x, labels, BB, 9);
    for (int k = 0; k < SC_MODEL_KINDS; k++) {
        const sc_model_ops *ops = sc_model_kind_ops((sc_model_kind)k);
        sc_model_cfg c = small_cfg((sc_model_kind)k);
        char msg[SC_ERR_MSG_MAX] = "";
        sc_err err = {0};
        /* 0 is grey: the same parameters and the same forward as 1 */
        float lp[2][BB * C];
        size_t n[2];
        for (int v = 0; v < 2; v++) {
            set_channels(&c, v);
            sc_model *m = make_ops(ops, &c, 4);
            n[v] = sc_params_count(sc_model_params(m));
            sc_rng r;
            sc_rng_seed(&r, 5);
            ck_assert_int_ge(sc_model_predict(m, x, labels, BB, 1, 0.1f, &r, lp[v], NULL), 0);
            sc_model_free(m);
        }
        ck_assert_msg(n[0] == n[1] && !memcmp(lp[0], lp[1], sizeof lp[0]), "%s: channels 0 is not channels 1",
                      ops->name);
        for (int v = 1; v <= SC_KIND_CHANNELS_MAX; v++) {
            set_channels(&c, v);
            sc_model *m = make_ops(ops, &c, 4);
            if (v > 1) ck_assert_msg(sc_params_count(sc_model_params(m)) > n[0], "%s: %d channels, no wider input",
                                     ops->name, v);
            if (ops->check) ck_assert_msg(ops->check(sc_model_kind_cfg(ops, &c), "plain", msg, sizeof msg) == 0,
                                          "%s, %d channels: %s", ops->name, v, msg);
            sc_model_free(m);
        }
        const int bad[] = {-1, SC_KIND_CHANNELS_MAX + 1, 1000};
        for (int i = 0; i < 3; i++) {
            set_channels(&c, bad[i]);
            sc_model *m = (sc_model *)&c;  /* must be set to NULL on failure */
            ck_assert_int_eq(sc_model_create_ops(&m, ops, &c, &err), SC_EARG);
            ck_assert_ptr_null(m);
            ck_assert_msg(strstr(err.msg, "channels") && strstr(err.msg, "1..4") && strstr(err.msg, ops->name),
                          "%s, channels %d: %s", ops->name, bad[i], err.msg);
            if (ops->check) {
                ck_assert_int_eq(ops->check(sc_model_kind_cfg(ops, &c), "plain", msg, sizeof msg), -1);
                ck_assert_msg(strstr(msg, "channels") && strstr(msg, "plain") && !strchr(msg, '\n'), "%s: %s",
                              ops->name, msg);
            }
        }
    }
}
END_TEST

/* The checks look at each axis of a non-square canvas: soft's grid against the
 * shorter side, the sensors against the longer, selfattn's patch against both. */
START_TEST(checks_take_each_axis) {
    char msg[SC_ERR_MSG_MAX];
    sc_model_cfg c = small_cfg(SC_MODEL_SOFT);
    c.soft.img_h = 8;
    c.soft.img_w = 24;
    c.soft.grid = 9;  /* more locations than rows */
    ck_assert_int_eq(sc_soft_ops.check(&c.soft, "plain", msg, sizeof msg), -1);
    ck_assert_msg(strstr(msg, "[model] grid") && strstr(msg, "8-pixel"), "%s", msg);
    c.soft.grid = 8;
    c.soft.glimpse_size = 4 * 24;  /* 4 x the longer side: allowed */
    c.soft.scales = 1;
    ck_assert_int_eq(sc_soft_ops.check(&c.soft, "plain", msg, sizeof msg), 0);
    c = small_cfg(SC_MODEL_RAM);
    c.ram.img_h = 24;
    c.ram.img_w = 8;
    c.ram.scales = 1;
    c.ram.glimpse_size = 4 * 24;
    ck_assert_int_eq(sc_ram_ops.check(&c.ram, "plain", msg, sizeof msg), 0);
    c.ram.glimpse_size = 4 * 24 + 1;
    ck_assert_int_eq(sc_ram_ops.check(&c.ram, "plain", msg, sizeof msg), -1);
    ck_assert_msg(strstr(msg, "[model] glimpse_size") && strstr(msg, "24-pixel"), "%s", msg);
    c = small_cfg(SC_MODEL_SELFATTN);
    c.selfattn.img_h = 12;  /* a multiple of patch 4 */
    c.selfattn.img_w = 16;
    ck_assert_int_eq(sc_sa_ops.check(&c.selfattn, "plain", msg, sizeof msg), 0);
    for (int axis = 0; axis < 2; axis++) {
        c.selfattn.img_h = axis ? 14 : 12;  /* 14 rows do not tile */
        c.selfattn.img_w = axis ? 16 : 18;  /* nor do 18 columns */
        ck_assert_int_eq(sc_sa_ops.check(&c.selfattn, "plain", msg, sizeof msg), -1);
        ck_assert_msg(strstr(msg, "[model] patch") && strstr(msg, axis ? "14" : "18"), "%s", msg);
    }
    /* 12 x 16 in patches of 4: 12 tokens, so attn_token 12 is out of range */
    c.selfattn.img_h = 12;
    c.selfattn.img_w = 16;
    c.selfattn.log_token = 12;
    ck_assert_int_eq(sc_sa_ops.check(&c.selfattn, "plain", msg, sizeof msg), -1);
    ck_assert_msg(strstr(msg, "attn_token") && strstr(msg, "12 tokens"), "%s", msg);
}
END_TEST

START_TEST(every_row_has_the_gradient_of_its_loss) {
    for (int k = 0; k < SC_MODEL_KINDS; k++) {
        const sc_model_ops *ops = sc_model_kind_ops((sc_model_kind)k);
        sc_model_cfg c = small_cfg((sc_model_kind)k);
        c.ram.reinforce = 0;  /* the RAM's loss is then the cross-entropy alone */
        sc_model *m = make_ops(ops, &c, 2);
        check_gradient(m, ops->name);
        sc_model_free(m);
    }
    sc_model_cfg c = small_cfg(SC_MODEL_FC);
    sc_model *m = make_ops(&lin_ops, &c, 2);
    check_gradient(m, "linear");
    sc_model_free(m);
}
END_TEST

/* ---- a kind is one row ---------------------------------------------------------------------- */

START_TEST(a_kind_outside_the_table) {
    sc_model_cfg c = small_cfg(SC_MODEL_FC);
    check_row(&lin_ops);
    sc_model *m = make_ops(&lin_ops, &c, 3);
    const sc_model_info *in = sc_model_describe(m);
    ck_assert_int_eq(in->kind, SC_MODEL_KINDS);  /* not a row of the table */
    ck_assert_str_eq(in->name, "linear");
    ck_assert(!in->stochastic && !in->reinforce && !in->trajectories && in->locations == 0 && in->steps == 1);
    run_every_operation(m, &lin_ops, &c);
    sc_model_free(m);
    /* c.kind is not looked at */
    c.kind = SC_MODEL_RAM;
    m = make_ops(&lin_ops, &c, 3);
    ck_assert_str_eq(sc_model_describe(m)->name, "linear");
    sc_model_free(m);
    sc_blas_set_threads(1);
}
END_TEST

/* The linear kind is fc without hidden layers: the same parameters, and so
 * the same bits from every operation. */
START_TEST(the_linear_kind_is_fc_without_layers) {
    sc_model_cfg c = small_cfg(SC_MODEL_FC);
    c.fc.layers = 0;
    sc_model *fc = make_ops(&sc_fc_ops, &c, 4), *li = make_ops(&lin_ops, &c, 4);
    sc_params *pf = sc_model_params(fc), *pl = sc_model_params(li);
    ck_assert_uint_eq(pf->n, pl->n);
    ck_assert(!memcmp(pf->data, pl->data, sizeof(float) * pf->n));
    sc_cost cf = sc_model_cost(&c), cl = lin_cost(&c.fc);
    ck_assert(cf.params == cl.params && cf.macs_infer == cl.macs_infer && cf.macs_train == cl.macs_train);
    float x[NB * S * S];
    int labels[NB];
    data(x, labels, NB, 50);
    sc_model_stats sf, sl;
    ck_assert_int_eq(sc_model_forward(fc, x, labels, NB, 0, NULL, &sf), SC_OK);
    ck_assert_int_eq(sc_model_forward(li, x, labels, NB, 0, NULL, &sl), SC_OK);
    ck_assert(!memcmp(&sf, &sl, sizeof sf));
    sc_params_zero_grad(pf);
    sc_params_zero_grad(pl);
    ck_assert_int_eq(sc_model_backward(fc, labels, NB, 0), SC_OK);
    ck_assert_int_eq(sc_model_backward(li, labels, NB, 0), SC_OK);
    ck_assert(!memcmp(pf->grad, pl->grad, sizeof(float) * pf->n));
    float lf[NB * C], ll[NB * C], tf[NB * C], tl[NB * C];
    int qf[NB], ql[NB];
    ck_assert_int_eq(sc_model_predict(fc, x, labels, NB, 1, 0, NULL, lf, qf),
                     sc_model_predict(li, x, labels, NB, 1, 0, NULL, ll, ql));
    ck_assert(!memcmp(lf, ll, sizeof lf) && !memcmp(qf, ql, sizeof qf));
    ck_assert_int_eq(sc_model_trace(fc, x, NB, 0, NULL, tf, NULL, NULL, qf, NULL), SC_OK);
    ck_assert_int_eq(sc_model_trace(li, x, NB, 0, NULL, tl, NULL, NULL, ql, NULL), SC_OK);
    ck_assert(!memcmp(tf, tl, sizeof tf) && !memcmp(qf, ql, sizeof qf));
    sc_model_free(fc);
    sc_model_free(li);
}
END_TEST

START_TEST(a_row_without_a_required_operation_is_refused) {
    sc_model_cfg c = small_cfg(SC_MODEL_FC);
    sc_err err = {0};
#define OP(f) {#f, offsetof(sc_model_ops, f)}
    static const struct { const char *name; size_t at; } required[] = {
        OP(cost), OP(create), OP(free), OP(params), OP(init_params), OP(forward), OP(backward), OP(predict), OP(trace),
    };
#undef OP
    for (int i = 0; i < (int)(sizeof required / sizeof required[0]); i++) {
        sc_model_ops ops = lin_ops;
        void (*none)(void) = NULL;  /* this case's operation left out */
        memcpy((char *)&ops + required[i].at, &none, sizeof none);
        sc_model *m = (sc_model *)&c;  /* must be set to NULL */
        ck_assert_int_eq(sc_model_create_ops(&m, &ops, &c, &err), SC_EARG);
        ck_assert_ptr_null(m);
        ck_assert_msg(strstr(err.msg, "linear") && strstr(err.msg, required[i].name), "%s", err.msg);
    }
    sc_model_ops half = sc_fc_ops;
    half.set_baseline_ema = NULL;
    half.baseline_ema = sc_ram_ops.baseline_ema;
    sc_model *m = NULL;
    ck_assert_int_eq(sc_model_create_ops(&m, &half, &c, &err), SC_EARG);
    ck_assert_msg(strstr(err.msg, "baseline_ema"), "%s", err.msg);
    /* a failing create frees what it made */
    c.fc.num_classes = 1;
    ck_assert_int_eq(sc_model_create_ops(&m, &lin_ops, &c, &err), SC_EARG);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err.msg, "linear") && strstr(err.msg, "classes"), "%s", err.msg);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("agent_kinds");
    TCase *tc = tcase_create("kinds");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_row_answers_every_operation);
    tcase_add_test(tc, every_row_says_what_it_is);
    tcase_add_test(tc, checks_name_the_keys);
    tcase_add_test(tc, every_row_reads_its_channels);
    tcase_add_test(tc, checks_take_each_axis);
    tcase_add_test(tc, every_row_has_the_gradient_of_its_loss);
    tcase_add_test(tc, a_kind_outside_the_table);
    tcase_add_test(tc, the_linear_kind_is_fc_without_layers);
    tcase_add_test(tc, a_row_without_a_required_operation_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(make_suite)
