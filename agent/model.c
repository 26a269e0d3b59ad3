/* model.c - the model interface (model.h): a kind tag and a pointer to the
 * RAM, the soft-attention model, the FC baseline or the patch transformer,
 * and one switch per call.
 *
 * What it adds beyond forwarding: the union of the models' statistics (NaN
 * where a model has no such term), M-sample inference for the deterministic
 * models (one pass), the thread policy of each kind, and sc_model_trace, the
 * per-step outputs of the run log's glimpse records in one layout for all.
 */
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nets/blas.h"
#include "nets/layers.h"

#define TRACE_PROBE_BATCH 16  /* images per pass of the soft model's per-step probe */

struct sc_model {
    sc_model_cfg c;
    sc_model_info info;
    sc_ram *ram;
    sc_soft *soft;
    sc_fc *fc;
    sc_sa *sa;
    float *sa_att;  /* (H, L) one example's logged attention, for sc_model_trace */
};

const char *sc_model_kind_name(sc_model_kind k) {
    switch (k) {
    case SC_MODEL_RAM: return "ram";
    case SC_MODEL_SOFT: return "soft";
    case SC_MODEL_FC: return "fc";
    case SC_MODEL_SELFATTN: return "selfattn";
    }
    return NULL;
}

int sc_model_kind_parse(const char *name, sc_model_kind *k, sc_err *err) {
    for (int i = SC_MODEL_RAM; i <= SC_MODEL_SELFATTN; i++)
        if (!strcmp(name, sc_model_kind_name((sc_model_kind)i))) {
            *k = (sc_model_kind)i;
            return SC_OK;
        }
    return sc_errf(err, SC_EARG, "model kind '%s': expected ram, soft, fc or selfattn", name);
}

sc_cost sc_model_cost(const sc_model_cfg *c) {
    switch (c->kind) {
    case SC_MODEL_RAM: return sc_cost_ram(&c->ram);
    case SC_MODEL_SOFT: return sc_cost_soft(&c->soft);
    case SC_MODEL_FC: return sc_cost_fc(&c->fc);
    case SC_MODEL_SELFATTN: return sc_cost_selfattn(&c->selfattn);
    }
    sc_cost none;
    memset(&none, 0, sizeof none);
    return none;
}

int sc_model_create(sc_model **out, const sc_model_cfg *c, sc_err *err) {
    *out = NULL;
    sc_model *m = calloc(1, sizeof *m);
    if (!m) return sc_errf(err, SC_ENOMEM, "model: out of memory");
    m->c = *c;
    sc_model_info *in = &m->info;
    in->kind = c->kind;
    in->name = sc_model_kind_name(c->kind);
    in->workers = 1;
    int rc;
    switch (c->kind) {
    case SC_MODEL_RAM:
        rc = sc_ram_create(&m->ram, &c->ram, err);
        in->num_classes = c->ram.num_classes;
        in->max_batch = c->ram.max_batch;
        in->steps = c->ram.glimpses;
        in->stochastic = 1;
        in->reinforce = c->ram.reinforce;
        in->trajectories = 1;
        break;
    case SC_MODEL_SOFT:
        rc = sc_soft_create(&m->soft, &c->soft, err);
        in->num_classes = c->soft.num_classes;
        in->max_batch = c->soft.max_batch;
        in->steps = c->soft.glimpses;
        in->trajectories = 1;
        in->locations = c->soft.grid * c->soft.grid;
        break;
    case SC_MODEL_FC:
        rc = sc_fc_create(&m->fc, &c->fc, err);
        in->num_classes = c->fc.num_classes;
        in->max_batch = c->fc.max_batch;
        in->steps = 1;
        break;
    case SC_MODEL_SELFATTN:
        rc = sc_sa_create(&m->sa, &c->selfattn, err);
        in->num_classes = c->selfattn.num_classes;
        in->max_batch = c->selfattn.max_batch;
        in->steps = c->selfattn.heads;
        in->trajectories = 1;
        in->locations = sc_sa_tokens(&c->selfattn);
        if (rc == SC_OK) {
            m->sa_att = malloc(sizeof(float) * (size_t)in->steps * in->locations);
            if (!m->sa_att) rc = sc_errf(err, SC_ENOMEM, "model: out of memory");
        }
        break;
    default:
        rc = sc_errf(err, SC_EARG, "model: unknown kind %d, expected ram, soft, fc or selfattn", (int)c->kind);
    }
    if (rc != SC_OK) {
        sc_model_free(m);
        return rc;
    }
    *out = m;
    return SC_OK;
}

