/* attn.c - layer normalisation, GELU, row softmax and multi-head attention (see attn.h).
 *
 * Every _backward ADDS into its d* outputs and skips NULL ones. Multi-head
 * attention exists twice: a BLAS version (one cblas_sgemm per (batch, head)
 * and product, reading q, k, v and writing out in place through their leading
 * dimensions, no copies; sc_mha_forward/backward are the _ld versions with
 * every leading dimension H*hs) and a naive loop version that is the
 * specification the tests hold it to.
 *
 * What this file is not: it holds no parameters and allocates nothing; callers
 * own every buffer (scratch included). Arithmetic is float throughout, with
 * sums taken in a fixed order, so results are deterministic. Elementwise loops
 * and row sums take 16 floats at a time (nets/vecmath.h: exp16 and tanh16
 * instead of libm's expf and tanhf, which dominated a self-attention step).
 *
 * Dimension letters: N rows, D feature width, R softmax rows, K softmax width,
 * B batch, Tq query positions, Tk key positions, H heads, hs head size,
 * C = H*hs the width of a q/k/v/out row.
 */
#include <cblas.h> /* first: openblas_config.h needs _GNU_SOURCE before any libc header */

#include "attn.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>

#include "vecmath.h"

/* ---- layer normalisation ----------------------------------------------------- */

/* x, y (N,D); gamma, beta (D); mean, rstd (N) */
void sc_layernorm_forward(float *y, float *mean, float *rstd, const float *x,
                          const float *gamma, const float *beta, int N, int D, float eps) {
    assert(N >= 0 && D > 0 && eps >= 0.0f);
    const float invD = 1.0f / (float)D;
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * D;
        float *yr = y + (size_t)n * D;
        /* mu = sum x / D;  var = sum (x - mu)^2 / D. The mean is summed relative to
         * x[0] (exact differences for a row far from 0), the variance in a second
         * pass (no cancellation). */
        const float x0 = xr[0];
        vf16 vs = {0}, vss = {0};
        int d = 0;
        for (; d + 16 <= D; d += 16) vs += ld16(xr + d) - x0;
        float s = hsum16(vs);
        for (; d < D; d++) s += xr[d] - x0;
        const float mu = x0 + s * invD;
        for (d = 0; d + 16 <= D; d += 16) {
            const vf16 c = ld16(xr + d) - mu;
            vss += c * c;
        }
        float ss = hsum16(vss);
        for (; d < D; d++) {
            const float c = xr[d] - mu;
            ss += c * c;
        }
        const float rs = 1.0f / sqrtf(ss * invD + eps);
        /* y = (x - mu) * rstd * gamma + beta */
        for (d = 0; d + 16 <= D; d += 16)
            st16(yr + d, (ld16(xr + d) - mu) * rs * ld16(gamma + d) + ld16(beta + d));
        for (; d < D; d++) yr[d] = (xr[d] - mu) * rs * gamma[d] + beta[d];
        mean[n] = mu;
        rstd[n] = rs;
    }
}

