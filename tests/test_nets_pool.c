/* test_nets_pool.c - the worker team (nets/pool.h).
 *
 * - every run calls the job once for each worker k in 0..W-1, worker 0 on the
 *   calling thread and the others each on a thread of its own that stays the
 *   same run after run, and returns only when all have finished;
 * - one worker, or no pool (NULL), runs the job on the caller;
 * - the job's workers argument is the pool's size;
 * - sc_pool_slice cuts n floats into slices that cover 0..n once, in order,
 *   each starting at a multiple of 16;
 * - bad input: 0 or more than SC_POOL_MAX workers (SC_EARG with the count
 *   in the message).
 */
#include "tests/testutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nets/pool.h"

typedef struct job {
    int calls[SC_POOL_MAX];      /* runs each worker took part in */
    pthread_t who[SC_POOL_MAX];  /* the thread worker k ran on, last run */
    int moved;                   /* a worker ran on another thread than before */
    int wrong_w;                 /* the job saw a workers argument other than the pool's */
    int W;
    long done;                   /* finished calls, counted in the job */
    pthread_mutex_t mx;
} job;

static void work(void *arg, int k, int workers) {
    job *j = arg;
    if (workers != j->W) j->wrong_w = 1;
    const pthread_t self = pthread_self();
    if (j->calls[k] > 0 && !pthread_equal(j->who[k], self)) j->moved = 1;
    j->who[k] = self;
    j->calls[k]++;
    pthread_mutex_lock(&j->mx);
    j->done++;
    pthread_mutex_unlock(&j->mx);
}

START_TEST(every_worker_once_per_run) {
    for (int W = 1; W <= 5; W++) {
        job j;
        memset(&j, 0, sizeof j);
        pthread_mutex_init(&j.mx, NULL);
        j.W = W;
        sc_pool *p = NULL;
        sc_err err = {0};
        ck_assert_int_eq(sc_pool_create(&p, W, &err), SC_OK);
        ck_assert_int_eq(sc_pool_workers(p), W);
        for (int run = 1; run <= 200; run++) {
            sc_pool_run(p, work, &j);
            ck_assert_int_eq(j.done, (long)run * W);  /* all finished when run returns */
        }
        ck_assert(!j.wrong_w);
        for (int k = 0; k < W; k++) ck_assert_int_eq(j.calls[k], 200);
        ck_assert(pthread_equal(j.who[0], pthread_self()));
        for (int k = 1; k < W; k++) ck_assert(!pthread_equal(j.who[k], pthread_self()));
        for (int a = 1; a < W; a++)
            for (int b = a + 1; b < W; b++) ck_assert(!pthread_equal(j.who[a], j.who[b]));
        ck_assert(!j.moved);
        sc_pool_free(p);
        pthread_mutex_destroy(&j.mx);
    }
    /* no pool: the caller is the one worker */
    job j;
    memset(&j, 0, sizeof j);
    pthread_mutex_init(&j.mx, NULL);
    j.W = 1;
    sc_pool_run(NULL, work, &j);
    ck_assert(j.done == 1 && j.calls[0] == 1 && !j.wrong_w && pthread_equal(j.who[0], pthread_self()));
    ck_assert_int_eq(sc_pool_workers(NULL), 1);
    pthread_mutex_destroy(&j.mx);
    sc_pool_free(NULL);
}
END_TEST

START_TEST(slices_cover_once) {
    const size_t ns[] = {0, 1, 15, 16, 17, 100, 1000, 4099};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (int W = 1; W <= 7; W++) {
            size_t at = 0;
            for (int k = 0; k < W; k++) {
                size_t lo, hi;
                sc_pool_slice(ns[i], k, W, &lo, &hi);
                ck_assert_msg(lo == at && hi >= lo && lo % 16 == 0, "n %zu, %d workers, slice %d: [%zu, %zu) after %zu",
                              ns[i], W, k, lo, hi, at);
                at = hi;
            }
            ck_assert_uint_eq(at, ns[i]);
        }
}
END_TEST

START_TEST(bad_counts) {
    job j;
    memset(&j, 0, sizeof j);
    sc_pool *p = (sc_pool *)&j;  /* overwritten with NULL on every error */
    sc_err err = {0};
    ck_assert_int_eq(sc_pool_create(&p, 0, &err), SC_EARG);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(err.msg, "0 workers"), "%s", err.msg);
    p = (sc_pool *)&j;
    ck_assert_int_eq(sc_pool_create(&p, SC_POOL_MAX + 1, &err), SC_EARG);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(err.msg, "65 workers"), "%s", err.msg);
}
END_TEST

static Suite *pool_suite(void) {
    Suite *s = suite_create("nets_pool");
    TCase *tc = tcase_create("pool");
    tcase_add_test(tc, every_worker_once_per_run);
    tcase_add_test(tc, slices_cover_once);
    tcase_add_test(tc, bad_counts);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(pool_suite)
