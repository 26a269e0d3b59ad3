/* figure.c - panels, lines, markers and text on a cairo image surface, saved
 * as a PNG (figure.h). Ticks: linear axes step by 1, 2 or 5 times a power of
 * ten (about five ticks); log axes tick every decade, with 2 and 5 between
 * when the range spans fewer than three decades.
 */
#include "figure.h"

#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FONT "DejaVu Sans"

struct sc_fig {
    cairo_surface_t *surface;
    cairo_t *cr;
    int w, h;
};

sc_rgb sc_fig_color(int i) {
    static const sc_rgb pal[] = {{0.000, 0.447, 0.698}, {0.902, 0.624, 0.000}, {0.000, 0.620, 0.451},
                                 {0.835, 0.369, 0.000}, {0.800, 0.475, 0.655}, {0.337, 0.706, 0.914},
                                 {0.941, 0.894, 0.259}, {0.2, 0.2, 0.2}};
    const int n = (int)(sizeof pal / sizeof pal[0]);
    return pal[((i % n) + n) % n];
}

int sc_fig_create(sc_fig **out, int w, int h, sc_err *err) {
    *out = NULL;
    sc_fig *f = calloc(1, sizeof *f);
    if (!f) return sc_errf(err, SC_ENOMEM, "figure: out of memory");
    f->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(f->surface) != CAIRO_STATUS_SUCCESS) {
        int rc = sc_errf(err, SC_ENOMEM, "figure: cannot make a %dx%d image: %s", w, h,
                         cairo_status_to_string(cairo_surface_status(f->surface)));
        sc_fig_free(f);
        return rc;
    }
    f->cr = cairo_create(f->surface);
    if (cairo_status(f->cr) != CAIRO_STATUS_SUCCESS) {
        int rc = sc_errf(err, SC_ENOMEM, "figure: cannot draw: %s", cairo_status_to_string(cairo_status(f->cr)));
        sc_fig_free(f);
        return rc;
    }
    f->w = w;
    f->h = h;
    cairo_set_source_rgb(f->cr, 1, 1, 1);
    cairo_paint(f->cr);
    *out = f;
    return SC_OK;
}

void sc_fig_free(sc_fig *f) {
    if (!f) return;
    if (f->cr) cairo_destroy(f->cr);
    if (f->surface) cairo_surface_destroy(f->surface);
    free(f);
}

int sc_fig_save_png(sc_fig *f, const char *path, sc_err *err) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return sc_errf(err, SC_EARG, "%s: path too long", path);
    cairo_surface_flush(f->surface);
    /* cairo opens the file itself and reports only its own status: probe the
     * folder first for the OS's reason */
    FILE *probe = fopen(tmp, "wb");
    if (!probe) return sc_errf(err, SC_EIO, "%s: cannot write the PNG: %s", path, strerror(errno));
    fclose(probe);
    cairo_status_t st = cairo_surface_write_to_png(f->surface, tmp);
    if (st != CAIRO_STATUS_SUCCESS) {
        unlink(tmp);
        return sc_errf(err, SC_EIO, "%s: cannot write the PNG: %s", path, cairo_status_to_string(st));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return sc_errf(err, SC_EIO, "%s: cannot rename %s to it: %s", path, tmp, strerror(e));
    }
    return SC_OK;
}

/* ---- text ----------------------------------------------------------------------- */

static void set_font(cairo_t *cr, double size, int bold) {
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static double text_width(cairo_t *cr, const char *text) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, text, &e);
    return e.x_advance;
}

/* Text in the current colour; leaves no current point behind (a path begun
 * later must not be joined to it). */
static void draw_text(cairo_t *cr, double x, double y, const char *text, double size, int align, int vcenter,
                      int bold) {
    set_font(cr, size, bold);
    double w = text_width(cr, text);
    double tx = align < 0 ? x : align == 0 ? x - w / 2 : x - w;
    double ty = vcenter ? y + 0.35 * size : y;
    cairo_move_to(cr, tx, ty);
    cairo_show_text(cr, text);
    cairo_new_path(cr);
}

void sc_fig_text(sc_fig *f, double x, double y, const char *text, double size, int align, int vcenter, int bold) {
    cairo_save(f->cr);
    cairo_set_source_rgb(f->cr, 0.1, 0.1, 0.1);
    draw_text(f->cr, x, y, text, size, align, vcenter, bold);
    cairo_restore(f->cr);
}

/* ---- axes ----------------------------------------------------------------------- */

int sc_fig_range(const double *v, int n, int log, double *lo, double *hi) {
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(v[i]) || (log && v[i] <= 0)) continue;
        if (k == 0 || v[i] < *lo) *lo = v[i];
        if (k == 0 || v[i] > *hi) *hi = v[i];
        k++;
    }
    return k;
}

