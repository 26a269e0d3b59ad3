/* soft.c - soft attention over a grid of glimpse locations: forward, backward,
 * inference. The equations are in soft.h; dimension letters: B batch, T steps,
 * L = grid^2 locations, G = k g g ch retina values (ch canvas channels),
 * HG/HL glimpse/location hidden, HC = HG + HL, GO glimpse output (= width of
 * g_i, q_t and z_t), A additive score width, QW query width (GO for dot
 * scores, A for additive), H core, C classes.
 *
 * Per-image activations are (B, L, *): location i of example b is row
 * b * L + i, so the glimpse network runs as one linear layer over B * L rows.
 * Per-step activations are (T, NB, *) as in the RAM. The attention layers
 * (scores, softmax over locations, weighted sum) work on one example at a
 * time, as 16-lane loops over the rows of its (L, GO) features: few FLOPs
 * (O(L GO) per example and step beside the glimpse network's O(L G HG) per
 * example) but each step streams every image's features from memory, so the
 * backward reads them only twice per step (dp = G dz, then dq = G^T de) and
 * leaves dL/dg, the sum over steps of p_t dz_t^T + s de_t q_t^T, to one
 * (L, T) x (T, GO) product per image after the last step.
 *
 * At the end: the soft model's row of the model table (agent/kind.h,
 * sc_soft_ops), with its trace layout (the step-t probabilities of a
 * temporary (t+1)-step copy).
 *
 * Not here: sampling, REINFORCE, threads (callers split batches), the trainer.
 */
#include <cblas.h> /* first: openblas_config.h needs _GNU_SOURCE before any libc header */

#include "soft.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/retina.h"
#include "kind.h"
#include "nets/attn.h"
#include "nets/layers.h"
#include "nets/vecmath.h"

struct sc_soft {
    sc_soft_cfg c;
    sc_params ps;
    int L, G, HC, A, QW, NB;  /* locations, retina size, concat width, score width, query width, max batch */
    float scale;              /* 1 / sqrt(GO), dot scores */
    /* parameter indices (-1: absent for this score kind) */
    int iWg, ibg, iWl, ibl, iWa, iba, iWq, ibq, iWp, ibp, iWh, iv, iWx, iWr, ibr, iCw, iCb;
    float *act;
    /* per image, (NB, L, *) */
    float *rho, *cat, *g, *pg;
    /* per location, (L, *) */
    float *grid, *hl;
    /* per step, (T, NB, *) */
    float *q, *p, *z, *h, *cc, *gates;
    float *hzero;             /* (NB, H) zeros: h_{-1} for the queries */
    float *logits, *logp;     /* (NB, C) */
    /* scratch. wide_a (NB L max(GO, HG)) holds hg in forward, dL/dg then dL/dhg in
     * backward; wide_b (NB L max(A, HC)) holds dL/dpg then dL/dcat in backward. */
    float *wide_a, *wide_b;
    float *u, *e, *dp;        /* one example: (L, A), (L), (L) */
    float *dh, *dhprev, *dc, *dcprev, *dq, *dhl, *dlogits, *core_scratch;
    /* per step, kept for the deferred dL/dg (soft_dG): dz (T, NB, GO) = dL/dz_t;
     * sde (T, NB, L) = dL/de_t (dot scores: times the scale) */
    float *dz, *sde;
    int *pred;
    int last_B;
};

/* ---- attention layers, one example --------------------------------------------
 * Gm (L, D): the location features g_i, one row each. */

/* sum_k a[k] b[k]: four 16-lane partial sums, then the tail, in a fixed order
 * (the same n gives the same bits). */
static float dotv(const float *a, const float *b, int n) {
    vf16 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    int k = 0;
    for (; k + 64 <= n; k += 64) {
        s0 += ld16(a + k) * ld16(b + k);
        s1 += ld16(a + k + 16) * ld16(b + k + 16);
        s2 += ld16(a + k + 32) * ld16(b + k + 32);
        s3 += ld16(a + k + 48) * ld16(b + k + 48);
    }
    for (; k + 16 <= n; k += 16) s0 += ld16(a + k) * ld16(b + k);
    float acc = hsum16((s0 + s1) + (s2 + s3));
    for (; k < n; k++) acc += a[k] * b[k];
    return acc;
}

/* y[0..n) += w x */
static void axpyv(float *y, float w, const float *x, int n) {
    const vf16 vw = splat16(w);
    int k = 0;
    for (; k + 16 <= n; k += 16) st16(y + k, ld16(y + k) + vw * ld16(x + k));
    for (; k < n; k++) y[k] += w * x[k];
}

/* din[0..n) = out > 0 ? dout : 0 (written; din may equal dout): ReLU's backward */
static void relu_grad(float *din, const float *dout, const float *out, size_t n) {
    size_t k = 0;
    for (; k + 16 <= n; k += 16) st16(din + k, keep_pos(ld16(dout + k), ld16(out + k)));
    for (; k < n; k++) din[k] = out[k] > 0.0f ? dout[k] : 0.0f;
}