/* dy, x (N,D); mean, rstd (N); gamma (D); dx (N,D), dgamma, dbeta (D) accumulated. */
void sc_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                           const float *x, const float *mean, const float *rstd,
                           const float *gamma, int N, int D) {
    assert(N >= 0 && D > 0);
    const float invD = 1.0f / (float)D;
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * D, *dyr = dy + (size_t)n * D;
        const float mu = mean[n], rs = rstd[n];
        /* forward: xhat = (x - mu) rstd;  y = xhat gamma + beta */
        int d;
        if (dbeta) {
            for (d = 0; d + 16 <= D; d += 16) st16(dbeta + d, ld16(dbeta + d) + ld16(dyr + d));
            for (; d < D; d++) dbeta[d] += dyr[d];
        }
        if (dgamma) {
            for (d = 0; d + 16 <= D; d += 16)
                st16(dgamma + d, ld16(dgamma + d) + ld16(dyr + d) * ((ld16(xr + d) - mu) * rs));
            for (; d < D; d++) dgamma[d] += dyr[d] * ((xr[d] - mu) * rs);
        }
        if (!dx) continue;
        /* dxhat = dy gamma;
         * dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) */
        vf16 vg = {0}, vgx = {0};
        for (d = 0; d + 16 <= D; d += 16) {
            const vf16 g = ld16(dyr + d) * ld16(gamma + d);
            vg += g;
            vgx += g * ((ld16(xr + d) - mu) * rs);
        }
        float sg = hsum16(vg), sgx = hsum16(vgx);
        for (; d < D; d++) {
            const float g = dyr[d] * gamma[d];
            sg += g;
            sgx += g * ((xr[d] - mu) * rs);
        }
        const float mg = sg * invD, mgx = sgx * invD;
        float *dxr = dx + (size_t)n * D;
        for (d = 0; d + 16 <= D; d += 16) {
            const vf16 xh = (ld16(xr + d) - mu) * rs;
            st16(dxr + d, ld16(dxr + d) + rs * (ld16(dyr + d) * ld16(gamma + d) - mg - xh * mgx));
        }
        for (; d < D; d++)
            dxr[d] += rs * (dyr[d] * gamma[d] - mg - ((xr[d] - mu) * rs) * mgx);
    }
}

/* ---- GELU (tanh approximation) -------------------------------------------------- */

#define GELU_C 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_A 0.044715f

/* in, out (N); out may equal in */
void sc_gelu_forward(float *out, const float *in, int N) {
    int i = 0;
    for (; i + 16 <= N; i += 16) {
        const vf16 x = ld16(in + i);
        st16(out + i, 0.5f * x * (1.0f + tanh16(GELU_C * (x + GELU_A * x * x * x))));
    }
    for (; i < N; i++) {
        const float x = in[i];
        /* out = 0.5 x (1 + tanh(c (x + a x^3))) */
        const float t = tanh1(GELU_C * (x + GELU_A * x * x * x));
        out[i] = 0.5f * x * (1.0f + t);
    }
}

