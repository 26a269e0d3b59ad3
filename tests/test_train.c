/* test_train.c - the trainer, checkpoints and the saccade command, end to end.
 *
 * - checkpoints: round trip of config, state and every tensor set; every bad
 *   input (missing, empty, not HDF5, truncated at many lengths, a flipped bit in
 *   a tensor, another kind of HDF5 file, another schema version, another shape,
 *   unwritable folder) is refused with a message naming the file, and a failed
 *   save leaves the previous checkpoint as it was;
 * - sc_train on a small Fashion-MNIST subset (Debian's dataset-fashion-mnist):
 *   learns well above chance, and two runs with the same seed and threads give
 *   bit-identical parameters;
 * - the saccade command: bad configs and options exit non-zero with the
 *   file:line message; train + eval through the command line.
 * The run log itself, resume and crashes: test_runlog.c, test_runlog_resume.c.
 */
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "experiments/checkpoint.h"
#include "experiments/runlog.h"
#include "experiments/train.h"
#include "tests/ckptsame.h"
#include "tests/testutil.h"

/* a small model, its config and an optimizer with nonzero moments */
typedef struct small {
    sc_config c;
    sc_ram *m;
    sc_optim opt;
    float *best;
    sc_ckpt_state st;
} small;

static small make_small(int hidden, uint64_t seed) {
    small s;
    memset(&s, 0, sizeof s);
    sc_config_defaults(&s.c);
    s.c.hidden = hidden;
    s.c.glimpse_hidden = 8; s.c.loc_hidden = 8; s.c.glimpse_out = 16;
    s.c.seed = seed;
    sc_ram_cfg rc;
    sc_ram_cfg_from_config(&rc, &s.c, 28, 10, 4);
    ck_assert_int_eq(sc_ram_create(&s.m, &rc, NULL), SC_OK);
    sc_rng r;
    sc_rng_seed(&r, seed);
    sc_ram_init_params(s.m, &r);
    sc_params *ps = sc_ram_params(s.m);
    ck_assert_int_eq(sc_optim_create(&s.opt, SC_OPT_ADAM, ps->n, NULL), SC_OK);
    s.best = malloc(sizeof(float) * ps->n);
    for (size_t i = 0; i < ps->n; i++) {
        s.opt.m[i] = sc_rng_normal(&r);
        s.opt.v[i] = sc_rng_uniform(&r);
        s.best[i] = sc_rng_normal(&r);
    }
    s.opt.t = 1234;
    snprintf(s.st.run_id, sizeof s.st.run_id, "0123456789abcdef");
    s.st.epoch = 7; s.st.batch_in_epoch = 3; s.st.step = 999; s.st.images_total = 99999;
    s.st.best_val_err = 12.5; s.st.best_epoch = 6; s.st.best_std = 0.07f; s.st.bad_epochs = 1;
    sc_rng_derive(&s.st.rloc, seed, 3);
    (void)sc_rng_normal(&s.st.rloc);  /* leaves a spare */
    s.st.lr_cur = 3e-4f; s.st.lr_best = 11.0; s.st.lr_bad_epochs = 2; s.st.optim_t = 1234;
    s.st.epoch_acc.xent = 1.5; s.st.epoch_acc.batches = 3; s.st.row_acc.reward = 0.25;
    s.st.log_rows_train = 40; s.st.log_rows_eval = 7; s.st.log_rows_glimpses = 8;
    return s;
}

static void free_small(small *s) {
    sc_ram_free(s->m);
    sc_optim_free(&s->opt);
    free(s->best);
}

static int save_small(const char *path, small *s, sc_err *err) {
    return sc_ckpt_save(path, "run.h5", &s->c, &s->st, sc_ram_params(s->m), s->best, &s->opt, err);
}

