/* test_agent_workers.c - data-parallel passes of the RAM (sc_ram_set_workers).
 *
 * - With W workers the sampled locations are those of one worker (the draws
 *   are made before the split), log-probabilities and every gradient agree
 *   with one worker's to float rounding, and so do the loss terms;
 * - the same W twice gives bit-identical gradients, and bit-identical
 *   parameters after several Adam steps;
 * - batches smaller than W (idle workers), odd splits, switching W back and
 *   forth, and a bad W (an error naming the range, model left usable);
 * - a span (sc_ram_set_span) over this process alone gives the unspanned
 *   bits; spans that do not fit the workers are refused, and the worker count
 *   cannot change while spanning. Spans over several processes: test_mpi.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ram.h"
#include "nets/optim.h"
#include "tests/testutil.h"

enum { S = 20, NB = 40 };

static sc_ram *make(sc_core_kind core, int loc_mlp, int workers) {
    sc_ram_cfg c;
    memset(&c, 0, sizeof c);
    c.img_h = S; c.img_w = S; c.num_classes = 4; c.glimpses = 4; c.glimpse_size = 4; c.scales = 2;
    c.glimpse_hidden = 24; c.loc_hidden = 8; c.glimpse_out = 40; c.core = core; c.hidden = 36;
    c.loc_mlp = loc_mlp; c.loc_net_hidden = 10; c.baseline = 1; c.reinforce = 1; c.reinforce_weight = 0.8f;
    c.max_batch = NB;
    sc_ram *m = NULL;
    sc_err err = {0};
    ck_assert_int_eq(sc_ram_create(&m, &c, &err), SC_OK);
    sc_rng r;
    sc_rng_seed(&r, 9);
    sc_ram_init_params(m, &r);
    ck_assert_int_eq(sc_ram_set_workers(m, workers, &err), SC_OK);
    ck_assert_int_eq(sc_ram_workers(m), workers);
    return m;
}

static void data(float *x, int *labels, int B) {
    sc_rng r;
    sc_rng_seed(&r, 5);
    for (int i = 0; i < B * S * S; i++) x[i] = sc_rng_uniform(&r);
    for (int b = 0; b < B; b++) labels[b] = (int)sc_rng_int(&r, 4);
}

/* One forward + backward with sampled locations (seeded): fills grad (n) and st. */
static void step(sc_ram *m, const float *x, const int *labels, int B, float *grad, sc_model_stats *st) {
    sc_rng r;
    sc_rng_seed(&r, 77);
    ck_assert_int_eq(sc_ram_forward(m, x, labels, B, 0.2f, &r, NULL, st), SC_OK);
    sc_params *ps = sc_ram_params(m);
    sc_params_zero_grad(ps);
    sc_ram_backward(m, labels, B, 0.2f);
    memcpy(grad, ps->grad, sizeof(float) * ps->n);
}

/* max |a - b| / max |b| */
static double rel_diff(const float *a, const float *b, size_t n) {
    double d = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return s > 0 ? d / s : d;
}

