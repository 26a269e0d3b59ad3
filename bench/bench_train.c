/* bench_train.c - training and inference speed of the shipped experiments.
 *
 * For each experiment file it runs the training step of experiments/train.c
 * (minibatch, canvases built from the bytes, forward, zero grad, backward,
 * clip, optimizer step) on the real data set, and prints:
 *   - training images/s with 1 and 2 threads;
 *   - achieved GFLOP/s = analytic training FLOPs per image x images/s, and that
 *     as a fraction of the "ceiling": the rate at which OpenBLAS runs this
 *     model's own matrix products in isolation (every sgemm of a training step
 *     at batch B whose dimensions are all >= 16, in the layouts the step uses,
 *     each timed alone; time = sum_i flops_i / rate_i) with one thread, and for
 *     two threads the better of OpenBLAS's two-thread rate and twice the
 *     one-thread rate (two single-threaded streams side by side);
 *   - inference images/s (M = 1, batch 1000, canvases built beforehand);
 *   - peak RSS of the training set-up and loop (before inference);
 *   - the split of one training step: retina, glimpse net, core, heads,
 *     backward (sc_ram_profile), optimizer (zero grad, clip, step) and data
 *     (batch indices, labels, canvases).
 * Each experiment runs in a child process (this program re-executed), so the
 * peak RSS is that experiment's alone.
 *
 *     bench_train [options] [CONFIG.ini ...]     (default: every experiments/ INI file)
 *       --time S        seconds of timed training per mode (default 2)
 *       --set k=v       a config override applied to every experiment
 *       --modes LIST    comma-separated: 1 (one thread), 2 (two OpenBLAS threads),
 *                       2dp (two workers, data-parallel over the batch) (default 1,2,2dp)
 *       --tsv FILE      also write the results as tab-separated values
 *       --workers N     with --dump: run the model with N data-parallel workers
 *       --dump-steps N  with --dump: training steps before the one written (default 20)
 *       --dump FILE     instead of benchmarking: train CONFIG 20 steps, then write
 *                       the weights, one batch, the sampled locations, the outputs
 *                       and the gradients of one step to FILE (HDF5) for
 *                       bench/ram_torch.py to check against PyTorch
 * Run from the repository's root (data paths in the configs are relative).
 * Not a test: it only measures.
 */
#include <cblas.h> /* first: openblas_config.h needs _GNU_SOURCE before any libc header */

#include <errno.h>
#include <glob.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/ram.h"
#include "env/canvas.h"
#include "env/dataset.h"
#include "experiments/config.h"
#include "experiments/train.h"
#include "nets/blas.h"
#include "nets/optim.h"

enum { NMODES_MAX = 3, NSPLIT = 7, MAX_SETS = 32, MAX_GEMMS = 64 };
static const char *SPLIT_NAMES[NSPLIT] = {"data", "retina", "glimpse", "core", "heads", "backward",
                                          "optim"};
static const char *MODE_NAMES[NMODES_MAX] = {"1", "2", "2dp"};

typedef struct options {
    double time_s;
    const char *sets[MAX_SETS];
    int nsets;
    int modes[NMODES_MAX], nmodes;
    const char *tsv;
    int workers, dump_steps;
} options;

/* What a child reports for one experiment. */
typedef struct result {
    int ok;
    char err[520];
    int B, T, side, nparams;
    double flops_img;                     /* analytic training FLOPs per image */
    double train_ips[NMODES_MAX];
    double train_cpu[NMODES_MAX];         /* images per CPU-second */
    double ceiling[NMODES_MAX];           /* GFLOP/s of the model's sgemms alone */
    double ceiling_cpu;                   /* the same, one thread, per CPU-second */
    double infer_ips[NMODES_MAX];
    double split[NMODES_MAX][NSPLIT];     /* seconds per step */
    double rss_mb;
} result;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the whole process (all threads): other load on the machine
 * disturbs it much less than the wall clock. */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- the model's matrix products ---------------------------------------------- */

/* One sgemm of a training step: C (M,N) += op(A) op(B) with inner dimension K,
 * in one of the three layouts of nets/layers.c, `count` times per step. */
typedef enum { FWD_NT = 0, DIN_NN = 1, DW_TN = 2 } layout;
typedef struct gemm {
    int M, N, K;
    layout lay;
    double count;
} gemm;

typedef struct gemm_list {
    gemm g[MAX_GEMMS];
    int n;
} gemm_list;

static void add_gemm(gemm_list *L, int M, int N, int K, layout lay, double count) {
    if (count <= 0) return;
    for (int i = 0; i < L->n; i++)
        if (L->g[i].M == M && L->g[i].N == N && L->g[i].K == K && L->g[i].lay == lay) {
            L->g[i].count += count;
            return;
        }
    if (L->n < MAX_GEMMS) L->g[L->n++] = (gemm){M, N, K, lay, count};
}

/* A linear layer IN -> OUT applied n times per step to a batch of B:
 * forward out = in w^T, and backward dw += dout^T in, din += dout w (if din). */
