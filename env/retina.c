/* retina.c - the glimpse sensor: k square patches of growing size around a
 * location, each reduced to g x g (see retina.h for the geometry).
 *
 * For scale s with f = 2^s and S = g*f, patch pixel (px, py) of channel c is
 *     out[(py*g + px)*C + c] = 1/(f*f) * sum_{dy<f, dx<f} img(x0 + px*f + dx, y0 + py*f + dy, c)
 * where img(.) is 0 outside the image and (x0, y0) = sc_retina_origin(...).
 * Images and patches are HWC (a pixel's C channels contiguous), so a patch
 * row of the image is one run of floats whatever C is.
 * Nothing is tested per pixel: the rows and columns that fall inside the
 * image are worked out once per patch (columns) and per patch row (rows), so
 * the scale-0 patch is a clipped row copy (memcpy) and a coarser one sums f
 * clipped source rows into a row buffer, then f neighbours per output pixel.
 *
 * Origins are clamped to +-2^30 pixels (NaN to -2^30): such squares read as
 * all zeros, and no location, however wild, can overflow an int.
 *
 * Not here: the backward pass (the sensor is not differentiated; the policy is
 * trained by REINFORCE) or any batching across threads (callers split B).
 */
#include "retina.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* Bound on |origin|: far off any image, yet origin + S cannot overflow an int. */
#define ORIGIN_LIMIT 1073741824.0   /* 2^30 */

/* floor(cx - S/2 + 1/2) with cx = (v+1)/2 * n, in double (exact for float v
 * and any realistic n), clamped to [-2^30, 2^30]; NaN goes to -2^30. */
static int origin(float v, int n, int S) {
    double t = floor(((double)v + 1.0) * 0.5 * (double)n - 0.5 * (double)S + 0.5);
    if (!(t >= -ORIGIN_LIMIT)) t = -ORIGIN_LIMIT;
    if (t > ORIGIN_LIMIT) t = ORIGIN_LIMIT;
    return (int)t;
}

int sc_retina_origin(float v, int n, int g, int s) { return origin(v, n, g << s); }

static int imax(int a, int b) { return a > b ? a : b; }
static int imin(int a, int b) { return a < b ? a : b; }

/* Scale 0: out (g, g, C) = img[y0.., x0..] with zeros outside. A patch row's
 * pixels are contiguous in HWC, channels included: one memcpy per row. */
static void patch_copy(float *out, const float *img, int H, int W, int C, int x0, int y0, int g) {
    const size_t row = (size_t)g * C;  /* floats per patch row */
    /* Patch rows [r_lo, r_hi) and columns [c_lo, c_hi) lie on the image. */
    int r_lo = imax(0, -y0), r_hi = imin(g, H - y0);
    int c_lo = imax(0, -x0), c_hi = imin(g, W - x0);
    if (r_lo >= r_hi || c_lo >= c_hi) {
        memset(out, 0, (size_t)g * row * sizeof *out);
        return;
    }
    if (r_lo > 0) memset(out, 0, (size_t)r_lo * row * sizeof *out);
    size_t ncopy = (size_t)(c_hi - c_lo) * C * sizeof *out;
    for (int r = r_lo; r < r_hi; r++) {
        float *o = out + (size_t)r * row;
        const float *src = img + ((size_t)(y0 + r) * W + x0 + c_lo) * C;
        if (c_lo > 0) memset(o, 0, (size_t)c_lo * C * sizeof *o);
        memcpy(o + (size_t)c_lo * C, src, ncopy);
        if (c_hi < g) memset(o + (size_t)c_hi * C, 0, (size_t)(g - c_hi) * C * sizeof *o);
    }
    if (r_hi < g) memset(out + (size_t)r_hi * row, 0, (size_t)(g - r_hi) * row * sizeof *out);
}

/* Largest square side handled by the row-sum path, and its row buffer of
 * floats (S C of them: the C <= SC_RETINA_EXACT_CHANNELS channels of a
 * ROWSUM_MAX-wide row). */
#define ROWSUM_MAX 1024
#define ROWSUM_FLOATS (ROWSUM_MAX * SC_RETINA_EXACT_CHANNELS)

/* acc[c] += row[c] for c < n, eight at a time: written out so that the -O2
 * (SLP) vectoriser turns each group into one vector add. */
static inline void row_add(float *restrict acc, const float *restrict row, int n) {
    int c = 0;
    for (; c + 8 <= n; c += 8) {
        float *a = acc + c;
        const float *r = row + c;
        a[0] += r[0]; a[1] += r[1]; a[2] += r[2]; a[3] += r[3];
        a[4] += r[4]; a[5] += r[5]; a[6] += r[6]; a[7] += r[7];
    }
    for (; c < n; c++) acc[c] += row[c];
}

