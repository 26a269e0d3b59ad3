/* draw.c - one frame of the glimpse viewer: layout, glimpse squares, path,
 * heat map, labels, header, epoch slider and key help (see viewer.h).
 *
 * What it is: drawing into any SDL_Renderer (a window's, or the software
 * renderer over a surface for --png/--gif and the tests), from a loaded record
 * of a run log, grey or RGB, square or not. The squares are the sensor's
 * exact reads: sc_retina_origin gives the top-left pixel of each scale's
 * square, per axis (x over the width W, y over the height H), so what is
 * outlined is what the network saw (clipped to the image: outside pixels read
 * as 0). Captions name the classes by the log's class names.
 *
 * What it is not: the event loop or file output (view.c). Every SDL and
 * SDL_ttf call is checked; the first failure of a frame is kept and reported
 * with SDL's message when the frame is done.
 */
#include "viewer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/retina.h"

/* ---- fonts ------------------------------------------------------------------------ */

int sc_view_fonts_open(sc_view_fonts *f, sc_err *err) {
    memset(f, 0, sizeof *f);
    const char *path = getenv(SC_VIEW_FONT_ENV);
    int from_env = path && *path;
    if (!from_env) path = SC_VIEW_FONT;
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return from_env ? sc_errf(err, SC_EIO, "font %s (from $%s) not found", path, SC_VIEW_FONT_ENV)
                        : sc_errf(err, SC_EIO, "font %s not found: install Debian's fonts-dejavu-core (or set $%s "
                                  "to a .ttf file)", path, SC_VIEW_FONT_ENV);
    fclose(probe);
    if (!TTF_WasInit()) {
        if (TTF_Init() < 0) return sc_errf(err, SC_EIO, "cannot start SDL_ttf: %s", TTF_GetError());
        f->ttf_init = 1;
    }
    f->text = TTF_OpenFont(path, SC_VIEW_FONT_PT);
    f->small = f->text ? TTF_OpenFont(path, SC_VIEW_SMALL_PT) : NULL;
    if (!f->text || !f->small) {
        int rc = sc_errf(err, SC_EIO, "cannot load font %s: %s", path, TTF_GetError());
        sc_view_fonts_close(f);
        return rc;
    }
    f->marks = TTF_GlyphIsProvided32(f->text, 0x2713) && TTF_GlyphIsProvided32(f->text, 0x2717);
    return SC_OK;
}

void sc_view_fonts_close(sc_view_fonts *f) {
    if (f->small) TTF_CloseFont(f->small);
    if (f->text) TTF_CloseFont(f->text);
    if (f->ttf_init) TTF_Quit();
    memset(f, 0, sizeof *f);
}

/* ---- layout ----------------------------------------------------------------------- */

void sc_view_cell(const sc_vlog *v, const sc_view_state *s, int w, int h, int i, SDL_Rect *img, double *zoom) {
    int cols = s->cols > 0 ? s->cols : 1, rows = s->rows > 0 ? s->rows : 1;
    int aw = w - 2 * SC_VIEW_PAD, ah = h - SC_VIEW_HEADER - SC_VIEW_FOOTER - 2 * SC_VIEW_PAD;
    int cw = (aw - (cols - 1) * SC_VIEW_PAD) / cols, ch = (ah - (rows - 1) * SC_VIEW_PAD) / rows;
    if (cw < 1) cw = 1;
    if (ch < SC_VIEW_LABEL + 1) ch = SC_VIEW_LABEL + 1;
    /* one zoom for both axes, the largest at which the H x W canvas fits the cell */
    double zx = (double)cw / v->W, zy = (double)(ch - SC_VIEW_LABEL) / v->H;
    double z = zx < zy ? zx : zy;
    if (z >= 1.0) z = floor(z); /* whole screen pixels per image pixel when it fits */
    int pw = (int)lround(z * v->W), ph = (int)lround(z * v->H);
    int col = i % cols, row = i / cols;
    int cx = SC_VIEW_PAD + col * (cw + SC_VIEW_PAD), cy = SC_VIEW_HEADER + SC_VIEW_PAD + row * (ch + SC_VIEW_PAD);
    img->x = cx + (cw - pw) / 2;
    img->y = cy + (ch - SC_VIEW_LABEL - ph) / 2;
    img->w = pw;
    img->h = ph;
    *zoom = z;
}