/* e (L) = s Gm q:  e_i = s q . g_i,  q (D). */
static void score_dot_forward(float *e, const float *Gm, const float *q, float s, int L, int D) {
    for (int i = 0; i < L; i++) e[i] = s * dotv(q, Gm + (size_t)i * D, D);
}

/* e_i = s q . g_i  =>  dq += sum_i sde_i g_i with sde_i = s de_i (the caller's);
 * dG_i += sde_i q is left to the caller (deferred over the steps, soft_dG). */
static void score_dot_backward_q(float *dq, const float *sde, const float *Gm, int L, int D) {
    for (int i = 0; i < L; i++) axpyv(dq, sde[i], Gm + (size_t)i * D, D);
}

/* u (L, A) = tanh(PG + hq) (hq (A) added to every row),  e (L) = u v. */
static void score_additive_forward(float *e, float *u, const float *PG, const float *hq, const float *v,
                                   int L, int A) {
    for (int i = 0; i < L; i++) {
        const float *pgi = PG + (size_t)i * A;
        float *ui = u + (size_t)i * A;
        float acc = 0.0f;
        for (int k = 0; k < A; k++) {
            ui[k] = tanhf(pgi[k] + hq[k]);
            acc += v[k] * ui[k];
        }
        e[i] = acc;
    }
}

/* e_i = v . u_i, u_i = tanh(pg_i + hq)  =>  dv += sum_i de_i u_i;
 * da_i = de_i v (1 - u_i^2);  dPG_i += da_i;  dhq += sum_i da_i. */
static void score_additive_backward(float *dPG, float *dhq, float *dv, const float *de, const float *u,
                                    const float *v, int L, int A) {
    for (int i = 0; i < L; i++) {
        const float *ui = u + (size_t)i * A;
        float *dpgi = dPG + (size_t)i * A;
        for (int k = 0; k < A; k++) {
            dv[k] += de[i] * ui[k];
            float da = de[i] * v[k] * (1.0f - ui[k] * ui[k]);
            dpgi[k] += da;
            dhq[k] += da;
        }
    }
}

/* p (L) = softmax(e) (p may equal e), stable: exp(e_i - max e) / sum. */
static void softmax_forward(float *p, const float *e, int L) {
    float mx = e[0];
    for (int i = 1; i < L; i++) mx = e[i] > mx ? e[i] : mx;
    double s = 0.0;
    for (int i = 0; i < L; i++) {
        p[i] = expf(e[i] - mx);
        s += p[i];
    }
    const float inv = (float)(1.0 / s);
    for (int i = 0; i < L; i++) p[i] *= inv;
}

/* p = softmax(e)  =>  de_i += p_i (dp_i - sum_j p_j dp_j). */
static void softmax_backward(float *de, const float *dp, const float *p, int L) {
    float dot = 0.0f;
    for (int j = 0; j < L; j++) dot += p[j] * dp[j];
    for (int i = 0; i < L; i++) de[i] += p[i] * (dp[i] - dot);
}

/* z (D) = sum_i p_i g_i. */
static void pool_forward(float *z, const float *p, const float *Gm, int L, int D) {
    memset(z, 0, sizeof(float) * D);
    for (int i = 0; i < L; i++) axpyv(z, p[i], Gm + (size_t)i * D, D);
}

/* z = sum_i p_i g_i  =>  dp_i = dz . g_i (written, not added);  dG_i += p_i dz
 * is left to the caller (deferred over the steps, soft_dG). */
static void pool_backward_p(float *dp, const float *dz, const float *Gm, int L, int D) {
    for (int i = 0; i < L; i++) dp[i] = dotv(dz, Gm + (size_t)i * D, D);
}

/* ---- parameters ------------------------------------------------------------------ */

static int add(sc_soft *m, const char *name, int rows, int cols, int fan_in, int *idx, sc_err *err) {
    int i = sc_params_add(&m->ps, name, rows, cols, err);
    if (i < 0) return i;
    *idx = i;
    return sc_params_set_fan_in(&m->ps, i, fan_in, err);
}

static int declare_params(sc_soft *m, sc_err *err) {
    const sc_soft_cfg *c = &m->c;
    const int gates = c->core == SC_CORE_LSTM ? 4 * c->hidden : c->hidden;
    const int GO = c->glimpse_out, H = c->hidden;
    int rc;
    sc_params_init(&m->ps);
    m->iWq = m->ibq = m->iWp = m->ibp = m->iWh = m->iv = -1;
#define ADD(name, r, k, fan, ix) if ((rc = add(m, name, r, k, fan, &m->ix, err)) != SC_OK) return rc
    ADD("glimpse.Wg", c->glimpse_hidden, m->G, m->G, iWg);
    ADD("glimpse.bg", 1, c->glimpse_hidden, m->G, ibg);
    ADD("glimpse.Wl", c->loc_hidden, 2, 2, iWl);
    ADD("glimpse.bl", 1, c->loc_hidden, 2, ibl);
    ADD("glimpse.Wa", GO, m->HC, m->HC, iWa);
    ADD("glimpse.ba", 1, GO, m->HC, iba);
    if (c->score == SC_SCORE_DOT) {
        ADD("att.Wq", GO, H, H, iWq);
        ADD("att.bq", 1, GO, H, ibq);
    } else {
        ADD("att.Wp", m->A, GO, GO, iWp);
        ADD("att.bp", 1, m->A, GO, ibp);
        ADD("att.Wh", m->A, H, H, iWh);
        ADD("att.v", 1, m->A, m->A, iv);
    }
    ADD("core.Wx", gates, GO, GO, iWx);
    ADD("core.Wh", gates, H, H, iWr);
    ADD("core.b", 1, gates, H, ibr);
    ADD("action.W", c->num_classes, H, H, iCw);
    ADD("action.b", 1, c->num_classes, H, iCb);
#undef ADD
    return sc_params_alloc(&m->ps, err);
}

