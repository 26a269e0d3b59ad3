/* train.c - the training loop, evaluation, progress display, and the run log
 * and checkpoints that make a run observable and resumable.
 *
 * One call of sc_train is one session of a run, in phases (each a function
 * of its own over a `session`, the call's state):
 *   session_check     a resume checked completely, a new log's folder probed
 *   session_build     data, canvases, the model (agent/model.h: any kind,
 *                     behind one interface), optimizer, batch order, buffers
 *   session_restore   parameters and state: the checkpoint's, or from the seed
 *   session_open_log  the run log, the first glimpse record and checkpoint
 *   session_train     per epoch: train_pass (train_step per shuffled batch,
 *                     canvases built per batch from the seed, the non-finite
 *                     guards around the optimizer's step), then epoch_end
 *                     (validation with M=1 and M=mc_samples for a model that
 *                     samples, the best parameters, log rows, checkpoint)
 *   session_test      the test error of the kept parameters, inference time
 *   session_fail      how a failed session ends (what is kept, what removed)
 * SIGINT/SIGTERM stop at the next batch, checkpoint the position inside the
 * epoch, and still report.
 *
 * Random streams, all derived from [train] seed (sc_rng_derive(seed, k)):
 *   k=1 initialisation, k=2 minibatch order (per epoch), k=3 location
 *   sampling during training (its state is checkpointed), k=4 location
 *   sampling during evaluation (re-seeded for every evaluation so it is
 *   reproducible), k=0xF1<<56|epoch the glimpse record of an epoch; canvases
 *   from (seed, sc_canvas_key(split, epoch, index)). Nothing else is random,
 *   the std annealing and the linear/step rates are functions of the step, so
 *   a checkpoint (parameters, optimizer moments and step, the k=3 generator,
 *   the plateau schedule, the best so far, the position in the epoch and its
 *   running sums) is all a resumed run needs to continue bit for bit.
 *
 * Over MPI ranks (opts->dist, dist.h) every rank runs this same function:
 * the model spans the ranks (each forward and backward a collective), every
 * rank evaluates its share of each batch and builds the same glimpse
 * records, the stop flag is agreed per batch, and only rank 0 touches files.
 * Failures before training are agreed too (all ranks return together); one
 * after that (rank 0's disk, a lost rank) ends the job (sc_dist_end).
 *
 * What it is not: the log or checkpoint format (runlog.c, checkpoint.c).
 */
#include "train.h"

#include <hdf5.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/kind.h"
#include "experiments/runlog.h"
#include "experiments/textfile.h"
#include "nets/blas.h"
#include "nets/optim.h"
#include "nets/pool.h"

enum { SPLIT_TRAIN = 0, SPLIT_VAL = 1, SPLIT_TEST = 2 };
enum { STREAM_INIT = 1, STREAM_ORDER = 2, STREAM_LOC = 3, STREAM_EVAL = 4 };
/* outside the canvas keys' split byte (0..2), so no canvas shares it */
#define STREAM_GLIMPSE(epoch) ((0xF1ULL << 56) | (uint64_t)(uint32_t)(epoch))

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void sc_canvas_cfg_from_config(sc_canvas_cfg *cc, const sc_config *c) {
    memset(cc, 0, sizeof *cc);
    cc->kind = !strcmp(c->canvas, "translated") ? SC_CANVAS_TRANSLATED
             : !strcmp(c->canvas, "cluttered")  ? SC_CANVAS_CLUTTERED
                                                : SC_CANVAS_PLAIN;
    cc->size = c->canvas_size;
    cc->distractors = cc->kind == SC_CANVAS_CLUTTERED ? c->distractors : 0;
    cc->distractor_size = c->distractor_size;
}

static sc_core_kind core_of(const sc_config *c) { return !strcmp(c->core, "lstm") ? SC_CORE_LSTM : SC_CORE_RNN; }

void sc_ram_cfg_from_config(sc_ram_cfg *rc, const sc_config *c, int canvas_side, int num_classes,
                            int max_batch) {
    memset(rc, 0, sizeof *rc);
    rc->img_h = rc->img_w = canvas_side;
    rc->num_classes = num_classes;
    rc->glimpses = c->glimpses;
    rc->glimpse_size = c->glimpse_size;
    rc->scales = c->scales;
    rc->glimpse_hidden = c->glimpse_hidden;
    rc->loc_hidden = c->loc_hidden;
    rc->glimpse_out = c->glimpse_out;
    rc->core = core_of(c);
    rc->hidden = c->hidden;
    rc->loc_mlp = !strcmp(c->loc_net, "mlp");
    rc->loc_net_hidden = c->loc_net_hidden;
    rc->first_center = !strcmp(c->first_loc, "center");
    rc->baseline = c->baseline;
    rc->reinforce = c->reinforce;
    rc->reinforce_weight = c->reinforce_weight;
    rc->max_batch = max_batch;
    rc->baseline_kind = !strcmp(c->baseline_kind, "constant") ? SC_BASELINE_CONSTANT
                        : !strcmp(c->baseline_kind, "ema")    ? SC_BASELINE_EMA
                                                              : SC_BASELINE_STATE;
    rc->baseline_decay = c->baseline_decay;
    rc->reinforce_full = !strcmp(c->reinforce_grad, "full");
}

void sc_model_cfg_from_config(sc_model_cfg *mc, const sc_config *c, int canvas_side, int num_classes,
                              int max_batch) {
    sc_model_cfg_from_shape(mc, c, canvas_side, canvas_side, 1, num_classes, max_batch);
}

void sc_model_cfg_from_shape(sc_model_cfg *mc, const sc_config *c, int H, int W, int C, int num_classes,
                             int max_batch) {
    memset(mc, 0, sizeof *mc);
    sc_err ignore = {0};
    if (sc_model_kind_parse(c->kind, &mc->kind, &ignore) != SC_OK) mc->kind = SC_MODEL_RAM;
    sc_ram_cfg_from_config(&mc->ram, c, W, num_classes, max_batch);
    mc->ram.img_h = H;
    mc->ram.channels = C;
    sc_soft_cfg *s = &mc->soft;
    s->img_h = H;
    s->img_w = W;
    s->channels = C;
    s->num_classes = num_classes;
    s->glimpses = c->glimpses;
    s->grid = c->grid;
    s->glimpse_size = c->glimpse_size;
    s->scales = c->scales;
    s->glimpse_hidden = c->glimpse_hidden;
    s->loc_hidden = c->loc_hidden;
    s->glimpse_out = c->glimpse_out;
    s->score = !strcmp(c->score, "additive") ? SC_SCORE_ADDITIVE : SC_SCORE_DOT;
    s->att_hidden = c->att_hidden;
    s->core = core_of(c);
    s->hidden = c->hidden;
    s->max_batch = max_batch;
    sc_fc_cfg *f = &mc->fc;
    f->img_h = H;
    f->img_w = W;
    f->channels = C;
    f->num_classes = num_classes;
    f->layers = c->fc_layers;
    f->hidden = c->fc_hidden;
    f->max_batch = max_batch;
    sc_sa_cfg *a = &mc->selfattn;
    a->img_h = H;
    a->img_w = W;
    a->channels = C;
    a->num_classes = num_classes;
    a->patch = c->patch;
    a->d_model = c->d_model;
    a->heads = c->heads;
    a->blocks = c->blocks;
    a->mlp_hidden = c->mlp_hidden;
    a->pos_enc = !strcmp(c->pos_enc, "sin2d") ? SC_SA_POS_SIN2D
               : !strcmp(c->pos_enc, "none")  ? SC_SA_POS_NONE
                                              : SC_SA_POS_LEARNED;
    a->readout = !strcmp(c->readout, "mean") ? SC_SA_READOUT_MEAN : SC_SA_READOUT_QUERY;
    a->causal = c->causal;
    a->log_token = c->attn_token;
    a->max_batch = max_batch;
}

int sc_eval_batch(const sc_config *c) {
    if (c->eval_batch > 0) return c->eval_batch;
    const sc_model_ops *ops = sc_model_ops_named(c->kind);
    if (ops && ops->caps & SC_KIND_WIDE) return c->batch_size;
    return c->batch_size > 500 ? c->batch_size : 500;
}

int sc_model_batch(const sc_config *c) {
    int eb = sc_eval_batch(c);
    return eb > c->batch_size ? eb : c->batch_size;
}

/* ---- evaluation -------------------------------------------------------------- */

/* The canvases of pool[start .. start+B) of split into e's buffers. */
static void eval_batch_build(sc_eval_ctx *e, const int *pool, int start, int B, int split) {
    for (int b = 0; b < B; b++) {
        e->idx[b] = pool[start + b];
        e->labels[b] = e->src->labels[e->idx[b]];
        e->keys[b] = sc_canvas_key(split, 0, e->idx[b]);
    }
    sc_canvas_build(e->canvas_buf, NULL, e->canvas, e->src, e->idx, e->keys, B, e->distractor_pool, e->npool,
                    e->seed);
}

