/* test_agent_fc.c - the fully connected baseline.
 *
 * - whole-model finite-difference gradient check of every parameter tensor,
 *   for 0 (logistic regression), 1, 2 and 3 hidden layers (B below max_batch),
 *   and on 3-channel non-square canvases (12 x 20, 20 x 12: H W 3 values in);
 * - backward adds (twice = double); the forward keeps its own copy of x;
 *   predict = forward; parameter names and count;
 * - learning: on the synthetic texture task of test_agent_ram.c with fixed
 *   seeds, loss falls and accuracy rises well above chance within a bounded
 *   number of steps;
 * - bad configurations and batch sizes are rejected with SC_EARG and a
 *   message naming the field.
 * Set SACCADE_TEST_VERBOSE=1 to print each tensor's gradient error and the
 * learning curve's end points.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/fc.h"
#include "nets/optim.h"
#include "nets/gradcheck.h"
#include "tests/testutil.h"

static int verbose(void) {
    const char *v = getenv("SACCADE_TEST_VERBOSE");
    return v && *v && strcmp(v, "0") != 0;
}

static sc_fc_cfg small_cfg(int layers) {
    sc_fc_cfg c;
    memset(&c, 0, sizeof c);
    c.img_h = 12; c.img_w = 12; c.num_classes = 3; c.layers = layers; c.hidden = 9; c.max_batch = 4;
    return c;
}

static sc_fc *make_model(const sc_fc_cfg *cfg, uint64_t seed, float gain) {
    sc_fc *m;
    sc_err err = {0};
    ck_assert_msg(sc_fc_create(&m, cfg, &err) == SC_OK, "create: %s", err.msg);
    sc_rng r;
    sc_rng_seed(&r, seed);
    sc_fc_init_params(m, &r);
    sc_params *ps = sc_fc_params(m);
    for (size_t i = 0; i < ps->n; i++) ps->data[i] *= gain;
    return m;
}

static void random_images(float *x, int n, sc_rng *r) {
    for (int i = 0; i < n; i++) x[i] = sc_rng_uniform(r);
}

/* ---- gradients ------------------------------------------------------------------ */

typedef struct gc_ctx {
    sc_fc *m;
    const float *x;
    const int *labels;
    int B;
} gc_ctx;

/* The mean cross-entropy, summed in double from the log-probabilities. */
static double gc_loss(gc_ctx *c) {
    ck_assert_int_eq(sc_fc_forward(c->m, c->x, c->labels, c->B, NULL), SC_OK);
    const float *lp = sc_fc_logp(c->m);
    const int C = sc_fc_config(c->m)->num_classes;
    double loss = 0.0;
    for (int b = 0; b < c->B; b++) loss -= lp[b * C + c->labels[b]];
    return loss / c->B;
}

static double gc_loss_void(void *p) { return gc_loss(p); }

/* Every coordinate by central differences (nets/gradcheck.h); callers judge
 * the tensor as a whole (norm_rel_err, frac_off), robust to float32 noise near
 * ReLU kinks, and refuse an all-zero gradient (norm_analytic). */
static sc_gradcheck_report check_tensor(gc_ctx *c, float *w, const float *a, size_t n) {
    sc_gradcheck_report rep;
    ck_assert_int_eq(sc_gradcheck(gc_loss_void, c, w, a, n, 0, 2e-3f, 1e-4, &rep), 0);
    return rep;
}

