/* test_viz_view.c - what the viewer draws, checked pixel by pixel on frames
 * of logs with known trajectories; the `saccade view` command's outputs and
 * errors; its keys; its window (SDL's dummy video driver: CI has no display);
 * and the --view process launcher.
 *
 * The logged images are grey ramps (fx_grey), so a pixel of an image that is
 * not grey (r = g = b) was drawn on, and a grey one equal to fx_grey was not;
 * a colour, non-square log (fx_rgb) shows its own colours and its squares
 * where the retina's per-axis origin puts them, and captions carry the log's
 * class names (shortened when they do not fit). Frames come from SDL's
 * software renderer (sc_view_render), as --png's do.
 */
#include <fcntl.h>
#include <gif_lib.h>
#include <math.h>
#include <png.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "env/retina.h"
#include "tests/test_viz_fixture.h"
#include "viz/view.h"
#include "viz/viewer.h"
#include "viz/vlog.h"

/* ck_assert only on failure (Check reports every pass, slow in pixel loops). */
#define REQUIRE(cond, ...)                      \
    do {                                        \
        if (!(cond)) ck_abort_msg(__VA_ARGS__); \
    } while (0)

enum { FW = 800, FH = 500 };  /* frame size: 3x1 cells of a 32x32 canvas at zoom 7 */

typedef struct rgb {
    int r, g, b;
} rgb;

static rgb pixel(SDL_Surface *s, int x, int y) {
    ck_assert(x >= 0 && y >= 0 && x < s->w && y < s->h);
    Uint32 p = ((Uint32 *)((Uint8 *)s->pixels + (size_t)y * s->pitch))[x];
    Uint8 r, g, b;
    SDL_GetRGB(p, s->format, &r, &g, &b);
    rgb c = {r, g, b};
    return c;
}

static int same(rgb a, rgb b, int tol) { return abs(a.r - b.r) <= tol && abs(a.g - b.g) <= tol && abs(a.b - b.b) <= tol; }
static rgb of(SDL_Color c) { rgb x = {c.r, c.g, c.b}; return x; }
static rgb grey(int v) { rgb x = {v, v, v}; return x; }
/* src over dst with alpha a (0..255), as SDL blends. */
static rgb over(rgb src, int a, rgb dst) {
    rgb x = {(src.r * a + dst.r * (255 - a)) / 255, (src.g * a + dst.g * (255 - a)) / 255,
             (src.b * a + dst.b * (255 - a)) / 255};
    return x;
}

/* The RAM fixture: 3 images of 32x32, 4 glimpses of g = 4 at k = 2 scales.
 * Epoch 1: every image looks at the centres (8,8) (24,8) (24,24) (8,24) in
 * turn: nested squares that do not touch, joined by horizontal and vertical
 * path segments. Epoch 0: all four glimpses at the centre. Image 1 is
 * predicted wrong (7, label 1). */
static fx_log ram_fixture(void) {
    fx_log x = {.G = 3, .T = 4, .C = 10, .W = 32, .g = 4, .k = 2, .glimpses = 1};
    return x;
}
static const float SQUARE_PATH[4][2] = {{-0.5f, -0.5f}, {0.5f, -0.5f}, {0.5f, 0.5f}, {-0.5f, 0.5f}};

static void write_ram_log(const char *path) {
    fx_log x = ram_fixture();
    fx_create(path, &x);
    int pred[3] = {0, 7, 2};
    float *probs = fx_probs(&x, pred), loc[3 * 4 * 2];
    for (int e = 0; e < 2; e++) {
        for (int i = 0; i < 3; i++)
            for (int t = 0; t < 4; t++)
                for (int c = 0; c < 2; c++) loc[(i * 4 + t) * 2 + c] = e == 0 ? 0.0f : SQUARE_PATH[t][c];
        fx_append(path, &x, e, loc, NULL, probs, pred);
    }
    free(probs);
}

typedef struct frame {
    sc_vlog *v;
    sc_view_fonts f;
    sc_view_state s;
} frame;

static void frame_open(frame *fr, const char *path, int rec) {
    sc_err err = {0};
    ck_assert_msg(sc_vlog_open(&fr->v, path, &err) == SC_OK, "%s", err.msg);
    ck_assert_msg(sc_view_fonts_open(&fr->f, &err) == SC_OK, "%s", err.msg);
    memset(&fr->s, 0, sizeof fr->s);
    fr->s.rec = rec;
    fr->s.t = fr->v->T;
    fr->s.cols = 3;
    fr->s.rows = 1;
    fr->s.title = "test";
    ck_assert_int_eq(sc_vlog_load(fr->v, rec, &err), SC_OK);
}

static void frame_close(frame *fr) {
    sc_vlog_free(fr->v);
    sc_view_fonts_close(&fr->f);
}

static SDL_Surface *render(frame *fr, int t) {
    SDL_Surface *s;
    sc_err err = {0};
    fr->s.t = t;
    ck_assert_msg(sc_view_render(&s, &fr->f, fr->v, &fr->s, FW, FH, &err) == SC_OK, "%s", err.msg);
    return s;
}

/* Screen rectangle [x0, x1) x [y0, y1) of glimpse step's square at scale sc, from
 * the retina's own origin formula. */
typedef struct box {
    int x0, y0, x1, y1;
} box;
static box square(const sc_vlog *v, const SDL_Rect *img, double zoom, const float *l, int sc) {
    int S = v->g << sc;
    int ox = sc_retina_origin(l[0], v->W, v->g, sc), oy = sc_retina_origin(l[1], v->W, v->g, sc);
    box b = {img->x + (int)lround(ox * zoom), img->y + (int)lround(oy * zoom), img->x + (int)lround((ox + S) * zoom),
             img->y + (int)lround((oy + S) * zoom)};
    return b;
}

/* The image's own grey under screen pixel (x, y) of cell image i. */
static rgb under(const SDL_Rect *img, double zoom, int i, int x, int y) {
    return grey(fx_grey(i, (int)((x - img->x) / zoom), (int)((y - img->y) / zoom)));
}

START_TEST(layout_scales_by_whole_pixels) {
    fx_mkdir();
    write_ram_log(fx_path("run.h5"));
    frame fr;
    frame_open(&fr, fx_path("run.h5"), 1);
    SDL_Rect img;
    double zoom;
    sc_view_cell(fr.v, &fr.s, FW, FH, 0, &img, &zoom);
    ck_assert(zoom == 7.0);
    ck_assert_int_eq(img.w, 224);
    SDL_Surface *s = render(&fr, 4);
    /* nearest neighbour: every screen pixel of canvas pixel (x, y) is its grey (checked where nothing is drawn) */
    for (int y = 13; y < 19; y++)
        for (int x = 13; x < 19; x++)
            for (int dy = 0; dy < 7; dy++)
                for (int dx = 0; dx < 7; dx++) {
                    rgb c = pixel(s, img.x + x * 7 + dx, img.y + y * 7 + dy);
                    REQUIRE(same(c, grey(fx_grey(0, x, y)), 0), "canvas (%d,%d) + (%d,%d): %d %d %d", x, y, dx, dy, c.r,
                            c.g, c.b);
                }
    SDL_FreeSurface(s);
    frame_close(&fr);
    fx_rmdir();
}
END_TEST

