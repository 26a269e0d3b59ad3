/* canvas.h - the paper's input tasks, built per batch from bytes.
 *
 *   plain       the image as is (canvas size = image size, h x w); with shift > 0 moved
 *               by a uniformly random (dx, dy) in [-shift, shift]^2, pixels that
 *               leave the canvas lost and the uncovered ones blank (augmentation:
 *               the trainer uses it for training canvases only)
 *   translated  the image placed at a uniformly random position on a blank
 *               size x size canvas (wholly inside; size >= h and >= w)
 *   cluttered   translated, plus `distractors` patches: each a d x d crop at a
 *               random offset of a random image from the pool, added at a random
 *               canvas position (wholly inside); the target is added on top and
 *               values are clipped to [0,1]
 * Canvases are floats (B, H, W, c) in [0,1], channels interleaved as the
 * images' bytes (c = 1: (B, H, W)).
 *
 * Randomness for example b comes only from sc_rng_derive(seed, keys[b]), so a
 * canvas depends on (seed, key) and not on batch size, order or thread count:
 * a fixed validation set uses key = example index; training uses a key that
 * mixes the epoch in (sc_canvas_key) so canvases change every epoch.
 */
#ifndef SACCADE_ENV_CANVAS_H
#define SACCADE_ENV_CANVAS_H

#include <stdint.h>
#include "../nets/err.h"
#include "../nets/pool.h"
#include "dataset.h"

typedef enum { SC_CANVAS_PLAIN = 0, SC_CANVAS_TRANSLATED = 1, SC_CANVAS_CLUTTERED = 2 } sc_canvas_kind;

typedef struct sc_canvas_cfg {
    sc_canvas_kind kind;
    int size;            /* canvas side W (ignored for plain: W = image side) */
    int distractors;     /* cluttered: number of distractor patches */
    int distractor_size; /* cluttered: side d of each patch (paper: 8) */
    int shift;           /* plain: random translation by up to shift pixels per axis (0 = none) */
} sc_canvas_cfg;

/* Height and width of the canvases cfg produces for src's images. */
void sc_canvas_dims(const sc_canvas_cfg *cfg, const sc_images *src, int *H, int *W);

/* A per-example key: distinct for (split, epoch, index) triples. */
uint64_t sc_canvas_key(int split, int epoch, int index);

/* Validates cfg against the images (size >= image height and width, d <= both,
 * shift below both, c in 1..4, ...). */
int sc_canvas_check(const sc_canvas_cfg *cfg, const sc_images *src, sc_err *err);

/* out (B, H, W, c) floats in [0,1] for images src[idx[b]] (sc_canvas_dims);
 * distractor sources are
 * drawn from pool[0..npool). pos (B,2) may be NULL; else receives the target's
 * top-left (x, y) on the canvas (plain: its shift (dx, dy)). Call sc_canvas_check
 * once before. */
void sc_canvas_build(float *out, int *pos, const sc_canvas_cfg *cfg, const sc_images *src,
                     const int *idx, const uint64_t *keys, int B, const int *pool, int npool,
                     uint64_t seed);
/* The same, the B canvases split into blocks over team's workers (nets/pool.h;
 * NULL: on the caller): every canvas depends only on its image, key and seed,
 * so the bits are sc_canvas_build's. */
void sc_canvas_build_on(sc_pool *team, float *out, int *pos, const sc_canvas_cfg *cfg, const sc_images *src,
                        const int *idx, const uint64_t *keys, int B, const int *pool, int npool, uint64_t seed);

#endif
