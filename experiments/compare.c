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
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kind.h"
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

/* The analytic cost of the run's model on an h x w canvas of `ch` channels, grid as given for soft. */
static sc_cost cost_of(const sc_config *c, int h, int w, int ch, int classes, int grid) {
    sc_config k = *c;
    if (grid > 0) k.grid = grid;
    sc_model_cfg mc;
    sc_model_cfg_from_shape(&mc, &k, h, w, ch, classes, 1);
    return sc_model_cost(&mc);
}

/* Reads an optional float64 root attribute into *v (left as it is when absent). */
static void attr_opt(hid_t f, const char *name, double *v) {
    if (sc_h5_attr_exists(f, name) > 0) sc_h5_attr_get_f64(f, name, v);
    sc_h5_forget();
}

/* A count (epochs, samples, a reason code) logged as a float64 at row r of column col into *out:
 * a whole number from 0 to INT_MAX, or an error naming the file, the column and the row. */
static int count_at(const char *path, const char *col, double v, size_t r, int *out, sc_err *err) {
    if (!(v >= 0 && v <= INT_MAX && v == floor(v)))
        return sc_errf(err, SC_EFORMAT, "%s: /%s row %zu is %g (expected a whole number from 0 to %d)", path,
                       col, r, v, INT_MAX);
    *out = (int)v;
    return SC_OK;
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
        rc = count_at(s->path, cols[2], v[2][r], r, &s->mc_samples, err);
        if (rc == SC_OK) rc = count_at(s->path, cols[3], v[3][r], r, &s->epochs, err);
        if (rc == SC_OK) rc = count_at(s->path, cols[4], v[4][r], r, &s->best_epoch, err);
        /* columns added after the first logs of schema 1: absent in older logs */
        static const char *const opt[3] = {"eval/test/us_per_image", "eval/test/train_seconds", "eval/test/reason"};
        double reason = 0, *dst[3] = {&s->us_per_image, &s->train_seconds, &reason};
        for (int i = 0; i < 3 && rc == SC_OK; i++) {
            double *u = NULL;
            size_t nu = 0;
            int o = sc_runlog_read_doubles(f, s->path, opt[i], 1, &u, &nu, err);
            if (o < 0) rc = o;
            else if (o == SC_OK && nu > r) *dst[i] = u[r];
            free(u);
        }
        if (rc == SC_OK) rc = count_at(s->path, opt[2], reason, r, &s->end_reason, err);
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
            !sc_model_ops_named(text)) {
            char quoted[96], kinds[128];
            rc = sc_errf(err, SC_EFORMAT, "%s: model kind %s (/@model_kind) is not one this saccade knows (%s)", path,
                         text ? sc_h5_quote(text, quoted, sizeof quoted) : "unreadable",
                         sc_model_kinds_list(kinds, sizeof kinds, 0, 0));
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
    /* the canvas's height and channels (logs before them: square and grey) */
    int64_t ch_h = side, chans = 1;
    if (sc_h5_attr_exists(f, "canvas_height") > 0 && (sc_h5_attr_get_i64(f, "canvas_height", &ch_h) < 0 || ch_h < 1 ||
                                                      ch_h > 65536)) {
        rc = sc_errf(err, SC_EFORMAT, "%s: damaged run log: root attribute canvas_height is not a size (expected "
                     "1..65536)", path);
        goto out;
    }
    if (sc_h5_attr_exists(f, "channels") > 0 &&
        (sc_h5_attr_get_i64(f, "channels", &chans) < 0 || (chans != 1 && chans != 3))) {
        rc = sc_errf(err, SC_EFORMAT, "%s: damaged run log: root attribute channels is not 1 or 3", path);
        goto out;
    }
    sc_h5_forget();
    s->canvas_h = (int)ch_h;
    s->channels = (int)chans;
    sc_cost cost = cost_of(&s->config, s->canvas_h, s->canvas_side, s->channels, s->num_classes, 0);
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
    else if (s < 3600.0 * 1e6) snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else snprintf(buf, n, "%.3g s", s); /* a damaged log's figure: no hours in an int */
}

