/* test_agent_noalloc.c - the training step allocates nothing, opens no file and
 * starts no thread.
 *
 * The step is the one of experiments/train.c: next minibatch, canvases built
 * from bytes, forward, zero grad, backward, clip, optimizer step. This test's
 * executable is linked with --wrap for malloc, calloc, realloc, aligned_alloc,
 * posix_memalign, fopen and pthread_create (CMakeLists.txt), so every call of
 * those made by saccade's own code (the static libraries and this file) goes
 * through a counter below. After two warm-up steps, steps must leave every
 * counter unchanged, for RNN and LSTM cores, linear and MLP location nets,
 * plain and cluttered canvases, full and short batches, and with the model's
 * worker threads (sc_ram_set_workers) when there are several.
 * Calls made inside shared libraries (OpenBLAS, libc) are not counted here.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ram.h"
#include "env/canvas.h"
#include "env/dataset.h"
#include "nets/optim.h"
#include "tests/testutil.h"

/* ---- counters behind the linker's --wrap: n_alloc, n_fopen, n_thread ---------------- */

#include "tests/wrapcount.h"

/* ---- a training set-up on synthetic digits --------------------------------------- */

typedef struct setup {
    sc_images im;
    int *pool;
    sc_canvas_cfg cc;
    sc_ram *m;
    sc_optim opt;
    sc_batcher bt;
    float *canvas;
    int *idx, *labels;
    uint64_t *keys;
    sc_rng rloc;
    int B, side, epoch;
} setup;

static void setup_make(setup *s, sc_core_kind core, int loc_mlp, sc_canvas_kind kind, int workers) {
    memset(s, 0, sizeof *s);
    const int N = 300, S = 28;
    s->im.n = N; s->im.h = S; s->im.w = S; s->im.num_classes = 10;
    s->im.pix = malloc((size_t)N * S * S);
    s->im.labels = malloc(N);
    s->pool = malloc(sizeof(int) * N);
    ck_assert(s->im.pix && s->im.labels && s->pool);
    sc_rng r;
    sc_rng_seed(&r, 7);
    for (size_t i = 0; i < (size_t)N * S * S; i++) s->im.pix[i] = (uint8_t)sc_rng_int(&r, 256);
    for (int i = 0; i < N; i++) { s->im.labels[i] = (uint8_t)(i % 10); s->pool[i] = i; }
    s->cc.kind = kind;
    s->cc.size = kind == SC_CANVAS_PLAIN ? S : 60;
    s->cc.distractors = kind == SC_CANVAS_CLUTTERED ? 4 : 0;
    s->cc.distractor_size = 8;
    sc_err err = {0};
    ck_assert_int_eq(sc_canvas_check(&s->cc, &s->im, &err), SC_OK);
    int H = 0;
    sc_canvas_dims(&s->cc, &s->im, &H, &s->side);
    s->B = 32;
    sc_ram_cfg c;
    memset(&c, 0, sizeof c);
    c.img_h = c.img_w = s->side; c.num_classes = 10; c.glimpses = 4; c.glimpse_size = 8;
    c.scales = kind == SC_CANVAS_PLAIN ? 1 : 3;
    c.glimpse_hidden = 32; c.loc_hidden = 16; c.glimpse_out = 48; c.core = core; c.hidden = 40;
    c.loc_mlp = loc_mlp; c.loc_net_hidden = 12; c.baseline = 1; c.reinforce = 1; c.reinforce_weight = 1.0f;
    c.max_batch = 50;  /* larger than B, as the trainer's evaluation batch makes it */
    ck_assert_int_eq(sc_ram_create(&s->m, &c, &err), SC_OK);
    sc_ram_init_params(s->m, &r);
    if (workers > 1) ck_assert_int_eq(sc_ram_set_workers(s->m, workers, &err), SC_OK);
    sc_params *ps = sc_ram_params(s->m);
    ck_assert_int_eq(sc_optim_create(&s->opt, SC_OPT_ADAM, ps->n, &err), SC_OK);
    /* 300 images in batches of 32: every epoch ends with a short batch of 12 */
    ck_assert_int_eq(sc_batcher_init(&s->bt, s->pool, N, s->B, 1, 5, &err), SC_OK);
    s->canvas = malloc(sizeof(float) * s->B * s->side * s->side);
    s->idx = malloc(sizeof(int) * s->B);
    s->labels = malloc(sizeof(int) * s->B);
    s->keys = malloc(sizeof(uint64_t) * s->B);
    ck_assert(s->canvas && s->idx && s->labels && s->keys);
    sc_rng_seed(&s->rloc, 3);
    s->epoch = 1;
    sc_batcher_epoch(&s->bt, s->epoch);
}

