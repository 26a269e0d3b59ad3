/* selfattn.c - the patch transformer of selfattn.h: forward, backward,
 * inference. Dimension letters as there: B batch, T tokens, P patch values,
 * D model width, H heads, hs head size, F MLP width, NL blocks, C classes.
 *
 * Activations are (B, T, *) rows: token t of example b is row b T + t, so
 * every linear layer runs as one sgemm over B T rows; per-block activations
 * are (NL, NB T, *) slices of one buffer, block l at l NB T *. The residual
 * stream is stored at every block's input (xs, (NL + 1, NB T, D)), the
 * attention weights of every block for the backward (att, (NL, NB, H, T, T)).
 * Backward keeps one stream gradient (dx, (NB T, D)) that each layer norm's
 * backward adds into, as the residual connections ask.
 *
 * At the end: the patch transformer's row of the model table (agent/kind.h,
 * sc_sa_ops), with the run log's layout of its trace (the heads as steps).
 *
 * Not here: threads (OpenBLAS's own), the trainer.
 */
#include "selfattn.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kind.h"
#include "nets/attn.h"
#include "nets/layers.h"

#define LN_EPS 1e-5f  /* nn.LayerNorm's */

/* parameter indices of one block */
typedef struct sa_block_ix {
    int ln1w, ln1b, Wqkv, bqkv, Wo, bo, ln2w, ln2b, W1, b1, W2, b2;
} sa_block_ix;

struct sc_sa {
    sc_sa_cfg c;
    sc_params ps;
    int gh, gw, T, P, D, H, hs, F, NL, C, NB, tok;  /* tok: the logged token (mean readout) */
    /* parameter indices (-1: absent for this configuration) */
    int iWe, ibe, ipos, ilnfw, ilnfb, iu, iWq, ibq, iWkv, ibkv, iWro, ibro, iCw, iCb;
    sa_block_ix blk[SC_SA_BLOCKS_MAX];
    float *act;
    float *grid;              /* (T, 2) */
    float *sinpos;            /* (T, D) sin2d table; NULL otherwise */
    float *xp;                /* (NB T, P) patches */
    float *xs;                /* (NL + 1, NB T, D) residual stream at each block's input */
    float *ln1, *mean1, *rstd1, *qkv, *att, *o, *xmid, *ln2, *mean2, *rstd2, *hpre, *gact;  /* per block */
    float *z, *meanf, *rstdf; /* (NB T, D), (NB T) x 2: LNf(x_NL) */
    float *qr, *kvr, *attr, *orr;  /* query readout: (NB, D), (NB T, 2D), (NB, H, T), (NB, D) */
    float *r, *logits, *logp; /* (NB, D), (NB, C) x 2 */
    /* scratch */
    float *wide;              /* (NB T, 3D): dL/d[q k v] (the readout's dL/d[k v] in its first 2D) */
    float *dx, *da;           /* (NB T, D) */
    float *df1;               /* (NB T, F): dL/dGELU(h), then dL/dh */
    float *mha_scratch;       /* T floats per query row: T^2 */
    float *dr, *dqr, *dor;    /* (NB, D) */
    float *dqsum;             /* (D) */
    float *dlogits;           /* (NB, C) */
    int *pred;
    int last_B;
};

#define P(ix) sc_params_data(&m->ps, ix)
#define G(ix) sc_params_grad(&m->ps, ix)

/* ---- geometry ------------------------------------------------------------------- */

int sc_sa_tokens(const sc_sa_cfg *c) {
    if (c->patch < 1 || c->img_h < c->patch || c->img_w < c->patch || c->img_h % c->patch || c->img_w % c->patch)
        return 0;
    return (c->img_h / c->patch) * (c->img_w / c->patch);
}

void sc_sa_grid_fill(float *loc, int gh, int gw) {
    for (int j = 0; j < gh; j++)
        for (int i = 0; i < gw; i++) {
            float *l = loc + 2 * ((size_t)j * gw + i);
            l[0] = (float)(2 * i + 1) / (float)gw - 1.0f;  /* x_i = (2i + 1) / gw - 1 */
            l[1] = (float)(2 * j + 1) / (float)gh - 1.0f;  /* y_j = (2j + 1) / gh - 1 */
        }
}

/* channels [0, D/2): the column i, [D/2, D): the row j; in each half, D/4
 * sines then D/4 cosines of pos w_f, w_f = 10000^(-f / (D/4)) */
void sc_sa_sin2d_fill(float *pos, int gh, int gw, int D) {
    const int Q = D / 4;
    for (int j = 0; j < gh; j++)
        for (int i = 0; i < gw; i++) {
            float *p = pos + ((size_t)j * gw + i) * D;
            for (int f = 0; f < Q; f++) {
                const double w = pow(10000.0, -(double)f / Q);
                p[f] = (float)sin(i * w);
                p[Q + f] = (float)cos(i * w);
                p[2 * Q + f] = (float)sin(j * w);
                p[3 * Q + f] = (float)cos(j * w);
            }
        }
}

/* x (B, H, W, ch) HWC -> xp (B, T, P), P = p p ch: token k = j gw + i holds
 * the patch at (i p, j p) in (row, column, channel) order; a patch row is p ch
 * contiguous floats of x. */
