/* bench_train.c - training and inference speed of the shipped experiments.
 *
 * For each experiment file it builds the model of its [model] kind (ram, soft,
 * fc, selfattn) through the model interface (agent/model.h), as `saccade
 * train` does, runs the training step of experiments/train.c (minibatch,
 * canvases built from the bytes, forward, zero grad, backward, clip,
 * optimizer step) on the real data set, and prints:
 *   - training images/s in three modes: one thread; one worker with OpenBLAS
 *     at two threads; sc_model_set_threads(m, 2), the model's own way of using
 *     two threads (the RAM: two data-parallel workers with OpenBLAS at one
 *     thread each; a kind without workers: OpenBLAS at two threads, as the
 *     second mode; the row says how many workers and OpenBLAS threads ran);
 *   - achieved GFLOP/s = training FLOPs per image (sc_model_cost, the figure
 *     `saccade train` prints) x images/s, and that as a fraction of
 *       - the "ceiling": the rate at which OpenBLAS runs this model's own
 *         matrix products in isolation (every sgemm of a training step at
 *         batch B whose dimensions are all >= 16, in the layouts and strides
 *         the step uses, each timed alone; time = sum_i flops_i / rate_i),
 *         with one thread, and for two threads the better of OpenBLAS's
 *         two-thread rate and twice the one-thread rate (two single-threaded
 *         streams side by side);
 *       - the 1024^3 sgemm rate at the mode's threads (one thread; for two,
 *         the better of OpenBLAS's two-thread rate and twice one thread);
 *   - inference images/s (M = 1, canvases built beforehand, batch 1000, or
 *     for a kind that needs much memory per image (SC_KIND_WIDE) the largest
 *     batch the trainer gives it, sc_model_batch);
 *   - peak RSS of the training set-up and loop (before inference);
 *   - the split of one training step: data (batch indices, labels,
 *     canvases), forward, backward, optimizer (zero grad, clip, step), timed
 *     around the sc_model calls; for the RAM also its forward in parts
 *     (retina, glimpse net, core, heads: sc_ram_profile, worker 0's time).
 * Each experiment runs in a child process (this program re-executed), so the
 * peak RSS is that experiment's alone.
 *
 *     bench_train [options] [CONFIG.ini ...]     (default: every experiments/ INI file)
 *       --time S        seconds of timed training per mode (default 2)
 *       --set k=v       a config override applied to every experiment
 *       --modes LIST    comma-separated: 1 (one thread), 2 (two OpenBLAS threads),
 *                       2dp (sc_model_set_threads(m, 2): data-parallel workers where
 *                       the kind has them) (default 1,2,2dp)
 *       --tsv FILE      also write the results as tab-separated values
 *       --workers N     with --dump: run the model with N data-parallel workers
 *       --dump-steps N  with --dump: training steps before the one written (default 20)
 *       --dump FILE     instead of benchmarking: train CONFIG (kind ram only) 20 steps,
 *                       then write the weights, one batch, the sampled locations, the
 *                       outputs and the gradients of one step to FILE (HDF5) for
 *                       bench/ram_torch.py to check against PyTorch
 * TSV rows: "sgemm SHAPE gflops_1t gflops_2t"; "train CONFIG MODE img/s GFLOP/s
 * ceiling inference_img/s rss_MB MFLOP/img img/CPU-s ceiling_CPU kind workers
 * inference_batch of_1024_sgemm blas_threads" (bench/ram_torch.py's table
 * reads columns 2-10 by position: new ones go at the end); "split CONFIG MODE
 * data forward retina glimpse core heads backward optim" (seconds per step,
 * nan where not measured).
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

#include "agent/kind.h"
#include "agent/model.h"
#include "agent/ram.h"
#include "env/canvas.h"
#include "env/dataset.h"
#include "experiments/config.h"
#include "experiments/train.h"
#include "nets/blas.h"
#include "nets/optim.h"
#include "nets/pool.h"

enum { NMODES_MAX = 3, MAX_SETS = 32, MAX_GEMMS = 64, INFER_BATCH = 1000 };
static const char *MODE_NAMES[NMODES_MAX] = {"1", "2", "2dp"};

/* The split of a step: data, forward, backward and optim add up to the step;
 * retina .. heads are the RAM's forward in parts (inside forward, NaN for
 * the other kinds). */
enum { SP_DATA, SP_FORWARD, SP_RETINA, SP_GLIMPSE, SP_CORE, SP_HEADS, SP_BACKWARD, SP_OPTIM, NSPLIT };
static const char *SPLIT_NAMES[NSPLIT] = {"data", "forward", "retina", "glimpse", "core", "heads", "backward",
                                          "optim"};
