/* dist.c - MPI data-parallel training (dist.h): the communicator, the span's
 * gather and ordered gradient sum, the trainer's agreements. Without MPI, the
 * refusal to run under mpirun and stubs.
 */
#include "dist.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sc_dist_launched(int *ranks) {
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    int n = size ? atoi(size) : 0;
    if (ranks) *ranks = n;
    return n > 1 || getenv("PMIX_RANK") != NULL;
}

#ifdef SACCADE_HAVE_MPI

#include <mpi.h>

#define CHAIN_CHUNK 16384  /* floats per message of the gradient chain */
#define TAG_CHAIN 17

struct sc_dist {
    MPI_Comm comm;
    int rank, size;
    float *recv;       /* the chain's partial sum (n floats), ranks > 0 */
    size_t n;
    sc_span span;
    sc_err fail;       /* the first failed collective's message */
    int failed_together;
    sc_dist_times t;
};

/* Checks an MPI call's result: on failure records (once) and returns SC_EIO. */
static int mpi_check(sc_dist *d, int mrc, const char *what, int peer) {
    if (mrc == MPI_SUCCESS) return SC_OK;
    if (d->fail.code == SC_OK) {
        char es[MPI_MAX_ERROR_STRING];
        int len = 0;
        if (MPI_Error_string(mrc, es, &len) != MPI_SUCCESS) snprintf(es, sizeof es, "MPI error %d", mrc);
        if (peer >= 0)
            sc_errf(&d->fail, SC_EIO, "rank %d: %s with rank %d failed: %s (did rank %d die?)", d->rank, what, peer,
                    es, peer);
        else
            sc_errf(&d->fail, SC_EIO, "rank %d: %s over %d ranks failed: %s (did a rank die?)", d->rank, what,
                    d->size, es);
    }
    return SC_EIO;
}

int sc_dist_init(sc_dist **out, int *argc, char ***argv, sc_err *err) {
    *out = NULL;
    if (!sc_dist_launched(NULL) && !getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMI_RANK")) return SC_OK;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return sc_errf(err, SC_EIO, "MPI_Init_thread failed: cannot join the mpirun job");
    sc_dist *d = calloc(1, sizeof *d);
    if (!d) {
        MPI_Abort(MPI_COMM_WORLD, 2);
        return sc_errf(err, SC_ENOMEM, "out of memory");
    }
    int rc = SC_OK;
    if (MPI_Comm_dup(MPI_COMM_WORLD, &d->comm) != MPI_SUCCESS ||
        MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN) != MPI_SUCCESS ||
        MPI_Comm_rank(d->comm, &d->rank) != MPI_SUCCESS || MPI_Comm_size(d->comm, &d->size) != MPI_SUCCESS)
        rc = sc_errf(err, SC_EIO, "cannot set up the MPI communicator");
    if (rc != SC_OK) {
        free(d);
        MPI_Abort(MPI_COMM_WORLD, 2);
        return rc;
    }
    *out = d;
    return SC_OK;
}

void sc_dist_end(sc_dist *d, int rc) {
    if (!d) return;
    if (rc != SC_OK && !d->failed_together) MPI_Abort(d->comm, 2);  /* does not return */
    MPI_Comm_free(&d->comm);
    free(d->recv);
    free(d);
    MPI_Finalize();
}

int sc_dist_rank(const sc_dist *d) { return d ? d->rank : 0; }
int sc_dist_size(const sc_dist *d) { return d ? d->size : 1; }

/* ---- the span's collectives (agent/span.h) ---------------------------------------- */

static int span_allgather(void *ctx, void *buf, size_t block) {
    sc_dist *d = ctx;
    double t0 = MPI_Wtime();
    const size_t per_rank = block * (size_t)(d->span.total / d->size);
    int rc = mpi_check(d, MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, (int)per_rank, MPI_BYTE, d->comm),
                       "MPI_Allgather of the workers' outputs", -1);
    d->t.gather_s += MPI_Wtime() - t0;
    d->t.gathers++;
    return rc;
}

static void add_into(float *s, const float *g, size_t n) {
    for (size_t i = 0; i < n; i++) s[i] += g[i];
}

/* S = ((g_0 + g_1) + ...) over the ranks' workers in order: rank r receives
 * the sum of workers 0 .. rT-1 from rank r-1 a chunk at a time, adds its own
 * T in order, passes it to rank r+1; the last rank broadcasts the total. */
static int span_ordered_sum(void *ctx, float *out, float *const *own, int nown, size_t n) {
    sc_dist *d = ctx;
    double t0 = MPI_Wtime();
    const int r = d->rank, R = d->size;
    float *S = r == 0 ? out : d->recv;
    if (r == 0 && own[0] && own[0] != out) memcpy(out, own[0], sizeof(float) * n);
    int rc = SC_OK;
    for (size_t c0 = 0; c0 < n && rc == SC_OK; c0 += CHAIN_CHUNK) {
        const int len = (int)(n - c0 < CHAIN_CHUNK ? n - c0 : CHAIN_CHUNK);
        if (r > 0)
            rc = mpi_check(d, MPI_Recv(S + c0, len, MPI_FLOAT, r - 1, TAG_CHAIN, d->comm, MPI_STATUS_IGNORE),
                           "MPI_Recv of the partial gradient sum", r - 1);
        for (int j = r == 0 ? 1 : 0; rc == SC_OK && j < nown; j++)
            if (own[j]) add_into(S + c0, own[j] + c0, (size_t)len);
        if (rc == SC_OK && r < R - 1)
            rc = mpi_check(d, MPI_Send(S + c0, len, MPI_FLOAT, r + 1, TAG_CHAIN, d->comm),
                           "MPI_Send of the partial gradient sum", r + 1);
    }
    for (size_t c0 = 0; c0 < n && rc == SC_OK && R > 1; c0 += (size_t)1 << 28) {
        const int len = (int)(n - c0 < ((size_t)1 << 28) ? n - c0 : ((size_t)1 << 28));
        rc = mpi_check(d, MPI_Bcast(S + c0, len, MPI_FLOAT, R - 1, d->comm), "MPI_Bcast of the gradient sum", R - 1);
    }
    if (rc == SC_OK && S != out) memcpy(out, S, sizeof(float) * n);
    d->t.reduce_s += MPI_Wtime() - t0;
    d->t.reductions++;
    return rc;
}

