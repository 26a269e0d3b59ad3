/* ram.c - the recurrent attention model: forward, backward, inference.
 * The equations are in ram.h; dimension letters: B batch, T glimpses,
 * G = k g g ch retina values (ch canvas channels), HG/HL glimpse/location
 * hidden, HC = HG + HL, GO glimpse output, H core, LH location-MLP hidden,
 * C classes, NB max batch.
 *
 * How it is laid out for speed:
 * - The batch is split into W contiguous blocks of rows, one per worker
 *   (W = 1 unless sc_ram_set_workers asked for more); worker 0 is the calling
 *   thread, the others are started once and wait on a condition variable. A
 *   worker owns a workspace: its activations stored compactly as (T, Bk, *)
 *   for its Bk rows, backward scratch, and (workers 1..W-1) a private gradient
 *   buffer that the caller adds into the parameter store's after the
 *   backward, in worker order, so a given W always gives the same numbers.
 * - All random draws of a forward are made up front on the caller's thread,
 *   in the order the sequential algorithm makes them (l_0, then the noise of
 *   each step), so the samples do not depend on W.
 * - The backward runs the recurrence (what must be sequential: dh_t ->
 *   dh_{t-1}) with one or two products per glimpse, and leaves every weight
 *   gradient for afterwards, where one product over all T Bk rows replaces T
 *   small ones (dWx, dWh, dWa, dWg, dWl and the location/baseline heads; the
 *   LSTM core keeps its per-glimpse sc_lstm_backward).
 * - The location net's and baseline's outputs (2 and 1 wide) are dot
 *   products per row rather than sgemm calls of width 1 or 2.
 * - [hg, hl] is written in place into one (Bk, HC) row block, so the glimpse
 *   layer reads it without a copy; bias and ReLU are one pass after the sgemm.
 * - Elementwise loops (bias + ReLU, ReLU masks, column sums) work on 16
 *   floats at a time with GCC's vector extension.
 * - Across processes (sc_ram_set_span, agent/span.h) the W threads are
 *   workers first .. first + W - 1 of V: they compute those rows only; after
 *   the forward every worker's rows of the shared outputs are packed into one
 *   block each (xbuf) and all-gathered, after the backward the V gradients
 *   are summed in worker order by the span's ordered_sum.
 * Public per-step outputs (locations, samples, mu, baseline, log pi, step
 * log-probabilities) stay (T, NB, *) as ram.h documents.
 * At the end: the RAM's row of the model table (agent/kind.h, sc_ram_ops),
 * with its thread policy (data-parallel workers) and its trace layout.
 */
#include <cblas.h> /* first: openblas_config.h needs _GNU_SOURCE before any libc header */

#include "ram.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "env/retina.h"
#include "kind.h"
#include "nets/blas.h"
#include "nets/layers.h"
#include "nets/pool.h"
#include "nets/vecmath.h"
#include "policy.h"

#define MAX_WORKERS SC_POOL_MAX

/* One worker's memory. Forward buffers are (T, Bk, *) for the Bk rows of the
 * current batch (the stride is Bk, not nb), so a (T Bk, *) view of all steps
 * is one matrix. */
typedef struct ram_ws {
    int nb;                 /* rows it can hold */
    int b0, B;              /* rows [b0, b0 + B) of the current batch */
    float *mem;
    float *lc, *rho, *cat, *g, *h, *cc, *gates, *lz;             /* (T, Bk, *) */
    float *logits, *dlogits, *dh, *dhprev, *dc, *dcprev, *dg;    /* (Bk, *) */
    float *dgpre, *dbig, *dmupre, *dbase, *weight, *core_scratch;
    float *dhrf;            /* (T, Bk, H): REINFORCE's dL/dh_t (reinforce_full), else NULL */
    float *grad;            /* private gradients (workers >= 1), NULL for worker 0 */
    double xent;            /* mean cross-entropy of its rows in the last forward */
} ram_ws;

typedef enum { JOB_FORWARD = 0, JOB_BACKWARD = 1 } ram_job;

struct sc_ram {
    sc_ram_cfg c;
    sc_params ps;
    int G, HC, NB;  /* retina size, concat width, max batch */
    /* parameter indices */
    int iWg, ibg, iWl, ibl, iWa, iba, iWx, iWh, ibh, iL1w, iL1b, iL2w, iL2b, iBw, iBb, iCw, iCb;
    /* shared outputs: (T, NB, *) and (NB, *) */
    float *shared;
    float *loc, *samp, *noise, *mu, *base, *logpi, *logp, *step_logp, *reward;
    int *pred;
    int last_B, last_has_labels, step_probs;
    double base_ema;    /* the ema baseline (NaN before its first update) */
    double *rfg;        /* 2 (2 LIN + 2): one example's REINFORCE gradient on loc.W2/b2, and their sum */
    sc_ram_prof *prof;  /* profiling accumulator (worker 0's view), NULL when off */
    /* workers */
    int W;
    int V, first;       /* all workers and this process's first (V = W, first = 0 without a span) */
    int span_on;
    sc_span span;
    unsigned char *xbuf; /* V blocks of xblock bytes: each worker's packed rows (span only) */
    size_t xblock;
    ram_ws ws[MAX_WORKERS];
    sc_pool *pool;      /* the W workers (NULL: one, the caller) */
    /* the current job's arguments */
    ram_job job;
    const float *x, *fixed;
    const int *labels;
    float std;
    int B;
};

