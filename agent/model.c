/* model.c - the model interface (model.h) over the model table (kind.h): a
 * model is a row of operations, the kind's own model behind it, and the
 * configuration and description it was built with. Every sc_model_* call
 * goes through m->ops; nothing here names a kind.
 *
 * What it adds beyond forwarding: the table and name lookup, the argument
 * checks every kind shares (batch sizes, M, the output buffer), statistics
 * that are NaN when a forward fails, and the defaults for the operations a
 * row leaves NULL (kind.h's rule: no grid, data-parallel copies of the kind
 * on a pool of threads, no baseline, one process). Also the small helpers the
 * kinds' trace adapters share.
 */
#include "kind.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nets/blas.h"
#include "nets/layers.h"

/* The model table: one row per kind, at its sc_model_kind. */
static const sc_model_ops *const kinds[SC_MODEL_KINDS] = {
    [SC_MODEL_RAM] = &sc_ram_ops,
    [SC_MODEL_SOFT] = &sc_soft_ops,
    [SC_MODEL_FC] = &sc_fc_ops,
    [SC_MODEL_SELFATTN] = &sc_sa_ops,
};

/* The data-parallel copies of a kind without its own set_threads (and not
 * stochastic): W workers, worker k on rows [b0, b0 + nb) of each batch
 * (b0 = B k / W), worker 0 being the model's own impl and worker k >= 1 a
 * copy built for ceil(max_batch / W) rows. */
typedef enum { DP_FORWARD, DP_BACKWARD, DP_REDUCE, DP_PREDICT } dp_job;

typedef struct dp_state {
    int W;
    void *rep[SC_POOL_MAX];   /* rep[0] = the model's impl (not owned here); rep[k] owned */
    float *g0;                /* worker 0's own gradient while the copies' run (n floats) */
    sc_pool *pool;
    /* the current job */
    dp_job job;
    const float *x;
    const int *labels;
    int B, M;
    float std;
    sc_model_stats *st;       /* NULL: no statistics wanted */
    float *logp;
    int *pred;
    int rc[SC_POOL_MAX];
    sc_model_stats part[SC_POOL_MAX];
} dp_state;

struct sc_model {
    const sc_model_ops *ops;
    void *impl;  /* the kind's own model, owned */
    sc_model_cfg c;
    sc_model_info info;
    dp_state *dp;  /* NULL: one worker, or the kind's own set_threads */
};

/* ---- the table ------------------------------------------------------------------------ */

const sc_model_ops *sc_model_kind_ops(sc_model_kind k) {
    return (int)k >= 0 && (int)k < SC_MODEL_KINDS ? kinds[k] : NULL;
}

const char *sc_model_kind_name(sc_model_kind k) {
    const sc_model_ops *ops = sc_model_kind_ops(k);
    return ops ? ops->name : NULL;
}

const sc_model_ops *sc_model_ops_named(const char *name) {
    for (int i = 0; i < SC_MODEL_KINDS; i++)
        if (name && !strcmp(name, kinds[i]->name)) return kinds[i];
    return NULL;
}

/* Does row o pass have_op (when given) and have every cap of with, none of without? */
static int row_in(const sc_model_ops *o, int (*have_op)(const sc_model_ops *), unsigned with, unsigned without) {
    return (!have_op || have_op(o)) && (o->caps & with) == with && !(o->caps & without);
}

/* The names of the rows row_in accepts, as "a, b or c"; *count (when not NULL)
 * receives how many. */
static const char *list_rows(char *buf, size_t n, int (*have_op)(const sc_model_ops *), unsigned with,
                             unsigned without, int *count) {
    int listed = 0, total = 0;
    for (int i = 0; i < SC_MODEL_KINDS; i++) total += row_in(kinds[i], have_op, with, without);
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < SC_MODEL_KINDS && at < n; i++) {
        if (!row_in(kinds[i], have_op, with, without)) continue;
        listed++;
        at += (size_t)snprintf(buf + at, n - at, "%s%s", listed == 1 ? "" : listed == total ? " or " : ", ",
                               kinds[i]->name);
    }
    if (count) *count = total;
    return buf;
}

static const char *kind_list(char *buf, size_t n, int (*have_op)(const sc_model_ops *), int *count) {
    return list_rows(buf, n, have_op, 0, 0, count);
}

