/* ram.c - the recurrent attention model: forward, backward, inference.
 * The equations are in ram.h; dimension letters: B batch, T glimpses,
 * G = k g g retina values, HG/HL glimpse/location hidden, HC = HG + HL,
 * GO glimpse output, H core, LH location-MLP hidden, C classes. */
#include "ram.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "env/retina.h"
#include "nets/layers.h"
#include "policy.h"

struct sc_ram {
    sc_ram_cfg c;
    sc_params ps;
    int G, HC, NB;  /* retina size, concat width, max batch */
    /* parameter indices */
    int iWg, ibg, iWl, ibl, iWa, iba, iWx, iWh, ibh, iL1w, iL1b, iL2w, iL2b, iBw, iBb, iCw, iCb;
    /* activations, (T, NB, *) */
    float *act;
    float *loc, *samp, *rho, *hg, *hl, *cat, *g, *h, *cc, *gates, *lz, *mu, *base, *logpi;
    float *logits, *logp, *step_logp, *reward;
    int *pred;
    /* backward scratch, (NB, *) */
    float *dh, *dhprev, *dc, *dcprev, *dg, *dgpre, *dcat, *dhg, *dhl, *dlogits, *dmu, *dmupre,
        *dlz, *dlzpre, *dbase, *weight, *core_scratch;
    int last_B, last_has_labels, step_probs;
    sc_ram_prof *prof;  /* profiling accumulator, NULL when off */
};

static double clock_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* PROF(field) adds the time since the last mark to prof->field. */
#define PROF_START double prof_t = m->prof ? clock_s() : 0.0
#define PROF(field) do { if (m->prof) { double prof_n = clock_s(); m->prof->field += prof_n - prof_t; prof_t = prof_n; } } while (0)

void sc_ram_profile(sc_ram *m, sc_ram_prof *p) { m->prof = p; }

/* ---- parameters ------------------------------------------------------------ */

static int add(sc_ram *m, const char *name, int rows, int cols, int *idx, sc_err *err) {
    int i = sc_params_add(&m->ps, name, rows, cols, err);
    if (i < 0) return i;
    *idx = i;
    return SC_OK;
}

static int declare_params(sc_ram *m, sc_err *err) {
    const sc_ram_cfg *c = &m->c;
    int gates = c->core == SC_CORE_LSTM ? 4 * c->hidden : c->hidden;
    int rc;
    sc_params_init(&m->ps);
    m->iL1w = m->iL1b = m->iL2w = m->iL2b = m->iBw = m->iBb = -1;
#define ADD(name, r, k, ix) if ((rc = add(m, name, r, k, &m->ix, err)) != SC_OK) return rc
    ADD("glimpse.Wg", c->glimpse_hidden, m->G, iWg);
    ADD("glimpse.bg", 1, c->glimpse_hidden, ibg);
    ADD("glimpse.Wl", c->loc_hidden, 2, iWl);
    ADD("glimpse.bl", 1, c->loc_hidden, ibl);
    ADD("glimpse.Wa", c->glimpse_out, m->HC, iWa);
    ADD("glimpse.ba", 1, c->glimpse_out, iba);
    ADD("core.Wx", gates, c->glimpse_out, iWx);
    ADD("core.Wh", gates, c->hidden, iWh);
    ADD("core.b", 1, gates, ibh);
    if (c->reinforce) {
        if (c->loc_mlp) {
            ADD("loc.W1", c->loc_net_hidden, c->hidden, iL1w);
            ADD("loc.b1", 1, c->loc_net_hidden, iL1b);
            ADD("loc.W2", 2, c->loc_net_hidden, iL2w);
        } else {
            ADD("loc.W2", 2, c->hidden, iL2w);
        }
        ADD("loc.b2", 1, 2, iL2b);
        if (c->baseline) {
            ADD("baseline.W", 1, c->hidden, iBw);
            ADD("baseline.b", 1, 1, iBb);
        }
    }
    ADD("action.W", c->num_classes, c->hidden, iCw);
    ADD("action.b", 1, c->num_classes, iCb);
#undef ADD
    return sc_params_alloc(&m->ps, err);
}