static void agree(sc_core_kind core, int loc_mlp, int workers, int B) {
    float x[NB * S * S];
    int labels[NB];
    data(x, labels, B);
    sc_ram *m1 = make(core, loc_mlp, 1), *mw = make(core, loc_mlp, workers);
    size_t n = sc_ram_params(m1)->n;
    float *g1 = malloc(sizeof(float) * n), *gw = malloc(sizeof(float) * n);
    ck_assert(g1 && gw);
    sc_model_stats s1, sw;
    step(m1, x, labels, B, g1, &s1);
    step(mw, x, labels, B, gw, &sw);
    const int T = sc_ram_config(m1)->glimpses, C = 4;
    for (int t = 0; t < T; t++)
        for (int i = 0; i < 2 * B; i++) {
            size_t k = (size_t)t * NB * 2 + i;
            ck_assert_msg(sc_ram_samples(m1)[k] == sc_ram_samples(mw)[k] ||
                              fabsf(sc_ram_samples(m1)[k] - sc_ram_samples(mw)[k]) < 1e-5f,
                          "sample (t %d, %d) differs with %d workers", t, i, workers);
        }
    ck_assert_double_lt(rel_diff(sc_ram_logp(mw), sc_ram_logp(m1), (size_t)B * C), 1e-5);
    ck_assert_int_eq(s1.correct, sw.correct);
    ck_assert_double_lt(fabs(s1.xent - sw.xent), 1e-5);
    ck_assert_double_lt(fabs(s1.reinforce - sw.reinforce), 1e-4 * (1.0 + fabs(s1.reinforce)));
    ck_assert_double_lt(fabs(s1.baseline_mse - sw.baseline_mse), 1e-5);
    const sc_params *ps = sc_ram_params(m1);
    for (int i = 0; i < ps->count; i++) {
        size_t off = ps->p[i].offset, sz = sc_params_size(ps, i);
        double r = rel_diff(gw + off, g1 + off, sz);
        ck_assert_msg(r < 1e-4, "%s: gradient with %d workers differs from one worker's by %.3g (relative)",
                      ps->p[i].name, workers, r);
    }
    free(g1);
    free(gw);
    sc_ram_free(m1);
    sc_ram_free(mw);
}

START_TEST(two_workers_agree_rnn) { agree(SC_CORE_RNN, 0, 2, 32); }
END_TEST
START_TEST(three_workers_agree_odd_batch_rnn_mlp) { agree(SC_CORE_RNN, 1, 3, 29); }
END_TEST
START_TEST(two_workers_agree_lstm) { agree(SC_CORE_LSTM, 1, 2, 40); }
END_TEST
START_TEST(more_workers_than_rows) { agree(SC_CORE_RNN, 0, 4, 3); }
END_TEST

/* Same W, same everything: bit-identical gradients and, after Adam steps, parameters. */
START_TEST(same_workers_same_bits) {
    float x[NB * S * S];
    int labels[NB];
    data(x, labels, 37);
    sc_ram *a = make(SC_CORE_RNN, 0, 2), *b = make(SC_CORE_RNN, 0, 2);
    sc_params *pa = sc_ram_params(a), *pb = sc_ram_params(b);
    sc_optim oa, ob;
    sc_err err = {0};
    ck_assert_int_eq(sc_optim_create(&oa, SC_OPT_ADAM, pa->n, &err), SC_OK);
    ck_assert_int_eq(sc_optim_create(&ob, SC_OPT_ADAM, pb->n, &err), SC_OK);
    float *ga = malloc(sizeof(float) * pa->n), *gb = malloc(sizeof(float) * pb->n);
    ck_assert(ga && gb);
    for (int s = 0; s < 5; s++) {
        sc_model_stats st;
        step(a, x, labels, 37, ga, &st);
        step(b, x, labels, 37, gb, &st);
        ck_assert_msg(memcmp(ga, gb, sizeof(float) * pa->n) == 0, "step %d: gradients differ", s);
        sc_optim_step(&oa, pa->data, pa->grad, 1e-2f);
        sc_optim_step(&ob, pb->data, pb->grad, 1e-2f);
    }
    ck_assert(memcmp(pa->data, pb->data, sizeof(float) * pa->n) == 0);
    free(ga); free(gb);
    sc_optim_free(&oa); sc_optim_free(&ob);
    sc_ram_free(a);
    sc_ram_free(b);
}
END_TEST

