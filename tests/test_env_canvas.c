/* test_env_canvas.c - the plain, translated and cluttered tasks.
 *
 * Source images are built so that what lands on a canvas can be decoded:
 * constant "marker" images make every distractor contribute a known amount,
 * coordinate-coded images reveal the crop offset, all-nonzero targets reveal
 * their footprint. Determinism is checked by building the same examples in
 * different batches and orders, and by several workers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/canvas.h"
#include "tests/testutil.h"

/* A check for hot loops: Check's ck_assert reports every pass to the parent
 * process, which is slow over ~10^6 pixels; this only calls it on failure. */
#define REQUIRE(cond, ...)                        \
    do {                                          \
        if (!(cond)) ck_abort_msg(__VA_ARGS__);   \
    } while (0)

/* n images of side s, all pixels 0, for the caller to fill. */
static sc_images blank_images(int n, int s) {
    sc_images im = {.n = n, .h = s, .w = s, .num_classes = 1};
    im.pix = calloc((size_t)n * s * s, 1);
    im.labels = calloc((size_t)n, 1);
    ck_assert(im.pix && im.labels);
    return im;
}

static void fill_image(sc_images *im, int i, uint8_t v) {
    memset(im->pix + (size_t)i * im->h * im->w, v, (size_t)im->h * im->w);
}

/* Pseudo-random bytes in [lo, 255] for image i. */
static void random_image(sc_images *im, int i, int lo, uint64_t seed) {
    sc_rng r;
    sc_rng_seed(&r, seed + (uint64_t)i);
    uint8_t *p = im->pix + (size_t)i * im->h * im->w;
    for (int k = 0; k < im->h * im->w; k++) p[k] = (uint8_t)(lo + (int)sc_rng_int(&r, (uint32_t)(256 - lo)));
}

static float *alloc_canvas(int B, int W) {
    float *c = malloc((size_t)B * W * W * sizeof(float));
    ck_assert_ptr_nonnull(c);
    return c;
}

START_TEST(test_plain) {
    sc_images im = blank_images(5, 28);
    for (int i = 0; i < 5; i++) random_image(&im, i, 0, 100);
    sc_canvas_cfg cfg = {.kind = SC_CANVAS_PLAIN, .size = 999};
    sc_err err = {0};
    ck_assert_msg(sc_canvas_check(&cfg, &im, &err) == SC_OK, "%s", err.msg);
    int H = 0, W = 0;
    sc_canvas_dims(&cfg, &im, &H, &W);
    ck_assert_int_eq(H, 28);
    ck_assert_int_eq(W, 28);
    int idx[3] = {4, 0, 2};
    uint64_t keys[3] = {1, 2, 3};
    int pos[6] = {-1, -1, -1, -1, -1, -1};
    float *out = alloc_canvas(3, 28);
    sc_canvas_build(out, pos, &cfg, &im, idx, keys, 3, NULL, 0, 5);
    for (int b = 0; b < 3; b++) {
        const uint8_t *p = im.pix + (size_t)idx[b] * 784;
        for (int k = 0; k < 784; k++)
            REQUIRE(out[b * 784 + k] == (float)p[k] / 255.0f, "b=%d pixel %d: %g vs %d/255", b, k,
                    out[b * 784 + k], p[k]);
        ck_assert_int_eq(pos[2 * b], 0);
        ck_assert_int_eq(pos[2 * b + 1], 0);
    }
    free(out);
    sc_images_free(&im);
}
END_TEST

/* shift s: each canvas is its image moved by the (dx, dy) reported in pos, with
 * |dx|, |dy| <= s; every one of the (2s+1)^2 moves occurs about equally often;
 * the same key gives the same move, another key (the next epoch) another. */