/* The policy std e evaluates at: 0 (the mean location) with [model] test_policy = mean. */
static float eval_std(const sc_eval_ctx *e) { return e->mean_policy ? 0.0f : e->std; }

double sc_eval_error(sc_eval_ctx *e, const int *pool, int n, int split, int M) {
    if (n <= 0) return NAN;
    sc_rng r;
    sc_rng_derive(&r, e->seed, STREAM_EVAL);
    long correct = 0;
    for (int start = 0; start < n; start += e->B) {
        int B = n - start < e->B ? n - start : e->B;
        eval_batch_build(e, pool, start, B, split);
        int k = sc_model_predict(e->model, e->canvas_buf, e->labels, B, M, eval_std(e), &r, e->logp, e->pred);
        if (k < 0) return NAN;
        correct += k;
    }
    return 100.0 * (1.0 - (double)correct / n);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double sc_measure_inference(sc_eval_ctx *e, const int *pool, int n, int split, int runs) {
    if (n <= 0 || runs < 1) return NAN;
    int B = n < e->B ? n : e->B;
    eval_batch_build(e, pool, 0, B, split);
    sc_rng r;
    sc_rng_derive(&r, e->seed, STREAM_EVAL);
    if (sc_model_predict(e->model, e->canvas_buf, NULL, B, 1, eval_std(e), &r, e->logp, e->pred) < 0) return NAN;
    double t[16];
    if (runs > 16) runs = 16;
    for (int i = 0; i < runs; i++) {
        double t0 = now_s();
        if (sc_model_predict(e->model, e->canvas_buf, NULL, B, 1, eval_std(e), &r, e->logp, e->pred) < 0) return NAN;
        t[i] = now_s() - t0;
    }
    qsort(t, (size_t)runs, sizeof t[0], cmp_double);
    double med = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
    return 1e6 * med / B;
}

/* ---- paths and resume checks ---------------------------------------------------- */

int sc_run_checkpoint_name(const char *log_path, char *out, size_t n) {
    size_t len = strlen(log_path);
    if (len > 3 && !strcmp(log_path + len - 3, ".h5")) len -= 3;
    return snprintf(out, n, "%.*s.ckpt.h5", (int)len, log_path) >= (int)n ? -1 : 0;
}

int sc_run_locate(const char *path, char *ckpt, size_t n, sc_err *err) {
    int kind = sc_runlog_kind(path, err);
    if (kind < 0) return kind;
    if (kind == 0) return SC_EFORMAT;
    if (kind == 2) {
        if (snprintf(ckpt, n, "%s", path) >= (int)n) return sc_errf(err, SC_EARG, "%s: path too long", path);
        return SC_OK;
    }
    sc_runlog_info li;
    int rc = sc_runlog_inspect(path, &li, err);
    if (rc != SC_OK) return rc;
    if (access(li.checkpoint, F_OK) != 0)
        return sc_errf(err, SC_EIO, "%s: its checkpoint %s is missing (%s)", path, li.checkpoint, strerror(errno));
    if (snprintf(ckpt, n, "%s", li.checkpoint) >= (int)n) return sc_errf(err, SC_EARG, "%s: path too long", path);
    return SC_OK;
}

/* Keys a resumed run cannot change: the model's shape (and the log's glimpse
 * arrays), and what the saved state refers to. */
static const char *const SHAPE_KEYS[] = {
    "model.kind", "model.glimpses", "model.glimpse_size", "model.scales", "model.glimpse_hidden",
    "model.loc_hidden", "model.glimpse_out", "model.core", "model.hidden", "model.loc_net",
    "model.loc_net_hidden", "model.baseline", "model.baseline_kind", "model.reinforce", "model.grid", "model.score",
    "model.att_hidden", "model.fc_layers", "model.fc_hidden", "model.patch", "model.d_model", "model.heads",
    "model.blocks", "model.mlp_hidden", "model.pos_enc", "model.readout", "model.causal", "log.glimpse_images"};
static const char *const FIXED_KEYS[] = {
    "data.dataset", "data.canvas", "data.canvas_size", "data.distractors", "data.distractor_size",
    "data.val_size", "data.max_train", "train.seed", "train.batch_size", "train.optimizer"};

static int in_list(const char *key, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(key, list[i])) return 1;
    return 0;
}

/* The next "key = value" line of resolved config text at *p: section.key into
 * key, the value into val. 0 at the end. */
static int next_kv(const char **p, char *section, char *key, size_t kn, const char **val, int *vlen) {
    while (**p) {
        const char *line = *p, *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        *p = nl ? nl + 1 : line + len;
        if (len == 0 || line[0] == '#') continue;
        if (line[0] == '[') {
            snprintf(section, 32, "%.*s", (int)(len > 2 ? len - 2 : 0), line + 1);
            continue;
        }
        const char *eq = memchr(line, '=', len);
        if (!eq) continue;
        int kl = (int)(eq - line);
        while (kl > 0 && line[kl - 1] == ' ') kl--;
        snprintf(key, kn, "%s.%.*s", section, kl, line);
        const char *v = eq + 1;
        while (v < line + len && *v == ' ') v++;
        *val = v;
        *vlen = (int)(line + len - v);
        return 1;
    }
    return 0;
}

int sc_resume_config_check(const sc_config *run, const sc_config *c, const char *log_path, char *out,
                           size_t n, sc_err *err) {
    char *a = sc_config_to_string(run), *b = sc_config_to_string(c);
    if (!a || !b) {
        free(a);
        free(b);
        return sc_errf(err, SC_ENOMEM, "out of memory comparing configurations");
    }
    char shape[1024] = "", fixed[1024] = "";
    size_t ol = 0, sl = 0, fl = 0;
    if (out && n) out[0] = '\0';
    const char *pa = a, *pb = b, *va, *vb;
    char seca[32] = "", secb[32] = "", ka[96], kb[96];
    int la, lb, nfixed = 0;
    while (next_kv(&pa, seca, ka, sizeof ka, &va, &la) && next_kv(&pb, secb, kb, sizeof kb, &vb, &lb)) {
        if (strcmp(ka, kb) != 0 || (la == lb && !memcmp(va, vb, (size_t)la))) continue;
        const char *dot = strchr(kb, '.');
        int is_shape = in_list(kb, SHAPE_KEYS, sizeof SHAPE_KEYS / sizeof SHAPE_KEYS[0]);
        int is_fixed = in_list(kb, FIXED_KEYS, sizeof FIXED_KEYS / sizeof FIXED_KEYS[0]);
        if (is_shape || is_fixed) {
            char *buf = is_shape ? shape : fixed;
            size_t *bl = is_shape ? &sl : &fl;
            if (*bl < 1000)
                *bl += (size_t)snprintf(buf + *bl, 1024 - *bl, "%s[%.*s] %s = %.*s (the run has %.*s)",
                                        *bl ? ", " : "", (int)(dot - kb), kb, dot + 1, lb, vb, la, va);
            nfixed++;
        } else if (out && ol < n) {
            ol += (size_t)snprintf(out + ol, n - ol, "%s: %.*s -> %.*s\n", kb, la, va, lb, vb);
        }
    }
    free(a);
    free(b);
    if (nfixed) {
        if (sl && fl)
            sc_errf(err, SC_ECONFIG, "cannot resume %s with a different model shape: %s; nor with other data, seed, "
                    "batch size or optimizer: %s; start a new run instead", log_path, shape, fixed);
        else if (sl)
            sc_errf(err, SC_ECONFIG, "cannot resume %s with a different model shape: %s; start a new run instead",
                    log_path, shape);
        else
            sc_errf(err, SC_ECONFIG, "cannot resume %s with other data, seed, batch size or optimizer: %s; start a "
                    "new run instead", log_path, fixed);
    }
    return nfixed;
}

/* ---- progress display -------------------------------------------------------- */

typedef struct progress {
    int tty;
    double last_draw;
} progress;

