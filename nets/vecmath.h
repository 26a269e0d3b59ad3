/* vecmath.h - 16 floats at a time, for nets/ and agent/ elementwise loops.
 *
 * GCC's vector extension: a vf16 is one AVX-512 register, or two or four
 * narrower ones the compiler pairs up, so the same source runs on any x86-64
 * (and elsewhere). Loops take 16 elements at a time, then a scalar tail:
 * -O2 does not vectorise loops of unknown length by itself, and libm's expf
 * and tanhf, called per element, cost more than the sgemms around them in
 * the LSTM cell, GELU and the attention softmax.
 *
 * Loads and stores go through memcpy, so any alignment is fine. A comparison
 * gives a lane mask of all ones or zeros (vi16).
 *
 * exp16 is Cephes' expf: n = round(x / ln 2), r = x - n ln 2 (ln 2 split in
 * two so that r is exact), exp(r) by a degree-6 polynomial on |r| <= ln2/2,
 * times 2^n built in the exponent bits. x above 88 gives exp(88) (no
 * infinity), x below -87 gives exactly 0 (as expf's underflow does, without
 * denormals). Relative error about 2e-7 in between; NaN in, NaN out. tanh16(x) = sign(x) (1 - e) /
 * (1 + e) with e = exp(-2|x|): absolute error about 1e-7 (relative error
 * grows near 0, where tanh(x) ~ x), exact 0 at 0, odd. Accuracy is tested in
 * tests/test_nets_layers.c (test_lstm_gates_accuracy) and
 * tests/test_nets_attn.c.
 *
 * The *1 versions compute the same formula for one value, for loop tails, so
 * an element's result does not depend on whether it falls in a 16-block.
 * ldn16/stn16 load and store the first n < 16 lanes (the rest read as 0), so
 * a tail of several elements can go through one exp16 instead of one each:
 * every lane is computed alone, so the results are exp1's.
 * Everything here is static inline: include it from .c files only.
 */
#ifndef SACCADE_NETS_VECMATH_H
#define SACCADE_NETS_VECMATH_H

#include <math.h>
#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

typedef float vf16 __attribute__((vector_size(64)));
typedef int vi16 __attribute__((vector_size(64)));

static inline vf16 ld16(const float *p) { vf16 v; memcpy(&v, p, sizeof v); return v; }
static inline void st16(float *p, vf16 v) { memcpy(p, &v, sizeof v); }
static inline vf16 splat16(float x) { return (vf16){0} + x; }
/* the first n (0 <= n <= 16) lanes: lanes n.. of a load are 0, a store leaves p[n..] alone
 * (AVX-512's masked moves where the compiler targets it, memcpy otherwise) */
#ifdef __AVX512F__
static inline vf16 ldn16(const float *p, int n) { return (vf16)_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p); }
static inline void stn16(float *p, vf16 v, int n) { _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), (__m512)v); }
#else
static inline vf16 ldn16(const float *p, int n) { vf16 v = {0}; memcpy(&v, p, sizeof(float) * (size_t)n); return v; }
static inline void stn16(float *p, vf16 v, int n) { memcpy(p, &v, sizeof(float) * (size_t)n); }
#endif
/* per lane: v > 0 ? s : +0 */
static inline vf16 keep_pos(vf16 s, vf16 v) { const vf16 z = {0}; return (vf16)((vi16)s & (v > z)); }
/* per lane: m ? a : b */
static inline vf16 sel16(vi16 m, vf16 a, vf16 b) { return (vf16)(((vi16)a & m) | ((vi16)b & ~m)); }

/* Sum and maximum of the 16 lanes, in a fixed order (lane 0 first). */
static inline float hsum16(vf16 v) {
    float s = 0.0f;
    for (int i = 0; i < 16; i++) s += v[i];
    return s;
}
/* The maximum by halving (8 + 4 + 2 + 1 comparisons, not 15 in a chain): a
 * maximum is exact, so only where a NaN lane ends up differs from a chain. */
static inline float hmax16(vf16 v) {
    float m[16];
    memcpy(m, &v, sizeof m);
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) m[i] = m[i + w] > m[i] ? m[i + w] : m[i];
    return m[0];
}

static inline vf16 exp16(vf16 x) {
    const vf16 hi = splat16(88.0f), lo = splat16(-87.0f);
    const vi16 under = x < lo;
    x = sel16(x > hi, hi, x);
    x = sel16(under, lo, x);
    const vf16 t = x * 1.44269504088896341f + 0.5f;
    vi16 n = __builtin_convertvector(t, vi16);        /* truncates toward 0 ... */
    n += (vi16)(__builtin_convertvector(n, vf16) > t); /* ... so subtract 1 where that rounded up: floor */
    const vf16 fn = __builtin_convertvector(n, vf16);
    vf16 r = x - fn * 0.693359375f;
    r = r - fn * -2.12194440e-4f;
    vf16 p = splat16(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    return (vf16)((vi16)(p * (vf16)((n + 127) << 23)) & ~under);
}

static inline vf16 sigmoid16(vf16 x) { return 1.0f / (1.0f + exp16(-x)); }

static inline vf16 tanh16(vf16 x) {
    const vi16 sign = (vi16)x & (vi16)splat16(-0.0f);  /* the sign bit */
    const vf16 ax = (vf16)((vi16)x & ~sign);
    const vf16 e = exp16(-2.0f * ax);
    return (vf16)((vi16)((1.0f - e) / (1.0f + e)) | sign);
}

static inline float exp1(float x) { return exp16(splat16(x))[0]; }
static inline float sigmoid1(float x) { return 1.0f / (1.0f + exp1(-x)); }
static inline float tanh1(float x) { return tanh16(splat16(x))[0]; }

#endif