#define P(ix) sc_params_data(&m->ps, m->ix)
#define D(ix) sc_params_grad(&m->ps, m->ix)

void sc_soft_init_params(sc_soft *m, sc_rng *r) {
    sc_params_init_linear(&m->ps, r);  /* fan-ins recorded by add() */
}

/* ---- creation ---------------------------------------------------------------------- */

void sc_soft_cfg_defaults(sc_soft_cfg *c) {
    memset(c, 0, sizeof *c);
    c->img_h = c->img_w = 28;
    c->num_classes = 10;
    c->glimpses = 6;
    c->grid = 7;
    c->glimpse_size = 8;
    c->scales = 1;
    c->glimpse_hidden = 128;
    c->loc_hidden = 128;
    c->glimpse_out = 256;
    c->score = SC_SCORE_DOT;
    c->att_hidden = 128;
    c->core = SC_CORE_RNN;
    c->hidden = 256;
    c->max_batch = 128;
    c->channels = 1;
}

void sc_soft_grid_fill(float *loc, int grid) {
    for (int j = 0; j < grid; j++)
        for (int i = 0; i < grid; i++) {
            float *l = loc + 2 * ((size_t)j * grid + i);
            l[0] = (float)(2 * i + 1) / (float)grid - 1.0f;  /* x_i = (2i + 1) / grid - 1 */
            l[1] = (float)(2 * j + 1) / (float)grid - 1.0f;  /* y_j = (2j + 1) / grid - 1 */
        }
}

static size_t zmax(size_t a, size_t b) { return a > b ? a : b; }

static int check_cfg(const sc_soft_cfg *c, sc_err *err) {
#define NEED(cond, ...) if (!(cond)) return sc_errf(err, SC_EARG, "soft: invalid configuration: " __VA_ARGS__)
    NEED(c->img_h >= 1 && c->img_w >= 1, "img_h x img_w = %d x %d, expected positive sizes", c->img_h,
         c->img_w);
    NEED(c->num_classes >= 2, "num_classes = %d, expected >= 2", c->num_classes);
    NEED(c->glimpses >= 1, "glimpses = %d, expected >= 1 attention steps", c->glimpses);
    NEED(c->grid >= 1 && c->grid <= SC_SOFT_GRID_MAX, "grid = %d, expected 1..%d locations per side",
         c->grid, SC_SOFT_GRID_MAX);
    NEED(c->glimpse_size >= 1, "glimpse_size = %d, expected >= 1", c->glimpse_size);
    NEED(c->scales >= 1 && c->scales <= 16, "scales = %d, expected 1..16", c->scales);
    const int ch = sc_kind_channels(c->channels);
    NEED(ch >= 1 && ch <= SC_KIND_CHANNELS_MAX, "channels = %d, expected 1..%d (0 reads as 1)", c->channels,
         SC_KIND_CHANNELS_MAX);
    NEED(c->glimpse_hidden >= 1, "glimpse_hidden = %d, expected >= 1", c->glimpse_hidden);
    NEED(c->loc_hidden >= 1, "loc_hidden = %d, expected >= 1", c->loc_hidden);
    NEED(c->glimpse_out >= 1, "glimpse_out = %d, expected >= 1", c->glimpse_out);
    NEED(c->hidden >= 1, "hidden = %d, expected >= 1", c->hidden);
    NEED(c->score == SC_SCORE_DOT || c->score == SC_SCORE_ADDITIVE,
         "score = %d, expected SC_SCORE_DOT (0) or SC_SCORE_ADDITIVE (1)", (int)c->score);
    NEED(c->score != SC_SCORE_ADDITIVE || c->att_hidden >= 1,
         "att_hidden = %d, expected >= 1 for additive scores", c->att_hidden);
    NEED(c->core == SC_CORE_RNN || c->core == SC_CORE_LSTM,
         "core = %d, expected SC_CORE_RNN (0) or SC_CORE_LSTM (1)", (int)c->core);
    NEED(c->max_batch >= 1, "max_batch = %d, expected >= 1", c->max_batch);
    /* every B * L * width product is passed to the layers as an int */
    const size_t L = (size_t)c->grid * c->grid;
    const size_t G = (size_t)c->scales * c->glimpse_size * c->glimpse_size * ch;
    size_t w = zmax(zmax(G, (size_t)c->glimpse_hidden + c->loc_hidden), (size_t)c->glimpse_out);
    if (c->score == SC_SCORE_ADDITIVE) w = zmax(w, (size_t)c->att_hidden);
    w = zmax(w, 4 * (size_t)c->hidden);
    NEED(G <= INT_MAX / 4 && w <= INT_MAX / 4 && (size_t)c->max_batch * L * w <= INT_MAX,
         "max_batch %d x %zu locations x width %zu = %.3g floats per buffer, expected at most 2^31 - 1; "
         "lower max_batch, grid or the layer widths", c->max_batch, L, w,
         (double)c->max_batch * (double)L * (double)w);
#undef NEED
    return SC_OK;
}

