/* test_nets_attn.c - nets/attn.h: layernorm, GELU, row softmax, multi-head attention.
 *
 * Gradients: each case runs a layer forward, reduces its outputs to a scalar
 *     L = sum_k out[k] * wts[k]          (accumulated in double; wts fixed, random)
 * so that dL/dout = wts, runs the layer backward with dout = wts, and asks
 * sc_gradcheck to compare every coordinate of every input and parameter
 * gradient with central differences. The same case checks that backward ADDS
 * (two calls give twice the gradient) and that no checked gradient is
 * identically zero (which would make the check vacuous). A companion test
 * feeds the checker deliberately wrong gradients (scaled by 1.1, or from the
 * unmasked softmax) and expects it to object, so these tests can fail.
 *
 * Values: fast attention vs the naive specification (forward, backward,
 * accumulation, NULL outputs) at several shapes; the causal mask (zeros above
 * the diagonal, rows summing to 1, the future not leaking into the past, in
 * either direction); layernorm's normalised rows; softmax with scores of 1e4;
 * GELU's values. Set SACCADE_TEST_VERBOSE=1 to print every case's worst error.
 *
 * Dimension letters as attn.h: N rows, D width, R softmax rows, K softmax width,
 * B batch, Tq queries, Tk keys, H heads, hs head size, C = H*hs.
 */
#include "tests/testutil.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nets/attn.h"
#include "nets/gradcheck.h"
#include "nets/rng.h"
#include "nets/vecmath.h"

/* Finite-difference settings (as test_nets_layers.c). The layers compute in
 * float, so the loss carries rounding noise of ~1e-7 relative; with this step a
 * correct backward stays well below TOL (see SACCADE_TEST_VERBOSE), while a
 * wrong sign, factor or missing term gives errors of order 0.05 to 1. */
#define TOL GRADCASE_TOL
#define LN_EPS 1e-5f

#include "tests/gradcase.h"

/* ---- layer normalisation ------------------------------------------------------------ */

typedef struct ln_ctx {
    int N, D;
    float *x, *gamma, *beta, *y, *mean, *rstd, *wts;
    float *dx, *dgamma, *dbeta;
} ln_ctx;

static double ln_loss(void *p) {
    ln_ctx *c = p;
    sc_layernorm_forward(c->y, c->mean, c->rstd, c->x, c->gamma, c->beta, c->N, c->D, LN_EPS);
    return dot(c->y, c->wts, (size_t)c->N * c->D);
}

static void ln_bwd(void *p) {
    ln_ctx *c = p;
    ln_loss(c);
    sc_layernorm_backward(c->dx, c->dgamma, c->dbeta, c->wts, c->x, c->mean, c->rstd, c->gamma,
                          c->N, c->D);
}

static void make_ln_case(gcase *g, ln_ctx *c, char *name, size_t namelen, int N, int D,
                         uint64_t seed) {
    sc_rng r;
    sc_rng_seed(&r, seed);
    size_t n = (size_t)N * D;
    *c = (ln_ctx){N, D, frand(&r, n, 2.0f), frand(&r, D, 1.5f), frand(&r, D, 1.0f), fbuf(n),
                  fbuf(N), fbuf(N), frand(&r, n, 1.0f), fbuf(n), fbuf(D), fbuf(D)};
    snprintf(name, namelen, "layernorm N%d D%d", N, D);
    *g = (gcase){name, c, ln_loss, ln_bwd, 0, {{0}}, GRADCASE_EPS, TOL};
    add_var(g, "x", c->x, c->dx, n);
    add_var(g, "gamma", c->gamma, c->dgamma, D);
    add_var(g, "beta", c->beta, c->dbeta, D);
}

static void check_layernorm(int N, int D, uint64_t seed) {
    ln_ctx c;
    gcase g;
    char name[48];
    make_ln_case(&g, &c, name, sizeof name, N, D, seed);
    run_case(&g);
}

START_TEST(test_grad_layernorm) {
    check_layernorm(3, 5, 1);
    check_layernorm(1, 8, 2);
    check_layernorm(4, 3, 3);
    check_layernorm(2, 19, 4);
    arena_free();
}
END_TEST

/* ---- GELU ------------------------------------------------------------------------------- */

typedef struct gelu_ctx {
    int N;
    float *in, *out, *wts, *din;
} gelu_ctx;

static double gelu_loss(void *p) {
    gelu_ctx *c = p;
    sc_gelu_forward(c->out, c->in, c->N);
    return dot(c->out, c->wts, (size_t)c->N);
}

static void gelu_bwd(void *p) {
    gelu_ctx *c = p;
    gelu_loss(c);
    sc_gelu_backward(c->din, c->wts, c->in, c->N);
}

static void make_gelu_case(gcase *g, gelu_ctx *c, char *name, size_t namelen, int N,
                           uint64_t seed) {
    sc_rng r;
    sc_rng_seed(&r, seed);
    *c = (gelu_ctx){N, frand(&r, N, 4.0f), fbuf(N), frand(&r, N, 1.0f), fbuf(N)};
    snprintf(name, namelen, "gelu N%d", N);
    *g = (gcase){name, c, gelu_loss, gelu_bwd, 0, {{0}}, GRADCASE_EPS, TOL};
    add_var(g, "in", c->in, c->din, N);
}

START_TEST(test_grad_gelu) {
    const int sizes[2] = {37, 1};
    for (int s = 0; s < 2; s++) {
        gelu_ctx c;
        gcase g;
        char name[32];
        make_gelu_case(&g, &c, name, sizeof name, sizes[s], 10 + s);
        if (sizes[s] == 1) c.in[0] = 0.8f; /* a single element: keep it where gelu' is not ~0 */
        run_case(&g);
    }
    arena_free();
}
END_TEST

