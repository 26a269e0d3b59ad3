/* test_agent_soft.c - soft attention over a grid of glimpse locations.
 *
 * - whole-model finite-difference gradient check of every parameter tensor,
 *   for dot and additive scores and rnn and lstm cores (B below max_batch),
 *   and on 3-channel non-square canvases (12 x 20, 20 x 12);
 * - backward adds (twice = double); results of one example do not depend on
 *   the rest of the batch; forward is deterministic; predict = forward;
 * - attention weights are a distribution per step and example (grid 1: p = 1);
 * - the grid is where soft.h says it is (pixel centres (i + 1/2) W / grid);
 * - learning: on a small synthetic texture task with fixed seeds, loss falls
 *   and accuracy rises well above chance within a bounded number of steps;
 *   with the texture in one corner only, attention moves to that corner;
 * - bad configurations and batch sizes are rejected with SC_EARG and a
 *   message naming the field.
 * Set SACCADE_TEST_VERBOSE=1 to print each tensor's gradient error and the
 * learning curves' end points.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/soft.h"
#include "nets/optim.h"
#include "nets/gradcheck.h"
#include "tests/testutil.h"

static int verbose(void) {
    const char *v = getenv("SACCADE_TEST_VERBOSE");
    return v && *v && strcmp(v, "0") != 0;
}

static sc_soft_cfg small_cfg(sc_score_kind score, sc_core_kind core) {
    sc_soft_cfg c;
    memset(&c, 0, sizeof c);
    c.img_h = 12; c.img_w = 12; c.num_classes = 3; c.glimpses = 3; c.grid = 3; c.glimpse_size = 3;
    c.scales = 2; c.glimpse_hidden = 5; c.loc_hidden = 4; c.glimpse_out = 6; c.score = score;
    c.att_hidden = 5; c.core = core; c.hidden = 7; c.max_batch = 4;
    return c;
}

static sc_soft *make_model(const sc_soft_cfg *cfg, uint64_t seed, float gain) {
    sc_soft *m;
    sc_err err = {0};
    ck_assert_msg(sc_soft_create(&m, cfg, &err) == SC_OK, "create: %s", err.msg);
    sc_rng r;
    sc_rng_seed(&r, seed);
    sc_soft_init_params(m, &r);
    sc_params *ps = sc_soft_params(m);
    for (size_t i = 0; i < ps->n; i++) ps->data[i] *= gain;
    return m;
}

static void random_images(float *x, int n, sc_rng *r) {
    for (int i = 0; i < n; i++) x[i] = sc_rng_uniform(r);
}

/* ---- gradients ------------------------------------------------------------------ */

typedef struct gc_ctx {
    sc_soft *m;
    const float *x;
    const int *labels;
    int B;
} gc_ctx;

/* The mean cross-entropy, summed in double from the log-probabilities (one
 * float rounding less than the xent the forward reports). */
static double gc_loss(gc_ctx *c) {
    ck_assert_int_eq(sc_soft_forward(c->m, c->x, c->labels, c->B, NULL), SC_OK);
    const float *lp = sc_soft_logp(c->m);
    const int C = sc_soft_config(c->m)->num_classes;
    double loss = 0.0;
    for (int b = 0; b < c->B; b++) loss -= lp[b * C + c->labels[b]];
    return loss / c->B;
}

/* As in test_agent_ram.c: float32 finite differences are noisy near ReLU kinks
 * and for tiny gradients, so a tensor passes when its gradient as a whole
 * matches (|a - n| / (|a| + |n|) over the tensor) and few coordinates are off;
 * a wrong formula or a flipped sign fails both. With these seeds every tensor
 * clears the bounds by 6x or more (SACCADE_TEST_VERBOSE=1). Other seeds can
 * fail a correct gradient, as for the RAM's check: the glimpse network runs
 * on B L = 27 rows, so a bias of 4 to 6 units often has one coordinate whose
 * step crosses a ReLU kink (over 10% of the tensor). */
static double gc_loss_void(void *p) { return gc_loss(p); }