static double clock_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* PROF(field) adds the time since the last mark to prof->field (prof is a
 * local: worker 0's accumulator or NULL). */
#define PROF_START double prof_t = prof ? clock_s() : 0.0
#define PROF(field) do { if (prof) { double prof_n = clock_s(); prof->field += prof_n - prof_t; prof_t = prof_n; } } while (0)

void sc_ram_profile(sc_ram *m, sc_ram_prof *p) { m->prof = p; }

/* ---- parameters ------------------------------------------------------------ */

/* Declares a tensor; fan_in is its layer's input width (a bias's too), used by
 * sc_params_init_linear. */
static int add(sc_ram *m, const char *name, int rows, int cols, int fan_in, int *idx, sc_err *err) {
    int i = sc_params_add(&m->ps, name, rows, cols, err);
    if (i < 0) return i;
    *idx = i;
    return sc_params_set_fan_in(&m->ps, i, fan_in, err);
}

static int declare_params(sc_ram *m, sc_err *err) {
    const sc_ram_cfg *c = &m->c;
    int gates = c->core == SC_CORE_LSTM ? 4 * c->hidden : c->hidden;
    int rc;
    sc_params_init(&m->ps);
    m->iL1w = m->iL1b = m->iL2w = m->iL2b = m->iBw = m->iBb = -1;
#define ADD(name, r, k, fan, ix) if ((rc = add(m, name, r, k, fan, &m->ix, err)) != SC_OK) return rc
    const int LIN = c->loc_mlp ? c->loc_net_hidden : c->hidden;  /* input of loc.W2 */
    ADD("glimpse.Wg", c->glimpse_hidden, m->G, m->G, iWg);
    ADD("glimpse.bg", 1, c->glimpse_hidden, m->G, ibg);
    ADD("glimpse.Wl", c->loc_hidden, 2, 2, iWl);
    ADD("glimpse.bl", 1, c->loc_hidden, 2, ibl);
    ADD("glimpse.Wa", c->glimpse_out, m->HC, m->HC, iWa);
    ADD("glimpse.ba", 1, c->glimpse_out, m->HC, iba);
    ADD("core.Wx", gates, c->glimpse_out, c->glimpse_out, iWx);
    ADD("core.Wh", gates, c->hidden, c->hidden, iWh);
    ADD("core.b", 1, gates, c->hidden, ibh);
    if (c->reinforce) {
        if (c->loc_mlp) {
            ADD("loc.W1", c->loc_net_hidden, c->hidden, c->hidden, iL1w);
            ADD("loc.b1", 1, c->loc_net_hidden, c->hidden, iL1b);
        }
        ADD("loc.W2", 2, LIN, LIN, iL2w);
        ADD("loc.b2", 1, 2, LIN, iL2b);
        if (c->baseline && c->baseline_kind == SC_BASELINE_STATE) {
            ADD("baseline.W", 1, c->hidden, c->hidden, iBw);
            ADD("baseline.b", 1, 1, c->hidden, iBb);
        } else if (c->baseline && c->baseline_kind == SC_BASELINE_CONSTANT) {
            ADD("baseline.b", 1, 1, 1, iBb);
        }
    }
    ADD("action.W", c->num_classes, c->hidden, c->hidden, iCw);
    ADD("action.b", 1, c->num_classes, c->hidden, iCb);
#undef ADD
    return sc_params_alloc(&m->ps, err);
}

#define P(ix) sc_params_data(&m->ps, m->ix)
/* gradient of parameter ix in gradient buffer gb */
#define D(gb, ix) ((gb) + m->ps.p[m->ix].offset)

/* ---- elementwise kernels ------------------------------------------------------ *
 * 16 floats at a time (nets/vecmath.h), then a scalar tail; -O2 does not
 * vectorise loops of unknown length by itself. keep_pos(s, v) is exactly
 * v > 0 ? s : +0 per lane. */

/* out[r, j] = max(out[r, j] + bias[j], 0) for r < rows, j < n; rows ld apart. */
static void bias_relu(float *out, int ld, const float *bias, int rows, int n) {
    for (int r = 0; r < rows; r++) {
        float *o = out + (size_t)r * ld;
        int j = 0;
        for (; j + 16 <= n; j += 16) {
            vf16 v = ld16(o + j) + ld16(bias + j);
            st16(o + j, keep_pos(v, v));
        }
        for (; j < n; j++) {
            float v = o[j] + bias[j];
            o[j] = v > 0.0f ? v : 0.0f;
        }
    }
}

/* d[i] = a[i] > 0 ? s[i] : 0 for i < n (the backward of a ReLU whose output is a; d may be s). */
static void relu_mask(float *d, const float *s, const float *a, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) st16(d + i, keep_pos(ld16(s + i), ld16(a + i)));
    for (; i < n; i++) d[i] = a[i] > 0.0f ? s[i] : 0.0f;
}

/* d[i] += s[i] for i < n. */
static void add_into(float *d, const float *s, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) st16(d + i, ld16(d + i) + ld16(s + i));
    for (; i < n; i++) d[i] += s[i];
}

/* db[j] += sum_r d[r, j] for r < rows, j < n; rows ld apart (rows in order). */
static void col_sums(float *db, const float *d, int ld, int rows, int n) {
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        vf16 acc = ld16(db + j);
        for (int r = 0; r < rows; r++) acc += ld16(d + (size_t)r * ld + j);
        st16(db + j, acc);
    }
    for (; j < n; j++) {
        float acc = db[j];
        for (int r = 0; r < rows; r++) acc += d[(size_t)r * ld + j];
        db[j] = acc;
    }
}

/* sum_i a[i] b[i] for i < n, in 16 partial sums. */
static float dot(const float *a, const float *b, int n) {
    vf16 acc = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16) acc += ld16(a + i) * ld16(b + i);
    float s = 0.0f;
    for (int q = 0; q < 16; q++) s += acc[q];
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* out (rows, OUT), ldo apart, = in (rows, IN) @ w^T (OUT, IN); beta 0 or 1. */
static void gemm_nt(float *out, int ldo, const float *in, int ldi, const float *w, int rows, int IN, int OUT,
                    float beta) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, OUT, IN, 1.0f, in, ldi, w, IN, beta, out, ldo);
}

/* out (rows, IN) = dout (rows, OUT) @ w (OUT, IN)  (the input gradient, overwritten). */
static void gemm_nn(float *out, const float *dout, const float *w, int rows, int IN, int OUT) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, IN, OUT, 1.0f, dout, OUT, w, IN, 0.0f, out, IN);
}

/* dw (OUT, IN) += dout^T (rows, OUT; ldd apart) @ in (rows, IN; ldi apart). */
static void gemm_tn(float *dw, const float *dout, int ldd, const float *in, int ldi, int rows, int IN, int OUT) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OUT, IN, rows, 1.0f, dout, ldd, in, ldi, 1.0f, dw, IN);
}

/* ---- creation ---------------------------------------------------------------- */

static int check_cfg(const sc_ram_cfg *c, sc_err *err) {
#define NEED(cond, what) if (!(cond)) return sc_errf(err, SC_EARG, "ram: invalid configuration: %s", what)
    NEED(c->img_h > 0 && c->img_w > 0, "canvas size must be positive");
    NEED(c->num_classes >= 2, "need at least 2 classes");
    NEED(c->glimpses >= 1, "glimpses must be >= 1");
    NEED(c->glimpse_size >= 1 && c->scales >= 1 && c->scales <= 16, "glimpse size and scales must be positive");
    const int ch = sc_kind_channels(c->channels);
    if (ch < 1 || ch > SC_KIND_CHANNELS_MAX)
        return sc_errf(err, SC_EARG, "ram: invalid configuration: channels = %d, expected 1..%d (0 reads as 1)",
                       c->channels, SC_KIND_CHANNELS_MAX);
    NEED(c->glimpse_hidden > 0 && c->loc_hidden > 0 && c->glimpse_out > 0 && c->hidden > 0,
         "layer widths must be positive");
    NEED(!c->loc_mlp || c->loc_net_hidden > 0, "loc_net_hidden must be positive");
    NEED(c->max_batch >= 1, "max_batch must be >= 1");
    NEED(c->core == SC_CORE_RNN || c->core == SC_CORE_LSTM, "core must be rnn or lstm");
    NEED(c->baseline_kind >= SC_BASELINE_STATE && c->baseline_kind <= SC_BASELINE_EMA,
         "baseline kind must be state, constant or ema");
    NEED(c->baseline_kind != SC_BASELINE_EMA || (c->baseline_decay > 0.0f && c->baseline_decay < 1.0f),
         "baseline_decay must be in (0, 1)");
#undef NEED
    return SC_OK;
}

static void ws_free(ram_ws *w) {
    free(w->mem);
    free(w->grad);
    memset(w, 0, sizeof *w);
}