/* channels, H, W: the canvas (B, H, W, channels); small_cfg's is 12 x 12 grey. */
static void run_gradcheck_canvas(int layers, int channels, int H, int W) {
    sc_fc_cfg cfg = small_cfg(layers);
    cfg.channels = channels;
    cfg.img_h = H;
    cfg.img_w = W;
    sc_fc *m = make_model(&cfg, 42, 2.0f);
    sc_params *ps = sc_fc_params(m);
    ck_assert_int_eq(ps->count, 2 * layers + 2);
    const int B = 3, npix = H * W * channels;
    ck_assert_int_eq(ps->p[0].cols, npix);  /* the first layer reads every value of the canvas */
    float *x = malloc(sizeof(float) * B * npix);
    ck_assert_ptr_nonnull(x);
    int labels[3] = {0, 2, 1};
    sc_rng r;
    sc_rng_seed(&r, 7);
    random_images(x, B * npix, &r);
    gc_ctx c = {m, x, labels, B};
    gc_loss(&c);
    sc_params_zero_grad(ps);
    sc_fc_backward(m, labels, B);
    float *analytic = malloc(sizeof(float) * ps->n);
    memcpy(analytic, ps->grad, sizeof(float) * ps->n);
    for (int i = 0; i < ps->count; i++) {
        size_t n = sc_params_size(ps, i);
        sc_gradcheck_report tc = check_tensor(&c, sc_params_data(ps, i), analytic + ps->p[i].offset, n);
        if (verbose())
            printf("layers %d %d x %d x %d %-9s rel %.2e  off %4.1f%%  |a| %.3g\n", layers, H, W, channels,
                   ps->p[i].name, tc.norm_rel_err, 100.0 * tc.frac_off, tc.norm_analytic);
        ck_assert_msg(tc.norm_rel_err < 2e-2 && tc.frac_off < 0.1,
                      "%s (layers %d, %d x %d x %d): |a-n|/(|a|+|n|) = %.3g, %.0f%% of coordinates off by > 5%%",
                      ps->p[i].name, layers, H, W, channels, tc.norm_rel_err, 100.0 * tc.frac_off);
        ck_assert_msg(tc.norm_analytic > 0.0, "%s has an all-zero gradient: the check would be vacuous",
                      ps->p[i].name);
    }
    free(analytic);
    free(x);
    sc_fc_free(m);
}

static void run_gradcheck(int layers) { run_gradcheck_canvas(layers, 1, 12, 12); }

START_TEST(gradcheck_layers_0) { run_gradcheck(0); }
END_TEST
START_TEST(gradcheck_layers_1) { run_gradcheck(1); }
END_TEST
START_TEST(gradcheck_layers_2) { run_gradcheck(2); }
END_TEST
START_TEST(gradcheck_layers_3) { run_gradcheck(3); }
END_TEST
/* colour on non-square canvases: 3 channels, 12 x 20 and 20 x 12 */
START_TEST(gradcheck_rgb_non_square) {
    run_gradcheck_canvas(2, 3, 12, 20);
    run_gradcheck_canvas(0, 3, 20, 12);
}
END_TEST

/* Backward ADDS: a second call doubles the gradient; and it uses the forward's
 * own copy of x, not the caller's buffer. */
START_TEST(backward_adds_and_owns_its_input) {
    sc_fc_cfg cfg = small_cfg(2);
    sc_fc *m = make_model(&cfg, 5, 1.0f);
    sc_params *ps = sc_fc_params(m);
    float x[4 * 144];
    int labels[4] = {2, 0, 1, 1};
    sc_rng r;
    sc_rng_seed(&r, 8);
    random_images(x, 4 * 144, &r);
    ck_assert_int_eq(sc_fc_forward(m, x, labels, 4, NULL), SC_OK);
    memset(x, 0, sizeof x);  /* the caller reuses its buffer */
    sc_params_zero_grad(ps);
    sc_fc_backward(m, labels, 4);
    float *once = malloc(sizeof(float) * ps->n);
    memcpy(once, ps->grad, sizeof(float) * ps->n);
    sc_fc_backward(m, labels, 4);
    for (size_t i = 0; i < ps->n; i++)
        ck_assert_float_eq_tol(ps->grad[i], 2.0f * once[i], 1e-5f + 1e-5f * fabsf(once[i]));
    /* dW1 = dpre^T x: all zero had backward read the caller's zeroed x */
    const float *dw1 = sc_params_grad(ps, sc_params_find(ps, "fc.W1"));
    double norm = 0.0;
    for (size_t k = 0; k < sc_params_size(ps, 0); k++) norm += fabs(dw1[k]);
    ck_assert_msg(norm > 0.0, "fc.W1 got no gradient");
    free(once);
    sc_fc_free(m);
}
END_TEST