START_TEST(test_plain_shift) {
    const int n = 3, s = 3, B = 900;
    sc_images im = blank_images(n, 28);
    for (int i = 0; i < n; i++) random_image(&im, i, 1, 300);   /* every pixel nonzero */
    sc_canvas_cfg cfg = {.kind = SC_CANVAS_PLAIN, .shift = s};
    sc_err err = {0};
    ck_assert_msg(sc_canvas_check(&cfg, &im, &err) == SC_OK, "%s", err.msg);
    int *idx = malloc(sizeof(int) * B), *pos = malloc(sizeof(int) * 2 * B), *pos2 = malloc(sizeof(int) * 2 * B);
    uint64_t *keys = malloc(sizeof(uint64_t) * B);
    float *out = alloc_canvas(B, 28), *out2 = alloc_canvas(B, 28);
    ck_assert(idx && pos && pos2 && keys);
    for (int b = 0; b < B; b++) {
        idx[b] = b % n;
        keys[b] = sc_canvas_key(0, 1, b);
    }
    sc_canvas_build(out, pos, &cfg, &im, idx, keys, B, NULL, 0, 11);
    int count[7][7] = {{0}};
    for (int b = 0; b < B; b++) {
        int dx = pos[2 * b], dy = pos[2 * b + 1];
        ck_assert_msg(abs(dx) <= s && abs(dy) <= s, "b=%d: move (%d, %d) beyond %d", b, dx, dy, s);
        count[dy + s][dx + s]++;
        const uint8_t *p = im.pix + (size_t)idx[b] * 784;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                int sy = y - dy, sx = x - dx;
                float want = sy >= 0 && sy < 28 && sx >= 0 && sx < 28 ? (float)p[sy * 28 + sx] / 255.0f : 0.0f;
                REQUIRE(out[(size_t)b * 784 + y * 28 + x] == want, "b=%d move (%d,%d) pixel (%d,%d): %g vs %g",
                        b, dx, dy, x, y, out[(size_t)b * 784 + y * 28 + x], want);
            }
    }
    /* 900 draws over 49 cells, about 18.4 each: chi-square with 48 dof stays
     * below 90 with probability > 0.9998 */
    double chi = 0, e = (double)B / 49;
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < 7; j++) {
            ck_assert_msg(count[i][j] > 0, "move (%d, %d) never drawn", j - s, i - s);
            chi += (count[i][j] - e) * (count[i][j] - e) / e;
        }
    ck_assert_msg(chi < 90, "moves not uniform: chi-square %.1f over 48 dof", chi);
    /* same keys, reversed batch: same canvases; next epoch's keys: other moves */
    for (int b = 0; b < B; b++) {
        idx[b] = (B - 1 - b) % n;
        keys[b] = sc_canvas_key(0, 1, B - 1 - b);
    }
    sc_canvas_build(out2, pos2, &cfg, &im, idx, keys, B, NULL, 0, 11);
    for (int b = 0; b < B; b++)
        REQUIRE(!memcmp(out + (size_t)b * 784, out2 + (size_t)(B - 1 - b) * 784, 784 * sizeof(float)),
                "key %d: another canvas in another batch position", b);
    int same = 0;
    for (int b = 0; b < B; b++) keys[b] = sc_canvas_key(0, 2, b), idx[b] = b % n;
    sc_canvas_build(out2, pos2, &cfg, &im, idx, keys, B, NULL, 0, 11);
    for (int b = 0; b < B; b++) same += pos[2 * b] == pos2[2 * b] && pos[2 * b + 1] == pos2[2 * b + 1];
    ck_assert_msg(same < B / 10, "%d of %d moves repeat in the next epoch (expected about 1 in 49)", same, B);
    free(idx); free(pos); free(pos2); free(keys); free(out); free(out2);
    sc_images_free(&im);
}
END_TEST

