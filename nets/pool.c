/* pool.c - the worker team of pool.h: a generation counter under one mutex;
 * a run sets the job, bumps the counter and wakes the threads (cv_go), each
 * runs its k and the last to finish signals the caller (cv_done). */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct pool_thread {
    sc_pool *p;
    int k;
} pool_thread;

struct sc_pool {
    int W, started;          /* workers; threads running (W - 1 once created) */
    sc_pool_fn fn;           /* the current run's job */
    void *arg;
    pthread_mutex_t mx;
    pthread_cond_t cv_go, cv_done;
    unsigned long gen;       /* runs posted */
    int pending, quit;       /* threads still in this run; set to stop */
    pthread_t th[SC_POOL_MAX];
    pool_thread targ[SC_POOL_MAX];
};

static void *pool_main(void *arg) {
    const pool_thread *a = arg;
    sc_pool *p = a->p;
    unsigned long seen = 0;  /* gen is 0 when the threads start: a run posted before this thread
                              * first waits is still new to it */
    pthread_mutex_lock(&p->mx);
    for (;;) {
        while (p->gen == seen && !p->quit) pthread_cond_wait(&p->cv_go, &p->mx);
        if (p->quit) break;
        seen = p->gen;
        pthread_mutex_unlock(&p->mx);
        p->fn(p->arg, a->k, p->W);
        pthread_mutex_lock(&p->mx);
        if (--p->pending == 0) pthread_cond_signal(&p->cv_done);
    }
    pthread_mutex_unlock(&p->mx);
    return NULL;
}

static void stop(sc_pool *p) {
    pthread_mutex_lock(&p->mx);
    p->quit = 1;
    pthread_cond_broadcast(&p->cv_go);
    pthread_mutex_unlock(&p->mx);
    for (int k = 0; k < p->started; k++) pthread_join(p->th[k], NULL);
    p->started = 0;
}

int sc_pool_create(sc_pool **out, int workers, sc_err *err) {
    *out = NULL;
    if (workers < 1 || workers > SC_POOL_MAX)
        return sc_errf(err, SC_EARG, "pool: %d workers (expected 1..%d)", workers, SC_POOL_MAX);
    sc_pool *p = calloc(1, sizeof *p);
    if (!p) return sc_errf(err, SC_ENOMEM, "pool: out of memory");
    p->W = workers;
    if (workers == 1) {
        *out = p;
        return SC_OK;
    }
    if (pthread_mutex_init(&p->mx, NULL) != 0) {
        free(p);
        return sc_errf(err, SC_EIO, "pool: cannot initialise a mutex");
    }
    int go = pthread_cond_init(&p->cv_go, NULL) == 0;
    if (!go || pthread_cond_init(&p->cv_done, NULL) != 0) {
        if (go) pthread_cond_destroy(&p->cv_go);
        pthread_mutex_destroy(&p->mx);
        free(p);
        return sc_errf(err, SC_EIO, "pool: cannot initialise the condition variables");
    }
    for (int k = 1; k < workers; k++) {
        p->targ[k] = (pool_thread){p, k};
        if (pthread_create(&p->th[k - 1], NULL, pool_main, &p->targ[k]) != 0) {
            sc_pool_free(p);
            return sc_errf(err, SC_EIO, "pool: cannot start worker thread %d of %d", k, workers);
        }
        p->started = k;
    }
    *out = p;
    return SC_OK;
}

void sc_pool_run(sc_pool *p, sc_pool_fn fn, void *arg) {
    if (!p || p->W == 1) {
        fn(arg, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->mx);
    p->fn = fn;
    p->arg = arg;
    p->pending = p->W - 1;
    p->gen++;
    pthread_cond_broadcast(&p->cv_go);
    pthread_mutex_unlock(&p->mx);
    fn(arg, 0, p->W);
    pthread_mutex_lock(&p->mx);
    while (p->pending > 0) pthread_cond_wait(&p->cv_done, &p->mx);
    pthread_mutex_unlock(&p->mx);
}

int sc_pool_workers(const sc_pool *p) { return p ? p->W : 1; }

void sc_pool_slice(size_t n, int k, int workers, size_t *lo, size_t *hi) {
    const size_t blocks = n / 16;
    *lo = blocks * (size_t)k / (size_t)workers * 16;
    *hi = k == workers - 1 ? n : blocks * (size_t)(k + 1) / (size_t)workers * 16;
}

void sc_pool_free(sc_pool *p) {
    if (!p) return;
    if (p->W > 1) {
        stop(p);
        pthread_cond_destroy(&p->cv_go);
        pthread_cond_destroy(&p->cv_done);
        pthread_mutex_destroy(&p->mx);
    }
    free(p);
}