/* o[px C + c] = inv * sum_{dx<f} acc[(px f + dx) C + c] for px < g, c < C:
 * per channel, the same sum in the same order as for C = 1. */
static inline void block_sums(float *o, const float *acc, int g, int f, int C, float inv) {
    for (int px = 0; px < g; px++) {
        const float *a = acc + (size_t)px * f * C;
        for (int c = 0; c < C; c++) {
            float sum = 0.0f;
            for (int dx = 0; dx < f; dx++) sum += a[(size_t)dx * C + c];
            o[(size_t)px * C + c] = sum * inv;
        }
    }
}

/* Scale s >= 1, S = g*2^s <= ROWSUM_MAX and S C <= ROWSUM_FLOATS: like
 * patch_average, but for each output row first sums the f source rows
 * element-wise into acc (S C floats, contiguous, vectorisable), then adds up
 * f neighbours of acc per output pixel and channel. */
static void patch_average_rows(float *out, const float *img, int H, int W, int C, int x0, int y0, int g,
                               int s) {
    const int f = 1 << s, S = g << s;
    const float inv = 1.0f / (float)(f * f);   /* a power of two: exact */
    /* Square columns [c_lo, c_hi) lie on the image (same for every row). */
    const int c_lo = imax(0, -x0), c_hi = imin(S, W - x0);
    float acc[ROWSUM_FLOATS];
    for (int py = 0; py < g; py++) {
        float *o = out + (size_t)py * g * C;
        int ylo = imax(y0 + py * f, 0), yhi = imin(y0 + py * f + f, H);
        if (ylo >= yhi || c_lo >= c_hi) {
            memset(o, 0, (size_t)g * C * sizeof *o);
            continue;
        }
        memset(acc, 0, (size_t)S * C * sizeof *acc);
        for (int y = ylo; y < yhi; y++)
            row_add(acc + (size_t)c_lo * C, img + ((size_t)y * W + x0 + c_lo) * C, (c_hi - c_lo) * C);
        if (C == 1) {
            switch (f) {   /* constant block widths let the compiler unroll */
            case 2: block_sums(o, acc, g, 2, 1, inv); break;
            case 4: block_sums(o, acc, g, 4, 1, inv); break;
            default: block_sums(o, acc, g, f, 1, inv); break;
            }
        } else {
            block_sums(o, acc, g, f, C, inv);
        }
    }
}

/* Scale s >= 1: out (g, g, C) = averages of f x f blocks (f = 2^s) of the
 * S x S square at (x0, y0), per channel, zeros outside (they count in the
 * average). Block by block, for squares too wide for patch_average_rows. */
static void patch_average(float *out, const float *img, int H, int W, int C, int x0, int y0, int g,
                          int s) {
    const int f = 1 << s;
    const float inv = 1.0f / (float)(f * f);   /* a power of two: exact */
    for (int py = 0; py < g; py++) {
        float *o = out + (size_t)py * g * C;
        int ylo = imax(y0 + py * f, 0), yhi = imin(y0 + py * f + f, H);
        if (ylo >= yhi) {
            memset(o, 0, (size_t)g * C * sizeof *o);
            continue;
        }
        for (int px = 0; px < g; px++) {
            int xlo = imax(x0 + px * f, 0), xhi = imin(x0 + px * f + f, W);
            for (int c = 0; c < C; c++) {
                float sum = 0.0f;
                if (xlo < xhi) {
                    for (int y = ylo; y < yhi; y++) {
                        const float *row = img + (size_t)y * W * C + c;
                        for (int x = xlo; x < xhi; x++) sum += row[(size_t)x * C];
                    }
                }
                o[(size_t)px * C + c] = sum * inv;
            }
        }
    }
}

void sc_retina_extract(float *out, const float *img, const float *loc, int B, int H, int W, int C, int g,
                       int k) {
    const size_t ipix = (size_t)H * W * C, opatch = (size_t)g * g * C;
    for (int b = 0; b < B; b++) {
        const float *im = img + (size_t)b * ipix;
        float *o = out + (size_t)b * k * opatch;
        for (int s = 0; s < k; s++) {
            const int S = g << s;
            int x0 = origin(loc[2 * b], W, S);
            int y0 = origin(loc[2 * b + 1], H, S);
            if (s == 0) patch_copy(o, im, H, W, C, x0, y0, g);
            else if (S <= ROWSUM_MAX && (long long)S * C <= ROWSUM_FLOATS)
                patch_average_rows(o + s * opatch, im, H, W, C, x0, y0, g, s);
            else patch_average(o + s * opatch, im, H, W, C, x0, y0, g, s);
        }
    }
}