/* At t = T: every square the sensor read is outlined where sc_retina_origin
 * says, the current one 3 px wide and opaque, the earlier ones 1 px and
 * blended; inside the outlines the image shows through. */
START_TEST(squares_where_the_sensor_read) {
    fx_mkdir();
    write_ram_log(fx_path("run.h5"));
    frame fr;
    frame_open(&fr, fx_path("run.h5"), 1);
    SDL_Surface *s = render(&fr, 4);
    for (int i = 0; i < 3; i++) {
        SDL_Rect img;
        double zoom;
        sc_view_cell(fr.v, &fr.s, FW, FH, i, &img, &zoom);
        const int th = SC_VIEW_THICK(zoom);
        ck_assert_int_eq(th, 3);
        for (int j = 1; j <= 4; j++) {
            rgb c = of(sc_view_step_colour(j, 4));
            for (int sc = 0; sc < 2; sc++) {
                box b = square(fr.v, &img, zoom, fr.v->loc + (i * 4 + j - 1) * 2, sc);
                int y = b.y0 + (b.y1 - b.y0) / 4;  /* the left edge, away from the path and the numbers */
                int w = j == 4 ? th : 1;
                for (int d = 0; d < w; d++) {
                    rgb got = pixel(s, b.x0 + d, y), want = j == 4 ? c : over(c, SC_VIEW_PAST_ALPHA, under(&img, zoom, i, b.x0 + d, y));
                    REQUIRE(same(got, want, 2), "image %d step %d scale %d: (%d,%d) is %d %d %d, expected %d %d %d", i,
                            j, sc, b.x0 + d, y, got.r, got.g, got.b, want.r, want.g, want.b);
                }
                rgb in = pixel(s, b.x0 + w, y);
                REQUIRE(same(in, under(&img, zoom, i, b.x0 + w, y), 0), "image %d step %d scale %d: inside drawn", i, j, sc);
                rgb out = pixel(s, b.x0 - 1, y);
                REQUIRE(same(out, under(&img, zoom, i, b.x0 - 1, y), 0), "image %d step %d scale %d: outside drawn", i, j, sc);
                /* the right edge, below the centre (the step number is above it): its last w
                 * columns, and nothing after */
                y = b.y0 + 3 * (b.y1 - b.y0) / 4;
                for (int d = 1; d <= w; d++) {
                    rgb got = pixel(s, b.x1 - d, y), want = j == 4 ? c : over(c, SC_VIEW_PAST_ALPHA, under(&img, zoom, i, b.x1 - d, y));
                    REQUIRE(same(got, want, 2), "image %d step %d scale %d: right edge (%d,%d) is %d %d %d", i, j, sc,
                            b.x1 - d, y, got.r, got.g, got.b);
                }
                REQUIRE(same(pixel(s, b.x1, y), under(&img, zoom, i, b.x1, y), 0), "image %d step %d scale %d: right of it drawn", i, j, sc);
                REQUIRE(same(pixel(s, b.x1 - w - 1, y), under(&img, zoom, i, b.x1 - w - 1, y), 0),
                        "image %d step %d scale %d: inside the right edge drawn", i, j, sc);
                /* top edge: the same colour, th rows */
                rgb top = pixel(s, b.x0 + (b.x1 - b.x0) / 4, b.y0 + w - 1);
                REQUIRE(same(top, j == 4 ? c : over(c, SC_VIEW_PAST_ALPHA, under(&img, zoom, i, b.x0 + (b.x1 - b.x0) / 4, b.y0)), 2),
                        "image %d step %d scale %d: top edge", i, j, sc);
            }
        }
        /* the middle of the canvas, between the squares, is untouched */
        for (int y = 13 * 7; y < 19 * 7; y++)
            for (int x = 13 * 7; x < 19 * 7; x++)
                REQUIRE(same(pixel(s, img.x + x, img.y + y), under(&img, zoom, i, img.x + x, img.y + y), 0),
                        "image %d: (%d,%d) drawn on", i, x, y);
    }
    SDL_FreeSurface(s);
    frame_close(&fr);
    fx_rmdir();
}
END_TEST

/* The path joins the centres of glimpses 1..t, and only those. */
START_TEST(path_joins_the_centres) {
    fx_mkdir();
    write_ram_log(fx_path("run.h5"));
    frame fr;
    frame_open(&fr, fx_path("run.h5"), 1);
    SDL_Rect img;
    double zoom;
    sc_view_cell(fr.v, &fr.s, FW, FH, 0, &img, &zoom);
    /* segment 1->2 runs along canvas y = 8 from x = 8 to 24; 2->3 along x = 24 from y = 8 to 24 */
    int hx = img.x + 16 * 7, hy = img.y + 8 * 7, vx = img.x + 24 * 7, vy = img.y + 16 * 7;
    for (int t = 1; t <= 4; t++) {
        SDL_Surface *s = render(&fr, t);
        rgb h = pixel(s, hx, hy), v = pixel(s, vx, vy);
        rgb hw = t >= 2 ? over(of(sc_view_step_colour(2, 4)), SC_VIEW_PATH_ALPHA, under(&img, zoom, 0, hx, hy)) : under(&img, zoom, 0, hx, hy);
        rgb vw = t >= 3 ? over(of(sc_view_step_colour(3, 4)), SC_VIEW_PATH_ALPHA, under(&img, zoom, 0, vx, vy)) : under(&img, zoom, 0, vx, vy);
        REQUIRE(same(h, hw, 2), "t=%d: segment 1-2 pixel is %d %d %d, expected %d %d %d", t, h.r, h.g, h.b, hw.r, hw.g, hw.b);
        REQUIRE(same(v, vw, 2), "t=%d: segment 2-3 pixel is %d %d %d, expected %d %d %d", t, v.r, v.g, v.b, vw.r, vw.g, vw.b);
        /* 2 px wide: the next row (column) too, and not the one after */
        REQUIRE(same(pixel(s, hx, hy + 1), h, 0) && same(pixel(s, hx, hy + 2), under(&img, zoom, 0, hx, hy + 2), 0),
                "t=%d: segment 1-2 width", t);
        SDL_FreeSurface(s);
    }
    frame_close(&fr);
    fx_rmdir();
}
END_TEST

/* Stepping moves the highlight: at t = 2 glimpse 2 is thick and glimpse 3
 * absent; at t = 3 glimpse 2 is thin and glimpse 3 thick. */
START_TEST(stepping_moves_the_highlight) {
    fx_mkdir();
    write_ram_log(fx_path("run.h5"));
    frame fr;
    frame_open(&fr, fx_path("run.h5"), 1);
    SDL_Rect img;
    double zoom;
    sc_view_cell(fr.v, &fr.s, FW, FH, 0, &img, &zoom);
    box b2 = square(fr.v, &img, zoom, fr.v->loc + 1 * 2, 1), b3 = square(fr.v, &img, zoom, fr.v->loc + 2 * 2, 1);
    int y2 = b2.y0 + (b2.y1 - b2.y0) / 4, y3 = b3.y0 + (b3.y1 - b3.y0) / 4;
    rgb c2 = of(sc_view_step_colour(2, 4)), c3 = of(sc_view_step_colour(3, 4));

    SDL_Surface *s = render(&fr, 2);
    for (int d = 0; d < 3; d++) REQUIRE(same(pixel(s, b2.x0 + d, y2), c2, 0), "t=2: glimpse 2 not highlighted at +%d", d);
    REQUIRE(same(pixel(s, b3.x0, y3), under(&img, zoom, 0, b3.x0, y3), 0), "t=2: glimpse 3 drawn already");
    SDL_FreeSurface(s);

    s = render(&fr, 3);
    REQUIRE(same(pixel(s, b2.x0, y2), over(c2, SC_VIEW_PAST_ALPHA, under(&img, zoom, 0, b2.x0, y2)), 2), "t=3: glimpse 2 not thin");
    REQUIRE(same(pixel(s, b2.x0 + 1, y2), under(&img, zoom, 0, b2.x0 + 1, y2), 0), "t=3: glimpse 2 still thick");
    for (int d = 0; d < 3; d++) REQUIRE(same(pixel(s, b3.x0 + d, y3), c3, 0), "t=3: glimpse 3 not highlighted at +%d", d);
    SDL_FreeSurface(s);
    frame_close(&fr);
    fx_rmdir();
}
END_TEST