/* Every coordinate by central differences (nets/gradcheck.h); callers judge
 * the tensor as a whole (norm_rel_err, frac_off), robust to float32 noise near
 * ReLU kinks, and refuse an all-zero gradient (norm_analytic). */
static sc_gradcheck_report check_tensor(gc_ctx *c, float *w, const float *a, size_t n, float eps) {
    sc_gradcheck_report rep;
    ck_assert_int_eq(sc_gradcheck(gc_loss_void, c, w, a, n, 0, eps, 1e-4, &rep), 0);
    return rep;
}

/* channels, H, W: the canvas (B, H, W, channels); small_cfg's is 12 x 12 grey. */
static void run_gradcheck_canvas(sc_score_kind score, sc_core_kind core, int channels, int H, int W) {
    sc_soft_cfg cfg = small_cfg(score, core);
    cfg.channels = channels;
    cfg.img_h = H;
    cfg.img_w = W;
    /* larger weights than the default init so every path carries signal */
    sc_soft *m = make_model(&cfg, 42, 2.0f);
    sc_params *ps = sc_soft_params(m);
    /* the glimpse network reads k g g channels values per location */
    ck_assert_int_eq(ps->p[sc_params_find(ps, "glimpse.Wg")].cols,
                     cfg.scales * cfg.glimpse_size * cfg.glimpse_size * channels);
    const int B = 3, npix = H * W * channels;
    float *x = malloc(sizeof(float) * B * npix);
    ck_assert_ptr_nonnull(x);
    int labels[3] = {0, 2, 1};
    sc_rng r;
    sc_rng_seed(&r, 7);
    random_images(x, B * npix, &r);
    gc_ctx c = {m, x, labels, B};
    gc_loss(&c);
    sc_params_zero_grad(ps);
    sc_soft_backward(m, labels, B);
    float *analytic = malloc(sizeof(float) * ps->n);
    memcpy(analytic, ps->grad, sizeof(float) * ps->n);
    for (int i = 0; i < ps->count; i++) {
        size_t n = sc_params_size(ps, i);
        /* the attention tensors' gradients are second order (sum_i de_i = 0, so
         * only differences between locations count) and small: a larger step
         * lifts them over float32 noise; no ReLU lies between them and the loss
         * but the rnn core's */
        float eps = !strncmp(ps->p[i].name, "att.", 4) ? 1e-2f : 2e-3f;
        sc_gradcheck_report tc = check_tensor(&c, sc_params_data(ps, i), analytic + ps->p[i].offset, n, eps);
        if (verbose())
            printf("score %d core %d %d x %d x %d %-12s rel %.2e  off %4.1f%%  |a| %.3g\n", score, core, H, W,
                   channels, ps->p[i].name, tc.norm_rel_err, 100.0 * tc.frac_off, tc.norm_analytic);
        ck_assert_msg(tc.norm_rel_err < 2e-2 && tc.frac_off < 0.1,
                      "%s (score %d, core %d, %d x %d x %d): |a-n|/(|a|+|n|) = %.3g, %.0f%% of coordinates off by "
                      "> 5%%", ps->p[i].name, score, core, H, W, channels, tc.norm_rel_err, 100.0 * tc.frac_off);
        ck_assert_msg(tc.norm_analytic > 0.0, "%s has an all-zero gradient: the check would be vacuous",
                      ps->p[i].name);
    }
    free(analytic);
    free(x);
    sc_soft_free(m);
}

static void run_gradcheck(sc_score_kind score, sc_core_kind core) { run_gradcheck_canvas(score, core, 1, 12, 12); }