int sc_dist_span(sc_dist *d, sc_model *m, int threads, sc_err *err) {
    if (!d) return SC_OK;
    const size_t n = sc_model_params(m)->n;
    free(d->recv);
    d->recv = d->rank > 0 ? malloc(sizeof(float) * (n ? n : 1)) : NULL;
    if (d->rank > 0 && !d->recv)
        return sc_errf(err, SC_ENOMEM, "rank %d: out of memory for the gradient chain (%zu floats)", d->rank, n);
    d->n = n;
    d->span = (sc_span){d->size * threads, d->rank * threads, d, span_allgather, span_ordered_sum};
    int rc = sc_model_set_span(m, &d->span, err);
    return rc;
}

/* ---- agreements ------------------------------------------------------------------ */

int sc_dist_agree(sc_dist *d, int rc, sc_err *err) {
    if (!d) return rc;
    /* the first failing rank reports; the others (failed alike, or not) stay silent */
    int me = rc != SC_OK ? d->rank : INT_MAX, first = INT_MAX;
    int mrc = MPI_Allreduce(&me, &first, 1, MPI_INT, MPI_MIN, d->comm);
    if (mpi_check(d, mrc, "MPI_Allreduce of the ranks' start-up results", -1) != SC_OK)
        return sc_dist_error(d, SC_EIO, err);
    if (first == INT_MAX) return SC_OK;
    d->failed_together = 1;
    if (first == d->rank) return rc;
    if (err) {
        err->code = rc != SC_OK ? rc : SC_ESTATE;
        err->msg[0] = '\0';
    }
    return rc != SC_OK ? rc : SC_ESTATE;
}

int sc_dist_any(sc_dist *d, int flag, int *any, sc_err *err) {
    *any = flag != 0;
    if (!d) return SC_OK;
    int f = flag != 0;
    if (mpi_check(d, MPI_Allreduce(&f, any, 1, MPI_INT, MPI_MAX, d->comm), "MPI_Allreduce of the stop flag", -1) !=
        SC_OK)
        return sc_dist_error(d, SC_EIO, err);
    return SC_OK;
}

int sc_dist_bcast_text(sc_dist *d, char *buf, size_t n, sc_err *err) {
    if (!d) return SC_OK;
    if (mpi_check(d, MPI_Bcast(buf, (int)n, MPI_CHAR, 0, d->comm), "MPI_Bcast of the run's name", 0) != SC_OK)
        return sc_dist_error(d, SC_EIO, err);
    buf[n - 1] = '\0';
    return SC_OK;
}

int sc_dist_error(const sc_dist *d, int rc_hint, sc_err *err) {
    if (!d || d->fail.code == SC_OK) return rc_hint;
    if (err) *err = d->fail;
    return d->fail.code;
}

void sc_dist_times_get(const sc_dist *d, sc_dist_times *t) {
    if (d) *t = d->t;
    else memset(t, 0, sizeof *t);
}

#else /* !SACCADE_HAVE_MPI */

int sc_dist_init(sc_dist **out, int *argc, char ***argv, sc_err *err) {
    (void)argc;
    (void)argv;
    *out = NULL;
    int ranks = 0;
    if (!sc_dist_launched(&ranks)) return SC_OK;
    if (ranks > 1)
        return sc_errf(err, SC_ESTATE, "started by mpirun as one of %d ranks, but this saccade was built without MPI "
                       "(install libopenmpi-dev and rebuild, or run it without mpirun)", ranks);
    return sc_errf(err, SC_ESTATE, "started by mpirun, but this saccade was built without MPI (install "
                   "libopenmpi-dev and rebuild, or run it without mpirun)");
}

void sc_dist_end(sc_dist *d, int rc) { (void)d; (void)rc; }
int sc_dist_rank(const sc_dist *d) { (void)d; return 0; }
int sc_dist_size(const sc_dist *d) { (void)d; return 1; }
int sc_dist_span(sc_dist *d, sc_model *m, int threads, sc_err *err) { (void)d; (void)m; (void)threads; (void)err; return SC_OK; }
int sc_dist_agree(sc_dist *d, int rc, sc_err *err) { (void)d; (void)err; return rc; }
int sc_dist_any(sc_dist *d, int flag, int *any, sc_err *err) { (void)d; (void)err; *any = flag != 0; return SC_OK; }
int sc_dist_bcast_text(sc_dist *d, char *buf, size_t n, sc_err *err) { (void)d; (void)buf; (void)n; (void)err; return SC_OK; }
int sc_dist_error(const sc_dist *d, int rc_hint, sc_err *err) { (void)d; (void)err; return rc_hint; }
void sc_dist_times_get(const sc_dist *d, sc_dist_times *t) { (void)d; memset(t, 0, sizeof *t); }

#endif