/* At t = 1 nothing but glimpse 1's squares, its centre dot and its number is
 * drawn on the image. */
START_TEST(nothing_else_drawn) {
    fx_mkdir();
    write_ram_log(fx_path("run.h5"));
    frame fr;
    frame_open(&fr, fx_path("run.h5"), 1);
    SDL_Surface *s = render(&fr, 1);
    SDL_Rect img;
    double zoom;
    sc_view_cell(fr.v, &fr.s, FW, FH, 2, &img, &zoom);
    box b0 = square(fr.v, &img, zoom, fr.v->loc + 2 * 4 * 2, 0), b1 = square(fr.v, &img, zoom, fr.v->loc + 2 * 4 * 2, 1);
    int cx = img.x + 8 * 7, cy = img.y + 8 * 7, drawn = 0;
    for (int y = img.y; y < img.y + img.h; y++)
        for (int x = img.x; x < img.x + img.w; x++) {
            int on0 = x >= b0.x0 && x < b0.x1 && y >= b0.y0 && y < b0.y1 &&
                      !(x >= b0.x0 + 3 && x < b0.x1 - 3 && y >= b0.y0 + 3 && y < b0.y1 - 3);
            int on1 = x >= b1.x0 && x < b1.x1 && y >= b1.y0 && y < b1.y1 &&
                      !(x >= b1.x0 + 3 && x < b1.x1 - 3 && y >= b1.y0 + 3 && y < b1.y1 - 3);
            int dot = abs(x - cx) <= 3 && abs(y - cy) <= 3;
            int number = x >= cx + 4 && x < cx + 24 && y >= cy - 19 && y < cy + 2;
            rgb c = pixel(s, x, y);
            int untouched = same(c, under(&img, zoom, 2, x, y), 0);
            if (on0 || on1) REQUIRE(!untouched, "outline pixel (%d,%d) not drawn", x - img.x, y - img.y);
            else if (!dot && !number) REQUIRE(untouched, "(%d,%d) drawn on: %d %d %d", x - img.x, y - img.y, c.r, c.g, c.b);
            drawn += !untouched && number;
        }
    ck_assert_msg(drawn > 5, "no step number next to the centre");
    SDL_FreeSurface(s);
    frame_close(&fr);
    fx_rmdir();
}
END_TEST

/* A wrong prediction is framed in red; a right one is not. */
START_TEST(wrong_predictions_marked) {
    fx_mkdir();
    write_ram_log(fx_path("run.h5"));
    frame fr;
    frame_open(&fr, fx_path("run.h5"), 1);
    SDL_Surface *s = render(&fr, 4);
    for (int i = 0; i < 3; i++) {
        SDL_Rect img;
        double zoom;
        sc_view_cell(fr.v, &fr.s, FW, FH, i, &img, &zoom);
        float p;
        ck_assert_int_eq(sc_view_prediction(fr.v, i, 4, &p), i == 1 ? 7 : i);
        ck_assert_float_eq_tol(p, 0.9f, 1e-6f);
        rgb c = pixel(s, img.x - 4, img.y + img.h / 2);
        rgb red = {244, 84, 84};
        REQUIRE(i == 1 ? same(c, red, 0) : !same(c, red, 60), "image %d: frame %d %d %d", i, c.r, c.g, c.b);
        /* the label line below: red text for the wrong one, green for the others */
        int reds = 0, greens = 0;
        for (int y = img.y + img.h + 5; y < img.y + img.h + SC_VIEW_LABEL; y++)
            for (int x = img.x; x < img.x + img.w; x++) {
                rgb q = pixel(s, x, y);
                reds += q.r > 200 && q.g < 120;
                greens += q.g > 180 && q.r < 130;
            }
        REQUIRE(i == 1 ? reds > 20 && greens == 0 : greens > 20 && reds == 0, "image %d: label %d red, %d green px", i,
                reds, greens);
    }
    SDL_FreeSurface(s);
    frame_close(&fr);
    fx_rmdir();
}
END_TEST

/* A soft-attention run: glimpse t's weights as a heat map over their
 * locations' squares, no outlines; stepping moves the heat. */
START_TEST(soft_heat_map) {
    fx_mkdir();
    fx_log x = {.G = 2, .T = 3, .C = 10, .W = 28, .g = 4, .k = 1, .L = 49, .kind = "soft", .glimpses = 1};
    const char *path = fx_path("soft.h5");
    fx_create(path, &x);
    int pred[2] = {0, 1};
    float *probs = fx_probs(&x, pred), *att = calloc((size_t)2 * 3 * 49, sizeof(float));
    ck_assert_ptr_nonnull(att);
    /* image 0: t=1 all on location 9 (pixels x 8..11, y 4..7), t=2 on 40 (x 20..23, y 20..23),
     * t=3 0.75 on 9 and 0.25 on 40 */
    att[0 * 49 + 9] = 1.0f;
    att[1 * 49 + 40] = 1.0f;
    att[2 * 49 + 9] = 0.75f;
    att[2 * 49 + 40] = 0.25f;
    for (int t = 0; t < 3; t++)
        for (int l = 0; l < 49; l++) att[(3 + t) * 49 + l] = 1.0f / 49;
    fx_append(path, &x, 0, NULL, att, probs, pred);
    free(probs);
    free(att);

    frame fr;
    frame_open(&fr, path, 0);
    SDL_Rect img;
    double zoom;
    sc_view_cell(fr.v, &fr.s, FW, FH, 0, &img, &zoom);
    for (int t = 1; t <= 3; t++) {
        SDL_Surface *s = render(&fr, t);
        double heat9 = 0, heat40 = 0;
        for (int y = 0; y < 28; y++)
            for (int xx = 0; xx < 28; xx++) {
                int sx = img.x + (int)(xx * zoom) + 1, sy = img.y + (int)(y * zoom) + 1;
                rgb c = pixel(s, sx, sy), g = grey(fx_grey(0, xx, y));
                int in9 = xx >= 8 && xx < 12 && y >= 4 && y < 8, in40 = xx >= 20 && xx < 24 && y >= 20 && y < 24;
                int hot = (t == 1 && in9) || (t == 2 && in40) || (t == 3 && (in9 || in40));
                double dev = abs(c.r - g.r) + abs(c.g - g.g) + abs(c.b - g.b);
                if (hot) REQUIRE(dev > 30 && !(c.r == c.g && c.g == c.b), "t=%d: (%d,%d) not hot", t, xx, y);
                else REQUIRE(same(c, g, 0), "t=%d: (%d,%d) is %d %d %d, expected its grey %d", t, xx, y, c.r, c.g, c.b, g.r);
                if (in9) heat9 += dev;
                if (in40) heat40 += dev;
            }
        if (t == 3) ck_assert_msg(heat9 > heat40, "weight 0.75 should look hotter than 0.25");
        SDL_FreeSurface(s);
    }
    /* image 1: uniform weights tint the whole image */
    SDL_Surface *s = render(&fr, 1);
    sc_view_cell(fr.v, &fr.s, FW, FH, 1, &img, &zoom);
    for (int y = 0; y < 28; y += 3)
        for (int xx = 0; xx < 28; xx += 3) {
            rgb c = pixel(s, img.x + (int)(xx * zoom) + 1, img.y + (int)(y * zoom) + 1);
            REQUIRE(!(c.r == c.g && c.g == c.b), "uniform attention: (%d,%d) untinted", xx, y);
        }
    SDL_FreeSurface(s);
    frame_close(&fr);
    fx_rmdir();
}
END_TEST

