/* compare.c - `saccade compare` and `saccade plot` (compare.h): run summaries
 * read from run logs, the Markdown table, and the two figures.
 *
 * Compute is analytic (agent/cost.h through the model interface): the run
 * log's root attributes hold it for the run's own canvas, and the second
 * panel recomputes it from the run's resolved configuration for canvases of
 * 28, 60 and 100 pixels. Measured times come from the log (/eval/test).
 */
#include "compare.h"

#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/model.h"
#include "experiments/figure.h"
#include "experiments/h5util.h"
#include "experiments/runlog.h"
#include "experiments/train.h"

static const int CANVASES[3] = {28, 60, 100};

/* ---- reading ----------------------------------------------------------------------- */

static void set_label(sc_run_summary *s, const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 3 && !strcmp(base + n - 3, ".h5")) n -= 3;
    snprintf(s->label, sizeof s->label, "%.*s", (int)(n < sizeof s->label ? n : sizeof s->label - 1), base);
}

/* The analytic cost of the run's model on a side x side canvas, grid as given for soft. */
static sc_cost cost_of(const sc_config *c, int side, int classes, int grid) {
    sc_config k = *c;
    if (grid > 0) k.grid = grid;
    sc_model_cfg mc;
    sc_model_cfg_from_config(&mc, &k, side, classes, 1);
    return sc_model_cost(&mc);
}

/* Reads an optional float64 root attribute into *v (left as it is when absent). */
static void attr_opt(hid_t f, const char *name, double *v) {
    if (sc_h5_attr_exists(f, name) > 0) sc_h5_attr_get_f64(f, name, v);
    sc_h5_forget();
}

/* The last complete row of /eval/test into s. */
static int read_test(hid_t f, sc_run_summary *s, sc_err *err) {
    static const char *const cols[] = {"eval/test/err_m1", "eval/test/err_mc", "eval/test/mc_samples",
                                       "eval/test/epoch", "eval/test/best_epoch"};
    double *v[5] = {NULL, NULL, NULL, NULL, NULL};
    size_t n[5], rows = (size_t)-1;
    int rc = SC_OK;
    for (int i = 0; i < 5 && rc == SC_OK; i++) {
        rc = sc_runlog_read_doubles(f, s->path, cols[i], 0, &v[i], &n[i], err);
        if (rc == SC_OK && n[i] < rows) rows = n[i];
    }
    if (rc == SC_OK && rows > 0) {
        size_t r = rows - 1;
        s->has_test = 1;
        s->err_m1 = v[0][r];
        s->err_mc = v[1][r];
        s->mc_samples = (int)v[2][r];
        s->epochs = (int)v[3][r];
        s->best_epoch = (int)v[4][r];
        /* columns added after the first logs of schema 1: absent in older logs */
        static const char *const opt[2] = {"eval/test/us_per_image", "eval/test/train_seconds"};
        double *dst[2] = {&s->us_per_image, &s->train_seconds};
        for (int i = 0; i < 2 && rc == SC_OK; i++) {
            double *u = NULL;
            size_t nu = 0;
            int o = sc_runlog_read_doubles(f, s->path, opt[i], 1, &u, &nu, err);
            if (o < 0) rc = o;
            else if (o == SC_OK && nu > r) *dst[i] = u[r];
            free(u);
        }
    }
    for (int i = 0; i < 5; i++) free(v[i]);
    if (rc == SC_OK && !isfinite(s->train_seconds)) {
        /* a log from before /eval/test/train_seconds: the completed epochs' training time */
        double *e = NULL;
        size_t ne = 0;
        rc = sc_runlog_read_doubles(f, s->path, "eval/epoch_seconds", 0, &e, &ne, err);
        if (rc == SC_OK && ne > 0) {
            s->train_seconds = 0;
            for (size_t i = 0; i < ne; i++) s->train_seconds += e[i];
        }
        free(e);
    }
    return rc;
}