/* Allocates worker k's workspace for nb rows. */
static int ws_alloc(sc_ram *m, ram_ws *w, int nb, int with_grad) {
    const sc_ram_cfg *c = &m->c;
    memset(w, 0, sizeof *w);
    w->nb = nb;
    const size_t T = (size_t)c->glimpses, B = (size_t)nb, H = (size_t)c->hidden, C = (size_t)c->num_classes;
    const int lstm = c->core == SC_CORE_LSTM;
    const size_t LH = c->loc_mlp ? (size_t)c->loc_net_hidden : 0, GO = (size_t)c->glimpse_out;
    const size_t HC = (size_t)m->HC, G = (size_t)m->G;
    size_t big = HC > H ? HC : H;
    if (LH > big) big = LH;
    size_t sizes[] = {
        T * B * 2, T * B * G, T * B * HC, T * B * GO, T * B * H, lstm ? T * B * H : 0, lstm ? T * B * 4 * H : 0,
        T * B * LH,
        B * C, B * C, B * H, B * H, lstm ? B * H : 0, lstm ? B * H : 0, B * GO,
        T * B * GO, T * B * big, T * B * 2, T * B, B, lstm ? B * 4 * H : 0,
        c->reinforce && c->reinforce_full ? T * B * H : 0};
    float **ptrs[] = {&w->lc, &w->rho, &w->cat, &w->g, &w->h, &w->cc, &w->gates, &w->lz,
                      &w->logits, &w->dlogits, &w->dh, &w->dhprev, &w->dc, &w->dcprev, &w->dg,
                      &w->dgpre, &w->dbig, &w->dmupre, &w->dbase, &w->weight, &w->core_scratch, &w->dhrf};
    w->mem = sc_carve(ptrs, sizes, (int)(sizeof sizes / sizeof sizes[0]), NULL);
    if (!w->mem) return SC_ENOMEM;
    if (with_grad) {
        float **gp[] = {&w->grad};
        const size_t gn[] = {m->ps.n};  /* one buffer: w->grad is the allocation itself */
        if (!sc_carve(gp, gn, 1, NULL)) {
            ws_free(w);
            return SC_ENOMEM;
        }
    }
    return SC_OK;
}

int sc_ram_create(sc_ram **out, const sc_ram_cfg *cfg, sc_err *err) {
    *out = NULL;
    int rc = check_cfg(cfg, err);
    if (rc != SC_OK) return rc;
    sc_ram *m = calloc(1, sizeof *m);
    if (!m) return sc_errf(err, SC_ENOMEM, "ram: out of memory allocating the model");
    m->c = *cfg;
    m->G = cfg->scales * cfg->glimpse_size * cfg->glimpse_size * sc_kind_channels(cfg->channels);
    m->HC = cfg->glimpse_hidden + cfg->loc_hidden;
    m->NB = cfg->max_batch;
    m->W = m->V = 1;
    m->base_ema = NAN;
    if ((rc = declare_params(m, err)) != SC_OK) {
        sc_ram_free(m);
        return rc;
    }
    const size_t T = (size_t)cfg->glimpses, B = (size_t)m->NB, C = (size_t)cfg->num_classes;
    size_t sizes[] = {T * B * 2, T * B * 2, T * B * 2, T * B * 2, T * B, T * B, B * C, T * B * C, B};
    float **ptrs[] = {&m->loc, &m->samp, &m->noise, &m->mu, &m->base, &m->logpi, &m->logp, &m->step_logp,
                      &m->reward};
    m->shared = sc_carve(ptrs, sizes, (int)(sizeof sizes / sizeof sizes[0]), NULL);
    m->pred = malloc(B * sizeof(int));
    const size_t LIN = cfg->loc_mlp ? (size_t)cfg->loc_net_hidden : (size_t)cfg->hidden;
    m->rfg = malloc(sizeof(double) * 2 * (2 * LIN + 2));
    if (!m->shared || !m->pred || !m->rfg || ws_alloc(m, &m->ws[0], m->NB, 0) != SC_OK) {
        sc_ram_free(m);
        return sc_errf(err, SC_ENOMEM, "ram: out of memory allocating activations for batch %d", m->NB);
    }
    *out = m;
    return SC_OK;
}

void sc_ram_free(sc_ram *m) {
    if (!m) return;
    sc_pool_free(m->pool);
    for (int k = 0; k < MAX_WORKERS; k++) ws_free(&m->ws[k]);
    free(m->xbuf);
    sc_params_free(&m->ps);
    free(m->shared);
    free(m->pred);
    free(m->rfg);
    free(m);
}

const sc_ram_cfg *sc_ram_config(const sc_ram *m) { return &m->c; }
sc_params *sc_ram_params(sc_ram *m) { return &m->ps; }
const float *sc_ram_logp(const sc_ram *m) { return m->logp; }
const float *sc_ram_locations(const sc_ram *m) { return m->loc; }
const float *sc_ram_samples(const sc_ram *m) { return m->samp; }
const float *sc_ram_step_logp(const sc_ram *m) { return m->step_logp; }
void sc_ram_step_probs_enable(sc_ram *m, int on) { m->step_probs = on; }
int sc_ram_workers(const sc_ram *m) { return m->W; }

void sc_ram_init_params(sc_ram *m, sc_rng *r) {
    sc_params_init_linear(&m->ps, r);  /* fan-ins recorded by add() */
}

/* ---- forward ---------------------------------------------------------------- */

static float clampf(float v) { return v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : v); }

/* hl (rows, HL; ld apart) = ReLU(l Wl^T + bl) for 2-d l: two multiply-adds per unit. */
static void loc_hidden_forward(float *hl, int ld, const float *l, const float *w, const float *b, int rows,
                               int HL) {
    for (int r = 0; r < rows; r++) {
        const float x = l[2 * r], y = l[2 * r + 1];
        float *o = hl + (size_t)r * ld;
        for (int j = 0; j < HL; j++) {
            float v = (b[j] + x * w[2 * j]) + y * w[2 * j + 1];
            o[j] = v > 0.0f ? v : 0.0f;
        }
    }
}

/* The location net and the baseline on h (rows, H):
 * mu (rows, 2) = tanh(f(h)); base (rows) = h Wb^T + bb, bb, the ema or 0 (see
 * ram.h); lz the MLP layer. */
static void heads_forward(sc_ram *m, float *mu, float *base, float *lz, const float *h, int rows) {
    const sc_ram_cfg *c = &m->c;
    const int H = c->hidden;
    const float *w2 = P(iL2w), *b2 = P(iL2b);
    if (c->loc_mlp) {
        const int LH = c->loc_net_hidden;
        gemm_nt(lz, LH, h, H, P(iL1w), rows, H, LH, 0.0f);
        bias_relu(lz, LH, P(iL1b), rows, LH);
        for (int r = 0; r < rows; r++) {
            const float *z = lz + (size_t)r * LH;
            mu[2 * r] = tanhf(b2[0] + dot(z, w2, LH));
            mu[2 * r + 1] = tanhf(b2[1] + dot(z, w2 + LH, LH));
        }
    } else {
        for (int r = 0; r < rows; r++) {
            const float *hr = h + (size_t)r * H;
            mu[2 * r] = tanhf(b2[0] + dot(hr, w2, H));
            mu[2 * r + 1] = tanhf(b2[1] + dot(hr, w2 + H, H));
        }
    }
    if (c->baseline && c->baseline_kind == SC_BASELINE_STATE) {
        const float *wb = P(iBw), bb = P(iBb)[0];
        for (int r = 0; r < rows; r++) base[r] = bb + dot(h + (size_t)r * H, wb, H);
    } else if (c->baseline && c->baseline_kind != SC_BASELINE_STATE) {
        const float bb = c->baseline_kind == SC_BASELINE_CONSTANT ? P(iBb)[0]
                         : isnan(m->base_ema)                     ? 0.0f
                                                                  : (float)m->base_ema;
        for (int r = 0; r < rows; r++) base[r] = bb;
    } else {
        memset(base, 0, sizeof(float) * rows);
    }
}