START_TEST(test_translated) {
    const int s = 28, W = 60, n = 4;
    sc_images im = blank_images(n, s);
    for (int i = 0; i < n; i++) random_image(&im, i, 1, 200);   /* every pixel nonzero */
    sc_canvas_cfg cfg = {.kind = SC_CANVAS_TRANSLATED, .size = W};
    sc_err err = {0};
    ck_assert_msg(sc_canvas_check(&cfg, &im, &err) == SC_OK, "%s", err.msg);
    int cH = 0, cW = 0;
    sc_canvas_dims(&cfg, &im, &cH, &cW);
    ck_assert_int_eq(cH, W);
    ck_assert_int_eq(cW, W);
    enum { NB = 400 };
    int *idx = malloc(NB * sizeof(int)), *pos = malloc(2 * NB * sizeof(int));
    uint64_t *keys = malloc(NB * sizeof(uint64_t));
    float *out = alloc_canvas(NB, W);
    ck_assert(idx && pos && keys);
    for (int b = 0; b < NB; b++) {
        idx[b] = b % n;
        keys[b] = sc_canvas_key(0, 1, b);
    }
    sc_canvas_build(out, pos, &cfg, &im, idx, keys, NB, NULL, 0, 11);
    int minx = W, maxx = -1, miny = W, maxy = -1;
    for (int b = 0; b < NB; b++) {
        int px = pos[2 * b], py = pos[2 * b + 1];
        ck_assert_msg(px >= 0 && py >= 0 && px + s <= W && py + s <= W, "target at (%d,%d) not inside", px, py);
        minx = px < minx ? px : minx; maxx = px > maxx ? px : maxx;
        miny = py < miny ? py : miny; maxy = py > maxy ? py : maxy;
        const float *c = out + (size_t)b * W * W;
        const uint8_t *p = im.pix + (size_t)idx[b] * s * s;
        double sum = 0, want = 0;
        for (int y = 0; y < W; y++)
            for (int x = 0; x < W; x++) {
                int inside = x >= px && x < px + s && y >= py && y < py + s;
                float v = c[y * W + x];
                sum += v;
                if (inside)
                    REQUIRE(v == (float)p[(y - py) * s + (x - px)] / 255.0f, "b=%d (%d,%d)", b, x, y);
                else
                    REQUIRE(v == 0.0f, "b=%d: ink at (%d,%d) outside the target", b, x, y);
            }
        for (int k = 0; k < s * s; k++) want += p[k] / 255.0;
        ck_assert_msg(fabs(sum - want) < 1e-3, "b=%d: canvas sum %g, image sum %g", b, sum, want);
    }
    /* Uniform positions: the extremes occur in 400 draws from 33 values. */
    ck_assert_int_eq(minx, 0);
    ck_assert_int_eq(miny, 0);
    ck_assert_int_eq(maxx, W - s);
    ck_assert_int_eq(maxy, W - s);
    free(idx); free(pos); free(keys); free(out);
    sc_images_free(&im);
}
END_TEST

/* Target blank, pool = marker images of value 10, a non-pool image of 200:
 * the canvas must hold exactly D patches of d*d pixels of 10/255 each. */
static void check_clutter_count(int W, int D, int d) {
    sc_images im = blank_images(4, 28);
    fill_image(&im, 1, 10);
    fill_image(&im, 2, 200);   /* never in the pool: must never appear */
    fill_image(&im, 3, 10);
    int pool[2] = {1, 3};
    sc_canvas_cfg cfg = {.kind = SC_CANVAS_CLUTTERED, .size = W, .distractors = D, .distractor_size = d};
    sc_err err = {0};
    ck_assert_msg(sc_canvas_check(&cfg, &im, &err) == SC_OK, "%s", err.msg);
    enum { NB = 50 };
    int idx[NB];
    uint64_t keys[NB];
    for (int b = 0; b < NB; b++) {
        idx[b] = 0;
        keys[b] = sc_canvas_key(1, 0, b);
    }
    float *out = alloc_canvas(NB, W);
    sc_canvas_build(out, NULL, &cfg, &im, idx, keys, NB, pool, 2, 3);
    for (int b = 0; b < NB; b++) {
        const float *c = out + (size_t)b * W * W;
        double units = 0;
        for (int k = 0; k < W * W; k++) {
            REQUIRE(c[k] >= 0.0f && c[k] <= 1.0f, "b=%d pixel %d = %g outside [0,1]", b, k, c[k]);
            double u = c[k] * 255.0 / 10.0;   /* how many patches cover this pixel */
            REQUIRE(fabs(u - floor(u + 0.5)) < 1e-3, "b=%d pixel %d = %g is no sum of markers", b, k, c[k]);
            units += floor(u + 0.5);
        }
        ck_assert_msg(units == (double)D * d * d, "b=%d: %g marker pixels, expected %d patches of %dx%d",
                      b, units, D, d, d);
    }
    free(out);
    sc_images_free(&im);
}

START_TEST(test_cluttered_count) {
    check_clutter_count(60, 4, 8);    /* the paper's 60x60 setting */
    check_clutter_count(100, 8, 8);   /* and its 100x100 one */
    check_clutter_count(40, 0, 8);    /* no distractors: blank */
}
END_TEST

