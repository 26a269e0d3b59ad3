/* test_env_retina.c - the glimpse sensor against hand-worked patches and a
 * slow per-pixel reference.
 *
 * Images are coordinate-coded (pixel (i, j) = 1 + j*W + i) or random
 * integers, so every value read identifies where it came from, and block sums
 * of integers are exact in float whatever the summation order: the fast
 * sensor must match the reference bit for bit.
 *
 * Channels (HWC images, (g, g, C) patches): a C-channel extraction of random
 * non-integer pixels equals, bit for bit, extracting each channel alone as a
 * one-channel image and interleaving (C <= SC_RETINA_EXACT_CHANNELS); for any
 * C, integer images against the reference per channel. Non-square images: the
 * axes map independently (hand-worked patches on 20 x 28 and 12 x 40 images,
 * one lit pixel landing where retina.h's formula puts it, and its transpose).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/retina.h"
#include "nets/rng.h"
#include "tests/testutil.h"

/* ck_assert only on failure (Check reports every pass, slow in pixel loops). */
#define REQUIRE(cond, ...)                        \
    do {                                          \
        if (!(cond)) ck_abort_msg(__VA_ARGS__);   \
    } while (0)

/* H x W image, pixel (col i, row j) = 1 + j*W + i. */
static float *coded_image(int H, int W) {
    float *im = malloc((size_t)H * W * sizeof(float));
    ck_assert_ptr_nonnull(im);
    for (int j = 0; j < H; j++)
        for (int i = 0; i < W; i++) im[j * W + i] = (float)(1 + j * W + i);
    return im;
}

static float code(int W, int i, int j) { return (float)(1 + j * W + i); }

/* The specification, pixel by pixel, in double. */
static double ref_pix(const float *im, int H, int W, int x, int y) {
    return (x < 0 || y < 0 || x >= W || y >= H) ? 0.0 : im[y * W + x];
}

static int ref_origin(double v, int n, int S) { return (int)floor(((v + 1.0) * n - S + 1.0) / 2.0); }

static void ref_retina(float *out, const float *im, int H, int W, float lx, float ly, int g, int k) {
    for (int s = 0; s < k; s++) {
        int f = 1 << s, S = g * f;
        int x0 = ref_origin(lx, W, S), y0 = ref_origin(ly, H, S);
        for (int py = 0; py < g; py++)
            for (int px = 0; px < g; px++) {
                double sum = 0;
                for (int dy = 0; dy < f; dy++)
                    for (int dx = 0; dx < f; dx++) sum += ref_pix(im, H, W, x0 + px * f + dx, y0 + py * f + dy);
                out[s * g * g + py * g + px] = (float)(sum / (f * f));
            }
    }
}

static void extract1(float *out, const float *im, int H, int W, float lx, float ly, int g, int k) {
    float loc[2] = {lx, ly};
    sc_retina_extract(out, im, loc, 1, H, W, 1, g, k);
}

START_TEST(test_centre) {
    float *im = coded_image(28, 28);
    float out[2 * 64];
    extract1(out, im, 28, 28, 0.0f, 0.0f, 8, 1);
    for (int py = 0; py < 8; py++)
        for (int px = 0; px < 8; px++)   /* pixels 10..17 on both axes */
            ck_assert_msg(out[py * 8 + px] == code(28, 10 + px, 10 + py), "(%d,%d): %g", px, py, out[py * 8 + px]);
    /* Scale 1 at the centre: the 16x16 square from pixel 6, 2x2 means of a
     * linear code = the code at the block centre (i + 1/2, j + 1/2). */
    extract1(out, im, 28, 28, 0.0f, 0.0f, 8, 2);
    for (int py = 0; py < 8; py++)
        for (int px = 0; px < 8; px++) {
            float want = 1.0f + (6.0f + 2 * py + 0.5f) * 28.0f + (6.0f + 2 * px + 0.5f);
            ck_assert_msg(out[64 + py * 8 + px] == want, "scale 1 (%d,%d): %g vs %g", px, py, out[64 + py * 8 + px], want);
        }
    /* Scale 0 is unchanged by asking for more scales. */
    for (int p = 0; p < 64; p++) ck_assert(out[p] == code(28, 10 + p % 8, 10 + p / 8));
    free(im);
}
END_TEST

