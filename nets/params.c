/* params.c - the parameter store: named tensors as views into one buffer (see params.h).
 *
 * Layout: tensor k occupies data[offset_k .. offset_k + rows*cols), where each
 * offset is the previous offset plus the previous size rounded up to 16 floats,
 * so every view starts on a 64-byte boundary of a 64-byte aligned buffer. The
 * padding floats stay zero in both data and grad.
 *
 * This file is not a model description and knows nothing about layers: it only
 * hands out memory by name, plus the initialisers that fill it.
 */
#include "params.h"
#include "vecmath.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SC_PARAMS_ALIGN_BYTES 64
#define SC_PARAMS_ALIGN_FLOATS 16 /* 64 bytes of float */

void sc_params_init(sc_params *ps) {
    memset(ps, 0, sizeof *ps);
}

static size_t round_up_floats(size_t n) {
    return (n + SC_PARAMS_ALIGN_FLOATS - 1) / SC_PARAMS_ALIGN_FLOATS * SC_PARAMS_ALIGN_FLOATS;
}

int sc_params_add(sc_params *ps, const char *name, int rows, int cols, sc_err *err) {
    const char *shown = name ? name : "(null)";
    if (ps->data)
        return sc_errf(err, SC_ESTATE,
                       "params: cannot add tensor '%s' after sc_params_alloc", shown);
    if (!name || name[0] == '\0')
        return sc_errf(err, SC_EARG, "params: tensor name must be a non-empty string");
    if (strlen(name) >= SC_PARAM_NAME_MAX)
        return sc_errf(err, SC_EARG,
                       "params: tensor name '%s' is %zu characters; at most %d allowed",
                       name, strlen(name), SC_PARAM_NAME_MAX - 1);
    if (rows <= 0 || cols <= 0)
        return sc_errf(err, SC_EARG,
                       "params: tensor '%s' has shape %d x %d; both dimensions must be > 0",
                       name, rows, cols);
    /* Layers index with int, so a tensor must have at most INT_MAX elements. */
    if ((long long)rows * (long long)cols > INT_MAX)
        return sc_errf(err, SC_EARG,
                       "params: tensor '%s' has shape %d x %d (%lld elements); at most %d allowed",
                       name, rows, cols, (long long)rows * (long long)cols, INT_MAX);
    if (sc_params_find(ps, name) >= 0)
        return sc_errf(err, SC_EARG, "params: tensor '%s' is declared twice", name);
    if (ps->count >= SC_PARAMS_MAX)
        return sc_errf(err, SC_ENOMEM,
                       "params: cannot add tensor '%s': the store holds at most %d tensors",
                       name, SC_PARAMS_MAX);

    sc_param *p = &ps->p[ps->count];
    memcpy(p->name, name, strlen(name) + 1);
    p->rows = rows;
    p->cols = cols;
    p->fan_in = cols;
    p->offset = ps->n;                        /* a multiple of 16 by construction */
    ps->n += round_up_floats((size_t)rows * (size_t)cols);
    return ps->count++;
}

/* A zeroed, 64-byte aligned array of n floats (at least one alignment unit), or NULL. */
static float *alloc_floats(size_t n) {
    size_t bytes = round_up_floats(n > 0 ? n : 1) * sizeof(float);
    if (bytes / sizeof(float) < n) return NULL; /* overflow */
    void *mem = NULL;
    if (posix_memalign(&mem, SC_PARAMS_ALIGN_BYTES, bytes) != 0) return NULL;
    memset(mem, 0, bytes);
    return mem;
}

int sc_params_alloc(sc_params *ps, sc_err *err) {
    if (ps->data)
        return sc_errf(err, SC_ESTATE, "params: sc_params_alloc called twice");
    float *data = alloc_floats(ps->n);
    if (!data)
        return sc_errf(err, SC_ENOMEM,
                       "params: cannot allocate %zu parameter floats for %d tensors",
                       ps->n, ps->count);
    float *grad = alloc_floats(ps->n);
    if (!grad) {
        free(data);
        return sc_errf(err, SC_ENOMEM,
                       "params: cannot allocate %zu gradient floats for %d tensors",
                       ps->n, ps->count);
    }
    ps->data = data;
    ps->grad = grad;
    return SC_OK;
}

float *sc_params_data(const sc_params *ps, int idx) {
    assert(idx >= 0 && idx < ps->count);
    return ps->data ? ps->data + ps->p[idx].offset : NULL;
}

float *sc_params_grad(const sc_params *ps, int idx) {
    assert(idx >= 0 && idx < ps->count);
    return ps->grad ? ps->grad + ps->p[idx].offset : NULL;
}

