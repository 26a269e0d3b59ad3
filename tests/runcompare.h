/* runcompare.h - comparing two runs' files in the tests: the checkpoints'
 * parameters, moments and state byte for byte, and the run logs' tables
 * apart from times and speeds. Static functions for the including test
 * (test_runlog_resume.c, test_mpi.c); needs testutil.h's tmpdir and Check.
 */
#ifndef SACCADE_TESTS_RUNCOMPARE_H
#define SACCADE_TESTS_RUNCOMPARE_H

#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/checkpoint.h"
#include "experiments/train.h"
#include "tests/testutil.h"

__attribute__((unused)) static void in_tmp(char *out, size_t n, const char *name) {
    ck_assert_int_lt(snprintf(out, n, "%s/%s", tmpdir, name), (int)n);
}

__attribute__((unused)) static void same_checkpoints(const char *a_log, const char *b_log) {
    char pa[700], pb[700], ka[800], kb[800];
    in_tmp(pa, sizeof pa, a_log);
    in_tmp(pb, sizeof pb, b_log);
    ck_assert_int_eq(sc_run_checkpoint_name(pa, ka, sizeof ka), 0);
    ck_assert_int_eq(sc_run_checkpoint_name(pb, kb, sizeof kb), 0);
    sc_ckpt a, b;
    sc_err err = {0};
    ck_assert_msg(sc_ckpt_load(ka, SC_CKPT_ALL, &a, &err) == SC_OK, "%s", err.msg);
    ck_assert_msg(sc_ckpt_load(kb, SC_CKPT_ALL, &b, &err) == SC_OK, "%s", err.msg);
    ck_assert_uint_eq(a.n, b.n);
    ck_assert_msg(!memcmp(a.params, b.params, sizeof(float) * a.n), "%s vs %s: parameters differ", a_log, b_log);
    ck_assert_msg(!memcmp(a.best, b.best, sizeof(float) * a.n), "%s vs %s: best parameters differ", a_log, b_log);
    ck_assert_msg(!memcmp(a.m, b.m, sizeof(float) * a.n), "%s vs %s: first moments differ", a_log, b_log);
    ck_assert((a.v == NULL) == (b.v == NULL));
    if (a.v) ck_assert_msg(!memcmp(a.v, b.v, sizeof(float) * a.n), "%s vs %s: second moments differ", a_log, b_log);
    ck_assert((a.ema == NULL) == (b.ema == NULL));
    if (a.ema)
        ck_assert_msg(!memcmp(a.ema, b.ema, sizeof(float) * a.n), "%s vs %s: parameter averages differ", a_log, b_log);
    const sc_ckpt_state *x = &a.st, *y = &b.st;
    ck_assert_int_eq(x->epoch, y->epoch);
    ck_assert_int_eq(x->batch_in_epoch, 0);
    ck_assert_int_eq(y->batch_in_epoch, 0);
    ck_assert_int_eq(x->step, y->step);
    ck_assert_int_eq(x->images_total, y->images_total);
    ck_assert(!memcmp(&x->rloc, &y->rloc, sizeof x->rloc));
    ck_assert(x->best_val_err == y->best_val_err && x->best_epoch == y->best_epoch && x->best_std == y->best_std);
    ck_assert(x->lr_cur == y->lr_cur && x->lr_best == y->lr_best && x->lr_bad_epochs == y->lr_bad_epochs);
    ck_assert(x->optim_t == y->optim_t && x->bad_epochs == y->bad_epochs);
    ck_assert(x->log_rows_train == y->log_rows_train && x->log_rows_eval == y->log_rows_eval &&
              x->log_rows_glimpses == y->log_rows_glimpses);
    ck_assert_msg(!memcmp(&x->baseline_ema, &y->baseline_ema, sizeof x->baseline_ema),
                  "%s vs %s: ema baselines differ (%.17g, %.17g)", a_log, b_log, x->baseline_ema, y->baseline_ema);
    const int is_ema = a.config.baseline && a.config.reinforce && !strcmp(a.config.baseline_kind, "ema");
    ck_assert_msg((isnan(x->baseline_ema) ? 0 : 1) == is_ema, "%s: ema baseline %.17g with baseline_kind %s",
                  a_log, x->baseline_ema, a.config.baseline_kind);
    sc_ckpt_free(&a);
    sc_ckpt_free(&b);
}