START_TEST(test_edges_corners) {
    float *im = coded_image(28, 28);
    float out[64];
    /* Top-left corner (-1,-1): square from -4, the image fills its lower right quarter. */
    extract1(out, im, 28, 28, -1.0f, -1.0f, 8, 1);
    for (int py = 0; py < 8; py++)
        for (int px = 0; px < 8; px++) {
            float want = (px >= 4 && py >= 4) ? code(28, px - 4, py - 4) : 0.0f;
            ck_assert_msg(out[py * 8 + px] == want, "TL (%d,%d): %g vs %g", px, py, out[py * 8 + px], want);
        }
    /* Bottom-right (1,1): square from 24, columns/rows 28..31 are off. */
    extract1(out, im, 28, 28, 1.0f, 1.0f, 8, 1);
    for (int py = 0; py < 8; py++)
        for (int px = 0; px < 8; px++) {
            float want = (px < 4 && py < 4) ? code(28, 24 + px, 24 + py) : 0.0f;
            ck_assert_msg(out[py * 8 + px] == want, "BR (%d,%d): %g vs %g", px, py, out[py * 8 + px], want);
        }
    /* Top-right (1,-1) and the middle of the left edge (-1,0). */
    extract1(out, im, 28, 28, 1.0f, -1.0f, 8, 1);
    for (int py = 0; py < 8; py++)
        for (int px = 0; px < 8; px++) {
            float want = (px < 4 && py >= 4) ? code(28, 24 + px, py - 4) : 0.0f;
            ck_assert_msg(out[py * 8 + px] == want, "TR (%d,%d): %g vs %g", px, py, out[py * 8 + px], want);
        }
    extract1(out, im, 28, 28, -1.0f, 0.0f, 8, 1);
    for (int py = 0; py < 8; py++)
        for (int px = 0; px < 8; px++) {
            float want = px >= 4 ? code(28, px - 4, 10 + py) : 0.0f;
            ck_assert_msg(out[py * 8 + px] == want, "L (%d,%d): %g vs %g", px, py, out[py * 8 + px], want);
        }
    /* Bottom edge, coarse scale: half of each 2x2 block row 14 (rows 28, 29) is off. */
    float out2[128];
    extract1(out2, im, 28, 28, 0.0f, 1.0f, 8, 2);   /* scale 1: y0 = 28 - 8 + 0.5 -> 20 */
    for (int py = 0; py < 8; py++)
        for (int px = 0; px < 8; px++) {
            int x = 6 + 2 * px, y = 20 + 2 * py;
            double sum = 0;
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++)
                    if (y + dy < 28) sum += code(28, x + dx, y + dy);
            ck_assert_msg(out2[64 + py * 8 + px] == (float)(sum / 4), "bottom scale 1 (%d,%d)", px, py);
        }
    free(im);
}
END_TEST

START_TEST(test_off_image) {
    float *im = coded_image(28, 28);
    const int g = 8, k = 3;
    float out[3 * 64];
    const float locs[][2] = {{3.0f, 3.0f}, {-3.0f, 0.2f}, {0.0f, 5.0f}, {1e30f, -1e30f},
                             {NAN, 0.0f}, {0.0f, -INFINITY}, {INFINITY, NAN}};
    for (size_t c = 0; c < sizeof locs / sizeof locs[0]; c++) {
        for (int i = 0; i < 3 * 64; i++) out[i] = -7.0f;   /* must be overwritten */
        extract1(out, im, 28, 28, locs[c][0], locs[c][1], g, k);
        for (int i = 0; i < k * g * g; i++)
            ck_assert_msg(out[i] == 0.0f, "loc (%g,%g) value %d = %g, expected 0", locs[c][0], locs[c][1], i, out[i]);
    }
    free(im);
}
END_TEST