/* Coordinate-coded source: a distractor must be a contiguous d x d crop of it
 * at an offset that varies, placed wholly inside the canvas. */
START_TEST(test_cluttered_crop) {
    const int s = 12, W = 20, d = 5;
    sc_images im = blank_images(2, s);
    for (int k = 0; k < s * s; k++) im.pix[s * s + k] = (uint8_t)(1 + k);   /* 1 + row*12 + col */
    int pool[1] = {1};
    sc_canvas_cfg cfg = {.kind = SC_CANVAS_CLUTTERED, .size = W, .distractors = 1, .distractor_size = d};
    sc_err err = {0};
    ck_assert_msg(sc_canvas_check(&cfg, &im, &err) == SC_OK, "%s", err.msg);
    enum { NB = 200 };
    int idx[NB];
    uint64_t keys[NB];
    for (int b = 0; b < NB; b++) {
        idx[b] = 0;
        keys[b] = sc_canvas_key(0, 2, b);
    }
    float *out = alloc_canvas(NB, W);
    sc_canvas_build(out, NULL, &cfg, &im, idx, keys, NB, pool, 1, 77);
    int seen_off[12 * 12] = {0}, n_off = 0, seen_x0 = 0, seen_xmax = 0;
    for (int b = 0; b < NB; b++) {
        const float *c = out + (size_t)b * W * W;
        int x0 = W, y0 = W, x1 = -1, y1 = -1;
        for (int y = 0; y < W; y++)
            for (int x = 0; x < W; x++)
                if (c[y * W + x] != 0.0f) {
                    x0 = x < x0 ? x : x0; x1 = x > x1 ? x : x1;
                    y0 = y < y0 ? y : y0; y1 = y > y1 ? y : y1;
                }
        ck_assert_msg(x1 - x0 + 1 == d && y1 - y0 + 1 == d, "b=%d: footprint %dx%d, expected %dx%d", b,
                      x1 - x0 + 1, y1 - y0 + 1, d, d);
        int v00 = (int)lround(c[y0 * W + x0] * 255.0) - 1;   /* = oy*12 + ox */
        int oy = v00 / s, ox = v00 % s;
        ck_assert(ox + d <= s && oy + d <= s);
        for (int r = 0; r < d; r++)
            for (int q = 0; q < d; q++)
                REQUIRE(lround(c[(y0 + r) * W + x0 + q] * 255.0) == 1 + (oy + r) * s + ox + q,
                        "b=%d: crop pixel (%d,%d) is not from offset (%d,%d)", b, q, r, ox, oy);
        if (!seen_off[v00]++) n_off++;
        seen_x0 |= x0 == 0;
        seen_xmax |= x1 == W - 1;
    }
    ck_assert_int_gt(n_off, 10);   /* 64 possible offsets */
    ck_assert(seen_x0 && seen_xmax);
    free(out);
    sc_images_free(&im);
}
END_TEST

/* Target and heavy clutter overlap: values clip at exactly 1. */
START_TEST(test_cluttered_clip) {
    sc_images im = blank_images(2, 28);
    fill_image(&im, 0, 255);
    fill_image(&im, 1, 255);
    sc_canvas_cfg cfg = {.kind = SC_CANVAS_CLUTTERED, .size = 30, .distractors = 20, .distractor_size = 8};
    int idx[1] = {0}, pos[2];
    uint64_t keys[1] = {5};
    float *out = alloc_canvas(1, 30);
    sc_canvas_build(out, pos, &cfg, &im, idx, keys, 1, NULL, 0, 1);   /* NULL pool: all images */
    int ones = 0;
    for (int k = 0; k < 900; k++) {
        REQUIRE(out[k] >= 0.0f && out[k] <= 1.0f, "pixel %d = %g outside [0,1]", k, out[k]);
        ones += out[k] == 1.0f;
    }
    ck_assert_int_ge(ones, 28 * 28);
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
            REQUIRE(out[(pos[1] + y) * 30 + pos[0] + x] == 1.0f, "target pixel (%d,%d) not clipped to 1", x, y);
    free(out);
    sc_images_free(&im);
}
END_TEST