/* d/dx of GELU: 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2), t = tanh(c (x + a x^3)) */
static inline vf16 gelu_grad16(vf16 x) {
    const vf16 t = tanh16(GELU_C * (x + GELU_A * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_C * (1.0f + 3.0f * GELU_A * x * x);
}
static inline float gelu_grad1(float x) {
    const float t = tanh1(GELU_C * (x + GELU_A * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_C * (1.0f + 3.0f * GELU_A * x * x);
}

/* dout, in (N); din (N) accumulated */
void sc_gelu_backward(float *din, const float *dout, const float *in, int N) {
    if (!din) return;
    int i = 0;
    for (; i + 16 <= N; i += 16) st16(din + i, ld16(din + i) + ld16(dout + i) * gelu_grad16(ld16(in + i)));
    for (; i < N; i++) din[i] += dout[i] * gelu_grad1(in[i]);
}

/* d, in (N): d = d * gelu'(in) */
void sc_gelu_backward_inplace(float *d, const float *in, int N) {
    int i = 0;
    for (; i + 16 <= N; i += 16) st16(d + i, ld16(d + i) * gelu_grad16(ld16(in + i)));
    for (; i < N; i++) d[i] = d[i] * gelu_grad1(in[i]);
}

/* ---- softmax over rows ------------------------------------------------------------ */

/* sum_j a[j] b[j], 16 lanes then the tail, in a fixed order */
static float dot16(const float *a, const float *b, int n) {
    vf16 acc = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16) acc += ld16(a + j) * ld16(b + j);
    float s = hsum16(acc);
    for (; j < n; j++) s += a[j] * b[j];
    return s;
}

/* Rows go through softmax_rows in groups of SOFTMAX_GROUP, one phase at a time
 * (every row's maximum, then every row's exponentials and sum, then every
 * row's division): a row alone is a chain of dependent steps (its maximum
 * before its exponentials, their sum before the division), so a group gives
 * the processor independent rows to overlap. Each row's arithmetic is the
 * same as on its own. */
#define SOFTMAX_GROUP 8

/* The maximum of s[0..n) */
static float row_max(const float *s, int n) {
    int j = 0;
    float mx = s[0];
    if (n >= 16) {
        vf16 vm = ld16(s);
        for (j = 16; j + 16 <= n; j += 16) vm = sel16(ld16(s + j) > vm, ld16(s + j), vm);
        mx = hmax16(vm);
    }
    for (; j < n; j++) mx = s[j] > mx ? s[j] : mx;
    return mx;
}

/* p[0..n) = exp(s - mx); returns their sum (16 lanes, then the tail of fewer
 * than 16 keys through one exp16, ldn16: the same per-element results as
 * exp1, summed lane by lane in key order). p may equal s. */
static float row_exp_sum(float *p, const float *s, int n, float mx) {
    vf16 vs = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        const vf16 e = exp16(ld16(s + j) - mx);
        st16(p + j, e);
        vs += e;
    }
    float sum = hsum16(vs);
    const int tail = n - j;
    if (tail > 0) {
        const vf16 e = exp16(ldn16(s + j, tail) - mx);
        stn16(p + j, e, tail);
        for (int i = 0; i < tail; i++) sum += e[i];
    }
    return sum;
}

/* p[0..n) *= inv, p[n..K) = 0 */
static void row_scale(float *p, int n, int K, float inv) {
    int j = 0;
    for (; j + 16 <= n; j += 16) st16(p + j, ld16(p + j) * inv);
    if (n - j > 0) stn16(p + j, ldn16(p + j, n - j) * inv, n - j);
    for (j = n; j < K; j++) p[j] = 0.0f;
}

/* s, p (R,K); p may equal s */
void sc_softmax_rows_forward(float *p, const float *s, int R, int K, int Tq, int causal) {
    assert(R >= 0 && (K > 0 || R == 0));
    assert(!causal || Tq == K);
    for (int r0 = 0; r0 < R; r0 += SOFTMAX_GROUP) {
        const int g = R - r0 < SOFTMAX_GROUP ? R - r0 : SOFTMAX_GROUP;
        int n[SOFTMAX_GROUP];
        float mx[SOFTMAX_GROUP], sum[SOFTMAX_GROUP];
        /* causal: query i = r % Tq sees keys 0..i */
        for (int i = 0; i < g; i++) n[i] = causal ? (r0 + i) % Tq + 1 : K;
        /* p = exp(s - max) / sum exp(s - max), over the first n keys of each row; 0 beyond */
        for (int i = 0; i < g; i++) mx[i] = row_max(s + (size_t)(r0 + i) * K, n[i]);
        for (int i = 0; i < g; i++)
            sum[i] = row_exp_sum(p + (size_t)(r0 + i) * K, s + (size_t)(r0 + i) * K, n[i], mx[i]);
        for (int i = 0; i < g; i++) row_scale(p + (size_t)(r0 + i) * K, n[i], K, 1.0f / sum[i]);
    }
}

/* dp, p (R,K); ds (R,K) accumulated */
void sc_softmax_rows_backward(float *ds, const float *dp, const float *p, int R, int K) {
    assert(R >= 0 && K >= 0);
    if (!ds) return;
    for (int r = 0; r < R; r++) {
        const float *dpr = dp + (size_t)r * K, *pr = p + (size_t)r * K;
        float *dsr = ds + (size_t)r * K;
        /* forward: p = exp(s) / sum exp(s)  =>  ds = p (dp - sum_k dp p) */
        const float dot = dot16(dpr, pr, K);
        int j = 0;
        for (; j + 16 <= K; j += 16) st16(dsr + j, ld16(dsr + j) + ld16(pr + j) * (ld16(dpr + j) - dot));
        for (; j < K; j++) dsr[j] += pr[j] * (dpr[j] - dot);
    }
}

/* In place: g (Tq,Tk) holds datt on entry and dscores = att (datt - sum_k datt att) on exit. */
static void softmax_grad_inplace(float *g, const float *att, int Tq, int Tk) {
    for (int i = 0; i < Tq; i++) {
        float *gr = g + (size_t)i * Tk;
        const float *ar = att + (size_t)i * Tk;
        const float dot = dot16(gr, ar, Tk);
        int j = 0;
        for (; j + 16 <= Tk; j += 16) st16(gr + j, ld16(ar + j) * (ld16(gr + j) - dot));
        for (; j < Tk; j++) gr[j] = ar[j] * (gr[j] - dot);
    }
}

/* ---- multi-head attention --------------------------------------------------------- */

static void mha_check_dims(int B, int Tq, int Tk, int H, int hs) {
    (void)B, (void)Tq, (void)Tk, (void)H, (void)hs; /* unused when NDEBUG */
    assert(B >= 0 && Tq >= 0 && Tk > 0 && H > 0 && hs > 0);
}

/* q (B,Tq,ldq), k, v (B,Tk,ldkv), att (B,H,Tq,Tk), out (B,Tq,ldo): rows of C = H*hs used */
void sc_mha_forward_ld(float *out, int ldo, float *att, const float *q, int ldq, const float *k,
                       const float *v, int ldkv, int B, int Tq, int Tk, int H, int hs, int causal) {
    mha_check_dims(B, Tq, Tk, H, hs);
    assert(!causal || Tq == Tk);
    assert(ldo >= H * hs && ldq >= H * hs && ldkv >= H * hs);
    if (B == 0 || Tq == 0) return;
    const float scale = 1.0f / sqrtf((float)hs);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float *qb = q + (size_t)b * Tq * ldq + (size_t)h * hs;
            const float *kb = k + (size_t)b * Tk * ldkv + (size_t)h * hs;
            const float *vb = v + (size_t)b * Tk * ldkv + (size_t)h * hs;
            float *ob = out + (size_t)b * Tq * ldo + (size_t)h * hs;
            float *ab = att + ((size_t)b * H + h) * Tq * Tk;
            /* scores = q_h k_h^T / sqrt(hs);  att = softmax over keys (masked when causal) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Tq, Tk, hs,
                        scale, qb, ldq, kb, ldkv, 0.0f, ab, Tk);
            sc_softmax_rows_forward(ab, ab, Tq, Tk, Tq, causal);
            /* out_h = att_h @ v_h */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Tq, hs, Tk,
                        1.0f, ab, Tk, vb, ldkv, 0.0f, ob, ldo);
        }
}