START_TEST(test_vs_reference) {
    sc_rng r;
    sc_rng_seed(&r, 2024);
    const int gs[] = {1, 2, 3, 5, 8, 12};
    int cases = 0;
    for (int trial = 0; trial < 300; trial++) {
        int H = 5 + (int)sc_rng_int(&r, 40), W = 5 + (int)sc_rng_int(&r, 40);
        int g = gs[sc_rng_int(&r, 6)], k = 1 + (int)sc_rng_int(&r, 4);
        const int B = 3;
        float *im = malloc((size_t)B * H * W * sizeof(float));
        float *loc = malloc((size_t)B * 2 * sizeof(float));
        float *out = malloc((size_t)B * k * g * g * sizeof(float));
        float *want = malloc((size_t)k * g * g * sizeof(float));
        ck_assert(im && loc && out && want);
        for (int i = 0; i < B * H * W; i++) im[i] = (float)sc_rng_int(&r, 256);
        for (int b = 0; b < B; b++)
            for (int a = 0; a < 2; a++) {
                int n = a ? H : W;
                /* Half the draws on exact pixel boundaries, where floor matters. */
                loc[2 * b + a] = sc_rng_int(&r, 2) ? 2.0f * (float)(int)sc_rng_int(&r, (uint32_t)(2 * n + 1)) / (2.0f * n) - 1.0f
                                                   : 2.6f * sc_rng_uniform(&r) - 1.3f;
            }
        for (int i = 0; i < B * k * g * g; i++) out[i] = -1.0f;
        sc_retina_extract(out, im, loc, B, H, W, 1, g, k);
        for (int b = 0; b < B; b++) {
            ref_retina(want, im + (size_t)b * H * W, H, W, loc[2 * b], loc[2 * b + 1], g, k);
            for (int i = 0; i < k * g * g; i++)
                REQUIRE(out[(size_t)b * k * g * g + i] == want[i],
                        "H=%d W=%d g=%d k=%d b=%d loc (%.9g,%.9g) value %d (scale %d): %.9g vs reference %.9g", H, W,
                        g, k, b, loc[2 * b], loc[2 * b + 1], i, i / (g * g), out[(size_t)b * k * g * g + i], want[i]);
            cases++;
        }
        free(im); free(loc); free(out); free(want);
    }
    ck_assert_int_eq(cases, 900);
}
END_TEST

/* Squares wider than the sensor's row buffer (S > 1024) take another path. */
START_TEST(test_vs_reference_wide) {
    const int H = 37, W = 45;
    float *im = malloc((size_t)H * W * sizeof(float));
    ck_assert_ptr_nonnull(im);
    sc_rng r;
    sc_rng_seed(&r, 77);
    for (int i = 0; i < H * W; i++) im[i] = (float)sc_rng_int(&r, 256);
    const int cfg[][2] = {{5, 9}, {3, 10}, {2, 11}};   /* S = 1280, 1536, 2048 at the top scale */
    const float locs[][2] = {{0.0f, 0.0f}, {-1.0f, 1.0f}, {0.37f, -0.81f}, {30.0f, 0.0f}};
    for (int c = 0; c < 3; c++)
        for (int l = 0; l < 4; l++) {
            int g = cfg[c][0], k = cfg[c][1];
            float *out = malloc((size_t)k * g * g * sizeof(float)), *want = malloc((size_t)k * g * g * sizeof(float));
            ck_assert(out && want);
            extract1(out, im, H, W, locs[l][0], locs[l][1], g, k);
            ref_retina(want, im, H, W, locs[l][0], locs[l][1], g, k);
            for (int i = 0; i < k * g * g; i++)
                REQUIRE(out[i] == want[i], "g=%d k=%d loc %d value %d: %.9g vs %.9g", g, k, l, i, out[i], want[i]);
            free(out);
            free(want);
        }
    free(im);
}
END_TEST

/* ---- channels ------------------------------------------------------------------ */

/* Channel c of the HWC image im (H, W, C) as a plain (H, W) image. */
static float *channel_plane(const float *im, int H, int W, int C, int c) {
    float *p = malloc((size_t)H * W * sizeof(float));
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < (size_t)H * W; i++) p[i] = im[i * C + c];
    return p;
}

/* Random non-integer pixels, so that a different summation order would show;
 * squares up to 8 x 2^4 = 128 (the row-sum path) and, every tenth trial, past
 * 1024 (the block path). */
START_TEST(test_channels_interleave) {
    sc_rng r;
    sc_rng_seed(&r, 31);
    const int gs[] = {1, 2, 3, 5, 8};
    int cases = 0;
    for (int trial = 0; trial < 240; trial++) {
        const int C = 2 + trial % (SC_RETINA_EXACT_CHANNELS - 1);   /* 2, 3, 4 */
        const int wide = trial % 10 == 9;
        int H = 3 + (int)sc_rng_int(&r, 30), W = 3 + (int)sc_rng_int(&r, 30);
        int g = wide ? 2 + (int)sc_rng_int(&r, 2) : gs[sc_rng_int(&r, 5)];
        int k = wide ? 10 + (int)sc_rng_int(&r, 2) : 1 + (int)sc_rng_int(&r, 4);
        const int B = 2;
        const size_t npix = (size_t)H * W, G = (size_t)k * g * g;
        float *im = malloc(B * npix * C * sizeof(float)), loc[2 * 2];
        float *out = malloc(B * G * C * sizeof(float)), *one = malloc(G * sizeof(float));
        ck_assert(im && out && one);
        for (size_t i = 0; i < B * npix * C; i++) im[i] = sc_rng_uniform(&r);
        for (int i = 0; i < 2 * B; i++) loc[i] = 2.6f * sc_rng_uniform(&r) - 1.3f;
        for (size_t i = 0; i < B * G * C; i++) out[i] = -1.0f;
        sc_retina_extract(out, im, loc, B, H, W, C, g, k);
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++) {
                float *plane = channel_plane(im + b * npix * C, H, W, C, c);
                sc_retina_extract(one, plane, loc + 2 * b, 1, H, W, 1, g, k);
                for (size_t i = 0; i < G; i++) {
                    float got = out[(b * G + i) * C + c];
                    REQUIRE(memcmp(&got, &one[i], sizeof got) == 0,
                            "C=%d H=%d W=%d g=%d k=%d b=%d channel %d value %zu (scale %zu): %.9g, one channel alone "
                            "%.9g", C, H, W, g, k, b, c, i, i / ((size_t)g * g), got, one[i]);
                }
                free(plane);
                cases++;
            }
        free(im); free(out); free(one);
    }
    ck_assert_int_gt(cases, 600);
}
END_TEST

