/* test_nets_layers.c - every layer in nets/layers.h against finite differences.
 *
 * Each case runs a layer forward, reduces its outputs to a scalar
 *     L = sum_k out[k] * wts[k]          (accumulated in double; wts fixed, random)
 * so that dL/dout = wts, runs the layer backward with dout = wts, and asks
 * sc_gradcheck to compare every coordinate of every input and parameter
 * gradient with central differences. The same case also checks that backward
 * ADDS (two calls give twice the gradient) and that no checked gradient is
 * identically zero (a zero gradient would make the check vacuous).
 *
 * Shapes are small, not square, and include B = 1. ReLU cases draw data until
 * every pre-activation is at least RELU_MARGIN away from the kink, so the
 * finite differences never straddle it.
 *
 * Also here: BLAS linear vs naive linear on random shapes (forward, backward,
 * accumulation, NULL outputs), in-place activations, and softmax-xent with
 * huge logits. Set SACCADE_TEST_VERBOSE=1 to print every case's worst error.
 */
#include "tests/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nets/gradcheck.h"
#include "nets/layers.h"
#include "nets/rng.h"

/* Finite-difference settings. The layers compute in float, so the loss carries
 * rounding noise of ~1e-7 relative; with these steps the worst relative error
 * of a correct backward stays below ~1e-3 (~3e-3 for softmax-xent, whose loss
 * comes back as a float; see SACCADE_TEST_VERBOSE), while a wrong sign, a
 * wrong factor or a missing term gives errors of order 0.1 to 1. */
#define EPS_SMOOTH 1e-2f     /* tanh, sigmoid, LSTM, linear, losses */
#define EPS_RELU 1e-3f       /* keeps probes well inside RELU_MARGIN */
#define RELU_MARGIN 0.05f
#define TOL GRADCASE_TOL
#define TOL_XENT 1e-2        /* softmax_xent returns its loss as float: ~1e-7 of noise */

#include "tests/gradcase.h"

/* refills p with n floats uniform in (-a, a) */
static void frefill(sc_rng *r, float *p, size_t n, float a) {
    for (size_t i = 0; i < n; i++) p[i] = a * (2.0f * sc_rng_uniform(r) - 1.0f);
}

/* ---- linear ------------------------------------------------------------------------ */

typedef struct linear_ctx {
    int B, IN, OUT, naive;
    float *in, *w, *b, *out, *wts;
    float *din, *dw, *db;
} linear_ctx;

static double linear_loss(void *p) {
    linear_ctx *c = p;
    if (c->naive) sc_linear_forward_naive(c->out, c->in, c->w, c->b, c->B, c->IN, c->OUT);
    else sc_linear_forward(c->out, c->in, c->w, c->b, c->B, c->IN, c->OUT);
    return dot(c->out, c->wts, (size_t)c->B * c->OUT);
}

static void linear_bwd(void *p) {
    linear_ctx *c = p;
    linear_loss(c);
    if (c->naive)
        sc_linear_backward_naive(c->din, c->dw, c->db, c->wts, c->in, c->w, c->B, c->IN, c->OUT);
    else sc_linear_backward(c->din, c->dw, c->db, c->wts, c->in, c->w, c->B, c->IN, c->OUT);
}

