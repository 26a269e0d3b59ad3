/* canvas.c - the paper's input tasks (plain, translated, cluttered), built per
 * batch from the dataset's bytes.
 *
 * For example b everything random comes from one generator,
 * sc_rng_derive(seed, keys[b]), drawn in this fixed order:
 *   target position   px = U{0..W-w}, py = U{0..W-h}          (translated, cluttered)
 *   per distractor    source image pool[U{0..npool-1}],
 *                     crop offset  ox = U{0..w-d}, oy = U{0..h-d},
 *                     canvas spot  cx = U{0..W-d}, cy = U{0..W-d}
 * so a canvas depends only on (seed, key, cfg, images), never on the batch it
 * is built in. The canvas is zeroed, distractor crops are added, the target is
 * added on top, and the sum is clipped to [0,1]:
 *   out = min(1, sum_i crop_i / 255 + target / 255).
 * Paper settings: translated 60x60; cluttered 60x60 with 4 distractors or
 * 100x100 with 8, d = 8. Images of c channels (h x w x c bytes) give canvases
 * of c channels, each channel added and clipped alike; the draws above do not
 * depend on c.
 *
 * If pool is NULL or npool <= 0, distractors are drawn from all of src.
 *
 * Not here: choosing keys for an epoch (see sc_canvas_key) or the glimpse
 * sensor (retina.c).
 */
#include "canvas.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "idx.h"

/* Largest canvas side accepted by sc_canvas_check (keeps B*W*W well inside int). */
#define CANVAS_MAX_SIDE 4096

void sc_canvas_dims(const sc_canvas_cfg *cfg, const sc_images *src, int *H, int *W) {
    if (cfg->kind == SC_CANVAS_PLAIN) {
        *H = src->h;
        *W = src->w;
    } else {
        *H = *W = cfg->size;
    }
}

/* Bit layout: split in bits 56..63, epoch in bits 32..55, index in bits 0..31,
 * so keys are distinct for split in 0..255, epoch in 0..2^24-1 and any 32-bit
 * index. sc_rng_derive mixes the key, so the plain layout is fine as a stream. */
uint64_t sc_canvas_key(int split, int epoch, int index) {
    return ((uint64_t)(uint8_t)split << 56) | ((uint64_t)((uint32_t)epoch & 0xFFFFFFu) << 32) |
           (uint64_t)(uint32_t)index;
}

int sc_canvas_check(const sc_canvas_cfg *cfg, const sc_images *src, sc_err *err) {
    if (!cfg || !src) return sc_errf(err, SC_EARG, "canvas: NULL configuration or images");
    if (src->n < 1 || !src->pix)
        return sc_errf(err, SC_EARG, "canvas: no source images (expected at least 1, found %d)", src->n);
    if (src->h < 1 || src->w < 1 || src->h > CANVAS_MAX_SIDE || src->w > CANVAS_MAX_SIDE)
        return sc_errf(err, SC_EARG, "canvas: images are %dx%d (expected 1..%d pixels per side)", src->h, src->w,
                       CANVAS_MAX_SIDE);
    if (src->c < 0 || src->c > 4)
        return sc_errf(err, SC_EARG, "canvas: images of %d channels (expected 1..4)", src->c);
    const int side = src->h < src->w ? src->h : src->w;   /* the shorter side */
    const int longer = src->h < src->w ? src->w : src->h;
    if (cfg->shift < 0 || cfg->shift >= side)
        return sc_errf(err, SC_EARG, "canvas: shift %d (expected 0..%d for %dx%d images)", cfg->shift, side - 1,
                       src->h, src->w);
    if (cfg->shift > 0 && cfg->kind != SC_CANVAS_PLAIN)
        return sc_errf(err, SC_EARG, "canvas: shift %d applies to the plain canvas only (translated and "
                       "cluttered canvases place the digit at random already; expected 0)", cfg->shift);
    switch (cfg->kind) {
    case SC_CANVAS_PLAIN:
        return SC_OK;
    case SC_CANVAS_TRANSLATED:
    case SC_CANVAS_CLUTTERED:
        break;
    default:
        return sc_errf(err, SC_EARG, "canvas: unknown kind %d (expected 0 plain, 1 translated, 2 cluttered)",
                       (int)cfg->kind);
    }
    if (cfg->size < longer || cfg->size > CANVAS_MAX_SIDE)
        return sc_errf(err, SC_EARG, "canvas: size %d (expected %d..%d for %dx%d images)", cfg->size, longer,
                       CANVAS_MAX_SIDE, src->h, src->w);
    if (cfg->kind == SC_CANVAS_CLUTTERED) {
        if (cfg->distractors < 0)
            return sc_errf(err, SC_EARG, "canvas: %d distractors (expected >= 0)", cfg->distractors);
        if (cfg->distractor_size < 1 || cfg->distractor_size > side)
            return sc_errf(err, SC_EARG, "canvas: distractor size %d (expected 1..%d, the image's shorter side)",
                           cfg->distractor_size, side);
    }
    return SC_OK;
}

/* out[(cy+r)*W + cx+x][ch] += img[(oy+r)*iw + ox+x][ch] / 255 for r < ph, x < pw,
 * ch < c (rows of pw*c interleaved values). */