void sc_view_default_size(const sc_vlog *v, const sc_view_state *s, int *w, int *h) {
    const int side = v->W > v->H ? v->W : v->H;  /* the longer side about 250 px */
    int zoom = 250 / side > 1 ? 250 / side : 1, pw = zoom * v->W, ph = zoom * v->H;
    *w = s->cols * pw + (s->cols + 1) * SC_VIEW_PAD;
    *h = SC_VIEW_HEADER + SC_VIEW_FOOTER + s->rows * (ph + SC_VIEW_LABEL) + (s->rows + 1) * SC_VIEW_PAD;
    if (*w < 760) *w = 760;  /* room for the header and the key hint */
}

void sc_view_slider(int w, int h, SDL_Rect *track) {
    track->x = SC_VIEW_PAD + 64;
    track->y = h - SC_VIEW_FOOTER + 12;
    track->w = w - 2 * SC_VIEW_PAD - 64 - 150;
    if (track->w < 20) track->w = 20;
    track->h = 6;
}

int sc_view_slider_pick(const sc_vlog *v, int w, int h, int x) {
    SDL_Rect t;
    sc_view_slider(w, h, &t);
    if (v->R <= 1) return 0;
    double f = (double)(x - t.x) / t.w;
    int r = (int)lround(f * (v->R - 1));
    return r < 0 ? 0 : r >= v->R ? v->R - 1 : r;
}

SDL_Color sc_view_step_colour(int step, int T) {
    double f = T > 1 ? (double)(step - 1) / (T - 1) : 1.0;
    double hue = fmod(190.0 - 210.0 * f + 360.0, 360.0), s = 0.85, val = 1.0;  /* cyan, green, yellow, red, pink */
    double c = val * s, hp = hue / 60.0, x = c * (1.0 - fabs(fmod(hp, 2.0) - 1.0)), m = val - c;
    double r = 0, g = 0, b = 0;
    if (hp < 1) { r = c; g = x; }
    else if (hp < 2) { r = x; g = c; }
    else if (hp < 3) { g = c; b = x; }
    else if (hp < 4) { g = x; b = c; }
    else if (hp < 5) { r = x; b = c; }
    else { r = c; b = x; }
    SDL_Color out = {(Uint8)lround(255 * (r + m)), (Uint8)lround(255 * (g + m)), (Uint8)lround(255 * (b + m)), 255};
    return out;
}

int sc_view_prediction(const sc_vlog *v, int i, int t, float *prob) {
    const float *p = v->probs + ((size_t)i * v->T + (t - 1)) * v->C;
    int best = 0;
    if (t == v->T && v->pred && v->rec >= 0) {
        best = v->pred[(size_t)v->rec * v->G + i];
    } else {
        for (int c = 1; c < v->C; c++)
            if (p[c] > p[best]) best = c;
    }
    *prob = best >= 0 && best < v->C ? p[best] : NAN;
    return best;
}

/* ---- drawing primitives ------------------------------------------------------------ */

typedef struct dc {
    SDL_Renderer *r;
    const sc_view_fonts *f;
    int w, h;
    int failed;
    char what[SC_ERR_MSG_MAX];
} dc;

static const SDL_Color BG = {22, 22, 26, 255}, BAR = {38, 38, 46, 255}, TEXT = {232, 232, 232, 255},
                       DIM = {150, 150, 162, 255}, GOOD = {96, 206, 128, 255}, BAD = {244, 84, 84, 255},
                       TRACK = {78, 78, 90, 255}, KNOB = {240, 240, 240, 255};

static void check(dc *d, int rc, const char *call) {
    if (rc < 0 && !d->failed) {
        d->failed = 1;
        snprintf(d->what, sizeof d->what, "%s failed: %s", call, SDL_GetError());
    }
}

static void colour(dc *d, SDL_Color c, Uint8 a) { check(d, SDL_SetRenderDrawColor(d->r, c.r, c.g, c.b, a), "SDL_SetRenderDrawColor"); }