static void check_linear(int B, int IN, int OUT, int naive, int bias, uint64_t seed) {
    sc_rng r;
    sc_rng_seed(&r, seed);
    linear_ctx c = {B, IN, OUT, naive, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    c.in = frand(&r, (size_t)B * IN, 1.0f);
    c.w = frand(&r, (size_t)OUT * IN, 1.0f);
    c.b = bias ? frand(&r, OUT, 1.0f) : NULL;
    c.out = fbuf((size_t)B * OUT);
    c.wts = frand(&r, (size_t)B * OUT, 1.0f);
    c.din = fbuf((size_t)B * IN);
    c.dw = fbuf((size_t)OUT * IN);
    c.db = bias ? fbuf(OUT) : NULL;

    char name[64];
    snprintf(name, sizeof name, "linear%s B%d IN%d OUT%d%s", naive ? "_naive" : "", B, IN, OUT,
             bias ? "" : " nobias");
    gcase g = {name, &c, linear_loss, linear_bwd, 0, {{0}}, EPS_SMOOTH, TOL};
    add_var(&g, "in", c.in, c.din, (size_t)B * IN);
    add_var(&g, "w", c.w, c.dw, (size_t)OUT * IN);
    if (bias) add_var(&g, "b", c.b, c.db, OUT);
    run_case(&g);
}

START_TEST(test_grad_linear) {
    for (int naive = 0; naive <= 1; naive++) {
        check_linear(3, 5, 4, naive, 1, 1);
        check_linear(1, 7, 3, naive, 1, 2);
        check_linear(4, 2, 6, naive, 0, 3);
    }
    arena_free();
}
END_TEST

/* ---- elementwise activations ------------------------------------------------------ */

typedef enum { ACT_RELU, ACT_TANH, ACT_SIGMOID } act_kind;

typedef struct act_ctx {
    act_kind kind;
    int N;
    float *in, *out, *wts, *din;
} act_ctx;

static double act_loss(void *p) {
    act_ctx *c = p;
    if (c->kind == ACT_RELU) sc_relu_forward(c->out, c->in, c->N);
    else if (c->kind == ACT_TANH) sc_tanh_forward(c->out, c->in, c->N);
    else sc_sigmoid_forward(c->out, c->in, c->N);
    return dot(c->out, c->wts, (size_t)c->N);
}

static void act_bwd(void *p) {
    act_ctx *c = p;
    act_loss(c);
    if (c->kind == ACT_RELU) sc_relu_backward(c->din, c->wts, c->out, c->N);
    else if (c->kind == ACT_TANH) sc_tanh_backward(c->din, c->wts, c->out, c->N);
    else sc_sigmoid_backward(c->din, c->wts, c->out, c->N);
}

static void check_act(act_kind kind, int N, uint64_t seed) {
    static const char *names[] = {"relu", "tanh", "sigmoid"};
    sc_rng r;
    sc_rng_seed(&r, seed);
    act_ctx c = {kind, N, frand(&r, (size_t)N, 3.0f), fbuf((size_t)N), frand(&r, (size_t)N, 1.0f),
                 fbuf((size_t)N)};
    if (kind == ACT_RELU) /* keep every input at least RELU_MARGIN from the kink */
        for (int i = 0; i < N; i++)
            if (fabsf(c.in[i]) < RELU_MARGIN) c.in[i] = c.in[i] < 0 ? -0.5f : 0.5f;
    char name[48];
    snprintf(name, sizeof name, "%s N%d", names[kind], N);
    float eps = kind == ACT_RELU ? EPS_RELU : EPS_SMOOTH;
    gcase g = {name, &c, act_loss, act_bwd, 0, {{0}}, eps, TOL};
    add_var(&g, "in", c.in, c.din, (size_t)N);
    run_case(&g);
}

START_TEST(test_grad_activations) {
    check_act(ACT_RELU, 23, 10);
    check_act(ACT_TANH, 23, 11);
    check_act(ACT_SIGMOID, 23, 12);
    check_act(ACT_TANH, 1, 13);
    arena_free();
}
END_TEST

START_TEST(test_activations_in_place) {
    sc_rng r;
    sc_rng_seed(&r, 20);
    const int N = 31;
    float *in = frand(&r, N, 4.0f), *out = fbuf(N), *buf = fbuf(N);
    void (*fwd[3])(float *, const float *, int) = {sc_relu_forward, sc_tanh_forward,
                                                   sc_sigmoid_forward};
    for (int k = 0; k < 3; k++) {
        fwd[k](out, in, N);
        memcpy(buf, in, N * sizeof(float));
        fwd[k](buf, buf, N);
        for (int i = 0; i < N; i++) ck_assert_float_eq(buf[i], out[i]);
    }
    /* values: relu(x) = max(x,0), tanh, sigmoid(x) = 1/(1+e^-x), extremes finite */
    float x[5] = {-100.0f, -1.0f, 0.0f, 1.0f, 100.0f}, y[5];
    sc_relu_forward(y, x, 5);
    ck_assert_float_eq(y[0], 0.0f);
    ck_assert_float_eq(y[3], 1.0f);
    sc_sigmoid_forward(y, x, 5);
    ck_assert_float_eq_tol(y[0], 0.0f, 1e-30f);
    ck_assert_float_eq_tol(y[1], 1.0f / (1.0f + expf(1.0f)), 1e-7f);
    ck_assert_float_eq(y[2], 0.5f);
    ck_assert_float_eq(y[4], 1.0f);
    sc_tanh_forward(y, x, 5);
    ck_assert_float_eq(y[0], -1.0f);
    ck_assert_float_eq_tol(y[3], tanhf(1.0f), 1e-7f);
    arena_free();
}
END_TEST

/* ---- plain RNN cell ----------------------------------------------------------------- */

typedef struct rnn_ctx {
    int B, IN, H;
    sc_act act;
    float *x, *hprev, *wx, *wh, *b, *h, *wts, *scratch;
    float *dx, *dhprev, *dwx, *dwh, *db;
} rnn_ctx;

static double rnn_loss(void *p) {
    rnn_ctx *c = p;
    sc_rnn_forward(c->h, c->x, c->hprev, c->wx, c->wh, c->b, c->B, c->IN, c->H, c->act);
    return dot(c->h, c->wts, (size_t)c->B * c->H);
}

static void rnn_bwd(void *p) {
    rnn_ctx *c = p;
    rnn_loss(c);
    sc_rnn_backward(c->dx, c->dhprev, c->dwx, c->dwh, c->db, c->wts, c->h, c->x, c->hprev, c->wx,
                    c->wh, c->scratch, c->B, c->IN, c->H, c->act);
}

/* Smallest |pre-activation| of one RNN step, computed with the naive kernels. */
static float rnn_min_preact(const float *x, const float *hprev, const float *wx, const float *wh,
                            const float *b, int B, int IN, int H) {
    float *a = fbuf((size_t)B * H), *ah = fbuf((size_t)B * H);
    sc_linear_forward_naive(a, x, wx, b, B, IN, H);
    if (hprev) sc_linear_forward_naive(ah, hprev, wh, NULL, B, H, H);
    float m = INFINITY;
    for (int i = 0; i < B * H; i++) m = fminf(m, fabsf(a[i] + ah[i]));
    return m;
}

static void check_rnn(int B, int IN, int H, sc_act act, int first_step, uint64_t seed) {
    sc_rng r;
    sc_rng_seed(&r, seed);
    rnn_ctx c;
    memset(&c, 0, sizeof c);
    c.B = B;
    c.IN = IN;
    c.H = H;
    c.act = act;
    c.x = frand(&r, (size_t)B * IN, 1.0f);
    c.hprev = first_step ? NULL : frand(&r, (size_t)B * H, 1.0f);
    c.wx = frand(&r, (size_t)H * IN, 0.8f);
    c.wh = frand(&r, (size_t)H * H, 0.8f);
    c.b = frand(&r, H, 0.5f);
    for (int tries = 0; act == SC_ACT_RELU; tries++) {
        ck_assert_int_lt(tries, 1000);
        if (rnn_min_preact(c.x, c.hprev, c.wx, c.wh, c.b, B, IN, H) >= RELU_MARGIN) break;
        frefill(&r, c.x, (size_t)B * IN, 1.0f);
        frefill(&r, c.b, H, 0.5f);
    }
    c.h = fbuf((size_t)B * H);
    c.wts = frand(&r, (size_t)B * H, 1.0f);
    c.scratch = fbuf((size_t)B * H);
    c.dx = fbuf((size_t)B * IN);
    c.dhprev = fbuf((size_t)B * H);
    c.dwx = fbuf((size_t)H * IN);
    c.dwh = fbuf((size_t)H * H);
    c.db = fbuf(H);

    char name[64];
    snprintf(name, sizeof name, "rnn_%s B%d IN%d H%d%s", act == SC_ACT_RELU ? "relu" : "tanh", B,
             IN, H, first_step ? " first" : "");
    float eps = act == SC_ACT_RELU ? EPS_RELU : EPS_SMOOTH;
    gcase g = {name, &c, rnn_loss, rnn_bwd, 0, {{0}}, eps, TOL};
    add_var(&g, "x", c.x, c.dx, (size_t)B * IN);
    add_var(&g, "wx", c.wx, c.dwx, (size_t)H * IN);
    add_var(&g, "b", c.b, c.db, H);
    if (!first_step) {
        add_var(&g, "hprev", c.hprev, c.dhprev, (size_t)B * H);
        add_var(&g, "wh", c.wh, c.dwh, (size_t)H * H);
    }
    run_case(&g);
    if (first_step) { /* hprev NULL: dhprev and dwh are left alone */
        for (int i = 0; i < B * H; i++) ck_assert_float_eq(c.dhprev[i], 0.0f);
        for (int i = 0; i < H * H; i++) ck_assert_float_eq(c.dwh[i], 0.0f);
    }
}

START_TEST(test_grad_rnn) {
    for (int a = 0; a <= 1; a++) {
        sc_act act = a ? SC_ACT_TANH : SC_ACT_RELU;
        check_rnn(3, 4, 5, act, 0, 30 + a);
        check_rnn(1, 6, 3, act, 0, 32 + a);
        check_rnn(2, 3, 4, act, 1, 34 + a);
    }
    arena_free();
}
END_TEST

/* ---- RNN unrolled over T steps: activations as (T, B, H) slices ------------------------ */

typedef struct rnn_seq_ctx {
    int T, B, IN, H;
    sc_act act;
    float *x;                 /* (T,B,IN) */
    float *h;                 /* (T,B,H) */
    float *wx, *wh, *b, *wts; /* wts (T,B,H) */
    float *dh, *scratch;      /* workspace: dL/dh (T,B,H), B*H */
    float *dx, *dwx, *dwh, *db;
} rnn_seq_ctx;

static double rnn_seq_loss(void *p) {
    rnn_seq_ctx *c = p;
    size_t xs = (size_t)c->B * c->IN, hs = (size_t)c->B * c->H;
    for (int t = 0; t < c->T; t++) /* h_t = act(x_t wx^T + h_{t-1} wh^T + b), h_{-1} = 0 */
        sc_rnn_forward(c->h + t * hs, c->x + t * xs, t > 0 ? c->h + (t - 1) * hs : NULL, c->wx,
                       c->wh, c->b, c->B, c->IN, c->H, c->act);
    return dot(c->h, c->wts, (size_t)c->T * hs);
}

static void rnn_seq_bwd(void *p) {
    rnn_seq_ctx *c = p;
    size_t xs = (size_t)c->B * c->IN, hs = (size_t)c->B * c->H;
    rnn_seq_loss(c);
    memcpy(c->dh, c->wts, (size_t)c->T * hs * sizeof(float)); /* direct dL/dh_t */
    for (int t = c->T - 1; t >= 0; t--) /* dh_{t-1} gains the path through h_t */
        sc_rnn_backward(c->dx + t * xs, t > 0 ? c->dh + (t - 1) * hs : NULL, c->dwx, c->dwh, c->db,
                        c->dh + t * hs, c->h + t * hs, c->x + t * xs,
                        t > 0 ? c->h + (t - 1) * hs : NULL, c->wx, c->wh, c->scratch, c->B, c->IN,
                        c->H, c->act);
}

static void check_rnn_seq(int T, int B, int IN, int H, sc_act act, uint64_t seed) {
    sc_rng r;
    sc_rng_seed(&r, seed);
    rnn_seq_ctx c;
    memset(&c, 0, sizeof c);
    c.T = T;
    c.B = B;
    c.IN = IN;
    c.H = H;
    c.act = act;
    size_t xs = (size_t)B * IN, hs = (size_t)B * H;
    c.x = frand(&r, T * xs, 1.0f);
    c.h = fbuf(T * hs);
    c.wx = frand(&r, (size_t)H * IN, 0.8f);
    c.wh = frand(&r, (size_t)H * H, 0.8f);
    c.b = frand(&r, H, 0.5f);
    c.wts = frand(&r, T * hs, 1.0f);
    for (int tries = 0; act == SC_ACT_RELU; tries++) {
        ck_assert_int_lt(tries, 1000);
        rnn_seq_loss(&c); /* fills h for the margin check */
        float m = INFINITY;
        for (int t = 0; t < T; t++)
            m = fminf(m, rnn_min_preact(c.x + t * xs, t > 0 ? c.h + (t - 1) * hs : NULL, c.wx, c.wh,
                                        c.b, B, IN, H));
        if (m >= RELU_MARGIN) break;
        frefill(&r, c.x, T * xs, 1.0f);
        frefill(&r, c.b, H, 0.5f);
    }
    c.dh = fbuf(T * hs);
    c.scratch = fbuf(hs);
    c.dx = fbuf(T * xs);
    c.dwx = fbuf((size_t)H * IN);
    c.dwh = fbuf((size_t)H * H);
    c.db = fbuf(H);

    char name[64];
    snprintf(name, sizeof name, "rnn_%s T%d B%d IN%d H%d", act == SC_ACT_RELU ? "relu" : "tanh", T,
             B, IN, H);
    float eps = act == SC_ACT_RELU ? EPS_RELU : EPS_SMOOTH;
    gcase g = {name, &c, rnn_seq_loss, rnn_seq_bwd, 0, {{0}}, eps, TOL};
    add_var(&g, "x", c.x, c.dx, T * xs);
    add_var(&g, "wx", c.wx, c.dwx, (size_t)H * IN);
    add_var(&g, "wh", c.wh, c.dwh, (size_t)H * H);
    add_var(&g, "b", c.b, c.db, H);
    run_case(&g);
}

START_TEST(test_grad_rnn_unrolled) {
    for (int a = 0; a <= 1; a++) {
        sc_act act = a ? SC_ACT_TANH : SC_ACT_RELU;
        check_rnn_seq(2, 3, 4, 5, act, 40 + a);
        check_rnn_seq(2, 1, 3, 4, act, 42 + a);
        check_rnn_seq(4, 2, 3, 3, act, 44 + a);
    }
    arena_free();
}
END_TEST

/* ---- LSTM cell ------------------------------------------------------------------------- */

typedef struct lstm_ctx {
    int B, IN, H, use_dc;
    float *x, *hprev, *cprev, *wx, *wh, *b;
    float *h, *c, *gates, *wts_h, *wts_c, *scratch;
    float *dx, *dhprev, *dcprev, *dwx, *dwh, *db;
} lstm_ctx;

static double lstm_loss(void *p) {
    lstm_ctx *c = p;
    size_t hs = (size_t)c->B * c->H;
    sc_lstm_forward(c->h, c->c, c->gates, c->x, c->hprev, c->cprev, c->wx, c->wh, c->b, c->B,
                    c->IN, c->H);
    /* L = sum h wts_h (+ sum c wts_c) */
    return dot(c->h, c->wts_h, hs) + (c->use_dc ? dot(c->c, c->wts_c, hs) : 0.0);
}

static void lstm_bwd(void *p) {
    lstm_ctx *c = p;
    lstm_loss(c);
    sc_lstm_backward(c->dx, c->dhprev, c->dcprev, c->dwx, c->dwh, c->db, c->wts_h,
                     c->use_dc ? c->wts_c : NULL, c->gates, c->c, c->cprev, c->x, c->hprev, c->wx,
                     c->wh, c->scratch, c->B, c->IN, c->H);
}

static void check_lstm(int B, int IN, int H, int first_step, int use_dc, uint64_t seed) {
    sc_rng r;
    sc_rng_seed(&r, seed);
    lstm_ctx c;
    memset(&c, 0, sizeof c);
    c.B = B;
    c.IN = IN;
    c.H = H;
    c.use_dc = use_dc;
    size_t hs = (size_t)B * H, G = 4 * (size_t)H;
    c.x = frand(&r, (size_t)B * IN, 1.0f);
    c.hprev = first_step ? NULL : frand(&r, hs, 1.0f);
    c.cprev = first_step ? NULL : frand(&r, hs, 1.5f);
    c.wx = frand(&r, G * IN, 0.8f);
    c.wh = frand(&r, G * H, 0.8f);
    c.b = frand(&r, G, 0.5f);
    c.h = fbuf(hs);
    c.c = fbuf(hs);
    c.gates = fbuf(B * G);
    c.wts_h = frand(&r, hs, 1.0f);
    c.wts_c = frand(&r, hs, 1.0f);
    c.scratch = fbuf(B * G);
    c.dx = fbuf((size_t)B * IN);
    c.dhprev = fbuf(hs);
    c.dcprev = fbuf(hs);
    c.dwx = fbuf(G * IN);
    c.dwh = fbuf(G * H);
    c.db = fbuf(G);

    char name[64];
    snprintf(name, sizeof name, "lstm B%d IN%d H%d%s%s", B, IN, H, first_step ? " first" : "",
             use_dc ? "" : " dc=NULL");
    gcase g = {name, &c, lstm_loss, lstm_bwd, 0, {{0}}, EPS_SMOOTH, TOL};
    add_var(&g, "x", c.x, c.dx, (size_t)B * IN);
    add_var(&g, "wx", c.wx, c.dwx, G * IN);
    add_var(&g, "b", c.b, c.db, G);
    if (!first_step) {
        add_var(&g, "hprev", c.hprev, c.dhprev, hs);
        add_var(&g, "cprev", c.cprev, c.dcprev, hs);
        add_var(&g, "wh", c.wh, c.dwh, G * H);
    }
    run_case(&g);
    if (first_step) {
        for (size_t i = 0; i < hs; i++) ck_assert_float_eq(c.dhprev[i], 0.0f);
        for (size_t i = 0; i < hs; i++) ck_assert_float_eq(c.dcprev[i], 0.0f);
        for (size_t i = 0; i < G * H; i++) ck_assert_float_eq(c.dwh[i], 0.0f);
    }
}

START_TEST(test_grad_lstm) {
    check_lstm(3, 4, 5, 0, 1, 50);
    check_lstm(1, 3, 2, 0, 1, 51);
    check_lstm(2, 5, 3, 0, 0, 52);
    check_lstm(2, 3, 4, 1, 1, 53);
    check_lstm(1, 2, 3, 1, 0, 54);
    /* widths of 16 and more run the vectorised gate loops (16 lanes, then the scalar tail) */
    check_lstm(2, 3, 21, 0, 1, 55);
    check_lstm(2, 4, 16, 1, 0, 56);
    arena_free();
}
END_TEST

START_TEST(test_lstm_forward_values) {
    /* One unit, one input, by hand: a = x wx + hprev wh + b per gate (i, f, g, o). */
    float x = 0.5f, hp = -0.3f, cp = 0.8f;
    float wx[4] = {0.1f, -0.2f, 0.3f, 0.4f}, wh[4] = {0.5f, 0.6f, -0.7f, 0.8f};
    float b[4] = {0.01f, 0.02f, 0.03f, 0.04f};
    float h, c, gates[4];
    sc_lstm_forward(&h, &c, gates, &x, &hp, &cp, wx, wh, b, 1, 1, 1);
    double a[4];
    for (int k = 0; k < 4; k++) a[k] = x * wx[k] + hp * wh[k] + b[k];
    double i = 1 / (1 + exp(-a[0])), f = 1 / (1 + exp(-a[1])), g = tanh(a[2]),
           o = 1 / (1 + exp(-a[3]));
    double cw = f * cp + i * g, hw = o * tanh(cw);
    ck_assert_double_eq_tol(gates[0], i, 1e-6);
    ck_assert_double_eq_tol(gates[1], f, 1e-6);
    ck_assert_double_eq_tol(gates[2], g, 1e-6);
    ck_assert_double_eq_tol(gates[3], o, 1e-6);
    ck_assert_double_eq_tol(c, cw, 1e-6);
    ck_assert_double_eq_tol(h, hw, 1e-6);
}
END_TEST

/* The cell's gate functions against libm in double, over the range the gates see and
 * beyond (the saturated ends, +-200, included), in the vectorised lanes and in the scalar tail:
 * H = 40 gives two 16-lane blocks and 8 tail units. Pre-activations are set through the
 * bias (x = 0), so gates[k] = f(b[k]); cprev = 0.7 gives c and h. */
START_TEST(test_lstm_gates_accuracy) {
    enum { H = 40, G = 4 * H, N = 4001 };
    float x = 0.0f, wx[G], wh[G * H], b[G], hp[H], cp[H], h[H], c[H], gates[G];
    memset(wx, 0, sizeof wx);
    memset(wh, 0, sizeof wh);
    memset(hp, 0, sizeof hp);
    for (int j = 0; j < H; j++) cp[j] = 0.7f;
    double worst_sig = 0.0, worst_tanh = 0.0, worst_h = 0.0;
    for (int s = 0; s < N; s += H) {
        for (int k = 0; k < G; k++) {
            /* sweep [-30, 30] densely, with exact zero and a few huge values mixed in */
            int idx = s + k % H;
            double v = -30.0 + 60.0 * idx / (N - 1);
            if (idx % 97 == 0) v = 0.0;
            if (idx % 331 == 0) v = (idx & 1) ? 200.0 : -200.0;
            b[k] = (float)v;
        }
        sc_lstm_forward(h, c, gates, &x, hp, cp, wx, wh, b, 1, 1, H);
        for (int j = 0; j < H; j++) {
            double ai = b[j], af = b[H + j], ag = b[2 * H + j], ao = b[3 * H + j];
            double i = 1.0 / (1.0 + exp(-ai)), f = 1.0 / (1.0 + exp(-af)), g = tanh(ag);
            double o = 1.0 / (1.0 + exp(-ao));
            double e;
            /* sigmoid: relative error while the value is well inside float's normal range
             * (a >= -80, sigmoid >= 1.8e-35); below, float holds no relative precision and
             * the gate must just be about 0 */
            const double pre[3] = {ai, af, ao}, want[3] = {i, f, o};
            const float got[3] = {gates[j], gates[H + j], gates[3 * H + j]};
            for (int q = 0; q < 3; q++) {
                if (pre[q] >= -80.0) {
                    e = fabs(got[q] - want[q]) / want[q];
                    worst_sig = e > worst_sig ? e : worst_sig;
                } else {
                    ck_assert_float_lt(got[q], 1e-34f);
                    ck_assert_float_ge(got[q], 0.0f);
                }
            }
            /* tanh: absolute error (documented), and the sign and exact zero kept */
            e = fabs(gates[2 * H + j] - g); worst_tanh = e > worst_tanh ? e : worst_tanh;
            if (ag == 0.0) ck_assert_float_eq(gates[2 * H + j], 0.0f);
            else ck_assert_int_eq(gates[2 * H + j] < 0, ag < 0);
            double cw = f * 0.7 + i * g, hw = o * tanh(cw);
            ck_assert_double_eq_tol(c[j], cw, 1e-6);
            e = fabs(h[j] - hw); worst_h = e > worst_h ? e : worst_h;
        }
    }
    if (getenv("SACCADE_TEST_VERBOSE"))
        printf("lstm gates: sigmoid rel %.2e, tanh abs %.2e, h abs %.2e\n", worst_sig, worst_tanh, worst_h);
    ck_assert_double_lt(worst_sig, 1e-6);
    ck_assert_double_lt(worst_tanh, 5e-7);
    ck_assert_double_lt(worst_h, 1e-6);
}
END_TEST

/* argmax per row: the first of equal maxima, negative rows, the correct count with and
 * without labels, pred may be NULL. */
START_TEST(test_argmax_rows) {
    const float x[4 * 3] = {0.1f, 0.7f, 0.2f,     /* 1 */
                            -3.0f, -1.0f, -2.0f,  /* 1 */
                            5.0f, 5.0f, 1.0f,     /* ties: the first, 0 */
                            0.0f, 0.0f, 0.5f};    /* 2 */
    const int labels[4] = {1, 0, 0, 2};
    int pred[4] = {-1, -1, -1, -1};
    ck_assert_int_eq(sc_argmax_rows(pred, x, labels, 4, 3), 3);
    ck_assert_int_eq(pred[0], 1);
    ck_assert_int_eq(pred[1], 1);
    ck_assert_int_eq(pred[2], 0);
    ck_assert_int_eq(pred[3], 2);
    ck_assert_int_eq(sc_argmax_rows(pred, x, NULL, 4, 3), 0);
    ck_assert_int_eq(sc_argmax_rows(NULL, x, labels, 4, 3), 3);
    ck_assert_int_eq(sc_argmax_rows(NULL, x, labels, 2, 3), 1);
}
END_TEST

/* ---- LSTM unrolled over T steps ---------------------------------------------------------- */

typedef struct lstm_seq_ctx {
    int T, B, IN, H;
    float *x, *h, *c, *gates;      /* (T,B,IN), (T,B,H), (T,B,H), (T,B,4H) */
    float *wx, *wh, *b, *wts_h, *wts_c;
    float *dh, *dc, *scratch;      /* workspace */
    float *dx, *dwx, *dwh, *db;
} lstm_seq_ctx;

static double lstm_seq_loss(void *p) {
    lstm_seq_ctx *c = p;
    size_t xs = (size_t)c->B * c->IN, hs = (size_t)c->B * c->H, gs = 4 * hs;
    for (int t = 0; t < c->T; t++)
        sc_lstm_forward(c->h + t * hs, c->c + t * hs, c->gates + t * gs, c->x + t * xs,
                        t > 0 ? c->h + (t - 1) * hs : NULL, t > 0 ? c->c + (t - 1) * hs : NULL,
                        c->wx, c->wh, c->b, c->B, c->IN, c->H);
    size_t all = (size_t)c->T * hs;
    return dot(c->h, c->wts_h, all) + dot(c->c, c->wts_c, all);
}

static void lstm_seq_bwd(void *p) {
    lstm_seq_ctx *c = p;
    size_t xs = (size_t)c->B * c->IN, hs = (size_t)c->B * c->H, gs = 4 * hs;
    lstm_seq_loss(c);
    memcpy(c->dh, c->wts_h, (size_t)c->T * hs * sizeof(float));
    memcpy(c->dc, c->wts_c, (size_t)c->T * hs * sizeof(float));
    for (int t = c->T - 1; t >= 0; t--) {
        int first = t == 0;
        sc_lstm_backward(c->dx + t * xs, first ? NULL : c->dh + (t - 1) * hs,
                         first ? NULL : c->dc + (t - 1) * hs, c->dwx, c->dwh, c->db, c->dh + t * hs,
                         c->dc + t * hs, c->gates + t * gs, c->c + t * hs,
                         first ? NULL : c->c + (t - 1) * hs, c->x + t * xs,
                         first ? NULL : c->h + (t - 1) * hs, c->wx, c->wh, c->scratch, c->B, c->IN,
                         c->H);
    }
}

static void check_lstm_seq(int T, int B, int IN, int H, uint64_t seed) {
    sc_rng r;
    sc_rng_seed(&r, seed);
    lstm_seq_ctx c;
    memset(&c, 0, sizeof c);
    c.T = T;
    c.B = B;
    c.IN = IN;
    c.H = H;
    size_t xs = (size_t)B * IN, hs = (size_t)B * H, G = 4 * (size_t)H;
    c.x = frand(&r, T * xs, 1.0f);
    c.h = fbuf(T * hs);
    c.c = fbuf(T * hs);
    c.gates = fbuf(T * 4 * hs);
    c.wx = frand(&r, G * IN, 0.8f);
    c.wh = frand(&r, G * H, 0.8f);
    c.b = frand(&r, G, 0.5f);
    c.wts_h = frand(&r, T * hs, 1.0f);
    c.wts_c = frand(&r, T * hs, 1.0f);
    c.dh = fbuf(T * hs);
    c.dc = fbuf(T * hs);
    c.scratch = fbuf(4 * hs);
    c.dx = fbuf(T * xs);
    c.dwx = fbuf(G * IN);
    c.dwh = fbuf(G * H);
    c.db = fbuf(G);

    char name[64];
    snprintf(name, sizeof name, "lstm T%d B%d IN%d H%d", T, B, IN, H);
    gcase g = {name, &c, lstm_seq_loss, lstm_seq_bwd, 0, {{0}}, EPS_SMOOTH, TOL};
    add_var(&g, "x", c.x, c.dx, T * xs);
    add_var(&g, "wx", c.wx, c.dwx, G * IN);
    add_var(&g, "wh", c.wh, c.dwh, G * H);
    add_var(&g, "b", c.b, c.db, G);
    run_case(&g);
}

START_TEST(test_grad_lstm_unrolled) {
    check_lstm_seq(2, 3, 4, 5, 60);
    check_lstm_seq(2, 1, 3, 2, 61);
    check_lstm_seq(4, 2, 2, 3, 62);
    arena_free();
}
END_TEST

/* ---- softmax + cross-entropy, mse ---------------------------------------------------------- */

typedef struct xent_ctx {
    int B, C;
    float scale;
    float *logits, *logp, *dlogits;
    int *labels;
} xent_ctx;

static double xent_loss(void *p) {
    xent_ctx *c = p;
    return (double)c->scale * sc_softmax_xent_forward(c->logp, c->logits, c->labels, c->B, c->C);
}

static void xent_bwd(void *p) {
    xent_ctx *c = p;
    xent_loss(c);
    sc_softmax_xent_backward(c->dlogits, c->logp, c->labels, c->B, c->C, c->scale);
}

static void check_xent(int B, int C, float scale, uint64_t seed) {
    sc_rng r;
    sc_rng_seed(&r, seed);
    int labels[16];
    ck_assert_int_le(B, 16);
    for (int i = 0; i < B; i++) labels[i] = (int)sc_rng_int(&r, (uint32_t)C);
    xent_ctx c = {B, C, scale, frand(&r, (size_t)B * C, 3.0f), fbuf((size_t)B * C),
                  fbuf((size_t)B * C), labels};
    char name[48];
    snprintf(name, sizeof name, "softmax_xent B%d C%d x%g", B, C, scale);
    gcase g = {name, &c, xent_loss, xent_bwd, 0, {{0}}, EPS_SMOOTH, TOL_XENT};
    add_var(&g, "logits", c.logits, c.dlogits, (size_t)B * C);
    run_case(&g);

    /* logp is log softmax: exp sums to 1 per row and matches a double reference */
    xent_loss(&c);
    for (int i = 0; i < B; i++) {
        double s = 0.0, m = -INFINITY, ref = 0.0;
        for (int k = 0; k < C; k++) m = fmax(m, c.logits[i * C + k]);
        for (int k = 0; k < C; k++) ref += exp(c.logits[i * C + k] - m);
        for (int k = 0; k < C; k++) {
            s += exp(c.logp[i * C + k]);
            ck_assert_double_eq_tol(c.logp[i * C + k], c.logits[i * C + k] - m - log(ref), 1e-5);
        }
        ck_assert_double_eq_tol(s, 1.0, 1e-5);
    }
}

START_TEST(test_grad_softmax_xent) {
    check_xent(4, 7, 1.0f, 70);
    check_xent(1, 5, 1.0f, 71);
    check_xent(3, 10, 2.5f, 72);
    arena_free();
}
END_TEST

START_TEST(test_softmax_xent_huge_logits) {
    enum { B = 3, C = 4 };
    float logits[B * C] = {1e4f, -1e4f, 0.0f, 1e4f - 1.0f,     /* two near-equal giants */
                           -1e4f, -1e4f, -1e4f, -1e4f,         /* all equal, all tiny */
                           1e4f, 1e4f, 1e4f, -1e4f};
    int labels[B] = {3, 2, 1};
    float logp[B * C], dl[B * C] = {0};
    float loss = sc_softmax_xent_forward(logp, logits, labels, B, C);
    ck_assert(isfinite(loss));
    for (int i = 0; i < B; i++) {
        double s = 0.0;
        for (int k = 0; k < C; k++) {
            ck_assert(!isnan(logp[i * C + k]));
            ck_assert(logp[i * C + k] <= 0.0f);
            s += exp(logp[i * C + k]);
        }
        ck_assert_double_eq_tol(s, 1.0, 1e-6);
    }
    /* row 0: p(3) = 1 / (1 + e) for the runner-up; row 1: uniform; row 2: 1/3 each */
    double want = (log1p(exp(1.0)) + log(4.0) + log(3.0)) / 3.0;
    ck_assert_double_eq_tol(loss, want, 1e-5);
    ck_assert_double_eq_tol(logp[0], -log1p(exp(-1.0)), 1e-6);
    sc_softmax_xent_backward(dl, logp, labels, B, C, 1.0f);
    double dsum = 0.0;
    for (int i = 0; i < B * C; i++) {
        ck_assert(isfinite(dl[i]));
        dsum += dl[i];
    }
    ck_assert_double_eq_tol(dsum, 0.0, 1e-6); /* rows of softmax - onehot sum to 0 */

    /* labels NULL: logp only, loss 0, backward adds nothing */
    ck_assert_float_eq(sc_softmax_xent_forward(logp, logits, NULL, B, C), 0.0f);
    float before = dl[0];
    sc_softmax_xent_backward(dl, logp, NULL, B, C, 1.0f);
    ck_assert_float_eq(dl[0], before);

    /* a label outside [0, C) is reported as a NaN loss, not a wild read */
    int bad[B] = {0, 4, 1};
    ck_assert(isnan(sc_softmax_xent_forward(logp, logits, bad, B, C)));
    bad[1] = -1;
    ck_assert(isnan(sc_softmax_xent_forward(logp, logits, bad, B, C)));
}
END_TEST

typedef struct mse_ctx {
    int N;
    float scale;
    float *pred, *target, *dpred;
} mse_ctx;

static double mse_loss(void *p) {
    mse_ctx *c = p;
    return (double)c->scale * sc_mse_forward(c->pred, c->target, c->N);
}

static void mse_bwd(void *p) {
    mse_ctx *c = p;
    sc_mse_backward(c->dpred, c->pred, c->target, c->N, c->scale);
}

START_TEST(test_grad_mse) {
    sc_rng r;
    sc_rng_seed(&r, 80);
    const int sizes[2] = {13, 1};
    for (int s = 0; s < 2; s++) {
        int N = sizes[s];
        mse_ctx c = {N, s ? 1.0f : 0.7f, frand(&r, N, 2.0f), frand(&r, N, 2.0f), fbuf(N)};
        char name[32];
        snprintf(name, sizeof name, "mse N%d", N);
        gcase g = {name, &c, mse_loss, mse_bwd, 0, {{0}}, EPS_SMOOTH, TOL};
        add_var(&g, "pred", c.pred, c.dpred, N);
        run_case(&g);
    }
    /* value by hand: ((1-0)^2 + (2-4)^2) / 2 = 2.5 */
    float p[2] = {1.0f, 2.0f}, t[2] = {0.0f, 4.0f};
    ck_assert_float_eq(sc_mse_forward(p, t, 2), 2.5f);
    arena_free();
}
END_TEST

/* ---- BLAS linear vs the naive specification ----------------------------------------------- */

static void assert_close(const char *what, const float *a, const float *b, size_t n, int B, int IN,
                         int OUT) {
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabsf(a[i] - b[i]) <= 1e-4f * (1.0f + fabsf(b[i])),
                      "%s (B%d IN%d OUT%d)[%zu]: blas %.8g vs naive %.8g", what, B, IN, OUT, i,
                      a[i], b[i]);
}