/* The in-place backward is the accumulating one from zero, value for value (16-blocks and
 * tail; only a zero's sign may differ: 0 + -0 is +0). */
START_TEST(test_gelu_backward_inplace) {
    sc_rng r;
    sc_rng_seed(&r, 61);
    enum { N = 16 * 5 + 7 };
    float *in = frand(&r, N, 6.0f), *dout = frand(&r, N, 2.0f), *din = fbuf(N), *d = fcopy(dout, N);
    sc_gelu_backward(din, dout, in, N);
    sc_gelu_backward_inplace(d, in, N);
    for (int i = 0; i < N; i++) ck_assert_msg(d[i] == din[i], "%d: %.9g vs %.9g (in %g dout %g)", i, d[i], din[i], in[i], dout[i]);
    arena_free();
}
END_TEST

START_TEST(test_gelu_values) {
    /* tanh-approximation values, computed in double */
    float x[6] = {-20.0f, -1.0f, 0.0f, 0.5f, 1.0f, 20.0f}, y[6], buf[6];
    sc_gelu_forward(y, x, 6);
    for (int i = 0; i < 6; i++) {
        double xd = x[i];
        double u = sqrt(2.0 / 3.14159265358979323846) * (xd + 0.044715 * xd * xd * xd);
        double want = 0.5 * xd * (1.0 + tanh(u));
        ck_assert_msg(fabs(y[i] - want) <= 1e-6 * (1.0 + fabs(want)), "gelu(%g) = %.8g, want %.8g",
                      x[i], y[i], want);
    }
    ck_assert_float_eq(y[2], 0.0f);
    ck_assert_float_eq_tol(y[4], 0.8411920f, 1e-6f);
    ck_assert_float_eq(y[5], 20.0f);
    ck_assert_float_eq_tol(y[0], 0.0f, 1e-6f);
    /* in place gives the same bits */
    memcpy(buf, x, sizeof buf);
    sc_gelu_forward(buf, buf, 6);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(buf[i], y[i]);
    /* gelu'(0) = 0.5, gelu'(20) = 1, gelu'(-20) = 0; NULL din is skipped */
    float d[6] = {0}, one[6] = {1, 1, 1, 1, 1, 1};
    sc_gelu_backward(d, one, x, 6);
    ck_assert_float_eq(d[2], 0.5f);
    ck_assert_float_eq_tol(d[5], 1.0f, 1e-6f);
    ck_assert_float_eq_tol(d[0], 0.0f, 1e-6f);
    sc_gelu_backward(NULL, one, x, 6);
}
END_TEST

/* ---- softmax over rows ------------------------------------------------------------------ */

typedef struct sm_ctx {
    int R, K, Tq, causal;
    float *s, *p, *wts, *ds;
} sm_ctx;

static double sm_loss(void *q) {
    sm_ctx *c = q;
    sc_softmax_rows_forward(c->p, c->s, c->R, c->K, c->Tq, c->causal);
    return dot(c->p, c->wts, (size_t)c->R * c->K);
}

static void sm_bwd(void *q) {
    sm_ctx *c = q;
    sm_loss(c);
    sc_softmax_rows_backward(c->ds, c->wts, c->p, c->R, c->K);
}

static void make_sm_case(gcase *g, sm_ctx *c, char *name, size_t namelen, int R, int K, int Tq,
                         int causal, uint64_t seed) {
    sc_rng r;
    sc_rng_seed(&r, seed);
    size_t n = (size_t)R * K;
    *c = (sm_ctx){R, K, Tq, causal, frand(&r, n, 2.0f), fbuf(n), frand(&r, n, 1.0f), fbuf(n)};
    snprintf(name, namelen, "softmax_rows R%d K%d%s", R, K, causal ? " causal" : "");
    *g = (gcase){name, c, sm_loss, sm_bwd, 0, {{0}}, GRADCASE_EPS, TOL};
    add_var(g, "s", c->s, c->ds, n);
}

static void check_softmax(int R, int K, int Tq, int causal, uint64_t seed) {
    sm_ctx c;
    gcase g;
    char name[48];
    make_sm_case(&g, &c, name, sizeof name, R, K, Tq, causal, seed);
    run_case(&g);
    if (causal) /* masked scores do not matter: their gradient is exactly 0 */
        for (int r = 0; r < R; r++)
            for (int j = r % Tq + 1; j < K; j++) ck_assert_float_eq(c.ds[r * K + j], 0.0f);
}

START_TEST(test_grad_softmax_rows) {
    check_softmax(4, 5, 0, 0, 20);
    check_softmax(1, 9, 0, 0, 21);
    check_softmax(3 * 4, 4, 4, 1, 22); /* three (4,4) blocks */
    check_softmax(5, 5, 5, 1, 23);
    arena_free();
}
END_TEST

