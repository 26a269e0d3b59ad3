/* layers.c - forward/backward pairs over raw float buffers (see layers.h).
 *
 * Every _backward ADDS into its d* outputs and skips NULL ones. The linear
 * layer exists twice: a BLAS version (cblas_sgemm, used by everything) and a
 * naive loop version that is the specification the tests hold it to. The RNN
 * and LSTM cells are built from the same sgemm calls as the linear layer.
 *
 * What this file is not: it holds no parameters and allocates nothing; callers
 * own every buffer (scratch included).
 *
 * Dimension letters: B batch, IN input width, OUT output width, H hidden width,
 * C classes, N elements.
 */
#include <cblas.h> /* first: openblas_config.h needs _GNU_SOURCE before any libc header */

#include "layers.h"

#include <math.h>
#include <string.h>

#include "vecmath.h"

/* The elementwise loops take 16 floats at a time (nets/vecmath.h), then a
 * scalar tail. Per element they compute what the scalar loop does (ReLU's
 * backward adds +0 where the scalar loop adds nothing: -0 may become +0). */
/* ---- linear ---------------------------------------------------------------- */

/* out[b,:] = b for every row (or 0 when b is NULL); the sgemm then adds in @ w^T. */
static void fill_rows(float *out, const float *bias, int B, int N) {
    for (int i = 0; i < B; i++) {
        if (bias) memcpy(out + (size_t)i * N, bias, (size_t)N * sizeof(float));
        else memset(out + (size_t)i * N, 0, (size_t)N * sizeof(float));
    }
}

/* db[o] += sum_b dout[b,o], rows added in order b = 0, 1, ... */
static void add_col_sums(float *db, const float *dout, int B, int OUT) {
    int o = 0;
    for (; o + 16 <= OUT; o += 16) {
        vf16 acc = ld16(db + o);
        for (int i = 0; i < B; i++) acc += ld16(dout + (size_t)i * OUT + o);
        st16(db + o, acc);
    }
    for (; o < OUT; o++) {
        float acc = db[o];
        for (int i = 0; i < B; i++) acc += dout[(size_t)i * OUT + o];
        db[o] = acc;
    }
}

/* in (B,IN), w (OUT,IN), b (OUT) or NULL, out (B,OUT) */
void sc_linear_forward(float *out, const float *in, const float *w, const float *b,
                       int B, int IN, int OUT) {
    if (B <= 0 || OUT <= 0) return;
    fill_rows(out, b, B, OUT);
    if (IN <= 0) return;
    /* out = in @ w^T + out */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, OUT, IN,
                1.0f, in, IN, w, IN, 1.0f, out, OUT);
}

/* dout (B,OUT), in (B,IN), w (OUT,IN); din (B,IN), dw (OUT,IN), db (OUT) accumulated. */
void sc_linear_backward(float *din, float *dw, float *db, const float *dout,
                        const float *in, const float *w, int B, int IN, int OUT) {
    if (B <= 0 || OUT <= 0) return;
    if (IN > 0) {
        /* forward: out = in @ w^T  =>  din += dout @ w */
        if (din)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, IN, OUT,
                        1.0f, dout, OUT, w, IN, 1.0f, din, IN);
        /* dw += dout^T @ in */
        if (dw)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OUT, IN, B,
                        1.0f, dout, OUT, in, IN, 1.0f, dw, IN);
    }
    /* forward: out += b  =>  db += sum over the batch of dout */
    if (db) add_col_sums(db, dout, B, OUT);
}

/* in (B,IN), w (OUT,IN), b (OUT) or NULL, out (B,OUT) */
void sc_linear_forward_naive(float *out, const float *in, const float *w, const float *b,
                             int B, int IN, int OUT) {
    for (int i = 0; i < B; i++) {
        const float *x = in + (size_t)i * IN;
        for (int o = 0; o < OUT; o++) {
            const float *wrow = w + (size_t)o * IN;
            float acc = b ? b[o] : 0.0f;             /* out[i,o] = b[o] + sum_k in[i,k] w[o,k] */
            for (int k = 0; k < IN; k++) acc += x[k] * wrow[k];
            out[(size_t)i * OUT + o] = acc;
        }
    }
}