/* Any C, the widest squares included: integer pixels against the reference,
 * channel by channel. */
START_TEST(test_channels_vs_reference) {
    sc_rng r;
    sc_rng_seed(&r, 4096);
    const int cfg[][2] = {{3, 2}, {5, 3}, {8, 1}, {4, 4}, {3, 10}, {1, 11}};   /* (g, k): S up to 1536, 1024 */
    for (int C = 1; C <= 6; C++)
        for (int ci = 0; ci < 6; ci++) {
            const int g = cfg[ci][0], k = cfg[ci][1], H = 7 + (int)sc_rng_int(&r, 20), W = 7 + (int)sc_rng_int(&r, 20);
            const size_t npix = (size_t)H * W, G = (size_t)k * g * g;
            float *im = malloc(npix * C * sizeof(float)), *out = malloc(G * C * sizeof(float));
            float *want = malloc(G * sizeof(float));
            ck_assert(im && out && want);
            for (size_t i = 0; i < npix * C; i++) im[i] = (float)sc_rng_int(&r, 256);
            const float lx = 2.4f * sc_rng_uniform(&r) - 1.2f, ly = 2.4f * sc_rng_uniform(&r) - 1.2f;
            const float loc[2] = {lx, ly};
            sc_retina_extract(out, im, loc, 1, H, W, C, g, k);
            for (int c = 0; c < C; c++) {
                float *plane = channel_plane(im, H, W, C, c);
                ref_retina(want, plane, H, W, lx, ly, g, k);
                for (size_t i = 0; i < G; i++)
                    REQUIRE(out[i * C + c] == want[i], "C=%d g=%d k=%d channel %d value %zu: %.9g vs reference %.9g",
                            C, g, k, c, i, out[i * C + c], want[i]);
                free(plane);
            }
            free(im); free(out); free(want);
        }
}
END_TEST

/* ---- non-square images -------------------------------------------------------------- */

/* 20 rows x 28 columns, l = (0,0): cx = 14, cy = 10, so the 8x8 patch starts at
 * column floor(14 - 4 + 1/2) = 10 and row floor(10 - 4 + 1/2) = 6 (retina.h's
 * example); the 16x16 square of scale 1 at column 6, row 2. */
START_TEST(test_non_square_centre) {
    const int H = 20, W = 28;
    float *im = coded_image(H, W);
    float out[2 * 64];
    extract1(out, im, H, W, 0.0f, 0.0f, 8, 2);
    for (int py = 0; py < 8; py++)
        for (int px = 0; px < 8; px++) {
            ck_assert_msg(out[py * 8 + px] == code(W, 10 + px, 6 + py), "(%d,%d): %g, expected pixel (%d, %d)", px,
                          py, out[py * 8 + px], 10 + px, 6 + py);
            float want = 1.0f + (2.0f + 2 * py + 0.5f) * W + (6.0f + 2 * px + 0.5f);
            ck_assert_msg(out[64 + py * 8 + px] == want, "scale 1 (%d,%d): %g vs %g", px, py, out[64 + py * 8 + px],
                          want);
        }
    free(im);
}
END_TEST

/* One lit pixel, column 21 and row 3 of a 12-row, 40-column image of C = 3
 * channels (values 1, 2, 3). l = (0.05, -0.5) maps to cx = 1.05 / 2 * 40 = 21,
 * cy = 0.5 / 2 * 12 = 3, so the 4x4 patch starts at column floor(21 - 2 + 1/2)
 * = 19 and row floor(3 - 2 + 1/2) = 1: the pixel lands at (px, py) = (2, 2),
 * nothing else is lit. The transposed image (40 rows, 12 columns, the pixel at
 * column 3, row 21) read at the transposed location gives the same patch,
 * transposed: the axes use their own lengths. */