static void patches_extract(float *xp, const float *x, int B, int H, int W, int ch, int p) {
    const int gh = H / p, gw = W / p, row = p * ch, P = p * row;
    for (int b = 0; b < B; b++)
        for (int j = 0; j < gh; j++)
            for (int i = 0; i < gw; i++) {
                float *dst = xp + (((size_t)b * gh + j) * gw + i) * P;
                const float *src = x + (((size_t)b * H + (size_t)j * p) * W + (size_t)i * p) * ch;
                for (int u = 0; u < p; u++)
                    memcpy(dst + (size_t)u * row, src + (size_t)u * W * ch, sizeof(float) * row);
            }
}

/* ---- parameters ------------------------------------------------------------------- */

static int add(sc_sa *m, const char *name, int rows, int cols, int fan_in, int *idx, sc_err *err) {
    int i = sc_params_add(&m->ps, name, rows, cols, err);
    if (i < 0) return i;
    *idx = i;
    return sc_params_set_fan_in(&m->ps, i, fan_in, err);
}

static int declare_params(sc_sa *m, sc_err *err) {
    const int D = m->D, F = m->F;
    int rc;
    char name[SC_PARAM_NAME_MAX];
    sc_params_init(&m->ps);
    m->ipos = m->iu = m->iWq = m->ibq = m->iWkv = m->ibkv = m->iWro = m->ibro = -1;
#define ADD(nm, r, k, fan, ix) if ((rc = add(m, nm, r, k, fan, &(ix), err)) != SC_OK) return rc
    ADD("embed.W", D, m->P, m->P, m->iWe);
    ADD("embed.b", 1, D, m->P, m->ibe);
    if (m->c.pos_enc == SC_SA_POS_LEARNED) ADD("embed.pos", m->T, D, D, m->ipos);
    for (int l = 0; l < m->NL; l++) {
        sa_block_ix *bx = &m->blk[l];
#define BADD(suffix, r, k, fan, ix) snprintf(name, sizeof name, "blk%d." suffix, l); ADD(name, r, k, fan, bx->ix)
        BADD("ln1.w", 1, D, D, ln1w);
        BADD("ln1.b", 1, D, D, ln1b);
        BADD("attn.Wqkv", 3 * D, D, D, Wqkv);
        BADD("attn.bqkv", 1, 3 * D, D, bqkv);
        BADD("attn.Wo", D, D, D, Wo);
        BADD("attn.bo", 1, D, D, bo);
        BADD("ln2.w", 1, D, D, ln2w);
        BADD("ln2.b", 1, D, D, ln2b);
        BADD("mlp.W1", F, D, D, W1);
        BADD("mlp.b1", 1, F, D, b1);
        BADD("mlp.W2", D, F, F, W2);
        BADD("mlp.b2", 1, D, F, b2);
#undef BADD
    }
    ADD("lnf.w", 1, D, D, m->ilnfw);
    ADD("lnf.b", 1, D, D, m->ilnfb);
    if (m->c.readout == SC_SA_READOUT_QUERY) {
        ADD("readout.u", 1, D, D, m->iu);
        ADD("readout.Wq", D, D, D, m->iWq);
        ADD("readout.bq", 1, D, D, m->ibq);
        ADD("readout.Wkv", 2 * D, D, D, m->iWkv);
        ADD("readout.bkv", 1, 2 * D, D, m->ibkv);
        ADD("readout.Wo", D, D, D, m->iWro);
        ADD("readout.bo", 1, D, D, m->ibro);
    }
    ADD("action.W", m->C, D, D, m->iCw);
    ADD("action.b", 1, m->C, D, m->iCb);
#undef ADD
    return sc_params_alloc(&m->ps, err);
}

static void fill(float *w, size_t n, float v) {
    for (size_t i = 0; i < n; i++) w[i] = v;
}

static void fill_normal(float *w, size_t n, float sd, sc_rng *r) {
    for (size_t i = 0; i < n; i++) w[i] = sd * sc_rng_normal(r);
}

void sc_sa_init_params(sc_sa *m, sc_rng *r) {
    sc_params *ps = &m->ps;
    sc_params_init_linear(ps, r);  /* fan-ins recorded by add(); the rest is overwritten below */
    for (int l = 0; l < m->NL; l++) {
        const sa_block_ix *bx = &m->blk[l];
        fill(P(bx->ln1w), (size_t)m->D, 1.0f);
        fill(P(bx->ln1b), (size_t)m->D, 0.0f);
        fill(P(bx->ln2w), (size_t)m->D, 1.0f);
        fill(P(bx->ln2b), (size_t)m->D, 0.0f);
    }
    fill(P(m->ilnfw), (size_t)m->D, 1.0f);
    fill(P(m->ilnfb), (size_t)m->D, 0.0f);
    if (m->ipos >= 0) fill_normal(P(m->ipos), sc_params_size(ps, m->ipos), 0.02f, r);
    if (m->iu >= 0) fill_normal(P(m->iu), sc_params_size(ps, m->iu), 0.02f, r);
}