/* The run's row of the model table (ram for a kind this saccade does not know:
 * sc_run_summary_read refuses those) and its part of the run's model config. */
static const sc_model_ops *run_kind(const sc_run_summary *r, sc_model_cfg *mc) {
    const sc_model_ops *ops = sc_model_ops_named(r->kind);
    if (!ops) ops = sc_model_kind_ops(SC_MODEL_RAM);
    sc_model_cfg_from_shape(mc, &r->config, r->canvas_h > 0 ? r->canvas_h : r->canvas_side, r->canvas_side,
                            r->channels > 0 ? r->channels : 1, r->num_classes, 1);
    return ops;
}

/* The model column and what the model looks at per image (the RAM's T glimpses,
 * the soft model's L locations attended over T steps, selfattn's patches). */
static void fmt_model(char *model, size_t mn, char *looks, size_t ln, const sc_run_summary *r) {
    sc_model_cfg mc;
    const sc_model_ops *ops = run_kind(r, &mc);
    if (ops->describe) {
        ops->describe(sc_model_kind_cfg(ops, &mc), model, mn, looks, ln);
    } else {
        snprintf(model, mn, "%s", ops->name);
        snprintf(looks, ln, "-");
    }
}

void sc_compare_table(FILE *out, const sc_run_summary *runs, int n) {
    fprintf(out, "| run | model | data | glimpses | test err M=1 | test err M | M | MFLOPs/image | pixels/image "
                 "| us/image | params | train time | epochs |\n");
    fprintf(out, "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        const sc_run_summary *r = &runs[i];
        const sc_config *c = &r->config;
        char model[96], data[96], glimpses[48], us[32], tt[32];
        fmt_model(model, sizeof model, glimpses, sizeof glimpses, r);
        snprintf(data, sizeof data, "%s %s %dx%d%s", c->dataset, c->canvas, r->canvas_h > 0 ? r->canvas_h : r->canvas_side,
                 r->canvas_side, r->channels == 3 ? " RGB" : "");
        if (isfinite(r->us_per_image)) snprintf(us, sizeof us, "%.1f", r->us_per_image);
        else snprintf(us, sizeof us, "-");
        fmt_seconds(tt, sizeof tt, r->train_seconds);
        fprintf(out, "| %s | %s | %s | %s | %.2f%% | %.2f%% | %d | %.3f | %.0f | %s | %lld | %s | %d |\n", r->label,
                model, data, glimpses, r->err_m1, r->err_mc, r->mc_samples, r->flops_infer / 1e6, r->pixels, us,
                (long long)r->params, tt, r->epochs);
    }
}

/* ---- groups of runs ---------------------------------------------------------------------- */

/* Keys that do not make two runs different experiments. */
static int ignored_key(const char *name) {
    return !strcmp(name, "train.seed") || !strcmp(name, "train.threads") || !strncmp(name, "log.", 4);
}

static int same_experiment(const sc_config *a, const sc_config *b) {
    char va[SC_CFG_STR + 16], vb[SC_CFG_STR + 16];
    for (int k = 0; k < sc_config_nkeys(); k++) {
        if (ignored_key(sc_config_key_name(k))) continue;
        sc_config_key_value(a, k, va, sizeof va);
        sc_config_key_value(b, k, vb, sizeof vb);
        if (strcmp(va, vb)) return 0;
    }
    return 1;
}