START_TEST(test_softmax_rows_stable) {
    enum { R = 4, K = 4 };
    float s[R * K] = {1e4f, -1e4f, 0.0f, 1e4f - 1.0f,  /* two near-equal giants */
                      -1e4f, -1e4f, -1e4f, -1e4f,      /* all equal, all tiny */
                      1e4f, 1e4f, 1e4f, -1e4f,         /* three giants */
                      3e4f, -3e4f, 1e4f, 2e4f};
    float p[R * K];
    sc_softmax_rows_forward(p, s, R, K, 0, 0);
    for (int r = 0; r < R; r++) {
        double sum = 0.0;
        for (int j = 0; j < K; j++) {
            ck_assert(isfinite(p[r * K + j]));
            ck_assert(p[r * K + j] >= 0.0f);
            sum += p[r * K + j];
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-6);
    }
    ck_assert_double_eq_tol(p[0], 1.0 / (1.0 + exp(-1.0)), 1e-6);
    ck_assert_double_eq_tol(p[3], 1.0 / (1.0 + exp(1.0)), 1e-6);
    ck_assert_float_eq(p[1], 0.0f);
    for (int j = 0; j < K; j++) ck_assert_double_eq_tol(p[K + j], 0.25, 1e-7);
    ck_assert_double_eq_tol(p[2 * K], 1.0 / 3.0, 1e-7);
    ck_assert_float_eq(p[3 * K], 1.0f);

    /* causal, in place, huge scores: row i sees keys 0..i only */
    float c[K * K];
    for (int i = 0; i < K * K; i++) c[i] = (i % 2 ? 1e4f : -1e4f) * (float)(1 + i % 3);
    sc_softmax_rows_forward(c, c, K, K, K, 1);
    for (int i = 0; i < K; i++) {
        double sum = 0.0;
        for (int j = 0; j < K; j++) {
            ck_assert(isfinite(c[i * K + j]));
            if (j > i) ck_assert_float_eq(c[i * K + j], 0.0f);
            sum += c[i * K + j];
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-6);
    }
    ck_assert_float_eq(c[0], 1.0f); /* query 0 sees only key 0 */

    /* the backward stays finite too */
    float dp[R * K], ds[R * K] = {0};
    for (int i = 0; i < R * K; i++) dp[i] = (float)(i % 5) - 2.0f;
    sc_softmax_rows_backward(ds, dp, p, R, K);
    for (int i = 0; i < R * K; i++) ck_assert(isfinite(ds[i]));
}
END_TEST

/* The softmax's tail of fewer than 16 keys goes through one exp16 of a partial
 * vector (ldn16/stn16): the lanes read beyond n are 0, a store leaves the
 * floats beyond n alone, and each p_j is the scalar formula's, exp1(s_j - max)
 * / sum, whatever the row width (every width 1..40, causal rows included). */
START_TEST(test_softmax_rows_tails) {
    float buf[16], out[17];
    for (int n = 0; n <= 16; n++) {
        for (int i = 0; i < 16; i++) buf[i] = (float)(i + 1);
        vf16 v = ldn16(buf, n);
        for (int i = 0; i < 16; i++) ck_assert_float_eq(v[i], i < n ? (float)(i + 1) : 0.0f);
        for (int i = 0; i < 17; i++) out[i] = -1.0f;
        stn16(out, splat16(7.0f), n);
        for (int i = 0; i < 17; i++) ck_assert_float_eq(out[i], i < n ? 7.0f : -1.0f);
    }
    sc_rng r;
    sc_rng_seed(&r, 31);
    enum { KMAX = 40 };
    float s[KMAX * KMAX], p[KMAX * KMAX];
    for (int K = 1; K <= KMAX; K++)
        for (int causal = 0; causal <= 1; causal++) {
            for (int i = 0; i < K * K; i++) s[i] = 6.0f * sc_rng_uniform(&r) - 3.0f;
            sc_softmax_rows_forward(p, s, K, K, K, causal);
            for (int i = 0; i < K; i++) {
                const int n = causal ? i + 1 : K;
                const float *si = s + i * K, *pi = p + i * K;
                float mx = si[0];
                for (int j = 1; j < n; j++) mx = si[j] > mx ? si[j] : mx;
                double sum = 0.0;
                for (int j = 0; j < n; j++) sum += exp1(si[j] - mx);
                for (int j = 0; j < K; j++) {
                    const double want = j < n ? exp1(si[j] - mx) / sum : 0.0;
                    ck_assert_msg(fabs(pi[j] - want) <= 4e-7 * want, "K %d causal %d row %d key %d: %.9g, want %.9g",
                                  K, causal, i, j, pi[j], want);
                }
            }
        }
}
END_TEST

/* ---- multi-head attention: gradients ------------------------------------------------------ */

typedef struct mha_ctx {
    int B, Tq, Tk, H, hs, causal, naive;
    float *q, *k, *v, *out, *att, *wts, *scratch;
    float *dq, *dk, *dv;
} mha_ctx;

static double mha_loss(void *p) {
    mha_ctx *c = p;
    if (c->naive)
        sc_mha_forward_naive(c->out, c->att, c->q, c->k, c->v, c->B, c->Tq, c->Tk, c->H, c->hs,
                             c->causal);
    else
        sc_mha_forward(c->out, c->att, c->q, c->k, c->v, c->B, c->Tq, c->Tk, c->H, c->hs,
                       c->causal);
    return dot(c->out, c->wts, (size_t)c->B * c->Tq * c->H * c->hs);
}

static void mha_bwd(void *p) {
    mha_ctx *c = p;
    mha_loss(c);
    if (c->naive)
        sc_mha_backward_naive(c->dq, c->dk, c->dv, c->wts, c->att, c->q, c->k, c->v, c->scratch,
                              c->B, c->Tq, c->Tk, c->H, c->hs);
    else
        sc_mha_backward(c->dq, c->dk, c->dv, c->wts, c->att, c->q, c->k, c->v, c->scratch, c->B,
                        c->Tq, c->Tk, c->H, c->hs);
}

static void make_mha_case(gcase *g, mha_ctx *c, char *name, size_t namelen, int B, int Tq,
                          int Tk, int H, int hs, int causal, int naive, uint64_t seed) {
    sc_rng r;
    sc_rng_seed(&r, seed);
    size_t C = (size_t)H * hs, nq = (size_t)B * Tq * C, nk = (size_t)B * Tk * C;
    *c = (mha_ctx){B, Tq, Tk, H, hs, causal, naive, NULL, NULL, NULL, NULL, NULL,
                   NULL, NULL, NULL, NULL, NULL};
    /* scores of order 1: peaked enough that the softmax matters, not saturated */
    c->q = frand(&r, nq, 1.5f);
    c->k = frand(&r, nk, 1.5f);
    c->v = frand(&r, nk, 1.0f);
    c->out = fbuf(nq);
    c->att = fbuf((size_t)B * H * Tq * Tk);
    c->wts = frand(&r, nq, 1.0f);
    c->scratch = fbuf((size_t)Tq * Tk);
    c->dq = fbuf(nq);
    c->dk = fbuf(nk);
    c->dv = fbuf(nk);
    snprintf(name, namelen, "mha%s B%d Tq%d Tk%d H%d hs%d%s", naive ? "_naive" : "", B, Tq, Tk, H,
             hs, causal ? " causal" : "");
    *g = (gcase){name, c, mha_loss, mha_bwd, 0, {{0}}, GRADCASE_EPS, TOL};
    add_var(g, "q", c->q, c->dq, nq);
    add_var(g, "k", c->k, c->dk, nk);
    add_var(g, "v", c->v, c->dv, nk);
}