size_t sc_params_size(const sc_params *ps, int idx) {
    assert(idx >= 0 && idx < ps->count);
    return (size_t)ps->p[idx].rows * (size_t)ps->p[idx].cols;
}

int sc_params_find(const sc_params *ps, const char *name) {
    if (!name) return -1;
    for (int i = 0; i < ps->count; i++)
        if (strcmp(ps->p[i].name, name) == 0) return i;
    return -1;
}

size_t sc_params_count(const sc_params *ps) {
    size_t total = 0;
    for (int i = 0; i < ps->count; i++) total += sc_params_size(ps, i);
    return total;
}

void sc_params_zero_grad(sc_params *ps) {
    if (ps->grad) memset(ps->grad, 0, ps->n * sizeof(float));
}

static void zero_slice(void *arg, int k, int workers) {
    sc_params *ps = arg;
    size_t lo, hi;
    sc_pool_slice(ps->n, k, workers, &lo, &hi);
    if (hi > lo) memset(ps->grad + lo, 0, (hi - lo) * sizeof(float));
}

void sc_params_zero_grad_on(sc_params *ps, sc_pool *pool) {
    if (ps->grad) sc_pool_run(pool, zero_slice, ps);
}

void sc_params_free(sc_params *ps) {
    if (!ps) return;
    free(ps->data);
    free(ps->grad);
    sc_params_init(ps);
}

void sc_init_zero(float *w, size_t n) {
    memset(w, 0, n * sizeof(float));
}

/* w ~ U(-a, a): 2a u - a with u ~ U[0, 1). */
int sc_params_set_fan_in(sc_params *ps, int idx, int fan_in, sc_err *err) {
    if (idx < 0 || idx >= ps->count)
        return sc_errf(err, SC_EARG, "params: no tensor %d (the store holds %d)", idx, ps->count);
    if (fan_in <= 0)
        return sc_errf(err, SC_EARG, "params: tensor '%s': fan-in %d must be > 0", ps->p[idx].name, fan_in);
    ps->p[idx].fan_in = fan_in;
    return SC_OK;
}

void sc_params_init_linear(sc_params *ps, sc_rng *r) {
    for (int i = 0; i < ps->count; i++)
        sc_init_uniform(sc_params_data(ps, i), sc_params_size(ps, i), 1.0f / sqrtf((float)ps->p[i].fan_in), r);
}

void sc_init_uniform(float *w, size_t n, float a, sc_rng *r) {
    for (size_t i = 0; i < n; i++) w[i] = a * (2.0f * sc_rng_uniform(r) - 1.0f);
}

/* Glorot & Bengio (2010): U(-a, a) with a = sqrt(6 / (fan_in + fan_out)). */
void sc_init_xavier(float *w, size_t n, int fan_in, int fan_out, sc_rng *r) {
    assert(fan_in + fan_out > 0);
    float a = sqrtf(6.0f / (float)(fan_in + fan_out));
    sc_init_uniform(w, n, a, r);
}

/* ---- activation buffers ------------------------------------------------------- */

static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; }

float *sc_carve(float ***ptrs, const size_t *sizes, int n, size_t *total) {
    size_t t = 0;
    for (int i = 0; i < n; i++) t += up16(sizes[i]);
    if (t == 0) t = 16;
    if (total) *total = t;
    float *mem = aligned_alloc(64, t * sizeof(float));
    if (!mem) return NULL;
    memset(mem, 0, t * sizeof(float));
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        *ptrs[i] = sizes[i] ? mem + off : NULL;
        off += up16(sizes[i]);
    }
    return mem;
}

int sc_params_nonfinite(const sc_params *ps, const float *buf, size_t *at) {
    /* The quick answer first, as the trainer asks after every step: x * 0 is 0
     * for every finite x and NaN for NaN and the infinities, so one 16-lane pass
     * over the whole buffer (its padding is zero) says whether to look closer. */
    if (ps->n > 0 && buf) {
        vf16 acc = {0};
        size_t k = 0;
        for (; k + 16 <= ps->n; k += 16) acc += ld16(buf + k) * 0.0f;
        float tail = 0.0f;
        for (; k < ps->n; k++) tail += buf[k] * 0.0f;
        if (hsum16(acc) + tail == 0.0f) return -1;
    }
    for (int i = 0; i < ps->count; i++) {
        const float *x = buf + ps->p[i].offset;
        size_t n = (size_t)ps->p[i].rows * (size_t)ps->p[i].cols;
        for (size_t j = 0; j < n; j++)
            if (!isfinite(x[j])) {
                if (at) *at = j;
                return i;
            }
    }
    return -1;
}