int sc_soft_create(sc_soft **out, const sc_soft_cfg *cfg, sc_err *err) {
    *out = NULL;
    int rc = check_cfg(cfg, err);
    if (rc != SC_OK) return rc;
    sc_soft *m = calloc(1, sizeof *m);
    if (!m) return sc_errf(err, SC_ENOMEM, "soft: out of memory allocating the model");
    m->c = *cfg;
    m->L = cfg->grid * cfg->grid;
    m->G = cfg->scales * cfg->glimpse_size * cfg->glimpse_size * sc_kind_channels(cfg->channels);
    m->HC = cfg->glimpse_hidden + cfg->loc_hidden;
    m->A = cfg->score == SC_SCORE_ADDITIVE ? cfg->att_hidden : 0;
    m->QW = cfg->score == SC_SCORE_ADDITIVE ? m->A : cfg->glimpse_out;
    m->NB = cfg->max_batch;
    m->scale = 1.0f / sqrtf((float)cfg->glimpse_out);
    if ((rc = declare_params(m, err)) != SC_OK) {
        sc_soft_free(m);
        return rc;
    }
    const size_t T = (size_t)cfg->glimpses, B = (size_t)m->NB, L = (size_t)m->L, H = (size_t)cfg->hidden;
    const size_t C = (size_t)cfg->num_classes, G = (size_t)m->G, HC = (size_t)m->HC, A = (size_t)m->A;
    const size_t HG = (size_t)cfg->glimpse_hidden, HL = (size_t)cfg->loc_hidden;
    const size_t GO = (size_t)cfg->glimpse_out, QW = (size_t)m->QW;
    const size_t GATES = cfg->core == SC_CORE_LSTM ? 4 * H : 0, CC = cfg->core == SC_CORE_LSTM ? H : 0;
    /* layout: sizes of every buffer, in the order of ptrs */
    size_t sizes[] = {
        B * L * G, B * L * HC, B * L * GO, B * L * A,          /* rho, cat, g, pg */
        L * 2, L * HL,                                          /* grid, hl */
        T * B * QW, T * B * L, T * B * GO, T * B * H, T * B * CC, T * B * GATES,  /* q p z h cc gates */
        B * H, B * C, B * C,                                    /* hzero, logits, logp */
        B * L * zmax(GO, HG), B * L * zmax(A, HC),              /* wide_a, wide_b */
        L * A, L, L,                                            /* u, e, dp */
        B * H, B * H, B * H, B * H, T * B * GO, T * B * L, B * QW, L * HL, B * C, B * (GATES ? GATES : H)};
    float **ptrs[] = {&m->rho, &m->cat, &m->g, &m->pg, &m->grid, &m->hl, &m->q, &m->p, &m->z, &m->h,
                      &m->cc, &m->gates, &m->hzero, &m->logits, &m->logp, &m->wide_a, &m->wide_b,
                      &m->u, &m->e, &m->dp, &m->dh, &m->dhprev, &m->dc, &m->dcprev, &m->dz,
                      &m->sde, &m->dq, &m->dhl, &m->dlogits, &m->core_scratch};
    const int nbuf = (int)(sizeof sizes / sizeof sizes[0]);
    assert(nbuf == (int)(sizeof ptrs / sizeof ptrs[0]));
    size_t total;
    m->act = sc_carve(ptrs, sizes, nbuf, &total);
    m->pred = malloc(B * sizeof(int));
    if (!m->act || !m->pred) {
        sc_soft_free(m);
        return sc_errf(err, SC_ENOMEM, "soft: out of memory allocating %zu activation floats (%.0f MB)", total,
                       (double)total * sizeof(float) / 1e6);
    }
    sc_soft_grid_fill(m->grid, cfg->grid);
    *out = m;
    return SC_OK;
}

void sc_soft_free(sc_soft *m) {
    if (!m) return;
    sc_params_free(&m->ps);
    free(m->act);
    free(m->pred);
    free(m);
}

const sc_soft_cfg *sc_soft_config(const sc_soft *m) { return &m->c; }
sc_params *sc_soft_params(sc_soft *m) { return &m->ps; }
const float *sc_soft_logp(const sc_soft *m) { return m->logp; }
const float *sc_soft_attention(const sc_soft *m) { return m->p; }
const float *sc_soft_grid(const sc_soft *m) { return m->grid; }

/* ---- forward ------------------------------------------------------------------------ */