static void check_mha(int B, int Tq, int Tk, int H, int hs, int causal, int naive,
                      uint64_t seed) {
    mha_ctx c;
    gcase g;
    char name[64];
    make_mha_case(&g, &c, name, sizeof name, B, Tq, Tk, H, hs, causal, naive, seed);
    run_case(&g);
}

START_TEST(test_grad_mha) {
    for (int naive = 0; naive <= 1; naive++) {
        check_mha(2, 3, 3, 2, 3, 0, naive, 30);  /* self-attention, unmasked */
        check_mha(2, 4, 4, 2, 3, 1, naive, 31);  /* causal */
        check_mha(2, 1, 5, 2, 3, 0, naive, 32);  /* one query over five keys (cross) */
        check_mha(1, 3, 6, 1, 5, 0, naive, 33);  /* H = 1, Tq != Tk */
        check_mha(1, 5, 5, 3, 2, 1, naive, 34);  /* causal, three heads */
    }
    arena_free();
}
END_TEST

/* ---- the checker notices wrong gradients (so the tests above can fail) --------------------- */

START_TEST(test_gradcheck_catches_wrong_gradients) {
    char name[64];
    double w;
    /* a gradient 10% too large is far beyond TOL for every layer */
    ln_ctx lc;
    gcase g;
    make_ln_case(&g, &lc, name, sizeof name, 3, 5, 1);
    w = run_case_scaled(&g, 1.1f);
    ck_assert_msg(w > 10 * TOL, "layernorm x1.1 gradient not caught: %g", w);

    gelu_ctx gc;
    make_gelu_case(&g, &gc, name, sizeof name, 37, 10);
    w = run_case_scaled(&g, 1.1f);
    ck_assert_msg(w > 10 * TOL, "gelu x1.1 gradient not caught: %g", w);

    sm_ctx sc;
    make_sm_case(&g, &sc, name, sizeof name, 12, 4, 4, 1, 22);
    w = run_case_scaled(&g, 1.1f);
    ck_assert_msg(w > 10 * TOL, "softmax x1.1 gradient not caught: %g", w);

    mha_ctx mc;
    make_mha_case(&g, &mc, name, sizeof name, 2, 4, 4, 2, 3, 1, 0, 31);
    w = run_case_scaled(&g, 1.1f);
    ck_assert_msg(w > 10 * TOL, "mha x1.1 gradient not caught: %g", w);

    /* a mask bug: the loss sees the causal forward, the analytic gradient comes
     * from the unmasked one */
    make_mha_case(&g, &mc, name, sizeof name, 2, 4, 4, 2, 3, 1, 0, 31);
    mc.causal = 0;
    mha_bwd(&mc);
    float *wrong = fcopy(mc.dk, (size_t)2 * 4 * 6);
    memset(mc.dk, 0, (size_t)2 * 4 * 6 * sizeof(float));
    mc.causal = 1;
    sc_gradcheck_report rep;
    ck_assert_int_eq(sc_gradcheck(mha_loss, &mc, mc.k, wrong, (size_t)2 * 4 * 6, 0, GRADCASE_EPS,
                                  GRADCASE_ABS_FLOOR, &rep), 0);
    if (verbose()) printf("  mha unmasked dk vs causal loss: max rel %.2e\n", rep.max_rel_err);
    ck_assert_msg(rep.max_rel_err > 10 * TOL, "unmasked gradient not caught: %g", rep.max_rel_err);
    arena_free();
}
END_TEST

/* ---- multi-head attention: fast vs naive ---------------------------------------------------- */

static void assert_close(const char *what, const char *shape, const float *a, const float *b,
                         size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(b[i]));
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabsf(a[i] - b[i]) <= 2e-5f * (1.0f + m),
                      "%s (%s)[%zu]: blas %.8g vs naive %.8g", what, shape, i, a[i], b[i]);
}

/* The strided versions read q, k, v as column blocks of wider rows and write
 * out, dq, dk, dv there, leaving the other columns alone: the same bits as the
 * packed versions (the same sgemms), forward and accumulating backward; the
 * overwriting backward ignores what its outputs held. */