/* ---- behaviour ------------------------------------------------------------------ */

START_TEST(parameters_and_predict) {
    sc_fc_cfg cfg;
    sc_fc_cfg_defaults(&cfg);
    ck_assert_int_eq(cfg.layers, 2);
    ck_assert_int_eq(cfg.hidden, 256);
    sc_fc *m = make_model(&cfg, 1, 1.0f);
    sc_params *ps = sc_fc_params(m);
    /* the paper's FC: 784 -> 256 -> 256 -> 10 */
    ck_assert_int_eq(sc_params_count(ps), 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
    const char *names[] = {"fc.W1", "fc.b1", "fc.W2", "fc.b2", "action.W", "action.b"};
    for (int i = 0; i < 6; i++) ck_assert_int_eq(sc_params_find(ps, names[i]), i);
    sc_fc_free(m);

    cfg = small_cfg(2);
    m = make_model(&cfg, 3, 2.0f);
    float x[4 * 144], lp1[4 * 3], lp2[4 * 3];
    int labels[4] = {0, 1, 2, 1}, pred[4];
    sc_rng r;
    sc_rng_seed(&r, 4);
    random_images(x, 4 * 144, &r);
    sc_model_stats st;
    ck_assert_int_eq(sc_fc_forward(m, x, labels, 4, &st), SC_OK);
    ck_assert(isfinite(st.xent) && st.xent > 0.0);
    ck_assert_double_eq(st.reward, st.correct / 4.0);
    memcpy(lp1, sc_fc_logp(m), sizeof lp1);
    ck_assert_int_eq(sc_fc_predict(m, x, labels, 4, lp2, pred), st.correct);
    for (int b = 0; b < 4; b++) {
        int best = 0;
        double s = 0.0;
        for (int k = 0; k < 3; k++) {
            ck_assert_float_eq(lp1[b * 3 + k], lp2[b * 3 + k]);
            if (lp1[b * 3 + k] > lp1[b * 3 + best]) best = k;
            s += exp(lp1[b * 3 + k]);
        }
        ck_assert_int_eq(pred[b], best);
        ck_assert_double_eq_tol(s, 1.0, 1e-5);
    }
    ck_assert_int_eq(sc_fc_predict(m, x, NULL, 4, NULL, NULL), 0);
    sc_fc_free(m);
}
END_TEST

/* ---- limits --------------------------------------------------------------------- */

static void expect_bad(const sc_fc_cfg *cfg, const char *field) {
    sc_fc *m = (sc_fc *)1;
    sc_err err = {0};
    ck_assert_int_eq(sc_fc_create(&m, cfg, &err), SC_EARG);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(err.code, SC_EARG);
    ck_assert_msg(strstr(err.msg, field) != NULL, "message \"%s\" does not name %s", err.msg, field);
    ck_assert_msg(strstr(err.msg, "fc:") == err.msg, "message \"%s\" does not name the module", err.msg);
}

START_TEST(bad_configs_rejected) {
    sc_fc_cfg c;
#define BAD(field, expr) c = small_cfg(2); expr; expect_bad(&c, field)
    BAD("img_h", c.img_h = 0);
    BAD("img_w", c.img_w = -1);
    BAD("num_classes", c.num_classes = 1);
    BAD("layers", c.layers = -1);
    BAD("layers", c.layers = SC_FC_LAYERS_MAX + 1);
    BAD("hidden", c.hidden = 0);
    BAD("max_batch", c.max_batch = 0);
    BAD("max_batch", c.img_h = c.img_w = 4096; c.max_batch = 1000);
#undef BAD
    /* hidden is unused without hidden layers */
    c = small_cfg(0);
    c.hidden = 0;
    sc_fc *m;
    ck_assert_int_eq(sc_fc_create(&m, &c, NULL), SC_OK);
    sc_fc_free(m);
    sc_fc_free(NULL);
    m = make_model(&c, 1, 1.0f);
    float x[5 * 144] = {0};
    int labels[5] = {0};
    ck_assert_int_eq(sc_fc_forward(m, x, labels, 5, NULL), SC_EARG);
    ck_assert_int_eq(sc_fc_forward(m, x, labels, 0, NULL), SC_EARG);
    ck_assert_int_eq(sc_fc_predict(m, x, labels, -1, NULL, NULL), SC_EARG);
    sc_fc_free(m);
}
END_TEST

/* ---- learning on a synthetic task -------------------------------------------------- */

/* test_agent_ram.c's textures: 16x16, 4 classes of stripes with noise. */
static void make_texture(float *img, int cls, int x0, int y0, int w, sc_rng *r) {
    memset(img, 0, sizeof(float) * 256);
    for (int y = y0; y < y0 + w; y++)
        for (int x = x0; x < x0 + w; x++) {
            int on = cls == 0 ? (y % 2) : cls == 1 ? (x % 2) : cls == 2 ? ((x + y) % 2) : (((x + y) / 2) % 2 == 0);
            img[y * 16 + x] = 0.8f * (float)on + 0.2f * sc_rng_uniform(r);
        }
}

START_TEST(learns_texture_classes) {
    sc_fc_cfg c;
    memset(&c, 0, sizeof c);
    c.img_h = c.img_w = 16; c.num_classes = 4; c.layers = 2; c.hidden = 64; c.max_batch = 32;
    sc_fc *m = make_model(&c, 21, 1.0f);
    sc_params *ps = sc_fc_params(m);
    sc_optim opt;
    ck_assert_int_eq(sc_optim_create(&opt, SC_OPT_ADAM, ps->n, NULL), SC_OK);
    const int B = 32, steps = 300;
    float *x = malloc(sizeof(float) * B * 256);
    int labels[32];
    sc_rng r;
    sc_rng_seed(&r, 22);
    double first = 0.0, last = 0.0, acc = 0.0;
    for (int step = 0; step < steps; step++) {
        for (int b = 0; b < B; b++) {
            labels[b] = (int)sc_rng_int(&r, 4);
            /* the texture in a random 8x8 window: the FC must learn it at every position */
            make_texture(x + b * 256, labels[b], (int)sc_rng_int(&r, 9), (int)sc_rng_int(&r, 9), 8, &r);
        }
        sc_model_stats st;
        ck_assert_int_eq(sc_fc_forward(m, x, labels, B, &st), SC_OK);
        sc_params_zero_grad(ps);
        sc_fc_backward(m, labels, B);
        sc_optim_step(&opt, ps->data, ps->grad, 3e-3f);
        if (step < 20) first += st.xent / 20;
        if (step >= steps - 50) {
            last += st.xent / 50;
            acc += st.reward / 50;
        }
    }
    if (verbose()) printf("fc: loss %.3f -> %.3f, accuracy %.3f\n", first, last, acc);
    ck_assert_msg(last < 0.5 * first, "loss %.3f -> %.3f", first, last);
    ck_assert_msg(acc > 0.8, "accuracy %.3f (chance 0.25)", acc);
    free(x);
    sc_optim_free(&opt);
    sc_fc_free(m);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("agent_fc");
    TCase *g = tcase_create("gradients");
    tcase_set_timeout(g, 300);
    tcase_add_test(g, gradcheck_layers_0);
    tcase_add_test(g, gradcheck_layers_1);
    tcase_add_test(g, gradcheck_layers_2);
    tcase_add_test(g, gradcheck_layers_3);
    tcase_add_test(g, gradcheck_rgb_non_square);
    tcase_add_test(g, backward_adds_and_owns_its_input);
    suite_add_tcase(s, g);
    TCase *b = tcase_create("behaviour");
    tcase_add_test(b, parameters_and_predict);
    tcase_add_test(b, bad_configs_rejected);
    suite_add_tcase(s, b);
    TCase *l = tcase_create("learning");
    tcase_set_timeout(l, 600);
    tcase_add_test(l, learns_texture_classes);
    suite_add_tcase(s, l);
    return s;
}

SC_TEST_MAIN(make_suite)
