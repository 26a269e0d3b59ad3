/* params.h - one float buffer per kind: parameters, gradients, and named views.
 *
 * A model declares its tensors once (name and shape), then allocates: all
 * parameters live in one contiguous buffer `data`, all gradients in `grad`,
 * both of length n, 64-byte aligned, zeroed. Views are offsets into them, so
 * zeroing gradients is one memset, an optimizer step one loop over n, and a
 * checkpoint one write.
 *
 *     sc_params ps; sc_params_init(&ps);
 *     int iw = sc_params_add(&ps, "fc.w", 10, 256, &err);   // (OUT, IN)
 *     int ib = sc_params_add(&ps, "fc.b", 1, 10, &err);
 *     sc_params_alloc(&ps, &err);
 *     float *w = sc_params_data(&ps, iw), *dw = sc_params_grad(&ps, iw);
 *
 * Not thread-safe; owns data and grad (freed by sc_params_free).
 */
#ifndef SACCADE_NETS_PARAMS_H
#define SACCADE_NETS_PARAMS_H

#include <stddef.h>
#include "err.h"
#include "pool.h"
#include "rng.h"

#define SC_PARAMS_MAX 256
#define SC_PARAM_NAME_MAX 40

typedef struct sc_param {
    char name[SC_PARAM_NAME_MAX];
    size_t offset;   /* in floats, into data and grad; a multiple of 16 */
    int rows, cols;  /* shape; a bias vector is 1 x OUT */
    int fan_in;      /* input width for sc_params_init_linear: cols unless
                      * sc_params_set_fan_in says otherwise (a bias: its layer's IN) */
} sc_param;

typedef struct sc_params {
    float *data;     /* n parameters (NULL until sc_params_alloc) */
    float *grad;     /* n gradients, same layout */
    size_t n;        /* total floats including alignment padding */
    int count;       /* number of declared tensors */
    sc_param p[SC_PARAMS_MAX];
} sc_params;

/* Makes an empty store (no allocation). */
void sc_params_init(sc_params *ps);

/* Declares a rows x cols tensor. Returns its index (>= 0) or a negative SC_E*
 * code: SC_EARG for a bad shape, duplicate or over-long name; SC_ESTATE after
 * alloc; SC_ENOMEM past SC_PARAMS_MAX tensors. */
int sc_params_add(sc_params *ps, const char *name, int rows, int cols, sc_err *err);

/* Allocates data and grad (zeroed). SC_ENOMEM on failure, SC_ESTATE if called twice. */
int sc_params_alloc(sc_params *ps, sc_err *err);

float *sc_params_data(const sc_params *ps, int idx);
float *sc_params_grad(const sc_params *ps, int idx);
size_t sc_params_size(const sc_params *ps, int idx);  /* rows * cols */
int sc_params_find(const sc_params *ps, const char *name); /* index or -1 */
size_t sc_params_count(const sc_params *ps);          /* sum of rows*cols, no padding */
/* The first tensor whose values in buf (ps->data, ps->grad or a buffer of the
 * same layout) hold a NaN or an infinity: its index, with the element's index
 * inside it in *at; -1 when every value is finite. Padding is not read. */
int sc_params_nonfinite(const sc_params *ps, const float *buf, size_t *at);
void sc_params_zero_grad(sc_params *ps);
/* The same, split over pool's workers (pool NULL: on the caller). */
void sc_params_zero_grad_on(sc_params *ps, sc_pool *pool);
void sc_params_free(sc_params *ps);                  /* accepts NULL; leaves an empty store */

/* Sets tensor idx's fan-in (> 0), e.g. a bias's to its layer's input width.
 * SC_EARG for a bad index or fan-in. */
int sc_params_set_fan_in(sc_params *ps, int idx, int fan_in, sc_err *err);

/* PyTorch nn.Linear's default for every tensor, in declaration order:
 * U(+-1/sqrt(fan_in)). Needs sc_params_alloc first. */
void sc_params_init_linear(sc_params *ps, sc_rng *r);

/* Initialisers over a raw buffer of n floats. */
void sc_init_zero(float *w, size_t n);
void sc_init_uniform(float *w, size_t n, float a, sc_rng *r);               /* U(-a, a) */
void sc_init_xavier(float *w, size_t n, int fan_in, int fan_out, sc_rng *r); /* U(+-sqrt(6/(in+out))) */

/* A model's activations: one zeroed allocation, 64-byte aligned, carved into
 * n buffers; *ptrs[i] gets sizes[i] floats (each buffer starts on a 64-byte
 * boundary), or NULL when sizes[i] is 0. *total (may be NULL) receives the
 * allocation's size in floats, also on failure. Returns the allocation (the
 * caller frees it with free()) or NULL when out of memory (the pointers are
 * then left as they were). */
float *sc_carve(float ***ptrs, const size_t *sizes, int n, size_t *total);

#endif