int sc_run_summary_read(const char *path, sc_run_summary *s, int need_test, sc_err *err) {
    memset(s, 0, sizeof *s);
    s->us_per_image = s->train_seconds = NAN;
    snprintf(s->path, sizeof s->path, "%s", path);
    set_label(s, path);
    int64_t fi = sc_runlog_open_read(path, err);
    if (fi < 0) return (int)fi;
    hid_t f = (hid_t)fi;
    sc_h5_quiet q;
    sc_h5_quiet_begin(&q);
    int rc = SC_OK;
    char *text = NULL;
    int64_t side = 0, classes = 0, params = 0, spe = 0;
    snprintf(s->kind, sizeof s->kind, "ram");
    if (sc_h5_attr_exists(f, "model_kind") > 0) {
        if (sc_h5_attr_get_str(f, "model_kind", &text) < 0 ||
            (strcmp(text, "ram") && strcmp(text, "soft") && strcmp(text, "fc") && strcmp(text, "selfattn"))) {
            rc = sc_errf(err, SC_EFORMAT, "%s: model kind %s%s%s (/@model_kind) is not one this saccade knows "
                         "(ram, soft, fc, selfattn)", path, text ? "'" : "", text ? text : "unreadable", text ? "'" : "");
            goto out;
        }
        snprintf(s->kind, sizeof s->kind, "%s", text);
        free(text);
        text = NULL;
    }
    if (sc_h5_attr_get_str(f, "config", &text) < 0 || sc_h5_attr_get_i64(f, "canvas_side", &side) < 0 ||
        sc_h5_attr_get_i64(f, "num_classes", &classes) < 0 || sc_h5_attr_get_i64(f, "param_count", &params) < 0 ||
        side < 1 || classes < 2) {
        rc = sc_errf(err, SC_EFORMAT, "%s: damaged run log: missing or malformed root attributes config, "
                     "canvas_side, num_classes or param_count", path);
        goto out;
    }
    sc_config_defaults(&s->config);
    char name[1100];
    snprintf(name, sizeof name, "%s:/@config", path);
    if ((rc = sc_config_load_string(&s->config, text, name, err)) != SC_OK) goto out;
    if (sc_h5_attr_get_i64(f, "steps_per_epoch", &spe) == 0) s->steps_per_epoch = (int)spe;
    sc_h5_forget();
    s->canvas_side = (int)side;
    s->num_classes = (int)classes;
    s->params = params;
    sc_cost cost = cost_of(&s->config, s->canvas_side, s->num_classes, 0);
    s->flops_infer = cost.flops_infer;
    s->flops_train = cost.flops_train;
    s->pixels = cost.pixels_read;
    attr_opt(f, "flops_per_image", &s->flops_infer);
    attr_opt(f, "flops_train_per_image", &s->flops_train);
    attr_opt(f, "pixels_per_image", &s->pixels);
    if ((rc = read_test(f, s, err)) != SC_OK) goto out;
    if (need_test && !s->has_test)
        rc = sc_errf(err, SC_EFORMAT, "%s: no test results yet: no session of this run has ended (let it "
                     "finish, or stop it with Ctrl-C, which tests the best parameters so far)", path);
out:
    free(text);
    H5Fclose(f);
    sc_h5_forget();
    sc_h5_quiet_end(&q);
    return rc;
}

/* ---- the table ----------------------------------------------------------------------- */

