/* model.c - the model interface (model.h) over the model table (kind.h): a
 * model is a row of operations, the kind's own model behind it, and the
 * configuration and description it was built with. Every sc_model_* call
 * goes through m->ops; nothing here names a kind.
 *
 * What it adds beyond forwarding: the table and name lookup, the argument
 * checks every kind shares (batch sizes, M, the output buffer), statistics
 * that are NaN when a forward fails, and the defaults for the operations a
 * row leaves NULL (kind.h's rule: no grid, OpenBLAS threads, no baseline, one
 * process). Also the small helpers the kinds' trace adapters share.
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

struct sc_model {
    const sc_model_ops *ops;
    void *impl;  /* the kind's own model, owned */
    sc_model_cfg c;
    sc_model_info info;
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

void sc_model_free(sc_model *m) {
    if (!m) return;
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

int sc_model_set_threads(sc_model *m, int threads, sc_err *err) {
    if (m->ops->set_threads) return m->ops->set_threads(m->impl, threads, &m->info, err);
    /* the default: the caller's thread, OpenBLAS's threads */
    if (threads < 1) return sc_errf(err, SC_EARG, "model: %d threads, expected at least 1", threads);
    sc_blas_set_threads(threads);
    return SC_OK;
}

static int spans(const sc_model_ops *ops) { return ops->set_span != NULL; }

int sc_model_set_span(sc_model *m, const sc_span *span, sc_err *err) {
    if (m->ops->set_span) return m->ops->set_span(m->impl, span, err);
    if (!span) return SC_OK;
    char list[256];
    int n;
    kind_list(list, sizeof list, spans, &n);
    return sc_errf(err, SC_EARG, "model kind %s runs on one process (OpenBLAS threads): only %s split%s a batch "
                   "over data-parallel workers, and so over MPI ranks", m->info.name, list, n == 1 ? "s" : "");
}

/* ---- training ------------------------------------------------------------------------- */

int sc_model_forward(sc_model *m, const float *x, const int *labels, int B, float std, sc_rng *r,
                     sc_model_stats *st) {
    sc_model_stats *out = labels ? st : NULL;
    if (out) sc_model_stats_clear(out);  /* what a failed forward leaves */
    return m->ops->forward(m->impl, x, labels, B, std, r, out);
}

int sc_model_backward(sc_model *m, const int *labels, int B, float std) {
    return m->ops->backward(m->impl, labels, B, std);
}

/* ---- inference ------------------------------------------------------------------------ */

int sc_model_predict(sc_model *m, const float *x, const int *labels, int B, int M, float std, sc_rng *r,
                     float *logp_avg, int *pred) {
    if (M < 1 || B < 1 || B > m->info.max_batch || !logp_avg) return SC_EARG;
    return m->ops->predict(m->impl, x, labels, B, M, std, r, logp_avg, pred);
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