const char *sc_model_kinds_list(char *buf, size_t n, unsigned with, unsigned without) {
    return list_rows(buf, n, NULL, with, without, NULL);
}

int sc_model_kind_parse(const char *name, sc_model_kind *k, sc_err *err) {
    for (int i = 0; i < SC_MODEL_KINDS; i++)
        if (!strcmp(name, kinds[i]->name)) {
            *k = (sc_model_kind)i;
            return SC_OK;
        }
    char list[256];
    return sc_errf(err, SC_EARG, "model kind '%s': expected %s", name, kind_list(list, sizeof list, NULL, NULL));
}

const void *sc_model_kind_cfg(const sc_model_ops *ops, const sc_model_cfg *c) {
    return (const char *)c + ops->cfg_offset;
}

sc_cost sc_model_cost(const sc_model_cfg *c) {
    const sc_model_ops *ops = sc_model_kind_ops(c->kind);
    if (ops) return ops->cost(sc_model_kind_cfg(ops, c));
    sc_cost none;
    memset(&none, 0, sizeof none);
    return none;
}

/* ---- creation ------------------------------------------------------------------------- */

/* The first required operation the row lacks, or NULL. */
static const char *missing_op(const sc_model_ops *ops) {
    if (!ops->name) return "name";
    if (!ops->cost) return "cost";
    if (!ops->create) return "create";
    if (!ops->free) return "free";
    if (!ops->params) return "params";
    if (!ops->init_params) return "init_params";
    if (!ops->forward) return "forward";
    if (!ops->backward) return "backward";
    if (!ops->predict) return "predict";
    if (!ops->trace) return "trace";
    if (!ops->baseline_ema != !ops->set_baseline_ema) return "baseline_ema and set_baseline_ema (both or neither)";
    return NULL;
}

int sc_model_create_ops(sc_model **out, const sc_model_ops *ops, const sc_model_cfg *c, sc_err *err) {
    *out = NULL;
    const char *lacks = missing_op(ops);
    if (lacks)
        return sc_errf(err, SC_EARG, "model kind %s: its row of operations has no %s",
                       ops->name ? ops->name : "(unnamed)", lacks);
    sc_model *m = calloc(1, sizeof *m);
    if (!m) return sc_errf(err, SC_ENOMEM, "model: out of memory");
    m->ops = ops;
    m->c = *c;
    sc_model_info *in = &m->info;
    in->kind = SC_MODEL_KINDS;
    for (int i = 0; i < SC_MODEL_KINDS; i++)
        if (kinds[i] == ops) in->kind = (sc_model_kind)i;
    in->name = ops->name;
    in->workers = 1;
    int rc = ops->create(&m->impl, sc_model_kind_cfg(ops, &m->c), in, err);
    if (rc != SC_OK) {
        sc_model_free(m);
        return rc;
    }
    *out = m;
    return SC_OK;
}

int sc_model_create(sc_model **out, const sc_model_cfg *c, sc_err *err) {
    *out = NULL;
    const sc_model_ops *ops = sc_model_kind_ops(c->kind);
    char list[256];
    if (!ops)
        return sc_errf(err, SC_EARG, "model: unknown kind %d, expected %s", (int)c->kind,
                       kind_list(list, sizeof list, NULL, NULL));
    return sc_model_create_ops(out, ops, c, err);
}

static void dp_free(sc_model *m);

void sc_model_free(sc_model *m) {
    if (!m) return;
    dp_free(m);
    m->ops->free(m->impl);
    free(m);
}

/* ---- what it is and holds ------------------------------------------------------------- */

const sc_model_cfg *sc_model_config(const sc_model *m) { return &m->c; }
const sc_model_info *sc_model_describe(const sc_model *m) { return &m->info; }
sc_params *sc_model_params(sc_model *m) { return m->ops->params(m->impl); }
void sc_model_init_params(sc_model *m, sc_rng *r) { m->ops->init_params(m->impl, r); }

const float *sc_model_grid(const sc_model *m) { return m->ops->grid ? m->ops->grid(m->impl) : NULL; }

double sc_model_baseline_ema(const sc_model *m) {
    return m->ops->baseline_ema ? m->ops->baseline_ema(m->impl) : NAN;
}