static void fmt_time(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e7) { snprintf(buf, n, "--:--"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

/* The error of a diverged session: one line with where, what and the rate,
 * and what is kept. */
static int diverged(sc_err *err, const char *what, int epoch, long long step, float lr,
                    const sc_ckpt_state *S, const char *log_path) {
    char best[48] = "";
    if (S->best_epoch > 0) snprintf(best, sizeof best, " (epoch %d)", S->best_epoch);
    return sc_errf(err, SC_ENONFINITE,
                   "non-finite value at epoch %d step %lld: %s, lr %g; stopped, the last checkpoint and the "
                   "best parameters%s are kept as they were; continue with `saccade train --resume %s` "
                   "(e.g. --set train.lr=%g)",
                   epoch, step, what, (double)lr, best, log_path, (double)lr / 10);
}

/* "NaN", "+Inf" or "-Inf" (printf's spelling of NaN varies with its sign). */
static const char *nonfinite_name(double x) { return isnan(x) ? "NaN" : x > 0 ? "+Inf" : "-Inf"; }

/* The loss terms of the model's kind, for the progress bar and lines. */
static void fmt_terms(char *buf, size_t n, const sc_model_info *in, const sc_train_acc *a, int wide) {
    double nb = a->batches > 0 ? a->batches : 1.0;
    int k = snprintf(buf, n, wide ? "ce %.4f" : "ce %.3f", a->xent / nb);
    if (in->reinforce && k > 0 && (size_t)k < n)
        k += snprintf(buf + k, n - (size_t)k, wide ? ", rf %+.4f, bmse %.4f" : "  rf %+.3f  bmse %.3f",
                      a->reinforce / nb, a->baseline_mse / nb);
    if (in->locations && k > 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, wide ? ", H(att) %.3f, max(att) %.3f" : "  H(att) %.2f",
                 a->att_entropy / nb, a->att_max / nb);
}

static void progress_draw(progress *p, const sc_model_info *in, int epoch, int epochs, long done, long total,
                          const sc_train_acc *a, double ips, double eta, int force) {
    double t = now_s();
    if (!p->tty || (!force && t - p->last_draw < 0.2)) return;
    p->last_draw = t;
    const int W = 24;
    int fill = total ? (int)((double)W * done / total) : W;
    char bar[32], etab[48];
    for (int i = 0; i < W; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[W] = 0;
    fmt_time(etab, sizeof etab, eta);
    double nb = a->batches > 0 ? a->batches : 1.0;
    char terms[160];
    fmt_terms(terms, sizeof terms, in, a, 0);
    printf("\r\033[Kepoch %d/%d [%s] %3d%% %6.0f img/s  %s  R %.3f  ETA %s", epoch, epochs, bar,
           total ? (int)(100 * done / total) : 100, ips, terms, a->reward / nb, etab);
    fflush(stdout);
}

/* ---- the run -------------------------------------------------------------------- */

typedef struct run {
    sc_dataset ds;
    sc_model *model;
    sc_optim opt;
    sc_batcher batcher;
    float *canvas, *logp, *best;
    float *live;       /* the raw parameters while the average is evaluated ([train] ema) */
    int *idx, *labels, *pred;
    uint64_t *keys;
    /* the glimpse set: G fixed images, their canvases and one record's arrays */
    int G;
    float *gcanvas, *glocs, *gprobs, *greward, *gatt;
    int32_t *glabels, *gindex, *gpred;
    int *gidx, *glab;
    uint8_t *gimg;
    sc_ckpt ck;
    sc_runlog *log;
    sc_pool *pool;     /* [train] threads workers for the step's canvases, zeroed gradients and update */
} run;

static void run_free(run *r) {
    sc_dataset_free(&r->ds);
    sc_model_free(r->model);
    sc_optim_free(&r->opt);
    sc_batcher_free(&r->batcher);
    free(r->canvas); free(r->logp); free(r->best); free(r->live);
    free(r->idx); free(r->labels); free(r->pred); free(r->keys);
    free(r->gcanvas); free(r->glocs); free(r->gprobs); free(r->greward); free(r->gatt);
    free(r->glabels); free(r->gindex); free(r->gpred); free(r->gidx); free(r->glab); free(r->gimg);
    sc_ckpt_free(&r->ck);
    sc_runlog_close(r->log);
    sc_pool_free(r->pool);
}

static void lr_from_config(sc_lr_sched *s, const sc_config *c, long steps_per_epoch) {
    sc_lr_init(s);
    s->base = s->cur = c->lr;
    s->final_lr = c->lr_final;
    s->total_steps = steps_per_epoch * c->epochs;
    s->step_every = steps_per_epoch * c->lr_step_epochs;
    s->gamma = c->lr_gamma;
    s->patience = c->lr_patience;
    s->min_lr = c->lr_final;
    s->kind = !strcmp(c->lr_schedule, "linear") ? SC_LR_LINEAR
            : !strcmp(c->lr_schedule, "step")   ? SC_LR_STEP
            : !strcmp(c->lr_schedule, "plateau") ? SC_LR_PLATEAU
                                                 : SC_LR_CONSTANT;
}

float sc_policy_std(const sc_config *c, long step, long total) {
    if (c->loc_std_final <= 0.0f || total <= 1) return c->loc_std;
    /* linear from loc_std at step 0 to loc_std_final at step anneal (total - 1), then flat */
    double f = (double)step / ((double)c->loc_std_anneal * (double)(total - 1));
    if (f > 1.0) f = 1.0;
    return (float)(c->loc_std + f * (c->loc_std_final - c->loc_std));
}

static void acc_add(sc_train_acc *a, const sc_model_stats *st, float gnorm, int n) {
    a->xent += st->xent; a->reinforce += st->reinforce; a->baseline_mse += st->baseline_mse;
    a->reward += st->reward; a->adv_var += st->adv_var; a->mu_abs += st->mu_abs;
    a->mu_spread += st->mu_spread; a->grad_norm += gnorm;
    a->att_entropy += st->att_entropy; a->att_max += st->att_max; a->rf_grad_var += st->rf_grad_var;
    a->images += n; a->batches += 1;
}

static float mean_of(double sum, double n) { return n > 0 ? (float)(sum / n) : NAN; }

/* A 64-bit id for the run (not from the seed: two runs with one seed differ). */
static void make_run_id(char *out, size_t n) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40);
    sc_rng r;
    sc_rng_seed(&r, x);
    snprintf(out, n, "%016llx", (unsigned long long)sc_rng_u64(&r));
}

/* One glimpse record: the G fixed images through the model with per-step
 * probabilities (and attention weights for soft attention), at policy std
 * `std`, the location noise from a generator of its own (so recording changes
 * nothing in training). */
static int record_glimpses(run *R, const sc_config *c, int epoch, long step, float std, size_t npix, sc_err *err) {
    if (R->G <= 0) return SC_OK;  /* on every rank when the model spans ranks: its trace is a collective */
    const sc_model_info *in = sc_model_describe(R->model);
    const int T = in->steps, C = in->num_classes, NB = in->max_batch, L = in->locations;
    sc_rng r;
    sc_rng_derive(&r, c->seed, STREAM_GLIMPSE(epoch));
    for (int start = 0; start < R->G; start += NB) {
        int B = R->G - start < NB ? R->G - start : NB;
        const size_t g0 = (size_t)start * T;
        int rc = sc_model_trace(R->model, R->gcanvas + (size_t)start * npix, B, std, &r, R->gprobs + g0 * C,
                                R->glocs + g0 * 2, L ? R->gatt + g0 * L : NULL, R->gpred + start, err);
        if (rc != SC_OK) return rc;
    }
    if (!R->log) return SC_OK;
    for (int g = 0; g < R->G; g++) R->greward[g] = R->gpred[g] == R->glabels[g] ? 1.0f : 0.0f;
    sc_runlog_glimpse_rec rec = {epoch, step, R->glocs, R->gprobs, R->gpred, R->greward, R->gatt};
    return sc_runlog_append_glimpses(R->log, &rec, err);
}

static int alloc_glimpse_set(run *R, const sc_config *c, const sc_canvas_cfg *cc, size_t npix, int *gsplit,
                             const sc_images **gsrc, const int **gpool, int *npool, sc_err *err) {
    int use_val = R->ds.n_val > 0;
    *gsplit = use_val ? SPLIT_VAL : SPLIT_TEST;
    *gsrc = use_val ? &R->ds.train : &R->ds.test;
    *gpool = use_val ? R->ds.val_idx : R->ds.test_idx;
    *npool = use_val ? R->ds.n_val : R->ds.n_test;
    const sc_model_info *in = sc_model_describe(R->model);
    int G = c->glimpse_images < *npool ? c->glimpse_images : *npool;
    if (!in->trajectories) G = 0;  /* fc: nothing to replay */
    R->G = G;
    if (G <= 0) return SC_OK;
    const size_t T = (size_t)in->steps, C = (size_t)R->ds.num_classes;
    const size_t L = (size_t)in->locations;
    R->gcanvas = malloc(sizeof(float) * G * npix);
    R->glocs = malloc(sizeof(float) * G * T * 2);
    R->gprobs = malloc(sizeof(float) * G * T * C);
    R->gatt = L ? malloc(sizeof(float) * G * T * L) : NULL;
    R->greward = malloc(sizeof(float) * G);
    R->glabels = malloc(sizeof(int32_t) * G);
    R->gindex = malloc(sizeof(int32_t) * G);
    R->gpred = malloc(sizeof(int32_t) * G);
    R->gidx = malloc(sizeof(int) * G);
    R->glab = malloc(sizeof(int) * G);
    R->gimg = malloc(G * npix);
    uint64_t *keys = malloc(sizeof(uint64_t) * G);
    if (!R->gcanvas || !R->glocs || !R->gprobs || !R->greward || !R->glabels || !R->gindex || !R->gpred ||
        !R->gidx || !R->glab || !R->gimg || !keys || (L && !R->gatt)) {
        free(keys);
        return sc_errf(err, SC_ENOMEM, "train: out of memory for the %d glimpse images", G);
    }
    for (int g = 0; g < G; g++) {
        R->gidx[g] = (*gpool)[g];
        R->glab[g] = R->glabels[g] = (*gsrc)->labels[R->gidx[g]];
        R->gindex[g] = R->gidx[g];
        keys[g] = sc_canvas_key(*gsplit, 0, R->gidx[g]);
    }
    /* the same canvases the evaluation of that split sees */
    sc_canvas_build(R->gcanvas, NULL, cc, *gsrc, R->gidx, keys, G, *gpool, *npool, c->seed);
    free(keys);
    for (size_t i = 0; i < (size_t)G * npix; i++) {
        float v = R->gcanvas[i] * 255.0f + 0.5f;
        R->gimg[i] = (uint8_t)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
    }
    return SC_OK;
}


/* The state of the schedule, optimizer and model into S, before a checkpoint. */
static void state_sync(sc_ckpt_state *S, const sc_lr_sched *lr, const sc_optim *opt, const sc_model *model) {
    S->baseline_ema = sc_model_baseline_ema(model);
    S->lr_cur = lr->cur;
    S->lr_best = lr->best;
    S->lr_bad_epochs = lr->bad_epochs;
    S->optim_t = opt->t;
}

static int save_checkpoint(run *R, const sc_config *c, sc_ckpt_state *S, const sc_lr_sched *lr,
                           const char *ckpt, const char *log_name, sc_err *err) {
    if (!R->log) return SC_OK;
    state_sync(S, lr, &R->opt, R->model);
    sc_runlog_rows rows;
    sc_runlog_rows_get(R->log, &rows);
    S->log_rows_train = rows.train;
    S->log_rows_eval = rows.eval;
    S->log_rows_glimpses = rows.glimpses;
    int rc = sc_ckpt_save(ckpt, log_name, c, S, sc_model_params(R->model), R->best, &R->opt, err);
    if (rc != SC_OK) return rc;
    sc_runlog_ckpt_row row = {S->epoch, S->batch_in_epoch, S->step, sc_runlog_wall(R->log), S->best_epoch,
                              (float)S->best_val_err};
    if ((rc = sc_runlog_append_checkpoint(R->log, &row, err)) != SC_OK) return rc;
    return sc_runlog_sync(R->log, err);
}

static int append_train_row(run *R, sc_train_acc *a, int epoch, long step, float lr, float std, double ips,
                            sc_err *err) {
    if (R->log) {
        double nb = a->batches;
        sc_runlog_train_row row = {step, epoch, sc_runlog_wall(R->log), (float)ips,
                                   mean_of(a->xent, nb), mean_of(a->reinforce, nb), mean_of(a->baseline_mse, nb),
                                   mean_of(a->reward, nb), mean_of(a->adv_var, nb), mean_of(a->grad_norm, nb),
                                   lr, std, mean_of(a->mu_abs, nb), mean_of(a->mu_spread, nb),
                                   mean_of(a->att_entropy, nb), mean_of(a->att_max, nb),
                                   mean_of(a->rf_grad_var, nb)};
        int rc = sc_runlog_append_train(R->log, &row, err);
        if (rc != SC_OK) return rc;
    }
    memset(a, 0, sizeof *a);
    return SC_OK;
}

/* A training pass's failure: a collective's message (MPI), else the pass's. */
static int pass_error(const sc_dist *d, int rc, const char *pass, int n, sc_err *err) {
    int drc = sc_dist_error(d, SC_OK, err);
    return drc != SC_OK ? drc : sc_errf(err, rc, "train: %s pass over %d images failed", pass, n);
}

/* Whether the log at path has a test row at `epoch` from a session that ended
 * (FINISHED or EARLY_STOP). A run whose every epoch is checkpointed but
 * whose process died before that row (killed during the final test) has
 * not: resuming it runs the final test alone. */
static int run_has_ended(const char *path, int epoch) {
    sc_err e = {0};
    int64_t f = sc_runlog_open_read(path, &e);
    if (f < 0) return 1;  /* unreadable: let the refusal stand */
    double *ep = NULL, *why = NULL;
    size_t ne = 0, nw = 0;
    int ended = 1;
    if (sc_runlog_read_doubles(f, path, "eval/test/epoch", 0, &ep, &ne, &e) == SC_OK &&
        sc_runlog_read_doubles(f, path, "eval/test/reason", 0, &why, &nw, &e) == SC_OK) {
        size_t n = ne < nw ? ne : nw;
        ended = n > 0 && (int)ep[n - 1] == epoch && (why[n - 1] == SC_END_FINISHED || why[n - 1] == SC_END_EARLY_STOP);
    }
    free(ep);
    free(why);
    H5Fclose((hid_t)f);
    return ended;
}

/* The loss term of a batch that is NaN or infinite, or NULL: the cross-entropy,
 * and for a REINFORCE model its surrogate and the baseline's squared error. */
static const char *nonfinite_term(const sc_model_info *in, const sc_model_stats *st, double *value) {
    if (!isfinite(st->xent)) return *value = st->xent, "the cross-entropy";
    if (in->reinforce && !isfinite(st->reinforce)) return *value = st->reinforce, "the REINFORCE term";
    if (in->reinforce && !isfinite(st->baseline_mse)) return *value = st->baseline_mse, "the baseline's squared error";
    return NULL;
}

/* Names the first non-finite value of buf (a loss term's value when name is
 * set, else the first NaN or Inf element of a tensor of ps): "the cross-entropy
 * is NaN", "the gradient of tensor core.W, element 17, is +Inf". 0 if none. */
static int nonfinite_what(char *out, size_t n, const char *term, double value, const sc_params *ps,
                          const float *buf, const char *kind) {
    if (term) {
        snprintf(out, n, "%s is %s", term, nonfinite_name(value));
        return 1;
    }
    size_t at = 0;
    int t = sc_params_nonfinite(ps, buf, &at);
    if (t < 0) return 0;
    snprintf(out, n, "%s%s, element %zu, is %s", kind, ps->p[t].name, at,
             nonfinite_name(buf[ps->p[t].offset + at]));
    return 1;
}

/* ---- one call of sc_train, in phases ------------------------------------------ */

/* Everything one call of sc_train holds: the run's buffers and files (R), the
 * state a checkpoint keeps (S), and the session's set-up and progress. */
typedef struct session {
    const sc_config *c;
    const sc_train_opts *opts;
    sc_train_result *res;
    sc_dist *dist;
    int lead;                     /* rank 0: prints and writes files */
    int quiet;                    /* prints nothing (opts->quiet, or another rank) */
    int resume;                   /* --resume of opts->log_path */
    run R;
    sc_ckpt_state S;
    char ckpt[4096], changed[2048];
    const char *log_name;         /* the log's file name, as the checkpoint records it */
    int created;                  /* this call created the log (removed again if the start fails) */
    int agreed;                   /* the ranks passed the start-up together */
    int halt;                     /* the agreed stop flag */
    /* session_build */
    sc_canvas_cfg cc, cc_train;   /* validation, test and glimpse canvases; training ones (shift) */
    int H, W, C, M;               /* the canvas: height, width, channels; the samples evaluation averages */
    size_t npix;                  /* H W C: floats of one canvas */
    long steps_per_epoch, total_steps;
    const sc_model_info *info;
    sc_cost cost;
    sc_params *ps;
    sc_lr_sched lr;
    sc_eval_ctx ev;               /* session_restore: the validation set's, then the test set's */
    /* session_train */
    progress pg;
    int end_reason, session_epochs;
    double last_val;              /* the latest epoch's validation error in this session */
    double gather_train_s;        /* MPI: the training forwards' share of the gathers */
    double t_start, train_seconds0;
    int64_t images0;
    long long skipped;            /* batches left out by [train] nonfinite = skip */
    struct sigaction old_int, old_term;
} session;

/* Where a pass over the training set is. */
typedef struct epoch_pos {
    int epoch;
    long done;                    /* batches of the epoch taken or skipped */
    double t_ep, t_row, ep_time;  /* the pass's and the log row's start; the pass's length */
    long row_images, ep_images;
    float std, lr_now;            /* the policy std and learning rate of the latest step */
} epoch_pos;

/* A resume is checked completely, and a new log's folder probed, before
 * anything is loaded or written. */
static int session_check(session *s, sc_err *err) {
    const char *path = s->opts->log_path;
    int rc;
    if (s->resume) {
        sc_runlog_info li;
        if ((rc = sc_runlog_inspect(path, &li, err)) != SC_OK) return rc;
        if (li.locked)
            return sc_errf(err, SC_EIO, "%s: being written by another saccade process; wait for it to end", path);
        snprintf(s->ckpt, sizeof s->ckpt, "%s", li.checkpoint);
        if ((rc = sc_ckpt_load(s->ckpt, SC_CKPT_ALL, &s->R.ck, err)) != SC_OK) return rc;
        if (strcmp(s->R.ck.st.run_id, li.run_id) != 0)
            return sc_errf(err, SC_EFORMAT, "%s: belongs to run %s, but %s is run %s", s->ckpt, s->R.ck.st.run_id,
                           path, li.run_id);
        if (sc_resume_config_check(&s->R.ck.config, s->c, path, s->changed, sizeof s->changed, err) > 0)
            return SC_ECONFIG;
        s->S = s->R.ck.st;
        if (s->S.epoch >= s->c->epochs && run_has_ended(path, s->S.epoch))
            return sc_errf(err, SC_ECONFIG, "%s: the run has already trained all %d epochs; to train longer, resume "
                           "with --set train.epochs=N (N > %d)", path, s->S.epoch, s->S.epoch);
    } else if (path) {
        if (sc_run_checkpoint_name(path, s->ckpt, sizeof s->ckpt) < 0)
            return sc_errf(err, SC_EARG, "%s: path too long", path);
        if (s->lead && access(path, F_OK) == 0)
            return sc_errf(err, SC_EIO, "%s: already exists; continue it with --resume or choose another --out", path);
        /* the folder must take files: found out now, not after loading the data */
        int probe = s->lead ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666) : 0;
        if (probe < 0) return sc_errf(err, SC_EIO, "%s: cannot create the run log: %s", path, strerror(errno));
        if (s->lead) {
            close(probe);
            unlink(path);
        }
    }
    if (s->ckpt[0]) {
        s->log_name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        snprintf(s->res->checkpoint, sizeof s->res->checkpoint, "%s", s->ckpt);
    }
    return SC_OK;
}