START_TEST(test_mha_strided_matches_packed) {
    static const int shapes[][6] = { /* B, Tq, Tk, H, hs, causal */
        {1, 1, 7, 1, 5, 0}, {2, 17, 17, 3, 12, 1}, {2, 1, 11, 4, 4, 0}, {3, 10, 10, 4, 16, 0}};
    sc_rng r;
    sc_rng_seed(&r, 51);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int B = shapes[s][0], Tq = shapes[s][1], Tk = shapes[s][2], H = shapes[s][3];
        const int hs = shapes[s][4], causal = shapes[s][5], C = H * hs;
        const int ldq = 3 * C + 2, ldkv = 2 * C + 1, ldo = C + 3; /* q alone; [k v] side by side */
        const size_t nq = (size_t)B * Tq * C, nk = (size_t)B * Tk * C, na = (size_t)B * H * Tq * Tk;
        float *q = frand(&r, nq, 2.0f), *k = frand(&r, nk, 2.0f), *v = frand(&r, nk, 1.0f);
        float *wq = frand(&r, (size_t)B * Tq * ldq, 5.0f), *wkv = frand(&r, (size_t)B * Tk * ldkv, 5.0f);
        for (int i = 0; i < B * Tq; i++) memcpy(wq + (size_t)i * ldq + 1, q + (size_t)i * C, sizeof(float) * C);
        for (int i = 0; i < B * Tk; i++) {
            memcpy(wkv + (size_t)i * ldkv, k + (size_t)i * C, sizeof(float) * C);
            memcpy(wkv + (size_t)i * ldkv + C, v + (size_t)i * C, sizeof(float) * C);
        }
        float *o1 = fbuf(nq), *a1 = fbuf(na), *a2 = fbuf(na);
        float *wo = frand(&r, (size_t)B * Tq * ldo, 5.0f), *wo0 = fcopy(wo, (size_t)B * Tq * ldo);
        sc_mha_forward(o1, a1, q, k, v, B, Tq, Tk, H, hs, causal);
        sc_mha_forward_ld(wo, ldo, a2, wq + 1, ldq, wkv, wkv + C, ldkv, B, Tq, Tk, H, hs, causal);
        ck_assert_int_eq(memcmp(a1, a2, na * sizeof(float)), 0);
        for (int i = 0; i < B * Tq; i++) {
            ck_assert_int_eq(memcmp(wo + (size_t)i * ldo, o1 + (size_t)i * C, sizeof(float) * C), 0);
            ck_assert_int_eq(memcmp(wo + (size_t)i * ldo + C, wo0 + (size_t)i * ldo + C, sizeof(float) * 3), 0);
        }
        /* backward into non-zero buffers (it adds), dout read through ldo */
        float *dout = frand(&r, nq, 1.0f), *sc1 = fbuf((size_t)Tq * Tk), *sc2 = fbuf((size_t)Tq * Tk);
        for (int i = 0; i < B * Tq; i++) memcpy(wo + (size_t)i * ldo, dout + (size_t)i * C, sizeof(float) * C);
        float *dq = frand(&r, nq, 1.0f), *dk = frand(&r, nk, 1.0f), *dv = frand(&r, nk, 1.0f);
        float *wdq = frand(&r, (size_t)B * Tq * ldq, 5.0f), *wdkv = frand(&r, (size_t)B * Tk * ldkv, 5.0f);
        float *wdq0 = fcopy(wdq, (size_t)B * Tq * ldq), *wdkv0 = fcopy(wdkv, (size_t)B * Tk * ldkv);
        for (int i = 0; i < B * Tq; i++) memcpy(wdq + (size_t)i * ldq + 1, dq + (size_t)i * C, sizeof(float) * C);
        for (int i = 0; i < B * Tk; i++) {
            memcpy(wdkv + (size_t)i * ldkv, dk + (size_t)i * C, sizeof(float) * C);
            memcpy(wdkv + (size_t)i * ldkv + C, dv + (size_t)i * C, sizeof(float) * C);
        }
        sc_mha_backward(dq, dk, dv, dout, a1, q, k, v, sc1, B, Tq, Tk, H, hs);
        sc_mha_backward_ld(wdq + 1, wdkv, wdkv + C, wo, ldo, a1, wq + 1, ldq, wkv, wkv + C, ldkv, sc2, B, Tq, Tk,
                           H, hs, 0);
        for (int i = 0; i < B * Tq; i++) {
            const float *row = wdq + (size_t)i * ldq, *row0 = wdq0 + (size_t)i * ldq;
            ck_assert_int_eq(memcmp(row + 1, dq + (size_t)i * C, sizeof(float) * C), 0);
            ck_assert_float_eq(row[0], row0[0]);
            ck_assert_int_eq(memcmp(row + 1 + C, row0 + 1 + C, sizeof(float) * (ldq - 1 - C)), 0);
        }
        for (int i = 0; i < B * Tk; i++) {
            const float *row = wdkv + (size_t)i * ldkv;
            ck_assert_int_eq(memcmp(row, dk + (size_t)i * C, sizeof(float) * C), 0);
            ck_assert_int_eq(memcmp(row + C, dv + (size_t)i * C, sizeof(float) * C), 0);
            ck_assert_float_eq(row[2 * C], wdkv0[(size_t)i * ldkv + 2 * C]);
        }
        /* overwrite: garbage in, the gradient from zero out (packed, contiguous) */
        float *zq = fbuf(nq), *zk = fbuf(nk), *zv = fbuf(nk), *gq = frand(&r, nq, 9.0f);
        float *gk = frand(&r, nk, 9.0f), *gv = frand(&r, nk, 9.0f);
        sc_mha_backward(zq, zk, zv, dout, a1, q, k, v, sc1, B, Tq, Tk, H, hs);
        sc_mha_backward_ld(gq, gk, gv, dout, C, a1, q, C, k, v, C, sc2, B, Tq, Tk, H, hs, 1);
        ck_assert_int_eq(memcmp(gq, zq, nq * sizeof(float)), 0);
        ck_assert_int_eq(memcmp(gk, zk, nk * sizeof(float)), 0);
        ck_assert_int_eq(memcmp(gv, zv, nk * sizeof(float)), 0);
    }
    arena_free();
}
END_TEST