int sc_compare_group(const sc_run_summary *runs, int n, int *group, sc_group_label *label) {
    int ng = 0, *first = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!first) return -1;
    for (int i = 0; i < n; i++) {
        int g = 0;
        while (g < ng && !same_experiment(&runs[first[g]].config, &runs[i].config)) g++;
        if (g == ng) first[ng++] = i;
        group[i] = g;
    }
    /* the keys whose values differ between the groups */
    int varying[3], nv = 0, more = 0;
    char v0[SC_CFG_STR + 16], v1[SC_CFG_STR + 16];
    for (int k = 0; k < sc_config_nkeys() && ng > 1; k++) {
        if (ignored_key(sc_config_key_name(k))) continue;
        sc_config_key_value(&runs[first[0]].config, k, v0, sizeof v0);
        int differs = 0;
        for (int g = 1; g < ng && !differs; g++) {
            sc_config_key_value(&runs[first[g]].config, k, v1, sizeof v1);
            differs = strcmp(v0, v1) != 0;
        }
        if (!differs) continue;
        if (nv < 3) varying[nv++] = k;
        else more = 1;
    }
    for (int g = 0; g < ng; g++) {
        const sc_run_summary *r = &runs[first[g]];
        char *t = label[g].text;
        const size_t cap = sizeof label[g].text;
        if (r->group[0]) {
            snprintf(t, cap, "%s", r->group);
        } else if (nv > 0 && !more) {
            size_t len = 0;
            t[0] = '\0';
            for (int j = 0; j < nv && len < cap; j++) {
                sc_config_key_value(&r->config, varying[j], v0, sizeof v0);
                len += (size_t)snprintf(t + len, cap - len, "%s%s=%s", j ? "," : "", sc_config_key_name(varying[j]), v0);
            }
        } else {
            snprintf(t, cap, "%s", r->label);
        }
    }
    free(first);
    return ng;
}

int sc_mean_sd(const double *v, int n, double *mean, double *sd) {
    double s = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) {
            s += v[i];
            k++;
        }
    *mean = k ? s / k : NAN;
    double q = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) q += (v[i] - *mean) * (v[i] - *mean);
    *sd = k > 1 ? sqrt(q / (k - 1)) : k == 1 ? 0.0 : NAN;
    return k;
}

/* "m ± sd (k)" of column col of group g's runs, scaled; "-" when none is finite. */
static void fmt_stat(char *buf, size_t n, const sc_run_summary *runs, int nr, const int *group, int g,
                     size_t off, double scale, const char *unit, int digits) {
    double *v = malloc(sizeof(double) * (size_t)(nr > 0 ? nr : 1)), m = NAN, sd = NAN;
    int k = 0, cnt = 0;
    if (v) {
        for (int i = 0; i < nr; i++)
            if (group[i] == g) v[k++] = *(const double *)((const char *)&runs[i] + off) * scale;
        cnt = sc_mean_sd(v, k, &m, &sd);
    }
    free(v);
    if (cnt == 0) snprintf(buf, n, "-");
    else if (cnt == 1) snprintf(buf, n, "%.*f%s (1)", digits, m, unit);
    else snprintf(buf, n, "%.*f%s ± %.*f (%d)", digits, m, unit, digits, sd, cnt);
}

void sc_compare_group_table(FILE *out, const sc_run_summary *runs, int n, const int *group,
                            const sc_group_label *label, int ngroups) {
    fprintf(out, "| point | model | data | seeds | test err M=1 | test err M | M | MFLOPs/image | us/image "
                 "| train time (s) |\n");
    fprintf(out, "|---|---|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (int g = 0; g < ngroups; g++) {
        int first = -1;
        char seeds[128] = "";
        size_t len = 0;
        for (int i = 0; i < n; i++) {
            if (group[i] != g) continue;
            if (first < 0) first = i;
            if (len < sizeof seeds)
                len += (size_t)snprintf(seeds + len, sizeof seeds - len, "%s%llu", len ? "," : "",
                                        (unsigned long long)runs[i].config.seed);
        }
        if (first < 0) continue;
        const sc_run_summary *r = &runs[first];
        char model[96], looks[48], data[96], e1[64], em[64], fl[64], us[64], tt[64];
        fmt_model(model, sizeof model, looks, sizeof looks, r);
        snprintf(data, sizeof data, "%s %s %dx%d%s", r->config.dataset, r->config.canvas,
                 r->canvas_h > 0 ? r->canvas_h : r->canvas_side, r->canvas_side, r->channels == 3 ? " RGB" : "");
        fmt_stat(e1, sizeof e1, runs, n, group, g, offsetof(sc_run_summary, err_m1), 1, "%", 2);
        fmt_stat(em, sizeof em, runs, n, group, g, offsetof(sc_run_summary, err_mc), 1, "%", 2);
        fmt_stat(fl, sizeof fl, runs, n, group, g, offsetof(sc_run_summary, flops_infer), 1e-6, "", 3);
        fmt_stat(us, sizeof us, runs, n, group, g, offsetof(sc_run_summary, us_per_image), 1, "", 1);
        fmt_stat(tt, sizeof tt, runs, n, group, g, offsetof(sc_run_summary, train_seconds), 1, "", 1);
        fprintf(out, "| %s | %s | %s | %s | %s | %s | %d | %s | %s | %s |\n", label[g].text, model, data, seeds, e1,
                em, r->mc_samples, fl, us, tt);
    }
}

