/* span.h - a batch split over several processes: the data-parallel workers
 * of one model copy are a contiguous range of "virtual workers" of a larger
 * split, and two collective operations, supplied by the caller, join the
 * copies after each pass.
 *
 * With V workers in all, worker k takes rows [B k / V, B (k+1) / V) of every
 * batch, exactly as sc_ram_set_workers's W threads do with V = W. A process
 * running W threads as workers first .. first + W - 1 computes those rows
 * only; the collectives then give every process what one process running V
 * threads would have:
 *   allgather    after a forward: every worker's packed outputs (its rows'
 *                predictions, losses, locations), so that statistics,
 *                predictions and the next step are the same everywhere;
 *   ordered_sum  after a backward: the sum of the V workers' gradients in
 *                worker order, ((g_0 + g_1) + g_2) + ..., which is the order
 *                the threads add them in, so that V = R W over R processes
 *                gives the bits V threads give.
 *
 * What it is not: a transport. agent/ knows no MPI; experiments/dist.c
 * implements the two operations over an MPI communicator. A collective
 * returns SC_OK or a negative SC_E* code (the caller's message is its own:
 * the model passes the code on).
 */
#ifndef SACCADE_AGENT_SPAN_H
#define SACCADE_AGENT_SPAN_H

#include <stddef.h>

typedef struct sc_span {
    int total;  /* V, the workers of all processes (>= this process's W) */
    int first;  /* this process's first worker; it runs first .. first + W - 1 */
    void *ctx;  /* passed to the operations */
    /* buf holds V blocks of `block` bytes in worker order; this process's W
     * blocks (at first * block) are filled on entry, all V on return. Every
     * process runs the same W. */
    int (*allgather)(void *ctx, void *buf, size_t block);
    /* own[j] (n floats, NULL for a worker with no rows) is worker first + j's
     * gradient, j < nown; own[0] may be `out`. On return out holds, on every
     * process, the sum over all V workers' gradients taken in worker order,
     * starting from worker 0's buffer (or zeros when worker 0 had no rows). */
    int (*ordered_sum)(void *ctx, float *out, float *const *own, int nown, size_t n);
} sc_span;

#endif
