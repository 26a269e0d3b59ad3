/* optim.h - optimizers over one flat buffer, gradient clipping, LR schedules.
 *
 * Each step is one loop over the n parameters. Moments mirror the parameter
 * buffer (same length and layout). sc_optim owns its moment buffers.
 */
#ifndef SACCADE_NETS_OPTIM_H
#define SACCADE_NETS_OPTIM_H

#include <stddef.h>
#include "err.h"
#include "pool.h"

/* SGD with momentum (PyTorch convention, weight decay L2 added to the gradient):
 *   g' = g + wd * p;  m = momentum * m + g';  p -= lr * m      (m unused if momentum == 0) */
void sc_sgd_step(float *p, const float *g, float *m, size_t n, float lr, float momentum, float wd);

/* Adam (Kingma & Ba) with bias correction; t is the 1-based step number:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) */
void sc_adam_step(float *p, const float *g, float *m, float *v, size_t n, float lr,
                  float b1, float b2, float eps, long t);

/* Returns the global L2 norm of g[0..n). If max_norm > 0 and the norm exceeds it,
 * scales g so its norm equals max_norm. */
float sc_clip_grad_norm(float *g, size_t n, float max_norm);

typedef enum { SC_OPT_SGD = 0, SC_OPT_ADAM = 1 } sc_opt_kind;

typedef struct sc_optim {
    sc_opt_kind kind;
    size_t n;
    float *m, *v;          /* moments, n floats each (v NULL for SGD) */
    float *ema;            /* moving average of the parameters, n floats (NULL when off) */
    long t;                /* steps taken */
    float momentum, b1, b2, eps, weight_decay;
    float ema_decay;       /* d of sc_ema_update; 0 when off */
} sc_optim;

/* Allocates zeroed moments. Defaults: momentum 0.9, b1 0.9, b2 0.999, eps 1e-8, wd 0. */
int sc_optim_create(sc_optim *o, sc_opt_kind kind, size_t n, sc_err *err);
void sc_optim_step(sc_optim *o, float *p, const float *g, float lr);  /* increments t */
/* The same step on parameters [lo, hi) only (clipped to n), without counting
 * it: the slices of one step, in any order or on any threads, give the whole
 * step's bits (every update is per parameter; a 16-block and its scalar
 * tail compute alike). Then sc_optim_count_step once. */
void sc_optim_step_range(sc_optim *o, float *p, const float *g, float lr, size_t lo, size_t hi);
void sc_optim_count_step(sc_optim *o);  /* t++ */
/* sc_optim_step with the update split over pool's workers (sc_pool_slice):
 * the same bits; pool NULL: on the caller. */
void sc_optim_step_on(sc_optim *o, float *p, const float *g, float lr, sc_pool *pool);

/* Polyak averaging: keeps o->ema, an exponential moving average of the
 * parameters p (n floats, copied now as its start), updated by every
 * sc_optim_step after the step with the decay sc_ema_decay(decay, t).
 * decay in (0, 1). */
int sc_optim_enable_ema(sc_optim *o, float decay, const float *p, sc_err *err);

/* The decay used after step t (1-based): min(decay, (1 + t) / (10 + t)), so
 * the average forgets its starting point quickly in the first steps. */
float sc_ema_decay(float decay, long t);

/* avg = d avg + (1 - d) p over n floats. */
void sc_ema_update(float *avg, const float *p, size_t n, float d);
void sc_optim_free(sc_optim *o);  /* accepts NULL */

/* Learning-rate schedules. Steps count optimizer steps; epochs count epochs. */
typedef enum { SC_LR_CONSTANT = 0, SC_LR_LINEAR = 1, SC_LR_STEP = 2, SC_LR_PLATEAU = 3 } sc_lr_kind;

typedef struct sc_lr_sched {
    sc_lr_kind kind;
    float base;          /* initial rate */
    float final_lr;      /* LINEAR: rate reached at total_steps and kept after */
    long total_steps;    /* LINEAR */
    long step_every;     /* STEP: multiply by gamma every step_every steps */
    float gamma;         /* STEP / PLATEAU: factor (0,1) */
    int patience;        /* PLATEAU: epochs without improvement before decaying */
    float min_lr;        /* PLATEAU: floor */
    /* PLATEAU state */
    float cur;
    double best;
    int bad_epochs;
} sc_lr_sched;

void sc_lr_init(sc_lr_sched *s);  /* constant 1e-3; sets cur = base, best = +inf */
/* Rate for optimizer step `step` (0-based). PLATEAU returns the current rate. */
float sc_lr_at(const sc_lr_sched *s, long step);
/* Call once per epoch with the validation metric (lower is better); only PLATEAU uses it. */
void sc_lr_epoch_end(sc_lr_sched *s, double metric);

#endif