/* q (B,Tq,C), k, v (B,Tk,C), att (B,H,Tq,Tk), out (B,Tq,C); C = H*hs */
void sc_mha_forward(float *out, float *att, const float *q, const float *k, const float *v,
                    int B, int Tq, int Tk, int H, int hs, int causal) {
    const int C = H * hs;
    sc_mha_forward_ld(out, C, att, q, C, k, v, C, B, Tq, Tk, H, hs, causal);
}

/* dout (B,Tq,ldo), att (B,H,Tq,Tk), q (B,Tq,ldq), k, v (B,Tk,ldkv), scratch (Tq,Tk);
 * dq (B,Tq,ldq), dk, dv (B,Tk,ldkv) accumulated, or overwritten when overwrite != 0: each
 * (batch, head) block of them is one sgemm's output, so beta = 0 there replaces a zeroing pass. */
void sc_mha_backward_ld(float *dq, float *dk, float *dv, const float *dout, int ldo,
                        const float *att, const float *q, int ldq, const float *k, const float *v,
                        int ldkv, float *scratch, int B, int Tq, int Tk, int H, int hs, int overwrite) {
    mha_check_dims(B, Tq, Tk, H, hs);
    assert(ldo >= H * hs && ldq >= H * hs && ldkv >= H * hs);
    if (B == 0 || Tq == 0) return;
    const float scale = 1.0f / sqrtf((float)hs), beta = overwrite ? 0.0f : 1.0f;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const size_t qoff = (size_t)b * Tq * ldq + (size_t)h * hs;
            const size_t koff = (size_t)b * Tk * ldkv + (size_t)h * hs;
            const float *ab = att + ((size_t)b * H + h) * Tq * Tk;
            const float *dob = dout + (size_t)b * Tq * ldo + (size_t)h * hs;
            /* forward: out_h = att_h @ v_h  =>  dv_h += att_h^T @ dout_h */
            if (dv)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Tk, hs, Tq,
                            1.0f, ab, Tk, dob, ldo, beta, dv + koff, ldkv);
            if (!dq && !dk) continue;
            /* datt = dout_h @ v_h^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Tq, Tk, hs,
                        1.0f, dob, ldo, v + koff, ldkv, 0.0f, scratch, Tk);
            /* forward: att = softmax(scores)  =>  dscores = att (datt - sum datt att);
             * masked weights are 0, so their dscores are 0 */
            softmax_grad_inplace(scratch, ab, Tq, Tk);
            /* forward: scores = scale q_h k_h^T  =>  dq_h += scale dscores @ k_h,
             *                                       dk_h += scale dscores^T @ q_h */
            if (dq)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Tq, hs, Tk,
                            scale, scratch, Tk, k + koff, ldkv, beta, dq + qoff, ldq);
            if (dk)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Tk, hs, Tq,
                            scale, scratch, Tk, q + qoff, ldq, beta, dk + koff, ldkv);
        }
}