START_TEST(checkpoint_round_trip) {
    make_tmpdir();
    small a = make_small(12, 5);
    char path[600];
    snprintf(path, sizeof path, "%s/m.ckpt.h5", tmpdir);
    a.c.lr = 0.0125f;
    sc_err err = {0};
    ck_assert_msg(save_small(path, &a, &err) == SC_OK, "%s", err.msg);
    sc_ckpt ck;
    ck_assert_msg(sc_ckpt_load(path, SC_CKPT_ALL, &ck, &err) == SC_OK, "%s", err.msg);
    ck_assert_float_eq(ck.config.lr, 0.0125f);
    ck_assert_int_eq(ck.config.hidden, 12);
    ck_assert_str_eq(ck.log_name, "run.h5");
    ck_assert_str_eq(ck.optimizer, "adam");
    /* the state, field by field (written_unix is set by the save) */
    sc_ckpt_state want = a.st;
    want.written_unix = ck.st.written_unix;
    ck_assert(ck.st.written_unix > 1e9);
    ck_assert(!memcmp(&want, &ck.st, sizeof want));
    /* every tensor set, bit for bit, through the model's layout */
    sc_params *ps = sc_ram_params(a.m);
    ck_assert_int_eq(sc_ckpt_check_params(&ck, ps, path, &err), SC_OK);
    float *buf = calloc(ps->n, sizeof(float));
    const float *sets[4] = {ck.params, ck.best, ck.m, ck.v}, *orig[4] = {ps->data, a.best, a.opt.m, a.opt.v};
    for (int k = 0; k < 4; k++) {
        memset(buf, 0, sizeof(float) * ps->n);
        sc_ckpt_unpack(&ck, sets[k], ps, buf);
        for (int i = 0; i < ps->count; i++)
            ck_assert(!memcmp(buf + ps->p[i].offset, orig[k] + ps->p[i].offset, sizeof(float) * sc_params_size(ps, i)));
    }
    free(buf);
    sc_ckpt_free(&ck);
    /* the header alone reads no tensors */
    ck_assert_int_eq(sc_ckpt_load(path, SC_CKPT_HEADER, &ck, &err), SC_OK);
    ck_assert_ptr_null(ck.params);
    ck_assert_int_eq(ck.count, ps->count);
    sc_ckpt_free(&ck);
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    free_small(&a);
    remove_tmpdir();
}
END_TEST

/* loading `bytes` as a checkpoint must fail with code and a message containing
 * path and `what`, and must leave nothing behind */
static void expect_refused(const char *path, const void *bytes, size_t n, int code, const char *what) {
    spit(path, bytes, n);
    sc_ckpt ck;
    sc_err err = {0};
    int rc = sc_ckpt_load(path, SC_CKPT_ALL, &ck, &err);
    ck_assert_msg(rc == code, "expected code %d for '%s' (%zu bytes), got %d (%s)", code, what, n, rc, err.msg);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message does not name the file: %s", err.msg);
    ck_assert_msg(strstr(err.msg, what) != NULL, "message '%s' does not say '%s'", err.msg, what);
    ck_assert_ptr_null(ck.params);
    sc_ckpt_free(&ck);
    size_t m;
    char *after = slurp(path, &m);
    ck_assert(m == n && !memcmp(after, bytes, n));
    free(after);
}

/* the file offset of the first chunk of dataset name in path, and its size */
static void chunk_of(const char *path, const char *name, haddr_t *addr, hsize_t *size) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(f >= 0);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert(d >= 0);
    hsize_t off[2];
    unsigned mask;
    hid_t sp = H5Dget_space(d);
    ck_assert(H5Dget_chunk_info(d, sp, 0, off, &mask, addr, size) >= 0);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
}