void sc_model_free(sc_model *m) {
    if (!m) return;
    sc_ram_free(m->ram);
    sc_soft_free(m->soft);
    sc_fc_free(m->fc);
    sc_sa_free(m->sa);
    free(m->sa_att);
    free(m);
}

const sc_model_cfg *sc_model_config(const sc_model *m) { return &m->c; }
const sc_model_info *sc_model_describe(const sc_model *m) { return &m->info; }

sc_params *sc_model_params(sc_model *m) {
    switch (m->c.kind) {
    case SC_MODEL_RAM: return sc_ram_params(m->ram);
    case SC_MODEL_SOFT: return sc_soft_params(m->soft);
    case SC_MODEL_FC: return sc_fc_params(m->fc);
    case SC_MODEL_SELFATTN: return sc_sa_params(m->sa);
    }
    return NULL;
}

void sc_model_init_params(sc_model *m, sc_rng *r) {
    switch (m->c.kind) {
    case SC_MODEL_RAM: sc_ram_init_params(m->ram, r); break;
    case SC_MODEL_SOFT: sc_soft_init_params(m->soft, r); break;
    case SC_MODEL_FC: sc_fc_init_params(m->fc, r); break;
    case SC_MODEL_SELFATTN: sc_sa_init_params(m->sa, r); break;
    }
}

const float *sc_model_grid(const sc_model *m) {
    if (m->soft) return sc_soft_grid(m->soft);
    return m->sa ? sc_sa_grid(m->sa) : NULL;
}

double sc_model_baseline_ema(const sc_model *m) { return m->ram ? sc_ram_baseline_ema(m->ram) : NAN; }

void sc_model_set_baseline_ema(sc_model *m, double b) {
    if (m->ram) sc_ram_set_baseline_ema(m->ram, b);
}

int sc_model_set_threads(sc_model *m, int threads, sc_err *err) {
    if (m->c.kind == SC_MODEL_RAM) {
        /* data-parallel workers, each calling OpenBLAS from its own thread */
        if (threads < 1 || threads > 64)
            return sc_errf(err, SC_EARG, "ram: %d threads, expected 1..64 data-parallel workers", threads);
        int rc = sc_ram_set_workers(m->ram, threads, err);
        m->info.workers = sc_ram_workers(m->ram);
        sc_blas_set_threads(1);
        return rc;
    }
    if (threads < 1) return sc_errf(err, SC_EARG, "model: %d threads, expected at least 1", threads);
    sc_blas_set_threads(threads);
    return SC_OK;
}

/* ---- training ---------------------------------------------------------------------- */

static void stats_none(sc_model_stats *st) {
    st->xent = st->reward = NAN;
    st->correct = 0;
    st->reinforce = st->baseline_mse = st->adv_var = st->mu_abs = st->mu_spread = NAN;
    st->att_entropy = st->att_max = NAN;
}