START_TEST(gradcheck_dot_rnn) { run_gradcheck(SC_SCORE_DOT, SC_CORE_RNN); }
END_TEST
START_TEST(gradcheck_dot_lstm) { run_gradcheck(SC_SCORE_DOT, SC_CORE_LSTM); }
END_TEST
START_TEST(gradcheck_additive_rnn) { run_gradcheck(SC_SCORE_ADDITIVE, SC_CORE_RNN); }
END_TEST
START_TEST(gradcheck_additive_lstm) { run_gradcheck(SC_SCORE_ADDITIVE, SC_CORE_LSTM); }
END_TEST
/* colour on non-square canvases: 3 channels, 12 x 20 and 20 x 12 (the grid maps per axis) */
START_TEST(gradcheck_rgb_non_square_dot) { run_gradcheck_canvas(SC_SCORE_DOT, SC_CORE_RNN, 3, 12, 20); }
END_TEST
START_TEST(gradcheck_rgb_non_square_additive) { run_gradcheck_canvas(SC_SCORE_ADDITIVE, SC_CORE_RNN, 3, 20, 12); }
END_TEST

/* Every tensor the score kind declares, and only those. */
START_TEST(score_kinds_declare_their_parameters) {
    sc_soft_cfg cfg = small_cfg(SC_SCORE_DOT, SC_CORE_RNN);
    sc_soft *m = make_model(&cfg, 1, 1.0f);
    sc_params *ps = sc_soft_params(m);
    ck_assert_int_ge(sc_params_find(ps, "att.Wq"), 0);
    ck_assert_int_ge(sc_params_find(ps, "att.bq"), 0);
    ck_assert_int_eq(sc_params_find(ps, "att.v"), -1);
    ck_assert_int_eq(sc_params_count(ps), 5 * 18 + 5 + 4 * 2 + 4 + 6 * 9 + 6 + 6 * 7 + 6 + 7 * 6 + 7 * 7 + 7 +
                                              3 * 7 + 3);
    sc_soft_free(m);
    cfg.score = SC_SCORE_ADDITIVE;
    m = make_model(&cfg, 1, 1.0f);
    ps = sc_soft_params(m);
    ck_assert_int_eq(sc_params_find(ps, "att.Wq"), -1);
    const char *names[] = {"att.Wp", "att.bp", "att.Wh", "att.v"};
    for (int i = 0; i < 4; i++) ck_assert_msg(sc_params_find(ps, names[i]) >= 0, "no %s", names[i]);
    sc_soft_free(m);
}
END_TEST

/* Backward ADDS: a second call doubles the gradient. */
START_TEST(backward_adds) {
    sc_soft_cfg cfg = small_cfg(SC_SCORE_ADDITIVE, SC_CORE_LSTM);
    sc_soft *m = make_model(&cfg, 5, 1.0f);
    sc_params *ps = sc_soft_params(m);
    float x[4 * 144];
    int labels[4] = {2, 0, 1, 1};
    sc_rng r;
    sc_rng_seed(&r, 8);
    random_images(x, 4 * 144, &r);
    sc_model_stats st;
    ck_assert_int_eq(sc_soft_forward(m, x, labels, 4, &st), SC_OK);
    sc_params_zero_grad(ps);
    sc_soft_backward(m, labels, 4);
    float *once = malloc(sizeof(float) * ps->n);
    memcpy(once, ps->grad, sizeof(float) * ps->n);
    sc_soft_backward(m, labels, 4);
    double norm = 0.0;
    for (size_t i = 0; i < ps->n; i++) {
        ck_assert_float_eq_tol(ps->grad[i], 2.0f * once[i], 1e-5f + 1e-5f * fabsf(once[i]));
        norm += fabs(once[i]);
    }
    ck_assert(norm > 0.0);
    free(once);
    sc_soft_free(m);
}
END_TEST

/* ---- behaviour ------------------------------------------------------------------ */

static void check_distributions(const sc_soft *m, int B) {
    const sc_soft_cfg *c = sc_soft_config(m);
    const int L = c->grid * c->grid;
    const float *p = sc_soft_attention(m);
    for (int t = 0; t < c->glimpses; t++)
        for (int b = 0; b < B; b++) {
            const float *pb = p + ((size_t)t * c->max_batch + b) * L;
            double s = 0.0;
            for (int i = 0; i < L; i++) {
                ck_assert_msg(pb[i] >= 0.0f && pb[i] <= 1.0f, "p[%d][%d][%d] = %g", t, b, i, pb[i]);
                s += pb[i];
            }
            ck_assert_msg(fabs(s - 1.0) < 1e-5, "step %d example %d: weights sum to %.8f", t, b, s);
        }
}