/* ---- creation ---------------------------------------------------------------------- */

void sc_sa_cfg_defaults(sc_sa_cfg *c) {
    memset(c, 0, sizeof *c);
    c->img_h = c->img_w = 28;
    c->num_classes = 10;
    c->patch = 4;
    c->d_model = 64;
    c->heads = 4;
    c->blocks = 2;
    c->mlp_hidden = 128;
    c->pos_enc = SC_SA_POS_LEARNED;
    c->readout = SC_SA_READOUT_QUERY;
    c->causal = 0;
    c->log_token = -1;
    c->max_batch = 128;
    c->channels = 1;
}

static int check_cfg(const sc_sa_cfg *c, sc_err *err) {
#define NEED(cond, ...) if (!(cond)) return sc_errf(err, SC_EARG, "selfattn: invalid configuration: " __VA_ARGS__)
    NEED(c->img_h >= 1 && c->img_w >= 1, "img_h x img_w = %d x %d, expected positive sizes", c->img_h, c->img_w);
    NEED(c->num_classes >= 2, "num_classes = %d, expected >= 2", c->num_classes);
    const int ch = sc_kind_channels(c->channels);
    NEED(ch >= 1 && ch <= SC_KIND_CHANNELS_MAX, "channels = %d, expected 1..%d (0 reads as 1)", c->channels,
         SC_KIND_CHANNELS_MAX);
    NEED(c->patch >= 1 && c->patch <= c->img_h && c->patch <= c->img_w,
         "patch = %d, expected 1..%d (the canvas side)", c->patch, c->img_h < c->img_w ? c->img_h : c->img_w);
    NEED(c->img_h % c->patch == 0, "img_h = %d is not a multiple of patch = %d: the patches must tile the canvas",
         c->img_h, c->patch);
    NEED(c->img_w % c->patch == 0, "img_w = %d is not a multiple of patch = %d: the patches must tile the canvas",
         c->img_w, c->patch);
    NEED(c->heads >= 1, "heads = %d, expected >= 1", c->heads);
    NEED(c->d_model >= 1 && c->d_model % c->heads == 0,
         "d_model = %d is not a positive multiple of heads = %d (each head takes d_model / heads columns)",
         c->d_model, c->heads);
    NEED(c->blocks >= 1 && c->blocks <= SC_SA_BLOCKS_MAX, "blocks = %d, expected 1..%d", c->blocks,
         SC_SA_BLOCKS_MAX);
    NEED(c->mlp_hidden >= 1, "mlp_hidden = %d, expected >= 1", c->mlp_hidden);
    NEED(c->pos_enc == SC_SA_POS_LEARNED || c->pos_enc == SC_SA_POS_SIN2D || c->pos_enc == SC_SA_POS_NONE,
         "pos_enc = %d, expected SC_SA_POS_LEARNED (0), SC_SA_POS_SIN2D (1) or SC_SA_POS_NONE (2)", (int)c->pos_enc);
    NEED(c->pos_enc != SC_SA_POS_SIN2D || c->d_model % 4 == 0,
         "pos_enc = sin2d needs d_model a multiple of 4 (sines and cosines of x and y), got d_model = %d",
         c->d_model);
    NEED(c->readout == SC_SA_READOUT_MEAN || c->readout == SC_SA_READOUT_QUERY,
         "readout = %d, expected SC_SA_READOUT_MEAN (0) or SC_SA_READOUT_QUERY (1)", (int)c->readout);
    NEED(c->causal == 0 || c->causal == 1, "causal = %d, expected 0 or 1", c->causal);
    NEED(c->max_batch >= 1, "max_batch = %d, expected >= 1", c->max_batch);
    const size_t T = (size_t)sc_sa_tokens(c);
    NEED(c->log_token >= -1 && (size_t)(c->log_token + 1) <= T, "log_token = %d, expected -1 (the centre patch) "
         "or a token 0..%zu", c->log_token, T - 1);
    /* every B T width and B H T T product is passed to the layers as an int */
    const size_t P = (size_t)c->patch * c->patch * ch, D = (size_t)c->d_model, F = (size_t)c->mlp_hidden;
    size_t w = P > 3 * D ? P : 3 * D;
    w = w > F ? w : F;
    const double rows = (double)c->max_batch * (double)T;
    NEED(rows * (double)w <= INT_MAX && rows * (double)T * c->heads <= INT_MAX && (double)T * T <= INT_MAX,
         "max_batch %d x %zu tokens x width %zu (or x %d heads x %zu tokens) is over 2^31 - 1 floats per buffer; "
         "lower max_batch, use larger patches or narrower layers", c->max_batch, T, w, c->heads, T);
#undef NEED
    return SC_OK;
}