static int split_in_total(int s) { return s == SP_DATA || s == SP_FORWARD || s == SP_BACKWARD || s == SP_OPTIM; }

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
    char kind[16], model[96], looks[96];  /* the kind's name and describe row */
    int B, H, W, nparams, infer_batch;
    int workers[NMODES_MAX];              /* sc_model_describe(m)->workers in each mode */
    int blas[NMODES_MAX];                 /* OpenBLAS's threads in each mode (sc_blas_get_threads) */
    double flops_img;                     /* training FLOPs per image, sc_model_cost */
    double gemm_share;                    /* the part of them in the ceiling's sgemms */
    double train_ips[NMODES_MAX];
    double train_cpu[NMODES_MAX];         /* images per CPU-second */
    double ceiling[NMODES_MAX];           /* GFLOP/s of the model's sgemms alone */
    double ceiling_cpu;                   /* the same, one thread, per CPU-second */
    double infer_ips[NMODES_MAX];
    double split[NMODES_MAX][NSPLIT];     /* seconds per step; NaN: not measured */
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
 * in one of the three layouts of nets/layers.c, `count` times per step, with
 * leading dimensions lda, ldb, ldc (packed: K, K, N for FWD_NT; K, N, N for
 * DIN_NN; M, N, N for DW_TN; the attention's per-head products read q, k, v
 * in place, one head's columns of rows D wide). */
typedef enum { FWD_NT = 0, DIN_NN = 1, DW_TN = 2 } layout;
typedef struct gemm {
    int M, N, K;
    layout lay;
    int lda, ldb, ldc;
    double count;
} gemm;

typedef struct gemm_list {
    gemm g[MAX_GEMMS];
    int n;
} gemm_list;

static void add_gemm_ld(gemm_list *L, int M, int N, int K, layout lay, int lda, int ldb, int ldc, double count) {
    if (count <= 0) return;
    for (int i = 0; i < L->n; i++) {
        gemm *g = &L->g[i];
        if (g->M == M && g->N == N && g->K == K && g->lay == lay && g->lda == lda && g->ldb == ldb && g->ldc == ldc) {
            g->count += count;
            return;
        }
    }
    if (L->n < MAX_GEMMS) L->g[L->n++] = (gemm){M, N, K, lay, lda, ldb, ldc, count};
}

/* The packed layouts. */
static void add_gemm(gemm_list *L, int M, int N, int K, layout lay, double count) {
    add_gemm_ld(L, M, N, K, lay, lay == DW_TN ? M : K, lay == FWD_NT ? K : N, N, count);
}

/* A linear layer IN -> OUT applied n times per step to a batch of B:
 * forward out = in w^T, and backward dw += dout^T in, din += dout w (if din). */
static void add_linear(gemm_list *L, int B, int IN, int OUT, double n, int din) {
    add_gemm(L, B, OUT, IN, FWD_NT, n);
    add_gemm(L, OUT, IN, B, DW_TN, n);
    if (din) add_gemm(L, B, IN, OUT, DIN_NN, n);
}

/* A recurrent core's step z (B,IN) -> h (B,H) over T steps: the input
 * product every step (with din: z needs its gradient), the recurrent one from
 * the second step on (h_{-1} = 0 is skipped). */
static void add_core(gemm_list *L, sc_core_kind core, int B, int IN, int H, int T) {
    const int gates = core == SC_CORE_LSTM ? 4 * H : H;
    add_linear(L, B, IN, gates, T, 1);
    add_linear(L, B, H, gates, T - 1, 1);
}

/* Every matrix product of one training step at batch B, per kind, as each
 * kind's forward and backward call them. */

/* agent/ram.c: no input gradient into the retina, the location or the detached h. */
static void ram_gemms(gemm_list *L, const sc_model_cfg *mc, int B) {
    const sc_ram_cfg *c = &mc->ram;
    const int T = c->glimpses, G = c->scales * c->glimpse_size * c->glimpse_size * sc_kind_channels(c->channels);
    add_linear(L, B, G, c->glimpse_hidden, T, 0);
    add_linear(L, B, 2, c->loc_hidden, T, 0);
    add_linear(L, B, c->glimpse_hidden + c->loc_hidden, c->glimpse_out, T, 1);
    add_core(L, c->core, B, c->glimpse_out, c->hidden, T);
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

/* agent/soft.c: the glimpse network once per image at each of the L locations
 * (B L rows; hl over the L locations alone); per step the query from h_{t-1}
 * (its input gradient from the second step on) and the core; the scores and
 * weighted sums are per-image matrix-vector products, not sgemms. */
static void soft_gemms(gemm_list *L, const sc_model_cfg *mc, int B) {
    const sc_soft_cfg *c = &mc->soft;
    const int T = c->glimpses, locs = c->grid * c->grid, BL = B * locs;
    const int G = c->scales * c->glimpse_size * c->glimpse_size * sc_kind_channels(c->channels);
    const int GO = c->glimpse_out, H = c->hidden, additive = c->score == SC_SCORE_ADDITIVE;
    const int QW = additive ? c->att_hidden : GO;
    add_linear(L, BL, G, c->glimpse_hidden, 1, 0);
    add_linear(L, locs, 2, c->loc_hidden, 1, 0);
    add_linear(L, BL, c->glimpse_hidden + c->loc_hidden, GO, 1, 1);
    if (additive) add_linear(L, BL, GO, c->att_hidden, 1, 1);
    add_gemm(L, B, QW, H, FWD_NT, T);
    add_gemm(L, QW, H, B, DW_TN, T);
    add_gemm(L, B, H, QW, DIN_NN, T - 1);
    add_core(L, c->core, B, GO, H, T);
    add_linear(L, B, H, c->num_classes, 1, 1);
}

/* agent/fc.c: the first layer's input is the canvas (no input gradient). */
static void fc_gemms(gemm_list *L, const sc_model_cfg *mc, int B) {
    const sc_fc_cfg *c = &mc->fc;
    int in = c->img_h * c->img_w * sc_kind_channels(c->channels);
    for (int k = 0; k < c->layers; k++) {
        add_linear(L, B, in, c->hidden, 1, k > 0);
        in = c->hidden;
    }
    add_linear(L, B, in, c->num_classes, 1, c->layers > 0);
}

/* agent/selfattn.c and nets/attn.c: every linear layer over B T rows; per
 * block and (image, head) the attention's six sgemms (forward: scores q k^T,
 * att v; backward: dv, datt, dq, dk), reading one head's hs columns of the
 * D-wide q, k, v rows in place; the query readout's one-row products
 * (u Wq^T, its attention) are below 16 and not listed. */
static void sa_gemms(gemm_list *L, const sc_model_cfg *mc, int B) {
    const sc_sa_cfg *c = &mc->selfattn;
    const int p = c->patch > 0 ? c->patch : 1;
    const int T = ((c->img_h + p - 1) / p) * ((c->img_w + p - 1) / p), BT = B * T;
    const int D = c->d_model, H = c->heads > 0 ? c->heads : 1, hs = D / H, F = c->mlp_hidden, NL = c->blocks;
    add_linear(L, BT, p * p * sc_kind_channels(c->channels), D, 1, 0);
    add_linear(L, BT, D, 3 * D, NL, 1);
    add_linear(L, BT, D, D, NL, 1);
    add_linear(L, BT, D, F, NL, 1);
    add_linear(L, BT, F, D, NL, 1);
    const double heads = 2.0 * B * H * NL;  /* each shape twice: once forward, once backward */
    add_gemm_ld(L, T, T, hs, FWD_NT, D, D, T, heads);   /* scores = q k^T; datt = dout v^T */
    add_gemm_ld(L, T, hs, T, DIN_NN, T, D, D, heads);   /* out = att v; dq = dscores k */
    add_gemm_ld(L, T, hs, T, DW_TN, T, D, D, heads);    /* dv = att^T dout; dk = dscores^T q */
    if (c->readout == SC_SA_READOUT_QUERY) {
        add_linear(L, 1, D, D, 1, 1);
        add_linear(L, BT, D, 2 * D, 1, 1);
        add_linear(L, B, D, D, 1, 1);
    }
    add_linear(L, B, D, c->num_classes, 1, 1);
}

/* One row per kind, at its sc_model_kind. */
static void (*const KIND_GEMMS[SC_MODEL_KINDS])(gemm_list *, const sc_model_cfg *, int) = {
    [SC_MODEL_RAM] = ram_gemms,
    [SC_MODEL_SOFT] = soft_gemms,
    [SC_MODEL_FC] = fc_gemms,
    [SC_MODEL_SELFATTN] = sa_gemms,
};

static double gemm_flops(const gemm *g) { return 2.0 * g->M * (double)g->N * g->K; }

/* Rows x leading dimension of A, B and C. */
static void gemm_sizes(const gemm *g, size_t *na, size_t *nb, size_t *nc) {
    *na = (size_t)(g->lay == DW_TN ? g->K : g->M) * g->lda;
    *nb = (size_t)(g->lay == FWD_NT ? g->N : g->K) * g->ldb;
    *nc = (size_t)g->M * g->ldc;
}

static void run_gemm(const gemm *g, const float *a, const float *b, float *c) {
    switch (g->lay) {
    case FWD_NT: /* (M,K) x (N,K)^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->M, g->N, g->K, 1.0f, a, g->lda, b, g->ldb,
                    1.0f, c, g->ldc);
        break;
    case DIN_NN: /* (M,K) x (K,N) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->M, g->N, g->K, 1.0f, a, g->lda, b, g->ldb,
                    1.0f, c, g->ldc);
        break;
    case DW_TN: /* (K,M)^T x (K,N) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g->M, g->N, g->K, 1.0f, a, g->lda, b, g->ldb,
                    1.0f, c, g->ldc);
        break;
    }
}

/* Median GFLOP/s of one sgemm shape over 5 repetitions of ~10 ms, by `clock`
 * (now_s: wall; cpu_s: CPU time). */
static double time_gemm(const gemm *g, double (*clock)(void)) {
    size_t na, nb, nc;
    gemm_sizes(g, &na, &nb, &nc);
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

static int in_ceiling(const gemm *g) { return g->M >= 16 && g->N >= 16 && g->K >= 16; }

/* FLOPs per image of the products in the ceiling. */
static double ceiling_flops(const gemm_list *L, int B) {
    double f = 0.0;
    for (int i = 0; i < L->n; i++)
        if (in_ceiling(&L->g[i])) f += gemm_flops(&L->g[i]) * L->g[i].count;
    return f / B;
}

/* FLOP-weighted rate of the products with every dimension >= 16 (NaN: none). */
static double ceiling_gflops(const gemm_list *L, double (*clock)(void)) {
    double flops = 0.0, secs = 0.0;
    for (int i = 0; i < L->n; i++) {
        const gemm *g = &L->g[i];
        if (!in_ceiling(g)) continue;
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
    sc_canvas_cfg cc, cc_train;  /* test canvases; training ones (with [data] shift), as train.c */
    sc_model_cfg mc;
    sc_model *model;
    sc_ram *ram;                 /* kind ram: the sc_ram behind model (sc_ram_profile, --dump); else NULL */
    sc_model_ops ram_row;        /* kind ram: model's row (ram_create_kept); outlives model */
    sc_params *ps;               /* the model's, owned by it */
    sc_optim opt;
    sc_batcher batcher;
    float *canvas;
    int *idx, *labels;
    uint64_t *keys;
    int B, NB, H, W, ch, epoch;
    size_t npix;                 /* floats per canvas */
    sc_rng rloc;
    sc_pool *pool;     /* the trainer's step workers (canvases, zeroing, update) of the mode; NULL: one */
} bench;

/* The RAM's row with create wrapped to keep the sc_ram it builds: the model
 * runs through sc_model_* like any other kind, and the RAM's extras (the
 * profile of its forward, --dump's locations and outputs) reach the same
 * object: the first one built after bench_model clears ram_kept. One such
 * model per process (each experiment runs in its own child). */
static sc_ram *ram_kept;
static int ram_create_kept(void **impl, const void *cfg, sc_model_info *info, sc_err *err) {
    int rc = sc_ram_ops.create(impl, cfg, info, err);
    if (rc == SC_OK && !ram_kept) ram_kept = *impl;
    return rc;
}

static void bench_free(bench *b) {
    sc_dataset_free(&b->ds);
    sc_model_free(b->model);
    sc_optim_free(&b->opt);
    sc_batcher_free(&b->batcher);
    sc_pool_free(b->pool);
    free(b->canvas); free(b->idx); free(b->labels); free(b->keys);
}

static int load_cfg(sc_config *c, const char *path, const options *o, sc_err *err) {
    sc_config_defaults(c);
    int rc = sc_config_load(c, path, err);
    for (int i = 0; rc == SC_OK && i < o->nsets; i++) rc = sc_config_set(c, o->sets[i], err);
    if (rc == SC_OK) rc = sc_config_validate(c, err);
    return rc;
}

/* The model of b->mc, kind ram through ram_create_kept. */
static int bench_model(bench *b, sc_err *err) {
    if (b->mc.kind != SC_MODEL_RAM) return sc_model_create(&b->model, &b->mc, err);
    b->ram_row = sc_ram_ops;
    b->ram_row.create = ram_create_kept;
    ram_kept = NULL;
    int rc = sc_model_create_ops(&b->model, &b->ram_row, &b->mc, err);
    b->ram = rc == SC_OK ? ram_kept : NULL;
    return rc;
}

/* Everything experiments/train.c sets up before its loop (session_build), with
 * the model's max_batch `NB` (0: the trainer's, sc_model_batch). */
static int bench_setup(bench *b, const char *path, const options *o, int NB, sc_err *err) {
    memset(b, 0, sizeof *b);
    int rc;
    if ((rc = load_cfg(&b->c, path, o, err)) != SC_OK) return rc;
    const sc_config *c = &b->c;
    sc_data_spec spec;
    sc_config_data_spec(c, &spec);
    if ((rc = sc_dataset_open(&b->ds, &spec, c->val_size, c->seed, err)) != SC_OK) return rc;
    if ((rc = sc_config_check_images(c, b->ds.train.h, b->ds.train.w, err)) != SC_OK) return rc;
    if (c->max_train > 0 && c->max_train < b->ds.n_train) b->ds.n_train = c->max_train;
    sc_canvas_cfg_from_config(&b->cc, c);
    b->cc_train = b->cc;
    b->cc_train.shift = c->shift;
    if ((rc = sc_canvas_check(&b->cc_train, &b->ds.train, err)) != SC_OK) return rc;
    sc_canvas_dims(&b->cc, &b->ds.train, &b->H, &b->W);
    b->ch = sc_images_channels(&b->ds.train);
    b->npix = (size_t)b->H * b->W * b->ch;
    b->B = c->batch_size;
    b->NB = NB > 0 ? NB : sc_model_batch(c);
    sc_model_cfg_from_shape(&b->mc, c, b->H, b->W, b->ch, b->ds.num_classes, b->NB);
    if ((rc = bench_model(b, err)) != SC_OK) return rc;
    sc_rng rinit;
    sc_rng_derive(&rinit, c->seed, 1);
    sc_model_init_params(b->model, &rinit);
    b->ps = sc_model_params(b->model);
    if ((rc = sc_optim_create(&b->opt, !strcmp(c->optimizer, "sgd") ? SC_OPT_SGD : SC_OPT_ADAM, b->ps->n, err)) !=
        SC_OK)
        return rc;
    b->opt.momentum = c->momentum;
    b->opt.weight_decay = c->weight_decay;
    if ((rc = sc_batcher_init(&b->batcher, b->ds.train_idx, b->ds.n_train, b->B, 1, c->seed, err)) != SC_OK)
        return rc;
    b->canvas = malloc(sizeof(float) * b->NB * b->npix);
    b->idx = malloc(sizeof(int) * b->NB);
    b->labels = malloc(sizeof(int) * b->NB);
    b->keys = malloc(sizeof(uint64_t) * b->NB);
    if (!b->canvas || !b->idx || !b->labels || !b->keys)
        return sc_errf(err, SC_ENOMEM, "bench: out of memory for batch buffers (%d x %dx%dx%d)", b->NB, b->H, b->W,
                       b->ch);
    sc_rng_derive(&b->rloc, c->seed, 3);
    b->epoch = 1;
    sc_batcher_epoch(&b->batcher, b->epoch);
    return SC_OK;
}

/* The next full batch's indices, labels and canvases; returns its size. */
static int next_batch(bench *b) {
    int n = sc_batcher_next(&b->batcher, b->idx);
    if (n < b->B) { /* keep batches full: start the next epoch */
        sc_batcher_epoch(&b->batcher, ++b->epoch);
        n = sc_batcher_next(&b->batcher, b->idx);
    }
    for (int i = 0; i < n; i++) {
        b->labels[i] = b->ds.train.labels[b->idx[i]];
        b->keys[i] = sc_canvas_key(0, b->epoch, b->idx[i]);
    }
    sc_canvas_build_on(b->pool, b->canvas, NULL, &b->cc_train, &b->ds.train, b->idx, b->keys, n, b->ds.train_idx,
                       b->ds.n_train, b->c.seed);
    return n;
}

/* One training step of experiments/train.c; t[] (may be NULL) gets the
 * seconds of data, forward, backward and the optimizer's zero grad, clip and
 * step added at SP_DATA, SP_FORWARD, SP_BACKWARD, SP_OPTIM. Returns the
 * model's error (SC_OK). */
static int train_step(bench *b, double *t) {
    const sc_config *c = &b->c;
    double t0 = t ? now_s() : 0.0;
    int n = next_batch(b);
    double t1 = t ? now_s() : 0.0;
    sc_model_stats st;
    int rc = sc_model_forward(b->model, b->canvas, b->labels, n, c->loc_std, &b->rloc, &st);
    double t2 = t ? now_s() : 0.0;
    sc_params_zero_grad_on(b->ps, b->pool);
    double t3 = t ? now_s() : 0.0;
    if (rc == SC_OK) rc = sc_model_backward(b->model, b->labels, n, c->loc_std);
    double t4 = t ? now_s() : 0.0;
    sc_clip_grad_norm(b->ps->grad, b->ps->n, c->clip);
    sc_optim_step_on(&b->opt, b->ps->data, b->ps->grad, c->lr, b->pool);
    if (t) {
        t[SP_DATA] += t1 - t0;
        t[SP_FORWARD] += t2 - t1;
        t[SP_BACKWARD] += t4 - t3;
        t[SP_OPTIM] += (t3 - t2) + (now_s() - t4);
    }
    return rc;
}

/* Mode 0: one thread; 1: one worker, OpenBLAS at two threads; 2:
 * sc_model_set_threads(m, 2), the model's two data-parallel workers, each
 * calling single-threaded OpenBLAS, with the step's canvases, zeroing and
 * update on two workers too (b->pool), as the trainer at [train] threads = 2. */
static int set_mode(sc_model *m, int mode, sc_err *err) {
    int rc = sc_model_set_threads(m, mode == 2 ? 2 : 1, err);
    if (rc == SC_OK && mode == 1) sc_blas_set_threads(2);
    return rc;
}

static int step_error(int rc, sc_err *err) {
    return sc_errf(err, rc, "bench: a training step failed: %s", sc_strerror(rc));
}

/* Images/s over 5 timed chunks of about time_s/5 seconds (median), wall clock;
 * *per_cpu gets images per second of CPU time used by the process (median),
 * which other load on the machine disturbs much less. */
static int time_training(bench *b, double time_s, double *ips, double *per_cpu, sc_err *err) {
    int rc = SC_OK;
    for (int i = 0; i < 3 && rc == SC_OK; i++) rc = train_step(b, NULL);
    double t0 = now_s();
    if (rc == SC_OK) rc = train_step(b, NULL);
    double one = now_s() - t0;
    const int chunks = 5;
    int steps = (int)(time_s / chunks / (one > 1e-6 ? one : 1e-6));
    if (steps < 2) steps = 2;
    double r[5], rc5[5];
    for (int k = 0; k < chunks && rc == SC_OK; k++) {
        t0 = now_s();
        double c0 = cpu_s();
        for (int i = 0; i < steps && rc == SC_OK; i++) rc = train_step(b, NULL);
        r[k] = (double)steps * b->B / (now_s() - t0);
        rc5[k] = (double)steps * b->B / (cpu_s() - c0);
    }
    if (rc != SC_OK) return step_error(rc, err);
    *per_cpu = median(rc5, chunks);
    *ips = median(r, chunks);
    return SC_OK;
}

/* The split of a step, seconds per step (SP_*), over about time_s seconds. */
static int profile_training(bench *b, double time_s, double *split, sc_err *err) {
    sc_ram_prof prof;
    memset(&prof, 0, sizeof prof);
    double t[NSPLIT] = {0};
    if (b->ram) sc_ram_profile(b->ram, &prof);
    double t0 = now_s();
    int steps = 0, rc = SC_OK;
    while (rc == SC_OK && (steps < 3 || now_s() - t0 < time_s)) {
        rc = train_step(b, t);
        steps++;
    }
    if (b->ram) sc_ram_profile(b->ram, NULL);
    if (rc != SC_OK) return step_error(rc, err);
    for (int s = 0; s < NSPLIT; s++) split[s] = split_in_total(s) ? t[s] / steps : NAN;
    if (b->ram) {
        split[SP_RETINA] = prof.retina / steps;
        split[SP_GLIMPSE] = prof.glimpse / steps;
        split[SP_CORE] = prof.core / steps;
        split[SP_HEADS] = prof.heads / steps;
    }
    return SC_OK;
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* The inference batch: INFER_BATCH, or for a kind with SC_KIND_WIDE the
 * trainer's model batch (sc_model_batch: the training or evaluation batch). */
static int infer_batch(const bench *b) {
    const sc_model_ops *ops = sc_model_kind_ops(b->mc.kind);
    return ops && ops->caps & SC_KIND_WIDE ? sc_model_batch(&b->c) : INFER_BATCH;
}

/* Inference images/s: M = 1, batch NB (infer_batch) test canvases built
 * beforehand, a model of max_batch NB with b's parameters. */
static int time_inference(const bench *b, const options *o, int NB, double *ips, sc_err *err) {
    sc_model_cfg mc;
    sc_model_cfg_from_shape(&mc, &b->c, b->H, b->W, b->ch, b->ds.num_classes, NB);
    sc_model *m = NULL;
    int rc = sc_model_create(&m, &mc, err);
    if (rc != SC_OK) return rc;
    sc_params *dst = sc_model_params(m);
    if (dst->n != b->ps->n) {
        sc_model_free(m);
        return sc_errf(err, SC_EARG, "bench: the inference model has %zu parameters, the trained one %zu",
                       (size_t)dst->n, (size_t)b->ps->n);
    }
    memcpy(dst->data, b->ps->data, sizeof(float) * b->ps->n);
    const int C = b->ds.num_classes;
    int n = b->ds.n_test < NB ? b->ds.n_test : NB;
    float *x = malloc(sizeof(float) * (size_t)n * b->npix);
    float *logp = malloc(sizeof(float) * (size_t)n * C);
    int *idx = malloc(sizeof(int) * n), *labels = malloc(sizeof(int) * n), *pred = malloc(sizeof(int) * n);
    uint64_t *keys = malloc(sizeof(uint64_t) * n);
    if (!x || !logp || !idx || !labels || !pred || !keys) {
        rc = sc_errf(err, SC_ENOMEM, "bench: out of memory for inference buffers (%d x %dx%dx%d)", n, b->H, b->W,
                     b->ch);
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
    const float std = b->c.loc_std;
    for (int k = 0; k < o->nmodes; k++) {
        if ((rc = set_mode(m, o->modes[k], err)) != SC_OK) goto done;
        int got = sc_model_predict(m, x, labels, n, 1, std, &r, logp, pred);
        double t0 = now_s();
        if (got >= 0) got = sc_model_predict(m, x, labels, n, 1, std, &r, logp, pred);
        double one = now_s() - t0;
        int reps = (int)(o->time_s / 5 / (one > 1e-6 ? one : 1e-6));
        if (reps < 1) reps = 1;
        double v[5];
        for (int c = 0; c < 5 && got >= 0; c++) {
            t0 = now_s();
            for (int i = 0; i < reps && got >= 0; i++) got = sc_model_predict(m, x, labels, n, 1, std, &r, logp, pred);
            v[c] = (double)reps * n / (now_s() - t0);
        }
        if (got < 0) {
            rc = sc_errf(err, got, "bench: inference failed: %s", sc_strerror(got));
            goto done;
        }
        ips[o->modes[k]] = median(v, 5);
    }
done:
    free(x); free(logp); free(idx); free(labels); free(pred); free(keys);
    sc_model_free(m);
    return rc;
}

/* What the model is, from its row (the kind's describe, as compare's table). */
static void describe_model(const bench *b, result *res) {
    const sc_model_ops *ops = sc_model_kind_ops(b->mc.kind);
    snprintf(res->kind, sizeof res->kind, "%s", ops->name);
    snprintf(res->model, sizeof res->model, "%s", ops->name);
    snprintf(res->looks, sizeof res->looks, "-");
    if (ops->describe)
        ops->describe(sc_model_kind_cfg(ops, &b->mc), res->model, sizeof res->model, res->looks, sizeof res->looks);
}

/* The model's sgemm ceilings (after the timings: OpenBLAS's threads keep
 * spinning for a while after a threaded call): one thread; two threads = the
 * better of OpenBLAS's own two-thread sgemm and two single-threaded ones side
 * by side (twice one). */
static void measure_ceilings(const gemm_list *L, const options *o, result *res) {
    sc_blas_set_threads(1);
    double c1 = ceiling_gflops(L, now_s);
    res->ceiling_cpu = ceiling_gflops(L, cpu_s);
    sc_blas_set_threads(2);
    double c2 = ceiling_gflops(L, now_s);
    c2 = c2 > 2.0 * c1 ? c2 : 2.0 * c1;
    for (int k = 0; k < o->nmodes; k++) res->ceiling[o->modes[k]] = o->modes[k] == 0 ? c1 : c2;
}

static int bench_experiment(bench *b, const options *o, result *res, sc_err *err) {
    int rc;
    describe_model(b, res);
    res->B = b->B;
    res->H = b->H;
    res->W = b->W;
    res->nparams = (int)sc_params_count(b->ps);
    res->flops_img = sc_model_cost(&b->mc).flops_train;
    gemm_list L;
    memset(&L, 0, sizeof L);
    KIND_GEMMS[b->mc.kind](&L, &b->mc, b->B);
    res->gemm_share = ceiling_flops(&L, b->B) / res->flops_img;
    for (int k = 0; k < o->nmodes; k++) {
        int mode = o->modes[k];
        if ((rc = set_mode(b->model, mode, err)) != SC_OK) return rc;
        /* the trainer runs its step's other parts on [train] threads workers: as many as the model's */
        sc_pool_free(b->pool);
        b->pool = NULL;
        if (mode == 2 && (rc = sc_pool_create(&b->pool, 2, err)) != SC_OK) return rc;
        res->workers[mode] = sc_model_describe(b->model)->workers;
        res->blas[mode] = sc_blas_get_threads();
        if ((rc = time_training(b, o->time_s, &res->train_ips[mode], &res->train_cpu[mode], err)) != SC_OK) return rc;
        if ((rc = profile_training(b, o->time_s / 2, res->split[mode], err)) != SC_OK) return rc;
    }
    res->rss_mb = peak_rss_mb();
    measure_ceilings(&L, o, res);
    res->infer_batch = infer_batch(b);
    return time_inference(b, o, res->infer_batch, res->infer_ips, err);
}

static void run_child(const char *path, const options *o, result *res) {
    memset(res, 0, sizeof *res);
    sc_err err = {0};
    bench b;
    int rc = bench_setup(&b, path, o, 0, &err);
    if (rc == SC_OK) rc = bench_experiment(&b, o, res, &err);
    if (rc != SC_OK) snprintf(res->err, sizeof res->err, "%s", err.msg[0] ? err.msg : sc_strerror(rc));
    else res->ok = 1;
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

/* The machine's ceiling: sgemm as sc_linear_forward calls it. *big gets the
 * last shape's (1024^3) GFLOP/s at one thread and at two (the better of
 * OpenBLAS's two-thread rate and twice one thread). */
static void print_sgemm_table(FILE *tsv, double big[2]) {
    static const int SH[][3] = {{128, 64, 128}, {128, 256, 256}, {128, 512, 256}, {1024, 1024, 1024}};
    printf("\n## sgemm (out = in w^T, GFLOP/s, median of 5 x 10 ms)\n\n");
    printf("| B | IN | OUT | 1 thread | 2 threads |\n|---:|---:|---:|---:|---:|\n");
    double r[2] = {NAN, NAN};
    for (size_t i = 0; i < sizeof SH / sizeof SH[0]; i++) {
        gemm g = {SH[i][0], SH[i][2], SH[i][1], FWD_NT, SH[i][1], SH[i][1], SH[i][2], 1};
        for (int t = 0; t < 2; t++) {
            sc_blas_set_threads(t + 1);
            r[t] = time_gemm(&g, now_s);
        }
        printf("| %d | %d | %d | %.1f | %.1f |\n", SH[i][0], SH[i][1], SH[i][2], r[0], r[1]);
        if (tsv) fprintf(tsv, "sgemm\t%dx%dx%d\t%.2f\t%.2f\n", SH[i][0], SH[i][1], SH[i][2], r[0], r[1]);
        fflush(stdout);
    }
    big[0] = r[0];
    big[1] = r[1] > 2.0 * r[0] ? r[1] : 2.0 * r[0];
}

/* The mode's name, and for 2dp what the model made of two threads ("2dp (2
 * workers, 1 BLAS thread)"; a kind without workers: "2dp (1 worker, 2 BLAS
 * threads)"). */
static const char *mode_label(const result *r, int m, char *buf, size_t n) {
    if (m != 2) snprintf(buf, n, "%s", MODE_NAMES[m]);
    else snprintf(buf, n, "%s (%d worker%s, %d BLAS thread%s)", MODE_NAMES[m], r->workers[m],
                  r->workers[m] == 1 ? "" : "s", r->blas[m], r->blas[m] == 1 ? "" : "s");
    return buf;
}

static void print_experiments(const char *const *configs, const result *res, int ncfg) {
    printf("\n## experiments (training FLOPs: sc_model_cost, as `saccade train` prints them)\n\n");
    printf("| experiment | model | looks at | canvas | parameters | MFLOP per training image | of which in the "
           "ceiling's sgemms | batch | inference batch | peak RSS MB (training) |\n");
    printf("|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < ncfg; i++)
        if (res[i].ok)
            printf("| %s | %s | %s | %dx%d | %d | %.2f | %.0f%% | %d | %d | %.0f |\n", base_name(configs[i]),
                   res[i].model, res[i].looks, res[i].H, res[i].W, res[i].nparams, res[i].flops_img * 1e-6,
                   100.0 * res[i].gemm_share, res[i].B, res[i].infer_batch, res[i].rss_mb);
}

/* big: the 1024^3 sgemm's GFLOP/s at one thread and two (print_sgemm_table). */
static void print_speed(const char *const *configs, const result *res, int ncfg, const options *o,
                        const double big[2], FILE *tsv) {
    printf("\n## speed (threads: 1; 2 = one worker, two OpenBLAS threads; 2dp = sc_model_set_threads(m, 2): two "
           "data-parallel workers with one OpenBLAS thread each where the kind has workers)\n\n");
    printf("GFLOP/s = MFLOP per image x images/s. Ceiling = OpenBLAS running this model's own sgemms alone (at 2 threads\n"
           "the better of its 2-thread sgemm and twice 1 thread). Of 1024^3 sgemm: against the 1024^3 rate of the sgemm\n"
           "table at the mode's threads (2: the better of 2 threads and twice 1). The per-CPU-second columns divide by\n"
           "the CPU time the process used instead of the wall clock, against the 1-thread ceiling in CPU time: other\n"
           "load on the machine hardly moves them. Inference: M = 1 at the first table's inference batch.\n\n");
    printf("| experiment | threads | train img/s | GFLOP/s | ceiling GFLOP/s | of ceiling | of 1024^3 sgemm | train img "
           "per CPU-s | of ceiling per CPU-s | inference img/s (M=1) |\n");
    printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < ncfg; i++) {
        if (!res[i].ok) continue;
        const result *r = &res[i];
        for (int k = 0; k < o->nmodes; k++) {
            int m = o->modes[k];
            char label[64];
            double gf = r->flops_img * r->train_ips[m] * 1e-9, gfc = r->flops_img * r->train_cpu[m] * 1e-9;
            double of_big = gf / big[m == 0 ? 0 : 1];
            printf("| %s | %s | %.0f | %.1f | %.1f | %.0f%% | %.0f%% | %.0f | %.0f%% | %.0f |\n", base_name(configs[i]),
                   mode_label(r, m, label, sizeof label), r->train_ips[m], gf, r->ceiling[m],
                   100.0 * gf / r->ceiling[m], 100.0 * of_big, r->train_cpu[m], 100.0 * gfc / r->ceiling_cpu,
                   r->infer_ips[m]);
            if (tsv)
                fprintf(tsv, "train\t%s\t%s\t%.1f\t%.3f\t%.3f\t%.1f\t%.1f\t%.4f\t%.1f\t%.3f\t%s\t%d\t%d\t%.4f\t%d\n",
                        base_name(configs[i]), MODE_NAMES[m], r->train_ips[m], gf, r->ceiling[m], r->infer_ips[m],
                        r->rss_mb, r->flops_img * 1e-6, r->train_cpu[m], r->ceiling_cpu, r->kind, r->workers[m],
                        r->infer_batch, of_big, r->blas[m]);
        }
    }
}

static void print_split(const char *const *configs, const result *res, int ncfg, const options *o, FILE *tsv) {
    printf("\n## one training step (ms per step of batch B; share of the step)\n\n");
    printf("data: batch indices, labels, canvases; forward, backward: the sc_model calls; optim: zero grad, clip,\n"
           "step. Total = data + forward + backward + optim. Retina, glimpse, core and heads: the RAM's forward in\n"
           "parts (sc_ram_profile; worker 0's time with two workers), inside forward; '-' for the other kinds.\n\n");
    printf("| experiment | threads |");
    for (int s = 0; s < NSPLIT; s++) printf(" %s |", SPLIT_NAMES[s]);
    printf(" total |\n|---|---|");
    for (int s = 0; s <= NSPLIT; s++) printf("---:|");
    printf("\n");
    for (int i = 0; i < ncfg; i++) {
        if (!res[i].ok) continue;
        for (int k = 0; k < o->nmodes; k++) {
            int m = o->modes[k];
            const double *sp = res[i].split[m];
            double tot = 0.0;
            for (int s = 0; s < NSPLIT; s++)
                if (split_in_total(s)) tot += sp[s];
            char label[64];
            printf("| %s | %s |", base_name(configs[i]), mode_label(&res[i], m, label, sizeof label));
            for (int s = 0; s < NSPLIT; s++)
                if (isnan(sp[s])) printf(" - |");
                else printf(" %.2f (%.0f%%) |", 1e3 * sp[s], 100.0 * sp[s] / tot);
            printf(" %.2f |\n", 1e3 * tot);
            if (tsv) {
                fprintf(tsv, "split\t%s\t%s", base_name(configs[i]), MODE_NAMES[m]);
                for (int s = 0; s < NSPLIT; s++) fprintf(tsv, "\t%.6f", sp[s]);
                fprintf(tsv, "\n");
            }
        }
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
    double big[2];
    print_sgemm_table(tsv, big);

    result res[64];
    int status = 0;
    for (int i = 0; i < ncfg; i++)
        if (spawn_child(argv, configs[i], &o, &res[i]) != 0) {
            fprintf(stderr, "bench_train: %s: %s\n", configs[i], res[i].err);
            status = 1;
        }

    print_experiments(configs, res, ncfg);
    print_speed(configs, res, ncfg, &o, big, tsv);
    print_split(configs, res, ncfg, &o, tsv);
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

/* The RAM's own step with fixed locations, through the sc_ram behind the
 * model (kind ram only): the training steps before it go through sc_model. */
int bench_dump(const char *file, const char *path, const options *o, sc_err *err) {
    bench b;
    sc_config c;
    int rc = load_cfg(&c, path, o, err);
    if (rc == SC_OK && strcmp(c.kind, "ram") != 0)
        rc = sc_errf(err, SC_EARG, "%s: --dump is for kind ram (bench/ram_torch.py's model); this is kind %s", path,
                     c.kind);
    if (rc != SC_OK) return rc;
    /* max_batch = B: the samples' layout (T, max_batch, 2) is then (T, B, 2) */
    rc = bench_setup(&b, path, o, c.batch_size, err);
    if (rc == SC_OK) rc = sc_model_set_threads(b.model, o->workers > 1 ? o->workers : 1, err);
    /* a few real steps first, so rewards, the baseline and the policy are not at their initial values */
    for (int i = 0; rc == SC_OK && i < o->dump_steps; i++)
        if ((rc = train_step(&b, NULL)) != SC_OK) rc = step_error(rc, err);
    if (rc != SC_OK) { bench_free(&b); return rc; }
    const sc_ram_cfg *mc = &b.mc.ram;
    const int B = b.B, T = mc->glimpses, C = mc->num_classes, S = b.H, W = b.W;
    next_batch(&b);
    /* sample locations with the policy, then replay them as fixed_loc */
    sc_model_stats st;
    sc_ram_forward(b.ram, b.canvas, b.labels, B, b.c.loc_std, &b.rloc, NULL, &st);
    float *fixed = malloc(sizeof(float) * (size_t)T * B * 2);
    if (!fixed) { bench_free(&b); return sc_errf(err, SC_ENOMEM, "bench: out of memory"); }
    memcpy(fixed, sc_ram_samples(b.ram), sizeof(float) * (size_t)T * B * 2);
    sc_params *ps = b.ps;
    sc_ram_forward(b.ram, b.canvas, b.labels, B, b.c.loc_std, &b.rloc, fixed, &st);
    sc_params_zero_grad(ps);
    sc_ram_backward(b.ram, b.labels, B, b.c.loc_std);

    hid_t f = H5Fcreate(file, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        free(fixed);
        bench_free(&b);
        return sc_errf(err, SC_EIO, "bench: cannot create %s", file);
    }
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
    hsize_t dx[3] = {(hsize_t)B, (hsize_t)S, (hsize_t)W}, dl[1] = {(hsize_t)B};
    hsize_t dloc[3] = {(hsize_t)T, (hsize_t)B, 2}, dlp[2] = {(hsize_t)B, (hsize_t)C};
    bad |= h5_write(f, "x", H5T_NATIVE_FLOAT, b.canvas, 3, dx);
    bad |= h5_write(f, "labels", H5T_NATIVE_INT, b.labels, 1, dl);
    bad |= h5_write(f, "fixed_loc", H5T_NATIVE_FLOAT, fixed, 3, dloc);
    bad |= h5_write(f, "out/logp", H5T_NATIVE_FLOAT, sc_ram_logp(b.ram), 2, dlp);
    bad |= h5_write(f, "out/loc", H5T_NATIVE_FLOAT, sc_ram_locations(b.ram), 3, dloc);
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