START_TEST(attention_is_a_distribution) {
    const sc_score_kind scores[] = {SC_SCORE_DOT, SC_SCORE_ADDITIVE};
    const sc_core_kind cores[] = {SC_CORE_RNN, SC_CORE_LSTM};
    sc_rng r;
    sc_rng_seed(&r, 9);
    float x[4 * 144];
    random_images(x, 4 * 144, &r);
    int labels[4] = {0, 1, 2, 0};
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 2; k++) {
            sc_soft_cfg cfg = small_cfg(scores[s], cores[k]);
            cfg.grid = 4;
            /* a large gain makes the weights far from uniform: a harder test of the softmax */
            sc_soft *m = make_model(&cfg, 10 + s * 2 + k, 4.0f);
            sc_model_stats st;
            ck_assert_int_eq(sc_soft_forward(m, x, labels, 3, &st), SC_OK);
            check_distributions(m, 3);
            ck_assert(st.att_entropy >= 0.0 && st.att_entropy <= log(16.0) + 1e-6);
            ck_assert(st.att_max >= 1.0 / 16 - 1e-6 && st.att_max <= 1.0 + 1e-6);
            ck_assert_msg(st.att_max > 1.0 / 16 + 0.01, "attention is uniform: test is vacuous");
            sc_soft_free(m);
        }
    /* one location: every weight is exactly 1 */
    sc_soft_cfg cfg = small_cfg(SC_SCORE_DOT, SC_CORE_RNN);
    cfg.grid = 1;
    sc_soft *m = make_model(&cfg, 3, 1.0f);
    ck_assert_int_eq(sc_soft_forward(m, x, labels, 4, NULL), SC_OK);
    for (int t = 0; t < cfg.glimpses; t++)
        for (int b = 0; b < 4; b++) ck_assert_float_eq(sc_soft_attention(m)[t * cfg.max_batch + b], 1.0f);
    ck_assert_float_eq(sc_soft_grid(m)[0], 0.0f);
    ck_assert_float_eq(sc_soft_grid(m)[1], 0.0f);
    sc_soft_free(m);
}
END_TEST

START_TEST(grid_locations) {
    /* grid 3: x, y in {-2/3, 0, 2/3}, row-major with y outer */
    float l3[9 * 2];
    sc_soft_grid_fill(l3, 3);
    const float v[3] = {-2.0f / 3.0f, 0.0f, 2.0f / 3.0f};
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 3; i++) {
            ck_assert_float_eq_tol(l3[2 * (j * 3 + i)], v[i], 1e-6f);
            ck_assert_float_eq_tol(l3[2 * (j * 3 + i) + 1], v[j], 1e-6f);
        }
    /* grid 7 on 28x28: the pixel centres (x + 1) / 2 * 28 are 2, 6, ..., 26;
     * grid 15 on 60x60: 2, 6, ..., 58 */
    const int grids[2] = {7, 15}, sides[2] = {28, 60};
    for (int q = 0; q < 2; q++) {
        int n = grids[q];
        float *l = malloc(sizeof(float) * 2 * n * n);
        sc_soft_grid_fill(l, n);
        for (int i = 0; i < n; i++) {
            ck_assert_float_eq_tol((l[2 * i] + 1.0f) / 2.0f * sides[q], 2.0f + 4.0f * i, 1e-4f);
            ck_assert_float_eq_tol((l[2 * i * n + 1] + 1.0f) / 2.0f * sides[q], 2.0f + 4.0f * i, 1e-4f);
        }
        free(l);
    }
    /* the model looks where sc_soft_grid says */
    sc_soft_cfg cfg = small_cfg(SC_SCORE_DOT, SC_CORE_RNN);
    sc_soft *m = make_model(&cfg, 1, 1.0f);
    for (int k = 0; k < 18; k++) ck_assert_float_eq(sc_soft_grid(m)[k], l3[k]);
    sc_soft_free(m);
}
END_TEST