/* The data, the canvases, the model, the optimizer, the batch order, the
 * batch buffers and the learning-rate schedule, as the config says. */
static int session_build(session *s, sc_err *err) {
    const sc_config *c = s->c;
    run *R = &s->R;
    int rc;
    sc_data_spec spec;
    sc_config_data_spec(c, &spec);
    if ((rc = sc_dataset_open(&R->ds, &spec, c->val_size, c->seed, err)) != SC_OK) return rc;
    if ((rc = sc_config_check_images(c, R->ds.train.h, R->ds.train.w, err)) != SC_OK) return rc;
    if (c->max_train > 0 && c->max_train < R->ds.n_train) R->ds.n_train = c->max_train;
    sc_canvas_cfg_from_config(&s->cc, c);
    /* training canvases may be moved (augmentation); validation, test and glimpse sets never */
    s->cc_train = s->cc;
    s->cc_train.shift = c->shift;
    if ((rc = sc_canvas_check(&s->cc_train, &R->ds.train, err)) != SC_OK) return rc;
    sc_canvas_dims(&s->cc, &R->ds.train, &s->H, &s->W);
    s->C = sc_images_channels(&R->ds.train);
    s->npix = (size_t)s->H * s->W * s->C;
    const int B = c->batch_size, NB = sc_model_batch(c);
    sc_model_cfg mc;
    sc_model_cfg_from_shape(&mc, c, s->H, s->W, s->C, R->ds.num_classes, NB);
    if ((rc = sc_model_create(&R->model, &mc, err)) != SC_OK) return rc;
    if ((rc = sc_model_set_threads(R->model, c->threads, err)) != SC_OK) return rc;
    if ((rc = sc_pool_create(&R->pool, c->threads, err)) != SC_OK) return rc;
    if ((rc = sc_dist_span(s->dist, R->model, c->threads, err)) != SC_OK) return rc;
    s->info = sc_model_describe(R->model);
    s->cost = sc_model_cost(&mc);
    /* a deterministic model is evaluated once: M samples would be M equal passes */
    s->M = s->info->stochastic ? c->mc_samples : 1;
    s->ps = sc_model_params(R->model);
    const size_t n = s->ps->n;
    if ((rc = sc_optim_create(&R->opt, !strcmp(c->optimizer, "sgd") ? SC_OPT_SGD : SC_OPT_ADAM, n, err)) != SC_OK)
        return rc;
    R->opt.momentum = c->momentum;
    R->opt.weight_decay = c->weight_decay;
    sc_rng rorder;
    sc_rng_derive(&rorder, c->seed, STREAM_ORDER);
    if ((rc = sc_batcher_init(&R->batcher, R->ds.train_idx, R->ds.n_train, B, 1, sc_rng_u64(&rorder), err)) != SC_OK)
        return rc;

    R->canvas = malloc(sizeof(float) * NB * s->npix);
    R->logp = malloc(sizeof(float) * NB * R->ds.num_classes);
    R->best = malloc(sizeof(float) * n);
    R->live = c->ema > 0.0f ? malloc(sizeof(float) * n) : NULL;
    R->idx = malloc(sizeof(int) * NB);
    R->labels = malloc(sizeof(int) * NB);
    R->pred = malloc(sizeof(int) * NB);
    R->keys = malloc(sizeof(uint64_t) * NB);
    if (!R->canvas || !R->logp || !R->best || (c->ema > 0.0f && !R->live) || !R->idx || !R->labels || !R->pred ||
        !R->keys)
        return sc_errf(err, SC_ENOMEM, "train: out of memory allocating batch buffers (%d x %dx%dx%d)", NB, s->H,
                       s->W, s->C);
    s->steps_per_epoch = (R->ds.n_train + B - 1) / B;
    s->total_steps = s->steps_per_epoch * c->epochs;
    lr_from_config(&s->lr, c, s->steps_per_epoch);
    return SC_OK;
}