static void fmt_seconds(char *buf, size_t n, double s) {
    if (!isfinite(s)) snprintf(buf, n, "-");
    else if (s < 60) snprintf(buf, n, "%.1f s", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

static void fmt_model(char *buf, size_t n, const sc_run_summary *r) {
    const sc_config *c = &r->config;
    if (!strcmp(r->kind, "soft"))
        snprintf(buf, n, "soft %dx%d %s", c->grid, c->grid, c->score);
    else if (!strcmp(r->kind, "fc"))
        snprintf(buf, n, "fc %dx%d", c->fc_layers, c->fc_hidden);
    else if (!strcmp(r->kind, "selfattn")) {
        const int g = c->patch > 0 ? r->canvas_side / c->patch : 0;
        snprintf(buf, n, "selfattn %dx%d p%d d%d h%d x%d %s%s%s", g, g, c->patch, c->d_model, c->heads, c->blocks,
                 c->readout, strcmp(c->pos_enc, "learned") ? " pos " : "",
                 strcmp(c->pos_enc, "learned") ? c->pos_enc : "");
        if (c->causal) snprintf(buf + strlen(buf), n - strlen(buf), " causal");
    }
    else
        snprintf(buf, n, "ram%s", c->reinforce ? "" : " (random glimpses)");
}

void sc_compare_table(FILE *out, const sc_run_summary *runs, int n) {
    fprintf(out, "| run | model | data | glimpses | test err M=1 | test err M | M | MFLOPs/image | pixels/image "
                 "| us/image | params | train time | epochs |\n");
    fprintf(out, "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        const sc_run_summary *r = &runs[i];
        const sc_config *c = &r->config;
        char model[96], data[96], glimpses[48], us[32], tt[32];
        fmt_model(model, sizeof model, r);
        snprintf(data, sizeof data, "%s %s %dx%d", c->dataset, c->canvas, r->canvas_side, r->canvas_side);
        /* glimpses computed per image: the RAM's T, the soft model's L (attended over T steps) */
        char scales[24] = "";
        if (c->scales > 1) snprintf(scales, sizeof scales, ", %d scales", c->scales);
        if (!strcmp(r->kind, "fc"))
            snprintf(glimpses, sizeof glimpses, "-");
        else if (!strcmp(r->kind, "selfattn")) {
            const int g = c->patch > 0 ? r->canvas_side / c->patch : 0;
            snprintf(glimpses, sizeof glimpses, "%d patches %dx%d", g * g, c->patch, c->patch);
        }
        else if (!strcmp(r->kind, "soft"))
            snprintf(glimpses, sizeof glimpses, "%d x %dx%d%s, %d steps", c->grid * c->grid, c->glimpse_size,
                     c->glimpse_size, scales, c->glimpses);
        else
            snprintf(glimpses, sizeof glimpses, "%d x %dx%d%s", c->glimpses, c->glimpse_size, c->glimpse_size,
                     scales);
        if (isfinite(r->us_per_image)) snprintf(us, sizeof us, "%.1f", r->us_per_image);
        else snprintf(us, sizeof us, "-");
        fmt_seconds(tt, sizeof tt, r->train_seconds);
        fprintf(out, "| %s | %s | %s | %s | %.2f%% | %.2f%% | %d | %.3f | %.0f | %s | %lld | %s | %d |\n", r->label,
                model, data, glimpses, r->err_m1, r->err_mc, r->mc_samples, r->flops_infer / 1e6, r->pixels, us,
                (long long)r->params, tt, r->epochs);
    }
}

/* ---- the figures ----------------------------------------------------------------------- */

double sc_compare_flops_at(const sc_run_summary *r, int W, int *grid) {
    int g = 0;
    if (!strcmp(r->kind, "soft")) {
        g = (int)lround((double)r->config.grid * W / r->canvas_side);
        int hi = W < 64 ? W : 64;
        g = g < 1 ? 1 : g > hi ? hi : g;
    }
    if (grid) *grid = g;
    return cost_of(&r->config, W, r->num_classes, g).flops_infer;
}

#define NKINDS 4
static int kind_index(const char *kind) {
    return !strcmp(kind, "soft") ? 1 : !strcmp(kind, "fc") ? 2 : !strcmp(kind, "selfattn") ? 3 : 0;
}
static const char *const KIND_LEGEND[NKINDS] = {"ram: hard attention", "soft: soft attention", "fc: fully connected",
                                                "selfattn: self-attention"};

static int kind_legend(const sc_run_summary *runs, int n, sc_legend_entry *e, int line) {
    int k = 0;
    for (int kind = 0; kind < NKINDS; kind++) {
        int present = 0;
        for (int i = 0; i < n; i++) present |= kind_index(runs[i].kind) == kind;
        if (present) e[k++] = (sc_legend_entry){KIND_LEGEND[kind], sc_fig_color(kind), kind, line};
    }
    return k;
}

int sc_compare_png(const char *png_path, const sc_run_summary *runs, int n, sc_err *err) {
    sc_fig *fig = NULL;
    int rc = sc_fig_create(&fig, 1400, 560, err);
    if (rc != SC_OK) return rc;
    /* x (n), y (n), curve (n, 3) */
    double *x = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1) * 5), *y = x ? x + n : NULL;
    double *curve = x ? x + 2 * n : NULL;
    if (!x) {
        sc_fig_free(fig);
        return sc_errf(err, SC_ENOMEM, "compare: out of memory");
    }
    /* panel 1: test error (M samples) against MFLOPs per image */
    for (int i = 0; i < n; i++) {
        x[i] = runs[i].flops_infer / 1e6;
        y[i] = runs[i].err_mc;
    }
    double x0 = 1, x1 = 10, y0 = 0, y1 = 1;
    sc_fig_range(x, n, 1, &x0, &x1);
    sc_fig_range(y, n, 0, &y0, &y1);
    sc_axes a;
    sc_axes_init(&a, fig, 0, 30, 700, 530, x0, x1, 1, 0.0, y1 * 1.15 < 100 ? y1 * 1.15 : 100, 0);
    sc_axes_draw(&a, "test error vs compute (runs)", "MFLOPs per image (inference, analytic; log scale)",
                 "test error (%), M samples", NULL, 0);
    sc_labels placed;
    memset(&placed, 0, sizeof placed);
    for (int i = 0; i < n; i++) {
        int k = kind_index(runs[i].kind);
        sc_axes_marker(&a, x[i], y[i], (sc_mark)k, sc_fig_color(k), 12);
    }
    sc_legend_entry e[NKINDS];
    sc_axes_legend(&a, e, kind_legend(runs, n, e, 0), -1, x, y, n, &placed);
    for (int i = 0; i < n; i++)
        sc_axes_label(&a, &placed, x[i], y[i], runs[i].label, sc_fig_color(kind_index(runs[i].kind)));

    /* panel 2: analytic compute of each run's settings on 28, 60, 100-pixel canvases */
    double lo = 1, hi = 10;
    int have = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 3; j++) {
            double v = sc_compare_flops_at(&runs[i], CANVASES[j], NULL) / 1e6;
            curve[3 * i + j] = v;
            if (!have || v < lo) lo = v;
            if (!have || v > hi) hi = v;
            have = 1;
        }
    sc_axes b;
    sc_axes_init(&b, fig, 700, 30, 700, 530, 20, 140, 0, lo, hi, 1);
    const double cx[3] = {28, 60, 100};
    sc_axes_draw(&b, "compute vs canvas size (analytic, each run's settings)",
                 "canvas side (pixels); soft keeps its grid spacing, selfattn its patch", "MFLOPs per image (log scale)",
                 cx, 3);
    memset(&placed, 0, sizeof placed);
    sc_axes_legend(&b, e, kind_legend(runs, n, e, 1), 2, NULL, NULL, 0, &placed);
    for (int i = 0; i < n; i++) {
        /* runs whose settings give the same curve (same kind, same values) share one line */
        int dup = 0;
        for (int j = 0; j < i && !dup; j++)
            dup = kind_index(runs[j].kind) == kind_index(runs[i].kind) &&
                  !memcmp(curve + 3 * j, curve + 3 * i, 3 * sizeof(double));
        if (dup) continue;
        int k = kind_index(runs[i].kind);
        sc_axes_line(&b, cx, curve + 3 * i, 3, sc_fig_color(k), 2.0, k == 2);
        for (int j = 0; j < 3; j++) sc_axes_marker(&b, cx[j], curve[3 * i + j], (sc_mark)k, sc_fig_color(k), 9);
    }
    for (int i = 0; i < n; i++) {
        int first = 1;
        for (int j = 0; j < i && first; j++)
            first = !(kind_index(runs[j].kind) == kind_index(runs[i].kind) &&
                      !memcmp(curve + 3 * j, curve + 3 * i, 3 * sizeof(double)));
        if (!first) continue;
        int k = kind_index(runs[i].kind);
        char lab[400];
        size_t len = (size_t)snprintf(lab, sizeof lab, "%s", runs[i].label);
        for (int j = i + 1; j < n && len < sizeof lab; j++)
            if (kind_index(runs[j].kind) == k && !memcmp(curve + 3 * j, curve + 3 * i, 3 * sizeof(double)))
                len += (size_t)snprintf(lab + len, sizeof lab - len, ", %s", runs[j].label);
        if (k == 1 && len < sizeof lab) {
            int g[3];
            for (int j = 0; j < 3; j++) sc_compare_flops_at(&runs[i], CANVASES[j], &g[j]);
            snprintf(lab + len, sizeof lab - len, " (grid %d/%d/%d)", g[0], g[1], g[2]);
        }
        sc_axes_label(&b, &placed, cx[2], curve[3 * i + 2], lab, sc_fig_color(k));
    }
    free(x);
    sc_fig_text(fig, 700, 22, "saccade compare: what hard attention gains and pays", 16, 0, 0, 1);
    rc = sc_fig_save_png(fig, png_path, err);
    sc_fig_free(fig);
    return rc;
}