/* Worker k's forward over its rows [w->b0, w->b0 + w->B). */
static void forward_rows(sc_ram *m, ram_ws *w, sc_ram_prof *prof) {
    const sc_ram_cfg *c = &m->c;
    const int T = c->glimpses, G = m->G, HG = c->glimpse_hidden, HL = c->loc_hidden;
    const int HC = m->HC, GO = c->glimpse_out, H = c->hidden, C = c->num_classes;
    const int LH = c->loc_mlp ? c->loc_net_hidden : 0;
    const int NB = m->NB, Bt = m->B, b0 = w->b0, Bk = w->B;
    const int ch = sc_kind_channels(c->channels);
    const size_t npix = (size_t)c->img_h * c->img_w * ch;
    const float *x = m->x + (size_t)b0 * npix, *fixed = m->fixed;
    const float std = m->std;
    PROF_START;

    /* l_0 */
    {
        float *l = m->loc + (size_t)b0 * 2, *s = m->samp + (size_t)b0 * 2;
        for (int i = 0; i < 2 * Bk; i++) {
            float v = fixed ? fixed[(size_t)b0 * 2 + i] : c->first_center ? 0.0f : m->noise[(size_t)b0 * 2 + i];
            s[i] = v;
            l[i] = fixed ? clampf(v) : v;
        }
    }

    for (int t = 0; t < T; t++) {
        const size_t tk = (size_t)t * Bk, tn = (size_t)t * NB + b0;
        float *lt = w->lc + tk * 2, *rho = w->rho + tk * G, *cat = w->cat + tk * HC;
        float *g = w->g + tk * GO, *h = w->h + tk * H;
        const float *hprev = t ? h - (size_t)Bk * H : NULL;
        memcpy(lt, m->loc + tn * 2, sizeof(float) * 2 * Bk);

        /* glimpse network: cat = [ReLU(rho Wg^T + bg), ReLU(l Wl^T + bl)], g = ReLU(cat Wa^T + ba) */
        sc_retina_extract(rho, x, lt, Bk, c->img_h, c->img_w, ch, c->glimpse_size, c->scales);
        PROF(retina);
        gemm_nt(cat, HC, rho, G, P(iWg), Bk, G, HG, 0.0f);
        bias_relu(cat, HC, P(ibg), Bk, HG);
        loc_hidden_forward(cat + HG, HC, lt, P(iWl), P(ibl), Bk, HL);
        gemm_nt(g, GO, cat, HC, P(iWa), Bk, HC, GO, 0.0f);
        bias_relu(g, GO, P(iba), Bk, GO);
        PROF(glimpse);

        /* core */
        if (c->core == SC_CORE_LSTM) {
            float *ct = w->cc + tk * H;
            const float *cprev = t ? ct - (size_t)Bk * H : NULL;
            sc_lstm_forward(h, ct, w->gates + tk * 4 * H, g, hprev, cprev, P(iWx), P(iWh), P(ibh), Bk, GO, H);
        } else {
            /* h = ReLU(g Wx^T + hprev Wh^T + b) */
            gemm_nt(h, H, g, GO, P(iWx), Bk, GO, H, 0.0f);
            if (hprev) gemm_nt(h, H, hprev, H, P(iWh), Bk, H, H, 1.0f);
            bias_relu(h, H, P(ibh), Bk, H);
        }
        PROF(core);
        if (m->step_probs && t < T - 1) {
            float *sl = m->step_logp + tn * C;
            sc_linear_forward(sl, h, P(iCw), P(iCb), Bk, H, C);
            sc_softmax_xent_forward(sl, sl, NULL, Bk, C);
        }

        /* next location */
        if (t < T - 1) {
            const size_t nn = tn + NB;  /* row b0 of step t+1 */
            float *lnext = m->loc + nn * 2, *snext = m->samp + nn * 2;
            const float *fl = fixed ? fixed + ((size_t)(t + 1) * Bt + b0) * 2 : NULL;
            if (c->reinforce) {
                float *mu = m->mu + tn * 2;
                heads_forward(m, mu, m->base + tn, LH ? w->lz + tk * LH : NULL, h, Bk);
                const float *eps = m->noise + nn * 2;
                for (int i = 0; i < 2 * Bk; i++) {
                    float v = fl ? fl[i] : mu[i] + std * eps[i];  /* s = mu + std eps */
                    snext[i] = v;
                    lnext[i] = clampf(v);
                }
                if (std > 0.0f)
                    sc_policy_logprob(m->logpi + tn, snext, mu, std, Bk, 2);
                else  /* the mean location (evaluation only): a point mass, no density */
                    memset(m->logpi + tn, 0, sizeof(float) * (size_t)Bk);
            } else {
                const float *u = m->noise + nn * 2;
                for (int i = 0; i < 2 * Bk; i++) {
                    float v = fl ? fl[i] : u[i];
                    snext[i] = v;
                    lnext[i] = fl ? clampf(v) : v;
                }
            }
        }
        PROF(heads);
    }

    /* action network */
    const float *hT = w->h + (size_t)(T - 1) * Bk * H;
    float *logp = m->logp + (size_t)b0 * C;
    sc_linear_forward(w->logits, hT, P(iCw), P(iCb), Bk, H, C);
    w->xent = sc_softmax_xent_forward(logp, w->logits, m->labels ? m->labels + b0 : NULL, Bk, C);
    if (m->step_probs)
        memcpy(m->step_logp + ((size_t)(T - 1) * NB + b0) * C, logp, sizeof(float) * Bk * C);
    sc_argmax_rows(m->pred + b0, logp, NULL, Bk, C);
    for (int b = 0; b < Bk; b++)  /* R = 1 for a correct prediction */
        m->reward[b0 + b] = m->labels && m->pred[b0 + b] == m->labels[b0 + b] ? 1.0f : 0.0f;
    PROF(heads);
}

/* ---- backward ---------------------------------------------------------------- */