int sc_soft_forward(sc_soft *m, const float *x, const int *labels, int B, sc_model_stats *st) {
    if (!m || !x || B < 1 || B > m->NB) return SC_EARG;
    const sc_soft_cfg *c = &m->c;
    const int T = c->glimpses, L = m->L, G = m->G, HG = c->glimpse_hidden, HL = c->loc_hidden;
    const int HC = m->HC, GO = c->glimpse_out, A = m->A, QW = m->QW, H = c->hidden, C = c->num_classes;
    const int NB = m->NB, BL = B * L;
    const int ch = sc_kind_channels(c->channels);
    const size_t HW = (size_t)c->img_h * c->img_w * ch;  /* floats per canvas */
    m->last_B = B;

    /* glimpse network at every location, once per image */
    for (int b = 0; b < B; b++)
        for (int i = 0; i < L; i++)
            sc_retina_extract(m->rho + ((size_t)b * L + i) * G, x + b * HW, m->grid + 2 * i, 1, c->img_h,
                              c->img_w, ch, c->glimpse_size, c->scales);
    float *hg = m->wide_a;  /* hg (B L, HG) = ReLU(rho Wg^T + bg) */
    sc_linear_forward(hg, m->rho, P(iWg), P(ibg), BL, G, HG);
    sc_relu_forward(hg, hg, BL * HG);
    sc_linear_forward(m->hl, m->grid, P(iWl), P(ibl), L, 2, HL);  /* hl (L, HL) = ReLU(l Wl^T + bl) */
    sc_relu_forward(m->hl, m->hl, L * HL);
    for (int r = 0; r < BL; r++) {  /* cat_{b,i} = [hg_{b,i}, hl_i] */
        memcpy(m->cat + (size_t)r * HC, hg + (size_t)r * HG, sizeof(float) * HG);
        memcpy(m->cat + (size_t)r * HC + HG, m->hl + (size_t)(r % L) * HL, sizeof(float) * HL);
    }
    sc_linear_forward(m->g, m->cat, P(iWa), P(iba), BL, HC, GO);  /* g = ReLU(cat Wa^T + ba) */
    sc_relu_forward(m->g, m->g, BL * GO);
    if (c->score == SC_SCORE_ADDITIVE)
        sc_linear_forward(m->pg, m->g, P(iWp), P(ibp), BL, GO, A);  /* pg = g Wp^T + bp */

    for (int t = 0; t < T; t++) {
        const size_t tb = (size_t)t * NB;
        const float *hprev = t ? m->h + (tb - NB) * H : m->hzero;
        float *q = m->q + tb * QW, *z = m->z + tb * GO, *h = m->h + tb * H;
        /* the query: q = h_{t-1} Wq^T + bq (dot) or h_{t-1} Wh^T (additive) */
        if (c->score == SC_SCORE_DOT) sc_linear_forward(q, hprev, P(iWq), P(ibq), B, H, GO);
        else sc_linear_forward(q, hprev, P(iWh), NULL, B, H, A);
        for (int b = 0; b < B; b++) {
            const float *Gb = m->g + (size_t)b * L * GO;
            float *p = m->p + (tb + b) * L;
            if (c->score == SC_SCORE_DOT)
                score_dot_forward(p, Gb, q + (size_t)b * GO, m->scale, L, GO);
            else
                score_additive_forward(p, m->u, m->pg + (size_t)b * L * A, q + (size_t)b * A, P(iv), L, A);
            softmax_forward(p, p, L);                    /* p = softmax(e) */
            pool_forward(z + (size_t)b * GO, p, Gb, L, GO);  /* z = sum_i p_i g_i */
        }
        /* core */
        if (c->core == SC_CORE_LSTM) {
            const float *cprev = t ? m->cc + (tb - NB) * H : NULL;
            sc_lstm_forward(h, m->cc + tb * H, m->gates + tb * 4 * H, z, t ? hprev : NULL, cprev, P(iWx),
                            P(iWr), P(ibr), B, GO, H);
        } else {
            sc_rnn_forward(h, z, t ? hprev : NULL, P(iWx), P(iWr), P(ibr), B, GO, H, SC_ACT_RELU);
        }
    }

    /* action network */
    const float *hT = m->h + (size_t)(T - 1) * NB * H;
    sc_linear_forward(m->logits, hT, P(iCw), P(iCb), B, H, C);
    float xent = sc_softmax_xent_forward(m->logp, m->logits, labels, B, C);
    int correct = sc_argmax_rows(m->pred, m->logp, labels, B, C);
    if (!labels || !st) return SC_OK;

    sc_model_stats_clear(st);
    st->xent = xent;
    st->correct = correct;
    st->reward = (double)correct / B;
    double ent = 0.0, mx = 0.0;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            float pmax;
            ent += sc_prob_entropy(m->p + ((size_t)t * NB + b) * L, L, &pmax);
            mx += pmax;
        }
    st->att_entropy = ent / ((double)T * B);
    st->att_max = mx / ((double)T * B);
    return SC_OK;
}

/* ---- backward ------------------------------------------------------------------------ */