/* The raw bytes of dataset name, and its element count. */
static char *raw(hid_t f, const char *name, size_t *bytes) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "%s missing", name);
    hid_t ft = H5Dget_type(d), mt = H5Tget_native_type(ft, H5T_DIR_ASCEND), s = H5Dget_space(d);
    hssize_t np = H5Sget_simple_extent_npoints(s);
    *bytes = (size_t)np * H5Tget_size(mt);
    char *buf = malloc(*bytes + 1);
    if (np > 0) ck_assert(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Sclose(s); H5Tclose(mt); H5Tclose(ft); H5Dclose(d);
    return buf;
}

static hid_t open_log(const char *name) {
    char p[700];
    in_tmp(p, sizeof p, name);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
    H5Pclose(fapl);
    ck_assert_msg(f >= 0, "cannot open %s", p);
    return f;
}

typedef struct cmp_ctx {
    hid_t a, b;
    const char *group;
    int compared;
} cmp_ctx;

static herr_t cmp_cb(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    (void)g; (void)info;
    cmp_ctx *c = data;
    static const char *const skip[] = {"wall_time", "images_per_s", "epoch_seconds", "images", "labels", "index",
                                       "us_per_image", "train_seconds",
                                       /* the RAM's REINFORCE gradient variance is over the rows of the
                                        * process that logs (docs/runlog.md): ranks see fewer than threads */
                                       "rf_grad_var"};
    char p[256];
    snprintf(p, sizeof p, "%s/%s", c->group, name);
    H5O_info_t oi;
    ck_assert(H5Oget_info_by_name(c->a, p, &oi, H5P_DEFAULT) >= 0);
    if (oi.type != H5O_TYPE_DATASET) return 0;
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (!strcmp(name, skip[i])) return 0;
    size_t na, nb;
    char *x = raw(c->a, p, &na), *y = raw(c->b, p, &nb);
    ck_assert_msg(na == nb, "/%s: %zu bytes against %zu", p, na, nb);
    ck_assert_msg(!memcmp(x, y, na), "/%s differs", p);
    free(x);
    free(y);
    c->compared++;
    return 0;
}

/* The tables that follow training are identical, apart from times and speeds;
 * with_test: the test rows too (runs of the same sessions). */
__attribute__((unused)) static void same_logs_of(const char *a_log, const char *b_log, int with_test) {
    cmp_ctx c = {open_log(a_log), open_log(b_log), NULL, 0};
    static const char *const groups[] = {"train", "eval", "glimpses", "eval/test"};
    for (int i = 0; i < 3 + (with_test != 0); i++) {
        c.group = groups[i];
        if (H5Lexists(c.a, groups[i], H5P_DEFAULT) <= 0) {  /* /glimpses of an fc run */
            ck_assert(!strcmp(groups[i], "glimpses") && H5Lexists(c.b, groups[i], H5P_DEFAULT) <= 0);
            continue;
        }
        hsize_t idx = 0;
        ck_assert(H5Literate_by_name(c.a, groups[i], H5_INDEX_NAME, H5_ITER_NATIVE, &idx, cmp_cb, &c,
                                     H5P_DEFAULT) >= 0);
    }
    ck_assert_int_ge(c.compared, 25);  /* /train and /eval at least (fc runs have no /glimpses) */
    H5Fclose(c.a);
    H5Fclose(c.b);
}

__attribute__((unused)) static void same_logs(const char *a_log, const char *b_log) { same_logs_of(a_log, b_log, 0); }

#endif