/* Forward is deterministic, predict returns what forward computes, and one
 * example's result does not depend on the rest of the batch. */
START_TEST(predict_deterministic_batch_independent) {
    sc_soft_cfg cfg = small_cfg(SC_SCORE_ADDITIVE, SC_CORE_RNN);
    sc_soft *m = make_model(&cfg, 11, 2.0f);
    const int C = cfg.num_classes, L = cfg.grid * cfg.grid;
    float x[4 * 144], lp1[4 * 3], lp2[4 * 3], p3[3 * 9];
    int labels[4] = {0, 1, 2, 1}, pred[4];
    sc_rng r;
    sc_rng_seed(&r, 12);
    random_images(x, 4 * 144, &r);
    sc_model_stats st;
    ck_assert_int_eq(sc_soft_forward(m, x, labels, 4, &st), SC_OK);
    memcpy(lp1, sc_soft_logp(m), sizeof lp1);
    for (int t = 0; t < 3; t++) memcpy(p3 + t * L, sc_soft_attention(m) + ((size_t)t * cfg.max_batch + 2) * L,
                                       sizeof(float) * L);
    int correct = sc_soft_predict(m, x, labels, 4, lp2, pred);
    ck_assert_int_eq(correct, st.correct);
    for (int b = 0; b < 4; b++) {
        int best = 0;
        for (int k = 0; k < C; k++) {
            ck_assert_float_eq(lp1[b * C + k], lp2[b * C + k]);
            if (lp1[b * C + k] > lp1[b * C + best]) best = k;
        }
        ck_assert_int_eq(pred[b], best);
    }
    /* example 2 alone */
    ck_assert_int_eq(sc_soft_forward(m, x + 2 * 144, labels + 2, 1, &st), SC_OK);
    for (int k = 0; k < C; k++) ck_assert_float_eq_tol(sc_soft_logp(m)[k], lp1[2 * C + k], 1e-5f);
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < L; i++)
            ck_assert_float_eq_tol(sc_soft_attention(m)[(size_t)t * cfg.max_batch * L + i], p3[t * L + i], 1e-6f);
    ck_assert_int_eq(sc_soft_predict(m, x, NULL, 4, NULL, NULL), 0);
    sc_soft_free(m);
}
END_TEST

/* ---- limits --------------------------------------------------------------------- */

static void expect_bad(const sc_soft_cfg *cfg, const char *field) {
    sc_soft *m = (sc_soft *)1;
    sc_err err = {0};
    ck_assert_int_eq(sc_soft_create(&m, cfg, &err), SC_EARG);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(err.code, SC_EARG);
    ck_assert_msg(strstr(err.msg, field) != NULL, "message \"%s\" does not name %s", err.msg, field);
    ck_assert_msg(strstr(err.msg, "soft:") == err.msg, "message \"%s\" does not name the module", err.msg);
}