#define P(ix) sc_params_data(&m->ps, m->ix)
#define D(ix) sc_params_grad(&m->ps, m->ix)

/* ---- creation ---------------------------------------------------------------- */

static int check_cfg(const sc_ram_cfg *c, sc_err *err) {
#define NEED(cond, what) if (!(cond)) return sc_errf(err, SC_EARG, "ram: invalid configuration: %s", what)
    NEED(c->img_h > 0 && c->img_w > 0, "canvas size must be positive");
    NEED(c->num_classes >= 2, "need at least 2 classes");
    NEED(c->glimpses >= 1, "glimpses must be >= 1");
    NEED(c->glimpse_size >= 1 && c->scales >= 1 && c->scales <= 16, "glimpse size and scales must be positive");
    NEED(c->glimpse_hidden > 0 && c->loc_hidden > 0 && c->glimpse_out > 0 && c->hidden > 0,
         "layer widths must be positive");
    NEED(!c->loc_mlp || c->loc_net_hidden > 0, "loc_net_hidden must be positive");
    NEED(c->max_batch >= 1, "max_batch must be >= 1");
    NEED(c->core == SC_CORE_RNN || c->core == SC_CORE_LSTM, "core must be rnn or lstm");
#undef NEED
    return SC_OK;
}

int sc_ram_create(sc_ram **out, const sc_ram_cfg *cfg, sc_err *err) {
    *out = NULL;
    int rc = check_cfg(cfg, err);
    if (rc != SC_OK) return rc;
    sc_ram *m = calloc(1, sizeof *m);
    if (!m) return sc_errf(err, SC_ENOMEM, "ram: out of memory allocating the model");
    m->c = *cfg;
    m->G = cfg->scales * cfg->glimpse_size * cfg->glimpse_size;
    m->HC = cfg->glimpse_hidden + cfg->loc_hidden;
    m->NB = cfg->max_batch;
    if ((rc = declare_params(m, err)) != SC_OK) {
        sc_ram_free(m);
        return rc;
    }
    const size_t T = (size_t)cfg->glimpses, B = (size_t)m->NB, H = (size_t)cfg->hidden;
    const size_t C = (size_t)cfg->num_classes, LH = cfg->loc_mlp ? (size_t)cfg->loc_net_hidden : 1;
    const size_t GATES = cfg->core == SC_CORE_LSTM ? 4 * H : 0, CC = cfg->core == SC_CORE_LSTM ? H : 0;
    const size_t HG = (size_t)cfg->glimpse_hidden, HL = (size_t)cfg->loc_hidden, GO = (size_t)cfg->glimpse_out;
    /* layout: sizes of every buffer, in order */
    size_t sizes[] = {
        T * B * 2, T * B * 2, T * B * m->G, T * B * HG, T * B * HL, T * B * m->HC, T * B * GO,
        T * B * H, T * B * CC, T * B * GATES, T * B * LH, T * B * 2, T * B, T * B,
        B * C, B * C, T * B * C, B,
        /* scratch */
        B * H, B * H, B * H, B * H, B * GO, B * GO, B * m->HC, B * HG, B * HL, B * C, B * 2, B * 2,
        B * LH, B * LH, B, B, B * (GATES ? GATES : H)};
    float **ptrs[] = {&m->loc, &m->samp, &m->rho, &m->hg, &m->hl, &m->cat, &m->g, &m->h, &m->cc,
                      &m->gates, &m->lz, &m->mu, &m->base, &m->logpi, &m->logits, &m->logp,
                      &m->step_logp, &m->reward, &m->dh, &m->dhprev, &m->dc, &m->dcprev, &m->dg,
                      &m->dgpre, &m->dcat, &m->dhg, &m->dhl, &m->dlogits, &m->dmu, &m->dmupre,
                      &m->dlz, &m->dlzpre, &m->dbase, &m->weight, &m->core_scratch};
    const int nbuf = (int)(sizeof sizes / sizeof sizes[0]);
    size_t total = 0;
    for (int i = 0; i < nbuf; i++) total += (sizes[i] + 15) & ~(size_t)15;
    m->act = aligned_alloc(64, total * sizeof(float));
    m->pred = malloc(B * sizeof(int));
    if (!m->act || !m->pred) {
        sc_ram_free(m);
        return sc_errf(err, SC_ENOMEM, "ram: out of memory allocating %zu activation floats", total);
    }
    memset(m->act, 0, total * sizeof(float));
    size_t off = 0;
    for (int i = 0; i < nbuf; i++) {
        *ptrs[i] = m->act + off;
        off += (sizes[i] + 15) & ~(size_t)15;
    }
    *out = m;
    return SC_OK;
}