START_TEST(test_determinism) {
    const int s = 28, W = 60, n = 30;
    sc_images im = blank_images(n, s);
    for (int i = 0; i < n; i++) random_image(&im, i, 0, 300 + (uint64_t)i * 1000);
    int pool[30];
    for (int i = 0; i < n; i++) pool[i] = i;
    sc_canvas_cfg cfgs[2] = {{.kind = SC_CANVAS_CLUTTERED, .size = W, .distractors = 4, .distractor_size = 8},
                             {.kind = SC_CANVAS_TRANSLATED, .size = W}};
    const size_t cp = (size_t)W * W;
    for (int ci = 0; ci < 2; ci++) {
        const sc_canvas_cfg *cfg = &cfgs[ci];
        enum { NB = 8 };
        int idx[NB], pos[2 * NB];
        uint64_t keys[NB];
        for (int b = 0; b < NB; b++) {
            idx[b] = (b * 7) % n;
            keys[b] = sc_canvas_key(0, 3, 100 + b);
        }
        float *a = alloc_canvas(NB, W), *a2 = alloc_canvas(NB, W), *one = alloc_canvas(1, W);
        sc_canvas_build(a, pos, cfg, &im, idx, keys, NB, pool, n, 1234);
        sc_canvas_build(a2, NULL, cfg, &im, idx, keys, NB, pool, n, 1234);
        ck_assert(memcmp(a, a2, NB * cp * sizeof(float)) == 0);   /* same (seed, key) */
        /* Alone and in reverse order: the same canvases. */
        for (int b = NB - 1; b >= 0; b--) {
            int p1[2];
            sc_canvas_build(one, p1, cfg, &im, &idx[b], &keys[b], 1, pool, n, 1234);
            ck_assert_msg(memcmp(one, a + b * cp, cp * sizeof(float)) == 0, "kind %d example %d changes with the batch", ci, b);
            ck_assert(p1[0] == pos[2 * b] && p1[1] == pos[2 * b + 1]);
        }
        /* Built by 1 to 5 workers (sc_canvas_build_on; 5 and 8 rows: an uneven split): the same bits. */
        for (int w = 1; w <= 5; w++) {
            sc_pool *team = NULL;
            sc_err err = {0};
            ck_assert_int_eq(sc_pool_create(&team, w, &err), SC_OK);
            int p2[2 * NB];
            memset(a2, 0xff, NB * cp * sizeof(float));
            sc_canvas_build_on(team, a2, p2, cfg, &im, idx, keys, NB, pool, n, 1234);
            ck_assert_msg(memcmp(a, a2, NB * cp * sizeof(float)) == 0, "kind %d: %d workers differ", ci, w);
            ck_assert(memcmp(p2, pos, sizeof p2) == 0);
            sc_pool_free(team);
        }
        /* A shuffled sub-batch. */
        int sidx[3] = {idx[5], idx[1], idx[6]};
        uint64_t skeys[3] = {keys[5], keys[1], keys[6]};
        sc_canvas_build(a2, NULL, cfg, &im, sidx, skeys, 3, pool, n, 1234);
        ck_assert(memcmp(a2 + 0 * cp, a + 5 * cp, cp * sizeof(float)) == 0);
        ck_assert(memcmp(a2 + 1 * cp, a + 1 * cp, cp * sizeof(float)) == 0);
        ck_assert(memcmp(a2 + 2 * cp, a + 6 * cp, cp * sizeof(float)) == 0);
        /* Different key, same image: a different canvas; likewise another seed. */
        uint64_t k2 = sc_canvas_key(0, 4, 100);
        sc_canvas_build(one, NULL, cfg, &im, &idx[0], &k2, 1, pool, n, 1234);
        ck_assert(memcmp(one, a, cp * sizeof(float)) != 0);
        sc_canvas_build(one, NULL, cfg, &im, &idx[0], &keys[0], 1, pool, n, 1235);
        ck_assert(memcmp(one, a, cp * sizeof(float)) != 0);
        free(a); free(a2); free(one);
    }
    sc_images_free(&im);
}
END_TEST

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST(test_key_distinct) {
    const int ns = 3, ne = 40, ni = 300;
    size_t n = (size_t)ns * ne * ni + 6, m = 0;
    uint64_t *k = malloc(n * sizeof(uint64_t));
    ck_assert_ptr_nonnull(k);
    for (int s = 0; s < ns; s++)
        for (int e = 0; e < ne; e++)
            for (int i = 0; i < ni; i++) k[m++] = sc_canvas_key(s, e, i);
    k[m++] = sc_canvas_key(0, 0, 2147483647);
    k[m++] = sc_canvas_key(0, 1, 2147483647);
    k[m++] = sc_canvas_key(0, (1 << 24) - 1, 0);
    k[m++] = sc_canvas_key(1, (1 << 24) - 1, 2147483647);
    k[m++] = sc_canvas_key(255, 0, 0);
    k[m++] = sc_canvas_key(255, (1 << 24) - 1, 2147483647);
    qsort(k, m, sizeof *k, cmp_u64);
    for (size_t i = 1; i < m; i++) REQUIRE(k[i] != k[i - 1], "duplicate key %llu", (unsigned long long)k[i]);
    free(k);
}
END_TEST

