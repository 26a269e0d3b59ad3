/* optim.c - SGD with momentum, Adam, global-norm clipping and LR schedules (see optim.h).
 *
 * Every step is one loop over a flat buffer of n floats; the moments mirror the
 * parameter buffer. Scalar bookkeeping (bias corrections, norms) is done in
 * double. This file does not know about tensors or layers, and it never
 * touches gradients except in sc_clip_grad_norm.
 */
#include "optim.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

/* 16 floats as one vector (GCC's vector extension): the Adam and norm loops
 * below take 16 parameters at a time, then a scalar tail; -O2 does not
 * vectorise them by itself (unknown length; sqrtf may set errno). Every lane
 * does the scalar loop's operations in the same order, and IEEE sqrt and
 * division are exact-rounded, so the results are bit for bit the scalar ones. */
typedef float vf16 __attribute__((vector_size(64)));
typedef float vf8 __attribute__((vector_size(32)));
typedef double vd8 __attribute__((vector_size(64)));

static inline vf16 ld16(const float *p) { vf16 v; memcpy(&v, p, sizeof v); return v; }
static inline void st16(float *p, vf16 v) { memcpy(p, &v, sizeof v); }
static inline vf16 sqrt16(vf16 x) {
#if defined(__AVX512F__)
    return (vf16)_mm512_sqrt_ps((__m512)x);
#else
    for (int q = 0; q < 16; q++) x[q] = sqrtf(x[q]);
    return x;
#endif
}

/* g' = g + wd p;  m = momentum m + g';  p -= lr m   (p -= lr g' when momentum == 0) */
void sc_sgd_step(float *p, const float *g, float *m, size_t n, float lr, float momentum, float wd) {
    if (momentum == 0.0f || !m) {
        for (size_t i = 0; i < n; i++) p[i] -= lr * (g[i] + wd * p[i]);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = momentum * m[i] + gi;
        p[i] -= lr * m[i];
    }
}

/* Adam with the L2 term of weight decay folded into the gradient (g' = g + wd p),
 * as PyTorch's Adam(weight_decay=...):
 *   m = b1 m + (1-b1) g';  v = b2 v + (1-b2) g'^2;
 *   p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) */
static void adam_step_wd(float *p, const float *g, float *m, float *v, size_t n, float lr,
                         float b1, float b2, float eps, float wd, long t) {
    if (t < 1) t = 1;
    float bc1 = (float)(1.0 - pow((double)b1, (double)t));
    float bc2 = (float)(1.0 - pow((double)b2, (double)t));
    float step = lr / bc1;                /* lr * mhat / m = lr / (1 - b1^t) */
    float inv_bc2 = 1.0f / bc2;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        vf16 gi = ld16(g + i) + wd * ld16(p + i);
        vf16 mi = b1 * ld16(m + i) + (1.0f - b1) * gi;
        vf16 vi = b2 * ld16(v + i) + (1.0f - b2) * gi * gi;
        st16(m + i, mi);
        st16(v + i, vi);
        st16(p + i, ld16(p + i) - step * mi / (sqrt16(vi * inv_bc2) + eps));
    }
    for (; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        p[i] -= step * m[i] / (sqrtf(v[i] * inv_bc2) + eps);
    }
}

void sc_adam_step(float *p, const float *g, float *m, float *v, size_t n, float lr,
                  float b1, float b2, float eps, long t) {
    adam_step_wd(p, g, m, v, n, lr, b1, b2, eps, 0.0f, t);
}

/* norm = sqrt(sum g^2);  if max_norm > 0 and norm > max_norm: g *= max_norm / norm */
float sc_clip_grad_norm(float *g, size_t n, float max_norm) {
    /* eight double partial sums of 16-float blocks, then the tail */
    vd8 acc = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        vf8 lo, hi;
        memcpy(&lo, g + i, sizeof lo);
        memcpy(&hi, g + i + 8, sizeof hi);
        vd8 a = __builtin_convertvector(lo, vd8), b = __builtin_convertvector(hi, vd8);
        acc += a * a + b * b;
    }
    double ss = 0.0;
    for (int q = 0; q < 8; q++) ss += acc[q];
    for (; i < n; i++) ss += (double)g[i] * g[i];
    double norm = sqrt(ss);
    if (max_norm > 0.0f && norm > max_norm) {
        float scale = (float)(max_norm / norm);
        for (size_t k = 0; k < n; k++) g[k] *= scale;
    }
    return (float)norm;
}

/* ---- optimizer state ------------------------------------------------------------ */

/* A zeroed, 64-byte aligned array of n floats (at least 16), or NULL. */
static float *alloc_moment(size_t n) {
    size_t floats = (n + 15) / 16 * 16;
    if (floats == 0) floats = 16;
    if (floats > SIZE_MAX / sizeof(float)) return NULL;
    void *mem = NULL;
    if (posix_memalign(&mem, 64, floats * sizeof(float)) != 0) return NULL;
    memset(mem, 0, floats * sizeof(float));
    return mem;
}

int sc_optim_create(sc_optim *o, sc_opt_kind kind, size_t n, sc_err *err) {
    memset(o, 0, sizeof *o);
    if (kind != SC_OPT_SGD && kind != SC_OPT_ADAM)
        return sc_errf(err, SC_EARG, "optim: unknown optimizer kind %d (expected SGD=0 or ADAM=1)",
                       (int)kind);
    o->kind = kind;
    o->n = n;
    o->momentum = 0.9f;
    o->b1 = 0.9f;
    o->b2 = 0.999f;
    o->eps = 1e-8f;
    o->weight_decay = 0.0f;
    o->m = alloc_moment(n);
    if (!o->m)
        return sc_errf(err, SC_ENOMEM, "optim: cannot allocate the first moment (%zu floats)", n);
    if (kind == SC_OPT_ADAM) {
        o->v = alloc_moment(n);
        if (!o->v) {
            free(o->m);
            o->m = NULL;
            return sc_errf(err, SC_ENOMEM,
                           "optim: cannot allocate the second moment (%zu floats)", n);
        }
    }
    return SC_OK;
}