int sc_model_forward(sc_model *m, const float *x, const int *labels, int B, float std, sc_rng *r,
                     sc_model_stats *st) {
    int rc = SC_EARG;
    sc_model_stats *out = labels ? st : NULL;
    if (out) stats_none(out);
    switch (m->c.kind) {
    case SC_MODEL_RAM: {
        sc_ram_stats s;
        rc = sc_ram_forward(m->ram, x, labels, B, std, r, NULL, out ? &s : NULL);
        if (rc == SC_OK && out) {
            out->xent = s.xent;
            out->reward = s.reward;
            out->correct = s.correct;
            out->reinforce = s.reinforce;
            out->baseline_mse = s.baseline_mse;
            out->adv_var = s.adv_var;
            out->mu_abs = s.mu_abs;
            out->mu_spread = s.mu_spread;
        }
        break;
    }
    case SC_MODEL_SOFT: {
        sc_soft_stats s;
        rc = sc_soft_forward(m->soft, x, labels, B, out ? &s : NULL);
        if (rc == SC_OK && out) {
            out->xent = s.xent;
            out->reward = s.reward;
            out->correct = s.correct;
            out->att_entropy = s.att_entropy;
            out->att_max = s.att_max;
        }
        break;
    }
    case SC_MODEL_FC: {
        sc_fc_stats s;
        rc = sc_fc_forward(m->fc, x, labels, B, out ? &s : NULL);
        if (rc == SC_OK && out) {
            out->xent = s.xent;
            out->reward = s.reward;
            out->correct = s.correct;
        }
        break;
    }
    case SC_MODEL_SELFATTN: {
        sc_sa_stats s;
        rc = sc_sa_forward(m->sa, x, labels, B, out ? &s : NULL);
        if (rc == SC_OK && out) {
            out->xent = s.xent;
            out->reward = s.reward;
            out->correct = s.correct;
            out->att_entropy = s.att_entropy;
            out->att_max = s.att_max;
        }
        break;
    }
    }
    return rc;
}

int sc_model_backward(sc_model *m, const int *labels, int B, float std) {
    switch (m->c.kind) {
    case SC_MODEL_RAM: return sc_ram_backward(m->ram, labels, B, std);
    case SC_MODEL_SOFT: sc_soft_backward(m->soft, labels, B); break;
    case SC_MODEL_FC: sc_fc_backward(m->fc, labels, B); break;
    case SC_MODEL_SELFATTN: sc_sa_backward(m->sa, labels, B); break;
    }
    return SC_OK;
}

int sc_model_set_span(sc_model *m, const sc_span *span, sc_err *err) {
    if (m->c.kind == SC_MODEL_RAM) return sc_ram_set_span(m->ram, span, err);
    if (!span) return SC_OK;
    return sc_errf(err, SC_EARG, "model kind %s runs on one process (OpenBLAS threads): only ram splits a batch "
                   "over data-parallel workers, and so over MPI ranks", m->info.name);
}

/* ---- inference ---------------------------------------------------------------------- */

static int argmax(const float *v, int n) {
    int k;
    sc_argmax_rows(&k, v, NULL, 1, n);
    return k;
}

int sc_model_predict(sc_model *m, const float *x, const int *labels, int B, int M, float std, sc_rng *r,
                     float *logp_avg, int *pred) {
    if (M < 1 || B < 1 || B > m->info.max_batch || !logp_avg) return SC_EARG;
    if (m->c.kind == SC_MODEL_RAM) return sc_ram_predict(m->ram, x, labels, B, M, std, r, logp_avg, pred);
    if (m->c.kind == SC_MODEL_SOFT) return sc_soft_predict(m->soft, x, labels, B, logp_avg, pred);
    if (m->c.kind == SC_MODEL_SELFATTN) return sc_sa_predict(m->sa, x, labels, B, logp_avg, pred);
    return sc_fc_predict(m->fc, x, labels, B, logp_avg, pred);
}

/* ---- trajectories for the run log ------------------------------------------------------ */

static void probs_from_logp(float *p, const float *lp, int C) {
    for (int k = 0; k < C; k++) p[k] = expf(lp[k]);
}

