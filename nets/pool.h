/* pool.h - a fixed team of worker threads that run one job function
 * together: the data-parallel workers of the RAM (agent/ram.c) and of the
 * deterministic kinds (agent/model.c).
 *
 * A pool of W workers starts W - 1 threads once (sc_pool_create); each
 * sc_pool_run(p, fn, arg) then calls fn(arg, k, W) for every k in 0..W-1,
 * k = 0 on the calling thread and k >= 1 on thread k, and returns when all
 * have finished. What a job does is up to fn (it reads the caller's state
 * through arg); which worker runs which k never changes, so work split by k
 * is the same run to run. W = 1 starts no thread: run is a plain call
 * fn(arg, 0, 1). sc_pool_slice cuts n floats into W slices for such work.
 *
 * What it is not: a task queue. Runs do not overlap, fn must not call
 * sc_pool_run, and a run allocates nothing.
 */
#ifndef SACCADE_NETS_POOL_H
#define SACCADE_NETS_POOL_H

#include "err.h"

#define SC_POOL_MAX 64  /* workers per pool */

#include <stddef.h>

typedef void (*sc_pool_fn)(void *arg, int k, int workers);
typedef struct sc_pool sc_pool;

/* A pool of `workers` (1..SC_POOL_MAX). Errors: SC_EARG (workers out of
 * range), SC_ENOMEM, SC_EIO (a mutex, condition variable or thread could not
 * be created; nothing is left running). */
int sc_pool_create(sc_pool **out, int workers, sc_err *err);
/* Runs fn(arg, k, W) on every worker and waits for all of them. p NULL: one
 * worker, the caller (fn(arg, 0, 1)). */
void sc_pool_run(sc_pool *p, sc_pool_fn fn, void *arg);
/* Worker k's slice [*lo, *hi) of n floats split over `workers`: slices start
 * at multiples of 16 (the vector width of nets/), the last ends at n. */
void sc_pool_slice(size_t n, int k, int workers, size_t *lo, size_t *hi);
int sc_pool_workers(const sc_pool *p);
/* Stops and joins the threads; accepts NULL. */
void sc_pool_free(sc_pool *p);

#endif