/* The parameters, the optimizer's moments, the schedule and the location
 * generator: exactly the checkpoint's when resuming, else fresh from the seed. */
static int session_restore(session *s, sc_err *err) {
    const sc_config *c = s->c;
    run *R = &s->R;
    sc_ckpt_state *S = &s->S;
    sc_params *ps = s->ps;
    int rc;
    if (s->resume) {
        if ((rc = sc_ckpt_check_params(&R->ck, ps, s->ckpt, err)) != SC_OK) return rc;
        if (S->batch_in_epoch >= s->steps_per_epoch)
            return sc_errf(err, SC_EFORMAT, "%s: position %lld inside an epoch of %ld batches", s->ckpt,
                           (long long)S->batch_in_epoch, s->steps_per_epoch);
        sc_ckpt_unpack(&R->ck, R->ck.params, ps, ps->data);
        memcpy(R->best, ps->data, sizeof(float) * ps->n);
        sc_ckpt_unpack(&R->ck, R->ck.best, ps, R->best);
        sc_ckpt_unpack(&R->ck, R->ck.m, ps, R->opt.m);
        if (R->opt.v) sc_ckpt_unpack(&R->ck, R->ck.v, ps, R->opt.v);
        if (c->ema > 0.0f) {
            /* the checkpoint's average, or (ema switched on at resume) the parameters as its start */
            if ((rc = sc_optim_enable_ema(&R->opt, c->ema, ps->data, err)) != SC_OK) return rc;
            if (R->ck.ema) sc_ckpt_unpack(&R->ck, R->ck.ema, ps, R->opt.ema);
        }
        R->opt.t = S->optim_t;
        s->lr.cur = S->lr_cur;
        s->lr.best = S->lr_best;
        s->lr.bad_epochs = S->lr_bad_epochs;
        sc_model_set_baseline_ema(R->model, S->baseline_ema);
        sc_ckpt_free(&R->ck);
    } else {
        sc_rng rinit;
        sc_rng_derive(&rinit, c->seed, STREAM_INIT);
        sc_model_init_params(R->model, &rinit);
        memcpy(R->best, ps->data, sizeof(float) * ps->n);
        if (c->ema > 0.0f && (rc = sc_optim_enable_ema(&R->opt, c->ema, ps->data, err)) != SC_OK) return rc;
        sc_rng_derive(&S->rloc, c->seed, STREAM_LOC);
        S->best_val_err = INFINITY;
        S->best_std = sc_policy_std(c, 0, s->total_steps);
        make_run_id(S->run_id, sizeof S->run_id);
    }
    /* validation canvases draw distractors from the validation split itself */
    sc_eval_ctx ev = {R->model, &R->ds.train, &s->cc, R->ds.val_idx, R->ds.n_val, c->seed, c->loc_std,
                      sc_eval_batch(c), R->canvas, R->idx, R->labels, R->pred, R->keys, R->logp,
                      !strcmp(c->test_policy, "mean")};
    s->ev = ev;
    return SC_OK;
}

/* Rank 0's run log: a new one (with the glimpse set), or the resumed one cut
 * back to the checkpoint's rows with a new /sessions row. */