void sc_model_set_baseline_ema(sc_model *m, double b) {
    if (m->ops->set_baseline_ema) m->ops->set_baseline_ema(m->impl, b);
}

/* ---- data-parallel copies (the default set_threads of a deterministic kind) ------------ */

static void dp_free(sc_model *m) {
    dp_state *d = m->dp;
    if (!d) return;
    sc_pool_free(d->pool);
    for (int k = 1; k < d->W; k++)
        if (d->rep[k]) m->ops->free(d->rep[k]);
    free(d->g0);
    free(d);
    m->dp = NULL;
    m->info.workers = 1;
}

/* Worker k's rows of a batch of B: [*b0, *b0 + return value). */
static int dp_rows(const dp_state *d, int k, int *b0) {
    *b0 = (int)((long)d->B * k / d->W);
    return (int)((long)d->B * (k + 1) / d->W) - *b0;
}

static void dp_run(void *arg, int k, int workers) {
    sc_model *m = arg;
    dp_state *d = m->dp;
    const sc_model_ops *ops = m->ops;
    sc_params *own = ops->params(m->impl), *ps = ops->params(d->rep[k]);
    int b0, nb = dp_rows(d, k, &b0);
    const int C = m->info.num_classes;
    d->rc[k] = SC_OK;
    switch (d->job) {
    case DP_FORWARD:
    case DP_PREDICT:
        if (nb == 0) return;
        if (k) memcpy(ps->data, own->data, sizeof(float) * own->n);
        if (d->job == DP_FORWARD) {
            if (d->st) sc_model_stats_clear(&d->part[k]);
            d->rc[k] = ops->forward(d->rep[k], d->x + (size_t)b0 * m->info.image_floats,
                                    d->labels ? d->labels + b0 : NULL, nb, d->std, NULL,
                                    d->st ? &d->part[k] : NULL);
        } else {
            d->rc[k] = ops->predict(d->rep[k], d->x + (size_t)b0 * m->info.image_floats,
                                    d->labels ? d->labels + b0 : NULL, nb, d->M, d->std, NULL,
                                    d->logp + (size_t)b0 * C, d->pred ? d->pred + b0 : NULL);
        }
        return;
    case DP_BACKWARD: {
        /* each copy's gradient alone: worker 0's into g0 (its grad pointer swapped for the run) */
        float *keep = ps->grad;
        if (k == 0) ps->grad = d->g0;
        memset(ps->grad, 0, sizeof(float) * ps->n);
        if (nb > 0) d->rc[k] = ops->backward(d->rep[k], d->labels + b0, nb, d->std);
        ps->grad = keep;
        return;
    }
    case DP_REDUCE: {
        /* own->grad += sum_j (nb_j / B) grad_j, in worker order, over this worker's slice */
        size_t lo, hi;
        sc_pool_slice(own->n, k, workers, &lo, &hi);
        for (int j = 0; j < d->W; j++) {
            int bj, nj = dp_rows(d, j, &bj);
            if (nj == 0) continue;
            const float w = (float)nj / (float)d->B;
            const float *g = j == 0 ? d->g0 : ops->params(d->rep[j])->grad;
            for (size_t i = lo; i < hi; i++) own->grad[i] += w * g[i];
        }
        return;
    }
    }
}

/* Runs job over a batch of B on every worker; the first worker's error, if any. */
static int dp_dispatch(sc_model *m, dp_job job, int B) {
    dp_state *d = m->dp;
    d->job = job;
    d->B = B;
    sc_pool_run(d->pool, dp_run, m);
    for (int k = 0; k < d->W; k++)
        if (d->rc[k] < 0) return d->rc[k];
    return SC_OK;
}

/* The statistics of the whole batch from the workers' (each a mean over its
 * rows, or NaN): means weighted by the rows, correct summed. */