START_TEST(bad_configs_rejected) {
    sc_soft_cfg c;
#define BAD(field, expr) c = small_cfg(SC_SCORE_DOT, SC_CORE_RNN); expr; expect_bad(&c, field)
    BAD("img_h", c.img_h = 0);
    BAD("img_w", c.img_w = -3);
    BAD("num_classes", c.num_classes = 1);
    BAD("glimpses", c.glimpses = 0);
    BAD("grid", c.grid = 0);
    BAD("grid", c.grid = SC_SOFT_GRID_MAX + 1);
    BAD("glimpse_size", c.glimpse_size = 0);
    BAD("scales", c.scales = 0);
    BAD("scales", c.scales = 17);
    BAD("glimpse_hidden", c.glimpse_hidden = 0);
    BAD("loc_hidden", c.loc_hidden = 0);
    BAD("glimpse_out", c.glimpse_out = 0);
    BAD("hidden", c.hidden = 0);
    BAD("score", c.score = (sc_score_kind)2);
    BAD("att_hidden", c.score = SC_SCORE_ADDITIVE; c.att_hidden = 0);
    BAD("core", c.core = (sc_core_kind)7);
    BAD("max_batch", c.max_batch = 0);
    BAD("max_batch", c.max_batch = 1 << 20; c.grid = 64);
#undef BAD
    /* att_hidden is not used by dot scores */
    c = small_cfg(SC_SCORE_DOT, SC_CORE_RNN);
    c.att_hidden = 0;
    sc_soft *m;
    ck_assert_int_eq(sc_soft_create(&m, &c, NULL), SC_OK);
    sc_soft_free(m);
    sc_soft_free(NULL);
    /* batch sizes */
    m = make_model(&c, 1, 1.0f);
    float x[5 * 144] = {0};
    int labels[5] = {0};
    ck_assert_int_eq(sc_soft_forward(m, x, labels, 5, NULL), SC_EARG);
    ck_assert_int_eq(sc_soft_forward(m, x, labels, 0, NULL), SC_EARG);
    ck_assert_int_eq(sc_soft_predict(m, x, labels, 5, NULL, NULL), SC_EARG);
    sc_soft_free(m);
}
END_TEST

/* ---- learning on synthetic tasks ------------------------------------------------------ */

/* 16x16 images of 4 classes of texture (horizontal, vertical, checker, diagonal
 * stripes) with noise, drawn into [x0, x0 + w) x [y0, y0 + w); zero elsewhere
 * (test_agent_ram.c's task). */
static void make_texture(float *img, int cls, int x0, int y0, int w, sc_rng *r) {
    memset(img, 0, sizeof(float) * 256);
    for (int y = y0; y < y0 + w; y++)
        for (int x = x0; x < x0 + w; x++) {
            int on = cls == 0 ? (y % 2) : cls == 1 ? (x % 2) : cls == 2 ? ((x + y) % 2) : (((x + y) / 2) % 2 == 0);
            img[y * 16 + x] = 0.8f * (float)on + 0.2f * sc_rng_uniform(r);
        }
}

typedef struct learn_out {
    double first_loss, last_loss, last_acc, corner_mass;
} learn_out;

/* Trains on 16x16 textures, everywhere or in the top-left 6x6 corner only;
 * corner_mass is the mean attention weight of the last step on the four
 * top-left locations of the 4x4 grid (centres at pixels 2 and 6, covering the
 * corner), 0.25 when uniform. */
static learn_out train_synthetic(sc_score_kind score, sc_core_kind core, int corner, int steps, uint64_t seed) {
    sc_soft_cfg c;
    memset(&c, 0, sizeof c);
    c.img_h = c.img_w = 16; c.num_classes = 4; c.glimpses = 2; c.grid = 4; c.glimpse_size = 4; c.scales = 1;
    c.glimpse_hidden = 32; c.loc_hidden = 16; c.glimpse_out = 48; c.score = score; c.att_hidden = 32;
    c.core = core; c.hidden = 48; c.max_batch = 32;
    sc_soft *m = make_model(&c, seed, 1.0f);
    sc_params *ps = sc_soft_params(m);
    sc_optim opt;
    ck_assert_int_eq(sc_optim_create(&opt, SC_OPT_ADAM, ps->n, NULL), SC_OK);
    const int B = 32, L = 16;
    float *x = malloc(sizeof(float) * B * 256);
    int labels[32];
    sc_rng r;
    sc_rng_seed(&r, seed + 1);
    learn_out o = {0, 0, 0, 0};
    for (int step = 0; step < steps; step++) {
        for (int b = 0; b < B; b++) {
            labels[b] = (int)sc_rng_int(&r, 4);
            make_texture(x + b * 256, labels[b], 0, 0, corner ? 6 : 16, &r);
        }
        sc_model_stats st;
        ck_assert_int_eq(sc_soft_forward(m, x, labels, B, &st), SC_OK);
        sc_params_zero_grad(ps);
        sc_soft_backward(m, labels, B);
        sc_optim_step(&opt, ps->data, ps->grad, 3e-3f);
        if (step < 20) o.first_loss += st.xent / 20;
        if (step >= steps - 50) {
            o.last_loss += st.xent / 50;
            o.last_acc += st.reward / 50;
            const float *p = sc_soft_attention(m) + (size_t)(c.glimpses - 1) * c.max_batch * L;
            for (int b = 0; b < B; b++)
                o.corner_mass += (p[b * L + 0] + p[b * L + 1] + p[b * L + 4] + p[b * L + 5]) / (B * 50.0);
        }
    }
    if (verbose())
        printf("score %d core %d corner %d: loss %.3f -> %.3f, accuracy %.3f, corner mass %.3f\n", score, core,
               corner, o.first_loss, o.last_loss, o.last_acc, o.corner_mass);
    free(x);
    sc_optim_free(&opt);
    sc_soft_free(m);
    return o;
}