static void fill(dc *d, int x, int y, int w, int h) {
    if (w <= 0 || h <= 0) return;
    SDL_Rect q = {x, y, w, h};
    check(d, SDL_RenderFillRect(d->r, &q), "SDL_RenderFillRect");
}

/* A th-wide outline inside [x0, x1) x [y0, y1). */
static void outline(dc *d, int x0, int y0, int x1, int y1, int th) {
    int w = x1 - x0, h = y1 - y0;
    if (w <= 0 || h <= 0) return;
    if (th * 2 >= w || th * 2 >= h) {
        fill(d, x0, y0, w, h);
        return;
    }
    fill(d, x0, y0, w, th);
    fill(d, x0, y1 - th, w, th);
    fill(d, x0, y0 + th, th, h - 2 * th);
    fill(d, x1 - th, y0 + th, th, h - 2 * th);
}

static void clip(dc *d, const SDL_Rect *q) { check(d, SDL_RenderSetClipRect(d->r, q), "SDL_RenderSetClipRect"); }

static int text_width(dc *d, TTF_Font *font, const char *s) {
    int w = 0, h = 0;
    if (!*s) return 0;
    if (TTF_SizeUTF8(font, s, &w, &h) < 0 && !d->failed) {
        d->failed = 1;
        snprintf(d->what, sizeof d->what, "TTF_SizeUTF8 failed: %s", TTF_GetError());
    }
    return w;
}

/* Draws s with its top-left at (x, y); returns its width. */
static int text(dc *d, TTF_Font *font, const char *s, int x, int y, SDL_Color c) {
    if (!*s || d->failed) return 0;
    SDL_Surface *surf = TTF_RenderUTF8_Blended(font, s, c);
    if (!surf) {
        d->failed = 1;
        snprintf(d->what, sizeof d->what, "TTF_RenderUTF8_Blended failed: %s", TTF_GetError());
        return 0;
    }
    int w = surf->w;
    SDL_Texture *tex = SDL_CreateTextureFromSurface(d->r, surf);
    if (!tex) {
        check(d, -1, "SDL_CreateTextureFromSurface");
    } else {
        SDL_Rect q = {x, y, surf->w, surf->h};
        check(d, SDL_RenderCopy(d->r, tex, NULL, &q), "SDL_RenderCopy");
        SDL_DestroyTexture(tex);
    }
    SDL_FreeSurface(surf);
    return w;
}

/* An H x W RGBA image onto the screen rectangle q, nearest neighbour. */
static void blit_rgba(dc *d, const Uint8 *rgba, int H, int W, const SDL_Rect *q) {
    if (d->failed) return;
    SDL_Texture *tex = SDL_CreateTexture(d->r, SDL_PIXELFORMAT_RGBA32, SDL_TEXTUREACCESS_STATIC, W, H);
    if (!tex) {
        check(d, -1, "SDL_CreateTexture");
        return;
    }
    check(d, SDL_SetTextureScaleMode(tex, SDL_ScaleModeNearest), "SDL_SetTextureScaleMode");
    check(d, SDL_UpdateTexture(tex, NULL, rgba, W * 4), "SDL_UpdateTexture");
    check(d, SDL_RenderCopy(d->r, tex, NULL, q), "SDL_RenderCopy");
    SDL_DestroyTexture(tex);
}

/* ---- one image -------------------------------------------------------------------- */

/* Screen coordinate of canvas coordinate u (pixels) along an axis starting at o,
 * kept within a margin of the image so wild locations cannot overflow. */
static int screen(int o, int n, double zoom, double u) {
    double p = o + u * zoom;
    if (p < o - 16) p = o - 16;
    if (p > o + n + 16) p = o + n + 16;
    return (int)lround(p);
}

/* The inferno colour map at v in [0, 1]. */
static void inferno(double v, double rgb[3]) {
    static const double stops[5][3] = {{0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}};
    double x = v * 4.0;
    int i = x >= 4.0 ? 3 : (int)x;
    double f = x - i;
    for (int c = 0; c < 3; c++) rgb[c] = stops[i][c] + f * (stops[i + 1][c] - stops[i][c]);
}