START_TEST(test_mha_fast_matches_naive) {
    static const int shapes[][6] = { /* B, Tq, Tk, H, hs, causal */
        {1, 1, 1, 1, 1, 0},   {1, 1, 7, 1, 5, 0},   {2, 3, 3, 2, 3, 1},   {3, 1, 9, 4, 7, 0},
        {2, 17, 17, 3, 12, 1}, {2, 17, 11, 3, 13, 0}, {1, 32, 32, 4, 16, 1}, {4, 5, 40, 2, 8, 0},
        {1, 64, 64, 1, 33, 1}, {2, 9, 9, 8, 4, 0}};
    sc_rng r;
    sc_rng_seed(&r, 50);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int B = shapes[s][0], Tq = shapes[s][1], Tk = shapes[s][2], H = shapes[s][3];
        int hs = shapes[s][4], causal = shapes[s][5];
        char shape[64];
        snprintf(shape, sizeof shape, "B%d Tq%d Tk%d H%d hs%d%s", B, Tq, Tk, H, hs,
                 causal ? " causal" : "");
        size_t C = (size_t)H * hs, nq = (size_t)B * Tq * C, nk = (size_t)B * Tk * C;
        size_t na = (size_t)B * H * Tq * Tk;
        float *q = frand(&r, nq, 2.0f), *k = frand(&r, nk, 2.0f), *v = frand(&r, nk, 1.0f);
        /* garbage in the outputs: the forward overwrites them */
        float *o1 = frand(&r, nq, 9.0f), *o2 = frand(&r, nq, 9.0f);
        float *a1 = frand(&r, na, 9.0f), *a2 = frand(&r, na, 9.0f);
        sc_mha_forward(o1, a1, q, k, v, B, Tq, Tk, H, hs, causal);
        sc_mha_forward_naive(o2, a2, q, k, v, B, Tq, Tk, H, hs, causal);
        assert_close("forward att", shape, a1, a2, na);
        assert_close("forward out", shape, o1, o2, nq);

        /* deterministic: a second call gives the same bits */
        float *o3 = fbuf(nq), *a3 = fbuf(na);
        sc_mha_forward(o3, a3, q, k, v, B, Tq, Tk, H, hs, causal);
        ck_assert_int_eq(memcmp(o1, o3, nq * sizeof(float)), 0);
        ck_assert_int_eq(memcmp(a1, a3, na * sizeof(float)), 0);

        /* backward from the same non-zero d-buffers (accumulate), the same cached att */
        float *dout = frand(&r, nq, 1.0f), *sc1 = frand(&r, (size_t)Tq * Tk, 9.0f);
        float *sc2 = frand(&r, (size_t)Tq * Tk, 9.0f);
        float *dq0 = frand(&r, nq, 1.0f), *dk0 = frand(&r, nk, 1.0f), *dv0 = frand(&r, nk, 1.0f);
        float *dq1 = fcopy(dq0, nq), *dk1 = fcopy(dk0, nk), *dv1 = fcopy(dv0, nk);
        float *dq2 = fcopy(dq0, nq), *dk2 = fcopy(dk0, nk), *dv2 = fcopy(dv0, nk);
        sc_mha_backward(dq1, dk1, dv1, dout, a2, q, k, v, sc1, B, Tq, Tk, H, hs);
        sc_mha_backward_naive(dq2, dk2, dv2, dout, a2, q, k, v, sc2, B, Tq, Tk, H, hs);
        assert_close("backward dq", shape, dq1, dq2, nq);
        assert_close("backward dk", shape, dk1, dk2, nk);
        assert_close("backward dv", shape, dv1, dv2, nk);

        /* accumulation really happened: (result - start) matches a run from zero */
        float *dz = fbuf(nq);
        sc_mha_backward_naive(dz, NULL, NULL, dout, a2, q, k, v, sc2, B, Tq, Tk, H, hs);
        for (size_t i = 0; i < nq; i++) dz[i] += dq0[i];
        assert_close("accumulated dq", shape, dq1, dz, nq);

        /* NULL outputs are skipped, each on its own, in both versions */
        float *x1 = fcopy(dv0, nk), *x2 = fcopy(dv0, nk);
        sc_mha_backward(NULL, NULL, x1, dout, a2, q, k, v, sc1, B, Tq, Tk, H, hs);
        sc_mha_backward_naive(NULL, NULL, x2, dout, a2, q, k, v, sc2, B, Tq, Tk, H, hs);
        assert_close("dv only", shape, x1, dv2, nk);
        assert_close("dv only (naive)", shape, x2, dv2, nk);
        memcpy(x1, dk0, nk * sizeof(float));
        memcpy(x2, dk0, nk * sizeof(float));
        sc_mha_backward(NULL, x1, NULL, dout, a2, q, k, v, sc1, B, Tq, Tk, H, hs);
        sc_mha_backward_naive(NULL, x2, NULL, dout, a2, q, k, v, sc2, B, Tq, Tk, H, hs);
        assert_close("dk only", shape, x1, dk2, nk);
        assert_close("dk only (naive)", shape, x2, dk2, nk);
        float *y1 = fcopy(dq0, nq);
        sc_mha_backward(y1, NULL, NULL, dout, a2, q, k, v, sc1, B, Tq, Tk, H, hs);
        assert_close("dq only", shape, y1, dq2, nq);
    }
    arena_free();
}
END_TEST

/* ---- the causal mask ------------------------------------------------------------------------ */

typedef void (*mha_fwd_fn)(float *, float *, const float *, const float *, const float *, int,
                           int, int, int, int, int);
typedef void (*mha_bwd_fn)(float *, float *, float *, const float *, const float *,
                           const float *, const float *, const float *, float *, int, int, int,
                           int, int);