/* 1, 2 or 5 times a power of ten near x (x > 0). */
static double nice_step(double x) {
    double p = pow(10.0, floor(log10(x))), m = x / p;
    return (m < 1.5 ? 1.0 : m < 3.5 ? 2.0 : m < 7.5 ? 5.0 : 10.0) * p;
}

static void widen(double *lo, double *hi, int log) {
    if (!isfinite(*lo) || !isfinite(*hi) || (log && (*lo <= 0 || *hi <= 0))) {
        *lo = log ? 1.0 : 0.0;
        *hi = log ? 10.0 : 1.0;
    }
    if (log) {
        double a = floor(log10(*lo) + 1e-9), b = ceil(log10(*hi) - 1e-9);
        if (b <= a) b = a + 1;
        *lo = pow(10.0, a);
        *hi = pow(10.0, b);
        return;
    }
    if (*hi <= *lo) {
        double d = fabs(*lo) > 0 ? 0.1 * fabs(*lo) : 1.0;
        *lo -= d;
        *hi += d;
    }
    double st = nice_step((*hi - *lo) / 5.0);
    *lo = floor(*lo / st + 1e-9) * st;
    *hi = ceil(*hi / st - 1e-9) * st;
}

void sc_axes_init(sc_axes *a, sc_fig *f, double x, double y, double w, double h, double xmin, double xmax,
                  int xlog, double ymin, double ymax, int ylog) {
    memset(a, 0, sizeof *a);
    a->fig = f;
    a->px = x + 70;
    a->py = y + 34;
    a->pw = w - 70 - 16;
    a->ph = h - 34 - 52;
    a->xlog = xlog;
    a->ylog = ylog;
    widen(&xmin, &xmax, xlog);
    widen(&ymin, &ymax, ylog);
    a->xmin = xmin;
    a->xmax = xmax;
    a->ymin = ymin;
    a->ymax = ymax;
}

static double frac(double v, double lo, double hi, int log) {
    if (!isfinite(v) || (log && v <= 0)) return NAN;
    return log ? (log10(v) - log10(lo)) / (log10(hi) - log10(lo)) : (v - lo) / (hi - lo);
}

double sc_axes_x(const sc_axes *a, double x) { return a->px + frac(x, a->xmin, a->xmax, a->xlog) * a->pw; }
double sc_axes_y(const sc_axes *a, double y) { return a->py + a->ph - frac(y, a->ymin, a->ymax, a->ylog) * a->ph; }

/* Tick values of an axis into t (at most max); major[i] says whether to label. */
static int ticks(double lo, double hi, int log, double *t, int *major, int max) {
    int n = 0;
    if (log) {
        int a = (int)floor(log10(lo) + 1e-9), b = (int)ceil(log10(hi) - 1e-9);
        int minor = b - a < 3;
        for (int e = a; e <= b && n < max; e++) {
            double p = pow(10.0, e);
            t[n] = p;
            major[n++] = 1;
            if (!minor || e == b) continue;
            for (int k = 2; k <= 9 && n < max; k++) {
                t[n] = k * p;
                major[n++] = k == 2 || k == 5;
            }
        }
        return n;
    }
    double st = nice_step((hi - lo) / 5.0);
    for (double v = ceil(lo / st - 1e-9) * st; v <= hi + 1e-9 * st && n < max; v += st) {
        t[n] = fabs(v) < 1e-12 * st ? 0.0 : v;
        major[n++] = 1;
    }
    return n;
}

static void fmt_tick(char *buf, size_t n, double v) {
    double a = fabs(v);
    if (a == 0) snprintf(buf, n, "0");
    else if (a >= 1e5 || a < 1e-3) snprintf(buf, n, "%.0e", v);
    else snprintf(buf, n, "%g", v);
}

