/* fc.c - the fully connected baseline: forward, backward, inference.
 * The equations are in fc.h; dimension letters: B batch, N = img_h img_w ch
 * input values (ch canvas channels), HID hidden width, K = layers, C classes.
 * Activations: a (K, NB, HID), layer k (1-based) at (k - 1) NB HID.
 * At the end: the FC baseline's row of the model table (agent/kind.h,
 * sc_fc_ops).
 */
#include "fc.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kind.h"
#include "nets/layers.h"

struct sc_fc {
    sc_fc_cfg c;
    sc_params ps;
    int N, NB;
    int iW[SC_FC_LAYERS_MAX], ib[SC_FC_LAYERS_MAX], iCw, iCb;  /* parameter indices */
    float *act;
    float *x;                 /* (NB, N) copy of the last input */
    float *a;                 /* (K, NB, HID) */
    float *logits, *logp;     /* (NB, C) */
    float *da, *daprev, *dpre, *dlogits;  /* backward scratch: (NB, HID) x 3, (NB, C) */
    int *pred;
    int last_B;
};

#define P(ix) sc_params_data(&m->ps, ix)
#define D(ix) sc_params_grad(&m->ps, ix)

/* ---- parameters ---------------------------------------------------------------- */

static int add(sc_fc *m, const char *name, int rows, int cols, int fan_in, int *idx, sc_err *err) {
    int i = sc_params_add(&m->ps, name, rows, cols, err);
    if (i < 0) return i;
    *idx = i;
    return sc_params_set_fan_in(&m->ps, i, fan_in, err);
}

static int declare_params(sc_fc *m, sc_err *err) {
    const sc_fc_cfg *c = &m->c;
    int rc, in = m->N;
    char name[SC_PARAM_NAME_MAX];
    sc_params_init(&m->ps);
    for (int k = 0; k < c->layers; k++) {
        snprintf(name, sizeof name, "fc.W%d", k + 1);
        if ((rc = add(m, name, c->hidden, in, in, &m->iW[k], err)) != SC_OK) return rc;
        snprintf(name, sizeof name, "fc.b%d", k + 1);
        if ((rc = add(m, name, 1, c->hidden, in, &m->ib[k], err)) != SC_OK) return rc;
        in = c->hidden;
    }
    if ((rc = add(m, "action.W", c->num_classes, in, in, &m->iCw, err)) != SC_OK) return rc;
    if ((rc = add(m, "action.b", 1, c->num_classes, in, &m->iCb, err)) != SC_OK) return rc;
    return sc_params_alloc(&m->ps, err);
}

void sc_fc_init_params(sc_fc *m, sc_rng *r) {
    sc_params_init_linear(&m->ps, r);  /* fan-ins recorded by add() */
}

/* ---- creation -------------------------------------------------------------------- */

void sc_fc_cfg_defaults(sc_fc_cfg *c) {
    memset(c, 0, sizeof *c);
    c->img_h = c->img_w = 28;
    c->num_classes = 10;
    c->layers = 2;
    c->hidden = 256;
    c->max_batch = 128;
    c->channels = 1;
}

static int check_cfg(const sc_fc_cfg *c, sc_err *err) {
#define NEED(cond, ...) if (!(cond)) return sc_errf(err, SC_EARG, "fc: invalid configuration: " __VA_ARGS__)
    NEED(c->img_h >= 1 && c->img_w >= 1, "img_h x img_w = %d x %d, expected positive sizes", c->img_h,
         c->img_w);
    NEED(c->num_classes >= 2, "num_classes = %d, expected >= 2", c->num_classes);
    const int ch = sc_kind_channels(c->channels);
    NEED(ch >= 1 && ch <= SC_KIND_CHANNELS_MAX, "channels = %d, expected 1..%d (0 reads as 1)", c->channels,
         SC_KIND_CHANNELS_MAX);
    NEED(c->layers >= 0 && c->layers <= SC_FC_LAYERS_MAX, "layers = %d, expected 0..%d hidden layers",
         c->layers, SC_FC_LAYERS_MAX);
    NEED(c->layers == 0 || c->hidden >= 1, "hidden = %d, expected >= 1", c->hidden);
    NEED(c->max_batch >= 1, "max_batch = %d, expected >= 1", c->max_batch);
    /* every B * width product and every weight matrix is indexed with ints by the layers */
    const size_t N = (size_t)c->img_h * c->img_w * ch, HID = c->layers ? (size_t)c->hidden : 0;
    const size_t w = N > HID ? N : HID;
    NEED(N <= INT_MAX && (size_t)c->max_batch * w <= INT_MAX && HID * w <= INT_MAX &&
         (size_t)c->num_classes * w <= INT_MAX,
         "%d x %d x %d canvas, hidden %d, max_batch %d: a buffer of over 2^31 - 1 floats; lower them", c->img_h,
         c->img_w, ch, c->hidden, c->max_batch);
#undef NEED
    return SC_OK;
}

