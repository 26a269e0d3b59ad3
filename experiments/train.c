/* train.c - the training loop, evaluation, progress display, and the run log
 * and checkpoints that make a run observable and resumable.
 *
 * One run: load the data, build the model (agent/model.h: ram, soft or fc,
 * behind one interface), then per epoch iterate shuffled minibatches
 * (canvases built per batch from the seed), take one optimizer step per
 * batch, evaluate on the validation set (M=1 and M=mc_samples for a model
 * that samples, one pass for a deterministic one), keep the best parameters,
 * log, checkpoint; finally report the test error of the best parameters and
 * the measured inference time. SIGINT/SIGTERM stop at the next batch,
 * checkpoint the position inside the epoch, and still report.
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

#include "experiments/runlog.h"
#include "experiments/textfile.h"
#include "nets/blas.h"
#include "nets/optim.h"

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
    memset(mc, 0, sizeof *mc);
    sc_err ignore = {0};
    if (sc_model_kind_parse(c->kind, &mc->kind, &ignore) != SC_OK) mc->kind = SC_MODEL_RAM;
    sc_ram_cfg_from_config(&mc->ram, c, canvas_side, num_classes, max_batch);
    sc_soft_cfg *s = &mc->soft;
    s->img_h = s->img_w = canvas_side;
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
    f->img_h = f->img_w = canvas_side;
    f->num_classes = num_classes;
    f->layers = c->fc_layers;
    f->hidden = c->fc_hidden;
    f->max_batch = max_batch;
    sc_sa_cfg *a = &mc->selfattn;
    a->img_h = a->img_w = canvas_side;
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
    if (!strcmp(c->kind, "soft") || !strcmp(c->kind, "selfattn")) return c->batch_size;
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

double sc_eval_error(sc_eval_ctx *e, const int *pool, int n, int split, int M) {
    if (n <= 0) return NAN;
    sc_rng r;
    sc_rng_derive(&r, e->seed, STREAM_EVAL);
    long correct = 0;
    for (int start = 0; start < n; start += e->B) {
        int B = n - start < e->B ? n - start : e->B;
        eval_batch_build(e, pool, start, B, split);
        int k = sc_model_predict(e->model, e->canvas_buf, e->labels, B, M, e->std, &r, e->logp, e->pred);
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
    if (sc_model_predict(e->model, e->canvas_buf, NULL, B, 1, e->std, &r, e->logp, e->pred) < 0) return NAN;
    double t[16];
    if (runs > 16) runs = 16;
    for (int i = 0; i < runs; i++) {
        double t0 = now_s();
        if (sc_model_predict(e->model, e->canvas_buf, NULL, B, 1, e->std, &r, e->logp, e->pred) < 0) return NAN;
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
    a->att_entropy += st->att_entropy; a->att_max += st->att_max;
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
static int record_glimpses(run *R, const sc_config *c, int epoch, long step, float std, int side, sc_err *err) {
    if (R->G <= 0) return SC_OK;  /* on every rank when the model spans ranks: its trace is a collective */
    const sc_model_info *in = sc_model_describe(R->model);
    const int T = in->steps, C = in->num_classes, NB = in->max_batch, L = in->locations;
    const size_t npix = (size_t)side * side;
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

static int alloc_glimpse_set(run *R, const sc_config *c, const sc_canvas_cfg *cc, int side, int *gsplit,
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
    const size_t npix = (size_t)side * side, T = (size_t)in->steps, C = (size_t)R->ds.num_classes;
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
                                   mean_of(a->att_entropy, nb), mean_of(a->att_max, nb)};
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