void sc_ram_free(sc_ram *m) {
    if (!m) return;
    sc_params_free(&m->ps);
    free(m->act);
    free(m->pred);
    free(m);
}

const sc_ram_cfg *sc_ram_config(const sc_ram *m) { return &m->c; }
sc_params *sc_ram_params(sc_ram *m) { return &m->ps; }
const float *sc_ram_logp(const sc_ram *m) { return m->logp; }
const float *sc_ram_locations(const sc_ram *m) { return m->loc; }
const float *sc_ram_samples(const sc_ram *m) { return m->samp; }
const float *sc_ram_step_logp(const sc_ram *m) { return m->step_logp; }
void sc_ram_step_probs_enable(sc_ram *m, int on) { m->step_probs = on; }

void sc_ram_init_params(sc_ram *m, sc_rng *r) {
    /* nn.Linear's default: weights and biases U(+-1/sqrt(fan_in)). */
    for (int i = 0; i < m->ps.count; i++) {
        const sc_param *p = &m->ps.p[i];
        int fan_in = p->rows == 1 ? 0 : p->cols;
        float *w = sc_params_data(&m->ps, i);
        size_t n = sc_params_size(&m->ps, i);
        if (fan_in == 0) {
            /* a bias: fan_in of its weight matrix, the previous tensor */
            fan_in = i > 0 ? m->ps.p[i - 1].cols : 1;
        }
        sc_init_uniform(w, n, 1.0f / sqrtf((float)fan_in), r);
    }
}

/* ---- forward ---------------------------------------------------------------- */

static float clampf(float v) { return v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : v); }

static void uniform_locations(float *l, float *s, int N, sc_rng *r) {
    for (int i = 0; i < N; i++) l[i] = s[i] = 2.0f * sc_rng_uniform(r) - 1.0f;
}

/* mu (B,2) = tanh(f(h)); lz (B,LH) the MLP hidden layer. */
static void locnet_forward(sc_ram *m, float *mu, float *lz, const float *h, int B) {
    const sc_ram_cfg *c = &m->c;
    if (c->loc_mlp) {
        sc_linear_forward(lz, h, P(iL1w), P(iL1b), B, c->hidden, c->loc_net_hidden);
        sc_relu_forward(lz, lz, B * c->loc_net_hidden);
        sc_linear_forward(mu, lz, P(iL2w), P(iL2b), B, c->loc_net_hidden, 2);
    } else {
        sc_linear_forward(mu, h, P(iL2w), P(iL2b), B, c->hidden, 2);
    }
    sc_tanh_forward(mu, mu, B * 2);
}