/* Worker k's backward over its rows, adding into gb (its gradient buffer). */
static void backward_rows(sc_ram *m, ram_ws *w, float *gb, sc_ram_prof *prof) {
    const sc_ram_cfg *c = &m->c;
    const int T = c->glimpses, G = m->G, HG = c->glimpse_hidden, HL = c->loc_hidden;
    const int HC = m->HC, GO = c->glimpse_out, H = c->hidden, C = c->num_classes;
    const int LH = c->loc_mlp ? c->loc_net_hidden : 0;
    const int NB = m->NB, Bt = m->B, b0 = w->b0, Bk = w->B;
    const int *labels = m->labels + b0;
    const float std = m->std;
    PROF_START;

    /* action network: logp = log_softmax(hT Wc^T + bc); the batch mean is over all Bt rows */
    memset(w->dlogits, 0, sizeof(float) * Bk * C);
    sc_softmax_xent_backward(w->dlogits, m->logp + (size_t)b0 * C, labels, Bk, C, (float)Bk / (float)Bt);
    memset(w->dh, 0, sizeof(float) * Bk * H);
    const float *hT = w->h + (size_t)(T - 1) * Bk * H;
    sc_linear_backward(w->dh, D(gb, iCw), D(gb, iCb), w->dlogits, hT, P(iCw), Bk, H, C);

    /* location net (REINFORCE) and baseline (MSE), both on detached h_t (the
     * location net on h_t itself with reinforce_full: dhrf = its dL/dh_t), for
     * all t < T-1 at once: h_0..h_{T-2} are the first (T-1) Bk rows of w->h */
    if (c->reinforce && T > 1) {
        const int R = (T - 1) * Bk;
        const float n = (float)Bt * (T - 1);
        for (int t = 0; t < T - 1; t++) {
            const size_t tn = (size_t)t * NB + b0, tk = (size_t)t * Bk;
            const float *bt = m->base + tn, *mu = m->mu + tn * 2, *s = m->samp + (tn + NB) * 2;
            const float *rw = m->reward + b0;
            /* L_rf = -(w/B) sum_b (R_b - b_b) log pi_b  =>  dL/dmu = -(w/B) (R-b) (s-mu)/std^2 */
            for (int b = 0; b < Bk; b++) w->weight[b] = -c->reinforce_weight * (rw[b] - bt[b]) / (float)Bt;
            float *dmu = w->dg;  /* (Bk, 2) scratch */
            memset(dmu, 0, sizeof(float) * Bk * 2);
            sc_policy_logprob_backward(dmu, s, mu, std, w->weight, Bk, 2);
            float *dpre = w->dmupre + tk * 2;
            memset(dpre, 0, sizeof(float) * Bk * 2);
            sc_tanh_backward(dpre, dmu, mu, Bk * 2);  /* mu = tanh(pre) */
            /* L_b = 1/n sum (b - R)^2  =>  dL/db = 2 (b - R) / n */
            if (c->baseline)
                for (int b = 0; b < Bk; b++) w->dbase[tk + b] = 2.0f * (bt[b] - rw[b]) / n;
        }
        float *dhrf = w->dhrf;  /* NULL: h_t detached */
        if (dhrf) memset(dhrf, 0, sizeof(float) * R * H);
        if (c->loc_mlp) {
            float *dlz = w->dbig;  /* (R, LH) */
            memset(dlz, 0, sizeof(float) * R * LH);
            sc_linear_backward(dlz, D(gb, iL2w), D(gb, iL2b), w->dmupre, w->lz, P(iL2w), R, LH, 2);
            relu_mask(dlz, dlz, w->lz, (size_t)R * LH);
            sc_linear_backward(dhrf, D(gb, iL1w), D(gb, iL1b), dlz, w->h, P(iL1w), R, H, LH);
        } else {
            sc_linear_backward(dhrf, D(gb, iL2w), D(gb, iL2b), w->dmupre, w->h, P(iL2w), R, H, 2);
        }
        if (c->baseline && c->baseline_kind == SC_BASELINE_STATE)
            sc_linear_backward(NULL, D(gb, iBw), D(gb, iBb), w->dbase, w->h, P(iBw), R, H, 1);
        else if (c->baseline && c->baseline_kind == SC_BASELINE_CONSTANT)
            col_sums(D(gb, iBb), w->dbase, 1, R, 1);  /* b = bb  =>  dbb = sum dL/db */
    }
    /* dL/dh_t of steps t < T-1 from REINFORCE, added as BPTT reaches step t */
    const float *dhrf = c->reinforce && T > 1 ? w->dhrf : NULL;

    /* backprop through time: dh holds dL/dh_t (dc dL/dc_t for the lstm); per
     * glimpse only what the recurrence needs, dgpre_t = dL/d(pre-ReLU g_t) kept
     * for the weight gradients below */
    if (c->core == SC_CORE_LSTM) {
        memset(w->dc, 0, sizeof(float) * Bk * H);
        for (int t = T - 1; t >= 0; t--) {
            const size_t tk = (size_t)t * Bk;
            if (dhrf && t < T - 1) add_into(w->dh, dhrf + tk * H, (size_t)Bk * H);
            const float *g = w->g + tk * GO, *hprev = t ? w->h + (tk - Bk) * H : NULL;
            const float *cprev = t ? w->cc + (tk - Bk) * H : NULL;
            memset(w->dg, 0, sizeof(float) * Bk * GO);
            memset(w->dhprev, 0, sizeof(float) * Bk * H);
            memset(w->dcprev, 0, sizeof(float) * Bk * H);
            sc_lstm_backward(w->dg, t ? w->dhprev : NULL, t ? w->dcprev : NULL, D(gb, iWx), D(gb, iWh),
                             D(gb, ibh), w->dh, w->dc, w->gates + tk * 4 * H, w->cc + tk * H, cprev, g, hprev,
                             P(iWx), P(iWh), w->core_scratch, Bk, GO, H);
            relu_mask(w->dgpre + tk * GO, w->dg, g, (size_t)Bk * GO);  /* g = ReLU(.) */
            float *tmp = w->dh; w->dh = w->dhprev; w->dhprev = tmp;
            tmp = w->dc; w->dc = w->dcprev; w->dcprev = tmp;
        }
    } else {
        float *da = w->dbig;  /* (T, Bk, H): dL/d(pre-ReLU h_t) */
        for (int t = T - 1; t >= 0; t--) {
            const size_t tk = (size_t)t * Bk;
            float *dat = da + tk * H;
            if (dhrf && t < T - 1) add_into(w->dh, dhrf + tk * H, (size_t)Bk * H);
            /* h_t = ReLU(a_t)  =>  da_t = dh_t [h_t > 0] */
            relu_mask(dat, w->dh, w->h + tk * H, (size_t)Bk * H);
            /* a_t = g_t Wx^T + h_{t-1} Wh^T + b  =>  dg_t = da_t Wx, dh_{t-1} = da_t Wh */
            gemm_nn(w->dg, dat, P(iWx), Bk, GO, H);
            relu_mask(w->dgpre + tk * GO, w->dg, w->g + tk * GO, (size_t)Bk * GO);
            if (t) gemm_nn(w->dh, dat, P(iWh), Bk, H, H);
        }
        /* dWx += da^T g, dWh += da_{1..}^T h_{..T-2}, db += sum da, over all steps at once */
        gemm_tn(D(gb, iWx), da, H, w->g, GO, T * Bk, GO, H);
        if (T > 1) gemm_tn(D(gb, iWh), da + (size_t)Bk * H, H, w->h, H, (T - 1) * Bk, H, H);
        col_sums(D(gb, ibh), da, H, T * Bk, H);
    }

    /* glimpse network over all steps: g = ReLU(cat Wa^T + ba),
     * cat = [ReLU(rho Wg^T + bg), ReLU(l Wl^T + bl)] */
    const int R = T * Bk;
    gemm_tn(D(gb, iWa), w->dgpre, GO, w->cat, HC, R, HC, GO);
    col_sums(D(gb, iba), w->dgpre, GO, R, GO);
    float *dcat = w->dbig;  /* (R, HC) */
    gemm_nn(dcat, w->dgpre, P(iWa), R, HC, GO);
    relu_mask(dcat, dcat, w->cat, (size_t)R * HC);
    gemm_tn(D(gb, iWg), dcat, HC, w->rho, G, R, G, HG);
    col_sums(D(gb, ibg), dcat, HC, R, HG);
    gemm_tn(D(gb, iWl), dcat + HG, HC, w->lc, 2, R, 2, HL);
    col_sums(D(gb, ibl), dcat + HG, HC, R, HL);
    PROF(backward);
}

/* ---- workers ------------------------------------------------------------------- */

static void run_job(sc_ram *m, int k) {
    ram_ws *w = &m->ws[k];
    const long g = m->first + k;  /* the worker's place in the whole split */
    w->b0 = (int)((long)m->B * g / m->V);
    w->B = (int)((long)m->B * (g + 1) / m->V) - w->b0;
    if (w->B <= 0) return;
    sc_ram_prof *prof = k == 0 ? m->prof : NULL;
    if (m->job == JOB_FORWARD) {
        forward_rows(m, w, prof);
    } else {
        float *gb = k == 0 ? m->ps.grad : w->grad;
        if (k) memset(gb, 0, sizeof(float) * m->ps.n);
        backward_rows(m, w, gb, prof);
    }
}

static void pool_job(void *arg, int k, int workers) {
    (void)workers;  /* m->W */
    run_job(arg, k);
}