START_TEST(test_linear_blas_matches_naive) {
    static const int shapes[][3] = {{1, 1, 1},     {1, 7, 3},     {3, 5, 4},    {5, 3, 9},
                                    {17, 33, 8},   {64, 100, 37}, {2, 300, 5},  {128, 64, 128},
                                    {1, 256, 256}, {33, 17, 65}};
    sc_rng r;
    sc_rng_seed(&r, 90);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int B = shapes[s][0], IN = shapes[s][1], OUT = shapes[s][2];
        size_t ni = (size_t)B * IN, nw = (size_t)OUT * IN, no = (size_t)B * OUT;
        float *in = frand(&r, ni, 1.0f), *w = frand(&r, nw, 1.0f), *b = frand(&r, OUT, 1.0f);
        float *o1 = frand(&r, no, 9.0f), *o2 = frand(&r, no, 9.0f); /* garbage: overwritten */
        for (int bias = 0; bias <= 1; bias++) {
            sc_linear_forward(o1, in, w, bias ? b : NULL, B, IN, OUT);
            sc_linear_forward_naive(o2, in, w, bias ? b : NULL, B, IN, OUT);
            assert_close("forward out", o1, o2, no, B, IN, OUT);
        }
        /* backward from the same non-zero starting d-buffers: accumulate semantics */
        float *dout = frand(&r, no, 1.0f);
        float *din0 = frand(&r, ni, 1.0f), *dw0 = frand(&r, nw, 1.0f), *db0 = frand(&r, OUT, 1.0f);
        float *din1 = fbuf(ni), *dw1 = fbuf(nw), *db1 = fbuf(OUT);
        float *din2 = fbuf(ni), *dw2 = fbuf(nw), *db2 = fbuf(OUT);
        memcpy(din1, din0, ni * sizeof(float));
        memcpy(dw1, dw0, nw * sizeof(float));
        memcpy(db1, db0, OUT * sizeof(float));
        memcpy(din2, din0, ni * sizeof(float));
        memcpy(dw2, dw0, nw * sizeof(float));
        memcpy(db2, db0, OUT * sizeof(float));
        sc_linear_backward(din1, dw1, db1, dout, in, w, B, IN, OUT);
        sc_linear_backward_naive(din2, dw2, db2, dout, in, w, B, IN, OUT);
        assert_close("backward din", din1, din2, ni, B, IN, OUT);
        assert_close("backward dw", dw1, dw2, nw, B, IN, OUT);
        assert_close("backward db", db1, db2, OUT, B, IN, OUT);

        /* accumulation really happened: subtracting the start leaves dout @ w etc. */
        sc_linear_backward_naive(din0, NULL, NULL, dout, in, w, B, IN, OUT);
        assert_close("accumulated din", din1, din0, ni, B, IN, OUT);

        /* NULL outputs are skipped, in both versions, each output on its own */
        memcpy(din1, din2, ni * sizeof(float));
        sc_linear_backward(NULL, dw1, NULL, dout, in, w, B, IN, OUT);
        sc_linear_backward_naive(NULL, dw2, NULL, dout, in, w, B, IN, OUT);
        assert_close("dw only", dw1, dw2, nw, B, IN, OUT);
        sc_linear_backward(din1, NULL, NULL, dout, in, w, B, IN, OUT);
        sc_linear_backward_naive(din2, NULL, NULL, dout, in, w, B, IN, OUT);
        assert_close("din only", din1, din2, ni, B, IN, OUT);
        sc_linear_backward(NULL, NULL, db1, dout, in, w, B, IN, OUT);
        sc_linear_backward_naive(NULL, NULL, db2, dout, in, w, B, IN, OUT);
        assert_close("db only", db1, db2, OUT, B, IN, OUT);
    }
    arena_free();
}
END_TEST

