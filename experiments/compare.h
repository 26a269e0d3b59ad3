/* compare.h - `saccade compare` and `saccade plot`: what hard attention gains
 * and pays against soft attention, self-attention and a fully connected
 * network, read from finished run logs.
 *
 * compare: one row per run (model, data, glimpses, test error with M=1 and
 * M samples, analytic MFLOPs and input pixels per image, measured inference
 * time, parameters, training time, epochs), as a Markdown table; and a PNG
 * of two panels: test error against MFLOPs per image (log x), one marker per
 * run; and the analytic compute per image of each run's settings on 28, 60
 * and 100-pixel canvases (hard attention stays flat, soft attention grows
 * with its number of locations, fc with the pixels, self-attention with the
 * square of its tokens).
 * plot: a run's learning curves (training loss terms, training reward,
 * validation error by epoch, the test error).
 *
 * Front-end code: reads run logs only (runlog.h), returns errors that name
 * the file; main() prints them.
 */
#ifndef SACCADE_EXPERIMENTS_COMPARE_H
#define SACCADE_EXPERIMENTS_COMPARE_H

#include <stdint.h>
#include <stdio.h>

#include "experiments/config.h"
#include "nets/err.h"

/* What compare shows of one run. */
typedef struct sc_run_summary {
    char path[1024];
    char label[128];         /* the file name without folder and .h5 */
    char kind[16];           /* /@model_kind ("ram" for logs older than the attribute) */
    sc_config config;        /* /@config, the resolved configuration */
    int canvas_side, num_classes, steps_per_epoch;  /* canvas_side: the width */
    int canvas_h, channels;  /* /@canvas_height, /@channels (logs before them: canvas_side, 1) */
    int64_t params;
    double flops_infer, flops_train, pixels;  /* analytic, per image */
    int has_test;            /* a session ended: the fields below are its last /eval/test row */
    int epochs;              /* epochs completed */
    int best_epoch;
    double err_m1, err_mc;   /* test error in %, one sample and M samples */
    int mc_samples;          /* M (1 for the deterministic models) */
    double us_per_image;     /* measured inference time; NaN when not logged */
    double train_seconds;    /* seconds in training batches; NaN when unknown */
    int end_reason;          /* the last /eval/test row's SC_END_* (0 without one, or in older logs) */
    char group[128];         /* the sweep point the run belongs to ("" for a loose log); set by the caller */
} sc_run_summary;

/* Reads the summary of the run log at path. Refuses, naming the file: what
 * sc_runlog_inspect refuses (missing, not HDF5, not a run log, another
 * version, ...), a damaged log, and, when need_test is set, a run without
 * test results (no session has ended yet). */
int sc_run_summary_read(const char *path, sc_run_summary *s, int need_test, sc_err *err);

/* The Markdown table of runs. */
void sc_compare_table(FILE *out, const sc_run_summary *runs, int n);

/* Groups of runs: runs whose resolved configs are equal but for train.seed,
 * train.threads and the [log] keys (what a run records, not what it learns)
 * form one group. group[i] receives run i's group (0..count-1, numbered in
 * order of first appearance); label (count rows) each group's name: the
 * runs' sweep point (sc_run_summary.group) when the first run has one, else
 * the keys whose values tell the groups apart ("model.core=lstm,train.lr=0.003",
 * at most three keys), else the first run's label. Returns the count, or -1
 * when out of memory. */
typedef struct sc_group_label {
    char text[128];
} sc_group_label;
int sc_compare_group(const sc_run_summary *runs, int n, int *group, sc_group_label *label);

/* Mean and sample standard deviation (n - 1 in the denominator; 0 for one
 * value) of the finite values among v[0..n-1]; returns how many there were. */
int sc_mean_sd(const double *v, int n, double *mean, double *sd);

/* The Markdown table of groups: model, data, seeds, n, mean +- sd (n) over
 * the group's runs of test error M=1 and M, MFLOPs per image, us per image
 * and training time. */
void sc_compare_group_table(FILE *out, const sc_run_summary *runs, int n, const int *group,
                            const sc_group_label *label, int ngroups);

/* Analytic FLOPs per image (inference) of run r's model settings on a W x W
 * canvas: the RAM's glimpses are unchanged; the soft model keeps its grid
 * spacing (grid' = round(grid W / W_run), at least 1, at most min(64, W)),
 * returned in *grid when non-NULL; fc reads W^2 pixels; selfattn keeps its
 * patch, so its tokens grow as W^2 and its attention as W^4 (sc_cost_selfattn
 * rounds W / patch up). */
double sc_compare_flops_at(const sc_run_summary *r, int W, int *grid);

/* The compare figure as a PNG at png_path (written via png_path.tmp). With
 * groups (group non-NULL, see sc_compare_group), the first panel has one
 * marker per group at the mean, with error bars of one standard deviation
 * when the group has more than one run, labelled by the group. */
int sc_compare_png(const char *png_path, const sc_run_summary *runs, int n, const int *group,
                   const sc_group_label *label, int ngroups, sc_err *err);

/* The learning curves of the run log at run_path as a PNG at png_path.
 * Refuses what sc_run_summary_read refuses, and a run without a completed
 * epoch (nothing to plot). */
int sc_plot_png(const char *run_path, const char *png_path, sc_err *err);

#endif