/* Runs the current job on every worker (the caller is worker 0) and waits. */
static void dispatch(sc_ram *m, ram_job job) {
    m->job = job;
    sc_pool_run(m->pool, pool_job, m);
}

int sc_ram_set_workers(sc_ram *m, int workers, sc_err *err) {
    if (workers < 1 || workers > MAX_WORKERS)
        return sc_errf(err, SC_EARG, "ram: %d workers (expected 1..%d)", workers, MAX_WORKERS);
    if (workers == m->W) return SC_OK;
    if (m->span_on)
        return sc_errf(err, SC_ESTATE, "ram: the worker count cannot change while the model spans processes");
    sc_pool_free(m->pool);
    m->pool = NULL;
    for (int k = 0; k < MAX_WORKERS; k++) ws_free(&m->ws[k]);
    m->W = m->V = 1;
    const int nb = (m->NB + workers - 1) / workers;
    int rc = SC_OK;
    for (int k = 0; k < workers && rc == SC_OK; k++)
        if (ws_alloc(m, &m->ws[k], workers == 1 ? m->NB : nb, k > 0) != SC_OK)
            rc = sc_errf(err, SC_ENOMEM, "ram: out of memory for %d workers' activations", workers);
    if (rc == SC_OK && workers > 1) rc = sc_pool_create(&m->pool, workers, err);
    if (rc == SC_OK) {
        m->W = m->V = workers;
        return SC_OK;
    }
    for (int j = 0; j < MAX_WORKERS; j++) ws_free(&m->ws[j]);
    ws_alloc(m, &m->ws[0], m->NB, 0);  /* what it held before, at most */
    return rc;
}

/* ---- across processes ------------------------------------------------------------ */

#define MAX_SPAN 4096  /* virtual workers over all processes */

/* Floats per row of a packed block: logp (C), reward, pred (its int's bits),
 * then per step loc, samp, mu (2 each), base, logpi, step_logp (C). */
static size_t row_floats(const sc_ram *m) {
    const size_t T = (size_t)m->c.glimpses, C = (size_t)m->c.num_classes;
    return C + 2 + T * (8 + C);
}

/* A block: the worker's mean cross-entropy (a double), then its rows. */
#define BLOCK_HEAD sizeof(double)

int sc_ram_set_span(sc_ram *m, const sc_span *span, sc_err *err) {
    if (!span) {
        free(m->xbuf);
        m->xbuf = NULL;
        m->span_on = 0;
        m->V = m->W;
        m->first = 0;
        return SC_OK;
    }
    if (span->total < m->W || span->total > MAX_SPAN || span->first < 0 || span->first + m->W > span->total ||
        !span->allgather || !span->ordered_sum)
        return sc_errf(err, SC_EARG, "ram: a span of workers %d..%d of %d (expected within 1..%d, and %d workers "
                       "here)", span->first, span->first + m->W - 1, span->total, MAX_SPAN, m->W);
    const size_t rows = ((size_t)m->NB + span->total - 1) / span->total;
    const size_t block = BLOCK_HEAD + rows * row_floats(m) * sizeof(float);
    unsigned char *buf = malloc(block * span->total);
    if (!buf) return sc_errf(err, SC_ENOMEM, "ram: out of memory for the exchange of %d workers' rows", span->total);
    free(m->xbuf);
    m->xbuf = buf;
    m->xblock = block;
    m->span = *span;
    m->V = span->total;
    m->first = span->first;
    m->span_on = 1;
    return SC_OK;
}

/* Rows [b0, b0 + Bk) of the shared outputs into or out of block p. */
static void rows_copy(sc_ram *m, unsigned char *p, int b0, int Bk, int pack) {
    const int T = m->c.glimpses, C = m->c.num_classes, NB = m->NB;
    float *f = (float *)(void *)(p + BLOCK_HEAD);
#define XFER(dst_or_src, count) do { \
        if (pack) memcpy(f, (dst_or_src), sizeof(float) * (count)); \
        else memcpy((dst_or_src), f, sizeof(float) * (count)); \
        f += (count); } while (0)
    for (int b = b0; b < b0 + Bk; b++) {
        XFER(m->logp + (size_t)b * C, C);
        XFER(m->reward + b, 1);
        XFER(m->pred + b, 1);  /* an int's bits, sizeof(int) == sizeof(float) */
        for (int t = 0; t < T; t++) {
            const size_t tb = (size_t)t * NB + b;
            XFER(m->loc + tb * 2, 2);
            XFER(m->samp + tb * 2, 2);
            XFER(m->mu + tb * 2, 2);
            XFER(m->base + tb, 1);
            XFER(m->logpi + tb, 1);
            if (m->step_probs) XFER(m->step_logp + tb * C, C);
        }
    }
#undef XFER
}

/* After a spanned forward: every worker's rows everywhere, and its cross-entropy into xent[g]. */
static int span_gather(sc_ram *m, double *xent) {
    _Static_assert(sizeof(int) == sizeof(float), "pred travels as a float's bits");
    for (int k = 0; k < m->W; k++) {
        unsigned char *p = m->xbuf + (size_t)(m->first + k) * m->xblock;
        memcpy(p, &m->ws[k].xent, sizeof(double));
        if (m->ws[k].B > 0) rows_copy(m, p, m->ws[k].b0, m->ws[k].B, 1);
    }
    int rc = m->span.allgather(m->span.ctx, m->xbuf, m->xblock);
    if (rc != SC_OK) return rc;
    for (int g = 0; g < m->V; g++) {
        const unsigned char *p = m->xbuf + (size_t)g * m->xblock;
        memcpy(&xent[g], p, sizeof(double));
        if (g >= m->first && g < m->first + m->W) continue;
        int b0 = (int)((long)m->B * g / m->V), b1 = (int)((long)m->B * (g + 1) / m->V);
        if (b1 > b0) rows_copy(m, (unsigned char *)p, b0, b1 - b0, 0);
    }
    return SC_OK;
}

/* ---- the public passes ----------------------------------------------------------- */

/* All random numbers of a forward, drawn in the order of the sequential
 * algorithm: l_0 (uniform, 2B), then per step t < T-1 the policy noise (normal,
 * 2B) or, without REINFORCE, the next uniform location (2B). */
static void draw_noise(sc_ram *m, int B, sc_rng *r) {
    const sc_ram_cfg *c = &m->c;
    if (m->fixed) return;
    if (!c->first_center)
        for (int i = 0; i < 2 * B; i++) m->noise[i] = 2.0f * sc_rng_uniform(r) - 1.0f;
    for (int t = 0; t < c->glimpses - 1; t++) {
        float *e = m->noise + (size_t)(t + 1) * m->NB * 2;
        if (c->reinforce)
            for (int i = 0; i < 2 * B; i++) e[i] = sc_rng_normal(r);
        else
            for (int i = 0; i < 2 * B; i++) e[i] = 2.0f * sc_rng_uniform(r) - 1.0f;
    }
}

/* Each example's REINFORCE gradient on the location network's output layer,
 * g_b = d/d(loc.W2, loc.b2) of -sum_{t<T-1} (R_b - b_bt) log pi_bt, from the
 * last forward's samples, means, baselines, rewards and the inputs x_bt of
 * loc.W2 (h_t, or the hidden layer with loc_net = mlp): per step and
 * coordinate d, u = -(R - b) (s_d - mu_d) / std^2 (1 - mu_d^2) (mu = tanh(.)),
 * and g_b's row d is sum_t u x_bt, its bias d sum_t u. Rows of this process's
 * workers in batch order. out (may be NULL): (B, 2 LIN + 2) floats, [W2 row 0,
 * W2 row 1, b2]. Returns the trace of their covariance over the rows,
 * (1/B) sum_b |g_b|^2 - |(1/B) sum_b g_b|^2 (the variance of one example's
 * estimate; a batch mean's is that over B), in double. */