void sc_soft_backward(sc_soft *m, const int *labels, int B) {
    assert(B == m->last_B);
    const sc_soft_cfg *c = &m->c;
    const int T = c->glimpses, L = m->L, G = m->G, HG = c->glimpse_hidden, HL = c->loc_hidden;
    const int HC = m->HC, GO = c->glimpse_out, A = m->A, QW = m->QW, H = c->hidden, C = c->num_classes;
    const int NB = m->NB, BL = B * L;

    /* action network: logp = log_softmax(hT Wc^T + bc) */
    memset(m->dlogits, 0, sizeof(float) * B * C);
    sc_softmax_xent_backward(m->dlogits, m->logp, labels, B, C, 1.0f);
    memset(m->dh, 0, sizeof(float) * B * H);
    const float *hT = m->h + (size_t)(T - 1) * NB * H;
    sc_linear_backward(m->dh, D(iCw), D(iCb), m->dlogits, hT, P(iCw), B, H, C);

    /* backprop through time: dh holds dL/dh_t, dc dL/dc_t (lstm); dz and sde keep
     * every step's dL/dz_t and dL/de_t for dG below, dPG accumulates dL/dpg (additive) */
    float *dG = m->wide_a, *dPG = m->wide_b;
    if (c->score == SC_SCORE_ADDITIVE) memset(dPG, 0, sizeof(float) * BL * A);
    if (c->core == SC_CORE_LSTM) memset(m->dc, 0, sizeof(float) * B * H);
    for (int t = T - 1; t >= 0; t--) {
        const size_t tb = (size_t)t * NB;
        const float *hprev = t ? m->h + (tb - NB) * H : m->hzero;
        const float *q = m->q + tb * QW, *z = m->z + tb * GO, *h = m->h + tb * H;
        float *dz = m->dz + tb * GO;

        /* h_t = core(z_t, h_{t-1}) */
        memset(dz, 0, sizeof(float) * B * GO);
        memset(m->dhprev, 0, sizeof(float) * B * H);
        if (c->core == SC_CORE_LSTM) {
            const float *cprev = t ? m->cc + (tb - NB) * H : NULL;
            memset(m->dcprev, 0, sizeof(float) * B * H);
            sc_lstm_backward(dz, t ? m->dhprev : NULL, t ? m->dcprev : NULL, D(iWx), D(iWr), D(ibr), m->dh,
                             m->dc, m->gates + tb * 4 * H, m->cc + tb * H, cprev, z, t ? hprev : NULL, P(iWx),
                             P(iWr), m->core_scratch, B, GO, H);
        } else {
            sc_rnn_backward(dz, t ? m->dhprev : NULL, D(iWx), D(iWr), D(ibr), m->dh, h, z,
                            t ? hprev : NULL, P(iWx), P(iWr), m->core_scratch, B, GO, H, SC_ACT_RELU);
        }

        /* z = sum_i p_i g_i, p = softmax(e), e = scores(q, g): dq now, dG after the loop */
        memset(m->dq, 0, sizeof(float) * B * QW);
        for (int b = 0; b < B; b++) {
            const float *Gb = m->g + (size_t)b * L * GO, *p = m->p + (tb + b) * L;
            float *dqb = m->dq + (size_t)b * QW, *de = m->sde + (tb + b) * L;
            pool_backward_p(m->dp, dz + (size_t)b * GO, Gb, L, GO);
            memset(de, 0, sizeof(float) * L);
            softmax_backward(de, m->dp, p, L);
            if (c->score == SC_SCORE_DOT) {
                for (int i = 0; i < L; i++) de[i] *= m->scale;
                score_dot_backward_q(dqb, de, Gb, L, GO);
            } else {
                const float *PGb = m->pg + (size_t)b * L * A;
                score_additive_forward(m->e, m->u, PGb, q + (size_t)b * A, P(iv), L, A);  /* u again */
                score_additive_backward(dPG + (size_t)b * L * A, dqb, D(iv), de, m->u, P(iv), L, A);
            }
        }
        /* q = h_{t-1} Wq^T + bq (dot) or h_{t-1} Wh^T (additive); h_{-1} = 0 is a constant */
        if (c->score == SC_SCORE_DOT)
            sc_linear_backward(t ? m->dhprev : NULL, D(iWq), D(ibq), m->dq, hprev, P(iWq), B, H, GO);
        else
            sc_linear_backward(t ? m->dhprev : NULL, D(iWh), NULL, m->dq, hprev, P(iWh), B, H, A);

        float *tmp = m->dh; m->dh = m->dhprev; m->dhprev = tmp;
        tmp = m->dc; m->dc = m->dcprev; m->dcprev = tmp;
    }

    /* dG_b = sum_t p_{t,b} dz_{t,b}^T (pooling) + sde_{t,b} q_{t,b}^T (dot scores):
     * per image two products of (L, T) by (T, GO), reading the steps in place
     * (rows NB apart), so dG is written once instead of once per step */
    for (int b = 0; b < B; b++) {
        float *dGb = dG + (size_t)b * L * GO;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, GO, T, 1.0f, m->p + (size_t)b * L, NB * L,
                    m->dz + (size_t)b * GO, NB * GO, 0.0f, dGb, GO);
        if (c->score == SC_SCORE_DOT)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, GO, T, 1.0f, m->sde + (size_t)b * L, NB * L,
                        m->q + (size_t)b * GO, NB * GO, 1.0f, dGb, GO);
    }

    /* pg = g Wp^T + bp  =>  dG += dPG Wp */
    if (c->score == SC_SCORE_ADDITIVE)
        sc_linear_backward(dG, D(iWp), D(ibp), dPG, m->g, P(iWp), BL, GO, A);
    /* g = ReLU(cat Wa^T + ba): dG <- dG [g > 0], the gradient w.r.t. the pre-activation */
    relu_grad(dG, dG, m->g, (size_t)BL * GO);
    float *dcat = m->wide_b;  /* dPG is dead */
    memset(dcat, 0, sizeof(float) * BL * HC);
    sc_linear_backward(dcat, D(iWa), D(iba), dG, m->cat, P(iWa), BL, HC, GO);
    /* cat_{b,i} = [ReLU(rho Wg^T + bg), ReLU(l_i Wl^T + bl)]; hl_i is shared by the batch */
    float *dhg = m->wide_a;  /* dG is dead */
    memset(m->dhl, 0, sizeof(float) * L * HL);
    for (int r = 0; r < BL; r++) {
        const float *dc = dcat + (size_t)r * HC, *hgr = m->cat + (size_t)r * HC;
        const float *hlr = m->hl + (size_t)(r % L) * HL;
        float *dhgr = dhg + (size_t)r * HG, *dhlr = m->dhl + (size_t)(r % L) * HL;
        relu_grad(dhgr, dc, hgr, (size_t)HG);
        sc_relu_backward(dhlr, dc + HG, hlr, HL);  /* adds */
    }
    sc_linear_backward(NULL, D(iWg), D(ibg), dhg, m->rho, P(iWg), BL, G, HG);
    sc_linear_backward(NULL, D(iWl), D(ibl), m->dhl, m->grid, P(iWl), L, 2, HL);
}