int sc_sa_create(sc_sa **out, const sc_sa_cfg *cfg, sc_err *err) {
    *out = NULL;
    int rc = check_cfg(cfg, err);
    if (rc != SC_OK) return rc;
    sc_sa *m = calloc(1, sizeof *m);
    if (!m) return sc_errf(err, SC_ENOMEM, "selfattn: out of memory allocating the model");
    m->c = *cfg;
    m->gh = cfg->img_h / cfg->patch;
    m->gw = cfg->img_w / cfg->patch;
    m->T = m->gh * m->gw;
    m->P = cfg->patch * cfg->patch * sc_kind_channels(cfg->channels);
    m->D = cfg->d_model;
    m->H = cfg->heads;
    m->hs = cfg->d_model / cfg->heads;
    m->F = cfg->mlp_hidden;
    m->NL = cfg->blocks;
    m->C = cfg->num_classes;
    m->NB = cfg->max_batch;
    m->tok = cfg->log_token >= 0 ? cfg->log_token : (m->gh / 2) * m->gw + m->gw / 2;
    if ((rc = declare_params(m, err)) != SC_OK) {
        sc_sa_free(m);
        return rc;
    }
    const size_t B = (size_t)m->NB, T = (size_t)m->T, BT = B * T, D = (size_t)m->D, F = (size_t)m->F;
    const size_t NL = (size_t)m->NL, H = (size_t)m->H, C = (size_t)m->C, P = (size_t)m->P;
    const int query = cfg->readout == SC_SA_READOUT_QUERY, sin2d = cfg->pos_enc == SC_SA_POS_SIN2D;
    /* layout: sizes of every buffer, in the order of ptrs */
    size_t sizes[] = {
        T * 2, sin2d ? T * D : 0, BT * P, (NL + 1) * BT * D,                   /* grid sinpos xp xs */
        NL * BT * D, NL * BT, NL * BT, NL * BT * 3 * D,                        /* ln1 mean1 rstd1 qkv */
        NL * B * H * T * T, NL * BT * D, NL * BT * D, NL * BT * D,             /* att o xmid ln2 */
        NL * BT, NL * BT, NL * BT * F, NL * BT * F,                            /* mean2 rstd2 hpre gact */
        BT * D, BT, BT,                                                        /* z meanf rstdf */
        query ? B * D : 0, query ? BT * 2 * D : 0, query ? B * H * T : 0,
        query ? B * D : 0,                                                     /* qr kvr attr orr */
        B * D, B * C, B * C,                                                   /* r logits logp */
        BT * 3 * D, BT * D, BT * D, BT * F,                                    /* wide dx da df1 */
        T * T, B * D, B * D, B * D, D, B * C};  /* mha_scratch dr dqr dor dqsum dlogits */
    float **ptrs[] = {&m->grid, &m->sinpos, &m->xp, &m->xs, &m->ln1, &m->mean1, &m->rstd1, &m->qkv,
                      &m->att, &m->o, &m->xmid, &m->ln2, &m->mean2, &m->rstd2, &m->hpre, &m->gact, &m->z,
                      &m->meanf, &m->rstdf, &m->qr, &m->kvr, &m->attr, &m->orr, &m->r, &m->logits,
                      &m->logp, &m->wide, &m->dx, &m->da, &m->df1,
                      &m->mha_scratch, &m->dr, &m->dqr, &m->dor, &m->dqsum, &m->dlogits};
    const int nbuf = (int)(sizeof sizes / sizeof sizes[0]);
    assert(nbuf == (int)(sizeof ptrs / sizeof ptrs[0]));
    size_t total;
    m->act = sc_carve(ptrs, sizes, nbuf, &total);
    m->pred = malloc(B * sizeof(int));
    if (!m->act || !m->pred) {
        sc_sa_free(m);
        return sc_errf(err, SC_ENOMEM, "selfattn: out of memory allocating %zu activation floats (%.0f MB)", total,
                       (double)total * sizeof(float) / 1e6);
    }
    sc_sa_grid_fill(m->grid, m->gh, m->gw);
    if (sin2d) sc_sa_sin2d_fill(m->sinpos, m->gh, m->gw, m->D);
    *out = m;
    return SC_OK;
}

void sc_sa_free(sc_sa *m) {
    if (!m) return;
    sc_params_free(&m->ps);
    free(m->act);
    free(m->pred);
    free(m);
}

const sc_sa_cfg *sc_sa_config(const sc_sa *m) { return &m->c; }
sc_params *sc_sa_params(sc_sa *m) { return &m->ps; }
const float *sc_sa_logp(const sc_sa *m) { return m->logp; }
const float *sc_sa_grid(const sc_sa *m) { return m->grid; }

const float *sc_sa_pos_table(const sc_sa *m) {
    if (m->c.pos_enc == SC_SA_POS_LEARNED) return sc_params_data(&m->ps, m->ipos);
    return m->sinpos;
}

/* Block l's slice of a per-block buffer of `width` floats per row. */
static float *blk(float *base, int l, const sc_sa *m, size_t width) {
    return base + (size_t)l * m->NB * m->T * width;
}

/* The logged attention rows of example b: H rows of T floats, row h at
 * base + h * stride. */
static const float *logged_rows(const sc_sa *m, int b, size_t *stride) {
    const size_t T = (size_t)m->T, H = (size_t)m->H;
    if (m->c.readout == SC_SA_READOUT_QUERY) {
        *stride = T;
        return m->attr + (size_t)b * H * T;  /* (B, H, 1, T) */
    }
    *stride = T * T;                        /* the last block's (B, H, T, T), query row tok */
    return blk(m->att, m->NL - 1, m, H * T) + (size_t)b * H * T * T + (size_t)m->tok * T;
}