START_TEST(checkpoint_bad_input) {
    make_tmpdir();
    small a = make_small(12, 5), other = make_small(14, 5);
    char good[600], bad[600];
    snprintf(good, sizeof good, "%s/good.ckpt.h5", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.ckpt.h5", tmpdir);
    sc_err err = {0};
    ck_assert_int_eq(save_small(good, &a, &err), SC_OK);
    size_t n;
    unsigned char *bytes = (unsigned char *)slurp(good, &n);
    ck_assert_uint_gt(n, 1000);
    sc_ckpt ck;

    /* missing */
    ck_assert_int_eq(sc_ckpt_load("/nonexistent/x.ckpt.h5", SC_CKPT_ALL, &ck, &err), SC_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/x.ckpt.h5"));
    ck_assert_ptr_nonnull(strstr(err.msg, "No such file"));
    sc_ckpt_free(&ck);
    /* empty, not HDF5 */
    expect_refused(bad, "", 0, SC_EFORMAT, "empty file");
    expect_refused(bad, "hello world, not a checkpoint", 29, SC_EFORMAT, "not an HDF5 file");
    /* truncated at many lengths */
    for (size_t cut = 1; cut < n; cut += n / 29 + 1)
        expect_refused(bad, bytes, cut, SC_EFORMAT, cut < 8 ? "not an HDF5 file" : "truncated or corrupt");
    /* one flipped bit inside a tensor: the Fletcher-32 checksum catches it */
    haddr_t addr;
    hsize_t csize;
    chunk_of(good, "params/core.Wh", &addr, &csize);
    ck_assert(addr + csize <= n && csize > 8);
    unsigned char *v = malloc(n);
    memcpy(v, bytes, n);
    v[addr + csize / 2] ^= 0x10;
    expect_refused(bad, v, n, SC_EFORMAT, "checksum");
    free(v);
    /* a valid file of another shape: refused when matched against the model */
    ck_assert_int_eq(sc_ckpt_load(good, SC_CKPT_ALL, &ck, &err), SC_OK);
    ck_assert_int_eq(sc_ckpt_check_params(&ck, sc_ram_params(other.m), good, &err), SC_EFORMAT);
    ck_assert_msg(strstr(err.msg, "core.Wx") && strstr(err.msg, good), "%s", err.msg);
    sc_ckpt_free(&ck);
    /* HDF5 files of another kind or version */
    hid_t f = H5Fcreate(bad, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert(f >= 0);
    H5Fclose(f);
    ck_assert_int_eq(sc_ckpt_load(bad, SC_CKPT_ALL, &ck, &err), SC_EFORMAT);
    ck_assert_msg(strstr(err.msg, "not a saccade checkpoint") && strstr(err.msg, bad), "%s", err.msg);
    sc_ckpt_free(&ck);
    spit(bad, bytes, n);
    f = H5Fopen(bad, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert(f >= 0);
    hid_t at = H5Aopen(f, "schema_version", H5P_DEFAULT);
    int ver = 99;
    ck_assert(at >= 0 && H5Awrite(at, H5T_NATIVE_INT, &ver) >= 0);
    H5Aclose(at);
    H5Fclose(f);
    ck_assert_int_eq(sc_ckpt_load(bad, SC_CKPT_ALL, &ck, &err), SC_EFORMAT);
    ck_assert_msg(strstr(err.msg, "version 99") && strstr(err.msg, "reads version 1"), "%s", err.msg);
    sc_ckpt_free(&ck);

    /* unwritable folder: an error naming it, and no file */
    char nodir[700];
    snprintf(nodir, sizeof nodir, "%s/missing-folder/m.ckpt.h5", tmpdir);
    ck_assert_int_eq(save_small(nodir, &a, &err), SC_EIO);
    ck_assert_msg(strstr(err.msg, "missing-folder") && strstr(err.msg, "No such file"), "%s", err.msg);
    ck_assert_int_ne(access(nodir, F_OK), 0);
    /* a failed save leaves the previous checkpoint as it was: the temporary
     * name taken by a folder makes the write fail */
    char tmpname[700];
    snprintf(tmpname, sizeof tmpname, "%s.tmp", good);
    ck_assert_int_eq(mkdir(tmpname, 0700), 0);
    a.st.epoch = 8;
    ck_assert_int_eq(save_small(good, &a, &err), SC_EIO);
    ck_assert_msg(strstr(err.msg, "intact"), "%s", err.msg);
    size_t n2;
    char *after = slurp(good, &n2);
    ck_assert(n2 == n && !memcmp(after, bytes, n));
    free(after);
    rmdir(tmpname);
    free(bytes);
    free_small(&a);
    free_small(&other);
    remove_tmpdir();
}
END_TEST

static void fashion_config(sc_config *c) {
    sc_config_defaults(c);
    snprintf(c->dataset, sizeof c->dataset, "fashion");
    c->max_train = 5000;
    c->val_size = 500;
    c->epochs = 3;
    c->glimpses = 4;
    c->scales = 2;
    c->threads = 1;
    c->mc_samples = 2;
    c->batch_size = 64;
    c->lr = 3e-3f;
}

START_TEST(train_learns_and_is_deterministic) {
    if (!have_fashion()) return;
    make_tmpdir();
    sc_config c;
    fashion_config(&c);
    char p1[600], p2[600], p3[600], k1[700], k2[700], k3[700];
    snprintf(p1, sizeof p1, "%s/a.h5", tmpdir);
    snprintf(p2, sizeof p2, "%s/b.h5", tmpdir);
    snprintf(p3, sizeof p3, "%s/c.h5", tmpdir);
    sc_train_opts o1 = {.log_path = p1, .quiet = 1}, o2 = {.log_path = p2, .quiet = 1},
                  o3 = {.log_path = p3, .quiet = 1};
    sc_train_result r1, r2;
    sc_err err = {0};
    ck_assert_msg(sc_train(&c, &o1, &r1, &err) == SC_OK, "%s", err.msg);
    ck_assert_msg(sc_train(&c, &o2, &r2, &err) == SC_OK, "%s", err.msg);
    ck_assert_int_eq(r1.epochs_run, 3);
    ck_assert_msg(r1.test_err_m1 < 55.0, "test error %.2f%% after 3 epochs (chance 90%%)", r1.test_err_m1);
    ck_assert(r1.best_val_err <= 100.0 && r1.best_epoch >= 1);
    ck_assert(r1.images_per_s > 0);
    /* same seed, same threads: the same numbers and the same bytes */
    ck_assert_double_eq(r1.test_err_m1, r2.test_err_m1);
    ck_assert_double_eq(r1.test_err_mc, r2.test_err_mc);
    ck_assert_int_eq(sc_run_checkpoint_name(p1, k1, sizeof k1), 0);
    ck_assert_int_eq(sc_run_checkpoint_name(p2, k2, sizeof k2), 0);
    ck_assert_int_eq(sc_run_checkpoint_name(p3, k3, sizeof k3), 0);
    ck_assert_str_eq(r1.checkpoint, k1);
    ck_assert(same_tensors(k1, k2));
    /* another seed gives other parameters */
    c.seed = 2;
    ck_assert_int_eq(sc_train(&c, &o3, &r2, &err), SC_OK);
    ck_assert(!same_tensors(k1, k3));
    remove_tmpdir();
}
END_TEST

/* The policy std's schedule: fixed without loc_std_final; linear from loc_std at step 0 to
 * loc_std_final at the last step; with loc_std_anneal = a, at step a (total - 1) and flat after. */
START_TEST(policy_std_schedule) {
    sc_config c;
    sc_config_defaults(&c);
    c.loc_std = 0.2f;
    ck_assert_float_eq(sc_policy_std(&c, 0, 1001), 0.2f);
    ck_assert_float_eq(sc_policy_std(&c, 1000, 1001), 0.2f);
    c.loc_std_final = 0.04f;
    ck_assert_float_eq_tol(sc_policy_std(&c, 0, 1001), 0.2f, 1e-7f);
    ck_assert_float_eq_tol(sc_policy_std(&c, 500, 1001), 0.12f, 1e-6f);
    ck_assert_float_eq_tol(sc_policy_std(&c, 1000, 1001), 0.04f, 1e-7f);
    c.loc_std_anneal = 0.25f;
    ck_assert_float_eq_tol(sc_policy_std(&c, 125, 1001), 0.12f, 1e-6f);
    ck_assert_float_eq_tol(sc_policy_std(&c, 250, 1001), 0.04f, 1e-7f);
    for (long s = 250; s <= 1000; s += 50) ck_assert_float_eq_tol(sc_policy_std(&c, s, 1001), 0.04f, 1e-7f);
    for (long s = 1; s <= 250; s++) ck_assert(sc_policy_std(&c, s, 1001) < sc_policy_std(&c, s - 1, 1001));
}
END_TEST

START_TEST(train_missing_data_is_an_error) {
    sc_config c;
    sc_config_defaults(&c);
    snprintf(c.data_dir, sizeof c.data_dir, "/nonexistent/mnist");
    sc_train_opts o = {.log_path = NULL, .quiet = 1};
    sc_train_result r;
    sc_err err = {0};
    ck_assert_int_ne(sc_train(&c, &o, &r, &err), SC_OK);
    ck_assert_msg(strstr(err.msg, "/nonexistent/mnist") != NULL, "%s", err.msg);
}
END_TEST

/* ---- the command line ---------------------------------------------------------- */

typedef struct cmd_out {
    int status;
    char *out, *err;
} cmd_out;

static cmd_out run_saccade(const char *args) {
    char cmd[2048], o[700], e[700];
    snprintf(o, sizeof o, "%s/stdout", tmpdir);
    snprintf(e, sizeof e, "%s/stderr", tmpdir);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/saccade' %s >'%s' 2>'%s' </dev/null", tmpdir, SACCADE_BINARY_DIR,
             args, o, e);
    int st = system(cmd);
    cmd_out r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(o, NULL), slurp(e, NULL)};
    return r;
}

static void free_out(cmd_out *r) { free(r->out); free(r->err); }

START_TEST(cli_rejects_bad_input) {
    make_tmpdir();
    char ini[700];
    snprintf(ini, sizeof ini, "%s/bad.ini", tmpdir);
    const char *text = "[model]\nglimpses = 6\nglimpse_size = 0\n";
    spit(ini, text, strlen(text));
    cmd_out r = run_saccade("train bad.ini");
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "bad.ini:3") != NULL, "stderr: %s", r.err);
    ck_assert_msg(strstr(r.out, "epoch") == NULL, "training started despite a bad config");
    free_out(&r);
    char good[700];
    snprintf(good, sizeof good, "%s/good.ini", tmpdir);
    spit(good, "[model]\nglimpses = 6\n", 20);
    r = run_saccade("train good.ini --set model.glimpse_size=8 --set train.epoch=3");
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "--set train.epoch=3") != NULL && strstr(r.err, "epochs") != NULL, "stderr: %s", r.err);
    free_out(&r);
    r = run_saccade("train good.ini --bogus");
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "--bogus") != NULL, "stderr: %s", r.err);
    free_out(&r);
    r = run_saccade("train missing.ini");
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "missing.ini") != NULL, "stderr: %s", r.err);
    free_out(&r);
    r = run_saccade("eval bad.ini");
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "bad.ini: not an HDF5 file") != NULL, "stderr: %s", r.err);
    free_out(&r);
    r = run_saccade("eval bad.ini --best --last");
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "--best or --last, not both") != NULL, "stderr: %s", r.err);
    free_out(&r);
    r = run_saccade("train good.ini --save x.model");
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "--out") != NULL, "stderr: %s", r.err);
    free_out(&r);
    r = run_saccade("frobnicate");
    ck_assert_int_eq(r.status, 2);
    free_out(&r);
    r = run_saccade("config --doc");
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "| model | glimpses |"));
    free_out(&r);
    remove_tmpdir();
}
END_TEST

