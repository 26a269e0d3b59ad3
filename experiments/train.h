/* train.h - the trainer loop and evaluation behind `saccade train` / `eval`.
 *
 * The trainer holds an sc_model (agent/model.h) and does not know which kind:
 * every row of the model table (agent/kind.h) - hard attention (ram), soft
 * attention (soft), the patch transformer (selfattn), the fully connected
 * baseline (fc) - trains through the same loop, evaluation and run log; the
 * model says whether it samples (M-sample evaluation, a policy std) and what
 * it records.
 *
 * A run writes a run log (runlog.h; schema in docs/runlog.md) and keeps a
 * checkpoint beside it (checkpoint.h), written before the first epoch, after
 * every epoch and when SIGINT/SIGTERM stop training. `--resume` continues
 * from that checkpoint; the continuation is bit-identical to an uninterrupted
 * run with the same thread count.
 *
 * This is front-end code: it prints progress to stdout and messages to
 * stderr, but returns errors to main() rather than exiting.
 */
#ifndef SACCADE_EXPERIMENTS_TRAIN_H
#define SACCADE_EXPERIMENTS_TRAIN_H

#include <stddef.h>

#include "agent/model.h"
#include "agent/ram.h"
#include "env/canvas.h"
#include "env/dataset.h"
#include "experiments/checkpoint.h"
#include "experiments/config.h"
#include "experiments/dist.h"

typedef struct sc_train_opts {
    const char *log_path;          /* run log to create, or to continue when resume is set;
                                    * NULL = no log and no checkpoint (library use, tests) */
    int resume;                    /* continue log_path from its checkpoint */
    int quiet;                     /* no progress bar / per-epoch lines */
    int stop_after;                /* > 0: stop (checkpointed, resumable) after this many epochs
                                    * of this session; 0 = train to [train] epochs */
    const char *command_line;      /* recorded in the log (NULL = "") */
    const char *config_file;       /* the CONFIG path, recorded (NULL = none) */
    const char *config_file_text;  /* its text, recorded */
    sc_dist *dist;                 /* the MPI ranks training together (dist.h), NULL = this process alone.
                                    * Every rank calls sc_train with the same arguments; rank 0 alone
                                    * prints, writes the log and checkpoints (the others open no file for
                                    * writing); the results are the same on every rank. */
} sc_train_opts;

/* The outcome of a training run (of all sessions, when resumed). */
typedef struct sc_train_result {
    int epochs_run;           /* epochs completed */
    double best_val_err;      /* validation error (M=1) of the best epoch, % */
    int best_epoch;
    int kept_epoch;           /* epoch of the tested parameters ([train] keep: best_epoch or the last) */
    double kept_val_err;      /* their validation error, % (NaN: keep = last and no epoch in this session) */
    double test_err_m1;       /* test error with one sample, % */
    double test_err_mc;       /* test error averaging mc_samples samples, % */
    double images_per_s;      /* training throughput over the whole run */
    double wall_s;            /* this session */
    double final_xent;        /* mean cross-entropy of the last epoch */
    double final_reward;      /* mean reward of the last epoch */
    double us_per_image;      /* measured inference time per image at the end (see sc_measure_inference) */
    double reduce_ms;         /* MPI: mean time per training step in the gradient sum (dist.h), ms; 0 alone */
    double gather_ms;         /* MPI: mean time per training step in the forward's gather, ms */
    int interrupted;          /* stopped by SIGINT/SIGTERM */
    int early_stopped;
    int paused;               /* stopped after opts->stop_after epochs, before [train] epochs */
    char checkpoint[4096];    /* the checkpoint's path ("" without a log) */
} sc_train_result;

/* Fills a RAM configuration from an experiment configuration (a square grey
 * canvas of canvas_side pixels). */
void sc_ram_cfg_from_config(sc_ram_cfg *rc, const sc_config *c, int canvas_side, int num_classes,
                            int max_batch);
/* Fills the model configuration of c's [model] kind (and the other kinds' too,
 * from the same keys: compare uses them for its analytic curves) for canvases
 * of H x W pixels of C channels. */