int sc_fc_create(sc_fc **out, const sc_fc_cfg *cfg, sc_err *err) {
    *out = NULL;
    int rc = check_cfg(cfg, err);
    if (rc != SC_OK) return rc;
    sc_fc *m = calloc(1, sizeof *m);
    if (!m) return sc_errf(err, SC_ENOMEM, "fc: out of memory allocating the model");
    m->c = *cfg;
    m->N = cfg->img_h * cfg->img_w * sc_kind_channels(cfg->channels);
    m->NB = cfg->max_batch;
    if ((rc = declare_params(m, err)) != SC_OK) {
        sc_fc_free(m);
        return rc;
    }
    const size_t B = (size_t)m->NB, N = (size_t)m->N, C = (size_t)cfg->num_classes;
    const size_t K = (size_t)cfg->layers, HID = cfg->layers ? (size_t)cfg->hidden : 0;
    size_t sizes[] = {B * N, K * B * HID, B * C, B * C, B * HID, B * HID, B * HID, B * C};
    float **ptrs[] = {&m->x, &m->a, &m->logits, &m->logp, &m->da, &m->daprev, &m->dpre, &m->dlogits};
    size_t total;
    m->act = sc_carve(ptrs, sizes, (int)(sizeof sizes / sizeof sizes[0]), &total);
    m->pred = malloc(B * sizeof(int));
    if (!m->act || !m->pred) {
        sc_fc_free(m);
        return sc_errf(err, SC_ENOMEM, "fc: out of memory allocating %zu activation floats", total);
    }
    *out = m;
    return SC_OK;
}

void sc_fc_free(sc_fc *m) {
    if (!m) return;
    sc_params_free(&m->ps);
    free(m->act);
    free(m->pred);
    free(m);
}

const sc_fc_cfg *sc_fc_config(const sc_fc *m) { return &m->c; }
sc_params *sc_fc_params(sc_fc *m) { return &m->ps; }
const float *sc_fc_logp(const sc_fc *m) { return m->logp; }

/* ---- forward ------------------------------------------------------------------------ */

int sc_fc_forward(sc_fc *m, const float *x, const int *labels, int B, sc_model_stats *st) {
    if (!m || !x || B < 1 || B > m->NB) return SC_EARG;
    const int K = m->c.layers, HID = m->c.hidden, N = m->N, C = m->c.num_classes, NB = m->NB;
    m->last_B = B;
    memcpy(m->x, x, sizeof(float) * B * N);
    const float *in = m->x;
    int IN = N;
    for (int k = 0; k < K; k++) {  /* a_k = ReLU(a_{k-1} W_k^T + b_k) */
        float *a = m->a + (size_t)k * NB * HID;
        sc_linear_forward(a, in, P(m->iW[k]), P(m->ib[k]), B, IN, HID);
        sc_relu_forward(a, a, B * HID);
        in = a;
        IN = HID;
    }
    sc_linear_forward(m->logits, in, P(m->iCw), P(m->iCb), B, IN, C);
    float xent = sc_softmax_xent_forward(m->logp, m->logits, labels, B, C);
    int correct = sc_argmax_rows(m->pred, m->logp, labels, B, C);
    if (!labels || !st) return SC_OK;
    sc_model_stats_clear(st);
    st->xent = xent;
    st->correct = correct;
    st->reward = (double)correct / B;
    return SC_OK;
}

/* ---- backward ------------------------------------------------------------------------ */

void sc_fc_backward(sc_fc *m, const int *labels, int B) {
    assert(B == m->last_B);
    const int K = m->c.layers, HID = m->c.hidden, N = m->N, C = m->c.num_classes, NB = m->NB;
    /* logp = log_softmax(a_K Wc^T + bc) */
    memset(m->dlogits, 0, sizeof(float) * B * C);
    sc_softmax_xent_backward(m->dlogits, m->logp, labels, B, C, 1.0f);
    const float *aK = K ? m->a + (size_t)(K - 1) * NB * HID : m->x;
    if (K) memset(m->da, 0, sizeof(float) * B * HID);
    sc_linear_backward(K ? m->da : NULL, D(m->iCw), D(m->iCb), m->dlogits, aK, P(m->iCw), B, K ? HID : N, C);
    for (int k = K - 1; k >= 0; k--) {
        /* a_k = ReLU(pre), pre = a_{k-1} W_k^T + b_k; the input of layer 1 is data: no gradient */
        const float *a = m->a + (size_t)k * NB * HID;
        const float *in = k ? m->a + (size_t)(k - 1) * NB * HID : m->x;
        memset(m->dpre, 0, sizeof(float) * B * HID);
        sc_relu_backward(m->dpre, m->da, a, B * HID);
        if (k) memset(m->daprev, 0, sizeof(float) * B * HID);
        sc_linear_backward(k ? m->daprev : NULL, D(m->iW[k]), D(m->ib[k]), m->dpre, in, P(m->iW[k]), B,
                           k ? HID : N, HID);
        float *tmp = m->da; m->da = m->daprev; m->daprev = tmp;
    }
}

