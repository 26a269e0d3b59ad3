/* train.h - the trainer loop and evaluation behind `saccade train` / `eval`.
 *
 * This is front-end code: it prints progress to stdout and messages to
 * stderr, but returns errors to main() rather than exiting.
 */
#ifndef SACCADE_EXPERIMENTS_TRAIN_H
#define SACCADE_EXPERIMENTS_TRAIN_H

#include "agent/ram.h"
#include "env/canvas.h"
#include "env/dataset.h"
#include "experiments/config.h"

typedef struct sc_train_opts {
    const char *save_path;   /* model file for the best parameters; NULL = none */
    int quiet;               /* no progress bar / per-epoch lines */
} sc_train_opts;

/* The outcome of a training run. */
typedef struct sc_train_result {
    int epochs_run;
    double best_val_err;      /* validation error (M=1) of the best epoch, % */
    int best_epoch;
    double test_err_m1;       /* test error with one sample, % */
    double test_err_mc;       /* test error averaging mc_samples samples, % */
    double images_per_s;      /* training throughput over the whole run */
    double wall_s;
    double final_xent;        /* mean cross-entropy of the last epoch */
    double final_reward;      /* mean reward of the last epoch */
    int interrupted;          /* stopped by SIGINT/SIGTERM */
} sc_train_result;

/* Fills a model configuration from an experiment configuration. */
void sc_ram_cfg_from_config(sc_ram_cfg *rc, const sc_config *c, int canvas_side, int num_classes,
                            int max_batch);
/* The canvas configuration of c. */
void sc_canvas_cfg_from_config(sc_canvas_cfg *cc, const sc_config *c);

/* Trains as configured. Prints the progress. */
int sc_train(const sc_config *c, const sc_train_opts *opts, sc_train_result *res, sc_err *err);

/* Error (%) of model m on pool (indices into src) with canvases keyed by split
 * (fixed by the seed, as sc_canvas_key(split, 0, index)), averaging M samples.
 * canvas and idx/labels/keys/logp/pred are caller-provided scratch for B images. */
typedef struct sc_eval_ctx {
    sc_ram *model;
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
} sc_eval_ctx;

double sc_eval_error(sc_eval_ctx *e, const int *pool, int n, int split, int M);

/* Model files: magic "SACCADEM", version, the resolved config text, the
 * parameter table (names, shapes) and the parameters. Written to path.tmp,
 * fsync'ed and renamed. */
int sc_model_save(const char *path, const sc_config *c, const sc_params *ps, sc_err *err);
/* Reads the config stored in path into c (defaults first) and, if ps is
 * non-NULL, checks the parameter table against ps (names and shapes) and loads
 * the values. Errors name the file and what differs. */
int sc_model_load(const char *path, sc_config *c, sc_params *ps, sc_err *err);

#endif