/* ---- the figures ----------------------------------------------------------------------- */

double sc_compare_flops_at(const sc_run_summary *r, int W, int *grid) {
    sc_model_cfg mc;
    const sc_model_ops *ops = run_kind(r, &mc);
    int g = ops->grid_at ? ops->grid_at(sc_model_kind_cfg(ops, &mc), W) : 0;
    if (grid) *grid = g;
    return cost_of(&r->config, W, W, r->channels > 0 ? r->channels : 1, r->num_classes, g).flops_infer;
}

#define NKINDS SC_MODEL_KINDS
/* A run's kind as its row of the model table: its colour and marker in the figures. */
static int kind_index(const char *kind) {
    sc_model_kind k;
    sc_err ignore = {0};
    return sc_model_kind_parse(kind, &k, &ignore) == SC_OK ? (int)k : SC_MODEL_RAM;
}

/* One legend entry per kind present, "name: legend" in text. */
static int kind_legend(const sc_run_summary *runs, int n, sc_legend_entry *e, char (*text)[64], int line) {
    int k = 0;
    for (int kind = 0; kind < NKINDS; kind++) {
        int present = 0;
        for (int i = 0; i < n; i++) present |= kind_index(runs[i].kind) == kind;
        if (!present) continue;
        const sc_model_ops *ops = sc_model_kind_ops((sc_model_kind)kind);
        snprintf(text[k], 64, "%s: %s", ops->name, ops->legend ? ops->legend : ops->name);
        e[k] = (sc_legend_entry){text[k], sc_fig_color(kind), kind, line};
        k++;
    }
    return k;
}