/* `saccade <args>` (an eval) names the parameters it loads (`which`) and
 * prints the test figures e1 (M=1) and em (M). */
static void eval_reproduces(const char *args, const char *which, double e1, double em) {
    cmd_out r = run_saccade(args);
    ck_assert_msg(r.status == 0, "%s: status %d, stderr: %s", args, r.status, r.err);
    ck_assert_msg(strstr(r.out, which) != NULL, "%s: '%s' not in %s", args, which, r.out);
    double f1 = -2, fm = -2;
    const char *t = strstr(r.out, "test error on");
    ck_assert_msg(t && sscanf(t, "test error on 10000 images: %lf%% (M=1), %lf%%", &f1, &fm) == 2, "%s", r.out);
    ck_assert_double_eq_tol(f1, e1, 1e-9);
    ck_assert_double_eq_tol(fm, em, 1e-9);
    free_out(&r);
}

START_TEST(cli_train_then_eval) {
    if (!have_fashion()) return;
    make_tmpdir();
    char ini[700];
    snprintf(ini, sizeof ini, "%s/f.ini", tmpdir);
    const char *text = "[data]\ndataset = fashion\nmax_train = 1000\nval_size = 200\n"
                       "[model]\nglimpses = 3\nmc_samples = 2\n[train]\nepochs = 1\nthreads = 1\n";
    spit(ini, text, strlen(text));
    cmd_out r = run_saccade("train f.ini --out f.h5");
    ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "[model]"));          /* the resolved config */
    ck_assert_ptr_nonnull(strstr(r.out, "test error of the best parameters (epoch 1): "));
    ck_assert_ptr_nonnull(strstr(r.out, "(M=2)"));
    double e1 = -1, em = -1;
    const char *t = strstr(r.out, "test error of the best parameters (epoch 1): ");
    ck_assert_int_eq(sscanf(strchr(t, ':'), ": %lf%% (M=1), %lf%%", &e1, &em), 2);
    free_out(&r);
    char logp[700], ckp[700];
    snprintf(logp, sizeof logp, "%s/f.h5", tmpdir);
    snprintf(ckp, sizeof ckp, "%s/f.ckpt.h5", tmpdir);
    ck_assert_int_eq(access(logp, R_OK), 0);
    ck_assert_int_eq(access(ckp, R_OK), 0);
    /* eval of the saved best model reproduces the trainer's test figures */
    eval_reproduces("eval f.h5", "the best parameters, from epoch 1", e1, em);
    double f1 = -2;
    /* the checkpoint itself is accepted too */
    r = run_saccade("eval f.ckpt.h5 --samples 1");
    ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
    t = strstr(r.out, "test error");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(sscanf(t, "test error on 10000 images: %lf%% (M=1)", &f1), 1);
    ck_assert_double_eq_tol(f1, e1, 1e-9);
    free_out(&r);
    /* from the centre along the policy's mean every sample looks at the same
     * places: M=1 and M=2 agree; sampled, they are the figures above */
    r = run_saccade("eval f.h5 --set model.first_loc=center --set model.test_policy=mean");
    ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
    double g1 = -1, gm = -2;
    t = strstr(r.out, "test error");
    ck_assert_msg(t && sscanf(t, "test error on 10000 images: %lf%% (M=1), %lf%%", &g1, &gm) == 2, "%s", r.out);
    ck_assert_msg(g1 == gm, "mean policy from the centre: M=1 %.2f%% but M=2 %.2f%%", g1, gm);
    free_out(&r);
    eval_reproduces("eval f.h5 --set model.test_policy=sample", "the best parameters, from epoch 1", e1, em);

    /* [train] keep = last with ema: the run tests its last average, and eval
     * defaults to it; --best takes the best epoch's parameters instead */
    r = run_saccade("train f.ini --out g.h5 --set train.epochs=2 --set train.keep=last --set train.ema=0.9");
    ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
    t = strstr(r.out, "test error of the last parameter average (epoch 2): ");
    ck_assert_msg(t != NULL, "%s", r.out);
    ck_assert_int_eq(sscanf(strchr(t, ':'), ": %lf%% (M=1), %lf%%", &e1, &em), 2);
    free_out(&r);
    eval_reproduces("eval g.h5", "the latest parameter average ([train] ema), epoch 2", e1, em);
    r = run_saccade("eval g.h5 --best --samples 1");
    ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
    ck_assert_msg(strstr(r.out, "the best parameters, from epoch") != NULL, "%s", r.out);
    free_out(&r);
    remove_tmpdir();
}
END_TEST