void sc_sa_logged_attention(const sc_sa *m, int b, float *att) {
    size_t stride;
    const float *p = logged_rows(m, b, &stride);
    for (int h = 0; h < m->H; h++) memcpy(att + (size_t)h * m->T, p + h * stride, sizeof(float) * m->T);
}

/* ---- forward ------------------------------------------------------------------------ */

static void add_into(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

int sc_sa_forward(sc_sa *m, const float *x, const int *labels, int B, sc_model_stats *st) {
    if (!m || !x || B < 1 || B > m->NB) return SC_EARG;
    const int T = m->T, D = m->D, H = m->H, hs = m->hs, F = m->F, C = m->C, BT = B * T;
    const size_t NBT = (size_t)m->NB * T;
    m->last_B = B;

    /* x_0 = patches We^T + be + pos */
    patches_extract(m->xp, x, B, m->c.img_h, m->c.img_w, sc_kind_channels(m->c.channels), m->c.patch);
    sc_linear_forward(m->xs, m->xp, P(m->iWe), P(m->ibe), BT, m->P, D);
    const float *pos = sc_sa_pos_table(m);
    if (pos)
        for (int b = 0; b < B; b++) add_into(m->xs + (size_t)b * T * D, pos, (size_t)T * D);

    for (int l = 0; l < m->NL; l++) {
        const sa_block_ix *bx = &m->blk[l];
        const float *xin = m->xs + l * NBT * D;
        float *xout = m->xs + (l + 1) * NBT * D;
        float *ln1 = blk(m->ln1, l, m, D), *qkv = blk(m->qkv, l, m, 3 * (size_t)D);
        float *o = blk(m->o, l, m, D), *xmid = blk(m->xmid, l, m, D);
        float *ln2 = blk(m->ln2, l, m, D), *hpre = blk(m->hpre, l, m, F), *gact = blk(m->gact, l, m, F);
        float *att = blk(m->att, l, m, (size_t)H * T);
        /* a = LN1(x);  [q k v] = a Wqkv^T + bqkv;  o = MHA(q, k, v), reading q, k, v as column
         * blocks of the [q k v] rows */
        sc_layernorm_forward(ln1, blk(m->mean1, l, m, 1), blk(m->rstd1, l, m, 1), xin, P(bx->ln1w), P(bx->ln1b),
                             BT, D, LN_EPS);
        sc_linear_forward(qkv, ln1, P(bx->Wqkv), P(bx->bqkv), BT, D, 3 * D);
        sc_mha_forward_ld(o, D, att, qkv, 3 * D, qkv + D, qkv + 2 * D, 3 * D, B, T, T, H, hs, m->c.causal);
        /* x' = x + o Wo^T + bo */
        sc_linear_forward(xmid, o, P(bx->Wo), P(bx->bo), BT, D, D);
        add_into(xmid, xin, (size_t)BT * D);
        /* x_{l+1} = x' + GELU(LN2(x') W1^T + b1) W2^T + b2 */
        sc_layernorm_forward(ln2, blk(m->mean2, l, m, 1), blk(m->rstd2, l, m, 1), xmid, P(bx->ln2w),
                             P(bx->ln2b), BT, D, LN_EPS);
        sc_linear_forward(hpre, ln2, P(bx->W1), P(bx->b1), BT, D, F);
        sc_gelu_forward(gact, hpre, BT * F);
        sc_linear_forward(xout, gact, P(bx->W2), P(bx->b2), BT, F, D);
        add_into(xout, xmid, (size_t)BT * D);
    }
    /* z = LNf(x_NL) */
    sc_layernorm_forward(m->z, m->meanf, m->rstdf, m->xs + m->NL * NBT * D, P(m->ilnfw), P(m->ilnfb), BT, D,
                         LN_EPS);

    if (m->c.readout == SC_SA_READOUT_MEAN) {
        /* r = (1/T) sum_t z_t */
        for (int b = 0; b < B; b++) {
            float *rb = m->r + (size_t)b * D;
            memset(rb, 0, sizeof(float) * D);
            for (int t = 0; t < T; t++) add_into(rb, m->z + ((size_t)b * T + t) * D, (size_t)D);
            for (int j = 0; j < D; j++) rb[j] /= (float)T;
        }
    } else {
        /* q_r = u Wq^T + bq (one row, the same for every example); [k_r v_r] = z Wkv^T + bkv */
        sc_linear_forward(m->qr, P(m->iu), P(m->iWq), P(m->ibq), 1, D, D);
        for (int b = 1; b < B; b++) memcpy(m->qr + (size_t)b * D, m->qr, sizeof(float) * D);
        sc_linear_forward(m->kvr, m->z, P(m->iWkv), P(m->ibkv), BT, D, 2 * D);
        /* o_r = MHA(q_r, k_r, v_r), k_r and v_r the column blocks of [k_r v_r];  r = o_r Wo^T + bo */
        sc_mha_forward_ld(m->orr, D, m->attr, m->qr, D, m->kvr, m->kvr + D, 2 * D, B, 1, T, H, hs, 0);
        sc_linear_forward(m->r, m->orr, P(m->iWro), P(m->ibro), B, D, D);
    }

    sc_linear_forward(m->logits, m->r, P(m->iCw), P(m->iCb), B, D, C);
    float xent = sc_softmax_xent_forward(m->logp, m->logits, labels, B, C);
    int correct = sc_argmax_rows(m->pred, m->logp, labels, B, C);
    if (!labels || !st) return SC_OK;

    sc_model_stats_clear(st);
    st->xent = xent;
    st->correct = correct;
    st->reward = (double)correct / B;
    double ent = 0.0, mx = 0.0;
    for (int b = 0; b < B; b++) {
        size_t stride;
        const float *rows = logged_rows(m, b, &stride);
        for (int h = 0; h < H; h++) {
            float pmax;
            ent += sc_prob_entropy(rows + h * stride, T, &pmax);
            mx += pmax;
        }
    }
    st->att_entropy = ent / ((double)B * H);
    st->att_max = mx / ((double)B * H);
    return SC_OK;
}

/* ---- backward ------------------------------------------------------------------------ */

void sc_sa_backward(sc_sa *m, const int *labels, int B) {
    assert(B == m->last_B);
    const int T = m->T, D = m->D, H = m->H, hs = m->hs, F = m->F, C = m->C, BT = B * T;
    const size_t NBT = (size_t)m->NB * T;

    /* logp = log_softmax(r Wc^T + bc) */
    memset(m->dlogits, 0, sizeof(float) * B * C);
    sc_softmax_xent_backward(m->dlogits, m->logp, labels, B, C, 1.0f);
    memset(m->dr, 0, sizeof(float) * B * D);
    sc_linear_backward(m->dr, G(m->iCw), G(m->iCb), m->dlogits, m->r, P(m->iCw), B, D, C);

    /* the readout: dz (B T, D) into da */
    float *dz = m->da;
    if (m->c.readout == SC_SA_READOUT_MEAN) {
        /* r = (1/T) sum_t z_t  =>  dz_t = dr / T */
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                float *d = dz + ((size_t)b * T + t) * D;
                const float *s = m->dr + (size_t)b * D;
                for (int j = 0; j < D; j++) d[j] = s[j] / (float)T;
            }
    } else {
        /* r = o_r Wo^T + bo */
        memset(m->dor, 0, sizeof(float) * B * D);
        sc_linear_backward(m->dor, G(m->iWro), G(m->ibro), m->dr, m->orr, P(m->iWro), B, D, D);
        /* o_r = MHA(q_r, k_r, v_r) */
        /* (written, not added: dL/dq_r and dL/d[k_r v_r] need no zeroing) */
        sc_mha_backward_ld(m->dqr, m->wide, m->wide + D, m->dor, D, m->attr, m->qr, D, m->kvr, m->kvr + D, 2 * D,
                           m->mha_scratch, B, 1, T, H, hs, 1);
        /* q_r = u Wq^T + bq, shared by the batch: its gradient is the sum over examples */
        memset(m->dqsum, 0, sizeof(float) * D);
        for (int b = 0; b < B; b++) add_into(m->dqsum, m->dqr + (size_t)b * D, (size_t)D);
        sc_linear_backward(G(m->iu), G(m->iWq), G(m->ibq), m->dqsum, P(m->iu), P(m->iWq), 1, D, D);
        /* [k_r v_r] = z Wkv^T + bkv */
        memset(dz, 0, sizeof(float) * BT * D);
        sc_linear_backward(dz, G(m->iWkv), G(m->ibkv), m->wide, m->z, P(m->iWkv), BT, D, 2 * D);
    }
    /* z = LNf(x_NL): dx = dL/dx_NL */
    memset(m->dx, 0, sizeof(float) * BT * D);
    sc_layernorm_backward(m->dx, G(m->ilnfw), G(m->ilnfb), dz, m->xs + m->NL * NBT * D, m->meanf, m->rstdf,
                          P(m->ilnfw), BT, D);

    for (int l = m->NL - 1; l >= 0; l--) {
        const sa_block_ix *bx = &m->blk[l];
        const float *xin = m->xs + l * NBT * D;
        const float *ln1 = blk(m->ln1, l, m, D), *qkv = blk(m->qkv, l, m, 3 * (size_t)D);
        const float *o = blk(m->o, l, m, D), *xmid = blk(m->xmid, l, m, D);
        const float *ln2 = blk(m->ln2, l, m, D), *hpre = blk(m->hpre, l, m, F), *gact = blk(m->gact, l, m, F);
        const float *att = blk(m->att, l, m, (size_t)H * T);
        /* x_{l+1} = x' + GELU(h) W2^T + b2, h = LN2(x') W1^T + b1: dx holds dL/dx_{l+1}, which is also
         * the residual's share of dL/dx' */
        memset(m->df1, 0, sizeof(float) * BT * F);
        sc_linear_backward(m->df1, G(bx->W2), G(bx->b2), m->dx, gact, P(bx->W2), BT, F, D);
        sc_gelu_backward_inplace(m->df1, hpre, BT * F);  /* df1 = dL/dh */
        memset(m->da, 0, sizeof(float) * BT * D);
        sc_linear_backward(m->da, G(bx->W1), G(bx->b1), m->df1, ln2, P(bx->W1), BT, D, F);
        sc_layernorm_backward(m->dx, G(bx->ln2w), G(bx->ln2b), m->da, xmid, blk(m->mean2, l, m, 1),
                              blk(m->rstd2, l, m, 1), P(bx->ln2w), BT, D);  /* dx = dL/dx' */
        /* x' = x + o Wo^T + bo */
        memset(m->da, 0, sizeof(float) * BT * D);
        sc_linear_backward(m->da, G(bx->Wo), G(bx->bo), m->dx, o, P(bx->Wo), BT, D, D);
        /* o = MHA(q, k, v) */
        /* (dL/dq, dL/dk, dL/dv written straight into the column blocks of dL/d[q k v]: no zeroing) */
        sc_mha_backward_ld(m->wide, m->wide + D, m->wide + 2 * D, m->da, D, att, qkv, 3 * D, qkv + D, qkv + 2 * D,
                           3 * D, m->mha_scratch, B, T, T, H, hs, 1);
        /* [q k v] = LN1(x) Wqkv^T + bqkv */
        memset(m->da, 0, sizeof(float) * BT * D);
        sc_linear_backward(m->da, G(bx->Wqkv), G(bx->bqkv), m->wide, ln1, P(bx->Wqkv), BT, D, 3 * D);
        sc_layernorm_backward(m->dx, G(bx->ln1w), G(bx->ln1b), m->da, xin, blk(m->mean1, l, m, 1),
                              blk(m->rstd1, l, m, 1), P(bx->ln1w), BT, D);  /* dx = dL/dx_l */
    }

    /* x_0 = patches We^T + be + pos; the patches are data */
    sc_linear_backward(NULL, G(m->iWe), G(m->ibe), m->dx, m->xp, P(m->iWe), BT, m->P, D);
    if (m->ipos >= 0) {
        float *dpos = G(m->ipos);
        for (int b = 0; b < B; b++) add_into(dpos, m->dx + (size_t)b * T * D, (size_t)T * D);
    }
}