int sc_compare_png(const char *png_path, const sc_run_summary *runs, int n, const int *group,
                   const sc_group_label *label, int ngroups, sc_err *err) {
    sc_fig *fig = NULL;
    int rc = sc_fig_create(&fig, 1400, 560, err);
    if (rc != SC_OK) return rc;
    /* x (n), y (n), curve (n, 3), sd (n), and per point its kind and label */
    double *x = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1) * 8), *y = x ? x + n : NULL;
    double *curve = x ? x + 2 * n : NULL, *sd = x ? x + 5 * n : NULL, *fx = x ? x + 6 * n : NULL;
    double *fy = x ? x + 7 * n : NULL;
    int *pk = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    const char **pl = malloc(sizeof(char *) * (size_t)(n > 0 ? n : 1));
    if (!x || !pk || !pl) {
        free(x);
        free(pk);
        free(pl);
        sc_fig_free(fig);
        return sc_errf(err, SC_ENOMEM, "compare: out of memory");
    }
    /* panel 1: test error (M samples) against MFLOPs per image; a group's mean with +- sd */
    int np = 0;
    if (group) {
        for (int g = 0; g < ngroups; g++) {
            double m, s0;
            int k = 0, first = -1;
            for (int i = 0; i < n; i++)
                if (group[i] == g) {
                    if (first < 0) first = i;
                    fx[k] = runs[i].flops_infer / 1e6;
                    fy[k++] = runs[i].err_mc;
                }
            if (first < 0) continue;
            sc_mean_sd(fx, k, &x[np], &s0);
            sc_mean_sd(fy, k, &m, &s0);
            y[np] = m;
            sd[np] = k > 1 ? s0 : NAN;
            pk[np] = kind_index(runs[first].kind);
            pl[np++] = label[g].text;
        }
    } else {
        for (int i = 0; i < n; i++) {
            x[np] = runs[i].flops_infer / 1e6;
            y[np] = runs[i].err_mc;
            sd[np] = NAN;
            pk[np] = kind_index(runs[i].kind);
            pl[np++] = runs[i].label;
        }
    }
    double x0 = 1, x1 = 10, y0 = 0, y1 = 1;
    sc_fig_range(x, np, 1, &x0, &x1);
    sc_fig_range(y, np, 0, &y0, &y1);
    for (int i = 0; i < np; i++)
        if (isfinite(sd[i]) && y[i] + sd[i] > y1) y1 = y[i] + sd[i];
    sc_axes a;
    sc_axes_init(&a, fig, 0, 30, 700, 530, x0, x1, 1, 0.0, y1 * 1.15 < 100 ? y1 * 1.15 : 100, 0);
    sc_axes_draw(&a, group ? "test error vs compute (mean and sd over seeds)" : "test error vs compute (runs)",
                 "MFLOPs per image (inference, analytic; log scale)", "test error (%), M samples", NULL, 0);
    sc_labels placed;
    memset(&placed, 0, sizeof placed);
    for (int i = 0; i < np; i++) {
        if (isfinite(sd[i])) {
            /* the error bar: one sd each way, with caps 3% of the x value wide */
            const double bx[2] = {x[i], x[i]}, by[2] = {y[i] - sd[i], y[i] + sd[i]};
            sc_axes_line(&a, bx, by, 2, sc_fig_color(pk[i]), 1.5, 0);
            for (int e = 0; e < 2; e++) {
                const double cx2[2] = {x[i] * 0.97, x[i] * 1.03}, cy2[2] = {by[e], by[e]};
                sc_axes_line(&a, cx2, cy2, 2, sc_fig_color(pk[i]), 1.5, 0);
            }
        }
        sc_axes_marker(&a, x[i], y[i], (sc_mark)pk[i], sc_fig_color(pk[i]), 12);
    }
    sc_legend_entry e[NKINDS];
    char etext[NKINDS][64];
    sc_axes_legend(&a, e, kind_legend(runs, n, e, etext, 0), -1, x, y, np, &placed);
    for (int i = 0; i < np; i++) sc_axes_label(&a, &placed, x[i], y[i], pl[i], sc_fig_color(pk[i]));
    free(pk);
    free(pl);

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
    sc_axes_legend(&b, e, kind_legend(runs, n, e, etext, 1), 2, NULL, NULL, 0, &placed);
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
        /* with groups: each group named once (its runs share their settings, so their curve) */
        size_t len = (size_t)snprintf(lab, sizeof lab, "%s", group ? label[group[i]].text : runs[i].label);
        for (int j = i + 1; j < n && len < sizeof lab; j++) {
            if (kind_index(runs[j].kind) != k || memcmp(curve + 3 * j, curve + 3 * i, 3 * sizeof(double))) continue;
            int named = 0;
            for (int q = 0; group && q < j && !named; q++)
                named = group[q] == group[j] && kind_index(runs[q].kind) == k &&
                        !memcmp(curve + 3 * q, curve + 3 * i, 3 * sizeof(double));
            if (!named)
                len += (size_t)snprintf(lab + len, sizeof lab - len, ", %s", group ? label[group[j]].text : runs[j].label);
        }
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
             s.config.canvas, s.canvas_h > 0 ? s.canvas_h : s.canvas_side, s.canvas_side, ne);
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
    const sc_model_ops *kops = sc_model_ops_named(s.kind);
    int stochastic = kops && kops->caps & SC_KIND_STOCHASTIC;
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