void sc_linear_backward_naive(float *din, float *dw, float *db, const float *dout,
                              const float *in, const float *w, int B, int IN, int OUT) {
    for (int i = 0; i < B; i++) {
        const float *x = in + (size_t)i * IN;
        const float *g = dout + (size_t)i * OUT;
        for (int o = 0; o < OUT; o++) {
            const float *wrow = w + (size_t)o * IN;
            float go = g[o];
            if (din) {                                /* din[i,k] += dout[i,o] w[o,k] */
                float *dx = din + (size_t)i * IN;
                for (int k = 0; k < IN; k++) dx[k] += go * wrow[k];
            }
            if (dw) {                                 /* dw[o,k] += dout[i,o] in[i,k] */
                float *dwrow = dw + (size_t)o * IN;
                for (int k = 0; k < IN; k++) dwrow[k] += go * x[k];
            }
            if (db) db[o] += go;                      /* db[o] += dout[i,o] */
        }
    }
}

/* ---- elementwise activations ------------------------------------------------ */

void sc_relu_forward(float *out, const float *in, int N) {
    int i = 0;
    for (; i + 16 <= N; i += 16) {
        vf16 v = ld16(in + i);
        st16(out + i, keep_pos(v, v));
    }
    for (; i < N; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

/* out = max(in, 0)  =>  din += dout * [out > 0] */
void sc_relu_backward(float *din, const float *dout, const float *out, int N) {
    int i = 0;
    for (; i + 16 <= N; i += 16) st16(din + i, ld16(din + i) + keep_pos(ld16(dout + i), ld16(out + i)));
    for (; i < N; i++)
        if (out[i] > 0.0f) din[i] += dout[i];
}

void sc_tanh_forward(float *out, const float *in, int N) {
    for (int i = 0; i < N; i++) out[i] = tanhf(in[i]);
}

/* out = tanh(in)  =>  din += dout * (1 - out^2) */
void sc_tanh_backward(float *din, const float *dout, const float *out, int N) {
    for (int i = 0; i < N; i++) din[i] += dout[i] * (1.0f - out[i] * out[i]);
}

static inline float sigmoidf(float x) {
    return 1.0f / (1.0f + expf(-x)); /* expf overflow to inf gives exactly 0: no NaN */
}

void sc_sigmoid_forward(float *out, const float *in, int N) {
    for (int i = 0; i < N; i++) out[i] = sigmoidf(in[i]);
}

/* out = sig(in)  =>  din += dout * out (1 - out) */
void sc_sigmoid_backward(float *din, const float *dout, const float *out, int N) {
    for (int i = 0; i < N; i++) din[i] += dout[i] * out[i] * (1.0f - out[i]);
}

/* ---- plain RNN cell ----------------------------------------------------------- */

/* x (B,IN), hprev (B,H) or NULL, wx (H,IN), wh (H,H), b (H), h (B,H) */
void sc_rnn_forward(float *h, const float *x, const float *hprev, const float *wx,
                    const float *wh, const float *b, int B, int IN, int H, sc_act act) {
    /* a = x @ wx^T + b */
    sc_linear_forward(h, x, wx, b, B, IN, H);
    /* a += hprev @ wh^T  (hprev = 0 on the first step: nothing to add) */
    if (hprev && B > 0 && H > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, H,
                    1.0f, hprev, H, wh, H, 1.0f, h, H);
    /* h = act(a) */
    int N = B * H;
    if (act == SC_ACT_RELU) sc_relu_forward(h, h, N);
    else sc_tanh_forward(h, h, N);
}

void sc_rnn_backward(float *dx, float *dhprev, float *dwx, float *dwh, float *db,
                     const float *dh, const float *h, const float *x, const float *hprev,
                     const float *wx, const float *wh, float *scratch,
                     int B, int IN, int H, sc_act act) {
    int N = B * H;
    /* h = act(a)  =>  da = dh * act'(a), written through h */
    float *da = scratch;
    memset(da, 0, (size_t)(N > 0 ? N : 0) * sizeof(float));
    if (act == SC_ACT_RELU) sc_relu_backward(da, dh, h, N);
    else sc_tanh_backward(da, dh, h, N);
    /* a = x @ wx^T + b  =>  dx += da @ wx, dwx += da^T @ x, db += sum_b da */
    sc_linear_backward(dx, dwx, db, da, x, wx, B, IN, H);
    /* a += hprev @ wh^T  =>  dhprev += da @ wh, dwh += da^T @ hprev */
    if (hprev) sc_linear_backward(dhprev, dwh, NULL, da, hprev, wh, B, H, H);
}

/* ---- LSTM cell ------------------------------------------------------------------ */

/* The gate nonlinearities run 16 lanes at a time through vecmath.h's exp16,
 * sigmoid16 and tanh16 (libm's expf and tanhf per element cost more than the
 * cell's two sgemms at H = 256); the tail of a row whose width is not a
 * multiple of 16 uses their one-value forms. */

/* x (B,IN), hprev/cprev (B,H) or NULL, wx (4H,IN), wh (4H,H), b (4H);
 * h, c (B,H), gates (B,4H) = post-activation i, f, g, o. */
void sc_lstm_forward(float *h, float *c, float *gates, const float *x, const float *hprev,
                     const float *cprev, const float *wx, const float *wh, const float *b,
                     int B, int IN, int H) {
    int G = 4 * H;
    /* a = x @ wx^T + b (+ hprev @ wh^T), into gates */
    sc_linear_forward(gates, x, wx, b, B, IN, G);
    if (hprev && B > 0 && H > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, G, H,
                    1.0f, hprev, H, wh, H, 1.0f, gates, G);
    for (int bi = 0; bi < B; bi++) {
        float *gi = gates + (size_t)bi * G, *gf = gi + H, *gg = gi + 2 * H, *go = gi + 3 * H;
        float *hrow = h + (size_t)bi * H, *crow = c + (size_t)bi * H;
        const float *cp = cprev ? cprev + (size_t)bi * H : NULL;
        int j = 0;
        for (; j + 16 <= H; j += 16) {
            vf16 i = sigmoid16(ld16(gi + j)), f = sigmoid16(ld16(gf + j));
            vf16 g = tanh16(ld16(gg + j)), o = sigmoid16(ld16(go + j));
            st16(gi + j, i); st16(gf + j, f); st16(gg + j, g); st16(go + j, o);
            vf16 cv = i * g;
            if (cp) cv = f * ld16(cp + j) + cv;
            st16(crow + j, cv);
            st16(hrow + j, o * tanh16(cv));
        }
        for (; j < H; j++) {
            float i = sigmoid1(gi[j]), f = sigmoid1(gf[j]);  /* i = sig(a_i), f = sig(a_f) */
            float g = tanh1(gg[j]), o = sigmoid1(go[j]);      /* g = tanh(a_g), o = sig(a_o) */
            gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o;
            float cv = (cp ? f * cp[j] : 0.0f) + i * g;        /* c = f * cprev + i * g */
            crow[j] = cv;
            hrow[j] = o * tanh1(cv);                           /* h = o * tanh(c) */
        }
    }
}

void sc_lstm_backward(float *dx, float *dhprev, float *dcprev, float *dwx, float *dwh, float *db,
                      const float *dh, const float *dc, const float *gates, const float *c,
                      const float *cprev, const float *x, const float *hprev,
                      const float *wx, const float *wh, float *scratch, int B, int IN, int H) {
    int G = 4 * H;
    float *da = scratch; /* (B,4H): gradient w.r.t. the gate pre-activations */
    for (int bi = 0; bi < B; bi++) {
        const float *gi = gates + (size_t)bi * G, *gf = gi + H, *gg = gi + 2 * H, *go = gi + 3 * H;
        const float *crow = c + (size_t)bi * H, *dhrow = dh + (size_t)bi * H;
        const float *dcrow = dc ? dc + (size_t)bi * H : NULL;
        const float *cp = cprev ? cprev + (size_t)bi * H : NULL;
        float *dcp = (cprev && dcprev) ? dcprev + (size_t)bi * H : NULL;
        float *dai = da + (size_t)bi * G, *daf = dai + H, *dag = dai + 2 * H, *dao = dai + 3 * H;
        int j = 0;
        for (; j + 16 <= H; j += 16) {
            const vf16 i = ld16(gi + j), f = ld16(gf + j), g = ld16(gg + j), o = ld16(go + j);
            const vf16 tc = tanh16(ld16(crow + j)), dhv = ld16(dhrow + j);
            vf16 dct = dhv * o * (1.0f - tc * tc);
            if (dcrow) dct = ld16(dcrow + j) + dct;
            vf16 d_f = (vf16){0};
            if (cp) d_f = dct * ld16(cp + j);
            if (dcp) st16(dcp + j, ld16(dcp + j) + dct * f);
            st16(dai + j, dct * g * i * (1.0f - i));
            st16(daf + j, d_f * f * (1.0f - f));
            st16(dag + j, dct * i * (1.0f - g * g));
            st16(dao + j, dhv * tc * o * (1.0f - o));
        }
        for (; j < H; j++) {
            float i = gi[j], f = gf[j], g = gg[j], o = go[j];
            float tc = tanh1(crow[j]);
            /* h = o * tanh(c)  =>  do = dh tanh(c),  dc_total = dc + dh o (1 - tanh(c)^2) */
            float d_o = dhrow[j] * tc;
            float dct = (dcrow ? dcrow[j] : 0.0f) + dhrow[j] * o * (1.0f - tc * tc);
            /* c = f * cprev + i * g  =>  di = dct g, df = dct cprev, dg = dct i, dcprev += dct f */
            float d_i = dct * g;
            float d_f = cp ? dct * cp[j] : 0.0f;
            float d_g = dct * i;
            if (dcp) dcp[j] += dct * f;
            /* back through the gate nonlinearities */
            dai[j] = d_i * i * (1.0f - i);  /* i = sig(a_i) */
            daf[j] = d_f * f * (1.0f - f);  /* f = sig(a_f) */
            dag[j] = d_g * (1.0f - g * g);  /* g = tanh(a_g) */
            dao[j] = d_o * o * (1.0f - o);  /* o = sig(a_o) */
        }
    }
    /* a = x @ wx^T + b  =>  dx += da @ wx, dwx += da^T @ x, db += sum_b da */
    sc_linear_backward(dx, dwx, db, da, x, wx, B, IN, G);
    /* a += hprev @ wh^T  =>  dhprev += da @ wh, dwh += da^T @ hprev */
    if (hprev) sc_linear_backward(dhprev, dwh, NULL, da, hprev, wh, B, H, G);
}

/* ---- argmax ---------------------------------------------------------------------------- */

/* x (B,C); pred (B) or NULL; labels (B) or NULL */
int sc_argmax_rows(int *pred, const float *x, const int *labels, int B, int C) {
    int correct = 0;
    for (int b = 0; b < B; b++) {
        const float *row = x + (size_t)b * C;
        int best = 0;
        for (int k = 1; k < C; k++)
            if (row[k] > row[best]) best = k;
        if (pred) pred[b] = best;
        correct += labels && labels[b] == best;
    }
    return correct;
}

/* ---- softmax + cross-entropy ----------------------------------------------------- */

/* logits (B,C) -> logp (B,C); labels (B) in [0, C) or NULL. */
float sc_softmax_xent_forward(float *logp, const float *logits, const int *labels, int B, int C) {
    if (B <= 0 || C <= 0) return 0.0f;
    double loss = 0.0;
    for (int bi = 0; bi < B; bi++) {
        const float *z = logits + (size_t)bi * C;
        float *lp = logp + (size_t)bi * C;
        /* log softmax(z)_k = z_k - m - log sum_j exp(z_j - m), m = max_j z_j: every exp <= 1 */
        float m = z[0];
        for (int k = 1; k < C; k++) m = z[k] > m ? z[k] : m;
        double s = 0.0;
        for (int k = 0; k < C; k++) s += exp((double)z[k] - m);
        double lse = (double)m + log(s);
        for (int k = 0; k < C; k++) lp[k] = (float)((double)z[k] - lse);
        if (labels) {
            /* A label outside [0, C) is bad data, not a crash: the loss becomes NaN,
             * which the trainer's NaN check reports. */
            if (labels[bi] < 0 || labels[bi] >= C) loss = NAN;
            else loss -= lp[labels[bi]];             /* xent = -log p[label] */
        }
    }
    return labels ? (float)(loss / B) : 0.0f;
}

/* loss = -(1/B) sum_b logp[b, y_b]  =>  dlogits += scale (softmax - onehot(y)) / B.
 * With labels NULL the loss is the constant 0 and nothing is added. */
void sc_softmax_xent_backward(float *dlogits, const float *logp, const int *labels,
                              int B, int C, float scale) {
    if (!labels || B <= 0 || C <= 0) return;
    float s = scale / (float)B;
    for (int bi = 0; bi < B; bi++) {
        const float *lp = logp + (size_t)bi * C;
        float *d = dlogits + (size_t)bi * C;
        if (labels[bi] < 0 || labels[bi] >= C) continue; /* bad label: see the forward */
        for (int k = 0; k < C; k++) d[k] += s * expf(lp[k]);
        d[labels[bi]] -= s;
    }
}

/* ---- mean squared error ----------------------------------------------------------- */

/* pred, target (N): returns (1/N) sum (pred - target)^2 */
float sc_mse_forward(const float *pred, const float *target, int N) {
    if (N <= 0) return 0.0f;
    double s = 0.0;
    for (int i = 0; i < N; i++) {
        double e = (double)pred[i] - target[i];
        s += e * e;
    }
    return (float)(s / N);
}

/* dpred += scale * 2 (pred - target) / N */
void sc_mse_backward(float *dpred, const float *pred, const float *target, int N, float scale) {
    if (N <= 0) return;
    float s = 2.0f * scale / (float)N;
    for (int i = 0; i < N; i++) dpred[i] += s * (pred[i] - target[i]);
}