static int trace_ram(sc_model *m, const float *x, int B, float std, sc_rng *r, float *probs, float *loc,
                     int *pred) {
    const int T = m->info.steps, C = m->info.num_classes, NB = m->c.ram.max_batch;
    sc_ram_step_probs_enable(m->ram, 1);
    int rc = sc_ram_forward(m->ram, x, NULL, B, std, r, NULL, NULL);
    sc_ram_step_probs_enable(m->ram, 0);
    if (rc != SC_OK) return rc;
    const float *l = sc_ram_locations(m->ram), *slp = sc_ram_step_logp(m->ram);
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const size_t tb = (size_t)t * NB + b, bt = (size_t)b * T + t;
            if (loc) {
                loc[bt * 2 + 0] = l[tb * 2 + 0];
                loc[bt * 2 + 1] = l[tb * 2 + 1];
            }
            if (probs) probs_from_logp(probs + bt * C, slp + tb * C, C);
        }
        if (pred) pred[b] = argmax(slp + ((size_t)(T - 1) * NB + b) * C, C);
    }
    return SC_OK;
}

/* Step t < T-1 of the soft model: a copy that stops after t+1 steps (its
 * parameters do not depend on T), in passes of at most TRACE_PROBE_BATCH images. */
static int trace_soft_steps(sc_model *m, const float *x, int B, float *probs, sc_err *err) {
    const int T = m->info.steps, C = m->info.num_classes;
    const size_t HW = (size_t)m->c.soft.img_h * m->c.soft.img_w;
    const sc_params *ps = sc_soft_params(m->soft);
    for (int t = 0; t < T - 1; t++) {
        sc_soft_cfg pc = m->c.soft;
        pc.glimpses = t + 1;
        pc.max_batch = B < TRACE_PROBE_BATCH ? B : TRACE_PROBE_BATCH;
        sc_soft *probe = NULL;
        int rc = sc_soft_create(&probe, &pc, err);
        if (rc != SC_OK) return rc;
        sc_params *pp = sc_soft_params(probe);
        if (pp->n != ps->n) {
            sc_soft_free(probe);
            return sc_errf(err, SC_EARG, "soft trace: a %d-step copy has %zu parameters, the model %zu", t + 1,
                           pp->n, ps->n);
        }
        memcpy(pp->data, ps->data, sizeof(float) * ps->n);
        for (int b0 = 0; b0 < B; b0 += pc.max_batch) {
            int n = B - b0 < pc.max_batch ? B - b0 : pc.max_batch;
            rc = sc_soft_forward(probe, x + (size_t)b0 * HW, NULL, n, NULL);
            if (rc != SC_OK) {
                sc_soft_free(probe);
                return sc_errf(err, rc, "soft trace: forward pass of the %d-step copy failed", t + 1);
            }
            const float *lp = sc_soft_logp(probe);
            for (int b = 0; b < n; b++)
                probs_from_logp(probs + ((size_t)(b0 + b) * T + t) * C, lp + (size_t)b * C, C);
        }
        sc_soft_free(probe);
    }
    return SC_OK;
}

static int trace_soft(sc_model *m, const float *x, int B, float *probs, float *loc, float *att, int *pred,
                      sc_err *err) {
    const int T = m->info.steps, C = m->info.num_classes, L = m->info.locations;
    const int NB = m->c.soft.max_batch;
    int rc = sc_soft_forward(m->soft, x, NULL, B, NULL);
    if (rc != SC_OK) return sc_errf(err, rc, "soft trace: forward pass of %d images failed", B);
    const float *p = sc_soft_attention(m->soft), *grid = sc_soft_grid(m->soft), *lp = sc_soft_logp(m->soft);
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const float *pt = p + ((size_t)t * NB + b) * L;
            const size_t bt = (size_t)b * T + t;
            if (att) memcpy(att + bt * L, pt, sizeof(float) * L);
            if (loc) {
                /* the attention-weighted mean location sum_i p_i l_i */
                double mx = 0.0, my = 0.0;
                for (int i = 0; i < L; i++) {
                    mx += (double)pt[i] * grid[2 * i];
                    my += (double)pt[i] * grid[2 * i + 1];
                }
                loc[bt * 2 + 0] = (float)mx;
                loc[bt * 2 + 1] = (float)my;
            }
        }
        if (probs) probs_from_logp(probs + ((size_t)b * T + T - 1) * C, lp + (size_t)b * C, C);
        if (pred) pred[b] = argmax(lp + (size_t)b * C, C);
    }
    return probs && T > 1 ? trace_soft_steps(m, x, B, probs, err) : SC_OK;
}