START_TEST(test_mha_causal_mask) {
    enum { B = 2, T = 6, H = 2, hs = 5, C = H * hs };
    mha_fwd_fn fwd[2] = {sc_mha_forward, sc_mha_forward_naive};
    mha_bwd_fn bwd[2] = {sc_mha_backward, sc_mha_backward_naive};
    sc_rng r;
    sc_rng_seed(&r, 60);
    const size_t n = (size_t)B * T * C, na = (size_t)B * H * T * T;
    float *q = frand(&r, n, 2.0f), *k = frand(&r, n, 2.0f), *v = frand(&r, n, 1.0f);
    for (int f = 0; f < 2; f++) {
        float *out = fbuf(n), *att = frand(&r, na, 9.0f);
        fwd[f](out, att, q, k, v, B, T, T, H, hs, 1);
        /* above the diagonal exactly 0, every row sums to 1, query 0 sees key 0 only */
        for (int bh = 0; bh < B * H; bh++)
            for (int i = 0; i < T; i++) {
                const float *a = att + ((size_t)bh * T + i) * T;
                double sum = 0.0;
                for (int j = 0; j < T; j++) {
                    if (j > i) ck_assert_msg(a[j] == 0.0f, "f%d att[%d][%d][%d] = %g above the "
                                             "diagonal", f, bh, i, j, a[j]);
                    else ck_assert(a[j] > 0.0f);
                    sum += a[j];
                }
                ck_assert_double_eq_tol(sum, 1.0, 1e-6);
                if (i == 0) ck_assert_float_eq(a[0], 1.0f);
            }

        /* changing key and value at position p changes nothing at queries i < p */
        for (int p = 1; p < T; p++) {
            float *k2 = fcopy(k, n), *v2 = fcopy(v, n), *out2 = fbuf(n), *att2 = fbuf(na);
            for (int b = 0; b < B; b++)
                for (int c = 0; c < C; c++) {
                    k2[((size_t)b * T + p) * C + c] += 3.0f;
                    v2[((size_t)b * T + p) * C + c] -= 5.0f;
                }
            fwd[f](out2, att2, q, k2, v2, B, T, T, H, hs, 1);
            for (int b = 0; b < B; b++) {
                const size_t before = ((size_t)b * T + p) * C; /* rows i < p of batch b */
                ck_assert_msg(memcmp(out + (size_t)b * T * C, out2 + (size_t)b * T * C,
                                     (before - (size_t)b * T * C) * sizeof(float)) == 0,
                              "f%d: changing position %d changed an earlier output", f, p);
                int changed = 0; /* and the change is seen at position p itself */
                for (int c = 0; c < C; c++) changed |= out[before + c] != out2[before + c];
                ck_assert(changed);
            }
        }

        /* backward: a gradient only at query 0 reaches key/value 0 only; dq is 0 there
         * (query 0's weight is 1 whatever its score) */
        float *dout = fbuf(n), *dq = fbuf(n), *dk = fbuf(n), *dv = fbuf(n);
        float *scratch = fbuf((size_t)T * T);
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++) dout[(size_t)b * T * C + c] = 1.0f + (float)c;
        bwd[f](dq, dk, dv, dout, att, q, k, v, scratch, B, T, T, H, hs);
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                for (int c = 0; c < C; c++) {
                    size_t i = ((size_t)b * T + t) * C + c;
                    ck_assert_float_eq(dq[i], 0.0f);
                    if (t > 0) {
                        ck_assert_float_eq(dk[i], 0.0f);
                        ck_assert_float_eq(dv[i], 0.0f);
                    } else {
                        ck_assert_float_eq(dv[i], dout[i]);
                    }
                }
    }
    arena_free();
}
END_TEST

START_TEST(test_mha_huge_scores) {
    /* scores of ~1e4 / sqrt(hs): the softmax saturates, nothing overflows */
    enum { B = 1, T = 4, H = 2, hs = 4, C = H * hs };
    sc_rng r;
    sc_rng_seed(&r, 70);
    const size_t n = (size_t)B * T * C, na = (size_t)B * H * T * T;
    float *q = frand(&r, n, 100.0f), *k = frand(&r, n, 100.0f), *v = frand(&r, n, 1.0f);
    float *out = fbuf(n), *att = fbuf(na), *dq = fbuf(n), *dk = fbuf(n), *dv = fbuf(n);
    float *dout = frand(&r, n, 1.0f), *scratch = fbuf((size_t)T * T);
    for (int causal = 0; causal <= 1; causal++) {
        sc_mha_forward(out, att, q, k, v, B, T, T, H, hs, causal);
        sc_mha_backward(dq, dk, dv, dout, att, q, k, v, scratch, B, T, T, H, hs);
        for (size_t i = 0; i < n; i++)
            ck_assert(isfinite(out[i]) && isfinite(dq[i]) && isfinite(dk[i]) && isfinite(dv[i]));
        for (size_t i = 0; i < na; i += T) {
            double sum = 0.0;
            for (int j = 0; j < T; j++) sum += att[i + j];
            ck_assert_double_eq_tol(sum, 1.0, 1e-6);
        }
    }
    arena_free();
}
END_TEST

/* ---- layernorm values ---------------------------------------------------------------------- */

