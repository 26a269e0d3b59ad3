/* fuzz_runlog.c - libFuzzer harness for the run-log readers: what `saccade
 * train --resume`, `eval`, `compare` and `plot` do with a log
 * (experiments/runlog.c, experiments/compare.c).
 *
 * The input is a recipe (tests/fuzz/fuzz_h5.h) over a real run log:
 *   byte 0  bits 0-1 the template (ram, soft, fc, colour: fuzz_templates.h); bit 3 also resume it
 *           (sc_runlog_resume, which writes); bit 4 compare's need_test; bits
 *           2, 5, 6 and 7 all set, and bits 0 and 1 of byte 1: also plot it
 *           (sc_plot_png), when the input's FNV-1a hash is 0 modulo 16.
 *           Drawing the PNG takes ten times the rest, and the flag bits alone
 *           did not keep it rare: the corpus gathers plotting inputs (they
 *           reach more code) and mutants keep their first bytes, so a quarter
 *           of all inputs plotted; the hash changes with every mutation.
 *   byte 1  the column sc_runlog_read_doubles reads besides compare's, and the
 *           rows a resume keeps
 *   then    mutation records
 * Then, as the commands do: sc_runlog_kind, sc_runlog_inspect,
 * sc_runlog_open_read + sc_runlog_read_doubles, sc_run_summary_read, and
 * (by the flags) sc_plot_png and sc_runlog_resume + sc_runlog_close. Every
 * failure must be a negative code with one line naming the file; no HDF5 id
 * may stay open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "experiments/compare.h"
#include "experiments/runlog.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/fuzz_h5.h"
#include "tests/fuzz/fuzz_templates.h"

static fz_h5_template g_t[FZ_LOG_KINDS];
static char *g_config[FZ_LOG_KINDS];
static const char *g_strings[FZ_LOG_KINDS + 1 + FZ_NAME_STRINGS];
static char g_log[300], g_png[300], g_tmp[320];
static FILE *g_null;

static const char *const COLUMNS[] = {
    "train/step", "train/epoch", "train/wall_time", "train/xent", "train/reward", "train/att_entropy",
    "eval/epoch", "eval/val_err_m1", "eval/is_best", "eval/test/err_m1", "eval/test/reason",
    "eval/test/mc_samples", "checkpoints/step", "sessions/start_unix", "sessions/end_reason",
    "sessions/command_line", "glimpses/epoch", "glimpses/probs", "glimpses/images", "glimpses/grid",
    "no/such", "train", "", "train/", "/train/step", "train//step",
};
#define NCOLUMNS ((int)(sizeof COLUMNS / sizeof COLUMNS[0]))

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_h5_init();
    g_null = fopen("/dev/null", "w");
    if (!g_null) fz_fail("cannot open /dev/null");
    const char *dir = fz_dir("fuzz_runlog");
    fz_path(g_log, sizeof g_log, dir, "log.h5");
    fz_path(g_png, sizeof g_png, dir, "plot.png");
    snprintf(g_tmp, sizeof g_tmp, "%s.tmp", g_png);
    for (int k = 0; k < FZ_LOG_KINDS; k++) {
        sc_config c;
        fz_template_config(&c, 0, k);
        g_config[k] = sc_config_to_string(&c);
        g_strings[k] = g_config[k];
    }
    g_strings[FZ_LOG_KINDS] = FZ_RUN_ID;
    for (int k = 0; k < FZ_NAME_STRINGS; k++) g_strings[FZ_LOG_KINDS + 1 + k] = fz_name_strings[k];
    for (int k = 0; k < FZ_LOG_KINDS; k++) {
        char path[300];
        fz_path(path, sizeof path, dir, "template.h5");
        unlink(path);
        fz_make_runlog(path, k);
        fz_h5_template_load(&g_t[k], path, g_strings, FZ_LOG_KINDS + 1 + FZ_NAME_STRINGS);
        unlink(path);
    }
    return 0;
}

static void read_columns(int which) {
    sc_err err = {0};
    int64_t f = sc_runlog_open_read(g_log, &err);
    fz_check_error("sc_runlog_open_read", f < 0 ? (int)f : 0, &err, g_log);
    if (f < 0) return;
    const char *names[3] = {COLUMNS[which % NCOLUMNS], "eval/test/err_mc", "train/reinforce"};
    for (int i = 0; i < 3; i++) {
        double *v = NULL;
        size_t n = 0;
        sc_err e = {0};
        int rc = sc_runlog_read_doubles(f, g_log, names[i], (which >> 5) & 1, &v, &n, &e);
        fz_check_error("sc_runlog_read_doubles", rc, &e, g_log);
        if (rc != SC_OK && v) fz_fail("sc_runlog_read_doubles failed but returned data");
        /* every element is there to read */
        double sum = 0;
        for (size_t k = 0; k < n; k++) sum += v[k];
        (void)sum;
        free(v);
    }
    H5Fclose((hid_t)f);
}

/* FNV-1a, 32 bits */
static uint32_t fnv1a(const uint8_t *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    const int kind = data[0] % 4 % FZ_LOG_KINDS,
              plot = (data[0] & 0xe4) == 0xe4 && (data[1] & 3) == 3 && fnv1a(data, size) % 16 == 0,
              resume = (data[0] >> 3) & 1,
              need_test = (data[0] >> 4) & 1, param = data[1];
    unlink(g_log);
    fz_h5_build(g_log, &g_t[kind], data + 2, size - 2);

    sc_err err = {0};
    int rc = sc_runlog_kind(g_log, &err);
    fz_check_error("sc_runlog_kind", rc, &err, g_log);
    if (rc > 2) fz_fail("sc_runlog_kind returned %d", rc);

    sc_runlog_info li;
    memset(&err, 0, sizeof err);
    rc = sc_runlog_inspect(g_log, &li, &err);
    fz_check_error("sc_runlog_inspect", rc, &err, g_log);
    if (rc == SC_OK && (!memchr(li.run_id, '\0', sizeof li.run_id) || !memchr(li.checkpoint, '\0', sizeof li.checkpoint)))
        fz_fail("sc_runlog_inspect: unterminated strings");

    read_columns(param);

    sc_run_summary s;
    memset(&err, 0, sizeof err);
    rc = sc_run_summary_read(g_log, &s, need_test, &err);
    fz_check_error("sc_run_summary_read", rc, &err, g_log);
    if (rc == SC_OK) {
        sc_compare_table(g_null, &s, 1);  /* compare prints what it read */
        if (!memchr(s.kind, '\0', sizeof s.kind) || !memchr(s.label, '\0', sizeof s.label)) fz_fail("summary strings");
    }

    if (plot) {
        memset(&err, 0, sizeof err);
        rc = sc_plot_png(g_log, g_png, &err);
        fz_check_error("sc_plot_png", rc, &err, g_log);
        unlink(g_png);
        unlink(g_tmp);
    }
    fz_h5_check_closed("the readers");

    if (resume) {
        sc_runlog_rows keep = {param % 8, (param / 8) % 3, (param / 24) % 4};
        sc_runlog *L = NULL;
        memset(&err, 0, sizeof err);
        rc = sc_runlog_resume(&L, g_log, &keep, NULL, "saccade train --resume", g_config[kind], 1, 2, 30, &err);
        fz_check_error("sc_runlog_resume", rc, &err, g_log);
        if ((rc == SC_OK) != (L != NULL)) fz_fail("sc_runlog_resume: rc %d with log %p", rc, (void *)L);
        sc_runlog_close(L);
        fz_h5_check_closed("sc_runlog_resume");
    }
    unlink(g_log);
    return 0;
}