int sc_train(const sc_config *c, const sc_train_opts *opts, sc_train_result *res, sc_err *err) {
    run R;
    memset(&R, 0, sizeof R);
    memset(res, 0, sizeof *res);
    int rc;
    const uint64_t seed = c->seed;
    const int resume = opts->resume && opts->log_path;
    char ckpt[4096] = "", changed[2048] = "";
    const char *log_name = NULL;
    sc_runlog_info li;
    sc_ckpt_state S;
    memset(&S, 0, sizeof S);
    int created = 0;  /* this call created the log (removed again if the start fails) */
    char what[160] = "";    /* the non-finite term or tensor, for the guard's line */
    long long skipped = 0;  /* batches left out by [train] nonfinite = skip */
    double t_start = now_s();
    sc_dist *dist = opts->dist;
    const int lead = sc_dist_rank(dist) == 0;  /* prints and writes files */
    const int quiet = opts->quiet || !lead;
    int agreed = 0;  /* the ranks passed the start-up together */
    int halt = 0;    /* the agreed stop flag */

    /* ---- a resume is checked completely before anything is written */
    if (resume) {
        if ((rc = sc_runlog_inspect(opts->log_path, &li, err)) != SC_OK) return rc;
        if (li.locked)
            return sc_errf(err, SC_EIO, "%s: being written by another saccade process; wait for it to end",
                           opts->log_path);
        snprintf(ckpt, sizeof ckpt, "%s", li.checkpoint);
        if ((rc = sc_ckpt_load(ckpt, SC_CKPT_ALL, &R.ck, err)) != SC_OK) goto fail;
        if (strcmp(R.ck.st.run_id, li.run_id) != 0) {
            rc = sc_errf(err, SC_EFORMAT, "%s: belongs to run %s, but %s is run %s", ckpt, R.ck.st.run_id,
                         opts->log_path, li.run_id);
            goto fail;
        }
        if (sc_resume_config_check(&R.ck.config, c, opts->log_path, changed, sizeof changed, err) > 0) {
            rc = SC_ECONFIG;
            goto fail;
        }
        S = R.ck.st;
        if (S.epoch >= c->epochs && run_has_ended(opts->log_path, S.epoch)) {
            rc = sc_errf(err, SC_ECONFIG, "%s: the run has already trained all %d epochs; to train longer, resume "
                         "with --set train.epochs=N (N > %d)", opts->log_path, S.epoch, S.epoch);
            goto fail;
        }
    } else if (opts->log_path) {
        if (sc_run_checkpoint_name(opts->log_path, ckpt, sizeof ckpt) < 0) {
            rc = sc_errf(err, SC_EARG, "%s: path too long", opts->log_path);
            goto fail;
        }
        if (lead && access(opts->log_path, F_OK) == 0) {
            rc = sc_errf(err, SC_EIO, "%s: already exists; continue it with --resume or choose another --out",
                         opts->log_path);
            goto fail;
        }
        /* the folder must take files: found out now, not after loading the data */
        int probe = lead ? open(opts->log_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666) : 0;
        if (probe < 0) {
            rc = sc_errf(err, SC_EIO, "%s: cannot create the run log: %s", opts->log_path, strerror(errno));
            goto fail;
        }
        if (lead) {
            close(probe);
            unlink(opts->log_path);
        }
    }
    if (ckpt[0]) {
        log_name = strrchr(opts->log_path, '/');
        log_name = log_name ? log_name + 1 : opts->log_path;
        snprintf(res->checkpoint, sizeof res->checkpoint, "%s", ckpt);
    }

    if ((rc = sc_dataset_load(&R.ds, sc_config_data_dir(c), sc_config_data_classes(c), c->val_size, seed, err)) != SC_OK) goto fail;
    if (c->max_train > 0 && c->max_train < R.ds.n_train) R.ds.n_train = c->max_train;

    sc_canvas_cfg cc;
    sc_canvas_cfg_from_config(&cc, c);
    /* training canvases may be moved (augmentation); validation, test and glimpse sets never */
    sc_canvas_cfg cc_train = cc;
    cc_train.shift = c->shift;
    if ((rc = sc_canvas_check(&cc_train, &R.ds.train, err)) != SC_OK) goto fail;
    const int side = sc_canvas_side(&cc, R.ds.train.w);
    const int B = c->batch_size;
    const int EB = sc_eval_batch(c), NB = sc_model_batch(c);
    sc_model_cfg mc;
    sc_model_cfg_from_config(&mc, c, side, R.ds.num_classes, NB);
    if ((rc = sc_model_create(&R.model, &mc, err)) != SC_OK) goto fail;
    if ((rc = sc_model_set_threads(R.model, c->threads, err)) != SC_OK) goto fail;
    if ((rc = sc_dist_span(dist, R.model, c->threads, err)) != SC_OK) goto fail;
    const sc_model_info *info = sc_model_describe(R.model);
    const sc_cost cost = sc_model_cost(&mc);
    /* a deterministic model is evaluated once: M samples would be M equal passes */
    const int M = info->stochastic ? c->mc_samples : 1;
    sc_params *ps = sc_model_params(R.model);
    if ((rc = sc_optim_create(&R.opt, !strcmp(c->optimizer, "sgd") ? SC_OPT_SGD : SC_OPT_ADAM, ps->n, err)) != SC_OK)
        goto fail;
    R.opt.momentum = c->momentum;
    R.opt.weight_decay = c->weight_decay;
    sc_rng rorder;
    sc_rng_derive(&rorder, seed, STREAM_ORDER);
    if ((rc = sc_batcher_init(&R.batcher, R.ds.train_idx, R.ds.n_train, B, 1, sc_rng_u64(&rorder),
                              err)) != SC_OK)
        goto fail;

    const size_t npix = (size_t)side * side;
    R.canvas = malloc(sizeof(float) * NB * npix);
    R.logp = malloc(sizeof(float) * NB * R.ds.num_classes);
    R.best = malloc(sizeof(float) * ps->n);
    R.live = c->ema > 0.0f ? malloc(sizeof(float) * ps->n) : NULL;
    R.idx = malloc(sizeof(int) * NB);
    R.labels = malloc(sizeof(int) * NB);
    R.pred = malloc(sizeof(int) * NB);
    R.keys = malloc(sizeof(uint64_t) * NB);
    if (!R.canvas || !R.logp || !R.best || (c->ema > 0.0f && !R.live) || !R.idx || !R.labels || !R.pred || !R.keys) {
        rc = sc_errf(err, SC_ENOMEM, "train: out of memory allocating batch buffers (%d x %dx%d)", NB, side, side);
        goto fail;
    }

    const long steps_per_epoch = (R.ds.n_train + B - 1) / B;
    const long total_steps = steps_per_epoch * c->epochs;
    sc_lr_sched lr;
    lr_from_config(&lr, c, steps_per_epoch);

    if (resume) {
        /* the state of the checkpoint, exactly */
        if ((rc = sc_ckpt_check_params(&R.ck, ps, ckpt, err)) != SC_OK) goto fail;
        if (S.batch_in_epoch >= steps_per_epoch) {
            rc = sc_errf(err, SC_EFORMAT, "%s: position %lld inside an epoch of %ld batches", ckpt,
                         (long long)S.batch_in_epoch, steps_per_epoch);
            goto fail;
        }
        sc_ckpt_unpack(&R.ck, R.ck.params, ps, ps->data);
        memcpy(R.best, ps->data, sizeof(float) * ps->n);
        sc_ckpt_unpack(&R.ck, R.ck.best, ps, R.best);
        sc_ckpt_unpack(&R.ck, R.ck.m, ps, R.opt.m);
        if (R.opt.v) sc_ckpt_unpack(&R.ck, R.ck.v, ps, R.opt.v);
        if (c->ema > 0.0f) {
            /* the checkpoint's average, or (ema switched on at resume) the parameters as its start */
            if ((rc = sc_optim_enable_ema(&R.opt, c->ema, ps->data, err)) != SC_OK) goto fail;
            if (R.ck.ema) sc_ckpt_unpack(&R.ck, R.ck.ema, ps, R.opt.ema);
        }
        R.opt.t = S.optim_t;
        lr.cur = S.lr_cur;
        lr.best = S.lr_best;
        lr.bad_epochs = S.lr_bad_epochs;
        sc_model_set_baseline_ema(R.model, S.baseline_ema);
        sc_ckpt_free(&R.ck);
    } else {
        sc_rng rinit;
        sc_rng_derive(&rinit, seed, STREAM_INIT);
        sc_model_init_params(R.model, &rinit);
        memcpy(R.best, ps->data, sizeof(float) * ps->n);
        if (c->ema > 0.0f && (rc = sc_optim_enable_ema(&R.opt, c->ema, ps->data, err)) != SC_OK) goto fail;
        sc_rng_derive(&S.rloc, seed, STREAM_LOC);
        S.best_val_err = INFINITY;
        S.best_std = sc_policy_std(c, 0, total_steps);
        make_run_id(S.run_id, sizeof S.run_id);
    }

    /* validation canvases draw distractors from the validation split itself */
    sc_eval_ctx ev = {R.model, &R.ds.train, &cc, R.ds.val_idx, R.ds.n_val, seed, c->loc_std, EB,
                      R.canvas, R.idx, R.labels, R.pred, R.keys, R.logp};

    /* ---- the run log and the first checkpoint */
    if (opts->log_path) {
        int gsplit, gnpool;
        const sc_images *gsrc;
        const int *gpool;
        if ((rc = alloc_glimpse_set(&R, c, &cc, side, &gsplit, &gsrc, &gpool, &gnpool, err)) != SC_OK) goto fail;
        /* every rank has read what it needs (a resumed log too): rank 0 may now write */
        agreed = 1;
        if ((rc = sc_dist_agree(dist, SC_OK, err)) != SC_OK) goto fail;
        if (!lead) goto log_done;  /* the other ranks open no file for writing */
        char *ctext = sc_config_to_string(c);
        if (!ctext) {
            rc = sc_errf(err, SC_ENOMEM, "train: out of memory");
            goto fail;
        }
        if (resume) {
            sc_runlog_rows keep = {S.log_rows_train, S.log_rows_eval, S.log_rows_glimpses};
            rc = sc_runlog_resume(&R.log, opts->log_path, &keep, opts->command_line, ctext, c->threads, S.epoch,
                                  S.step, err);
        } else {
            sc_runlog_meta meta = {S.run_id, opts->command_line, opts->config_file, opts->config_file_text, ctext,
                                   strrchr(ckpt, '/') ? strrchr(ckpt, '/') + 1 : ckpt, seed, c->threads,
                                   (int64_t)sc_params_count(ps), cost.macs_infer, R.ds.n_train, R.ds.n_val,
                                   R.ds.n_test, R.ds.num_classes, side, (int)steps_per_epoch, info->name,
                                   cost.macs_train, cost.pixels_read, cost.retina_adds};
            char *ftext = NULL;
            if (!opts->config_file_text && opts->config_file)
                meta.config_file_text = ftext = sc_read_text(opts->config_file);
            sc_runlog_glimpse_set gs = {R.G, info->steps, R.ds.num_classes, side,
                                        gsplit == SPLIT_VAL ? "val" : "test", R.gimg, R.glabels, R.gindex,
                                        info->locations, sc_model_grid(R.model)};
            rc = sc_runlog_create(&R.log, opts->log_path, &meta, &gs, err);
            free(ftext);
            created = rc == SC_OK;
        }
        free(ctext);
        if (rc != SC_OK) goto fail;
    log_done:
        if (!resume) {
            /* the initial policy, and a checkpoint so that any kill can be resumed */
            if ((rc = record_glimpses(&R, c, 0, 0, sc_policy_std(c, 0, total_steps), side, err)) != SC_OK) goto fail;
            if ((rc = save_checkpoint(&R, c, &S, &lr, ckpt, log_name, err)) != SC_OK) goto fail;
        }
    }
    created = 0;  /* from here on the log is a run's record and stays */
    if (!agreed) {
        agreed = 1;
        if ((rc = sc_dist_agree(dist, SC_OK, err)) != SC_OK) goto fail;
    }

    if (!quiet) {
        printf("data: %s %s canvas %dx%d, %d train / %d validation / %d test images, %d classes\n",
               c->dataset, c->canvas, side, side, R.ds.n_train, R.ds.n_val, R.ds.n_test, R.ds.num_classes);
        printf("model: %s, %zu parameters, %.3f MFLOPs per image (inference; %.3f per training step), %.0f "
               "pixels read per image, %s\n", info->name, sc_params_count(ps), cost.flops_infer / 1e6,
               cost.flops_train / 1e6, cost.pixels_read, sc_blas_config());
        if (info->kind == SC_MODEL_SELFATTN)
            printf("attention over %d tokens (grows as T^2): %.3f of those MFLOPs (%.3f of the training step's)\n",
                   info->locations, 2e-6 * cost.attn_macs_infer, 2e-6 * cost.attn_macs_train);
        if (dist)
            printf("MPI: %d ranks x %d threads = %d data-parallel workers, OpenBLAS at 1 thread each\n",
                   sc_dist_size(dist), c->threads, sc_dist_size(dist) * c->threads);
        else if (info->kind == SC_MODEL_RAM && c->threads > 1)
            printf("threads: %d data-parallel workers, OpenBLAS at 1 thread each\n", c->threads);
        if (opts->log_path)
            printf("run log: %s (checkpoint %s)\n", opts->log_path, ckpt);
        if (resume) {
            printf("resuming at epoch %d", S.epoch + 1);
            if (S.batch_in_epoch) printf(", batch %lld", (long long)S.batch_in_epoch + 1);
            printf(" (step %lld, best validation error %.2f%% at epoch %d)\n", (long long)S.step, S.best_val_err,
                   S.best_epoch);
            if (changed[0]) printf("changed for this session:\n%s", changed);
            if (strstr(changed, "train.threads:"))
                printf("note: with another thread count the continuation may differ in the last bits from an "
                       "uninterrupted run\n");
        }
        fflush(stdout);
    }

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_stop = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    progress pg = {lead && isatty(STDOUT_FILENO), 0.0};
    const double train_seconds0 = S.train_seconds;
    const int64_t images0 = S.images_total;
    int end_reason = SC_END_FINISHED, session_epochs = 0;
    double last_val = NAN;  /* the latest epoch's validation error in this session */

    double gather_train_s = 0.0;  /* MPI: the training forwards' share of the gathers */
    sc_dist_times dt0, dt1;
    sc_dist_times_get(dist, &dt0);
    if ((rc = sc_dist_any(dist, g_stop, &halt, err)) != SC_OK) goto fail_signals;
    for (int epoch = S.epoch + 1; epoch <= c->epochs && !halt; epoch++) {
        sc_batcher_epoch(&R.batcher, epoch);
        long done = (long)S.batch_in_epoch;  /* > 0 only when resuming inside this epoch */
        for (long k = 0; k < done; k++) sc_batcher_next(&R.batcher, R.idx);
        if (done == 0) {
            memset(&S.epoch_acc, 0, sizeof S.epoch_acc);
            memset(&S.row_acc, 0, sizeof S.row_acc);
        }
        S.batch_in_epoch = 0;
        double t_ep = now_s(), t_row = t_ep, ep_time = 0.0;
        long row_images = 0, ep_images = 0;
        float std = sc_policy_std(c, S.step, total_steps), lr_now = sc_lr_at(&lr, S.step);
        int n;
        for (;;) {
            /* every rank stops at the same batch */
            if ((rc = sc_dist_any(dist, g_stop, &halt, err)) != SC_OK) goto fail_signals;
            if (halt || (n = sc_batcher_next(&R.batcher, R.idx)) <= 0) break;
            for (int b = 0; b < n; b++) {
                R.labels[b] = R.ds.train.labels[R.idx[b]];
                R.keys[b] = sc_canvas_key(SPLIT_TRAIN, epoch, R.idx[b]);
            }
            sc_canvas_build(R.canvas, NULL, &cc_train, &R.ds.train, R.idx, R.keys, n, R.ds.train_idx,
                            R.ds.n_train, seed);
            std = sc_policy_std(c, S.step, total_steps);
            sc_model_stats st;
            sc_dist_times_get(dist, &dt1);
            if ((rc = sc_model_forward(R.model, R.canvas, R.labels, n, std, &S.rloc, &st)) != SC_OK) {
                rc = pass_error(dist, rc, "forward", n, err);
                goto fail_signals;
            }
            if (dist) {
                double g0 = dt1.gather_s;
                sc_dist_times_get(dist, &dt1);
                gather_train_s += dt1.gather_s - g0;
            }
            sc_params_zero_grad(ps);
            if ((rc = sc_model_backward(R.model, R.labels, n, std)) != SC_OK) {
                rc = pass_error(dist, rc, "backward", n, err);
                goto fail_signals;
            }
            float gnorm = sc_clip_grad_norm(ps->grad, ps->n, c->clip);
            lr_now = sc_lr_at(&lr, S.step);
            /* the non-finite guard: a NaN or Inf in a loss term or the gradient
             * stops the session here (or, with [train] nonfinite = skip, leaves the
             * update out); the checkpoint and the best parameters are untouched */
            double tv = 0.0;
            const char *term = nonfinite_term(info, &st, &tv);
            int bad = nonfinite_what(what, sizeof what, term, tv, ps, ps->grad, "the gradient of tensor ") ||
                      (!isfinite(gnorm) && nonfinite_what(what, sizeof what, NULL, 0, ps, ps->grad,
                                                          "the gradient of tensor "));
            if ((rc = sc_dist_any(dist, bad, &bad, err)) != SC_OK) goto fail_signals;
            if (bad && !what[0]) snprintf(what, sizeof what, "a value on another rank");
            if (bad && !strcmp(c->nonfinite, "skip")) {
                skipped++;
                done++;
                if (lead)
                    printf("epoch %d batch %ld of %ld (after step %lld): %s; batch skipped ([train] nonfinite = "
                           "skip, %lld so far)\n", epoch, done, (long)steps_per_epoch, (long long)S.step, what,
                           (long long)skipped);
                fflush(stdout);
                what[0] = '\0';
                continue;
            }
            if (bad) {
                rc = diverged(err, what, epoch, S.step + 1, lr_now, &S, opts->log_path);
                goto fail_signals;
            }
            sc_optim_step(&R.opt, ps->data, ps->grad, lr_now);
            /* finite gradients can still carry the parameters past the float range */
            bad = nonfinite_what(what, sizeof what, NULL, 0, ps, ps->data, "parameter tensor ");
            if ((rc = sc_dist_any(dist, bad, &bad, err)) != SC_OK) goto fail_signals;
            if (bad) {
                if (!what[0]) snprintf(what, sizeof what, "a parameter on another rank");
                rc = diverged(err, what, epoch, S.step + 1, lr_now, &S, opts->log_path);
                goto fail_signals;
            }
            S.step++;
            done++;
            acc_add(&S.epoch_acc, &st, gnorm, n);
            acc_add(&S.row_acc, &st, gnorm, n);
            S.images_total += n;
            row_images += n;
            ep_images += n;
            double t = now_s(), el = t - t_ep;
            double ips = ep_images / (el > 1e-9 ? el : 1e-9);
            if (S.step % c->train_every == 0) {
                if ((rc = append_train_row(&R, &S.row_acc, epoch, S.step, lr_now, info->stochastic ? std : NAN,
                                           row_images / (t - t_row > 1e-9 ? t - t_row : 1e-9), err)) != SC_OK)
                    goto fail_signals;
                t_row = now_s();
                row_images = 0;
            }
            double remaining = (double)(R.ds.n_train - S.epoch_acc.images) / ips;
            progress_draw(&pg, info, epoch, c->epochs, (long)S.epoch_acc.images, R.ds.n_train, &S.epoch_acc, ips,
                          remaining, 0);
            if (!pg.tty && !quiet && S.step % c->log_every == 0) {
                const sc_train_acc *a = &S.epoch_acc;
                double nb = a->batches;
                char terms[160];
                fmt_terms(terms, sizeof terms, info, a, 1);
                printf("epoch %d step %lld: %.0f img/s %s, reward %.4f", epoch, (long long)S.step, ips, terms,
                       a->reward / nb);
                if (info->reinforce) printf(", adv_var %.4f", a->adv_var / nb);
                printf(", |g| %.3g, lr %.3g", a->grad_norm / nb, lr_now);
                if (info->stochastic) printf(", std %.3f", std);
                printf("\n");
                fflush(stdout);
            }
        }
        ep_time = now_s() - t_ep;
        S.train_seconds += ep_time;
        const sc_train_acc *a = &S.epoch_acc;
        double nb = a->batches;
        if (nb > 0) {
            res->final_xent = a->xent / nb;
            res->final_reward = a->reward / nb;
        }
        if (done < steps_per_epoch) {
            /* stopped by a signal inside the epoch: checkpoint the position */
            if (pg.tty) printf("\n");
            if (lead) printf("interrupted in epoch %d after %ld of %ld batches; checkpointing\n", epoch, done,
                             steps_per_epoch);
            fflush(stdout);
            S.batch_in_epoch = done;
            end_reason = SC_END_INTERRUPTED;
            if ((rc = save_checkpoint(&R, c, &S, &lr, ckpt, log_name, err)) != SC_OK) goto fail_signals;
            break;
        }
        if (S.row_acc.batches > 0 &&
            (rc = append_train_row(&R, &S.row_acc, epoch, S.step, lr_now, info->stochastic ? std : NAN,
                                   row_images / (now_s() - t_row > 1e-9 ? now_s() - t_row : 1e-9), err)) != SC_OK)
            goto fail_signals;

        /* with [train] ema the average is what is validated, kept as best and shown:
         * it takes the parameters' place until the checkpoint below */
        if (R.opt.ema) {
            memcpy(R.live, ps->data, sizeof(float) * ps->n);
            memcpy(ps->data, R.opt.ema, sizeof(float) * ps->n);
        }
        ev.std = sc_policy_std(c, S.step, total_steps);
        double v1 = sc_eval_error(&ev, R.ds.val_idx, R.ds.n_val, SPLIT_VAL, 1);
        double vm = M > 1 ? sc_eval_error(&ev, R.ds.val_idx, R.ds.n_val, SPLIT_VAL, M) : v1;
        if ((rc = sc_dist_error(dist, SC_OK, err)) != SC_OK) goto fail_signals;
        if (pg.tty) printf("\r\033[K");
        if (!quiet) {
            char terms[160];
            fmt_terms(terms, sizeof terms, info, a, 1);
            printf("epoch %d/%d: %.0f img/s, %s, train acc %.2f%%, ", epoch, c->epochs, ep_images / ep_time, terms,
                   100.0 * a->reward / nb);
            if (info->stochastic)
                printf("val err %.2f%% (M=1) %.2f%% (M=%d), |mu| %.3f, mu spread %.3f, lr %.3g, std %.3f", v1, vm, M,
                       a->mu_abs / nb, a->mu_spread / nb, lr_now, ev.std);
            else
                printf("val err %.2f%%, lr %.3g", v1, lr_now);
            printf(", %.1fs\n", ep_time);
            fflush(stdout);
        }
        double metric = R.ds.n_val > 0 ? v1 : 100.0 * (1.0 - a->reward / nb);
        last_val = metric;
        sc_lr_epoch_end(&lr, metric);
        int is_best = metric < S.best_val_err;
        if (is_best) {
            S.best_val_err = metric;
            S.best_epoch = epoch;
            S.best_std = ev.std;
            memcpy(R.best, ps->data, sizeof(float) * ps->n);
            S.bad_epochs = 0;
        } else if (c->early_stop > 0 && ++S.bad_epochs >= c->early_stop) {
            end_reason = SC_END_EARLY_STOP;
        }
        S.epoch = epoch;
        int last = epoch == c->epochs || end_reason == SC_END_EARLY_STOP;
        if (epoch % c->glimpse_every == 0 || last)
            if ((rc = record_glimpses(&R, c, epoch, S.step, ev.std, side, err)) != SC_OK) goto fail_signals;
        if (R.log) {
            sc_runlog_eval_row er = {epoch, S.step, sc_runlog_wall(R.log), (float)v1, (float)vm,
                                     (float)S.best_val_err, (uint8_t)is_best, lr_now,
                                     info->stochastic ? ev.std : NAN,
                                     mean_of(a->xent, nb), mean_of(a->reinforce, nb), mean_of(a->baseline_mse, nb),
                                     mean_of(a->reward, nb), mean_of(a->grad_norm, nb),
                                     (float)(ep_images / ep_time), (float)ep_time};
            if ((rc = sc_runlog_append_eval(R.log, &er, err)) != SC_OK) goto fail_signals;
        }
        if (R.opt.ema) memcpy(ps->data, R.live, sizeof(float) * ps->n);
        if ((rc = save_checkpoint(&R, c, &S, &lr, ckpt, log_name, err)) != SC_OK) goto fail_signals;
        if (end_reason == SC_END_EARLY_STOP) {
            if (lead) printf("early stop: no validation improvement for %d epochs\n", S.bad_epochs);
            break;
        }
        if ((rc = sc_dist_any(dist, g_stop, &halt, err)) != SC_OK) goto fail_signals;
        if (halt) end_reason = SC_END_INTERRUPTED;
        if (opts->stop_after > 0 && ++session_epochs >= opts->stop_after && epoch < c->epochs && !halt) {
            end_reason = SC_END_PAUSED;
            break;
        }
    }
    if (halt && end_reason == SC_END_FINISHED) end_reason = SC_END_INTERRUPTED;
    if (dist) {
        sc_dist_times_get(dist, &dt1);
        long steps = dt1.reductions - dt0.reductions;
        res->reduce_ms = steps > 0 ? 1e3 * (dt1.reduce_s - dt0.reduce_s) / steps : 0.0;
        res->gather_ms = steps > 0 ? 1e3 * gather_train_s / steps : 0.0;
    }
    /* from here a second Ctrl-C ends the process: the checkpoint is written */
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    res->interrupted = end_reason == SC_END_INTERRUPTED;
    res->early_stopped = end_reason == SC_END_EARLY_STOP;
    res->paused = end_reason == SC_END_PAUSED;
    res->epochs_run = S.epoch;
    res->best_val_err = S.best_val_err;
    res->best_epoch = S.best_epoch;
    double tsec = S.train_seconds - train_seconds0;
    res->images_per_s = tsec > 0 ? (double)(S.images_total - images0) / tsec : 0.0;

    /* test error of the kept parameters: the best ones at the std they were validated
     * with, or ([train] keep = last) the final ones (their average with ema) */
    const int keep_last = !strcmp(c->keep, "last");
    if (keep_last) {
        if (R.opt.ema) memcpy(ps->data, R.opt.ema, sizeof(float) * ps->n);
        ev.std = sc_policy_std(c, S.step, total_steps);
    } else {
        memcpy(ps->data, R.best, sizeof(float) * ps->n);
        ev.std = S.best_std;
    }
    res->kept_epoch = keep_last ? S.epoch : S.best_epoch;
    res->kept_val_err = keep_last ? last_val : S.best_val_err;
    ev.src = &R.ds.test;
    ev.distractor_pool = R.ds.test_idx;
    ev.npool = R.ds.n_test;
    res->test_err_m1 = sc_eval_error(&ev, R.ds.test_idx, R.ds.n_test, SPLIT_TEST, 1);
    res->test_err_mc = M > 1 ? sc_eval_error(&ev, R.ds.test_idx, R.ds.n_test, SPLIT_TEST, M) : res->test_err_m1;
    res->us_per_image = sc_measure_inference(&ev, R.ds.test_idx, R.ds.n_test, SPLIT_TEST, 5);
    res->wall_s = now_s() - t_start;
    if ((rc = sc_dist_error(dist, SC_OK, err)) != SC_OK) goto fail;
    if (R.log) {
        sc_runlog_test_row tr = {S.epoch, S.step, sc_runlog_wall(R.log), res->kept_epoch, (float)res->kept_val_err,
                                 (float)res->test_err_m1, (float)res->test_err_mc, M, (int8_t)end_reason,
                                 (float)res->us_per_image, S.train_seconds};
        if ((rc = sc_runlog_append_test(R.log, &tr, err)) != SC_OK) goto fail;
        if ((rc = sc_runlog_end_session_note(R.log, end_reason, S.epoch, S.step, "", skipped, err)) != SC_OK)
            goto fail;
        if ((rc = sc_runlog_sync(R.log, err)) != SC_OK) goto fail;
    }
    run_free(&R);
    return SC_OK;

fail_signals:
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
fail:
    /* a rank that fails before the start-up agreement still takes part in it */
    if (!agreed) rc = sc_dist_agree(dist, rc, err);
    if (R.log && !created) {
        /* a diverged session says so, with its line; the last checkpoint stays */
        sc_err ignore = {0};
        int why = rc == SC_ENONFINITE ? SC_END_DIVERGED : SC_END_FAILED;
        sc_runlog_end_session_note(R.log, why, S.epoch, S.step, rc == SC_ENONFINITE ? err->msg : "", skipped,
                                   &ignore);
    }
    run_free(&R);
    if (created) {
        /* a fresh run that could not start: leave nothing behind */
        unlink(opts->log_path);
        unlink(ckpt);
    }
    return rc;
}