/* Switching W keeps the model working; a bad W is refused and leaves it usable. */
START_TEST(switching_and_bad_counts) {
    float x[NB * S * S];
    int labels[NB];
    data(x, labels, NB);
    sc_ram *m = make(SC_CORE_RNN, 0, 3);
    size_t n = sc_ram_params(m)->n;
    float *g3 = malloc(sizeof(float) * n), *g1 = malloc(sizeof(float) * n), *g3b = malloc(sizeof(float) * n);
    ck_assert(g3 && g1 && g3b);
    sc_model_stats st;
    step(m, x, labels, NB, g3, &st);
    sc_err err = {0};
    ck_assert_int_eq(sc_ram_set_workers(m, 1, &err), SC_OK);
    step(m, x, labels, NB, g1, &st);
    ck_assert_int_eq(sc_ram_set_workers(m, 3, &err), SC_OK);
    step(m, x, labels, NB, g3b, &st);
    ck_assert(memcmp(g3, g3b, sizeof(float) * n) == 0);
    ck_assert_double_lt(rel_diff(g1, g3, n), 1e-4);
    ck_assert_int_eq(sc_ram_set_workers(m, 0, &err), SC_EARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "1..64"));
    ck_assert_int_eq(sc_ram_set_workers(m, 65, &err), SC_EARG);
    ck_assert_int_eq(sc_ram_workers(m), 3);  /* a refused count changes nothing */
    step(m, x, labels, NB, g3b, &st);
    ck_assert(memcmp(g3, g3b, sizeof(float) * n) == 0);
    free(g3); free(g1); free(g3b);
    sc_ram_free(m);
}
END_TEST

/* The collectives of a span that is this process alone: nothing to gather,
 * the workers' gradients added in order (as sc_ram_backward adds them). */
static int local_gather(void *ctx, void *buf, size_t block) { (void)ctx; (void)buf; (void)block; return SC_OK; }
static int local_sum(void *ctx, float *out, float *const *own, int nown, size_t n) {
    (void)ctx;
    for (int j = 1; j < nown; j++)
        if (own[j])
            for (size_t i = 0; i < n; i++) out[i] += own[j][i];
    return SC_OK;
}

START_TEST(span_of_one_process_and_bad_spans) {
    float x[NB * S * S];
    int labels[NB];
    data(x, labels, 29);
    sc_ram *m = make(SC_CORE_LSTM, 1, 3), *ref = make(SC_CORE_LSTM, 1, 3);
    size_t n = sc_ram_params(m)->n;
    float *g = malloc(sizeof(float) * n), *gr = malloc(sizeof(float) * n);
    ck_assert(g && gr);
    sc_err err = {0};
    sc_span sp = {3, 0, NULL, local_gather, local_sum};
    ck_assert_int_eq(sc_ram_set_span(m, &sp, &err), SC_OK);
    sc_model_stats st, sr;
    step(m, x, labels, 29, g, &st);
    step(ref, x, labels, 29, gr, &sr);
    ck_assert(memcmp(g, gr, sizeof(float) * n) == 0);
    ck_assert(st.xent == sr.xent && st.correct == sr.correct && st.reinforce == sr.reinforce &&
              st.mu_spread == sr.mu_spread);
    ck_assert_int_eq(sc_ram_set_workers(m, 2, &err), SC_ESTATE);
    ck_assert_int_eq(sc_ram_workers(m), 3);
    sc_span small = {2, 0, NULL, local_gather, local_sum}, off = {4, 2, NULL, local_gather, local_sum};
    ck_assert_int_eq(sc_ram_set_span(m, &small, &err), SC_EARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "of 2"));
    ck_assert_int_eq(sc_ram_set_span(m, &off, &err), SC_EARG);
    ck_assert_int_eq(sc_ram_set_span(m, NULL, &err), SC_OK);
    ck_assert_int_eq(sc_ram_set_workers(m, 2, &err), SC_OK);
    free(g); free(gr);
    sc_ram_free(m);
    sc_ram_free(ref);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("agent_workers");
    TCase *tc = tcase_create("workers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, two_workers_agree_rnn);
    tcase_add_test(tc, three_workers_agree_odd_batch_rnn_mlp);
    tcase_add_test(tc, two_workers_agree_lstm);
    tcase_add_test(tc, more_workers_than_rows);
    tcase_add_test(tc, same_workers_same_bits);
    tcase_add_test(tc, switching_and_bad_counts);
    tcase_add_test(tc, span_of_one_process_and_bad_spans);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(make_suite)