static void dp_merge_stats(const dp_state *d, sc_model_stats *st) {
    sc_model_stats_clear(st);
    double *const out[] = {&st->xent, &st->reward, &st->reinforce, &st->baseline_mse, &st->adv_var,
                           &st->mu_abs, &st->mu_spread, &st->att_entropy, &st->att_max, &st->rf_grad_var};
    const size_t nout = sizeof out / sizeof out[0];
    for (size_t f = 0; f < nout; f++) {
        const size_t off = (size_t)((char *)out[f] - (char *)st);
        double s = 0.0;
        int any = 0;
        for (int k = 0; k < d->W; k++) {
            int b0, nb = dp_rows(d, k, &b0);
            const double v = *(const double *)((const char *)&d->part[k] + off);
            if (nb == 0 || isnan(v)) continue;
            s += v * nb;
            any = 1;
        }
        if (any) *out[f] = s / d->B;
    }
    for (int k = 0; k < d->W; k++) {
        int b0;
        if (dp_rows(d, k, &b0) > 0) st->correct += d->part[k].correct;
    }
}

static int dp_start(sc_model *m, int W, sc_err *err) {
    const sc_model_ops *ops = m->ops;
    if (m->info.image_floats == 0)
        return sc_errf(err, SC_EARG, "model kind %s: its create says no image size (info.image_floats), so "
                       "its batches cannot be split over %d workers", m->info.name, W);
    dp_state *d = calloc(1, sizeof *d);
    if (!d) return sc_errf(err, SC_ENOMEM, "model: out of memory for %d workers", W);
    m->dp = d;
    d->W = W;
    d->rep[0] = m->impl;
    sc_model_cfg cc = m->c;  /* the copies' configuration: their share of the batch */
    void *kc = (char *)&cc + ops->cfg_offset;
    if (ops->batch_offset) *(int *)((char *)kc + ops->batch_offset) = (m->info.max_batch + W - 1) / W;
    int rc = SC_OK;
    for (int k = 1; k < W && rc == SC_OK; k++) {
        sc_model_info ci;
        memset(&ci, 0, sizeof ci);
        rc = ops->create(&d->rep[k], kc, &ci, err);
        if (rc == SC_OK && ops->params(d->rep[k])->n != ops->params(m->impl)->n)
            rc = sc_errf(err, SC_EARG, "model kind %s: a copy for %d of %d workers has %zu parameters, the model %zu",
                         m->info.name, k, W, ops->params(d->rep[k])->n, ops->params(m->impl)->n);
    }
    if (rc == SC_OK && !(d->g0 = malloc(sizeof(float) * ops->params(m->impl)->n)))
        rc = sc_errf(err, SC_ENOMEM, "model: out of memory for worker 0's gradient");
    if (rc == SC_OK) rc = sc_pool_create(&d->pool, W, err);
    if (rc != SC_OK) {
        dp_free(m);
        return rc;
    }
    m->info.workers = W;
    return SC_OK;
}

int sc_model_set_threads(sc_model *m, int threads, sc_err *err) {
    if (m->ops->set_threads) return m->ops->set_threads(m->impl, threads, &m->info, err);
    if (threads < 1 || threads > SC_POOL_MAX)
        return sc_errf(err, SC_EARG, "model: %d threads, expected 1..%d", threads, SC_POOL_MAX);
    dp_free(m);
    if (m->info.stochastic) {  /* no copies: they would need the RNG split; OpenBLAS's threads */
        sc_blas_set_threads(threads);
        return SC_OK;
    }
    sc_blas_set_threads(1);
    return threads > 1 ? dp_start(m, threads, err) : SC_OK;
}

static int spans(const sc_model_ops *ops) { return ops->set_span != NULL; }

int sc_model_set_span(sc_model *m, const sc_span *span, sc_err *err) {
    if (m->ops->set_span) return m->ops->set_span(m->impl, span, err);
    if (!span) return SC_OK;
    char list[256];
    int n;
    kind_list(list, sizeof list, spans, &n);
    return sc_errf(err, SC_EARG, "model kind %s runs on one process (its workers are threads): only %s split%s a batch "
                   "over data-parallel workers, and so over MPI ranks", m->info.name, list, n == 1 ? "s" : "");
}

/* ---- training ------------------------------------------------------------------------- */

int sc_model_forward(sc_model *m, const float *x, const int *labels, int B, float std, sc_rng *r,
                     sc_model_stats *st) {
    sc_model_stats *out = labels ? st : NULL;
    if (out) sc_model_stats_clear(out);  /* what a failed forward leaves */
    dp_state *d = m->dp;
    if (!d) return m->ops->forward(m->impl, x, labels, B, std, r, out);
    if (B < 1 || B > m->info.max_batch) return SC_EARG;
    d->x = x, d->labels = labels, d->std = std, d->st = out;
    int rc = dp_dispatch(m, DP_FORWARD, B);
    if (rc == SC_OK && out) dp_merge_stats(d, out);
    return rc;
}