START_TEST(test_non_square_pixel) {
    const int C = 3, g = 4;
    for (int transpose = 0; transpose < 2; transpose++) {
        const int H = transpose ? 40 : 12, W = transpose ? 12 : 40;
        const int col = transpose ? 3 : 21, row = transpose ? 21 : 3;
        const float loc[2] = {transpose ? -0.5f : 0.05f, transpose ? 0.05f : -0.5f};
        ck_assert_int_eq(sc_retina_origin(loc[0], W, g, 0), col - 2);
        ck_assert_int_eq(sc_retina_origin(loc[1], H, g, 0), row - 2);
        float *im = calloc((size_t)H * W * C, sizeof(float)), out[4 * 4 * 3];
        ck_assert_ptr_nonnull(im);
        for (int c = 0; c < C; c++) im[((size_t)row * W + col) * C + c] = (float)(c + 1);
        sc_retina_extract(out, im, loc, 1, H, W, C, g, 1);
        for (int py = 0; py < g; py++)
            for (int px = 0; px < g; px++)
                for (int c = 0; c < C; c++) {
                    float v = out[(py * g + px) * C + c], want = px == 2 && py == 2 ? (float)(c + 1) : 0.0f;
                    ck_assert_msg(v == want, "transpose %d (%d,%d) channel %d: %g, expected %g", transpose, px, py, c,
                                  v, want);
                }
        free(im);
    }
}
END_TEST

START_TEST(test_origin) {
    ck_assert_int_eq(sc_retina_origin(0.0f, 28, 8, 0), 10);    /* pixels 10..17 */
    ck_assert_int_eq(sc_retina_origin(0.0f, 28, 8, 1), 6);     /* 16 wide: 6..21 */
    ck_assert_int_eq(sc_retina_origin(0.0f, 28, 8, 2), -2);    /* 32 wide: floor(-1.5) */
    ck_assert_int_eq(sc_retina_origin(-1.0f, 28, 8, 0), -4);
    ck_assert_int_eq(sc_retina_origin(1.0f, 28, 8, 0), 24);
    ck_assert_int_eq(sc_retina_origin(0.0f, 60, 12, 0), 24);   /* floor(24.5) */
    ck_assert_int_eq(sc_retina_origin(1.0f, 60, 12, 2), 36);
    ck_assert_int_eq(sc_retina_origin(0.0f, 28, 5, 0), 12);    /* odd g: centre pixel 14 */
    ck_assert_int_eq(sc_retina_origin(-1.0f, 28, 5, 0), -2);
    ck_assert_int_eq(sc_retina_origin(-0.99f, 28, 5, 0), -2);  /* floor(-1.86), not truncation */
    ck_assert_int_eq(sc_retina_origin(0.5f, 28, 8, 0), 17);    /* cx = 21 */
    sc_rng r;
    sc_rng_seed(&r, 5);
    for (int i = 0; i < 10000; i++) {
        float v = 2.4f * sc_rng_uniform(&r) - 1.2f;
        int n = 1 + (int)sc_rng_int(&r, 200), g = 1 + (int)sc_rng_int(&r, 16), s = (int)sc_rng_int(&r, 4);
        int got = sc_retina_origin(v, n, g, s), want = ref_origin(v, n, g << s);
        REQUIRE(got == want, "origin(%.9g, %d, %d, %d) = %d, expected %d", v, n, g, s, got, want);
    }
    /* Non-finite and huge locations land just off the image. */
    ck_assert_int_le(sc_retina_origin(NAN, 28, 8, 0), -8);
    ck_assert_int_le(sc_retina_origin(-1e30f, 28, 8, 0), -8);
    ck_assert_int_ge(sc_retina_origin(1e30f, 28, 8, 0), 28);
    ck_assert_int_ge(sc_retina_origin(INFINITY, 28, 8, 0), 28);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("env_retina");
    TCase *tc = tcase_create("retina");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_centre);
    tcase_add_test(tc, test_edges_corners);
    tcase_add_test(tc, test_off_image);
    tcase_add_test(tc, test_vs_reference);
    tcase_add_test(tc, test_vs_reference_wide);
    tcase_add_test(tc, test_origin);
    tcase_add_test(tc, test_channels_interleave);
    tcase_add_test(tc, test_channels_vs_reference);
    tcase_add_test(tc, test_non_square_centre);
    tcase_add_test(tc, test_non_square_pixel);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(make_suite)
