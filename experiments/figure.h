/* figure.h - just enough plotting for `saccade compare` and `saccade plot`:
 * a white figure with panels (axes with linear or log scales, ticks, grid,
 * title and axis labels), lines, markers, point labels and legends, written
 * as a PNG. Drawn with cairo (Debian's libcairo2-dev) and its built-in text
 * API (fonts through fontconfig: fonts-dejavu-core).
 *
 * What it is not: a plotting library. No automatic layout beyond one
 * figure of panels, no colour maps, no subplots sharing axes.
 *
 * Coordinates: figure pixels, (0, 0) the top-left corner. Data values that
 * are not finite (or not positive on a log axis) are skipped: a line breaks
 * there, a marker is not drawn.
 */
#ifndef SACCADE_EXPERIMENTS_FIGURE_H
#define SACCADE_EXPERIMENTS_FIGURE_H

#include "nets/err.h"

typedef struct sc_fig sc_fig;

typedef struct sc_rgb {
    double r, g, b;
} sc_rgb;

/* A colour-blind-safe palette (Okabe-Ito): index modulo its size. */
sc_rgb sc_fig_color(int i);

typedef enum { SC_MARK_CIRCLE = 0, SC_MARK_SQUARE = 1, SC_MARK_TRIANGLE = 2, SC_MARK_DIAMOND = 3 } sc_mark;

/* A w x h white figure. Errors: SC_ENOMEM (cairo could not make the surface). */
int sc_fig_create(sc_fig **out, int w, int h, sc_err *err);
void sc_fig_free(sc_fig *f);  /* accepts NULL */

/* Writes the figure to path as a PNG, through path.tmp renamed over path, so
 * a failure leaves no file (and any earlier path as it was). Errors name the
 * file and cairo's or the OS's reason (SC_EIO). */
int sc_fig_save_png(sc_fig *f, const char *path, sc_err *err);

/* Dark text at (x, y): align -1 left, 0 centred, 1 right of x; y is the
 * baseline (vertical centre when vcenter). size in pixels. */
void sc_fig_text(sc_fig *f, double x, double y, const char *text, double size, int align, int vcenter, int bold);

/* One panel. Its frame is the rectangle (x, y, w, h) in figure pixels, inside
 * which margins leave room for the tick labels, the axis labels and the title. */
typedef struct sc_axes {
    sc_fig *fig;
    double px, py, pw, ph;           /* the plotting area, figure pixels */
    double xmin, xmax, ymin, ymax;   /* data range shown */
    int xlog, ylog;
} sc_axes;

/* Sets up a panel in rectangle (x, y, w, h) with the data range [xmin, xmax]
 * x [ymin, ymax] (widened to nice tick values, and to a decade around a single
 * value on log axes). */
void sc_axes_init(sc_axes *a, sc_fig *f, double x, double y, double w, double h, double xmin, double xmax,
                  int xlog, double ymin, double ymax, int ylog);
/* Draws the frame, grid, ticks with their labels, the title and axis labels.
 * xticks (nx values), when non-NULL, replaces the automatic x ticks. */
void sc_axes_draw(const sc_axes *a, const char *title, const char *xlabel, const char *ylabel,
                  const double *xticks, int nx);
/* The pixel of data value x (or y); NaN when it is not shown (not finite,
 * not positive on a log axis). */
double sc_axes_x(const sc_axes *a, double x);
double sc_axes_y(const sc_axes *a, double y);

/* A polyline through (x[i], y[i]), broken at values not shown; dashed when set. */
void sc_axes_line(const sc_axes *a, const double *x, const double *y, int n, sc_rgb c, double width, int dashed);
/* A marker of shape m, size pixels across, at (x, y). */
void sc_axes_marker(const sc_axes *a, double x, double y, sc_mark m, sc_rgb c, double size);
/* Labels already placed in a panel (their boxes), so that the next one avoids them. */
typedef struct sc_labels {
    int n;
    double box[64][4];  /* x0, y0, x1, y1 */
} sc_labels;

/* A label beside the point (x, y): above right of it, else the first of below
 * right, above left, below left, further above or below that stays in the
 * panel and overlaps no label in placed (when non-NULL; it is added there). */
void sc_axes_label(const sc_axes *a, sc_labels *placed, double x, double y, const char *text, sc_rgb c);

/* A legend box in a corner of the panel with n entries: a marker (mark >= 0)
 * and/or a line sample (line set), and the text. corner: 0 top-right, 1
 * bottom-right, 2 top-left, 3 bottom-left; or -1, the corner whose box covers
 * the fewest of the np data points (x[i], y[i]) (ties in that order). When
 * placed is non-NULL the box is added to it, for labels to avoid. */
typedef struct sc_legend_entry {
    const char *text;
    sc_rgb color;
    int mark;    /* sc_mark, or -1 for none */
    int line;    /* 1 solid, 2 dashed, 0 none */
} sc_legend_entry;
void sc_axes_legend(const sc_axes *a, const sc_legend_entry *e, int n, int corner, const double *x, const double *y,
                    int np, sc_labels *placed);

/* Min and max of the values of v shown on an axis of that kind (finite; and
 * positive when log). Returns the count of such values (0: min/max untouched). */
int sc_fig_range(const double *v, int n, int log, double *lo, double *hi);

#endif