/* ---- inference ------------------------------------------------------------------------ */

int sc_sa_predict(sc_sa *m, const float *x, const int *labels, int B, float *logp_out, int *pred_out) {
    int rc = sc_sa_forward(m, x, NULL, B, NULL);
    if (rc != SC_OK) return rc;
    if (logp_out) memcpy(logp_out, m->logp, sizeof(float) * B * m->C);
    int correct = 0;
    for (int b = 0; b < B; b++) {
        if (pred_out) pred_out[b] = m->pred[b];
        correct += labels && labels[b] == m->pred[b];
    }
    return correct;
}

/* ---- the patch transformer's row of the model table (agent/kind.h) ------------------------ */

static sc_cost sa_cost(const void *cfg) { return sc_cost_selfattn(cfg); }

static int sa_create(void **impl, const void *cfg, sc_model_info *info, sc_err *err) {
    const sc_sa_cfg *c = cfg;
    info->num_classes = c->num_classes;
    info->max_batch = c->max_batch;
    info->image_floats = (size_t)c->img_h * c->img_w * sc_kind_channels(c->channels);
    info->steps = c->heads;  /* the heads are the trace's steps */
    info->trajectories = 1;
    info->locations = sc_sa_tokens(c);
    sc_sa *m = NULL;
    int rc = sc_sa_create(&m, c, err);
    *impl = m;
    return rc;
}