/* The image as RGBA (grey: r = g = b; colour: its own), with the attention
 * heat map of glimpse (soft: step; selfattn: head) t blended in. */
static void image_rgba(Uint8 *out, float *heat, const sc_vlog *v, int i, int t) {
    const int H = v->H, W = v->W, N = H * W, ch = v->channels;
    const uint8_t *im = v->images + (size_t)i * N * ch;
    for (int p = 0; p < N; p++) {
        for (int c = 0; c < 3; c++) out[4 * p + c] = im[(size_t)p * ch + (ch == 3 ? c : 0)];
        out[4 * p + 3] = 255;
    }
    if (!v->att) return;  /* a log without attention maps (ram's) */
    /* heat(x, y) = sum over locations l whose scale-0 square holds (x, y) of p_l; the square's
     * origin per axis: x on the width, y on the height */
    memset(heat, 0, sizeof(float) * N);
    const float *p = v->att + ((size_t)i * v->T + (t - 1)) * v->L;
    for (int l = 0; l < v->L; l++) {
        if (!(p[l] > 0.0f)) continue;
        int x0 = sc_retina_origin(v->grid[2 * l], W, v->g, 0), y0 = sc_retina_origin(v->grid[2 * l + 1], H, v->g, 0);
        int xa = x0 < 0 ? 0 : x0, ya = y0 < 0 ? 0 : y0;
        int xb = x0 + v->g > W ? W : x0 + v->g, yb = y0 + v->g > H ? H : y0 + v->g;
        for (int y = ya; y < yb; y++)
            for (int x = xa; x < xb; x++) heat[y * W + x] += p[l];
    }
    float hmax = 0.0f;
    for (int q = 0; q < N; q++)
        if (heat[q] > hmax) hmax = heat[q];
    if (!(hmax > 0.0f)) return;
    for (int q = 0; q < N; q++) {
        if (!(heat[q] > 0.0f)) continue;
        double u = heat[q] / hmax, rgb[3], a = 0.75 * u;  /* a weight near 0 leaves the image as it is */
        inferno(u, rgb);
        for (int c = 0; c < 3; c++) out[4 * q + c] = (Uint8)lround(out[4 * q + c] * (1.0 - a) + rgb[c] * a);
    }
}

static void draw_squares(dc *d, const sc_vlog *v, const SDL_Rect *img, double zoom, const float *l, int th) {
    for (int sc = 0; sc < v->k; sc++) {
        int S = v->g << sc;
        int x0 = sc_retina_origin(l[0], v->W, v->g, sc), y0 = sc_retina_origin(l[1], v->H, v->g, sc);
        outline(d, screen(img->x, img->w, zoom, x0), screen(img->y, img->h, zoom, y0),
                screen(img->x, img->w, zoom, (double)x0 + S), screen(img->y, img->h, zoom, (double)y0 + S), th);
    }
}

/* The centre of location l on screen: ((x+1)/2 W, (y+1)/2 H) canvas pixels. */
static void centre(const sc_vlog *v, const SDL_Rect *img, double zoom, const float *l, int *cx, int *cy) {
    *cx = screen(img->x, img->w, zoom, (l[0] + 1.0) * 0.5 * v->W);
    *cy = screen(img->y, img->h, zoom, (l[1] + 1.0) * 0.5 * v->H);
}

static int finite2(const float *l) { return isfinite(l[0]) && isfinite(l[1]); }