START_TEST(learns_texture_classes_dot) {
    learn_out o = train_synthetic(SC_SCORE_DOT, SC_CORE_RNN, 0, 300, 21);
    ck_assert_msg(o.last_loss < 0.5 * o.first_loss, "loss %.3f -> %.3f", o.first_loss, o.last_loss);
    ck_assert_msg(o.last_acc > 0.8, "accuracy %.3f (chance 0.25)", o.last_acc);
}
END_TEST

START_TEST(learns_texture_classes_additive) {
    learn_out o = train_synthetic(SC_SCORE_ADDITIVE, SC_CORE_LSTM, 0, 300, 22);
    ck_assert_msg(o.last_loss < 0.5 * o.first_loss, "loss %.3f -> %.3f", o.first_loss, o.last_loss);
    ck_assert_msg(o.last_acc > 0.8, "accuracy %.3f (chance 0.25)", o.last_acc);
}
END_TEST

/* The class is visible only in the top-left corner: the model learns and its
 * attention moves there (mass on the four corner locations well above 0.25). */
START_TEST(attention_moves_to_the_corner) {
    const sc_score_kind scores[] = {SC_SCORE_DOT, SC_SCORE_ADDITIVE};
    for (int s = 0; s < 2; s++) {
        learn_out o = train_synthetic(scores[s], SC_CORE_RNN, 1, 600, 31);
        ck_assert_msg(o.last_acc > 0.8, "score %d: accuracy %.3f (chance 0.25)", s, o.last_acc);
        ck_assert_msg(o.corner_mass > 0.5, "score %d: attention mass on the corner %.3f (uniform 0.25)", s,
                      o.corner_mass);
    }
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("agent_soft");
    TCase *g = tcase_create("gradients");
    tcase_set_timeout(g, 300);
    tcase_add_test(g, gradcheck_dot_rnn);
    tcase_add_test(g, gradcheck_dot_lstm);
    tcase_add_test(g, gradcheck_additive_rnn);
    tcase_add_test(g, gradcheck_additive_lstm);
    tcase_add_test(g, gradcheck_rgb_non_square_dot);
    tcase_add_test(g, gradcheck_rgb_non_square_additive);
    tcase_add_test(g, score_kinds_declare_their_parameters);
    tcase_add_test(g, backward_adds);
    suite_add_tcase(s, g);
    TCase *b = tcase_create("behaviour");
    tcase_add_test(b, attention_is_a_distribution);
    tcase_add_test(b, grid_locations);
    tcase_add_test(b, predict_deterministic_batch_independent);
    tcase_add_test(b, bad_configs_rejected);
    suite_add_tcase(s, b);
    TCase *l = tcase_create("learning");
    tcase_set_timeout(l, 600);
    tcase_add_test(l, learns_texture_classes_dot);
    tcase_add_test(l, learns_texture_classes_additive);
    tcase_add_test(l, attention_moves_to_the_corner);
    suite_add_tcase(s, l);
    return s;
}

SC_TEST_MAIN(make_suite)