/* ---- inference ------------------------------------------------------------------------ */

int sc_soft_predict(sc_soft *m, const float *x, const int *labels, int B, float *logp_out,
                    int *pred_out) {
    int rc = sc_soft_forward(m, x, NULL, B, NULL);
    if (rc != SC_OK) return rc;
    if (logp_out) memcpy(logp_out, m->logp, sizeof(float) * B * m->c.num_classes);
    int correct = 0;
    for (int b = 0; b < B; b++) {
        if (pred_out) pred_out[b] = m->pred[b];
        correct += labels && labels[b] == m->pred[b];
    }
    return correct;
}

/* ---- the soft model's row of the model table (agent/kind.h) ----------------------------- */

#define TRACE_PROBE_BATCH 16  /* images per pass of the per-step probe */

static sc_cost soft_cost(const void *cfg) { return sc_cost_soft(cfg); }

static int soft_create(void **impl, const void *cfg, sc_model_info *info, sc_err *err) {
    const sc_soft_cfg *c = cfg;
    info->num_classes = c->num_classes;
    info->max_batch = c->max_batch;
    info->image_floats = (size_t)c->img_h * c->img_w * sc_kind_channels(c->channels);
    info->steps = c->glimpses;
    info->trajectories = 1;
    info->locations = c->grid * c->grid;
    sc_soft *m = NULL;
    int rc = sc_soft_create(&m, c, err);
    *impl = m;
    return rc;
}

static void soft_free(void *impl) { sc_soft_free(impl); }
static sc_params *soft_params(void *impl) { return sc_soft_params(impl); }
static void soft_init_params(void *impl, sc_rng *r) { sc_soft_init_params(impl, r); }
static const float *soft_grid(const void *impl) { return sc_soft_grid(impl); }

static int soft_forward(void *impl, const float *x, const int *labels, int B, float std, sc_rng *r,
                        sc_model_stats *st) {
    (void)std, (void)r;
    return sc_soft_forward(impl, x, labels, B, st);
}

static int soft_backward(void *impl, const int *labels, int B, float std) {
    (void)std;
    sc_soft_backward(impl, labels, B);
    return SC_OK;
}

/* deterministic: one pass whatever M */
static int soft_predict(void *impl, const float *x, const int *labels, int B, int M, float std, sc_rng *r,
                        float *logp_avg, int *pred) {
    (void)M, (void)std, (void)r;
    return sc_soft_predict(impl, x, labels, B, logp_avg, pred);
}

/* Step t < T-1: a copy that stops after t+1 steps (its parameters do not
 * depend on T), in passes of at most TRACE_PROBE_BATCH images. */
static int trace_steps(sc_soft *m, const float *x, int B, float *probs, sc_err *err) {
    const int T = m->c.glimpses, C = m->c.num_classes;
    const size_t HW = (size_t)m->c.img_h * m->c.img_w * sc_kind_channels(m->c.channels);  /* floats per canvas */
    const sc_params *ps = &m->ps;
    for (int t = 0; t < T - 1; t++) {
        sc_soft_cfg pc = m->c;
        pc.glimpses = t + 1;
        pc.max_batch = B < TRACE_PROBE_BATCH ? B : TRACE_PROBE_BATCH;
        sc_soft *probe = NULL;
        int rc = sc_soft_create(&probe, &pc, err);
        if (rc != SC_OK) return rc;
        sc_params *pp = sc_soft_params(probe);
        if (pp->n != ps->n) {
            const size_t n = pp->n;  /* pp is inside probe */
            sc_soft_free(probe);
            return sc_errf(err, SC_EARG, "soft trace: a %d-step copy has %zu parameters, the model %zu", t + 1,
                           n, ps->n);
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
                sc_kind_probs(probs + ((size_t)(b0 + b) * T + t) * C, lp + (size_t)b * C, C);
        }
        sc_soft_free(probe);
    }
    return SC_OK;
}