/* A selfattn run: head t's weights over the patches as a heat map exactly on
 * the patch squares, and the header counts heads. */
START_TEST(selfattn_heads_heat_map) {
    fx_mkdir();
    /* 28x28 in patches of 7: 16 tokens; 2 heads */
    fx_log x = {.G = 2, .T = 2, .C = 10, .W = 28, .g = 7, .k = 1, .L = 16, .kind = "selfattn", .glimpses = 1};
    const char *path = fx_path("selfattn.h5");
    fx_create(path, &x);
    int pred[2] = {0, 1};
    float *probs = fx_probs(&x, pred), *att = calloc((size_t)2 * 2 * 16, sizeof(float));
    ck_assert_ptr_nonnull(att);
    /* image 0: head 1 all on token 5 (pixels x, y 7..13), head 2 on token 10 (14..20) */
    att[0 * 16 + 5] = 1.0f;
    att[1 * 16 + 10] = 1.0f;
    for (int t = 0; t < 2; t++)
        for (int l = 0; l < 16; l++) att[(2 + t) * 16 + l] = 1.0f / 16;
    fx_append(path, &x, 0, NULL, att, probs, pred);
    free(probs);
    free(att);

    frame fr;
    frame_open(&fr, path, 0);
    ck_assert_str_eq(fr.v->kind, "selfattn");
    ck_assert_int_eq(fr.v->weights, 1);
    ck_assert_int_eq(fr.v->g, 7);
    ck_assert_int_eq(fr.v->k, 1);
    ck_assert_str_eq(sc_view_step_name(fr.v), "self-attention, head");
    SDL_Rect img;
    double zoom;
    sc_view_cell(fr.v, &fr.s, FW, FH, 0, &img, &zoom);
    for (int t = 1; t <= 2; t++) {
        SDL_Surface *s = render(&fr, t);
        const int lo = t == 1 ? 7 : 14;
        for (int y = 0; y < 28; y++)
            for (int xx = 0; xx < 28; xx++) {
                int sx = img.x + (int)(xx * zoom) + 1, sy = img.y + (int)(y * zoom) + 1;
                rgb c = pixel(s, sx, sy), g = grey(fx_grey(0, xx, y));
                int hot = xx >= lo && xx < lo + 7 && y >= lo && y < lo + 7;
                double dev = abs(c.r - g.r) + abs(c.g - g.g) + abs(c.b - g.b);
                if (hot) REQUIRE(dev > 30 && !(c.r == c.g && c.g == c.b), "head %d: (%d,%d) not hot", t, xx, y);
                else REQUIRE(same(c, g, 0), "head %d: (%d,%d) is %d %d %d, expected its grey %d", t, xx, y, c.r, c.g,
                             c.b, g.r);
            }
        SDL_FreeSurface(s);
    }
    frame_close(&fr);
    fx_rmdir();
}
END_TEST

/* ---- colour, non-square canvases, class names ------------------------------------------ */

/* 2 colour images of 20 x 32 (height x width), 2 glimpses of g = 4 at k = 2
 * scales, 3 named classes. Image 0 looks at (-0.5, -0.5) then (0.5, 0.5) and
 * is right (cat); image 1 is predicted bird, labelled dog. */
static fx_log colour_fixture(void) {
    fx_log x = {.G = 2, .T = 2, .C = 3, .W = 32, .H = 20, .channels = 3, .g = 4, .k = 2, .glimpses = 1,
                .class_names = "cat\ndog\nbird"};
    return x;
}
static const float COLOUR_PATH[2][2] = {{-0.5f, -0.5f}, {0.5f, 0.5f}};

static void write_colour_log(const char *path, const fx_log *x) {
    fx_create(path, x);
    int pred[2] = {0, 2};
    float *probs = fx_probs(x, pred), loc[2 * 2 * 2];
    for (int i = 0; i < 2; i++)
        for (int t = 0; t < 2; t++)
            for (int c = 0; c < 2; c++) loc[(i * 2 + t) * 2 + c] = COLOUR_PATH[t][c];
    fx_append(path, x, 0, loc, NULL, probs, pred);
    free(probs);
}

static rgb colour_under(const SDL_Rect *img, double zoom, int i, int x, int y) {
    int cx = (int)((x - img->x) / zoom), cy = (int)((y - img->y) / zoom);
    rgb c = {fx_rgb(i, cx, cy, 0), fx_rgb(i, cx, cy, 1), fx_rgb(i, cx, cy, 2)};
    return c;
}