void sc_axes_draw(const sc_axes *a, const char *title, const char *xlabel, const char *ylabel,
                  const double *xticks, int nx) {
    cairo_t *cr = a->fig->cr;
    double t[128];
    int major[128];
    char buf[32];
    cairo_save(cr);
    cairo_set_line_width(cr, 1.0);
    /* grid and ticks */
    int n = xticks ? (nx < 128 ? nx : 128) : ticks(a->xmin, a->xmax, a->xlog, t, major, 128);
    for (int i = 0; i < n; i++) {
        double v = xticks ? xticks[i] : t[i];
        double x = sc_axes_x(a, v);
        if (!isfinite(x) || x < a->px - 0.5 || x > a->px + a->pw + 0.5) continue;
        int lab = xticks ? 1 : major[i];
        cairo_set_source_rgb(cr, lab ? 0.85 : 0.93, lab ? 0.85 : 0.93, lab ? 0.85 : 0.93);
        cairo_move_to(cr, floor(x) + 0.5, a->py);
        cairo_line_to(cr, floor(x) + 0.5, a->py + a->ph);
        cairo_stroke(cr);
        if (!lab) continue;
        cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
        fmt_tick(buf, sizeof buf, v);
        draw_text(cr, x, a->py + a->ph + 17, buf, 12, 0, 0, 0);
    }
    n = ticks(a->ymin, a->ymax, a->ylog, t, major, 128);
    for (int i = 0; i < n; i++) {
        double y = sc_axes_y(a, t[i]);
        if (!isfinite(y) || y < a->py - 0.5 || y > a->py + a->ph + 0.5) continue;
        cairo_set_source_rgb(cr, major[i] ? 0.85 : 0.93, major[i] ? 0.85 : 0.93, major[i] ? 0.85 : 0.93);
        cairo_move_to(cr, a->px, floor(y) + 0.5);
        cairo_line_to(cr, a->px + a->pw, floor(y) + 0.5);
        cairo_stroke(cr);
        if (!major[i]) continue;
        cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
        fmt_tick(buf, sizeof buf, t[i]);
        draw_text(cr, a->px - 6, y, buf, 12, 1, 1, 0);
    }
    /* frame */
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_rectangle(cr, floor(a->px) + 0.5, floor(a->py) + 0.5, floor(a->pw), floor(a->ph));
    cairo_stroke(cr);
    /* labels */
    if (title) sc_fig_text(a->fig, a->px + a->pw / 2, a->py - 12, title, 14, 0, 0, 1);
    if (xlabel) sc_fig_text(a->fig, a->px + a->pw / 2, a->py + a->ph + 40, xlabel, 13, 0, 0, 0);
    if (ylabel) {
        cairo_save(cr);
        cairo_translate(cr, a->px - 52, a->py + a->ph / 2);
        cairo_rotate(cr, -M_PI / 2);
        set_font(cr, 13, 0);
        cairo_move_to(cr, -text_width(cr, ylabel) / 2, 0);
        cairo_show_text(cr, ylabel);
        cairo_new_path(cr);
        cairo_restore(cr);
    }
    cairo_restore(cr);
}

/* ---- marks ------------------------------------------------------------------------ */

static void clip_to(const sc_axes *a) {
    cairo_rectangle(a->fig->cr, a->px, a->py, a->pw, a->ph);
    cairo_clip(a->fig->cr);
}

