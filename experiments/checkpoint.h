/* checkpoint.h - everything needed to continue a training run exactly, in one
 * HDF5 file beside the run log (RUN.h5 -> RUN.ckpt.h5).
 *
 * A checkpoint holds the resolved configuration, the parameters, the best
 * parameters (by validation error), the optimizer's moments and step count,
 * the location-sampling RNG, the learning-rate schedule's state, the epoch,
 * step and position inside the epoch, the running sums of the unfinished
 * epoch and log row, and how many rows of the run log it accounts for. The
 * layout is in docs/runlog.md ("The checkpoint file").
 *
 * It is never updated in place: sc_ckpt_save writes PATH.tmp, fsyncs it,
 * renames it over PATH and fsyncs the folder, so at every instant PATH is
 * either the previous complete checkpoint or the new one. Tensors carry
 * Fletcher-32 checksums; HDF5's metadata has its own.
 *
 * This replaces the old standalone model file (`--save`): the best parameters
 * of a run are read from its checkpoint (`saccade eval RUN.h5`).
 */
#ifndef SACCADE_EXPERIMENTS_CHECKPOINT_H
#define SACCADE_EXPERIMENTS_CHECKPOINT_H

#include <stdint.h>

#include "experiments/config.h"
#include "nets/optim.h"
#include "nets/params.h"
#include "nets/rng.h"

#define SC_CKPT_FORMAT "saccade checkpoint"
#define SC_CKPT_SCHEMA 1

/* Running sums over training batches (an epoch, or one /train log row). */
typedef struct sc_train_acc {
    double xent, reinforce, baseline_mse, reward, adv_var, mu_abs, mu_spread, grad_norm;
    double images, batches;
    double att_entropy, att_max;  /* soft attention (NaN sums for other models) */
    double rf_grad_var;           /* the RAM's REINFORCE gradient variance (NaN sums for other models) */
} sc_train_acc;

/* The trainer's state besides the tensors. */
typedef struct sc_ckpt_state {
    char run_id[24];          /* ties the checkpoint to its log (16 hex digits) */
    int32_t epoch;            /* epochs completed */
    int64_t batch_in_epoch;   /* batches of epoch+1 already taken (a checkpoint made on a
                               * signal); 0 at an epoch boundary */
    int64_t step;             /* optimizer steps taken */
    int64_t images_total;     /* training images seen */
    double train_seconds;     /* time spent in training batches, all sessions */
    double best_val_err;      /* % (M=1); +inf before the first evaluation */
    int32_t best_epoch;       /* 0 = the initial parameters */
    float best_std;           /* policy std at which the best parameters were validated */
    int32_t bad_epochs;       /* epochs since the best (early stopping) */
    sc_rng rloc;              /* location sampling during training */
    float lr_cur;             /* sc_lr_sched state (plateau) */
    double lr_best;
    int32_t lr_bad_epochs;
    int64_t optim_t;          /* optimizer steps (Adam's bias correction) */
    sc_train_acc epoch_acc;   /* sums of the unfinished epoch */
    sc_train_acc row_acc;     /* sums of the unfinished /train row */
    int64_t log_rows_train, log_rows_eval, log_rows_glimpses; /* rows of the log it covers */
    double baseline_ema;      /* the model's ema baseline (sc_model_baseline_ema; NaN = none) */
    double written_unix;      /* set by sc_ckpt_save */
} sc_ckpt_state;

/* A checkpoint read into memory. Tensors are in the file's order, each
 * rows*cols floats, concatenated without padding. Owns its buffers. */
typedef struct sc_ckpt {
    sc_config config;
    sc_ckpt_state st;
    char optimizer[8];        /* "adam" | "sgd" */
    char log_name[256];       /* file name of the run log it belongs to */
    int count;                /* tensors */
    char names[SC_PARAMS_MAX][SC_PARAM_NAME_MAX];
    int rows[SC_PARAMS_MAX], cols[SC_PARAMS_MAX];
    size_t n;                 /* floats per set */
    float *params, *best, *m, *v;  /* NULL when not loaded (v also for SGD) */
    float *ema;               /* the parameter average ([train] ema > 0), else NULL */
} sc_ckpt;

enum {
    SC_CKPT_HEADER = 0,  /* configuration, state and tensor table only */
    SC_CKPT_BEST = 1,    /* ... and the best parameters */
    SC_CKPT_ALL = 2      /* ... and the parameters and optimizer moments */
};

/* Writes a checkpoint of the run to path (via path.tmp, fsync, rename, fsync of
 * the folder). best is laid out as ps->data. Sets st->written_unix in the file
 * only. On failure path is untouched (the previous checkpoint stays valid), the
 * temporary is removed, and the message names the file and the OS reason. */
int sc_ckpt_save(const char *path, const char *log_name, const sc_config *c,
                 const sc_ckpt_state *st, const sc_params *ps, const float *best,
                 const sc_optim *opt, sc_err *err);

/* Reads path into ck (zeroed first; free with sc_ckpt_free even on error).
 * Refuses, naming the file: a missing, empty, non-HDF5, truncated or corrupt
 * file (checksums), another kind of HDF5 file, another schema version, a
 * stored config that does not parse, missing or misshapen tensors. */
int sc_ckpt_load(const char *path, int what, sc_ckpt *ck, sc_err *err);

/* Checks ck's tensor table against ps (count, names, shapes); the message
 * names path and the first tensor that differs. */
int sc_ckpt_check_params(const sc_ckpt *ck, const sc_params *ps, const char *path, sc_err *err);

/* Copies the ck-layout set src (ck->params, ck->best, ck->m, ck->v or ck->ema) into the
 * ps-layout buffer dst (ps->n floats; padding left as it is). Call
 * sc_ckpt_check_params first. */
void sc_ckpt_unpack(const sc_ckpt *ck, const float *src, const sc_params *ps, float *dst);

void sc_ckpt_free(sc_ckpt *ck);  /* accepts NULL */

#endif