static void draw_trajectory(dc *d, const sc_vlog *v, const sc_view_state *s, int i, const SDL_Rect *img,
                            double zoom) {
    const float *L = v->loc + (size_t)i * v->T * 2;
    const int t = s->t, thick = SC_VIEW_THICK(zoom);
    clip(d, img);
    for (int j = 1; j < t; j++) {  /* earlier glimpses: thin, slightly transparent */
        if (!finite2(L + 2 * (j - 1))) continue;
        colour(d, sc_view_step_colour(j, v->T), SC_VIEW_PAST_ALPHA);
        draw_squares(d, v, img, zoom, L + 2 * (j - 1), 1);
    }
    for (int j = 2; j <= t; j++) {  /* the path, 2 px wide */
        const float *a = L + 2 * (j - 2), *b = L + 2 * (j - 1);
        if (!finite2(a) || !finite2(b)) continue;
        int ax, ay, bx, by;
        centre(v, img, zoom, a, &ax, &ay);
        centre(v, img, zoom, b, &bx, &by);
        colour(d, sc_view_step_colour(j, v->T), SC_VIEW_PATH_ALPHA);
        check(d, SDL_RenderDrawLine(d->r, ax, ay, bx, by), "SDL_RenderDrawLine");
        int steep = abs(by - ay) > abs(bx - ax);
        check(d, SDL_RenderDrawLine(d->r, ax + steep, ay + !steep, bx + steep, by + !steep), "SDL_RenderDrawLine");
    }
    if (finite2(L + 2 * (t - 1))) {  /* the current glimpse: thick and opaque */
        colour(d, sc_view_step_colour(t, v->T), 255);
        draw_squares(d, v, img, zoom, L + 2 * (t - 1), thick);
    }
    for (int j = 1; j <= t; j++) {  /* centres */
        if (!finite2(L + 2 * (j - 1))) continue;
        int cx, cy, r = j == t ? 3 : 2;
        centre(v, img, zoom, L + 2 * (j - 1), &cx, &cy);
        colour(d, sc_view_step_colour(j, v->T), 255);
        fill(d, cx - r, cy - r, 2 * r + 1, 2 * r + 1);
    }
    if (img->w >= 120) {  /* step numbers, when there is room */
        for (int j = 1; j <= t; j++) {
            if (!finite2(L + 2 * (j - 1))) continue;
            int cx, cy;
            char num[16];
            snprintf(num, sizeof num, "%d", j);
            centre(v, img, zoom, L + 2 * (j - 1), &cx, &cy);
            SDL_Color black = {0, 0, 0, 255};
            text(d, d->f->small, num, cx + 6, cy - 17, black);
            text(d, d->f->small, num, cx + 5, cy - 18, sc_view_step_colour(j, v->T));
        }
    }
    clip(d, NULL);
}

/* ---- captions ---------------------------------------------------------------------- */

/* Names are cut to at most this many characters before they are measured, and
 * never below CAPTION_MIN_CHARS (a digit name of MNIST is never touched). */
#define CAPTION_MAX_CHARS 32
#define CAPTION_MIN_CHARS 4

/* Class c's name into buf: the log's, or the number for a class the log has
 * no name for (a hostile prediction or label). */
static const char *class_name(const sc_vlog *v, int c, char *buf, size_t n) {
    if (c >= 0 && c < v->C && v->class_names) return v->class_names[c];
    snprintf(buf, n, "%d", c);
    return buf;
}

/* Characters (UTF-8 code points) of s. */
static int utf8_chars(const char *s) {
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* name's first k characters and an ellipsis into out (k at least the name's length: the name). */
static void cut_name(char *out, size_t n, const char *name, int k, const char *ellipsis) {
    const char *p = name;
    for (int c = 0; *p && c <= k; p++) {
        if (((unsigned char)*p & 0xc0) != 0x80 && c++ == k) break;
    }
    if (!*p) snprintf(out, n, "%s", name);
    else snprintf(out, n, "%.*s%s", (int)(p - name), name, ellipsis);
}

static void caption_text(sc_view_caption *cp, const sc_view_fonts *f, const char *pn, const char *ln, float prob,
                         int right) {
    const char *mark = f->marks ? (right ? " \u2713" : " \u2717") : (right ? "" : " x");
    if (isfinite(prob)) snprintf(cp->pred, sizeof cp->pred, "%s (%.0f%%)%s", pn, 100.0 * prob, mark);
    else snprintf(cp->pred, sizeof cp->pred, "%s%s", pn, right ? "" : " x");
    snprintf(cp->truth, sizeof cp->truth, "  true %s", ln);
}