/* ---- the non-finite guard -------------------------------------------------------- */

/* The last element of the numeric (as long long) or string column `name` of an
 * HDF5 file's dataset: numbers into *v, strings into buf. */
static void last_of(const char *path, const char *name, long long *v, char *buf, size_t n) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "%s does not open", path);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "%s: no %s", path, name);
    hid_t s = H5Dget_space(d);
    hsize_t dim = 0;
    ck_assert_int_eq(H5Sget_simple_extent_dims(s, &dim, NULL), 1);
    ck_assert(dim > 0);
    hsize_t at = dim - 1, one = 1;
    ck_assert(H5Sselect_hyperslab(s, H5S_SELECT_SET, &at, NULL, &one, NULL) >= 0);
    hid_t ms = H5Screate_simple(1, &one, NULL);
    if (buf) {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
        char *str = NULL;
        ck_assert(H5Dread(d, t, ms, s, H5P_DEFAULT, &str) >= 0);
        snprintf(buf, n, "%s", str ? str : "");
        H5free_memory(str);
        H5Tclose(t);
    } else {
        ck_assert(H5Dread(d, H5T_NATIVE_LLONG, ms, s, H5P_DEFAULT, v) >= 0);
    }
    H5Sclose(ms);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
}

/* Sets element 0 of the first tensor of the checkpoint's set `grp` (params,
 * best_params) to x, rewriting the dataset with HDF5 (its checksum stays valid). */
