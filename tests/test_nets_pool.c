/* test_nets_pool.c - the worker team (nets/pool.h).
 *
 * - every run calls the job once for each worker k in 0..W-1, worker 0 on the
 *   calling thread and the others each on a thread of its own that stays the
 *   same run after run, and returns only when all have finished;
 * - one worker starts no thread;
 * - bad input: 0 or more than SC_POOL_MAX workers, no job function (SC_EARG
 *   with the count in the message).
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
    long done;                   /* finished calls, counted in the job */
    pthread_mutex_t mx;
} job;

static void work(void *arg, int k) {
    job *j = arg;
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
        sc_pool *p = NULL;
        sc_err err = {0};
        ck_assert_int_eq(sc_pool_create(&p, W, work, &j, &err), SC_OK);
        ck_assert_int_eq(sc_pool_workers(p), W);
        for (int run = 1; run <= 200; run++) {
            sc_pool_run(p);
            ck_assert_int_eq(j.done, (long)run * W);  /* all finished when run returns */
        }
        for (int k = 0; k < W; k++) ck_assert_int_eq(j.calls[k], 200);
        ck_assert(pthread_equal(j.who[0], pthread_self()));
        for (int k = 1; k < W; k++) ck_assert(!pthread_equal(j.who[k], pthread_self()));
        for (int a = 1; a < W; a++)
            for (int b = a + 1; b < W; b++) ck_assert(!pthread_equal(j.who[a], j.who[b]));
        ck_assert(!j.moved);
        sc_pool_free(p);
        pthread_mutex_destroy(&j.mx);
    }
    sc_pool_free(NULL);
}
END_TEST

START_TEST(bad_counts) {
    job j;
    memset(&j, 0, sizeof j);
    sc_pool *p = (sc_pool *)&j;  /* overwritten with NULL on every error */
    sc_err err = {0};
    ck_assert_int_eq(sc_pool_create(&p, 0, work, &j, &err), SC_EARG);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(err.msg, "0 workers"), "%s", err.msg);
    ck_assert_int_eq(sc_pool_create(&p, SC_POOL_MAX + 1, work, &j, &err), SC_EARG);
    ck_assert_msg(strstr(err.msg, "65 workers"), "%s", err.msg);
    ck_assert_int_eq(sc_pool_create(&p, 2, NULL, &j, &err), SC_EARG);
    ck_assert_msg(strstr(err.msg, "without a job function"), "%s", err.msg);
    ck_assert_int_eq(j.done, 0);
}
END_TEST

static Suite *pool_suite(void) {
    Suite *s = suite_create("nets_pool");
    TCase *tc = tcase_create("pool");
    tcase_add_test(tc, every_worker_once_per_run);
    tcase_add_test(tc, bad_counts);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(pool_suite)