static int log_open(session *s, int gsplit, sc_err *err) {
    const sc_config *c = s->c;
    const sc_train_opts *o = s->opts;
    run *R = &s->R;
    const sc_ckpt_state *S = &s->S;
    char *ctext = sc_config_to_string(c);
    if (!ctext) return sc_errf(err, SC_ENOMEM, "train: out of memory");
    int rc;
    if (s->resume) {
        sc_runlog_rows keep = {S->log_rows_train, S->log_rows_eval, S->log_rows_glimpses};
        sc_runlog_glimpse_set shape = {.G = R->G, .T = s->info->steps, .C = R->ds.num_classes,
                                       .L = s->info->locations, .h = s->H, .w = s->W, .channels = s->C};
        rc = sc_runlog_resume(&R->log, o->log_path, &keep, &shape, o->command_line, ctext, c->threads, S->epoch,
                              S->step, err);
    } else {
        const char *ckpt_name = strrchr(s->ckpt, '/') ? strrchr(s->ckpt, '/') + 1 : s->ckpt;
        sc_runlog_meta meta = {S->run_id, o->command_line, o->config_file, o->config_file_text, ctext, ckpt_name,
                               c->seed, c->threads, (int64_t)sc_params_count(s->ps), s->cost.macs_infer,
                               R->ds.n_train, R->ds.n_val, R->ds.n_test, R->ds.num_classes, s->W,
                               (int)s->steps_per_epoch, s->info->name, s->cost.macs_train, s->cost.pixels_read,
                               s->cost.retina_adds, s->H, s->W, s->C, NULL};
        /* the class names, one per line */
        char *names = malloc((size_t)R->ds.num_classes * SC_CLASS_NAME_MAX + 1);
        if (!names) {
            free(ctext);
            return sc_errf(err, SC_ENOMEM, "train: out of memory");
        }
        size_t at = 0;
        for (int k = 0; k < R->ds.num_classes; k++) {
            char nb[16];
            at += (size_t)sprintf(names + at, "%s%s", k ? "\n" : "", sc_dataset_class_name(&R->ds, k, nb, sizeof nb));
        }
        meta.class_names = names;
        char *ftext = NULL;
        if (!o->config_file_text && o->config_file) meta.config_file_text = ftext = sc_read_text(o->config_file);
        sc_runlog_glimpse_set gs = {R->G, s->info->steps, R->ds.num_classes, s->W,
                                    gsplit == SPLIT_VAL ? "val" : "test", R->gimg, R->glabels, R->gindex,
                                    s->info->locations, sc_model_grid(R->model), s->H, s->W, s->C};
        rc = sc_runlog_create(&R->log, o->log_path, &meta, &gs, err);
        free(ftext);
        free(names);
        s->created = rc == SC_OK;
    }
    free(ctext);
    return rc;
}

/* The run log, the first glimpse record and checkpoint of a new run, and the
 * ranks' agreement that the start-up went well everywhere. */
static int session_open_log(session *s, sc_err *err) {
    int rc;
    if (s->opts->log_path) {
        int gsplit, gnpool;
        const sc_images *gsrc;
        const int *gpool;
        if ((rc = alloc_glimpse_set(&s->R, s->c, &s->cc, s->npix, &gsplit, &gsrc, &gpool, &gnpool, err)) != SC_OK)
            return rc;
        /* every rank has read what it needs (a resumed log too): rank 0 may now write */
        s->agreed = 1;
        if ((rc = sc_dist_agree(s->dist, SC_OK, err)) != SC_OK) return rc;
        /* the other ranks open no file for writing */
        if (s->lead && (rc = log_open(s, gsplit, err)) != SC_OK) return rc;
        if (!s->resume) {
            /* the initial policy, and a checkpoint so that any kill can be resumed */
            float std0 = sc_policy_std(s->c, 0, s->total_steps);
            if ((rc = record_glimpses(&s->R, s->c, 0, 0, std0, s->npix, err)) != SC_OK) return rc;
            if ((rc = save_checkpoint(&s->R, s->c, &s->S, &s->lr, s->ckpt, s->log_name, err)) != SC_OK) return rc;
        }
    }
    s->created = 0;  /* from here on the log is a run's record and stays */
    if (!s->agreed) {
        s->agreed = 1;
        if ((rc = sc_dist_agree(s->dist, SC_OK, err)) != SC_OK) return rc;
    }
    return SC_OK;
}

/* What the session trains on, with, and from where. */
static void session_header(const session *s) {
    const sc_config *c = s->c;
    const sc_dataset *ds = &s->R.ds;
    const sc_model_info *info = s->info;
    const sc_ckpt_state *S = &s->S;
    if (s->quiet) return;
    printf("data: %s %s canvas %dx%d%s, %d train / %d validation / %d test images, %d classes\n", c->dataset,
           c->canvas, s->H, s->W, s->C == 3 ? " RGB" : "", ds->n_train, ds->n_val, ds->n_test, ds->num_classes);
    printf("model: %s, %zu parameters, %.3f MFLOPs per image (inference; %.3f per training step), %.0f "
           "pixels read per image, %s\n", info->name, sc_params_count(s->ps), s->cost.flops_infer / 1e6,
           s->cost.flops_train / 1e6, s->cost.pixels_read, sc_blas_config());
    if (s->cost.attn_macs_infer > 0)  /* self-attention: its cost grows with the square of the tokens */
        printf("attention over %d tokens (grows as T^2): %.3f of those MFLOPs (%.3f of the training step's)\n",
               info->locations, 2e-6 * s->cost.attn_macs_infer, 2e-6 * s->cost.attn_macs_train);
    if (s->dist)
        printf("MPI: %d ranks x %d threads = %d data-parallel workers, OpenBLAS at 1 thread each\n",
               sc_dist_size(s->dist), c->threads, sc_dist_size(s->dist) * c->threads);
    else if (info->workers > 1)
        printf("threads: %d data-parallel workers, OpenBLAS at 1 thread each\n", c->threads);
    if (s->opts->log_path) printf("run log: %s (checkpoint %s)\n", s->opts->log_path, s->ckpt);
    if (s->resume) {
        printf("resuming at epoch %d", S->epoch + 1);
        if (S->batch_in_epoch) printf(", batch %lld", (long long)S->batch_in_epoch + 1);
        printf(" (step %lld, best validation error %.2f%% at epoch %d)\n", (long long)S->step, S->best_val_err,
               S->best_epoch);
        if (s->changed[0]) printf("changed for this session:\n%s", s->changed);
        if (strstr(s->changed, "train.threads:"))
            printf("note: with another thread count the continuation may differ in the last bits from an "
                   "uninterrupted run\n");
    }
    fflush(stdout);
}

/* The non-finite guard after backward: a NaN or Inf in a loss term or the
 * gradient stops the session at this step (SC_ENONFINITE with the line), or
 * with [train] nonfinite = skip leaves the update out (*skip = 1; printed and
 * counted). The checkpoint and the best parameters are untouched either way. */
static int guard_gradient(session *s, epoch_pos *p, const sc_model_stats *st, float gnorm, int *skip,
                          sc_err *err) {
    char what[160] = "";
    double tv = 0.0;
    const char *term = nonfinite_term(s->info, st, &tv);
    const char *g = "the gradient of tensor ";
    /* a NaN or infinity in the gradient makes its norm (summed in double) non-finite, so the gradient
       is searched only then, to name what went wrong */
    int bad = term ? nonfinite_what(what, sizeof what, term, tv, s->ps, s->ps->grad, g)
                   : !isfinite(gnorm) && nonfinite_what(what, sizeof what, NULL, 0, s->ps, s->ps->grad, g);
    int rc;
    if ((rc = sc_dist_any(s->dist, bad, &bad, err)) != SC_OK) return rc;
    if (!bad) return SC_OK;
    if (!what[0]) snprintf(what, sizeof what, "a value on another rank");
    if (strcmp(s->c->nonfinite, "skip") != 0)
        return diverged(err, what, p->epoch, s->S.step + 1, p->lr_now, &s->S, s->opts->log_path);
    s->skipped++;
    p->done++;
    *skip = 1;
    if (s->lead)
        printf("epoch %d batch %ld of %ld (after step %lld): %s; batch skipped ([train] nonfinite = skip, %lld so "
               "far)\n", p->epoch, p->done, s->steps_per_epoch, (long long)s->S.step, what, s->skipped);
    fflush(stdout);
    return SC_OK;
}

/* After the optimizer's step: finite gradients can still carry the
 * parameters past the float range. */
static int guard_parameters(session *s, const epoch_pos *p, sc_err *err) {
    char what[160] = "";
    int bad = nonfinite_what(what, sizeof what, NULL, 0, s->ps, s->ps->data, "parameter tensor ");
    int rc;
    if ((rc = sc_dist_any(s->dist, bad, &bad, err)) != SC_OK) return rc;
    if (!bad) return SC_OK;
    if (!what[0]) snprintf(what, sizeof what, "a parameter on another rank");
    return diverged(err, what, p->epoch, s->S.step + 1, p->lr_now, &s->S, s->opts->log_path);
}

/* After a step: a /train row every train_every steps, the progress bar (or,
 * without a terminal, a line every log_every steps). */