int sc_ram_forward(sc_ram *m, const float *x, const int *labels, int B, float std, sc_rng *r,
                   const float *fixed_loc, sc_ram_stats *st) {
    const sc_ram_cfg *c = &m->c;
    if (B < 1 || B > m->NB)
        return SC_EARG;
    const int T = c->glimpses, G = m->G, HG = c->glimpse_hidden, HL = c->loc_hidden;
    const int HC = m->HC, GO = c->glimpse_out, H = c->hidden, C = c->num_classes;
    const int LH = c->loc_mlp ? c->loc_net_hidden : 1;
    const int NB = m->NB;
    m->last_B = B;
    m->last_has_labels = labels != NULL;
    PROF_START;

    /* l_0 */
    if (fixed_loc) {
        for (int i = 0; i < 2 * B; i++) { m->samp[i] = fixed_loc[i]; m->loc[i] = clampf(fixed_loc[i]); }
    } else if (c->first_center) {
        memset(m->loc, 0, sizeof(float) * 2 * B);
        memset(m->samp, 0, sizeof(float) * 2 * B);
    } else {
        uniform_locations(m->loc, m->samp, 2 * B, r);
    }

    for (int t = 0; t < T; t++) {
        const size_t tb = (size_t)t * NB;
        float *lt = m->loc + tb * 2, *rho = m->rho + tb * G, *hg = m->hg + tb * HG;
        float *hl = m->hl + tb * HL, *cat = m->cat + tb * HC, *g = m->g + tb * GO, *h = m->h + tb * H;
        const float *hprev = t ? m->h + (tb - NB) * H : NULL;

        /* glimpse network */
        sc_retina_extract(rho, x, lt, B, c->img_h, c->img_w, c->glimpse_size, c->scales);
        PROF(retina);
        sc_linear_forward(hg, rho, P(iWg), P(ibg), B, G, HG);
        sc_relu_forward(hg, hg, B * HG);
        sc_linear_forward(hl, lt, P(iWl), P(ibl), B, 2, HL);
        sc_relu_forward(hl, hl, B * HL);
        for (int b = 0; b < B; b++) {  /* cat = [hg, hl] */
            memcpy(cat + (size_t)b * HC, hg + (size_t)b * HG, sizeof(float) * HG);
            memcpy(cat + (size_t)b * HC + HG, hl + (size_t)b * HL, sizeof(float) * HL);
        }
        sc_linear_forward(g, cat, P(iWa), P(iba), B, HC, GO);
        sc_relu_forward(g, g, B * GO);
        PROF(glimpse);

        /* core */
        if (c->core == SC_CORE_LSTM) {
            float *ct = m->cc + tb * H;
            const float *cprev = t ? m->cc + (tb - NB) * H : NULL;
            sc_lstm_forward(h, ct, m->gates + tb * 4 * H, g, hprev, cprev, P(iWx), P(iWh), P(ibh),
                            B, GO, H);
        } else {
            sc_rnn_forward(h, g, hprev, P(iWx), P(iWh), P(ibh), B, GO, H, SC_ACT_RELU);
        }
        PROF(core);
        if (m->step_probs && t < T - 1) {
            float *sl = m->step_logp + tb * C;
            sc_linear_forward(sl, h, P(iCw), P(iCb), B, H, C);
            sc_softmax_xent_forward(sl, sl, NULL, B, C);
        }

        /* next location */
        if (t < T - 1) {
            float *lnext = m->loc + (tb + NB) * 2, *snext = m->samp + (tb + NB) * 2;
            if (c->reinforce) {
                float *mu = m->mu + tb * 2;
                locnet_forward(m, mu, m->lz + tb * LH, h, B);
                if (fixed_loc) {
                    const float *fl = fixed_loc + (size_t)(t + 1) * B * 2;
                    for (int i = 0; i < 2 * B; i++) { snext[i] = fl[i]; lnext[i] = clampf(fl[i]); }
                } else {
                    sc_policy_sample(snext, lnext, mu, std, 2 * B, r);
                }
                sc_policy_logprob(m->logpi + tb, snext, mu, std, B, 2);
                if (c->baseline)
                    sc_linear_forward(m->base + tb, h, P(iBw), P(iBb), B, H, 1);
                else
                    memset(m->base + tb, 0, sizeof(float) * B);
            } else if (fixed_loc) {
                const float *fl = fixed_loc + (size_t)(t + 1) * B * 2;
                for (int i = 0; i < 2 * B; i++) { snext[i] = fl[i]; lnext[i] = clampf(fl[i]); }
            } else {
                uniform_locations(lnext, snext, 2 * B, r);
            }
        }
        PROF(heads);
    }

    /* action network */
    const float *hT = m->h + (size_t)(T - 1) * NB * H;
    sc_linear_forward(m->logits, hT, P(iCw), P(iCb), B, H, C);
    float xent = sc_softmax_xent_forward(m->logp, m->logits, labels, B, C);
    if (m->step_probs)
        memcpy(m->step_logp + (size_t)(T - 1) * NB * C, m->logp, sizeof(float) * B * C);
    PROF(heads);
    int correct = 0;
    for (int b = 0; b < B; b++) {
        const float *lp = m->logp + (size_t)b * C;
        int best = 0;
        for (int k = 1; k < C; k++)
            if (lp[k] > lp[best]) best = k;
        m->pred[b] = best;
        m->reward[b] = labels && best == labels[b] ? 1.0f : 0.0f;
        correct += labels && best == labels[b];
    }
    if (!labels || !st) return SC_OK;

    memset(st, 0, sizeof *st);
    st->xent = xent;
    st->correct = correct;
    st->reward = (double)correct / B;
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
        st->baseline_mse = c->baseline ? mse / n : 0.0;
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
    }
    return SC_OK;
}