void sc_axes_line(const sc_axes *a, const double *x, const double *y, int n, sc_rgb c, double width, int dashed) {
    cairo_t *cr = a->fig->cr;
    cairo_save(cr);
    clip_to(a);
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    cairo_set_line_width(cr, width);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    if (dashed) {
        const double d[2] = {6.0, 4.0};
        cairo_set_dash(cr, d, 2, 0);
    }
    int open = 0;
    for (int i = 0; i < n; i++) {
        double px = sc_axes_x(a, x[i]), py = sc_axes_y(a, y[i]);
        if (!isfinite(px) || !isfinite(py)) {
            open = 0;
            continue;
        }
        if (open) cairo_line_to(cr, px, py);
        else cairo_move_to(cr, px, py);
        open = 1;
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

static void mark_path(cairo_t *cr, double x, double y, sc_mark m, double s) {
    const double r = s / 2;
    switch (m) {
    case SC_MARK_SQUARE: cairo_rectangle(cr, x - r * 0.9, y - r * 0.9, 1.8 * r, 1.8 * r); break;
    case SC_MARK_TRIANGLE:
        cairo_move_to(cr, x, y - r * 1.1);
        cairo_line_to(cr, x + r, y + r * 0.8);
        cairo_line_to(cr, x - r, y + r * 0.8);
        cairo_close_path(cr);
        break;
    case SC_MARK_DIAMOND:
        cairo_move_to(cr, x, y - r * 1.2);
        cairo_line_to(cr, x + r, y);
        cairo_line_to(cr, x, y + r * 1.2);
        cairo_line_to(cr, x - r, y);
        cairo_close_path(cr);
        break;
    default: cairo_arc(cr, x, y, r, 0, 2 * M_PI);
    }
}

void sc_axes_marker(const sc_axes *a, double x, double y, sc_mark m, sc_rgb c, double size) {
    double px = sc_axes_x(a, x), py = sc_axes_y(a, y);
    if (!isfinite(px) || !isfinite(py)) return;
    cairo_t *cr = a->fig->cr;
    cairo_save(cr);
    cairo_new_path(cr);
    mark_path(cr, px, py, m, size);
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_set_line_width(cr, 1.0);
    cairo_stroke(cr);
    cairo_restore(cr);
}

static int overlaps(const double *a, const double *b) {
    return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

void sc_axes_label(const sc_axes *a, sc_labels *placed, double x, double y, const char *text, sc_rgb c) {
    double px = sc_axes_x(a, x), py = sc_axes_y(a, y);
    if (!isfinite(px) || !isfinite(py)) return;
    cairo_t *cr = a->fig->cr;
    cairo_save(cr);
    set_font(cr, 12, 0);
    const double w = text_width(cr, text), h = 12;
    /* candidate baselines: (left edge, baseline) */
    const double cand[6][2] = {{px + 9, py - 7},      {px + 9, py + 17},      {px - 9 - w, py - 7},
                               {px - 9 - w, py + 17}, {px + 9, py - 21},      {px + 9, py + 31}};
    int pick = -1, first_inside = -1;
    double box[4];
    for (int k = 0; k < 6 && pick < 0; k++) {
        double b[4] = {cand[k][0] - 1, cand[k][1] - h, cand[k][0] + w + 1, cand[k][1] + 3};
        if (b[0] < a->px || b[2] > a->px + a->pw || b[1] < a->py || b[3] > a->py + a->ph) continue;
        if (first_inside < 0) first_inside = k;
        int free_ = 1;
        for (int i = 0; placed && i < placed->n && free_; i++) free_ = !overlaps(b, placed->box[i]);
        if (free_) pick = k;
    }
    if (pick < 0) pick = first_inside >= 0 ? first_inside : 0;
    box[0] = cand[pick][0] - 1;
    box[1] = cand[pick][1] - h;
    box[2] = cand[pick][0] + w + 1;
    box[3] = cand[pick][1] + 3;
    if (placed && placed->n < 64) memcpy(placed->box[placed->n++], box, sizeof box);
    cairo_set_source_rgb(cr, 0.6 * c.r, 0.6 * c.g, 0.6 * c.b);
    draw_text(cr, cand[pick][0], cand[pick][1], text, 12, -1, 0, 0);
    cairo_restore(cr);
}

void sc_axes_legend(const sc_axes *a, const sc_legend_entry *e, int n, int corner, const double *xs, const double *ys,
                    int np, sc_labels *placed) {
    if (n <= 0) return;
    cairo_t *cr = a->fig->cr;
    cairo_save(cr);
    set_font(cr, 12, 0);
    double w = 0;
    for (int i = 0; i < n; i++) {
        double tw = text_width(cr, e[i].text);
        if (tw > w) w = tw;
    }
    const double row = 18, bw = w + 52, bh = n * row + 10;
    if (corner < 0) {
        static const int order[4] = {0, 2, 1, 3};
        int best = 0, fewest = -1;
        for (int k = 0; k < 4; k++) {
            int cc = order[k], inside = 0;
            double bx = cc >= 2 ? a->px + 8 : a->px + a->pw - bw - 8, by = cc % 2 ? a->py + a->ph - bh - 8 : a->py + 8;
            for (int i = 0; i < np; i++) {
                double px = sc_axes_x(a, xs[i]), py = sc_axes_y(a, ys[i]);
                inside += isfinite(px) && isfinite(py) && px > bx - 12 && px < bx + bw + 12 && py > by - 12 &&
                          py < by + bh + 12;
            }
            if (fewest < 0 || inside < fewest) {
                fewest = inside;
                best = cc;
            }
        }
        corner = best;
    }
    double x = corner >= 2 ? a->px + 8 : a->px + a->pw - bw - 8;
    double y = corner % 2 ? a->py + a->ph - bh - 8 : a->py + 8;
    if (placed && placed->n < 64) {
        const double box[4] = {x, y, x + bw, y + bh};
        memcpy(placed->box[placed->n++], box, sizeof box);
    }
    cairo_new_path(cr);
    cairo_rectangle(cr, x, y, bw, bh);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(cr, 1.0);
    cairo_stroke(cr);
    for (int i = 0; i < n; i++) {
        double cy = y + 5 + row * i + row / 2;
        sc_rgb c = e[i].color;
        if (e[i].line) {
            cairo_save(cr);
            if (e[i].line == 2) {
                const double d[2] = {6.0, 4.0};
                cairo_set_dash(cr, d, 2, 0);
            }
            cairo_set_source_rgb(cr, c.r, c.g, c.b);
            cairo_set_line_width(cr, 2.0);
            cairo_move_to(cr, x + 8, cy);
            cairo_line_to(cr, x + 38, cy);
            cairo_stroke(cr);
            cairo_restore(cr);
        }
        if (e[i].mark >= 0) {
            cairo_new_path(cr);
            mark_path(cr, x + 23, cy, (sc_mark)e[i].mark, 10);
            cairo_set_source_rgb(cr, c.r, c.g, c.b);
            cairo_fill_preserve(cr);
            cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
            cairo_stroke(cr);
        }
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        draw_text(cr, x + 44, cy, e[i].text, 12, -1, 1, 0);
    }
    cairo_restore(cr);
}