/* selfattn: the heads as steps. Per head h, the logged attention over the L
 * patches, its weighted mean patch centre, and the final probabilities. */
static int trace_selfattn(sc_model *m, const float *x, int B, float *probs, float *loc, float *att, int *pred,
                          sc_err *err) {
    const int T = m->info.steps, C = m->info.num_classes, L = m->info.locations;
    int rc = sc_sa_forward(m->sa, x, NULL, B, NULL);
    if (rc != SC_OK) return sc_errf(err, rc, "selfattn trace: forward pass of %d images failed", B);
    const float *grid = sc_sa_grid(m->sa), *lp = sc_sa_logp(m->sa);
    for (int b = 0; b < B; b++) {
        sc_sa_logged_attention(m->sa, b, m->sa_att);
        for (int t = 0; t < T; t++) {
            const float *pt = m->sa_att + (size_t)t * L;
            const size_t bt = (size_t)b * T + t;
            if (att) memcpy(att + bt * L, pt, sizeof(float) * L);
            if (loc) {
                double mx = 0.0, my = 0.0;
                for (int i = 0; i < L; i++) {
                    mx += (double)pt[i] * grid[2 * i];
                    my += (double)pt[i] * grid[2 * i + 1];
                }
                loc[bt * 2 + 0] = (float)mx;
                loc[bt * 2 + 1] = (float)my;
            }
            if (probs) probs_from_logp(probs + bt * C, lp + (size_t)b * C, C);
        }
        if (pred) pred[b] = argmax(lp + (size_t)b * C, C);
    }
    return SC_OK;
}

int sc_model_trace(sc_model *m, const float *x, int B, float std, sc_rng *r, float *probs, float *locations,
                   float *attention, int *pred, sc_err *err) {
    if (B < 1 || B > m->info.max_batch)
        return sc_errf(err, SC_EARG, "model trace: %d images, expected 1..%d", B, m->info.max_batch);
    const int C = m->info.num_classes;
    switch (m->c.kind) {
    case SC_MODEL_RAM: {
        int rc = trace_ram(m, x, B, std, r, probs, locations, pred);
        return rc == SC_OK ? rc : sc_errf(err, rc, "ram trace: forward pass of %d images failed", B);
    }
    case SC_MODEL_SOFT: return trace_soft(m, x, B, probs, locations, attention, pred, err);
    case SC_MODEL_SELFATTN: return trace_selfattn(m, x, B, probs, locations, attention, pred, err);
    case SC_MODEL_FC: {
        int rc = sc_fc_forward(m->fc, x, NULL, B, NULL);
        if (rc != SC_OK) return sc_errf(err, rc, "fc trace: forward pass of %d images failed", B);
        const float *lp = sc_fc_logp(m->fc);
        for (int b = 0; b < B; b++) {
            if (probs) probs_from_logp(probs + (size_t)b * C, lp + (size_t)b * C, C);
            if (locations) locations[2 * b] = locations[2 * b + 1] = 0.0f;
            if (pred) pred[b] = argmax(lp + (size_t)b * C, C);
        }
        return SC_OK;
    }
    }
    return sc_errf(err, SC_EARG, "model: unknown kind %d", (int)m->c.kind);
}