void sc_optim_step_range(sc_optim *o, float *p, const float *g, float lr, size_t lo, size_t hi) {
    if (hi > o->n) hi = o->n;
    if (lo >= hi) return;
    const long t = o->t + 1;
    const size_t n = hi - lo;
    if (o->kind == SC_OPT_ADAM)
        adam_step_wd(p + lo, g + lo, o->m + lo, o->v + lo, n, lr, o->b1, o->b2, o->eps, o->weight_decay, t);
    else
        sc_sgd_step(p + lo, g + lo, o->m ? o->m + lo : NULL, n, lr, o->momentum, o->weight_decay);
    if (o->ema) sc_ema_update(o->ema + lo, p + lo, n, sc_ema_decay(o->ema_decay, t));
}

void sc_optim_count_step(sc_optim *o) { o->t++; }

typedef struct step_job {
    sc_optim *o;
    float *p;
    const float *g;
    float lr;
} step_job;

static void step_slice(void *arg, int k, int workers) {
    step_job *j = arg;
    size_t lo, hi;
    sc_pool_slice(j->o->n, k, workers, &lo, &hi);
    sc_optim_step_range(j->o, j->p, j->g, j->lr, lo, hi);
}

void sc_optim_step_on(sc_optim *o, float *p, const float *g, float lr, sc_pool *pool) {
    step_job j = {o, p, g, lr};
    sc_pool_run(pool, step_slice, &j);
    sc_optim_count_step(o);
}

void sc_optim_step(sc_optim *o, float *p, const float *g, float lr) {
    sc_optim_step_range(o, p, g, lr, 0, o->n);
    sc_optim_count_step(o);
}

float sc_ema_decay(float decay, long t) {
    float warm = (float)((1.0 + (double)t) / (10.0 + (double)t));
    return warm < decay ? warm : decay;
}

void sc_ema_update(float *avg, const float *p, size_t n, float d) {
    const float w = 1.0f - d;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        vf16 a = ld16(avg + i);
        st16(avg + i, a + w * (ld16(p + i) - a));
    }
    for (; i < n; i++) avg[i] += w * (p[i] - avg[i]);
}

int sc_optim_enable_ema(sc_optim *o, float decay, const float *p, sc_err *err) {
    if (!(decay > 0.0f && decay < 1.0f))
        return sc_errf(err, SC_EARG, "optim: moving-average decay %g (expected 0 < decay < 1)", (double)decay);
    if (!o->ema && !(o->ema = alloc_moment(o->n)))
        return sc_errf(err, SC_ENOMEM, "optim: cannot allocate the parameter average (%zu floats)", o->n);
    memcpy(o->ema, p, sizeof(float) * o->n);
    o->ema_decay = decay;
    return SC_OK;
}

void sc_optim_free(sc_optim *o) {
    if (!o) return;
    free(o->m);
    free(o->v);
    free(o->ema);
    o->ema = NULL;
    o->ema_decay = 0.0f;
    o->m = o->v = NULL;
    o->n = 0;
    o->t = 0;
}

/* ---- learning-rate schedules ----------------------------------------------------- */

void sc_lr_init(sc_lr_sched *s) {
    memset(s, 0, sizeof *s);
    s->kind = SC_LR_CONSTANT;
    s->base = 1e-3f;
    s->final_lr = 1e-3f;
    s->total_steps = 0;
    s->step_every = 0;
    s->gamma = 0.1f;
    s->patience = 10;
    s->min_lr = 0.0f;
    s->cur = s->base;
    s->best = INFINITY;
    s->bad_epochs = 0;
}

float sc_lr_at(const sc_lr_sched *s, long step) {
    switch (s->kind) {
    case SC_LR_LINEAR:
        /* lr = base + (final - base) * step / total, then final */
        if (s->total_steps <= 0 || step >= s->total_steps) return s->final_lr;
        if (step <= 0) return s->base;
        return (float)(s->base + ((double)s->final_lr - s->base) * (double)step /
                                     (double)s->total_steps);
    case SC_LR_STEP:
        /* lr = base * gamma^floor(step / step_every) */
        if (s->step_every <= 0 || step <= 0) return s->base;
        return (float)(s->base * pow((double)s->gamma, (double)(step / s->step_every)));
    case SC_LR_PLATEAU:
        return s->cur;
    case SC_LR_CONSTANT:
    default:
        return s->base;
    }
}

/* PLATEAU (as PyTorch's ReduceLROnPlateau, mode min, threshold 0): an epoch whose
 * metric is below the best so far resets the count; otherwise it counts as bad,
 * and once more than `patience` bad epochs have passed in a row the rate becomes
 * max(cur * gamma, min_lr) and the count restarts. A NaN metric is a bad epoch. */
void sc_lr_epoch_end(sc_lr_sched *s, double metric) {
    if (s->kind != SC_LR_PLATEAU) return;
    if (metric < s->best) {
        s->best = metric;
        s->bad_epochs = 0;
        return;
    }
    s->bad_epochs++;
    if (s->bad_epochs > s->patience) {
        float next = s->cur * s->gamma;
        s->cur = next > s->min_lr ? next : s->min_lr;
        s->bad_epochs = 0;
    }
}