int sc_model_backward(sc_model *m, const int *labels, int B, float std) {
    dp_state *d = m->dp;
    if (!d) return m->ops->backward(m->impl, labels, B, std);
    if (B < 1 || B > m->info.max_batch || !labels) return SC_EARG;
    d->labels = labels, d->std = std;
    int rc = dp_dispatch(m, DP_BACKWARD, B);
    return rc == SC_OK ? dp_dispatch(m, DP_REDUCE, B) : rc;
}

/* ---- inference ------------------------------------------------------------------------ */

int sc_model_predict(sc_model *m, const float *x, const int *labels, int B, int M, float std, sc_rng *r,
                     float *logp_avg, int *pred) {
    if (M < 1 || B < 1 || B > m->info.max_batch || !logp_avg) return SC_EARG;
    dp_state *d = m->dp;
    if (!d) return m->ops->predict(m->impl, x, labels, B, M, std, r, logp_avg, pred);
    d->x = x, d->labels = labels, d->M = M, d->std = std, d->logp = logp_avg, d->pred = pred;
    int rc = dp_dispatch(m, DP_PREDICT, B), correct = 0;
    for (int k = 0; k < d->W && rc == SC_OK; k++) correct += d->rc[k];
    return rc == SC_OK ? correct : rc;
}

int sc_model_trace(sc_model *m, const float *x, int B, float std, sc_rng *r, float *probs, float *locations,
                   float *attention, int *pred, sc_err *err) {
    if (B < 1 || B > m->info.max_batch)
        return sc_errf(err, SC_EARG, "model trace: %d images, expected 1..%d", B, m->info.max_batch);
    return m->ops->trace(m->impl, x, B, std, r, probs, locations, attention, pred, err);
}

/* ---- shared by the kinds' trace adapters (kind.h) -------------------------------------- */

void sc_kind_probs(float *p, const float *logp, int C) {
    for (int k = 0; k < C; k++) p[k] = expf(logp[k]);
}

void sc_kind_mean_location(float *loc, const float *w, const float *grid, int L) {
    double mx = 0.0, my = 0.0;  /* sum_i w_i l_i */
    for (int i = 0; i < L; i++) {
        mx += (double)w[i] * grid[2 * i];
        my += (double)w[i] * grid[2 * i + 1];
    }
    loc[0] = (float)mx;
    loc[1] = (float)my;
}

int sc_kind_argmax(const float *v, int n) {
    int k;
    sc_argmax_rows(&k, v, NULL, 1, n);
    return k;
}

/* ---- the canvas's channels (kind.h) ------------------------------------------------------------ */

int sc_kind_channels(int channels) { return channels == 0 ? 1 : channels; }

/* ---- shared by the kinds' check operations (kind.h) ------------------------------------------ */

int sc_kind_check_channels(int channels, const char *canvas, char *msg, size_t n) {
    const int ch = sc_kind_channels(channels);
    if (ch >= 1 && ch <= SC_KIND_CHANNELS_MAX) return 0;
    snprintf(msg, n, "the canvas has channels = %d ([data] canvas = %s): expected 1..%d channels per pixel (1 grey, "
             "3 colour)", channels, canvas, SC_KIND_CHANNELS_MAX);
    return -1;
}

int sc_kind_check_sensor(int g, int k, int side, const char *canvas, char *msg, size_t n) {
    /* k is range-checked on its own later: clamp the shift to keep it defined on any input */
    int shift = k < 1 ? 0 : k > 8 ? 7 : k - 1;
    long long patch = (long long)g * (1LL << shift);
    if (patch <= 4LL * side) return 0;
    snprintf(msg, n, "[model] glimpse_size = %d with scales = %d gives a %lld-pixel patch, more than 4 x the %d-pixel "
             "canvas ([data] canvas = %s): expected glimpse_size * 2^(scales-1) <= %d", g, k, patch, side, canvas,
             4 * side);
    return -1;
}