static void add_linear(gemm_list *L, int B, int IN, int OUT, double n, int din) {
    add_gemm(L, B, OUT, IN, FWD_NT, n);
    add_gemm(L, OUT, IN, B, DW_TN, n);
    if (din) add_gemm(L, B, IN, OUT, DIN_NN, n);
}

/* Every matrix product of one training step at batch B (the model's math as
 * agent/ram.h writes it: the recurrent product only from the second glimpse
 * on, no input gradient into the retina, the location or the detached h). */
static void model_gemms(gemm_list *L, const sc_ram_cfg *c, int B) {
    memset(L, 0, sizeof *L);
    const int T = c->glimpses, G = c->scales * c->glimpse_size * c->glimpse_size;
    const int HC = c->glimpse_hidden + c->loc_hidden, gates = c->core == SC_CORE_LSTM ? 4 * c->hidden : c->hidden;
    add_linear(L, B, G, c->glimpse_hidden, T, 0);
    add_linear(L, B, 2, c->loc_hidden, T, 0);
    add_linear(L, B, HC, c->glimpse_out, T, 1);
    add_linear(L, B, c->glimpse_out, gates, T, 1);
    add_linear(L, B, c->hidden, gates, T - 1, 1);
    if (c->reinforce && T > 1) {
        if (c->loc_mlp) {
            add_linear(L, B, c->hidden, c->loc_net_hidden, T - 1, 0);
            add_linear(L, B, c->loc_net_hidden, 2, T - 1, 1);
        } else {
            add_linear(L, B, c->hidden, 2, T - 1, 0);
        }
        if (c->baseline) add_linear(L, B, c->hidden, 1, T - 1, 0);
    }
    add_linear(L, B, c->hidden, c->num_classes, 1, 1);
}

static double gemm_flops(const gemm *g) { return 2.0 * g->M * (double)g->N * g->K; }