static int caption_width(const sc_view_fonts *f, const char *s, int *w, sc_err *err) {
    int h;
    *w = 0;
    if (*s && TTF_SizeUTF8(f->small, s, w, &h) < 0) return sc_errf(err, SC_EIO, "TTF_SizeUTF8 failed: %s", TTF_GetError());
    return SC_OK;
}

/* Names shortened the longer first, a character at a time, down to
 * CAPTION_MIN_CHARS, until the caption fits. */
int sc_view_caption_fit(sc_view_caption *cp, const sc_view_fonts *f, const sc_vlog *v, int i, int t, int width,
                        sc_err *err) {
    float prob;
    int pred = sc_view_prediction(v, i, t, &prob), label = v->labels[i], right = pred == label;
    char pb[16], lb[16], pn[SC_RUNLOG_CLASS_NAME_MAX + 8], ln[SC_RUNLOG_CLASS_NAME_MAX + 8];
    const char *pname = class_name(v, pred, pb, sizeof pb), *lname = class_name(v, label, lb, sizeof lb);
    const char *ell = TTF_GlyphIsProvided32(f->small, 0x2026) ? "\u2026" : "...";
    int kp = utf8_chars(pname), kl = utf8_chars(lname);
    if (kp > CAPTION_MAX_CHARS) kp = CAPTION_MAX_CHARS;
    if (kl > CAPTION_MAX_CHARS) kl = CAPTION_MAX_CHARS;
    for (;;) {
        cut_name(pn, sizeof pn, pname, kp, ell);
        cut_name(ln, sizeof ln, lname, kl, ell);
        caption_text(cp, f, pn, ln, prob, right);
        int wa, wb, rc = caption_width(f, cp->pred, &wa, err);
        if (rc == SC_OK) rc = caption_width(f, cp->truth, &wb, err);
        if (rc != SC_OK) return rc;
        cp->width = wa + wb;
        cp->right = right;
        if (cp->width <= width) return SC_OK;
        int *longer = kp >= kl ? &kp : &kl;
        if (*longer <= CAPTION_MIN_CHARS) return SC_OK;
        (*longer)--;
    }
}

static void draw_cell(dc *d, const sc_vlog *v, const sc_view_state *s, int cell, int i, Uint8 *rgba,
                      float *heat) {
    SDL_Rect img;
    double zoom;
    sc_view_cell(v, s, d->w, d->h, cell, &img, &zoom);
    image_rgba(rgba, heat, v, i, s->t);
    blit_rgba(d, rgba, v->H, v->W, &img);
    if (v->loc) draw_trajectory(d, v, s, i, &img, zoom);  /* a log of locations looked at (ram's) */

    int cw = (d->w - 2 * SC_VIEW_PAD - (s->cols - 1) * SC_VIEW_PAD) / s->cols;
    sc_view_caption cp;
    sc_err e = {0};
    if (sc_view_caption_fit(&cp, d->f, v, i, s->t, cw, &e) != SC_OK && !d->failed) {
        d->failed = 1;
        snprintf(d->what, sizeof d->what, "%s", e.msg);
        return;
    }
    const int right = cp.right;
    if (!right) {  /* a red frame just outside the image */
        colour(d, BAD, 255);
        outline(d, img.x - 4, img.y - 4, img.x + img.w + 4, img.y + img.h + 4, 2);
    }
    int cx = SC_VIEW_PAD + (cell % s->cols) * (cw + SC_VIEW_PAD);
    int x = img.x + img.w / 2 - cp.width / 2;
    if (x < cx) x = cx;
    SDL_Rect lab = {cx, img.y + img.h + 5, cw, SC_VIEW_LABEL - 5};
    clip(d, &lab);
    x += text(d, d->f->small, cp.pred, x, lab.y, right ? GOOD : BAD);
    text(d, d->f->small, cp.truth, x, lab.y, DIM);
    clip(d, NULL);
}

/* ---- header, footer, help ---------------------------------------------------------- */

/* What a step is called (the kind's row of the model table, via the log): the
 * header, and the key help beside the arrow keys. */
const char *sc_view_step_name(const sc_vlog *v) { return v->step_name; }