static void add_patch(float *out, int W, int cx, int cy, const uint8_t *img, int iw, int ox, int oy,
                      int pw, int ph, int c) {
    const size_t n = (size_t)pw * c;
    for (int r = 0; r < ph; r++) {
        float *o = out + ((size_t)(cy + r) * W + cx) * c;
        const uint8_t *p = img + ((size_t)(oy + r) * iw + ox) * c;
        for (size_t x = 0; x < n; x++) o[x] += (float)p[x] / 255.0f;
    }
}

void sc_canvas_build(float *out, int *pos, const sc_canvas_cfg *cfg, const sc_images *src,
                     const int *idx, const uint64_t *keys, int B, const int *pool, int npool,
                     uint64_t seed) {
    const int h = src->h, w = src->w, c = sc_images_channels(src);
    const size_t npix = (size_t)h * w * c;
    int H, W;
    sc_canvas_dims(cfg, src, &H, &W);
    const size_t cpix = (size_t)H * W * c;
    for (int b = 0; b < B; b++) {
        float *o = out + (size_t)b * cpix;
        const uint8_t *img = src->pix + (size_t)idx[b] * npix;
        if (cfg->kind == SC_CANVAS_PLAIN && cfg->shift == 0) {
            sc_u8_to_float(o, img, npix);
            if (pos) pos[2 * b] = pos[2 * b + 1] = 0;
            continue;
        }
        if (cfg->kind == SC_CANVAS_PLAIN) {
            /* out[y][x] = img[y - dy][x - dx] where that is inside the image, else 0 */
            sc_rng r;
            sc_rng_derive(&r, seed, keys[b]);
            const int s = cfg->shift;
            int dx = (int)sc_rng_int(&r, (uint32_t)(2 * s + 1)) - s;
            int dy = (int)sc_rng_int(&r, (uint32_t)(2 * s + 1)) - s;
            memset(o, 0, npix * sizeof *o);
            int x0 = dx > 0 ? dx : 0, y0 = dy > 0 ? dy : 0;
            int ox = dx > 0 ? 0 : -dx, oy = dy > 0 ? 0 : -dy;
            add_patch(o, w, x0, y0, img, w, ox, oy, w - abs(dx), h - abs(dy), c);
            if (pos) {
                pos[2 * b] = dx;
                pos[2 * b + 1] = dy;
            }
            continue;
        }
        sc_rng r;
        sc_rng_derive(&r, seed, keys[b]);
        int px = (int)sc_rng_int(&r, (uint32_t)(W - w + 1));
        int py = (int)sc_rng_int(&r, (uint32_t)(H - h + 1));
        memset(o, 0, cpix * sizeof *o);
        if (cfg->kind == SC_CANVAS_CLUTTERED) {
            const int d = cfg->distractor_size;
            for (int i = 0; i < cfg->distractors; i++) {
                int k = (pool && npool > 0) ? pool[sc_rng_int(&r, (uint32_t)npool)]
                                            : (int)sc_rng_int(&r, (uint32_t)src->n);
                int ox = (int)sc_rng_int(&r, (uint32_t)(w - d + 1));
                int oy = (int)sc_rng_int(&r, (uint32_t)(h - d + 1));
                int cx = (int)sc_rng_int(&r, (uint32_t)(W - d + 1));
                int cy = (int)sc_rng_int(&r, (uint32_t)(H - d + 1));
                add_patch(o, W, cx, cy, src->pix + (size_t)k * npix, w, ox, oy, d, d, c);
            }
        }
        add_patch(o, W, px, py, img, w, 0, 0, w, h, c);
        if (cfg->kind == SC_CANVAS_CLUTTERED)
            for (size_t i = 0; i < cpix; i++) o[i] = o[i] > 1.0f ? 1.0f : o[i];
        if (pos) {
            pos[2 * b] = px;
            pos[2 * b + 1] = py;
        }
    }
}

typedef struct build_job {
    float *out;
    int *pos;
    const sc_canvas_cfg *cfg;
    const sc_images *src;
    const int *idx, *pool;
    const uint64_t *keys;
    int B, npool;
    uint64_t seed;
    size_t cpix;  /* floats per canvas */
} build_job;

static void build_block(void *arg, int k, int workers) {
    const build_job *j = arg;
    const int b0 = (int)((long)j->B * k / workers), b1 = (int)((long)j->B * (k + 1) / workers);
    if (b1 > b0)
        sc_canvas_build(j->out + (size_t)b0 * j->cpix, j->pos ? j->pos + 2 * b0 : NULL, j->cfg, j->src, j->idx + b0,
                        j->keys + b0, b1 - b0, j->pool, j->npool, j->seed);
}

void sc_canvas_build_on(sc_pool *team, float *out, int *pos, const sc_canvas_cfg *cfg, const sc_images *src,
                        const int *idx, const uint64_t *keys, int B, const int *pool, int npool, uint64_t seed) {
    int H, W;
    sc_canvas_dims(cfg, src, &H, &W);
    build_job j = {out, pos, cfg, src, idx, pool, keys, B, npool, seed,
                   (size_t)H * W * sc_images_channels(src)};
    sc_pool_run(team, build_block, &j);
}