static double rf_grads(sc_ram *m, float *out) {
    const sc_ram_cfg *c = &m->c;
    const int T = c->glimpses, NB = m->NB, H = c->hidden;
    const int X = c->loc_mlp ? c->loc_net_hidden : H, WD = 2 * X + 2;
    const double inv_var = 1.0 / ((double)m->std * (double)m->std);
    double *g = m->rfg, *gsum = m->rfg + WD, sq = 0.0;
    int rows = 0;
    memset(gsum, 0, sizeof(double) * WD);
    for (int k = 0; k < m->W; k++) {
        const ram_ws *w = &m->ws[k];
        const float *xin = c->loc_mlp ? w->lz : w->h;
        for (int b = 0; b < w->B; b++) {
            const int gb = w->b0 + b;
            memset(g, 0, sizeof(double) * WD);
            for (int t = 0; t < T - 1; t++) {
                const size_t tn = (size_t)t * NB + gb;
                const double a = (double)m->reward[gb] - (double)m->base[tn];
                const float *x = xin + ((size_t)t * w->B + b) * X;
                for (int d = 0; d < 2; d++) {
                    const double mu = m->mu[tn * 2 + d], s = m->samp[(tn + NB) * 2 + d];
                    const double u = -a * (s - mu) * inv_var * (1.0 - mu * mu);
                    double *gr = g + (size_t)d * X;
                    for (int i = 0; i < X; i++) gr[i] += u * x[i];
                    g[2 * X + d] += u;
                }
            }
            for (int i = 0; i < WD; i++) {
                sq += g[i] * g[i];
                gsum[i] += g[i];
            }
            if (out)
                for (int i = 0; i < WD; i++) out[(size_t)rows * WD + i] = (float)g[i];
            rows++;
        }
    }
    if (rows == 0) return NAN;
    double msq = 0.0;
    for (int i = 0; i < WD; i++) msq += (gsum[i] / rows) * (gsum[i] / rows);
    return sq / rows - msq;
}

int sc_ram_reinforce_grads(sc_ram *m, float *out) {
    if (!m->c.reinforce || m->c.glimpses < 2 || !(m->std > 0.0f) || !m->last_has_labels) return SC_EARG;
    rf_grads(m, out);
    return 2 * (m->c.loc_mlp ? m->c.loc_net_hidden : m->c.hidden) + 2;
}

int sc_ram_forward(sc_ram *m, const float *x, const int *labels, int B, float std, sc_rng *r,
                   const float *fixed_loc, sc_model_stats *st) {
    const sc_ram_cfg *c = &m->c;
    if (B < 1 || B > m->NB || !(std >= 0.0f))
        return SC_EARG;
    const int T = c->glimpses, NB = m->NB;
    m->last_B = B;
    m->last_has_labels = labels != NULL;
    m->x = x;
    m->labels = labels;
    m->fixed = fixed_loc;
    m->std = std;
    m->B = B;
    draw_noise(m, B, r);
    dispatch(m, JOB_FORWARD);

    double xent = 0.0;
    int correct = 0;
    if (m->span_on) {
        double vx[MAX_SPAN];
        int rc = span_gather(m, vx);
        if (rc != SC_OK) return rc;
        /* the threads' sum below, over all V workers */
        for (int g = 0; g < m->V; g++) {
            int Bg = (int)((long)B * (g + 1) / m->V) - (int)((long)B * g / m->V);
            if (Bg > 0) xent += m->V == 1 ? vx[g] : vx[g] * Bg / B;
        }
    } else {
        for (int k = 0; k < m->W; k++)
            if (m->ws[k].B > 0) xent += m->W == 1 ? m->ws[k].xent : m->ws[k].xent * m->ws[k].B / B;
    }
    for (int b = 0; b < B; b++) correct += labels && m->pred[b] == labels[b];
    if (!labels || !st) return SC_OK;

    sc_model_stats_clear(st);  /* the attention terms stay NaN */
    st->xent = xent;
    st->correct = correct;
    st->reward = (double)correct / B;
    st->reinforce = st->baseline_mse = st->adv_var = st->mu_abs = st->mu_spread = 0.0;  /* without REINFORCE or T = 1 */
    st->rf_grad_var = 0.0;
    if (c->reinforce && T > 1) {
        double rf = 0.0, mse = 0.0, m1 = 0.0, m2 = 0.0;
        for (int t = 0; t < T - 1; t++) {
            const float *bt = m->base + (size_t)t * NB, *lp = m->logpi + (size_t)t * NB;
            for (int b = 0; b < B; b++) {
                double a = (double)m->reward[b] - (double)bt[b];
                rf -= a * lp[b];
                mse += a * a;
                m1 += a;
                m2 += a * a;
            }
        }
        const double n = (double)B * (T - 1);
        st->reinforce = rf / B;
        st->baseline_mse = mse / n;
        st->adv_var = m2 / n - (m1 / n) * (m1 / n);
        double mabs = 0.0, spread = 0.0;
        for (int t = 0; t < T - 1; t++)
            for (int d = 0; d < 2; d++) {
                double s1 = 0.0, s2 = 0.0;
                for (int b = 0; b < B; b++) {
                    double v = m->mu[((size_t)t * NB + b) * 2 + d];
                    s1 += v;
                    s2 += v * v;
                    mabs += fabs(v);
                }
                double var = s2 / B - (s1 / B) * (s1 / B);
                spread += sqrt(var > 0.0 ? var : 0.0);
            }
        st->mu_abs = mabs / (2.0 * n);
        st->mu_spread = spread / (2.0 * (T - 1));
        if (std > 0.0f) st->rf_grad_var = rf_grads(m, NULL);
    }
    return SC_OK;
}

int sc_ram_backward(sc_ram *m, const int *labels, int B, float std) {
    if (!(std > 0.0f) && m->c.reinforce) return SC_EARG;  /* REINFORCE's (s - mu) / std^2 needs a std */
    m->labels = labels;
    m->std = std;
    m->B = B;
    dispatch(m, JOB_BACKWARD);
    /* worker k's gradients into the store, k = 1, 2, ... in order */
    float *g = m->ps.grad;
    const size_t n = m->ps.n;
    /* the ema baseline learns from the batch just trained on (its rewards are the
     * whole batch's on every rank): b <- d b + (1 - d) mean R */
    const sc_ram_cfg *c = &m->c;
    if (c->reinforce && c->baseline && c->baseline_kind == SC_BASELINE_EMA && m->last_has_labels) {
        double r = 0.0;
        for (int b = 0; b < B; b++) r += m->reward[b];
        r /= B;
        const double d = c->baseline_decay;
        m->base_ema = isnan(m->base_ema) ? r : d * m->base_ema + (1.0 - d) * r;
    }
    if (m->span_on) {
        float *own[MAX_WORKERS];
        for (int k = 0; k < m->W; k++) own[k] = m->ws[k].B > 0 ? (k ? m->ws[k].grad : g) : NULL;
        return m->span.ordered_sum(m->span.ctx, g, own, m->W, n);
    }
    for (int k = 1; k < m->W; k++)
        if (m->ws[k].B > 0) add_into(g, m->ws[k].grad, n);
    return SC_OK;
}

double sc_ram_baseline_ema(const sc_ram *m) { return m->base_ema; }
void sc_ram_set_baseline_ema(sc_ram *m, double b) { m->base_ema = b; }