START_TEST(colour_non_square_frame) {
    fx_mkdir();
    fx_log x = colour_fixture();
    const char *path = fx_path("colour.h5");
    write_colour_log(path, &x);
    frame fr;
    frame_open(&fr, path, 0);
    fr.s.cols = 2;
    ck_assert_int_eq(fr.v->H, 20);
    ck_assert_int_eq(fr.v->W, 32);
    ck_assert_int_eq(fr.v->channels, 3);
    SDL_Rect img;
    double zoom;
    sc_view_cell(fr.v, &fr.s, FW, FH, 0, &img, &zoom);
    /* one whole zoom for both axes: 385 px cells of 376 px image height give 12 */
    ck_assert(zoom == 12.0);
    ck_assert_int_eq(img.w, 32 * 12);
    ck_assert_int_eq(img.h, 20 * 12);
    SDL_Surface *s = render(&fr, 2);
    /* corners away from the squares and the path: every screen pixel is its canvas pixel's colour */
    static const int corner[2][4] = {{28, 32, 0, 3}, {0, 4, 16, 20}};  /* x0, x1, y0, y1 */
    for (int k = 0; k < 2; k++)
        for (int y = img.y + corner[k][2] * 12; y < img.y + corner[k][3] * 12; y++)
            for (int xx = img.x + corner[k][0] * 12; xx < img.x + corner[k][1] * 12; xx++) {
                rgb got = pixel(s, xx, y), want = colour_under(&img, zoom, 0, xx, y);
                REQUIRE(same(got, want, 0), "(%d,%d) is %d %d %d, the image's %d %d %d", xx, y, got.r, got.g, got.b,
                        want.r, want.g, want.b);
            }
    /* the squares: x from the width, y from the height (sc_retina_origin per axis) */
    const int th = SC_VIEW_THICK(zoom);
    for (int j = 1; j <= 2; j++)
        for (int sc = 0; sc < 2; sc++) {
            const float *l = COLOUR_PATH[j - 1];
            const int S = 4 << sc, ox = sc_retina_origin(l[0], 32, 4, sc), oy = sc_retina_origin(l[1], 20, 4, sc);
            const int x0 = img.x + ox * 12, x1 = img.x + (ox + S) * 12, y0 = img.y + oy * 12, y1 = img.y + (oy + S) * 12;
            const int w = j == 2 ? th : 1, ym = y0 + 3 * (y1 - y0) / 4, xm = x0 + (x1 - x0) / 4;
            rgb c = of(sc_view_step_colour(j, 2));
            rgb want = j == 2 ? c : over(c, SC_VIEW_PAST_ALPHA, colour_under(&img, zoom, 0, x0, ym));
            REQUIRE(same(pixel(s, x0, ym), want, 2), "glimpse %d scale %d: no left edge at x %d", j, sc, x0);
            REQUIRE(same(pixel(s, x0 - 1, ym), colour_under(&img, zoom, 0, x0 - 1, ym), 0),
                    "glimpse %d scale %d: drawn left of its square", j, sc);
            REQUIRE(same(pixel(s, x0 + w, ym), colour_under(&img, zoom, 0, x0 + w, ym), 0),
                    "glimpse %d scale %d: drawn inside its left edge", j, sc);
            want = j == 2 ? c : over(c, SC_VIEW_PAST_ALPHA, colour_under(&img, zoom, 0, xm, y1 - 1));
            REQUIRE(same(pixel(s, xm, y1 - 1), want, 2), "glimpse %d scale %d: no bottom edge at y %d", j, sc, y1 - 1);
            REQUIRE(same(pixel(s, xm, y1), colour_under(&img, zoom, 0, xm, y1), 0),
                    "glimpse %d scale %d: drawn below its square (y %d)", j, sc, y1);
        }
    SDL_FreeSurface(s);
    frame_close(&fr);
    fx_rmdir();
}
END_TEST

/* Captions name the classes by the log's names; long names are shortened to
 * fit, digits never. */
START_TEST(captions_use_class_names) {
    fx_mkdir();
    fx_log x = colour_fixture();
    write_colour_log(fx_path("colour.h5"), &x);
    frame fr;
    frame_open(&fr, fx_path("colour.h5"), 0);
    sc_view_caption c;
    sc_err err = {0};
    const char *ok = fr.f.marks ? " \u2713" : "", *bad = fr.f.marks ? " \u2717" : " x";
    char want[64];
    ck_assert_msg(sc_view_caption_fit(&c, &fr.f, fr.v, 0, 2, 1000, &err) == SC_OK, "%s", err.msg);
    snprintf(want, sizeof want, "cat (90%%)%s", ok);
    ck_assert_str_eq(c.pred, want);
    ck_assert_str_eq(c.truth, "  true cat");
    ck_assert_int_eq(c.right, 1);
    ck_assert_msg(sc_view_caption_fit(&c, &fr.f, fr.v, 1, 2, 1000, &err) == SC_OK, "%s", err.msg);
    snprintf(want, sizeof want, "bird (90%%)%s", bad);
    ck_assert_str_eq(c.pred, want);
    ck_assert_str_eq(c.truth, "  true dog");
    ck_assert_int_eq(c.right, 0);
    frame_close(&fr);

    x.class_names = "an extraordinarily long class name\nanother class with a very long name\nbird";
    write_colour_log(fx_path("long.h5"), &x);
    frame_open(&fr, fx_path("long.h5"), 0);
    ck_assert_msg(sc_view_caption_fit(&c, &fr.f, fr.v, 1, 2, 1000, &err) == SC_OK, "%s", err.msg);
    ck_assert_str_eq(c.truth, "  true another class with a very long n\u2026");  /* cut to 32 characters */
    ck_assert_msg(sc_view_caption_fit(&c, &fr.f, fr.v, 0, 2, 200, &err) == SC_OK, "%s", err.msg);
    ck_assert_msg(c.width <= 200, "the caption is %d px wide in 200: %s%s", c.width, c.pred, c.truth);
    ck_assert_msg(!strncmp(c.pred, "an e", 4) && strstr(c.pred, "\u2026 (90%)") && !strncmp(c.truth, "  true an e", 11) &&
                  strstr(c.truth, "\u2026"), "not shortened with an ellipsis: '%s' '%s'", c.pred, c.truth);
    frame_close(&fr);

    /* digit names (a log without names) are never cut, however narrow the cell */
    write_ram_log(fx_path("run.h5"));
    frame_open(&fr, fx_path("run.h5"), 1);
    ck_assert_msg(sc_view_caption_fit(&c, &fr.f, fr.v, 1, 4, 1, &err) == SC_OK, "%s", err.msg);
    snprintf(want, sizeof want, "7 (90%%)%s", bad);
    ck_assert_str_eq(c.pred, want);
    ck_assert_str_eq(c.truth, "  true 1");
    frame_close(&fr);
    fx_rmdir();
}
END_TEST

/* ---- the command ---------------------------------------------------------------------- */

/* Runs sc_view_main with stderr captured into err (NUL-terminated) and stdout
 * into view_stdout. */