/* ---- plot ------------------------------------------------------------------------------ */

typedef struct curves {
    double *step, *xent, *rf, *bmse, *reward;  /* /train, nt rows */
    size_t nt;
    double *ep, *v1, *vm;                      /* /eval, ne rows */
    size_t ne;
} curves;

static void curves_free(curves *c) {
    free(c->step); free(c->xent); free(c->rf); free(c->bmse); free(c->reward);
    free(c->ep); free(c->v1); free(c->vm);
}

static int read_curves(const char *path, curves *c, sc_err *err) {
    memset(c, 0, sizeof *c);
    int64_t fi = sc_runlog_open_read(path, err);
    if (fi < 0) return (int)fi;
    hid_t f = (hid_t)fi;
    struct { const char *name; double **out; size_t *rows; } cols[] = {
        {"train/step", &c->step, &c->nt}, {"train/xent", &c->xent, &c->nt}, {"train/reinforce", &c->rf, &c->nt},
        {"train/baseline_mse", &c->bmse, &c->nt}, {"train/reward", &c->reward, &c->nt},
        {"eval/epoch", &c->ep, &c->ne}, {"eval/val_err_m1", &c->v1, &c->ne}, {"eval/val_err_mc", &c->vm, &c->ne}};
    int rc = SC_OK;
    c->nt = c->ne = (size_t)-1;
    for (size_t i = 0; i < sizeof cols / sizeof cols[0] && rc == SC_OK; i++) {
        size_t k = 0;
        rc = sc_runlog_read_doubles(f, path, cols[i].name, 0, cols[i].out, &k, err);
        if (rc == SC_OK && k < *cols[i].rows) *cols[i].rows = k;  /* the complete rows */
    }
    H5Fclose(f);
    if (rc != SC_OK) curves_free(c);
    return rc;
}