START_TEST(test_layernorm_normalises) {
    enum { N = 5, D = 33 };
    sc_rng r;
    sc_rng_seed(&r, 80);
    float *x = frand(&r, (size_t)N * D, 3.0f), *y = fbuf((size_t)N * D);
    float *gamma = fbuf(D), *beta = fbuf(D), *mean = fbuf(N), *rstd = fbuf(N);
    for (int d = 0; d < D; d++) gamma[d] = 1.0f;
    for (int d = 0; d < D; d++) x[2 * D + d] += 1000.0f; /* a far-off row */
    for (int d = 0; d < D; d++) x[3 * D + d] *= 1e-2f;   /* a narrow row */
    sc_layernorm_forward(y, mean, rstd, x, gamma, beta, N, D, LN_EPS);
    for (int i = 0; i < N; i++) {
        double m = 0.0, v = 0.0, xm = 0.0, xv = 0.0;
        for (int d = 0; d < D; d++) m += y[i * D + d], xm += x[i * D + d];
        m /= D, xm /= D;
        for (int d = 0; d < D; d++) {
            v += (y[i * D + d] - m) * (y[i * D + d] - m);
            xv += (x[i * D + d] - xm) * (x[i * D + d] - xm);
        }
        v /= D, xv /= D;
        ck_assert_msg(fabs(m) < 1e-5, "row %d: mean %g", i, m);
        /* var(y) = var / (var + eps) */
        ck_assert_msg(fabs(v - xv / (xv + LN_EPS)) < 2e-4, "row %d: variance %g, want %g", i, v,
                      xv / (xv + LN_EPS));
        ck_assert_double_eq_tol(mean[i], xm, 1e-4 * (1.0 + fabs(xm)));
        ck_assert_double_eq_tol(rstd[i], 1.0 / sqrt(xv + LN_EPS), 1e-4 / sqrt(xv + LN_EPS));
    }
    /* gamma and beta scale and shift: y' = 2 y + 0.5 */
    float *y2 = fbuf((size_t)N * D);
    for (int d = 0; d < D; d++) gamma[d] = 2.0f, beta[d] = 0.5f;
    sc_layernorm_forward(y2, mean, rstd, x, gamma, beta, N, D, LN_EPS);
    for (int i = 0; i < N * D; i++) ck_assert_float_eq_tol(y2[i], 2.0f * y[i] + 0.5f, 1e-5f);

    /* NULL outputs are skipped, each on its own, and agree with the full call */
    float *dy = frand(&r, (size_t)N * D, 1.0f);
    float *dx = fbuf((size_t)N * D), *dg = fbuf(D), *db = fbuf(D);
    float *dx1 = fbuf((size_t)N * D), *dg1 = fbuf(D), *db1 = fbuf(D);
    sc_layernorm_backward(dx, dg, db, dy, x, mean, rstd, gamma, N, D);
    sc_layernorm_backward(dx1, NULL, NULL, dy, x, mean, rstd, gamma, N, D);
    sc_layernorm_backward(NULL, dg1, NULL, dy, x, mean, rstd, gamma, N, D);
    sc_layernorm_backward(NULL, NULL, db1, dy, x, mean, rstd, gamma, N, D);
    ck_assert_int_eq(memcmp(dx, dx1, (size_t)N * D * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(dg, dg1, D * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(db, db1, D * sizeof(float)), 0);
    /* dx of a row sums to ~0: layernorm is shift-invariant */
    for (int i = 0; i < N; i++) {
        double s = 0.0, a = 0.0;
        for (int d = 0; d < D; d++) s += dx[i * D + d], a += fabs(dx[i * D + d]);
        ck_assert_msg(fabs(s) <= 1e-4 * a, "row %d: sum dx %g (sum |dx| %g)", i, s, a);
    }
    arena_free();
}
END_TEST

/* ---- limits: shape errors are programmer errors, caught by assert ------------------------- */

#ifndef NDEBUG
START_TEST(test_limits_causal_needs_square) {
    float q[6] = {0}, k[9] = {0}, out[6], att[6];
    sc_mha_forward(out, att, q, k, k, 1, 2, 3, 1, 3, 1); /* causal with Tq 2 != Tk 3: aborts */
}
END_TEST

START_TEST(test_limits_softmax_causal_needs_square) {
    float s[6] = {0}, p[6];
    sc_softmax_rows_forward(p, s, 2, 3, 2, 1); /* causal with Tq 2 != K 3: aborts */
}
END_TEST
#endif

/* entropy and max of a probability row: uniform (log n, 1/n), one-hot (0, 1), a hand case */
START_TEST(test_prob_entropy) {
    float pm;
    const float u[4] = {0.25f, 0.25f, 0.25f, 0.25f}, one[3] = {0.0f, 1.0f, 0.0f}, q[2] = {0.75f, 0.25f};
    ck_assert_double_eq_tol(sc_prob_entropy(u, 4, &pm), log(4.0), 1e-7);
    ck_assert_float_eq(pm, 0.25f);
    ck_assert_double_eq_tol(sc_prob_entropy(one, 3, &pm), 0.0, 1e-12);
    ck_assert_float_eq(pm, 1.0f);
    ck_assert_double_eq_tol(sc_prob_entropy(q, 2, &pm), -(0.75 * log(0.75) + 0.25 * log(0.25)), 1e-7);
    ck_assert_float_eq(pm, 0.75f);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("nets_attn");
    TCase *tc = tcase_create("gradients");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_grad_layernorm);
    tcase_add_test(tc, test_grad_gelu);
    tcase_add_test(tc, test_grad_softmax_rows);
    tcase_add_test(tc, test_grad_mha);
    tcase_add_test(tc, test_gradcheck_catches_wrong_gradients);
    suite_add_tcase(s, tc);

    TCase *tv = tcase_create("values");
    tcase_set_timeout(tv, 120);
    tcase_add_test(tv, test_gelu_values);
    tcase_add_test(tv, test_gelu_backward_inplace);
    tcase_add_test(tv, test_softmax_rows_stable);
    tcase_add_test(tv, test_softmax_rows_tails);
    tcase_add_test(tv, test_mha_fast_matches_naive);
    tcase_add_test(tv, test_mha_strided_matches_packed);
    tcase_add_test(tv, test_mha_causal_mask);
    tcase_add_test(tv, test_mha_huge_scores);
    tcase_add_test(tv, test_layernorm_normalises);
    tcase_add_test(tv, test_prob_entropy);
    suite_add_tcase(s, tv);

#ifndef NDEBUG /* asserts exist only in builds without NDEBUG (Debug, sanitizer) */
    TCase *tl = tcase_create("limits");
    tcase_add_test_raise_signal(tl, test_limits_causal_needs_square, SIGABRT);
    tcase_add_test_raise_signal(tl, test_limits_softmax_causal_needs_square, SIGABRT);
    suite_add_tcase(s, tl);
#endif
    return s;
}

SC_TEST_MAIN(make_suite)