/* dout (B,Tq,C), att (B,H,Tq,Tk), q (B,Tq,C), k, v (B,Tk,C), scratch (Tq,Tk);
 * dq (B,Tq,C), dk, dv (B,Tk,C) accumulated. */
void sc_mha_backward(float *dq, float *dk, float *dv, const float *dout, const float *att,
                     const float *q, const float *k, const float *v, float *scratch,
                     int B, int Tq, int Tk, int H, int hs) {
    const int C = H * hs;
    sc_mha_backward_ld(dq, dk, dv, dout, C, att, q, C, k, v, C, scratch, B, Tq, Tk, H, hs, 0);
}

/* ---- the naive references: plain loops, the specification --------------------------- */

/* q (B,Tq,C), k, v (B,Tk,C), att (B,H,Tq,Tk), out (B,Tq,C); C = H*hs */
void sc_mha_forward_naive(float *out, float *att, const float *q, const float *k,
                          const float *v, int B, int Tq, int Tk, int H, int hs, int causal) {
    mha_check_dims(B, Tq, Tk, H, hs);
    assert(!causal || Tq == Tk);
    const int C = H * hs;
    const float scale = 1.0f / sqrtf((float)hs);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            float *ab = att + ((size_t)b * H + h) * Tq * Tk;
            for (int i = 0; i < Tq; i++) {
                const float *qi = q + ((size_t)b * Tq + i) * C + (size_t)h * hs;
                float *ai = ab + (size_t)i * Tk;
                const int n = causal ? i + 1 : Tk; /* keys query i may see */
                /* a_ij = q_i . k_j / sqrt(hs), then softmax over j < n, 0 beyond */
                float mx = -INFINITY;
                for (int j = 0; j < n; j++) {
                    const float *kj = k + ((size_t)b * Tk + j) * C + (size_t)h * hs;
                    float s = 0.0f;
                    for (int d = 0; d < hs; d++) s += qi[d] * kj[d];
                    ai[j] = s * scale;
                    if (ai[j] > mx) mx = ai[j];
                }
                float sum = 0.0f;
                for (int j = 0; j < n; j++) {
                    ai[j] = expf(ai[j] - mx);
                    sum += ai[j];
                }
                for (int j = 0; j < n; j++) ai[j] /= sum;
                for (int j = n; j < Tk; j++) ai[j] = 0.0f;
                /* out_i = sum_j a_ij v_j */
                float *oi = out + ((size_t)b * Tq + i) * C + (size_t)h * hs;
                for (int d = 0; d < hs; d++) {
                    float s = 0.0f;
                    for (int j = 0; j < Tk; j++)
                        s += ai[j] * v[((size_t)b * Tk + j) * C + (size_t)h * hs + d];
                    oi[d] = s;
                }
            }
        }
}