static void sa_free(void *impl) { sc_sa_free(impl); }
static sc_params *sa_params(void *impl) { return sc_sa_params(impl); }
static void sa_init_params(void *impl, sc_rng *r) { sc_sa_init_params(impl, r); }
static const float *sa_grid(const void *impl) { return sc_sa_grid(impl); }

static int sa_forward(void *impl, const float *x, const int *labels, int B, float std, sc_rng *r,
                      sc_model_stats *st) {
    (void)std, (void)r;
    return sc_sa_forward(impl, x, labels, B, st);
}

static int sa_backward(void *impl, const int *labels, int B, float std) {
    (void)std;
    sc_sa_backward(impl, labels, B);
    return SC_OK;
}

/* deterministic: one pass whatever M */
static int sa_predict(void *impl, const float *x, const int *labels, int B, int M, float std, sc_rng *r,
                      float *logp_avg, int *pred) {
    (void)M, (void)std, (void)r;
    return sc_sa_predict(impl, x, labels, B, logp_avg, pred);
}

/* The heads as steps: per head h, the logged attention over the T patches
 * (sc_sa_logged_attention), its weighted mean patch centre, and the final
 * probabilities. Allocates one example's (H, T) attention for the call. */
static int sa_trace(void *impl, const float *x, int B, float std, sc_rng *r, float *probs, float *loc,
                    float *att, int *pred, sc_err *err) {
    (void)std, (void)r;
    sc_sa *m = impl;
    const int H = m->H, T = m->T, C = m->C;
    float *one = malloc(sizeof(float) * (size_t)H * T);
    if (!one) return sc_errf(err, SC_ENOMEM, "selfattn trace: out of memory for %d x %d attention weights", H, T);
    int rc = sc_sa_forward(m, x, NULL, B, NULL);
    if (rc != SC_OK) {
        free(one);
        return sc_errf(err, rc, "selfattn trace: forward pass of %d images failed", B);
    }
    const float *grid = m->grid, *lp = m->logp;
    for (int b = 0; b < B; b++) {
        sc_sa_logged_attention(m, b, one);
        for (int h = 0; h < H; h++) {
            const float *ph = one + (size_t)h * T;
            const size_t bh = (size_t)b * H + h;
            if (att) memcpy(att + bh * T, ph, sizeof(float) * T);
            if (loc) sc_kind_mean_location(loc + bh * 2, ph, grid, T);
            if (probs) sc_kind_probs(probs + bh * C, lp + (size_t)b * C, C);
        }
        if (pred) pred[b] = sc_kind_argmax(lp + (size_t)b * C, C);
    }
    free(one);
    return SC_OK;
}

