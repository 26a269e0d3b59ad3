/* dist.h - one training run over several MPI ranks (`mpirun -np R saccade
 * train`): the communicator, the two collectives a spanning model needs
 * (agent/span.h) and the few agreements the trainer needs between ranks.
 *
 * The split: R ranks of T threads each are V = R T workers; rank r runs
 * workers r T .. r T + T - 1 (sc_ram_set_span). After a forward every
 * worker's rows are all-gathered; after a backward the V gradients are summed
 * in worker order by a chain: rank 0 adds its workers' gradients in order and
 * sends the partial sum to rank 1, which adds its own and passes it on (in
 * chunks, so the ranks work as a pipeline), and the last rank broadcasts the
 * total. The additions are the ones one process with V threads makes, in the
 * same order, so with T = 1 the run is bit for bit `train.threads = R`'s.
 *
 * Every MPI call's result is checked (MPI_ERRORS_RETURN on the communicator);
 * a failure leaves a message naming this rank and the peer, returned by
 * sc_dist_error. Rank 0 alone writes files; the trainer keeps every rank in
 * the same sequence of collectives.
 *
 * Built without MPI (SACCADE_HAVE_MPI undefined) only sc_dist_init exists in
 * earnest: it recognises being started by mpirun and refuses, so that R
 * copies of a training do not run side by side; the rest are stubs for a NULL
 * sc_dist.
 *
 * What it is not: a general MPI layer. One run, one communicator.
 */
#ifndef SACCADE_EXPERIMENTS_DIST_H
#define SACCADE_EXPERIMENTS_DIST_H

#include <stddef.h>

#include "agent/model.h"
#include "nets/err.h"

typedef struct sc_dist sc_dist;

/* Whether this process was started by mpirun: OMPI_COMM_WORLD_SIZE > 1 or
 * PMIX_RANK set. *ranks receives OMPI_COMM_WORLD_SIZE (0 when unknown). */
int sc_dist_launched(int *ranks);

/* Joins the job when started by mpirun (MPI_Init_thread, FUNNELED), else
 * sets *out = NULL (one process). Errors: SC_ESTATE when started by mpirun
 * but built without MPI (the message says so), SC_EIO when MPI fails. */
int sc_dist_init(sc_dist **out, int *argc, char ***argv, sc_err *err);

/* Ends the job: MPI_Finalize when rc is SC_OK or every rank failed together
 * (sc_dist_agree), else MPI_Abort, which ends the other ranks too (one that
 * failed alone would leave them waiting). Accepts NULL. */
void sc_dist_end(sc_dist *d, int rc);

int sc_dist_rank(const sc_dist *d);  /* 0 for NULL */
int sc_dist_size(const sc_dist *d);  /* 1 for NULL */

/* Makes m (after sc_model_set_threads(m, threads)) span the ranks: rank r
 * computes workers r threads .. of size() threads in all. Allocates the
 * chain's receive buffer (the parameter count). Errors: the model's (SC_EARG
 * for a kind that does not split batches), SC_ENOMEM. */
int sc_dist_span(sc_dist *d, sc_model *m, int threads, sc_err *err);

/* Every rank passes its rc; all return together. SC_OK when every rank had
 * SC_OK; else the first failing rank returns its rc with its message in err,
 * and the others their rc (SC_ESTATE if they had none) with an empty message:
 * one rank reports, once. */
int sc_dist_agree(sc_dist *d, int rc, sc_err *err);

/* *any = whether any rank's flag is set (MPI_MAX), so that every rank stops
 * at the same batch. NULL d: *any = flag. */
int sc_dist_any(sc_dist *d, int flag, int *any, sc_err *err);

/* The same string on every rank: rank 0's buf (n bytes) everywhere. */
int sc_dist_bcast_text(sc_dist *d, char *buf, size_t n, sc_err *err);

/* The first failure of a collective the model ran (its message into err,
 * returns its code), or SC_OK. rc_hint, when not SC_OK, is returned if no
 * collective failed. */
int sc_dist_error(const sc_dist *d, int rc_hint, sc_err *err);

/* Time spent in the collectives since the start: the gradient sum (the
 * chain and broadcast, waiting for the previous rank included) and the
 * forward's gather, seconds, and how many gradient sums were made. */
typedef struct sc_dist_times {
    double reduce_s, gather_s;
    long reductions, gathers;
} sc_dist_times;
void sc_dist_times_get(const sc_dist *d, sc_dist_times *t);

#endif