static char view_stdout[1024];
static void capture(int which, int *saved, int *fd, const char *name) {
    fflush(NULL);
    *saved = dup(which);
    *fd = open(fx_path(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert(*saved >= 0 && *fd >= 0);
    dup2(*fd, which);
}
static void release(int which, int saved, int fd, char *buf, size_t n) {
    fflush(NULL);
    dup2(saved, which);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    ssize_t got = read(fd, buf, n - 1);
    buf[got > 0 ? got : 0] = '\0';
    close(fd);
}
static int run_view(char *err, size_t n, int argc, const char **argv) {
    int se, fe, so, fo;
    capture(2, &se, &fe, "stderr.txt");
    capture(1, &so, &fo, "stdout.txt");
    int rc = sc_view_main(argc, (char **)argv);
    release(1, so, fo, view_stdout, sizeof view_stdout);
    release(2, se, fe, err, n);
    return rc;
}

static unsigned char *read_png(const char *path, int *w, int *h) {
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    ck_assert_msg(png_image_begin_read_from_file(&im, path), "%s: %s", path, im.message);
    im.format = PNG_FORMAT_RGB;
    unsigned char *buf = malloc(PNG_IMAGE_SIZE(im));
    ck_assert_ptr_nonnull(buf);
    ck_assert_msg(png_image_finish_read(&im, NULL, buf, 0, NULL), "%s: %s", path, im.message);
    *w = (int)im.width;
    *h = (int)im.height;
    return buf;
}

/* --png writes exactly the frame sc_view_render draws for the same choices. */
START_TEST(png_is_the_rendered_frame) {
    fx_mkdir();
    write_ram_log(fx_path("run.h5"));
    const char *png = fx_path("out.png");
    const char *argv[] = {"view", fx_path("run.h5"), "--png", png, "--epoch", "1", "--step", "2", "--grid", "3x1",
                          "--size", "800x500"};
    char err[2048];
    int rc = run_view(err, sizeof err, 12, argv);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    int w, h;
    unsigned char *p = read_png(png, &w, &h);
    ck_assert_int_eq(w, FW);
    ck_assert_int_eq(h, FH);
    frame fr;
    frame_open(&fr, fx_path("run.h5"), 1);
    fr.s.title = "run.h5";
    SDL_Surface *s = render(&fr, 2);
    for (int y = 0; y < FH; y++)
        for (int x = 0; x < FW; x++) {
            rgb a = pixel(s, x, y), b = {p[(y * FW + x) * 3], p[(y * FW + x) * 3 + 1], p[(y * FW + x) * 3 + 2]};
            REQUIRE(same(a, b, 0), "PNG differs from the frame at (%d,%d)", x, y);
        }
    /* epoch 0 looked at the centre only: a different picture */
    const char *argv0[] = {"view", fx_path("run.h5"), "--png", png, "--epoch", "0", "--step", "2", "--grid", "3x1",
                           "--size", "800x500"};
    ck_assert_int_eq(run_view(err, sizeof err, 12, argv0), 0);
    unsigned char *p0 = read_png(png, &w, &h);
    ck_assert_msg(memcmp(p, p0, (size_t)FW * FH * 3) != 0, "--epoch 0 drew the same as --epoch 1");
    ck_assert_msg(access(fx_path("out.png.tmp"), F_OK) != 0, "temporary file left behind");
    free(p);
    free(p0);
    SDL_FreeSurface(s);
    frame_close(&fr);
    fx_rmdir();
}
END_TEST

/* --png of a colour log: the image's pixels in their colours. */
START_TEST(png_of_a_colour_log) {
    fx_mkdir();
    fx_log x = colour_fixture();
    write_colour_log(fx_path("colour.h5"), &x);
    const char *png = fx_path("colour.png");
    const char *argv[] = {"view", fx_path("colour.h5"), "--png", png, "--grid", "2x1", "--size", "800x500"};
    char err[2048];
    int rc = run_view(err, sizeof err, 8, argv);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    int w, h;
    unsigned char *p = read_png(png, &w, &h);
    ck_assert_int_eq(w, FW);
    ck_assert_int_eq(h, FH);
    sc_vlog v = {.W = 32, .H = 20};
    sc_view_state st = {.cols = 2, .rows = 1};
    for (int i = 0; i < 2; i++) {
        SDL_Rect img;
        double zoom;
        sc_view_cell(&v, &st, FW, FH, i, &img, &zoom);
        for (int k = 0; k < 3; k++) {  /* canvas pixels (30, 1), (31, 0), (1, 18): nothing drawn there */
            static const int at[3][2] = {{30, 1}, {31, 0}, {1, 18}};
            int sx = img.x + (int)(at[k][0] * zoom) + 5, sy = img.y + (int)(at[k][1] * zoom) + 5;
            const unsigned char *q = p + ((size_t)sy * FW + sx) * 3;
            rgb got = {q[0], q[1], q[2]};
            rgb want = {fx_rgb(i, at[k][0], at[k][1], 0), fx_rgb(i, at[k][0], at[k][1], 1),
                        fx_rgb(i, at[k][0], at[k][1], 2)};
            REQUIRE(same(got, want, 0) && !(got.r == got.g && got.g == got.b),
                    "image %d canvas (%d,%d): PNG %d %d %d, the image's %d %d %d", i, at[k][0], at[k][1], got.r, got.g,
                    got.b, want.r, want.g, want.b);
        }
    }
    free(p);
    fx_rmdir();
}
END_TEST

/* --gif: one frame per glimpse, looping. */
START_TEST(gif_has_a_frame_per_glimpse) {
    fx_mkdir();
    write_ram_log(fx_path("run.h5"));
    const char *gif = fx_path("out.gif");
    const char *argv[] = {"view", fx_path("run.h5"), "--gif", gif, "--size", "400x300"};
    char err[2048];
    int rc = run_view(err, sizeof err, 6, argv);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    int e = 0;
    GifFileType *g = DGifOpenFileName(gif, &e);
    ck_assert_msg(g != NULL, "%s", GifErrorString(e));
    ck_assert_int_eq(DGifSlurp(g), GIF_OK);
    ck_assert_int_eq(g->SWidth, 400);
    ck_assert_int_eq(g->SHeight, 300);
    ck_assert_int_eq(g->ImageCount, 4);
    ck_assert_int_eq(memcmp(g->SavedImages[0].RasterBits, g->SavedImages[3].RasterBits, 400 * 300) != 0, 1);
    GraphicsControlBlock gcb;
    ck_assert_int_eq(DGifSavedExtensionToGCB(g, 3, &gcb), GIF_OK);
    ck_assert_int_eq(gcb.DelayTime, 200);
    DGifCloseFile(g, &e);
    fx_rmdir();
}
END_TEST

static void expect_error(int want_rc, const char *part, int argc, const char **argv) {
    char err[2048];
    int rc = run_view(err, sizeof err, argc, argv);
    ck_assert_msg(rc == want_rc, "%s ...: rc %d, expected %d (%s)", argv[1], rc, want_rc, err);
    ck_assert_msg(strncmp(err, "saccade: ", 9) == 0, "message does not start with 'saccade: ': %s", err);
    ck_assert_msg(strstr(err, part) != NULL, "message lacks '%s': %s", part, err);
    ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "not one line: %s", err);
}

START_TEST(limits_command_errors) {
    fx_mkdir();
    write_ram_log(fx_path("run.h5"));
    const char *run = fx_path("run.h5"), *png = fx_path("x.png");
    const char *a1[] = {"view"};
    expect_error(2, "needs a run log", 1, a1);
    const char *a2[] = {"view", run, "--grid", "4"};
    expect_error(2, "--grid expects COLSxROWS", 4, a2);
    const char *a3[] = {"view", run, "--frobnicate"};
    expect_error(2, "unknown option '--frobnicate'", 3, a3);
    const char *a4[] = {"view", run, "--follow", "--png", png};
    expect_error(2, "--follow needs a window", 5, a4);
    const char *a5[] = {"view", run, "--epoch", "7", "--png", png};
    expect_error(1, "epoch 7 is not logged: glimpse records exist for epochs 0, 1", 6, a5);
    const char *a6[] = {"view", run, "--step", "5", "--png", png};
    expect_error(1, "--step 5: out of range, the run takes 4 glimpses (1..4)", 6, a6);
    const char *a7[] = {"view", run, "--image", "3", "--png", png};
    expect_error(1, "--image 3: out of range", 6, a7);
    const char *a8[] = {"view", fx_path("nope.h5"), "--png", png};
    expect_error(1, "nope.h5: cannot open: No such file or directory", 4, a8);
    const char *a9[] = {"view", run, "--png", "/nonexistent-dir/x.png"};
    expect_error(1, "/nonexistent-dir/x.png", 4, a9);
    ck_assert_msg(access(png, F_OK) != 0, "a failed command left %s", png);

    fx_log x = ram_fixture();
    x.glimpses = 0;
    fx_create(fx_path("bare.h5"), &x);
    const char *b1[] = {"view", fx_path("bare.h5"), "--png", png};
    expect_error(1, "no /glimpses", 4, b1);
    x = ram_fixture();
    x.kind = "fc";
    fx_create(fx_path("fc.h5"), &x);
    const char *b2[] = {"view", fx_path("fc.h5"), "--png", png};
    expect_error(1, "model kind \"fc\"", 4, b2);
    x = ram_fixture();
    fx_create(fx_path("new.h5"), &x);  /* no record yet */
    const char *b3[] = {"view", fx_path("new.h5"), "--png", png};
    expect_error(1, "no glimpse records yet", 4, b3);

    setenv(SC_VIEW_FONT_ENV, "/nonexistent/font.ttf", 1);
    const char *b4[] = {"view", run, "--png", png};
    expect_error(1, "font /nonexistent/font.ttf", 4, b4);
    unsetenv(SC_VIEW_FONT_ENV);
    fx_rmdir();
}
END_TEST

/* No display: a clear message that suggests --png, not a crash, and no window. */
START_TEST(limits_no_display) {
    fx_mkdir();
    write_ram_log(fx_path("run.h5"));
    unsetenv("DISPLAY");
    unsetenv("WAYLAND_DISPLAY");
    unsetenv("SDL_VIDEODRIVER");
    const char *a[] = {"view", fx_path("run.h5")};
    expect_error(1, "no display available", 2, a);
    expect_error(1, "--png FILE", 2, a);
    const char *b[] = {"view", fx_path("run.h5"), "--follow"};
    expect_error(1, "no display available", 3, b);
    fx_rmdir();
}
END_TEST

/* The window and its event loop, on SDL's dummy video driver (a window
 * without a display; the offscreen driver would load Mesa's EGL, whose
 * allocations LeakSanitizer reports once SDL has unloaded it). */
START_TEST(window_runs_without_display) {
    fx_mkdir();
    write_ram_log(fx_path("run.h5"));
    setenv("SDL_VIDEODRIVER", "dummy", 1);
    const char *a[] = {"view", fx_path("run.h5"), "--exit-after", "300", "--size", "640x400"};
    char err[2048];
    int rc = run_view(err, sizeof err, 6, a);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    /* --follow on a log that does not exist yet: the waiting screen */
    const char *b[] = {"view", fx_path("later.h5"), "--follow", "--exit-after", "300"};
    rc = run_view(err, sizeof err, 5, b);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    fx_rmdir();
}
END_TEST

/* Key presses for the window's event loop, pushed from another thread once
 * SDL's video (and so its event queue) is up: SDL_PushEvent is thread-safe,
 * and the loop reads the queue only once its window is open. */
static void *press_keys(void *arg) {
    const SDL_Keycode *keys = arg;
    for (int i = 0; i < 1000 && !SDL_WasInit(SDL_INIT_VIDEO); i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    for (int i = 0; keys[i]; i++) {
        SDL_Event e;
        memset(&e, 0, sizeof e);
        e.type = SDL_KEYDOWN;
        e.key.state = SDL_PRESSED;
        e.key.keysym.sym = keys[i];
        SDL_PushEvent(&e);
    }
    return NULL;
}

/* The real event loop: keys step back a glimpse and an epoch, save a
 * screenshot and quit; the screenshot is exactly --png's frame of that state. */
static void window_keys_and_screenshot(void) {
    write_ram_log(fx_path("run.h5"));
    char cwd[1024];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(fx_dir), 0);  /* screenshots go to the current folder */
    static const SDL_Keycode keys[] = {SDLK_LEFT, SDLK_DOWN, SDLK_h, SDLK_h, SDLK_s, SDLK_q, 0};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, press_keys, (void *)keys), 0);
    const char *a[] = {"view", "run.h5", "--size", "800x500", "--grid", "3x1", "--exit-after", "20000"};
    char err[2048];
    int rc = run_view(err, sizeof err, 8, a);
    pthread_join(th, NULL);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    ck_assert_str_eq(view_stdout, "saved run-epoch0-t3.png\n");
    int w, h;
    unsigned char *p = read_png(fx_path("run-epoch0-t3.png"), &w, &h);
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert(w == FW && h == FH);
    frame fr;
    frame_open(&fr, fx_path("run.h5"), 0);
    fr.s.title = "run.h5";
    SDL_Surface *s = render(&fr, 3);
    int diff = 0;
    for (int y = 0; y < FH; y++)
        for (int x = 0; x < FW; x++) {
            rgb a2 = pixel(s, x, y), b = {p[(y * FW + x) * 3], p[(y * FW + x) * 3 + 1], p[(y * FW + x) * 3 + 2]};
            diff += !same(a2, b, 0);
        }
    ck_assert_msg(diff == 0, "the screenshot differs from the frame in %d pixels", diff);
    free(p);
    SDL_FreeSurface(s);
    frame_close(&fr);
}