static int sa_check(const void *cfg, const char *canvas, char *msg, size_t n) {
    const sc_sa_cfg *c = cfg;
    if (sc_kind_check_channels(c->channels, canvas, msg, n) < 0) return -1;
    const int sides[2] = {c->img_w, c->img_h};  /* the patches tile each axis */
    for (int a = 0; a < 2; a++)
        if (c->patch >= 1 && sides[a] % c->patch != 0)
            return snprintf(msg, n, "[model] patch = %d with a %d-pixel canvas ([data] canvas = %s): the patches "
                            "must tile the canvas, expected a patch that divides %d", c->patch, sides[a], canvas,
                            sides[a]), -1;
    if (c->heads >= 1 && c->d_model % c->heads != 0)
        return snprintf(msg, n, "[model] d_model = %d with heads = %d: each head takes d_model / heads columns, "
                        "expected d_model a multiple of heads", c->d_model, c->heads), -1;
    if (c->pos_enc == SC_SA_POS_SIN2D && c->d_model % 4 != 0)
        return snprintf(msg, n, "[model] d_model = %d with pos_enc = sin2d: sines and cosines of x and y take a "
                        "quarter each, expected d_model a multiple of 4", c->d_model), -1;
    const int tokens = c->patch >= 1 ? (c->img_w / c->patch) * (c->img_h / c->patch) : 0;
    if (c->patch >= 1 && c->log_token >= tokens)
        return snprintf(msg, n, "[log] attn_token = %d: the canvas has %d tokens of %dx%d pixels, expected -1 (the "
                        "centre) or 0..%d", c->log_token, tokens, c->patch, c->patch, tokens - 1), -1;
    return 0;
}

static void sa_describe(const void *cfg, char *model, size_t mn, char *looks, size_t ln) {
    const sc_sa_cfg *c = cfg;
    /* the token grid, columns x rows */
    const int gw = c->patch > 0 ? c->img_w / c->patch : 0, gh = c->patch > 0 ? c->img_h / c->patch : 0;
    const char *pos = c->pos_enc == SC_SA_POS_SIN2D ? " pos sin2d" : c->pos_enc == SC_SA_POS_NONE ? " pos none" : "";
    snprintf(model, mn, "selfattn %dx%d p%d d%d h%d x%d %s%s%s", gw, gh, c->patch, c->d_model, c->heads, c->blocks,
             c->readout == SC_SA_READOUT_MEAN ? "mean" : "query", pos, c->causal ? " causal" : "");
    snprintf(looks, ln, "%d patches %dx%d", gw * gh, c->patch, c->patch);
}

static void sa_footprint(const void *cfg, int *g, int *k) {
    const sc_sa_cfg *c = cfg;
    *g = c->patch;  /* the heat map's square: a patch */
    *k = 1;
}

const sc_model_ops sc_sa_ops = {
    .name = "selfattn",
    .cfg_offset = offsetof(sc_model_cfg, selfattn),
    .caps = SC_KIND_TRAJECTORIES | SC_KIND_WEIGHTS | SC_KIND_WIDE,
    .max_threads = SC_POOL_MAX,  /* model.c's data-parallel copies */
    .batch_offset = offsetof(sc_sa_cfg, max_batch),
    .legend = "self-attention",
    .step_name = "self-attention, head",
    .step_unit = "head",
    .check = sa_check,
    .describe = sa_describe,
    .footprint = sa_footprint,
    .grid_at = NULL,  /* its patches follow [model] patch, not a grid key */
    .cost = sa_cost,
    .create = sa_create,
    .free = sa_free,
    .params = sa_params,
    .init_params = sa_init_params,
    .grid = sa_grid,
    .set_threads = NULL,       /* the default: model.c's data-parallel copies */
    .baseline_ema = NULL,      /* no baseline */
    .set_baseline_ema = NULL,
    .forward = sa_forward,
    .backward = sa_backward,
    .set_span = NULL,          /* one process */
    .predict = sa_predict,
    .trace = sa_trace,
};