static int step_report(session *s, epoch_pos *p, sc_err *err) {
    const sc_config *c = s->c;
    const sc_ckpt_state *S = &s->S;
    const sc_model_info *info = s->info;
    double t = now_s(), el = t - p->t_ep;
    double ips = p->ep_images / (el > 1e-9 ? el : 1e-9);
    if (S->step % c->train_every == 0) {
        int rc = append_train_row(&s->R, &s->S.row_acc, p->epoch, S->step, p->lr_now, info->stochastic ? p->std : NAN,
                                  p->row_images / (t - p->t_row > 1e-9 ? t - p->t_row : 1e-9), err);
        if (rc != SC_OK) return rc;
        p->t_row = now_s();
        p->row_images = 0;
    }
    double remaining = (double)(s->R.ds.n_train - S->epoch_acc.images) / ips;
    progress_draw(&s->pg, info, p->epoch, c->epochs, (long)S->epoch_acc.images, s->R.ds.n_train, &S->epoch_acc, ips,
                  remaining, 0);
    if (!s->pg.tty && !s->quiet && S->step % c->log_every == 0) {
        const sc_train_acc *a = &S->epoch_acc;
        double nb = a->batches;
        char terms[160];
        fmt_terms(terms, sizeof terms, info, a, 1);
        printf("epoch %d step %lld: %.0f img/s %s, reward %.4f", p->epoch, (long long)S->step, ips, terms,
               a->reward / nb);
        if (info->reinforce) printf(", adv_var %.4f", a->adv_var / nb);
        printf(", |g| %.3g, lr %.3g", a->grad_norm / nb, p->lr_now);
        if (info->stochastic) printf(", std %.3f", p->std);
        printf("\n");
        fflush(stdout);
    }
    return SC_OK;
}

/* One batch of n images (their indices in R.idx): canvases, forward,
 * backward, the non-finite guards around the optimizer's step, the running
 * sums and the report. */
static int train_step(session *s, epoch_pos *p, int n, sc_err *err) {
    const sc_config *c = s->c;
    run *R = &s->R;
    sc_ckpt_state *S = &s->S;
    sc_params *ps = s->ps;
    int rc;
    for (int b = 0; b < n; b++) {
        R->labels[b] = R->ds.train.labels[R->idx[b]];
        R->keys[b] = sc_canvas_key(SPLIT_TRAIN, p->epoch, R->idx[b]);
    }
    sc_canvas_build_on(R->pool, R->canvas, NULL, &s->cc_train, &R->ds.train, R->idx, R->keys, n, R->ds.train_idx,
                       R->ds.n_train, c->seed);
    p->std = sc_policy_std(c, S->step, s->total_steps);
    sc_model_stats st;
    sc_dist_times dt;
    sc_dist_times_get(s->dist, &dt);
    const double g0 = dt.gather_s;
    if ((rc = sc_model_forward(R->model, R->canvas, R->labels, n, p->std, &S->rloc, &st)) != SC_OK)
        return pass_error(s->dist, rc, "forward", n, err);
    if (s->dist) {
        sc_dist_times_get(s->dist, &dt);
        s->gather_train_s += dt.gather_s - g0;
    }
    sc_params_zero_grad_on(ps, R->pool);
    if ((rc = sc_model_backward(R->model, R->labels, n, p->std)) != SC_OK)
        return pass_error(s->dist, rc, "backward", n, err);
    float gnorm = sc_clip_grad_norm(ps->grad, ps->n, c->clip);
    p->lr_now = sc_lr_at(&s->lr, S->step);
    int skip = 0;
    if ((rc = guard_gradient(s, p, &st, gnorm, &skip, err)) != SC_OK || skip) return rc;
    sc_optim_step_on(&R->opt, ps->data, ps->grad, p->lr_now, R->pool);
    if ((rc = guard_parameters(s, p, err)) != SC_OK) return rc;
    S->step++;
    p->done++;
    acc_add(&S->epoch_acc, &st, gnorm, n);
    acc_add(&S->row_acc, &st, gnorm, n);
    S->images_total += n;
    p->row_images += n;
    p->ep_images += n;
    return step_report(s, p, err);
}

/* One pass over the training set (its rest, resuming inside the epoch): a
 * step per batch until the batches run out or a signal stops every rank. */
static int train_pass(session *s, int epoch, epoch_pos *p, sc_err *err) {
    sc_ckpt_state *S = &s->S;
    int rc, n;
    memset(p, 0, sizeof *p);
    p->epoch = epoch;
    sc_batcher_epoch(&s->R.batcher, epoch);
    p->done = (long)S->batch_in_epoch;  /* > 0 only when resuming inside this epoch */
    for (long k = 0; k < p->done; k++) sc_batcher_next(&s->R.batcher, s->R.idx);
    if (p->done == 0) {
        memset(&S->epoch_acc, 0, sizeof S->epoch_acc);
        memset(&S->row_acc, 0, sizeof S->row_acc);
    }
    S->batch_in_epoch = 0;
    p->t_ep = p->t_row = now_s();
    p->std = sc_policy_std(s->c, S->step, s->total_steps);
    p->lr_now = sc_lr_at(&s->lr, S->step);
    for (;;) {
        /* every rank stops at the same batch */
        if ((rc = sc_dist_any(s->dist, g_stop, &s->halt, err)) != SC_OK) return rc;
        if (s->halt || (n = sc_batcher_next(&s->R.batcher, s->R.idx)) <= 0) break;
        if ((rc = train_step(s, p, n, err)) != SC_OK) return rc;
    }
    p->ep_time = now_s() - p->t_ep;
    S->train_seconds += p->ep_time;
    const sc_train_acc *a = &S->epoch_acc;
    if (a->batches > 0) {
        s->res->final_xent = a->xent / a->batches;
        s->res->final_reward = a->reward / a->batches;
    }
    return SC_OK;
}

/* The epoch's line: throughput, loss terms, training accuracy, validation. */
static void epoch_line(const session *s, const epoch_pos *p, double v1, double vm) {
    const sc_train_acc *a = &s->S.epoch_acc;
    const double nb = a->batches;
    char terms[160];
    fmt_terms(terms, sizeof terms, s->info, a, 1);
    printf("epoch %d/%d: %.0f img/s, %s, train acc %.2f%%, ", p->epoch, s->c->epochs, p->ep_images / p->ep_time,
           terms, 100.0 * a->reward / nb);
    if (s->info->stochastic)
        printf("val err %.2f%% (M=1) %.2f%% (M=%d), |mu| %.3f, mu spread %.3f, lr %.3g, std %.3f", v1, vm, s->M,
               a->mu_abs / nb, a->mu_spread / nb, p->lr_now, s->ev.std);
    else
        printf("val err %.2f%%, lr %.3g", v1, p->lr_now);
    printf(", %.1fs\n", p->ep_time);
    fflush(stdout);
}

/* After a full pass: the validation error (of the average, with [train]
 * ema), the best parameters so far, early stopping, the glimpse record, the
 * epoch's /eval row and a checkpoint. */
static int epoch_end(session *s, const epoch_pos *p, sc_err *err) {
    const sc_config *c = s->c;
    run *R = &s->R;
    sc_ckpt_state *S = &s->S;
    sc_params *ps = s->ps;
    const sc_train_acc *a = &S->epoch_acc;
    const double nb = a->batches;
    const int epoch = p->epoch;
    int rc;
    /* with [train] ema the average is what is validated, kept as best and shown:
     * it takes the parameters' place until the checkpoint below */
    if (R->opt.ema) {
        memcpy(R->live, ps->data, sizeof(float) * ps->n);
        memcpy(ps->data, R->opt.ema, sizeof(float) * ps->n);
    }
    s->ev.std = sc_policy_std(c, S->step, s->total_steps);
    double v1 = sc_eval_error(&s->ev, R->ds.val_idx, R->ds.n_val, SPLIT_VAL, 1);
    double vm = s->M > 1 ? sc_eval_error(&s->ev, R->ds.val_idx, R->ds.n_val, SPLIT_VAL, s->M) : v1;
    if ((rc = sc_dist_error(s->dist, SC_OK, err)) != SC_OK) return rc;
    if (s->pg.tty) printf("\r\033[K");
    if (!s->quiet) epoch_line(s, p, v1, vm);
    double metric = R->ds.n_val > 0 ? v1 : 100.0 * (1.0 - a->reward / nb);
    s->last_val = metric;
    sc_lr_epoch_end(&s->lr, metric);
    int is_best = metric < S->best_val_err;
    if (is_best) {
        S->best_val_err = metric;
        S->best_epoch = epoch;
        S->best_std = s->ev.std;
        memcpy(R->best, ps->data, sizeof(float) * ps->n);
        S->bad_epochs = 0;
    } else if (c->early_stop > 0 && ++S->bad_epochs >= c->early_stop) {
        s->end_reason = SC_END_EARLY_STOP;
    }
    S->epoch = epoch;
    int last = epoch == c->epochs || s->end_reason == SC_END_EARLY_STOP;
    if (epoch % c->glimpse_every == 0 || last)
        if ((rc = record_glimpses(R, c, epoch, S->step, s->ev.std, s->npix, err)) != SC_OK) return rc;
    if (R->log) {
        const float std = s->info->stochastic ? s->ev.std : NAN;
        sc_runlog_eval_row er = {epoch, S->step, sc_runlog_wall(R->log), (float)v1, (float)vm,
                                 (float)S->best_val_err, (uint8_t)is_best, p->lr_now, std,
                                 mean_of(a->xent, nb), mean_of(a->reinforce, nb), mean_of(a->baseline_mse, nb),
                                 mean_of(a->reward, nb), mean_of(a->grad_norm, nb),
                                 (float)(p->ep_images / p->ep_time), (float)p->ep_time};
        if ((rc = sc_runlog_append_eval(R->log, &er, err)) != SC_OK) return rc;
    }
    if (R->opt.ema) memcpy(ps->data, R->live, sizeof(float) * ps->n);
    return save_checkpoint(R, c, S, &s->lr, s->ckpt, s->log_name, err);
}