START_TEST(window_keys_dummy_driver) {
    fx_mkdir();
    setenv("SDL_VIDEODRIVER", "dummy", 1);
    window_keys_and_screenshot();
    fx_rmdir();
}
END_TEST

/* Starts Xvfb on a free display (it writes the number to -displayfd when
 * ready). Returns its pid, or -1 when Xvfb is not installed. */
static pid_t start_xvfb(char *display, size_t n) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t p = fork();
    ck_assert(p >= 0);
    if (p == 0) {
        close(fds[0]);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 1);
        dup2(null, 2);
        char fd[16];
        snprintf(fd, sizeof fd, "%d", fds[1]);
        execlp("Xvfb", "Xvfb", "-displayfd", fd, "-nolisten", "tcp", "-screen", "0", "1024x768x24", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    /* read up to the newline: Xvfb writes the number and the newline separately,
     * and dies if the pipe is closed in between */
    char buf[32] = {0};
    size_t got = 0;
    struct pollfd pf = {fds[0], POLLIN, 0};
    while (got < sizeof buf - 1 && !strchr(buf, '\n') && poll(&pf, 1, 20000) == 1) {
        ssize_t r = read(fds[0], buf + got, sizeof buf - 1 - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fds[0]);
    if (!strchr(buf, '\n')) {
        kill(p, SIGTERM);
        waitpid(p, NULL, 0);
        return -1;
    }
    snprintf(display, n, ":%d", atoi(buf));
    return p;
}

/* The same on a real X server (Xvfb, installed by scripts/setup.sh). */
START_TEST(window_keys_xvfb) {
    fx_mkdir();
    char display[32];
    pid_t x = start_xvfb(display, sizeof display);
    if (x < 0) {
        fprintf(stderr, "SKIPPED: window_keys_xvfb: Xvfb is not installed or did not start\n");
        fx_rmdir();
        return;
    }
    setenv("DISPLAY", display, 1);
    unsetenv("SDL_VIDEODRIVER");
    unsetenv("WAYLAND_DISPLAY");
    window_keys_and_screenshot();
    kill(x, SIGTERM);
    waitpid(x, NULL, 0);
    fx_rmdir();
}
END_TEST

START_TEST(keys) {
    fx_mkdir();
    write_ram_log(fx_path("run.h5"));
    frame fr;
    frame_open(&fr, fx_path("run.h5"), 1);
    sc_view_state *s = &fr.s;
    const sc_vlog *v = fr.v;
    s->t = 4;
    s->cols = 1;
    s->rows = 1;
    ck_assert_int_eq(sc_view_key(s, v, SDLK_RIGHT), SC_VIEW_NONE);  /* already at T */
    ck_assert_int_eq(sc_view_key(s, v, SDLK_LEFT), SC_VIEW_REDRAW);
    ck_assert_int_eq(s->t, 3);
    ck_assert_int_eq(sc_view_key(s, v, SDLK_RIGHT), SC_VIEW_REDRAW);
    ck_assert_int_eq(s->t, 4);
    ck_assert_int_eq(sc_view_key(s, v, SDLK_SPACE), SC_VIEW_REDRAW);
    ck_assert(s->playing && s->t == 1);  /* playing from the end starts again */
    ck_assert_int_eq(sc_view_key(s, v, SDLK_SPACE), SC_VIEW_REDRAW);
    ck_assert(!s->playing);
    ck_assert_int_eq(sc_view_key(s, v, SDLK_UP), SC_VIEW_NONE);  /* record 1 is the last */
    ck_assert_int_eq(sc_view_key(s, v, SDLK_DOWN), SC_VIEW_REDRAW);
    ck_assert_int_eq(s->rec, 0);
    ck_assert_int_eq(sc_view_key(s, v, SDLK_DOWN), SC_VIEW_NONE);
    ck_assert_int_eq(sc_view_key(s, v, SDLK_END), SC_VIEW_REDRAW);
    ck_assert_int_eq(s->rec, 1);
    ck_assert_int_eq(sc_view_key(s, v, SDLK_n), SC_VIEW_REDRAW);
    ck_assert_int_eq(sc_view_key(s, v, SDLK_n), SC_VIEW_REDRAW);
    ck_assert_int_eq(s->first, 2);
    ck_assert_int_eq(sc_view_key(s, v, SDLK_n), SC_VIEW_NONE);  /* 3 images */
    ck_assert_int_eq(sc_view_key(s, v, SDLK_p), SC_VIEW_REDRAW);
    ck_assert_int_eq(s->first, 1);
    ck_assert_int_eq(sc_view_key(s, v, SDLK_MINUS), SC_VIEW_REDRAW);
    ck_assert(s->cols * s->rows > 1);
    ck_assert_int_eq(sc_view_key(s, v, SDLK_PLUS), SC_VIEW_REDRAW);
    ck_assert(s->cols == 1 && s->rows == 1);
    ck_assert_int_eq(sc_view_key(s, v, SDLK_PLUS), SC_VIEW_NONE);
    ck_assert_int_eq(sc_view_key(s, v, SDLK_h), SC_VIEW_REDRAW);
    ck_assert(s->help);
    ck_assert_int_eq(sc_view_key(s, v, SDLK_s), SC_VIEW_SAVE);
    ck_assert_int_eq(sc_view_key(s, v, SDLK_q), SC_VIEW_QUIT);
    ck_assert_int_eq(sc_view_key(s, v, SDLK_ESCAPE), SC_VIEW_QUIT);
    /* the help overlay draws */
    SDL_Surface *surf = render(&fr, 2);
    SDL_FreeSurface(surf);
    /* the slider: its ends pick the first and last record */
    SDL_Rect t;
    sc_view_slider(FW, FH, &t);
    ck_assert_int_eq(sc_view_slider_pick(v, FW, FH, t.x - 5), 0);
    ck_assert_int_eq(sc_view_slider_pick(v, FW, FH, t.x + t.w), 1);
    frame_close(&fr);
    fx_rmdir();
}
END_TEST

/* ---- --view ----------------------------------------------------------------------------- */

static char *slurp_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The launcher runs EXE view RUN --follow detached: own session, niced, one
 * OpenBLAS thread; failures are reported. */
START_TEST(spawn_starts_a_detached_viewer) {
    fx_mkdir();
    const char *script = fx_path("fake-saccade"), *out = fx_path("child.txt");
    FILE *f = fopen(script, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "#!/bin/sh\nset -- \"$@\"\n{ echo \"args:$*\"; echo \"blas:$OPENBLAS_NUM_THREADS\";"
               " echo \"nice:$(cut -d' ' -f19 /proc/$$/stat)\"; echo \"sid:$(cut -d' ' -f6 /proc/$$/stat)\"; }"
               " > %s.tmp && mv %s.tmp %s\n", out, out, out);
    fclose(f);
    ck_assert_int_eq(chmod(script, 0755), 0);
    setenv("DISPLAY", ":99", 1);
    setenv("OPENBLAS_NUM_THREADS", "2", 1);
    pid_t pid = -1;
    sc_err err = {0};
    ck_assert_msg(sc_view_spawn("runs/x.h5", script, &pid, &err) == SC_OK, "%s", err.msg);
    ck_assert(pid > 0);
    char *text = NULL;
    for (int i = 0; i < 200 && !(text = slurp_file(out)); i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(text != NULL, "the child never ran");
    char want[256];
    snprintf(want, sizeof want, "args:view runs/x.h5 --follow\nblas:1\n");
    ck_assert_msg(strncmp(text, want, strlen(want)) == 0, "child saw: %s", text);
    int nice = 0;
    long sid = 0;
    ck_assert(sscanf(strstr(text, "nice:"), "nice:%d", &nice) == 1);
    ck_assert(sscanf(strstr(text, "sid:"), "sid:%ld", &sid) == 1);
    ck_assert_msg(nice >= 10, "viewer niceness %d", nice);
    ck_assert_msg(sid != (long)getsid(0), "the viewer shares the trainer's session");

    ck_assert_int_eq(sc_view_spawn("runs/x.h5", "/nonexistent/saccade", NULL, &err), SC_EIO);
    ck_assert_msg(strstr(err.msg, "/nonexistent/saccade: No such file or directory"), "%s", err.msg);

    unsetenv("DISPLAY");
    unsetenv("WAYLAND_DISPLAY");
    unsetenv("SDL_VIDEODRIVER");
    ck_assert_int_eq(sc_view_spawn("runs/x.h5", script, NULL, &err), SC_ESTATE);
    ck_assert_msg(strstr(err.msg, "--view needs a display") && strstr(err.msg, "saccade view runs/x.h5"), "%s", err.msg);
    fx_rmdir();
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("viz_view");
    TCase *tc = tcase_create("frames");
    tcase_add_test(tc, layout_scales_by_whole_pixels);
    tcase_add_test(tc, squares_where_the_sensor_read);
    tcase_add_test(tc, path_joins_the_centres);
    tcase_add_test(tc, stepping_moves_the_highlight);
    tcase_add_test(tc, nothing_else_drawn);
    tcase_add_test(tc, wrong_predictions_marked);
    tcase_add_test(tc, soft_heat_map);
    tcase_add_test(tc, selfattn_heads_heat_map);
    tcase_add_test(tc, colour_non_square_frame);
    tcase_add_test(tc, captions_use_class_names);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    TCase *cmd = tcase_create("command");
    tcase_add_test(cmd, png_is_the_rendered_frame);
    tcase_add_test(cmd, png_of_a_colour_log);
    tcase_add_test(cmd, gif_has_a_frame_per_glimpse);
    tcase_add_test(cmd, limits_command_errors);
    tcase_add_test(cmd, limits_no_display);
    tcase_add_test(cmd, window_runs_without_display);
    tcase_add_test(cmd, keys);
    tcase_add_test(cmd, window_keys_dummy_driver);
    tcase_add_test(cmd, window_keys_xvfb);
    tcase_add_test(cmd, spawn_starts_a_detached_viewer);
    tcase_set_timeout(cmd, 300);
    suite_add_tcase(s, cmd);
    return s;
}

SC_TEST_MAIN(make_suite)