START_TEST(test_null_outputs_skipped) {
    /* A first layer does not need dx; a cell may not need dhprev. Results for
     * the outputs asked for are the same as when all are asked for. */
    enum { B = 2, IN = 3, H = 4, G = 4 * H };
    sc_rng r;
    sc_rng_seed(&r, 95);
    float *x = frand(&r, B * IN, 1.0f), *hp = frand(&r, B * H, 1.0f), *cp = frand(&r, B * H, 1.0f);
    float *wx = frand(&r, G * IN, 0.5f), *wh = frand(&r, G * H, 0.5f), *b = frand(&r, G, 0.5f);
    float *dh = frand(&r, B * H, 1.0f), *dc = frand(&r, B * H, 1.0f);
    float *h = fbuf(B * H), *c = fbuf(B * H), *gates = fbuf(B * G), *scratch = fbuf(B * G);
    float *dx = fbuf(B * IN), *dhp = fbuf(B * H), *dcp = fbuf(B * H);
    float *dwx1 = fbuf(G * IN), *dwh1 = fbuf(G * H), *db1 = fbuf(G);
    float *dwx2 = fbuf(G * IN), *dwh2 = fbuf(G * H), *db2 = fbuf(G);

    sc_rnn_forward(h, x, hp, wx, wh, b, B, IN, H, SC_ACT_TANH);
    sc_rnn_backward(dx, dhp, dwx1, dwh1, db1, dh, h, x, hp, wx, wh, scratch, B, IN, H, SC_ACT_TANH);
    sc_rnn_backward(NULL, NULL, dwx2, dwh2, db2, dh, h, x, hp, wx, wh, scratch, B, IN, H,
                    SC_ACT_TANH);
    for (int i = 0; i < H * IN; i++) ck_assert_float_eq(dwx1[i], dwx2[i]);
    for (int i = 0; i < H * H; i++) ck_assert_float_eq(dwh1[i], dwh2[i]);
    for (int i = 0; i < H; i++) ck_assert_float_eq(db1[i], db2[i]);

    memset(dwx1, 0, G * IN * sizeof(float));
    memset(dwx2, 0, G * IN * sizeof(float));
    sc_lstm_forward(h, c, gates, x, hp, cp, wx, wh, b, B, IN, H);
    sc_lstm_backward(dx, dhp, dcp, dwx1, NULL, NULL, dh, dc, gates, c, cp, x, hp, wx, wh, scratch,
                     B, IN, H);
    sc_lstm_backward(NULL, NULL, NULL, dwx2, NULL, NULL, dh, dc, gates, c, cp, x, hp, wx, wh,
                     scratch, B, IN, H);
    for (int i = 0; i < G * IN; i++) ck_assert_float_eq(dwx1[i], dwx2[i]);
    arena_free();
}
END_TEST

static Suite *layers_suite(void) {
    Suite *s = suite_create("nets_layers");
    TCase *tc = tcase_create("gradients");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_grad_linear);
    tcase_add_test(tc, test_grad_activations);
    tcase_add_test(tc, test_grad_rnn);
    tcase_add_test(tc, test_grad_rnn_unrolled);
    tcase_add_test(tc, test_grad_lstm);
    tcase_add_test(tc, test_grad_lstm_unrolled);
    tcase_add_test(tc, test_grad_softmax_xent);
    tcase_add_test(tc, test_grad_mse);
    suite_add_tcase(s, tc);

    TCase *tv = tcase_create("values");
    tcase_add_test(tv, test_activations_in_place);
    tcase_add_test(tv, test_lstm_forward_values);
    tcase_add_test(tv, test_lstm_gates_accuracy);
    tcase_add_test(tv, test_argmax_rows);
    tcase_add_test(tv, test_softmax_xent_huge_logits);
    tcase_add_test(tv, test_linear_blas_matches_naive);
    tcase_add_test(tv, test_null_outputs_skipped);
    suite_add_tcase(s, tv);
    return s;
}

SC_TEST_MAIN(layers_suite)