/* ---- inference ---------------------------------------------------------------- */

int sc_ram_predict(sc_ram *m, const float *x, const int *labels, int B, int M, float std,
                   sc_rng *r, float *logp_avg, int *pred) {
    const int C = m->c.num_classes;
    if (M < 1) return SC_EARG;
    memset(logp_avg, 0, sizeof(float) * B * C);
    for (int s = 0; s < M; s++) {
        int rc = sc_ram_forward(m, x, NULL, B, std, r, NULL, NULL);
        if (rc != SC_OK) return rc;
        for (int i = 0; i < B * C; i++) logp_avg[i] += m->logp[i] / (float)M;
    }
    return sc_argmax_rows(pred, logp_avg, labels, B, C);
}

double sc_ram_macs(const sc_ram_cfg *c) {
    const double T = c->glimpses;
    const double G = (double)c->scales * c->glimpse_size * c->glimpse_size * sc_kind_channels(c->channels);
    const double HG = c->glimpse_hidden, HL = c->loc_hidden, GO = c->glimpse_out, H = c->hidden;
    const double gates = c->core == SC_CORE_LSTM ? 4.0 * H : H;
    double per_glimpse = G * HG + 2.0 * HL + (HG + HL) * GO + GO * gates + H * gates;
    double loc = 0.0;
    if (c->reinforce) {
        loc = c->loc_mlp ? H * c->loc_net_hidden + c->loc_net_hidden * 2.0 : H * 2.0;
        if (c->baseline && c->baseline_kind == SC_BASELINE_STATE) loc += H;
    }
    return T * per_glimpse + (T - 1) * loc + H * c->num_classes;
}

/* ---- the RAM's row of the model table (agent/kind.h) ---------------------------------- */

static sc_cost ram_cost(const void *cfg) { return sc_cost_ram(cfg); }

static int ram_create(void **impl, const void *cfg, sc_model_info *info, sc_err *err) {
    const sc_ram_cfg *c = cfg;
    info->num_classes = c->num_classes;
    info->max_batch = c->max_batch;
    info->image_floats = (size_t)c->img_h * c->img_w * sc_kind_channels(c->channels);
    info->steps = c->glimpses;
    info->stochastic = 1;
    info->reinforce = c->reinforce;
    info->trajectories = 1;
    sc_ram *m = NULL;
    int rc = sc_ram_create(&m, c, err);
    *impl = m;
    return rc;
}

static void ram_free(void *impl) { sc_ram_free(impl); }
static sc_params *ram_params(void *impl) { return sc_ram_params(impl); }
static void ram_init_params(void *impl, sc_rng *r) { sc_ram_init_params(impl, r); }

/* data-parallel workers, each calling OpenBLAS from its own thread */
static int ram_set_threads(void *impl, int threads, sc_model_info *info, sc_err *err) {
    if (threads < 1 || threads > 64)
        return sc_errf(err, SC_EARG, "ram: %d threads, expected 1..64 data-parallel workers", threads);
    int rc = sc_ram_set_workers(impl, threads, err);
    info->workers = sc_ram_workers(impl);
    sc_blas_set_threads(1);
    return rc;
}

static double ram_baseline_ema(const void *impl) { return sc_ram_baseline_ema(impl); }
static void ram_set_baseline_ema(void *impl, double b) { sc_ram_set_baseline_ema(impl, b); }

static int ram_forward(void *impl, const float *x, const int *labels, int B, float std, sc_rng *r,
                       sc_model_stats *st) {
    return sc_ram_forward(impl, x, labels, B, std, r, NULL, st);
}

static int ram_backward(void *impl, const int *labels, int B, float std) {
    return sc_ram_backward(impl, labels, B, std);
}

static int ram_set_span(void *impl, const sc_span *span, sc_err *err) { return sc_ram_set_span(impl, span, err); }

static int ram_predict(void *impl, const float *x, const int *labels, int B, int M, float std, sc_rng *r,
                       float *logp_avg, int *pred) {
    return sc_ram_predict(impl, x, labels, B, M, std, r, logp_avg, pred);
}

/* One forward with every step's classifier on: per step the location looked
 * at and the probabilities, the last step's argmax the prediction. */
static int ram_trace(void *impl, const float *x, int B, float std, sc_rng *r, float *probs, float *loc,
                     float *att, int *pred, sc_err *err) {
    (void)att;
    sc_ram *m = impl;
    const int T = m->c.glimpses, C = m->c.num_classes, NB = m->c.max_batch;
    sc_ram_step_probs_enable(m, 1);
    int rc = sc_ram_forward(m, x, NULL, B, std, r, NULL, NULL);
    sc_ram_step_probs_enable(m, 0);
    if (rc != SC_OK) return sc_errf(err, rc, "ram trace: forward pass of %d images failed", B);
    const float *l = sc_ram_locations(m), *slp = sc_ram_step_logp(m);
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const size_t tb = (size_t)t * NB + b, bt = (size_t)b * T + t;
            if (loc) {
                loc[bt * 2 + 0] = l[tb * 2 + 0];
                loc[bt * 2 + 1] = l[tb * 2 + 1];
            }
            if (probs) sc_kind_probs(probs + bt * C, slp + tb * C, C);
        }
        if (pred) pred[b] = sc_kind_argmax(slp + ((size_t)(T - 1) * NB + b) * C, C);
    }
    return SC_OK;
}

static int ram_check(const void *cfg, const char *canvas, char *msg, size_t n) {
    const sc_ram_cfg *c = cfg;
    if (sc_kind_check_channels(c->channels, canvas, msg, n) < 0) return -1;
    return sc_kind_check_sensor(c->glimpse_size, c->scales, c->img_h > c->img_w ? c->img_h : c->img_w, canvas, msg,
                                n);
}

static void ram_describe(const void *cfg, char *model, size_t mn, char *looks, size_t ln) {
    const sc_ram_cfg *c = cfg;
    char scales[24] = "";
    if (c->scales > 1) snprintf(scales, sizeof scales, ", %d scales", c->scales);
    snprintf(model, mn, "ram%s", c->reinforce ? "" : " (random glimpses)");
    snprintf(looks, ln, "%d x %dx%d%s", c->glimpses, c->glimpse_size, c->glimpse_size, scales);
}

static void ram_footprint(const void *cfg, int *g, int *k) {
    const sc_ram_cfg *c = cfg;
    *g = c->glimpse_size;
    *k = c->scales;
}

const sc_model_ops sc_ram_ops = {
    .name = "ram",
    .cfg_offset = offsetof(sc_model_cfg, ram),
    .caps = SC_KIND_POLICY | SC_KIND_STOCHASTIC | SC_KIND_TRAJECTORIES,
    .max_threads = MAX_WORKERS,
    .legend = "hard attention",
    .step_name = "glimpse",
    .step_unit = "glimpse",
    .check = ram_check,
    .describe = ram_describe,
    .footprint = ram_footprint,
    .grid_at = NULL,  /* no fixed locations */
    .cost = ram_cost,
    .create = ram_create,
    .free = ram_free,
    .params = ram_params,
    .init_params = ram_init_params,
    .grid = NULL,  /* the RAM samples where to look: no fixed locations */
    .set_threads = ram_set_threads,
    .baseline_ema = ram_baseline_ema,
    .set_baseline_ema = ram_set_baseline_ema,
    .forward = ram_forward,
    .backward = ram_backward,
    .set_span = ram_set_span,
    .predict = ram_predict,
    .trace = ram_trace,
};