int sc_plot_png(const char *run_path, const char *png_path, sc_err *err) {
    sc_run_summary s;
    int rc = sc_run_summary_read(run_path, &s, 0, err);
    if (rc != SC_OK) return rc;
    curves c;
    if ((rc = read_curves(run_path, &c, err)) != SC_OK) return rc;
    if (c.ne == 0 || c.nt == 0) {
        curves_free(&c);
        return sc_errf(err, SC_EFORMAT, "%s: nothing to plot yet: no epoch of this run has completed", run_path);
    }
    const int nt = (int)c.nt, ne = (int)c.ne;
    /* training rows on an epoch axis: step / steps per epoch */
    const double spe = s.steps_per_epoch > 0 ? s.steps_per_epoch : 1;
    double *tx = malloc(sizeof(double) * (size_t)nt);
    if (!tx) {
        curves_free(&c);
        return sc_errf(err, SC_ENOMEM, "plot: out of memory");
    }
    for (int i = 0; i < nt; i++) tx[i] = c.step[i] / spe;
    sc_fig *fig = NULL;
    if ((rc = sc_fig_create(&fig, 1500, 500, err)) != SC_OK) {
        free(tx);
        curves_free(&c);
        return rc;
    }
    char title[400];
    snprintf(title, sizeof title, "%s: %s on %s %s %dx%d, %d epochs", s.label, s.kind, s.config.dataset,
             s.config.canvas, s.canvas_side, s.canvas_side, ne);
    sc_fig_text(fig, 750, 22, title, 16, 0, 0, 1);
    double xmax = tx[nt - 1] > c.ep[ne - 1] ? tx[nt - 1] : c.ep[ne - 1];

    /* panel 1: the training loss terms */
    double lo = 0, hi = 1;
    int have = 0;
    const double *terms[3] = {c.xent, c.rf, c.bmse};
    static const char *const names[3] = {"cross-entropy", "REINFORCE surrogate", "baseline MSE"};
    sc_legend_entry le[3];
    int nl = 0;
    for (int k = 0; k < 3; k++) {
        double a = 0, b = 0;
        if (!sc_fig_range(terms[k], nt, 0, &a, &b)) continue;
        if (!have || a < lo) lo = a;
        if (!have || b > hi) hi = b;
        have = 1;
        le[nl++] = (sc_legend_entry){names[k], sc_fig_color(k), -1, 1};
    }
    sc_axes a;
    sc_axes_init(&a, fig, 0, 30, 500, 470, 0, xmax, 0, lo, hi, 0);
    sc_axes_draw(&a, "training loss terms", "epoch", "loss (mean over a log row)", NULL, 0);
    for (int k = 0; k < 3; k++) sc_axes_line(&a, tx, terms[k], nt, sc_fig_color(k), 1.5, 0);
    sc_axes_legend(&a, le, nl, -1, tx, c.xent, nt, NULL);

    /* panel 2: the training reward (accuracy) */
    sc_axes b;
    sc_axes_init(&b, fig, 500, 30, 500, 470, 0, xmax, 0, 0, 1, 0);
    sc_axes_draw(&b, "training reward", "epoch", "reward R = training accuracy", NULL, 0);
    sc_axes_line(&b, tx, c.reward, nt, sc_fig_color(0), 1.5, 0);

    /* panel 3: validation error by epoch, and the test error */
    lo = 1;
    hi = 100;
    sc_fig_range(c.v1, ne, 1, &lo, &hi);
    double a2 = lo, b2 = hi;
    if (sc_fig_range(c.vm, ne, 1, &a2, &b2)) {
        lo = a2 < lo ? a2 : lo;
        hi = b2 > hi ? b2 : hi;
    }
    if (s.has_test && s.err_mc > 0) lo = s.err_mc < lo ? s.err_mc : lo;
    if (s.has_test && s.err_m1 > 0) lo = s.err_m1 < lo ? s.err_m1 : lo;
    sc_axes v;
    sc_axes_init(&v, fig, 1000, 30, 500, 470, 0, xmax, 0, lo, hi, 1);
    sc_axes_draw(&v, "validation error", "epoch", "error (%, log scale)", NULL, 0);
    int stochastic = !strcmp(s.kind, "ram");
    sc_legend_entry ve[3];
    int nv = 0;
    sc_axes_line(&v, c.ep, c.v1, ne, sc_fig_color(0), 1.5, 0);
    ve[nv++] = (sc_legend_entry){stochastic ? "validation, M=1" : "validation", sc_fig_color(0), -1, 1};
    if (stochastic) {
        sc_axes_line(&v, c.ep, c.vm, ne, sc_fig_color(1), 1.5, 0);
        ve[nv++] = (sc_legend_entry){"validation, M samples", sc_fig_color(1), -1, 1};
    }
    char tl[96];
    if (s.has_test) {
        const double tx2[2] = {0, xmax}, ty[2] = {s.err_mc, s.err_mc};
        sc_axes_line(&v, tx2, ty, 2, sc_fig_color(3), 1.5, 1);
        sc_axes_marker(&v, s.best_epoch, s.err_mc, SC_MARK_DIAMOND, sc_fig_color(3), 11);
        snprintf(tl, sizeof tl, "test %.2f%% (M=%d), best epoch %d", s.err_mc, s.mc_samples, s.best_epoch);
        ve[nv++] = (sc_legend_entry){tl, sc_fig_color(3), SC_MARK_DIAMOND, 2};
    }
    sc_axes_legend(&v, ve, nv, -1, c.ep, c.v1, ne, NULL);
    rc = sc_fig_save_png(fig, png_path, err);
    sc_fig_free(fig);
    free(tx);
    curves_free(&c);
    return rc;
}