/* ---- backward ---------------------------------------------------------------- */

void sc_ram_backward(sc_ram *m, const int *labels, int B, float std) {
    const sc_ram_cfg *c = &m->c;
    const int T = c->glimpses, G = m->G, HG = c->glimpse_hidden, HL = c->loc_hidden;
    const int HC = m->HC, GO = c->glimpse_out, H = c->hidden, C = c->num_classes;
    const int LH = c->loc_mlp ? c->loc_net_hidden : 1;
    const int NB = m->NB;
    PROF_START;

    /* action network: logp = log_softmax(hT Wc^T + bc) */
    memset(m->dlogits, 0, sizeof(float) * B * C);
    sc_softmax_xent_backward(m->dlogits, m->logp, labels, B, C, 1.0f);
    memset(m->dh, 0, sizeof(float) * B * H);
    const float *hT = m->h + (size_t)(T - 1) * NB * H;
    sc_linear_backward(m->dh, D(iCw), D(iCb), m->dlogits, hT, P(iCw), B, H, C);

    /* location net (REINFORCE) and baseline (MSE), both on detached h_t */
    if (c->reinforce && T > 1) {
        const float n = (float)B * (T - 1);
        for (int t = 0; t < T - 1; t++) {
            const size_t tb = (size_t)t * NB;
            const float *h = m->h + tb * H, *bt = m->base + tb, *mu = m->mu + tb * 2;
            const float *s = m->samp + (tb + NB) * 2;
            /* L_rf = -(w/B) sum_b (R_b - b_b) log pi_b  =>  dL/dmu = -(w/B) (R-b) (s-mu)/std^2 */
            for (int b = 0; b < B; b++)
                m->weight[b] = -c->reinforce_weight * (m->reward[b] - bt[b]) / (float)B;
            memset(m->dmu, 0, sizeof(float) * B * 2);
            sc_policy_logprob_backward(m->dmu, s, mu, std, m->weight, B, 2);
            memset(m->dmupre, 0, sizeof(float) * B * 2);
            sc_tanh_backward(m->dmupre, m->dmu, mu, B * 2);  /* mu = tanh(pre) */
            if (c->loc_mlp) {
                const float *lz = m->lz + tb * LH;
                memset(m->dlz, 0, sizeof(float) * B * LH);
                sc_linear_backward(m->dlz, D(iL2w), D(iL2b), m->dmupre, lz, P(iL2w), B, LH, 2);
                memset(m->dlzpre, 0, sizeof(float) * B * LH);
                sc_relu_backward(m->dlzpre, m->dlz, lz, B * LH);
                sc_linear_backward(NULL, D(iL1w), D(iL1b), m->dlzpre, h, P(iL1w), B, H, LH);
            } else {
                sc_linear_backward(NULL, D(iL2w), D(iL2b), m->dmupre, h, P(iL2w), B, H, 2);
            }
            if (c->baseline) {
                /* L_b = 1/n sum (b - R)^2  =>  dL/db = 2 (b - R) / n */
                for (int b = 0; b < B; b++) m->dbase[b] = 2.0f * (bt[b] - m->reward[b]) / n;
                sc_linear_backward(NULL, D(iBw), D(iBb), m->dbase, h, P(iBw), B, H, 1);
            }
        }
    }

    /* backprop through time: dh holds dL/dh_t, dc dL/dc_t (lstm) */
    if (c->core == SC_CORE_LSTM) memset(m->dc, 0, sizeof(float) * B * H);
    for (int t = T - 1; t >= 0; t--) {
        const size_t tb = (size_t)t * NB;
        const float *lt = m->loc + tb * 2, *rho = m->rho + tb * G, *hg = m->hg + tb * HG;
        const float *hl = m->hl + tb * HL, *cat = m->cat + tb * HC, *g = m->g + tb * GO;
        const float *h = m->h + tb * H;
        const float *hprev = t ? m->h + (tb - NB) * H : NULL;

        memset(m->dg, 0, sizeof(float) * B * GO);
        memset(m->dhprev, 0, sizeof(float) * B * H);
        if (c->core == SC_CORE_LSTM) {
            const float *cprev = t ? m->cc + (tb - NB) * H : NULL;
            memset(m->dcprev, 0, sizeof(float) * B * H);
            sc_lstm_backward(m->dg, t ? m->dhprev : NULL, t ? m->dcprev : NULL, D(iWx), D(iWh), D(ibh),
                             m->dh, m->dc, m->gates + tb * 4 * H, m->cc + tb * H, cprev, g, hprev,
                             P(iWx), P(iWh), m->core_scratch, B, GO, H);
        } else {
            sc_rnn_backward(m->dg, t ? m->dhprev : NULL, D(iWx), D(iWh), D(ibh), m->dh, h, g, hprev,
                            P(iWx), P(iWh), m->core_scratch, B, GO, H, SC_ACT_RELU);
        }
        /* g = ReLU(cat Wa^T + ba) */
        memset(m->dgpre, 0, sizeof(float) * B * GO);
        sc_relu_backward(m->dgpre, m->dg, g, B * GO);
        memset(m->dcat, 0, sizeof(float) * B * HC);
        sc_linear_backward(m->dcat, D(iWa), D(iba), m->dgpre, cat, P(iWa), B, HC, GO);
        /* cat = [ReLU(rho Wg^T + bg), ReLU(l Wl^T + bl)] */
        for (int b = 0; b < B; b++) {
            const float *dc = m->dcat + (size_t)b * HC;
            const float *hgb = hg + (size_t)b * HG, *hlb = hl + (size_t)b * HL;
            float *dhg = m->dhg + (size_t)b * HG, *dhl = m->dhl + (size_t)b * HL;
            for (int j = 0; j < HG; j++) dhg[j] = hgb[j] > 0.0f ? dc[j] : 0.0f;
            for (int j = 0; j < HL; j++) dhl[j] = hlb[j] > 0.0f ? dc[HG + j] : 0.0f;
        }
        sc_linear_backward(NULL, D(iWg), D(ibg), m->dhg, rho, P(iWg), B, G, HG);
        sc_linear_backward(NULL, D(iWl), D(ibl), m->dhl, lt, P(iWl), B, 2, HL);

        float *tmp = m->dh; m->dh = m->dhprev; m->dhprev = tmp;
        tmp = m->dc; m->dc = m->dcprev; m->dcprev = tmp;
    }
    PROF(backward);
}

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
    int correct = 0;
    for (int b = 0; b < B; b++) {
        const float *lp = logp_avg + (size_t)b * C;
        int best = 0;
        for (int k = 1; k < C; k++)
            if (lp[k] > lp[best]) best = k;
        if (pred) pred[b] = best;
        correct += labels && labels[b] == best;
    }
    return correct;
}

double sc_ram_macs(const sc_ram_cfg *c) {
    const double T = c->glimpses, G = (double)c->scales * c->glimpse_size * c->glimpse_size;
    const double HG = c->glimpse_hidden, HL = c->loc_hidden, GO = c->glimpse_out, H = c->hidden;
    const double gates = c->core == SC_CORE_LSTM ? 4.0 * H : H;
    double per_glimpse = G * HG + 2.0 * HL + (HG + HL) * GO + GO * gates + H * gates;
    double loc = 0.0;
    if (c->reinforce) {
        loc = c->loc_mlp ? H * c->loc_net_hidden + c->loc_net_hidden * 2.0 : H * 2.0;
        if (c->baseline) loc += H;
    }
    return T * per_glimpse + (T - 1) * loc + H * c->num_classes;
}