/* ---- inference ------------------------------------------------------------------------ */

int sc_fc_predict(sc_fc *m, const float *x, const int *labels, int B, float *logp_out, int *pred_out) {
    int rc = sc_fc_forward(m, x, NULL, B, NULL);
    if (rc != SC_OK) return rc;
    if (logp_out) memcpy(logp_out, m->logp, sizeof(float) * B * m->c.num_classes);
    int correct = 0;
    for (int b = 0; b < B; b++) {
        if (pred_out) pred_out[b] = m->pred[b];
        correct += labels && labels[b] == m->pred[b];
    }
    return correct;
}

/* ---- the FC baseline's row of the model table (agent/kind.h) ----------------------------- */

static sc_cost fc_cost(const void *cfg) { return sc_cost_fc(cfg); }

static int fc_create(void **impl, const void *cfg, sc_model_info *info, sc_err *err) {
    const sc_fc_cfg *c = cfg;
    info->num_classes = c->num_classes;
    info->max_batch = c->max_batch;
    info->image_floats = (size_t)c->img_h * c->img_w * sc_kind_channels(c->channels);
    info->steps = 1;  /* the prediction only */
    sc_fc *m = NULL;
    int rc = sc_fc_create(&m, c, err);
    *impl = m;
    return rc;
}

static void fc_free(void *impl) { sc_fc_free(impl); }
static sc_params *fc_params(void *impl) { return sc_fc_params(impl); }
static void fc_init_params(void *impl, sc_rng *r) { sc_fc_init_params(impl, r); }

static int fc_forward(void *impl, const float *x, const int *labels, int B, float std, sc_rng *r,
                      sc_model_stats *st) {
    (void)std, (void)r;
    return sc_fc_forward(impl, x, labels, B, st);
}

static int fc_backward(void *impl, const int *labels, int B, float std) {
    (void)std;
    sc_fc_backward(impl, labels, B);
    return SC_OK;
}

/* deterministic: one pass whatever M */
static int fc_predict(void *impl, const float *x, const int *labels, int B, int M, float std, sc_rng *r,
                      float *logp_avg, int *pred) {
    (void)M, (void)std, (void)r;
    return sc_fc_predict(impl, x, labels, B, logp_avg, pred);
}

/* One step: the probabilities, the centre (0, 0) as the location, no attention. */
static int fc_trace(void *impl, const float *x, int B, float std, sc_rng *r, float *probs, float *loc,
                    float *att, int *pred, sc_err *err) {
    (void)std, (void)r, (void)att;
    sc_fc *m = impl;
    const int C = m->c.num_classes;
    int rc = sc_fc_forward(m, x, NULL, B, NULL);
    if (rc != SC_OK) return sc_errf(err, rc, "fc trace: forward pass of %d images failed", B);
    for (int b = 0; b < B; b++) {
        if (probs) sc_kind_probs(probs + (size_t)b * C, m->logp + (size_t)b * C, C);
        if (loc) loc[2 * b] = loc[2 * b + 1] = 0.0f;
        if (pred) pred[b] = sc_kind_argmax(m->logp + (size_t)b * C, C);
    }
    return SC_OK;
}

static void fc_describe(const void *cfg, char *model, size_t mn, char *looks, size_t ln) {
    const sc_fc_cfg *c = cfg;
    snprintf(model, mn, "fc %dx%d", c->layers, c->hidden);
    snprintf(looks, ln, "-");  /* the whole canvas at once */
}

const sc_model_ops sc_fc_ops = {
    .name = "fc",
    .cfg_offset = offsetof(sc_model_cfg, fc),
    .caps = 0,
    .max_threads = SC_POOL_MAX,  /* model.c's data-parallel copies */
    .batch_offset = offsetof(sc_fc_cfg, max_batch),
    .legend = "fully connected",
    .step_name = NULL,  /* nothing to view */
    .step_unit = NULL,
    .check = NULL,      /* any canvas */
    .describe = fc_describe,
    .footprint = NULL,
    .grid_at = NULL,
    .cost = fc_cost,
    .create = fc_create,
    .free = fc_free,
    .params = fc_params,
    .init_params = fc_init_params,
    .grid = NULL,              /* no locations */
    .set_threads = NULL,       /* the default: model.c's data-parallel copies */
    .baseline_ema = NULL,      /* no baseline */
    .set_baseline_ema = NULL,
    .forward = fc_forward,
    .backward = fc_backward,
    .set_span = NULL,          /* one process */
    .predict = fc_predict,
    .trace = fc_trace,
};