/* Per step the attention weights p_t, their weighted mean location
 * sum_i p_{t,i} l_i, and (trace_steps) the probabilities after that step. */
static int soft_trace(void *impl, const float *x, int B, float std, sc_rng *r, float *probs, float *loc,
                      float *att, int *pred, sc_err *err) {
    (void)std, (void)r;
    sc_soft *m = impl;
    const int T = m->c.glimpses, C = m->c.num_classes, L = m->L, NB = m->c.max_batch;
    int rc = sc_soft_forward(m, x, NULL, B, NULL);
    if (rc != SC_OK) return sc_errf(err, rc, "soft trace: forward pass of %d images failed", B);
    const float *p = m->p, *grid = m->grid, *lp = m->logp;
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const float *pt = p + ((size_t)t * NB + b) * L;
            const size_t bt = (size_t)b * T + t;
            if (att) memcpy(att + bt * L, pt, sizeof(float) * L);
            if (loc) sc_kind_mean_location(loc + bt * 2, pt, grid, L);
        }
        if (probs) sc_kind_probs(probs + ((size_t)b * T + T - 1) * C, lp + (size_t)b * C, C);
        if (pred) pred[b] = sc_kind_argmax(lp + (size_t)b * C, C);
    }
    return probs && T > 1 ? trace_steps(m, x, B, probs, err) : SC_OK;
}

static int soft_check(const void *cfg, const char *canvas, char *msg, size_t n) {
    const sc_soft_cfg *c = cfg;
    if (sc_kind_check_channels(c->channels, canvas, msg, n) < 0) return -1;
    /* the grid maps per axis: the shorter side bounds it, the longer one the sensor */
    const int lo = c->img_h < c->img_w ? c->img_h : c->img_w, hi = c->img_h < c->img_w ? c->img_w : c->img_h;
    if (c->grid > lo) {
        snprintf(msg, n, "[model] grid = %d with a %d-pixel canvas ([data] canvas = %s): expected grid <= the canvas "
                 "side (locations at least a pixel apart)", c->grid, lo, canvas);
        return -1;
    }
    return sc_kind_check_sensor(c->glimpse_size, c->scales, hi, canvas, msg, n);
}

static void soft_describe(const void *cfg, char *model, size_t mn, char *looks, size_t ln) {
    const sc_soft_cfg *c = cfg;
    char scales[24] = "";
    if (c->scales > 1) snprintf(scales, sizeof scales, ", %d scales", c->scales);
    snprintf(model, mn, "soft %dx%d %s", c->grid, c->grid, c->score == SC_SCORE_ADDITIVE ? "additive" : "dot");
    /* every location's glimpse is computed, attended over T steps */
    snprintf(looks, ln, "%d x %dx%d%s, %d steps", c->grid * c->grid, c->glimpse_size, c->glimpse_size, scales,
             c->glimpses);
}

static void soft_footprint(const void *cfg, int *g, int *k) {
    const sc_soft_cfg *c = cfg;
    *g = c->glimpse_size;
    *k = c->scales;
}

/* The grid at the same spacing on a side-pixel canvas: 1..min(side, SC_SOFT_GRID_MAX). */
static int soft_grid_at(const void *cfg, int side) {
    const sc_soft_cfg *c = cfg;
    int g = c->img_w > 0 ? (int)lround((double)c->grid * side / c->img_w) : c->grid;
    int hi = side < SC_SOFT_GRID_MAX ? side : SC_SOFT_GRID_MAX;
    return g < 1 ? 1 : g > hi ? hi : g;
}

const sc_model_ops sc_soft_ops = {
    .name = "soft",
    .cfg_offset = offsetof(sc_model_cfg, soft),
    .caps = SC_KIND_TRAJECTORIES | SC_KIND_WEIGHTS | SC_KIND_WIDE,
    .max_threads = SC_POOL_MAX,  /* model.c's data-parallel copies */
    .batch_offset = offsetof(sc_soft_cfg, max_batch),
    .legend = "soft attention",
    .step_name = "soft attention, step",
    .step_unit = "step",
    .check = soft_check,
    .describe = soft_describe,
    .footprint = soft_footprint,
    .grid_at = soft_grid_at,
    .cost = soft_cost,
    .create = soft_create,
    .free = soft_free,
    .params = soft_params,
    .init_params = soft_init_params,
    .grid = soft_grid,
    .set_threads = NULL,       /* the default: model.c's data-parallel copies */
    .baseline_ema = NULL,      /* no baseline */
    .set_baseline_ema = NULL,
    .forward = soft_forward,
    .backward = soft_backward,
    .set_span = NULL,          /* one process */
    .predict = soft_predict,
    .trace = soft_trace,
};