START_TEST(test_check_limits) {
    sc_images im = blank_images(2, 28);
    sc_err err = {0};
    struct { sc_canvas_cfg cfg; const char *frag; } bad[] = {
        {{.kind = SC_CANVAS_TRANSLATED, .size = 27}, "size 27"},
        {{.kind = SC_CANVAS_CLUTTERED, .size = 60, .distractors = 4, .distractor_size = 29}, "distractor size 29"},
        {{.kind = SC_CANVAS_CLUTTERED, .size = 60, .distractors = 4, .distractor_size = 0}, "distractor size 0"},
        {{.kind = SC_CANVAS_CLUTTERED, .size = 60, .distractors = -1, .distractor_size = 8}, "-1 distractors"},
        {{.kind = (sc_canvas_kind)7, .size = 60}, "unknown kind 7"},
        {{.kind = SC_CANVAS_PLAIN, .shift = 28}, "shift 28"},
        {{.kind = SC_CANVAS_PLAIN, .shift = -1}, "shift -1"},
        {{.kind = SC_CANVAS_TRANSLATED, .size = 60, .shift = 2}, "plain canvas only"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = sc_canvas_check(&bad[i].cfg, &im, &err);
        ck_assert_msg(rc == SC_EARG, "case %zu accepted", i);
        ck_assert_msg(strstr(err.msg, bad[i].frag) && strstr(err.msg, "expected"), "case %zu: %s", i, err.msg);
    }
    sc_canvas_cfg ok = {.kind = SC_CANVAS_CLUTTERED, .size = 28, .distractors = 0, .distractor_size = 28};
    ck_assert_msg(sc_canvas_check(&ok, &im, &err) == SC_OK, "%s", err.msg);
    im.w = 27;   /* non-square: distractors must fit the shorter side, the canvas the longer one */
    ck_assert_int_eq(sc_canvas_check(&ok, &im, &err), SC_EARG);
    ck_assert_msg(strstr(err.msg, "distractor size 28") && strstr(err.msg, "1..27"), "%s", err.msg);
    ok.distractor_size = 27;
    ck_assert_msg(sc_canvas_check(&ok, &im, &err) == SC_OK, "%s", err.msg);
    ok.size = 27;
    ck_assert_int_eq(sc_canvas_check(&ok, &im, &err), SC_EARG);
    ck_assert_msg(strstr(err.msg, "size 27") && strstr(err.msg, "28x27"), "%s", err.msg);
    im.c = 5;
    ck_assert_int_eq(sc_canvas_check(&ok, &im, &err), SC_EARG);
    ck_assert_msg(strstr(err.msg, "5 channels"), "%s", err.msg);
    im.c = 0;
    im.w = 28;
    sc_images_free(&im);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("env_canvas");
    TCase *tc = tcase_create("canvas");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_plain);
    tcase_add_test(tc, test_plain_shift);
    tcase_add_test(tc, test_translated);
    tcase_add_test(tc, test_cluttered_count);
    tcase_add_test(tc, test_cluttered_crop);
    tcase_add_test(tc, test_cluttered_clip);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_key_distinct);
    tcase_add_test(tc, test_check_limits);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(make_suite)