static void setup_free(setup *s) {
    free(s->im.pix); free(s->im.labels); free(s->pool);
    sc_ram_free(s->m);
    sc_optim_free(&s->opt);
    sc_batcher_free(&s->bt);
    free(s->canvas); free(s->idx); free(s->labels); free(s->keys);
}

/* One step of experiments/train.c. No ck_assert inside: Check's bookkeeping
 * allocates. Returns 0 when forward failed. */
static int step(setup *s) {
    int n = sc_batcher_next(&s->bt, s->idx);
    if (n == 0) {
        sc_batcher_epoch(&s->bt, ++s->epoch);
        n = sc_batcher_next(&s->bt, s->idx);
    }
    for (int b = 0; b < n; b++) {
        s->labels[b] = s->im.labels[s->idx[b]];
        s->keys[b] = sc_canvas_key(0, s->epoch, s->idx[b]);
    }
    sc_canvas_build(s->canvas, NULL, &s->cc, &s->im, s->idx, s->keys, n, s->pool, s->im.n, 11);
    sc_model_stats st;
    sc_params *ps = sc_ram_params(s->m);
    if (sc_ram_forward(s->m, s->canvas, s->labels, n, 0.1f, &s->rloc, NULL, &st) != SC_OK) return 0;
    sc_params_zero_grad(ps);
    sc_ram_backward(s->m, s->labels, n, 0.1f);
    sc_clip_grad_norm(ps->grad, ps->n, 5.0f);
    sc_optim_step(&s->opt, ps->data, ps->grad, 1e-3f);
    return 1;
}

static void check_steps(sc_core_kind core, int loc_mlp, sc_canvas_kind kind, int workers) {
    setup s;
    setup_make(&s, core, loc_mlp, kind, workers);
    int ok = step(&s) && step(&s);
    long a0 = n_alloc, f0 = n_fopen, t0 = n_thread;
    for (int i = 0; i < 12; i++) ok &= step(&s);  /* crosses an epoch end: a short batch of 12 */
    long da = n_alloc - a0, df = n_fopen - f0, dt = n_thread - t0;
    ck_assert_msg(ok, "sc_ram_forward failed");
    ck_assert_msg(s.epoch >= 2, "the steps should have crossed an epoch boundary");
    setup_free(&s);
    ck_assert_msg(da == 0 && df == 0 && dt == 0,
                  "12 training steps (core %d, mlp %d, canvas %d, %d workers): %ld allocations, "
                  "%ld fopen, %ld threads started; expected none",
                  core, loc_mlp, kind, workers, da, df, dt);
}

/* The counters do count: a control, so the test cannot pass vacuously. */
START_TEST(counters_work) {
    long a0 = n_alloc, t0 = n_thread;
    void *p = malloc(16);
    ck_assert_ptr_nonnull(p);
    free(p);
    setup s;
    setup_make(&s, SC_CORE_RNN, 0, SC_CANVAS_PLAIN, 2);
    setup_free(&s);
    ck_assert_int_ge(n_alloc - a0, 2);
    ck_assert_int_eq(n_thread - t0, 1);  /* one worker besides the caller */
}
END_TEST

START_TEST(rnn_plain) { check_steps(SC_CORE_RNN, 0, SC_CANVAS_PLAIN, 1); }
END_TEST
START_TEST(rnn_mlp_cluttered) { check_steps(SC_CORE_RNN, 1, SC_CANVAS_CLUTTERED, 1); }
END_TEST
START_TEST(lstm_translated) { check_steps(SC_CORE_LSTM, 0, SC_CANVAS_TRANSLATED, 1); }
END_TEST
START_TEST(rnn_plain_2_workers) { check_steps(SC_CORE_RNN, 0, SC_CANVAS_PLAIN, 2); }
END_TEST
START_TEST(lstm_mlp_cluttered_3_workers) { check_steps(SC_CORE_LSTM, 1, SC_CANVAS_CLUTTERED, 3); }
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("agent_noalloc");
    TCase *tc = tcase_create("training step");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, counters_work);
    tcase_add_test(tc, rnn_plain);
    tcase_add_test(tc, rnn_mlp_cluttered);
    tcase_add_test(tc, lstm_translated);
    tcase_add_test(tc, rnn_plain_2_workers);
    tcase_add_test(tc, lstm_mlp_cluttered_3_workers);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(make_suite)