static void plant(const char *ckpt, const char *grp, float x) {
    hid_t f = H5Fopen(ckpt, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert(f >= 0);
    hid_t g = H5Gopen2(f, grp, H5P_DEFAULT);
    ck_assert(g >= 0);
    char name[256];
    ck_assert(H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, 0, name, sizeof name, H5P_DEFAULT) > 0);
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    ck_assert(d >= 0);
    hid_t s = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    float *v = malloc(sizeof(float) * (size_t)n);
    ck_assert(v && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    v[0] = x;
    ck_assert(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    free(v);
    H5Sclose(s);
    H5Dclose(d);
    H5Gclose(g);
    ck_assert(H5Fclose(f) >= 0);
}

/* The number of lines of text that contain what. */
static int count_lines(const char *text, const char *what) {
    int n = 0;
    for (const char *l = text; l && *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        const char *hit = strstr(l, what);
        if (hit && hit < l + len) n++;
        l = e ? e + 1 : l + len;
    }
    return n;
}

/* A run that diverges (SGD at lr 10) stops at the step with one line, exit 3, the
 * last checkpoint untouched and the session recorded as diverged; --resume
 * at a lower rate continues. A parameter forced past the float range stops
 * it the same way; evaluation of a non-finite parameter set is refused. */
START_TEST(cli_nonfinite_guard) {
    if (!have_fashion()) return;
    make_tmpdir();
    char ini[700], logp[700], ckp[700], copy[700], cmd[2200];
    snprintf(ini, sizeof ini, "%s/f.ini", tmpdir);
    snprintf(logp, sizeof logp, "%s/f.h5", tmpdir);
    snprintf(ckp, sizeof ckp, "%s/f.ckpt.h5", tmpdir);
    snprintf(copy, sizeof copy, "%s/copy.ckpt.h5", tmpdir);
    const char *text = "[data]\ndataset = fashion\nmax_train = 1000\nval_size = 200\n"
                       "[model]\nglimpses = 3\nmc_samples = 1\n[train]\nepochs = 1\nthreads = 1\nbatch_size = 32\n"
                       "optimizer = sgd\nlr = 0.05\n";
    spit(ini, text, strlen(text));
    cmd_out r = run_saccade("train f.ini --out f.h5");
    ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
    free_out(&r);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", ckp, copy);
    ck_assert_int_eq(system(cmd), 0);

    /* diverged: one line naming epoch, step, the term or tensor and the rate */
    r = run_saccade("train --resume f.h5 --set train.epochs=2 --set train.lr=10");
    ck_assert_msg(r.status == 3, "status %d, stdout: %s, stderr: %s", r.status, r.out, r.err);
    ck_assert_int_eq(count_lines(r.err, "non-finite value at epoch 2 step "), 1);
    ck_assert_msg(strstr(r.err, ", lr 10;") && strstr(r.err, "best parameters (epoch 1) are kept") &&
                  strstr(r.err, "--resume f.h5") && (strstr(r.err, " is NaN") || strstr(r.err, "Inf")),
                  "%s", r.err);
    ck_assert_msg(strstr(r.out, "test error") == NULL, "a diverged run was tested: %s", r.out);
    free_out(&r);
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", ckp, copy);
    ck_assert_msg(system(cmd) == 0, "the diverged session changed the checkpoint");
    long long reason = -1;
    char note[1024];
    last_of(logp, "sessions/end_reason", &reason, NULL, 0);
    ck_assert_int_eq(reason, SC_END_DIVERGED);
    last_of(logp, "sessions/end_note", NULL, note, sizeof note);
    ck_assert_msg(strstr(note, "non-finite value at epoch 2 step "), "end_note: %s", note);

    /* --resume at a lower rate continues from the kept checkpoint */
    r = run_saccade("train --resume f.h5 --set train.epochs=2 --set train.lr=0.001");
    ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "test error of the best parameters"));
    free_out(&r);
    last_of(logp, "sessions/end_reason", &reason, NULL, 0);
    ck_assert_int_ne(reason, SC_END_DIVERGED);

    /* forced: a finite parameter past what a float product can hold */
    plant(ckp, "params", 3e38f);
    r = run_saccade("train --resume f.h5 --set train.epochs=3");
    ck_assert_msg(r.status == 3, "status %d, stderr: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "non-finite value at epoch 3 step ") != NULL, "%s", r.err);
    free_out(&r);

    /* skip: every skipped batch has its line, and the session counts them */
    r = run_saccade("train f.ini --out s.h5 --set train.lr=10 --set train.nonfinite=skip");
    int lines = count_lines(r.out, "batch skipped ([train] nonfinite = skip, ");
    ck_assert_msg(lines > 0, "status %d, stdout: %s, stderr: %s", r.status, r.out, r.err);
    char slog[700];
    snprintf(slog, sizeof slog, "%s/s.h5", tmpdir);
    long long skipped = -1;
    if (r.status == 0) {
        last_of(slog, "sessions/end_skipped", &skipped, NULL, 0);
        ck_assert_int_eq(skipped, lines);
    } else {
        /* a skip run still stops when the parameters themselves go non-finite */
        ck_assert_msg(r.status == 3 && strstr(r.err, "parameter tensor"), "status %d: %s", r.status, r.err);
        last_of(slog, "sessions/end_reason", &reason, NULL, 0);
        ck_assert_int_eq(reason, SC_END_DIVERGED);
    }
    free_out(&r);

    /* evaluation refuses non-finite parameters, naming the set and the tensor */
    plant(copy, "best_params", NAN);
    r = run_saccade("eval copy.ckpt.h5 --samples 1");
    ck_assert_msg(r.status == 3, "status %d, stderr: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "copy.ckpt.h5: the best parameters are not finite (tensor ") &&
                  strstr(r.err, "element 0, is NaN); refusing to evaluate them"), "%s", r.err);
    ck_assert_msg(strstr(r.out, "test error") == NULL, "%s", r.out);
    free_out(&r);
    remove_tmpdir();
}
END_TEST

/* docs/config.md's key table is what `saccade config --doc` prints, line for line. */
START_TEST(docs_document_every_key) {
    char *readme = slurp(SACCADE_SOURCE_DIR "/docs/config.md", NULL);
    ck_assert_ptr_nonnull(readme);
    char *doc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&doc, &len);
    sc_config_doc(f);
    fclose(f);
    const char *begin = strstr(readme, "<!-- config-keys -->\n");
    const char *end = strstr(readme, "<!-- /config-keys -->");
    ck_assert_msg(begin && end && end > begin, "docs/config.md lacks the config-keys markers");
    begin += strlen("<!-- config-keys -->\n");
    ck_assert_msg((size_t)(end - begin) == len && !memcmp(begin, doc, len),
                  "docs/config.md's key table differs from `saccade config --doc`: run scripts/config-doc.sh");
    free(doc);
    free(readme);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("train");
    TCase *m = tcase_create("checkpoint");
    tcase_add_test(m, checkpoint_round_trip);
    tcase_add_test(m, checkpoint_bad_input);
    suite_add_tcase(s, m);
    TCase *t = tcase_create("trainer");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, train_learns_and_is_deterministic);
    tcase_add_test(t, train_missing_data_is_an_error);
    tcase_add_test(t, policy_std_schedule);
    suite_add_tcase(s, t);
    TCase *c = tcase_create("cli");
    tcase_set_timeout(c, 600);
    tcase_add_test(c, cli_rejects_bad_input);
    tcase_add_test(c, cli_train_then_eval);
    tcase_add_test(c, docs_document_every_key);
    tcase_add_test(c, cli_nonfinite_guard);
    suite_add_tcase(s, c);
    return s;
}

SC_TEST_MAIN(make_suite)