static void draw_header(dc *d, const sc_vlog *v, const sc_view_state *s) {
    colour(d, BAR, 255);
    fill(d, 0, 0, d->w, SC_VIEW_HEADER);
    char left[512], right[160];
    int E = v->epoch[s->rec];
    snprintf(left, sizeof left, "%.300s   epoch %d (step %lld)   %s %d/%d", s->title ? s->title : v->path, E,
             (long long)v->step[s->rec], sc_view_step_name(v), s->t, v->T);
    int correct = 0;
    for (int i = 0; i < v->G; i++) correct += v->reward[(size_t)s->rec * v->G + i] > 0.5f;
    snprintf(right, sizeof right, "%s%s%d/%d correct (%.1f%%)", s->playing ? "\u25b6 playing   " : "",
             s->following ? "following   " : "", correct, v->G, 100.0 * correct / v->G);
    int rw = text_width(d, d->f->text, right);
    SDL_Rect lc = {0, 0, d->w - rw - 3 * SC_VIEW_PAD, SC_VIEW_HEADER};
    clip(d, &lc);
    text(d, d->f->text, left, SC_VIEW_PAD, 6, TEXT);
    clip(d, NULL);
    text(d, d->f->text, right, d->w - SC_VIEW_PAD - rw, 6, TEXT);
}

static void draw_footer(dc *d, const sc_vlog *v, const sc_view_state *s) {
    const int y0 = d->h - SC_VIEW_FOOTER;
    colour(d, BAR, 255);
    fill(d, 0, y0, d->w, SC_VIEW_FOOTER);
    SDL_Rect t;
    sc_view_slider(d->w, d->h, &t);
    text(d, d->f->small, "epochs", SC_VIEW_PAD, t.y - 5, DIM);
    colour(d, TRACK, 255);
    fill(d, t.x, t.y, t.w, t.h);
    if (v->R > 1 && t.w / (v->R - 1) >= 4) {  /* a tick per record when they fit */
        colour(d, DIM, 255);
        for (int r = 0; r < v->R; r++) fill(d, t.x + (int)lround((double)r * (t.w - 1) / (v->R - 1)), t.y - 3, 1, t.h + 6);
    }
    int kx = v->R > 1 ? t.x + (int)lround((double)s->rec * (t.w - 1) / (v->R - 1)) : t.x;
    colour(d, KNOB, 255);
    fill(d, kx - 4, t.y - 6, 9, t.h + 12);
    char lab[96];
    snprintf(lab, sizeof lab, "epoch %d (%d of %d)", v->epoch[s->rec], s->rec + 1, v->R);
    text(d, d->f->small, lab, t.x + t.w + 14, t.y - 5, TEXT);
    char keys[192];
    const char *unit = v->step_unit;
    snprintf(keys, sizeof keys,
             "\u2190/\u2192 %s   space play   \u2191/\u2193 epoch   n/p page   +/- size   s save PNG   h help   q quit",
             unit);
    const char *hint = s->status ? s->status : keys;
    text(d, d->f->small, hint, SC_VIEW_PAD, y0 + 30, s->status ? TEXT : DIM);
}

static void draw_help(dc *d) {
    static const char *const lines[][2] = {
        {"\u2190 / \u2192", "previous / next glimpse (t = 1..T)"},
        {"space", "play / pause the glimpses"},
        {"\u2191 / \u2193", "next / previous logged epoch (or the wheel, or drag the slider)"},
        {"Home / End", "first / last logged epoch"},
        {"n / p", "next / previous page of images"},
        {"+ / -", "fewer, larger / more, smaller images"},
        {"s", "save a PNG screenshot (current folder)"},
        {"h", "show / hide this help"},
        {"q / Esc", "quit"},
    };
    const int n = (int)(sizeof lines / sizeof lines[0]), lh = 22, bh = n * lh + 50;
    int kw = 0, tw = 0;
    for (int i = 0; i < n; i++) {
        int a = text_width(d, d->f->text, lines[i][0]), b = text_width(d, d->f->text, lines[i][1]);
        kw = a > kw ? a : kw;
        tw = b > tw ? b : tw;
    }
    int bw = kw + tw + 56, x = (d->w - bw) / 2, y = (d->h - bh) / 2;
    colour(d, BG, 235);
    fill(d, x, y, bw, bh);
    colour(d, DIM, 255);
    outline(d, x, y, x + bw, y + bh, 1);
    text(d, d->f->text, "keys", x + 16, y + 12, TEXT);
    for (int i = 0; i < n; i++) {
        text(d, d->f->text, lines[i][0], x + 16, y + 40 + i * lh, TEXT);
        text(d, d->f->text, lines[i][1], x + kw + 40, y + 40 + i * lh, DIM);
    }
}