/* The epochs: each a pass over the training set, then validation and a
 * checkpoint, until the last epoch, an early stop, a pause or a signal. */
static int session_train(session *s, sc_err *err) {
    const sc_config *c = s->c;
    sc_ckpt_state *S = &s->S;
    int rc;
    s->pg.tty = s->lead && isatty(STDOUT_FILENO);
    s->train_seconds0 = S->train_seconds;
    s->images0 = S->images_total;
    sc_dist_times dt0, dt1;
    sc_dist_times_get(s->dist, &dt0);
    if ((rc = sc_dist_any(s->dist, g_stop, &s->halt, err)) != SC_OK) return rc;
    for (int epoch = S->epoch + 1; epoch <= c->epochs && !s->halt; epoch++) {
        epoch_pos p;
        if ((rc = train_pass(s, epoch, &p, err)) != SC_OK) return rc;
        if (p.done < s->steps_per_epoch) {
            /* stopped by a signal inside the epoch: checkpoint the position */
            if (s->pg.tty) printf("\n");
            if (s->lead)
                printf("interrupted in epoch %d after %ld of %ld batches; checkpointing\n", epoch, p.done,
                       s->steps_per_epoch);
            fflush(stdout);
            S->batch_in_epoch = p.done;
            s->end_reason = SC_END_INTERRUPTED;
            if ((rc = save_checkpoint(&s->R, c, S, &s->lr, s->ckpt, s->log_name, err)) != SC_OK) return rc;
            break;
        }
        if (S->row_acc.batches > 0) {
            double t = now_s() - p.t_row;
            rc = append_train_row(&s->R, &S->row_acc, epoch, S->step, p.lr_now, s->info->stochastic ? p.std : NAN,
                                  p.row_images / (t > 1e-9 ? t : 1e-9), err);
            if (rc != SC_OK) return rc;
        }
        if ((rc = epoch_end(s, &p, err)) != SC_OK) return rc;
        if (s->end_reason == SC_END_EARLY_STOP) {
            if (s->lead) printf("early stop: no validation improvement for %d epochs\n", S->bad_epochs);
            break;
        }
        if ((rc = sc_dist_any(s->dist, g_stop, &s->halt, err)) != SC_OK) return rc;
        if (s->halt) s->end_reason = SC_END_INTERRUPTED;
        if (s->opts->stop_after > 0 && ++s->session_epochs >= s->opts->stop_after && epoch < c->epochs && !s->halt) {
            s->end_reason = SC_END_PAUSED;
            break;
        }
    }
    if (s->halt && s->end_reason == SC_END_FINISHED) s->end_reason = SC_END_INTERRUPTED;
    if (s->dist) {
        sc_dist_times_get(s->dist, &dt1);
        long steps = dt1.reductions - dt0.reductions;
        s->res->reduce_ms = steps > 0 ? 1e3 * (dt1.reduce_s - dt0.reduce_s) / steps : 0.0;
        s->res->gather_ms = steps > 0 ? 1e3 * s->gather_train_s / steps : 0.0;
    }
    return SC_OK;
}

/* The test error of the kept parameters (the best ones at the std they were
 * validated with, or with [train] keep = last the final ones, their average
 * with ema), the inference time, the /eval/test row and the session's end. */
static int session_test(session *s, sc_err *err) {
    const sc_config *c = s->c;
    run *R = &s->R;
    const sc_ckpt_state *S = &s->S;
    sc_params *ps = s->ps;
    sc_train_result *res = s->res;
    sc_eval_ctx *ev = &s->ev;
    int rc;
    res->interrupted = s->end_reason == SC_END_INTERRUPTED;
    res->early_stopped = s->end_reason == SC_END_EARLY_STOP;
    res->paused = s->end_reason == SC_END_PAUSED;
    res->epochs_run = S->epoch;
    res->best_val_err = S->best_val_err;
    res->best_epoch = S->best_epoch;
    double tsec = S->train_seconds - s->train_seconds0;
    res->images_per_s = tsec > 0 ? (double)(S->images_total - s->images0) / tsec : 0.0;
    const int keep_last = !strcmp(c->keep, "last");
    if (keep_last) {
        if (R->opt.ema) memcpy(ps->data, R->opt.ema, sizeof(float) * ps->n);
        ev->std = sc_policy_std(c, S->step, s->total_steps);
    } else {
        memcpy(ps->data, R->best, sizeof(float) * ps->n);
        ev->std = S->best_std;
    }
    res->kept_epoch = keep_last ? S->epoch : S->best_epoch;
    res->kept_val_err = keep_last ? s->last_val : S->best_val_err;
    ev->src = &R->ds.test;
    ev->distractor_pool = R->ds.test_idx;
    ev->npool = R->ds.n_test;
    res->test_err_m1 = sc_eval_error(ev, R->ds.test_idx, R->ds.n_test, SPLIT_TEST, 1);
    res->test_err_mc = s->M > 1 ? sc_eval_error(ev, R->ds.test_idx, R->ds.n_test, SPLIT_TEST, s->M) : res->test_err_m1;
    res->us_per_image = sc_measure_inference(ev, R->ds.test_idx, R->ds.n_test, SPLIT_TEST, 5);
    res->wall_s = now_s() - s->t_start;
    if ((rc = sc_dist_error(s->dist, SC_OK, err)) != SC_OK) return rc;
    if (!R->log) return SC_OK;
    sc_runlog_test_row tr = {S->epoch, S->step, sc_runlog_wall(R->log), res->kept_epoch, (float)res->kept_val_err,
                             (float)res->test_err_m1, (float)res->test_err_mc, s->M, (int8_t)s->end_reason,
                             (float)res->us_per_image, S->train_seconds};
    if ((rc = sc_runlog_append_test(R->log, &tr, err)) != SC_OK) return rc;
    if ((rc = sc_runlog_end_session_note(R->log, s->end_reason, S->epoch, S->step, "", s->skipped, err)) != SC_OK)
        return rc;
    return sc_runlog_sync(R->log, err);
}

/* SIGINT and SIGTERM stop training at the next batch (g_stop); restored
 * before the final test, so that a second Ctrl-C then ends the process. */
static void signals_catch(session *s) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_stop = 0;
    sigaction(SIGINT, &sa, &s->old_int);
    sigaction(SIGTERM, &sa, &s->old_term);
}

static void signals_restore(session *s) {
    sigaction(SIGINT, &s->old_int, NULL);
    sigaction(SIGTERM, &s->old_term, NULL);
}

/* The end of a session that failed with rc: the ranks agree if they have not
 * yet, the log records how it ended (a diverged session with its line; the
 * last checkpoint stays), and a new run that could not start leaves nothing. */
static int session_fail(session *s, int rc, sc_err *err) {
    /* a rank that fails before the start-up agreement still takes part in it */
    if (!s->agreed) rc = sc_dist_agree(s->dist, rc, err);
    if (s->R.log && !s->created) {
        sc_err ignore = {0};
        int why = rc == SC_ENONFINITE ? SC_END_DIVERGED : SC_END_FAILED;
        sc_runlog_end_session_note(s->R.log, why, s->S.epoch, s->S.step, rc == SC_ENONFINITE ? err->msg : "",
                                   s->skipped, &ignore);
    }
    run_free(&s->R);
    if (s->created) {
        unlink(s->opts->log_path);
        unlink(s->ckpt);
    }
    return rc;
}

int sc_train(const sc_config *c, const sc_train_opts *opts, sc_train_result *res, sc_err *err) {
    session s;
    memset(&s, 0, sizeof s);
    memset(res, 0, sizeof *res);
    s.c = c;
    s.opts = opts;
    s.res = res;
    s.dist = opts->dist;
    s.lead = sc_dist_rank(s.dist) == 0;
    s.quiet = opts->quiet || !s.lead;
    s.resume = opts->resume && opts->log_path;
    s.t_start = now_s();
    s.end_reason = SC_END_FINISHED;
    s.last_val = NAN;
    int rc = session_check(&s, err);
    if (rc == SC_OK) rc = session_build(&s, err);
    if (rc == SC_OK) rc = session_restore(&s, err);
    if (rc == SC_OK) rc = session_open_log(&s, err);
    if (rc == SC_OK) {
        session_header(&s);
        signals_catch(&s);
        rc = session_train(&s, err);
        signals_restore(&s);  /* from here a second Ctrl-C ends the process: the checkpoint is written */
    }
    if (rc == SC_OK) rc = session_test(&s, err);
    if (rc != SC_OK) return session_fail(&s, rc, err);
    run_free(&s.R);
    return SC_OK;
}