static void run_gemm(const gemm *g, const float *a, const float *b, float *c) {
    switch (g->lay) {
    case FWD_NT: /* (M,K) x (N,K)^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->M, g->N, g->K, 1.0f, a, g->K, b, g->K,
                    1.0f, c, g->N);
        break;
    case DIN_NN: /* (M,K) x (K,N) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->M, g->N, g->K, 1.0f, a, g->K, b, g->N,
                    1.0f, c, g->N);
        break;
    case DW_TN: /* (K,M)^T x (K,N) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g->M, g->N, g->K, 1.0f, a, g->M, b, g->N,
                    1.0f, c, g->N);
        break;
    }
}

/* Median GFLOP/s of one sgemm shape over 5 repetitions of ~10 ms, by `clock`
 * (now_s: wall; cpu_s: CPU time). */
static double time_gemm(const gemm *g, double (*clock)(void)) {
    size_t na = (size_t)g->M * g->K, nb = (size_t)g->K * g->N, nc = (size_t)g->M * g->N;
    float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c = calloc(nc, sizeof *c);
    if (!a || !b || !c) { free(a); free(b); free(c); return NAN; }
    for (size_t i = 0; i < na; i++) a[i] = (float)((i * 7919u) % 1000) * 1e-3f - 0.5f;
    for (size_t i = 0; i < nb; i++) b[i] = (float)((i * 104729u) % 1000) * 1e-3f - 0.5f;
    run_gemm(g, a, b, c);
    double t0 = clock();
    run_gemm(g, a, b, c);
    double one = clock() - t0;
    long calls = one > 0 ? (long)(0.01 / one) : 100;
    if (calls < 1) calls = 1;
    double r[5];
    for (int k = 0; k < 5; k++) {
        t0 = clock();
        for (long i = 0; i < calls; i++) run_gemm(g, a, b, c);
        r[k] = gemm_flops(g) * (double)calls / (clock() - t0) * 1e-9;
    }
    free(a); free(b); free(c);
    return median(r, 5);
}

/* Analytic training FLOPs per image (all products, tiny ones included). */
static double list_flops(const gemm_list *L, int B) {
    double f = 0.0;
    for (int i = 0; i < L->n; i++) f += gemm_flops(&L->g[i]) * L->g[i].count;
    return f / B;
}

/* FLOP-weighted rate of the products with every dimension >= 16. */
static double ceiling_gflops(const gemm_list *L, double (*clock)(void)) {
    double flops = 0.0, secs = 0.0;
    for (int i = 0; i < L->n; i++) {
        const gemm *g = &L->g[i];
        if (g->M < 16 || g->N < 16 || g->K < 16) continue;
        double f = gemm_flops(g) * g->count, rate = time_gemm(g, clock);
        flops += f;
        secs += f / (rate * 1e9);
    }
    return secs > 0 ? flops / secs * 1e-9 : NAN;
}

/* ---- one experiment --------------------------------------------------------------- */

typedef struct bench {
    sc_config c;
    sc_dataset ds;
    sc_canvas_cfg cc;
    sc_ram_cfg mc;
    sc_ram *model;
    sc_optim opt;
    sc_batcher batcher;
    float *canvas;
    int *idx, *labels;
    uint64_t *keys;
    int B, side, epoch;
    sc_rng rloc;
} bench;

static void bench_free(bench *b) {
    sc_dataset_free(&b->ds);
    sc_ram_free(b->model);
    sc_optim_free(&b->opt);
    sc_batcher_free(&b->batcher);
    free(b->canvas); free(b->idx); free(b->labels); free(b->keys);
}

static int load_cfg(sc_config *c, const char *path, const options *o, sc_err *err) {
    sc_config_defaults(c);
    int rc = sc_config_load(c, path, err);
    for (int i = 0; rc == SC_OK && i < o->nsets; i++) rc = sc_config_set(c, o->sets[i], err);
    if (rc == SC_OK) rc = sc_config_validate(c, err);
    return rc;
}

/* Everything experiments/train.c sets up before its loop. */
static int bench_setup(bench *b, const char *path, const options *o, int max_batch_min, sc_err *err) {
    memset(b, 0, sizeof *b);
    int rc;
    if ((rc = load_cfg(&b->c, path, o, err)) != SC_OK) return rc;
    const sc_config *c = &b->c;
    sc_data_spec spec;
    sc_config_data_spec(c, &spec);
    if ((rc = sc_dataset_open(&b->ds, &spec, c->val_size, c->seed, err)) != SC_OK) return rc;
    if (b->ds.train.h != b->ds.train.w || sc_images_channels(&b->ds.train) != 1)
        return sc_errf(err, SC_EARG, "bench_train: square grey images only (found %dx%dx%d)", b->ds.train.h,
                       b->ds.train.w, sc_images_channels(&b->ds.train));
    if (c->max_train > 0 && c->max_train < b->ds.n_train) b->ds.n_train = c->max_train;
    sc_canvas_cfg_from_config(&b->cc, c);
    if ((rc = sc_canvas_check(&b->cc, &b->ds.train, err)) != SC_OK) return rc;
    int H = 0;
    sc_canvas_dims(&b->cc, &b->ds.train, &H, &b->side);
    b->B = c->batch_size;
    int EB = b->B > max_batch_min ? b->B : max_batch_min;
    sc_ram_cfg_from_config(&b->mc, c, b->side, b->ds.num_classes, EB);
    if ((rc = sc_ram_create(&b->model, &b->mc, err)) != SC_OK) return rc;
    sc_rng rinit;
    sc_rng_derive(&rinit, c->seed, 1);
    sc_ram_init_params(b->model, &rinit);
    sc_params *ps = sc_ram_params(b->model);
    if ((rc = sc_optim_create(&b->opt, !strcmp(c->optimizer, "sgd") ? SC_OPT_SGD : SC_OPT_ADAM, ps->n, err)) != SC_OK)
        return rc;
    b->opt.momentum = c->momentum;
    b->opt.weight_decay = c->weight_decay;
    if ((rc = sc_batcher_init(&b->batcher, b->ds.train_idx, b->ds.n_train, b->B, 1, c->seed, err)) != SC_OK)
        return rc;
    b->canvas = malloc(sizeof(float) * EB * b->side * b->side);
    b->idx = malloc(sizeof(int) * EB);
    b->labels = malloc(sizeof(int) * EB);
    b->keys = malloc(sizeof(uint64_t) * EB);
    if (!b->canvas || !b->idx || !b->labels || !b->keys)
        return sc_errf(err, SC_ENOMEM, "bench: out of memory for batch buffers");
    sc_rng_derive(&b->rloc, c->seed, 3);
    b->epoch = 1;
    sc_batcher_epoch(&b->batcher, b->epoch);
    return SC_OK;
}

/* One training step of experiments/train.c; t[] (may be NULL) gets the data
 * time added to t[0] and the optimizer's (zero grad, clip, step) to t[6]. */
static void train_step(bench *b, double *t) {
    const sc_config *c = &b->c;
    double t0 = t ? now_s() : 0.0;
    int n = sc_batcher_next(&b->batcher, b->idx);
    if (n < b->B) { /* keep batches full: start the next epoch */
        sc_batcher_epoch(&b->batcher, ++b->epoch);
        n = sc_batcher_next(&b->batcher, b->idx);
    }
    for (int i = 0; i < n; i++) {
        b->labels[i] = b->ds.train.labels[b->idx[i]];
        b->keys[i] = sc_canvas_key(0, b->epoch, b->idx[i]);
    }
    sc_canvas_build(b->canvas, NULL, &b->cc, &b->ds.train, b->idx, b->keys, n, b->ds.train_idx,
                    b->ds.n_train, c->seed);
    double t1 = t ? now_s() : 0.0;
    sc_model_stats st;
    sc_params *ps = sc_ram_params(b->model);
    sc_ram_forward(b->model, b->canvas, b->labels, n, c->loc_std, &b->rloc, NULL, &st);
    double t2 = t ? now_s() : 0.0;
    sc_params_zero_grad(ps);
    double t3 = t ? now_s() : 0.0;
    sc_ram_backward(b->model, b->labels, n, c->loc_std);
    double t4 = t ? now_s() : 0.0;
    sc_clip_grad_norm(ps->grad, ps->n, c->clip);
    sc_optim_step(&b->opt, ps->data, ps->grad, c->lr);
    if (t) {
        t[0] += t1 - t0;
        t[6] += (t3 - t2) + (now_s() - t4);
    }
}

/* Mode 0: one thread; 1: two OpenBLAS threads; 2: two data-parallel workers
 * (sc_ram_set_workers), each calling single-threaded OpenBLAS. */
static int set_mode(sc_ram *m, int mode, sc_err *err) {
    sc_blas_set_threads(mode == 1 ? 2 : 1);
    return sc_ram_set_workers(m, mode == 2 ? 2 : 1, err);
}

/* Images/s over 5 timed chunks of about time_s/5 seconds (median), wall clock;
 * *per_cpu gets images per second of CPU time used by the process (median),
 * which other load on the machine disturbs much less. */
static double time_training(bench *b, double time_s, double *per_cpu) {
    for (int i = 0; i < 3; i++) train_step(b, NULL);
    double t0 = now_s();
    train_step(b, NULL);
    double one = now_s() - t0;
    const int chunks = 5;
    int steps = (int)(time_s / chunks / (one > 1e-6 ? one : 1e-6));
    if (steps < 2) steps = 2;
    double r[5], rc[5];
    for (int k = 0; k < chunks; k++) {
        t0 = now_s();
        double c0 = cpu_s();
        for (int i = 0; i < steps; i++) train_step(b, NULL);
        r[k] = (double)steps * b->B / (now_s() - t0);
        rc[k] = (double)steps * b->B / (cpu_s() - c0);
    }
    *per_cpu = median(rc, chunks);
    return median(r, chunks);
}

static void profile_training(bench *b, double time_s, double *split) {
    sc_ram_prof prof;
    memset(&prof, 0, sizeof prof);
    double t[NSPLIT] = {0};
    sc_ram_profile(b->model, &prof);
    double t0 = now_s();
    int steps = 0;
    while (steps < 3 || now_s() - t0 < time_s) {
        train_step(b, t);
        steps++;
    }
    sc_ram_profile(b->model, NULL);
    split[0] = t[0] / steps;
    split[1] = prof.retina / steps;
    split[2] = prof.glimpse / steps;
    split[3] = prof.core / steps;
    split[4] = prof.heads / steps;
    split[5] = prof.backward / steps;
    split[6] = t[6] / steps;
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* Inference images/s: M = 1, batch NB test canvases built beforehand. */
static int time_inference(const bench *b, const options *o, const int *modes, int nmodes, double *ips,
                          sc_err *err) {
    const int NB = 1000;
    sc_ram_cfg mc = b->mc;
    mc.max_batch = NB;
    sc_ram *m = NULL;
    int rc = sc_ram_create(&m, &mc, err);
    if (rc != SC_OK) return rc;
    sc_params *dst = sc_ram_params(m);
    const sc_params *src = sc_ram_params(b->model);
    memcpy(dst->data, src->data, sizeof(float) * src->n);
    int n = b->ds.n_test < NB ? b->ds.n_test : NB;
    float *x = malloc(sizeof(float) * (size_t)n * b->side * b->side);
    float *logp = malloc(sizeof(float) * (size_t)n * mc.num_classes);
    int *idx = malloc(sizeof(int) * n), *labels = malloc(sizeof(int) * n), *pred = malloc(sizeof(int) * n);
    uint64_t *keys = malloc(sizeof(uint64_t) * n);
    if (!x || !logp || !idx || !labels || !pred || !keys) {
        rc = sc_errf(err, SC_ENOMEM, "bench: out of memory for inference buffers");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        idx[i] = b->ds.test_idx[i];
        labels[i] = b->ds.test.labels[idx[i]];
        keys[i] = sc_canvas_key(2, 0, idx[i]);
    }
    sc_canvas_build(x, NULL, &b->cc, &b->ds.test, idx, keys, n, b->ds.test_idx, b->ds.n_test, b->c.seed);
    sc_rng r;
    sc_rng_derive(&r, b->c.seed, 4);
    for (int k = 0; k < nmodes; k++) {
        if ((rc = set_mode(m, modes[k], err)) != SC_OK) goto done;
        sc_ram_predict(m, x, labels, n, 1, b->c.loc_std, &r, logp, pred);
        double t0 = now_s();
        sc_ram_predict(m, x, labels, n, 1, b->c.loc_std, &r, logp, pred);
        double one = now_s() - t0;
        int reps = (int)(o->time_s / 5 / (one > 1e-6 ? one : 1e-6));
        if (reps < 1) reps = 1;
        double v[5];
        for (int c = 0; c < 5; c++) {
            t0 = now_s();
            for (int i = 0; i < reps; i++) sc_ram_predict(m, x, labels, n, 1, b->c.loc_std, &r, logp, pred);
            v[c] = (double)reps * n / (now_s() - t0);
        }
        ips[modes[k]] = median(v, 5);
    }
done:
    free(x); free(logp); free(idx); free(labels); free(pred); free(keys);
    sc_ram_free(m);
    return rc;
}

static void run_child(const char *path, const options *o, result *res) {
    memset(res, 0, sizeof *res);
    sc_err err = {0};
    bench b;
    int rc = bench_setup(&b, path, o, 500, &err);
    if (rc != SC_OK) {
        snprintf(res->err, sizeof res->err, "%s", err.msg[0] ? err.msg : sc_strerror(rc));
        bench_free(&b);
        return;
    }
    res->B = b.B;
    res->T = b.mc.glimpses;
    res->side = b.side;
    res->nparams = (int)sc_params_count(sc_ram_params(b.model));
    gemm_list L;
    model_gemms(&L, &b.mc, b.B);
    res->flops_img = list_flops(&L, b.B);
    for (int k = 0; k < o->nmodes; k++) {
        int mode = o->modes[k];
        if ((rc = set_mode(b.model, mode, &err)) != SC_OK) {
            snprintf(res->err, sizeof res->err, "%s", err.msg);
            bench_free(&b);
            return;
        }
        res->train_ips[mode] = time_training(&b, o->time_s, &res->train_cpu[mode]);
        profile_training(&b, o->time_s / 2, res->split[mode]);
    }
    res->rss_mb = peak_rss_mb();
    /* ceilings, after the timings (OpenBLAS's threads keep spinning for a while
     * after a threaded call): one thread; two threads = the better of OpenBLAS's
     * own two-thread sgemm and two single-threaded ones side by side (twice one) */
    sc_blas_set_threads(1);
    double c1 = ceiling_gflops(&L, now_s);
    res->ceiling_cpu = ceiling_gflops(&L, cpu_s);
    sc_blas_set_threads(2);
    double c2 = ceiling_gflops(&L, now_s);
    c2 = c2 > 2.0 * c1 ? c2 : 2.0 * c1;
    for (int k = 0; k < o->nmodes; k++) res->ceiling[o->modes[k]] = o->modes[k] == 0 ? c1 : c2;
    rc = time_inference(&b, o, o->modes, o->nmodes, res->infer_ips, &err);
    if (rc != SC_OK) {
        snprintf(res->err, sizeof res->err, "%s", err.msg[0] ? err.msg : sc_strerror(rc));
        bench_free(&b);
        return;
    }
    res->ok = 1;
    bench_free(&b);
}

/* ---- the parent: spawn children, print tables ------------------------------------- */

static int spawn_child(char **argv0, const char *path, const options *o, result *res) {
    int fd[2];
    memset(res, 0, sizeof *res);
    if (pipe(fd) != 0) {
        snprintf(res->err, sizeof res->err, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(res->err, sizeof res->err, "fork: %s", strerror(errno));
        close(fd[0]); close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        char fdbuf[16], tbuf[32], mbuf[32] = "";
        snprintf(fdbuf, sizeof fdbuf, "%d", fd[1]);
        snprintf(tbuf, sizeof tbuf, "%g", o->time_s);
        for (int k = 0; k < o->nmodes; k++) {
            strcat(mbuf, k ? "," : "");
            strcat(mbuf, MODE_NAMES[o->modes[k]]);
        }
        char *args[8 + 2 * MAX_SETS];
        int a = 0;
        args[a++] = argv0[0];
        args[a++] = "--child-fd"; args[a++] = fdbuf;
        args[a++] = "--time"; args[a++] = tbuf;
        args[a++] = "--modes"; args[a++] = mbuf;
        for (int i = 0; i < o->nsets; i++) { args[a++] = "--set"; args[a++] = (char *)o->sets[i]; }
        args[a++] = (char *)path;
        args[a] = NULL;
        execv("/proc/self/exe", args);
        _exit(127);
    }
    close(fd[1]);
    size_t got = 0;
    while (got < sizeof *res) {
        ssize_t k = read(fd[0], (char *)res + got, sizeof *res - got);
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != sizeof *res) {
        memset(res, 0, sizeof *res);
        snprintf(res->err, sizeof res->err, "child failed (status %d)", status);
        return -1;
    }
    return res->ok ? 0 : -1;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void print_machine(void) {
    char model[128] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10)) {
                char *p = strchr(line, ':');
                if (p) {
                    snprintf(model, sizeof model, "%s", p + 2);
                    model[strcspn(model, "\n")] = 0;
                }
                break;
            }
        fclose(f);
    }
    double load[3] = {0};
    getloadavg(load, 3);
    const char *how = !getenv("OPENBLAS_CORETYPE") ? "chosen by OpenBLAS"
                      : getenv("SACCADE_BLAS_REEXEC") ? "OPENBLAS_CORETYPE set by the restart"
                                                       : "OPENBLAS_CORETYPE set by the user";
    printf("# machine: %s, %ld cores; load average %.2f %.2f %.2f\n", model, sysconf(_SC_NPROCESSORS_ONLN),
           load[0], load[1], load[2]);
    printf("# %s (%s)\n", sc_blas_config(), how);
}

/* The machine's ceiling: sgemm as sc_linear_forward calls it. */
static void print_sgemm_table(FILE *tsv) {
    static const int SH[][3] = {{128, 64, 128}, {128, 256, 256}, {128, 512, 256}, {1024, 1024, 1024}};
    printf("\n## sgemm (out = in w^T, GFLOP/s, median of 5 x 10 ms)\n\n");
    printf("| B | IN | OUT | 1 thread | 2 threads |\n|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < sizeof SH / sizeof SH[0]; i++) {
        gemm g = {SH[i][0], SH[i][2], SH[i][1], FWD_NT, 1};
        double r[2];
        for (int t = 0; t < 2; t++) {
            sc_blas_set_threads(t + 1);
            r[t] = time_gemm(&g, now_s);
        }
        printf("| %d | %d | %d | %.1f | %.1f |\n", SH[i][0], SH[i][1], SH[i][2], r[0], r[1]);
        if (tsv) fprintf(tsv, "sgemm\t%dx%dx%d\t%.2f\t%.2f\n", SH[i][0], SH[i][1], SH[i][2], r[0], r[1]);
        fflush(stdout);
    }
}

static int parse_modes(options *o, const char *s) {
    o->nmodes = 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int m = -1;
        for (int k = 0; k < NMODES_MAX; k++)
            if (!strcmp(tok, MODE_NAMES[k])) m = k;
        if (m < 0 || o->nmodes >= NMODES_MAX) return -1;
        o->modes[o->nmodes++] = m;
    }
    return o->nmodes > 0 ? 0 : -1;
}

int bench_dump(const char *file, const char *path, const options *o, sc_err *err);

int main(int argc, char **argv) {
    sc_blas_ensure_kernels(argv);
    options o;
    memset(&o, 0, sizeof o);
    o.time_s = 2.0;
    o.dump_steps = 20;
    parse_modes(&o, "1,2,2dp");
    int child_fd = -1;
    const char *dump = NULL;
    const char *configs[64];
    int ncfg = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--time") && more) {
            o.time_s = atof(argv[++i]);
            if (!(o.time_s > 0 && o.time_s < 1000)) { fprintf(stderr, "bench_train: bad --time\n"); return 2; }
        } else if (!strcmp(a, "--set") && more && o.nsets < MAX_SETS) {
            o.sets[o.nsets++] = argv[++i];
        } else if (!strcmp(a, "--modes") && more) {
            if (parse_modes(&o, argv[++i]) != 0) {
                fprintf(stderr, "bench_train: --modes takes a list of 1, 2, 2dp\n");
                return 2;
            }
        } else if (!strcmp(a, "--tsv") && more) {
            o.tsv = argv[++i];
        } else if (!strcmp(a, "--dump-steps") && more) {
            o.dump_steps = atoi(argv[++i]);
        } else if (!strcmp(a, "--workers") && more) {
            o.workers = atoi(argv[++i]);
        } else if (!strcmp(a, "--dump") && more) {
            dump = argv[++i];
        } else if (!strcmp(a, "--child-fd") && more) {
            child_fd = atoi(argv[++i]);
        } else if (a[0] == '-') {
            fprintf(stderr, "bench_train: unknown option %s (see the comment at the top of bench/bench_train.c)\n", a);
            return 2;
        } else if (ncfg < 64) {
            configs[ncfg++] = a;
        }
    }

    if (child_fd >= 0) {
        result res;
        run_child(ncfg ? configs[0] : "", &o, &res);
        ssize_t w = write(child_fd, &res, sizeof res);
        return w == (ssize_t)sizeof res && res.ok ? 0 : 1;
    }
    if (dump) {
        if (ncfg != 1) { fprintf(stderr, "bench_train: --dump FILE takes one CONFIG\n"); return 2; }
        sc_err err = {0};
        if (bench_dump(dump, configs[0], &o, &err) != SC_OK) {
            fprintf(stderr, "bench_train: %s\n", err.msg);
            return 1;
        }
        return 0;
    }

    glob_t gl;
    memset(&gl, 0, sizeof gl);
    if (ncfg == 0) {
        if (glob("experiments/*.ini", 0, NULL, &gl) != 0 || gl.gl_pathc == 0) {
            fprintf(stderr, "bench_train: no experiments/*.ini here: run from the repository's root\n");
            return 1;
        }
        for (size_t i = 0; i < gl.gl_pathc && ncfg < 64; i++) configs[ncfg++] = gl.gl_pathv[i];
    }
    FILE *tsv = NULL;
    if (o.tsv && !(tsv = fopen(o.tsv, "w"))) {
        fprintf(stderr, "bench_train: cannot write %s: %s\n", o.tsv, strerror(errno));
        return 1;
    }
    print_machine();
    print_sgemm_table(tsv);

    result res[64];
    int status = 0;
    for (int i = 0; i < ncfg; i++)
        if (spawn_child(argv, configs[i], &o, &res[i]) != 0) {
            fprintf(stderr, "bench_train: %s: %s\n", configs[i], res[i].err);
            status = 1;
        }

    printf("\n## experiments (training FLOPs: every matrix product of forward and backward, analytic)\n\n");
    printf("| experiment | canvas | glimpses | parameters | MFLOP per training image | batch | peak RSS MB (training) |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < ncfg; i++)
        if (res[i].ok)
            printf("| %s | %dx%d | %d | %d | %.2f | %d | %.0f |\n", base_name(configs[i]), res[i].side, res[i].side,
                   res[i].T, res[i].nparams, res[i].flops_img * 1e-6, res[i].B, res[i].rss_mb);
    printf("\n## speed (threads: 1; 2 = two OpenBLAS threads; 2dp = two data-parallel workers, one OpenBLAS thread each)\n\n");
    printf("GFLOP/s = MFLOP per image x images/s. Ceiling = OpenBLAS running this model's own sgemms alone (at 2 threads\n"
           "the better of its 2-thread sgemm and twice 1 thread). The per-CPU-second columns divide by the CPU time the\n"
           "process used instead of the wall clock, against the 1-thread ceiling in CPU time: other load on the machine\n"
           "hardly moves them.\n\n");
    printf("| experiment | threads | train img/s | GFLOP/s | ceiling GFLOP/s | of ceiling | train img per CPU-s | of ceiling per CPU-s | inference img/s (M=1, batch 1000) |\n");
    printf("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < ncfg; i++) {
        if (!res[i].ok) continue;
        const result *r = &res[i];
        for (int k = 0; k < o.nmodes; k++) {
            int m = o.modes[k];
            double gf = r->flops_img * r->train_ips[m] * 1e-9, gfc = r->flops_img * r->train_cpu[m] * 1e-9;
            printf("| %s | %s | %.0f | %.1f | %.1f | %.0f%% | %.0f | %.0f%% | %.0f |\n", base_name(configs[i]),
                   MODE_NAMES[m], r->train_ips[m], gf, r->ceiling[m], 100.0 * gf / r->ceiling[m], r->train_cpu[m],
                   100.0 * gfc / r->ceiling_cpu, r->infer_ips[m]);
            if (tsv)
                fprintf(tsv, "train\t%s\t%s\t%.1f\t%.3f\t%.3f\t%.1f\t%.1f\t%.4f\t%.1f\t%.3f\n", base_name(configs[i]),
                        MODE_NAMES[m], r->train_ips[m], gf, r->ceiling[m], r->infer_ips[m], r->rss_mb,
                        r->flops_img * 1e-6, r->train_cpu[m], r->ceiling_cpu);
        }
    }
    printf("\n## one training step (ms per step of batch B; share of the step)\n\n");
    printf("| experiment | threads |");
    for (int s = 0; s < NSPLIT; s++) printf(" %s |", SPLIT_NAMES[s]);
    printf(" total |\n|---|---|");
    for (int s = 0; s <= NSPLIT; s++) printf("---:|");
    printf("\n");
    for (int i = 0; i < ncfg; i++) {
        if (!res[i].ok) continue;
        for (int k = 0; k < o.nmodes; k++) {
            int m = o.modes[k];
            const double *sp = res[i].split[m];
            double tot = 0.0;
            for (int s = 0; s < NSPLIT; s++) tot += sp[s];
            printf("| %s | %s |", base_name(configs[i]), MODE_NAMES[m]);
            for (int s = 0; s < NSPLIT; s++) printf(" %.2f (%.0f%%) |", 1e3 * sp[s], 100.0 * sp[s] / tot);
            printf(" %.2f |\n", 1e3 * tot);
            if (tsv) {
                fprintf(tsv, "split\t%s\t%s", base_name(configs[i]), MODE_NAMES[m]);
                for (int s = 0; s < NSPLIT; s++) fprintf(tsv, "\t%.6f", sp[s]);
                fprintf(tsv, "\n");
            }
        }
    }
    double load[3] = {0};
    getloadavg(load, 3);
    printf("\n# load average at the end %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    if (tsv) fclose(tsv);
    globfree(&gl);
    return status;
}

/* ---- --dump: one step's inputs, outputs and gradients for bench/ram_torch.py ------ */

/* Writes a float32 or int32 dataset `name` (intermediate groups created). */
static int h5_write(hid_t f, const char *name, hid_t type, const void *data, int rank, const hsize_t *dims) {
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl < 0) return -1;
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t ds = sp < 0 ? -1 : H5Dcreate2(f, name, type, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = ds < 0 ? -1 : H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (ds >= 0) H5Dclose(ds);
    if (sp >= 0) H5Sclose(sp);
    H5Pclose(lcpl);
    return w < 0 ? -1 : 0;
}

static int h5_attr(hid_t f, const char *name, double v) {
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = sp < 0 ? -1 : H5Acreate2(f, name, H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_DOUBLE, &v);
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    return w < 0 ? -1 : 0;
}

int bench_dump(const char *file, const char *path, const options *o, sc_err *err) {
    bench b;
    int rc = bench_setup(&b, path, o, 0, err);
    if (rc != SC_OK) { bench_free(&b); return rc; }
    if (o->workers > 1) {
        sc_blas_set_threads(1);
        if ((rc = sc_ram_set_workers(b.model, o->workers, err)) != SC_OK) { bench_free(&b); return rc; }
    }
    /* a few real steps first, so rewards, the baseline and the policy are not at their initial values */
    for (int i = 0; i < o->dump_steps; i++) train_step(&b, NULL);
    const int B = b.B, T = b.mc.glimpses, C = b.mc.num_classes, S = b.side;
    int n = sc_batcher_next(&b.batcher, b.idx);
    if (n < B) {
        sc_batcher_epoch(&b.batcher, ++b.epoch);
        n = sc_batcher_next(&b.batcher, b.idx);
    }
    for (int i = 0; i < n; i++) {
        b.labels[i] = b.ds.train.labels[b.idx[i]];
        b.keys[i] = sc_canvas_key(0, b.epoch, b.idx[i]);
    }
    sc_canvas_build(b.canvas, NULL, &b.cc, &b.ds.train, b.idx, b.keys, n, b.ds.train_idx, b.ds.n_train, b.c.seed);
    /* sample locations with the policy, then replay them as fixed_loc */
    sc_model_stats st;
    sc_ram_forward(b.model, b.canvas, b.labels, B, b.c.loc_std, &b.rloc, NULL, &st);
    float *fixed = malloc(sizeof(float) * (size_t)T * B * 2);
    if (!fixed) { bench_free(&b); return sc_errf(err, SC_ENOMEM, "bench: out of memory"); }
    memcpy(fixed, sc_ram_samples(b.model), sizeof(float) * (size_t)T * B * 2); /* max_batch == B */
    sc_params *ps = sc_ram_params(b.model);
    sc_ram_forward(b.model, b.canvas, b.labels, B, b.c.loc_std, &b.rloc, fixed, &st);
    sc_params_zero_grad(ps);
    sc_ram_backward(b.model, b.labels, B, b.c.loc_std);

    hid_t f = H5Fcreate(file, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        free(fixed);
        bench_free(&b);
        return sc_errf(err, SC_EIO, "bench: cannot create %s", file);
    }
    const sc_ram_cfg *mc = &b.mc;
    int bad = 0;
    bad |= h5_attr(f, "batch", B) | h5_attr(f, "side", S) | h5_attr(f, "classes", C);
    bad |= h5_attr(f, "glimpses", T) | h5_attr(f, "glimpse_size", mc->glimpse_size) | h5_attr(f, "scales", mc->scales);
    bad |= h5_attr(f, "glimpse_hidden", mc->glimpse_hidden) | h5_attr(f, "loc_hidden", mc->loc_hidden);
    bad |= h5_attr(f, "glimpse_out", mc->glimpse_out) | h5_attr(f, "hidden", mc->hidden);
    bad |= h5_attr(f, "lstm", mc->core == SC_CORE_LSTM) | h5_attr(f, "loc_mlp", mc->loc_mlp);
    bad |= h5_attr(f, "loc_net_hidden", mc->loc_net_hidden) | h5_attr(f, "baseline", mc->baseline);
    bad |= h5_attr(f, "reinforce", mc->reinforce) | h5_attr(f, "reinforce_weight", mc->reinforce_weight);
    bad |= h5_attr(f, "std", b.c.loc_std) | h5_attr(f, "xent", st.xent) | h5_attr(f, "reinforce_loss", st.reinforce);
    bad |= h5_attr(f, "baseline_mse", st.baseline_mse) | h5_attr(f, "reward", st.reward);
    hsize_t dx[3] = {(hsize_t)B, (hsize_t)S, (hsize_t)S}, dl[1] = {(hsize_t)B};
    hsize_t dloc[3] = {(hsize_t)T, (hsize_t)B, 2}, dlp[2] = {(hsize_t)B, (hsize_t)C};
    bad |= h5_write(f, "x", H5T_NATIVE_FLOAT, b.canvas, 3, dx);
    bad |= h5_write(f, "labels", H5T_NATIVE_INT, b.labels, 1, dl);
    bad |= h5_write(f, "fixed_loc", H5T_NATIVE_FLOAT, fixed, 3, dloc);
    bad |= h5_write(f, "out/logp", H5T_NATIVE_FLOAT, sc_ram_logp(b.model), 2, dlp);
    bad |= h5_write(f, "out/loc", H5T_NATIVE_FLOAT, sc_ram_locations(b.model), 3, dloc);
    for (int i = 0; i < ps->count; i++) {
        char name[96];
        hsize_t d[2] = {(hsize_t)ps->p[i].rows, (hsize_t)ps->p[i].cols};
        snprintf(name, sizeof name, "params/%s", ps->p[i].name);
        bad |= h5_write(f, name, H5T_NATIVE_FLOAT, sc_params_data(ps, i), 2, d);
        snprintf(name, sizeof name, "grads/%s", ps->p[i].name);
        bad |= h5_write(f, name, H5T_NATIVE_FLOAT, sc_params_grad(ps, i), 2, d);
    }
    bad |= H5Fclose(f) < 0;
    free(fixed);
    bench_free(&b);
    if (bad) return sc_errf(err, SC_EIO, "bench: writing %s failed", file);
    printf("wrote %s: %s, batch %d, xent %.6f, reinforce %.6f, baseline mse %.6f, reward %.4f\n", file, path, B,
           st.xent, st.reinforce, st.baseline_mse, st.reward);
    return SC_OK;
}