static int finish(dc *d, sc_err *err) {
    if (d->failed) return sc_errf(err, SC_EIO, "drawing the viewer's frame: %s", d->what);
    return SC_OK;
}

static void begin(dc *d, SDL_Renderer *r, const sc_view_fonts *f) {
    memset(d, 0, sizeof *d);
    d->r = r;
    d->f = f;
    check(d, SDL_GetRendererOutputSize(r, &d->w, &d->h), "SDL_GetRendererOutputSize");
    check(d, SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_BLEND), "SDL_SetRenderDrawBlendMode");
    colour(d, BG, 255);
    check(d, SDL_RenderClear(r), "SDL_RenderClear");
}

int sc_view_draw(SDL_Renderer *r, const sc_view_fonts *f, const sc_vlog *v, const sc_view_state *s, sc_err *err) {
    if (s->rec < 0 || s->rec >= v->R || v->rec != s->rec)
        return sc_errf(err, SC_EARG, "sc_view_draw: record %d is not loaded", s->rec);
    dc d;
    begin(&d, r, f);
    size_t N = (size_t)v->H * v->W;
    Uint8 *rgba = malloc(4 * N);
    float *heat = malloc(sizeof(float) * N);
    if (!rgba || !heat) {
        free(rgba);
        free(heat);
        return sc_errf(err, SC_ENOMEM, "viewer: out of memory for a %dx%d image", v->W, v->H);
    }
    draw_header(&d, v, s);
    int per = s->cols * s->rows;
    for (int c = 0; c < per && s->first + c < v->G; c++) draw_cell(&d, v, s, c, s->first + c, rgba, heat);
    draw_footer(&d, v, s);
    if (s->help) draw_help(&d);
    free(rgba);
    free(heat);
    return finish(&d, err);
}

int sc_view_draw_message(SDL_Renderer *r, const sc_view_fonts *f, const char *title, const char *msg,
                         sc_err *err) {
    dc d;
    begin(&d, r, f);
    colour(&d, BAR, 255);
    fill(&d, 0, 0, d.w, SC_VIEW_HEADER);
    text(&d, f->text, title, SC_VIEW_PAD, 6, TEXT);
    int tw = text_width(&d, f->text, msg);
    text(&d, f->text, msg, (d.w - tw) / 2 > SC_VIEW_PAD ? (d.w - tw) / 2 : SC_VIEW_PAD, d.h / 2 - 10, DIM);
    text(&d, f->small, "q quit", SC_VIEW_PAD, d.h - 22, DIM);
    return finish(&d, err);
}

int sc_view_render(SDL_Surface **out, const sc_view_fonts *f, const sc_vlog *v, const sc_view_state *s, int w,
                   int h, sc_err *err) {
    *out = NULL;
    SDL_Surface *surf = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!surf) return sc_errf(err, SC_ENOMEM, "cannot make a %dx%d frame: %s", w, h, SDL_GetError());
    SDL_Renderer *r = SDL_CreateSoftwareRenderer(surf);
    if (!r) {
        SDL_FreeSurface(surf);
        return sc_errf(err, SC_EIO, "cannot start SDL's software renderer: %s", SDL_GetError());
    }
    int rc = sc_view_draw(r, f, v, s, err);
    if (rc == SC_OK && SDL_RenderFlush(r) < 0) rc = sc_errf(err, SC_EIO, "SDL_RenderFlush failed: %s", SDL_GetError());
    SDL_DestroyRenderer(r);
    if (rc != SC_OK) {
        SDL_FreeSurface(surf);
        return rc;
    }
    *out = surf;
    return SC_OK;
}