/* dout (B,Tq,C), att (B,H,Tq,Tk), q (B,Tq,C), k, v (B,Tk,C), scratch (Tq,Tk);
 * dq (B,Tq,C), dk, dv (B,Tk,C) accumulated. */
void sc_mha_backward_naive(float *dq, float *dk, float *dv, const float *dout,
                           const float *att, const float *q, const float *k, const float *v,
                           float *scratch, int B, int Tq, int Tk, int H, int hs) {
    mha_check_dims(B, Tq, Tk, H, hs);
    const int C = H * hs;
    const float scale = 1.0f / sqrtf((float)hs);
#define QROW(p, i) ((p) + ((size_t)b * Tq + (i)) * C + (size_t)h * hs)
#define KROW(p, j) ((p) + ((size_t)b * Tk + (j)) * C + (size_t)h * hs)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float *ab = att + ((size_t)b * H + h) * Tq * Tk;
            /* forward: out_i = sum_j a_ij v_j  =>  dv_j += sum_i a_ij dout_i */
            if (dv)
                for (int j = 0; j < Tk; j++)
                    for (int d = 0; d < hs; d++) {
                        float s = 0.0f;
                        for (int i = 0; i < Tq; i++)
                            s += ab[(size_t)i * Tk + j] * QROW(dout, i)[d];
                        KROW(dv, j)[d] += s;
                    }
            if (!dq && !dk) continue;
            /* da_ij = dout_i . v_j;  dscore_ij = a_ij (da_ij - sum_j' da_ij' a_ij') */
            for (int i = 0; i < Tq; i++) {
                float *gi = scratch + (size_t)i * Tk;
                const float *ai = ab + (size_t)i * Tk;
                for (int j = 0; j < Tk; j++) {
                    float s = 0.0f;
                    for (int d = 0; d < hs; d++) s += QROW(dout, i)[d] * KROW(v, j)[d];
                    gi[j] = s;
                }
                float dot = 0.0f;
                for (int j = 0; j < Tk; j++) dot += gi[j] * ai[j];
                for (int j = 0; j < Tk; j++) gi[j] = ai[j] * (gi[j] - dot);
            }
            /* forward: score_ij = q_i . k_j / sqrt(hs)
             *   =>  dq_i += sum_j dscore_ij k_j / sqrt(hs),
             *       dk_j += sum_i dscore_ij q_i / sqrt(hs) */
            if (dq)
                for (int i = 0; i < Tq; i++)
                    for (int d = 0; d < hs; d++) {
                        float s = 0.0f;
                        for (int j = 0; j < Tk; j++)
                            s += scratch[(size_t)i * Tk + j] * KROW(k, j)[d];
                        QROW(dq, i)[d] += scale * s;
                    }
            if (dk)
                for (int j = 0; j < Tk; j++)
                    for (int d = 0; d < hs; d++) {
                        float s = 0.0f;
                        for (int i = 0; i < Tq; i++)
                            s += scratch[(size_t)i * Tk + j] * QROW(q, i)[d];
                        KROW(dk, j)[d] += scale * s;
                    }
        }
#undef QROW
#undef KROW
}

/* ---- statistics of a probability row ------------------------------------------------- */

/* p (n) */
double sc_prob_entropy(const float *p, int n, float *pmax) {
    double ent = 0.0;
    float mx = 0.0f;
    for (int i = 0; i < n; i++) {
        if (p[i] > 0.0f) ent -= (double)p[i] * log((double)p[i]);
        mx = p[i] > mx ? p[i] : mx;
    }
    *pmax = mx;
    return ent;
}