void sc_model_cfg_from_shape(sc_model_cfg *mc, const sc_config *c, int H, int W, int C, int num_classes,
                             int max_batch);
/* The same for a square grey canvas of canvas_side pixels. */
void sc_model_cfg_from_config(sc_model_cfg *mc, const sc_config *c, int canvas_side, int num_classes,
                              int max_batch);
/* The canvas configuration of c. */
void sc_canvas_cfg_from_config(sc_canvas_cfg *cc, const sc_config *c);

/* Trains as configured (or continues opts->log_path as c says). Prints the
 * progress. When resuming, everything is checked before the log is touched:
 * the log and its checkpoint (see sc_runlog_inspect, sc_ckpt_load), that they
 * belong together, that nobody else writes the log, that c keeps the keys a
 * run cannot change (the model's shape, the data, the seed, the batch size,
 * the optimizer; the message names each differing key), and that epochs
 * remain (or that the run, every epoch trained, died before its final test
 * row: then the test alone runs). Disk full or an unwritable folder stop training with a message
 * naming the file; the last good checkpoint stays good. */
int sc_train(const sc_config *c, const sc_train_opts *opts, sc_train_result *res, sc_err *err);

/* The checkpoint path of a run log: RUN.h5 -> RUN.ckpt.h5 (RUN -> RUN.ckpt.h5). */
int sc_run_checkpoint_name(const char *log_path, char *out, size_t n);

/* For `eval` and `--resume`: given a run log or a checkpoint, the checkpoint's
 * path. Errors name the file and say what it is not. Reads only. */
int sc_run_locate(const char *path, char *ckpt, size_t n, sc_err *err);

/* The keys that differ between a run's config and c, "section.key: a -> b" per
 * line, into out (may be NULL). Returns how many differ in keys a resume
 * cannot change and, if any, an SC_ECONFIG message naming them in err. */
int sc_resume_config_check(const sc_config *run, const sc_config *c, const char *log_path, char *out,
                           size_t n, sc_err *err);

/* Error (%) of model m on pool (indices into src) with canvases keyed by split
 * (fixed by the seed, as sc_canvas_key(split, 0, index)), averaging M samples.
 * canvas and idx/labels/keys/logp/pred are caller-provided scratch for B images. */
typedef struct sc_eval_ctx {
    sc_model *model;
    const sc_images *src;
    const sc_canvas_cfg *canvas;
    const int *distractor_pool; int npool;
    uint64_t seed;
    float std;
    int B;                 /* batch size for evaluation, <= model max_batch */
    float *canvas_buf;     /* B * side * side */
    int *idx, *labels, *pred;
    uint64_t *keys;
    float *logp;           /* B * C */
    int mean_policy;       /* 1: a RAM's locations are its policy's mean ([model] test_policy = mean) */
} sc_eval_ctx;

double sc_eval_error(sc_eval_ctx *e, const int *pool, int n, int split, int M);

/* Measured inference time per image in microseconds: B canvases of pool
 * (split's canvases as sc_eval_error builds them, B = min(e->B, n)) through one
 * forward pass (M = 1), once to warm up and then `runs` times; the median
 * time over B. NaN when n = 0. */
double sc_measure_inference(sc_eval_ctx *e, const int *pool, int n, int split, int runs);

/* The location policy's std after `step` of `total` training steps: loc_std,
 * or its linear annealing to loc_std_final over the first loc_std_anneal of
 * the steps, then loc_std_final. */
float sc_policy_std(const sc_config *c, long step, long total);

/* The batch size sc_train evaluates with: [train] eval_batch, or when 0
 * max(batch_size, 500) for ram and fc and batch_size for soft and selfattn
 * (whose activations grow with the grid, the tokens). eval and resume use the same so that
 * results match bit for bit. */
int sc_eval_batch(const sc_config *c);
/* The model's max_batch: max(batch_size, sc_eval_batch(c)). */
int sc_model_batch(const sc_config *c);

#endif
