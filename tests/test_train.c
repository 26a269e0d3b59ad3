/* test_train.c - the trainer, model files and the saccade command, end to end.
 *
 * - model files: round trip of config and parameters; every bad input
 *   (missing, wrong magic, wrong version, truncated, corrupt, shape mismatch,
 *   unwritable folder) is refused with a message naming the file and leaves the
 *   caller's parameters untouched;
 * - sc_train on a small Fashion-MNIST subset (Debian's dataset-fashion-mnist):
 *   learns well above chance, and two runs with the same seed and threads give
 *   bit-identical parameters;
 * - the saccade command: bad configs and options exit non-zero with the
 *   file:line message; train + eval through the command line.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "experiments/train.h"
#include "tests/testutil.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static char tmpdir[512];

static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "%s/test_train.XXXXXX", SACCADE_BINARY_DIR);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    size_t got = fread(buf, 1, (size_t)len, f);
    fclose(f);
    buf[got] = 0;
    if (n) *n = got;
    return buf;
}

static void spit(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* a small model and its config */
typedef struct small {
    sc_config c;
    sc_ram *m;
} small;

static small make_small(int hidden, uint64_t seed) {
    small s;
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
    return s;
}

START_TEST(model_file_round_trip) {
    make_tmpdir();
    small a = make_small(12, 5), b = make_small(12, 6);
    char path[600];
    snprintf(path, sizeof path, "%s/m.model", tmpdir);
    a.c.lr = 0.0125f;
    a.c.glimpses = 6;
    sc_err err = {0};
    ck_assert_int_eq(sc_model_save(path, &a.c, sc_ram_params(a.m), &err), SC_OK);
    sc_config c;
    ck_assert_int_eq(sc_model_load(path, &c, NULL, &err), SC_OK);
    ck_assert_float_eq(c.lr, 0.0125f);
    ck_assert_int_eq(c.hidden, 12);
    sc_params *pa = sc_ram_params(a.m), *pb = sc_ram_params(b.m);
    ck_assert(memcmp(pa->data, pb->data, sizeof(float) * pa->n) != 0);
    ck_assert_int_eq(sc_model_load(path, &c, pb, &err), SC_OK);
    for (int i = 0; i < pa->count; i++)
        ck_assert(!memcmp(sc_params_data(pa, i), sc_params_data(pb, i), sizeof(float) * sc_params_size(pa, i)));
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    sc_ram_free(a.m);
    sc_ram_free(b.m);
    remove_tmpdir();
}
END_TEST

/* loading `bytes` must fail with code, a message containing path and `what`,
 * and must leave the parameters of `into` untouched */
static void expect_refused(const char *path, const void *bytes, size_t n, sc_ram *into, int code,
                           const char *what) {
    spit(path, bytes, n);
    sc_params *ps = sc_ram_params(into);
    float *keep = malloc(sizeof(float) * ps->n);
    memcpy(keep, ps->data, sizeof(float) * ps->n);
    sc_config c, before;
    sc_config_defaults(&c);
    c.epochs = 77;
    before = c;
    sc_err err = {0};
    int rc = sc_model_load(path, &c, ps, &err);
    ck_assert_msg(rc == code, "expected code %d for '%s', got %d (%s)", code, what, rc, err.msg);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message does not name the file: %s", err.msg);
    ck_assert_msg(strstr(err.msg, what) != NULL, "message '%s' does not say '%s'", err.msg, what);
    ck_assert(!memcmp(keep, ps->data, sizeof(float) * ps->n));
    ck_assert(!memcmp(&c, &before, sizeof c));
    free(keep);
}

START_TEST(model_file_bad_input) {
    make_tmpdir();
    small a = make_small(12, 5), other = make_small(14, 5);
    char good[600], bad[600];
    snprintf(good, sizeof good, "%s/good.model", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.model", tmpdir);
    sc_err err = {0};
    ck_assert_int_eq(sc_model_save(good, &a.c, sc_ram_params(a.m), &err), SC_OK);
    size_t n;
    unsigned char *bytes = (unsigned char *)slurp(good, &n);
    ck_assert_uint_gt(n, 100);

    /* missing */
    sc_config c;
    ck_assert_int_eq(sc_model_load("/nonexistent/x.model", &c, NULL, &err), SC_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/x.model"));
    /* not a model file */
    expect_refused(bad, "hello world, not a model", 24, a.m, SC_EFORMAT, "not a saccade model file");
    /* wrong version */
    unsigned char *v = malloc(n);
    memcpy(v, bytes, n);
    v[8] = 99;
    expect_refused(bad, v, n, a.m, SC_EFORMAT, "version 99");
    /* truncated at many lengths */
    for (size_t cut = 0; cut < n; cut += n / 23 + 1)
        expect_refused(bad, bytes, cut, a.m, SC_EFORMAT, cut < 8 ? "not a saccade model file" : cut < 12 ? "" : "checksum");
    /* one flipped bit in the parameters */
    memcpy(v, bytes, n);
    v[n - 20] ^= 0x10;
    expect_refused(bad, v, n, a.m, SC_EFORMAT, "checksum");
    /* a valid file of another shape */
    expect_refused(bad, bytes, n, other.m, SC_EFORMAT, "core.Wx");
    free(v);
    free(bytes);

    /* unwritable folder: an error naming it, and no file */
    char nodir[700];
    snprintf(nodir, sizeof nodir, "%s/missing-folder/m.model", tmpdir);
    ck_assert_int_eq(sc_model_save(nodir, &a.c, sc_ram_params(a.m), &err), SC_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "missing-folder"));
    ck_assert_int_ne(access(nodir, F_OK), 0);
    sc_ram_free(a.m);
    sc_ram_free(other.m);
    remove_tmpdir();
}
END_TEST

static int have_fashion(void) {
    if (access(FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) == 0) return 1;
    fprintf(stderr, "SKIPPED: %s not installed (apt-get install dataset-fashion-mnist)\n", FASHION_DIR);
    return 0;
}

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
    char p1[600], p2[600];
    snprintf(p1, sizeof p1, "%s/a.model", tmpdir);
    snprintf(p2, sizeof p2, "%s/b.model", tmpdir);
    sc_train_opts o1 = {p1, 1}, o2 = {p2, 1};
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
    size_t n1, n2;
    char *b1 = slurp(p1, &n1), *b2 = slurp(p2, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert(!memcmp(b1, b2, n1));
    free(b1);
    /* another seed gives other parameters */
    c.seed = 2;
    ck_assert_int_eq(sc_train(&c, &o2, &r2, &err), SC_OK);
    b2 = realloc(b2, 1);
    free(b2);
    b2 = slurp(p2, &n2);
    b1 = slurp(p1, &n1);
    ck_assert(n1 != n2 || memcmp(b1, b2, n1) != 0);
    free(b1);
    free(b2);
    remove_tmpdir();
}
END_TEST

START_TEST(train_missing_data_is_an_error) {
    sc_config c;
    sc_config_defaults(&c);
    snprintf(c.data_dir, sizeof c.data_dir, "/nonexistent/mnist");
    sc_train_opts o = {NULL, 1};
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
    ck_assert_msg(strstr(r.err, "not a saccade model file") != NULL, "stderr: %s", r.err);
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

START_TEST(cli_train_then_eval) {
    if (!have_fashion()) return;
    make_tmpdir();
    char ini[700];
    snprintf(ini, sizeof ini, "%s/f.ini", tmpdir);
    const char *text = "[data]\ndataset = fashion\nmax_train = 1000\nval_size = 200\n"
                       "[model]\nglimpses = 3\nmc_samples = 2\n[train]\nepochs = 1\nthreads = 1\n";
    spit(ini, text, strlen(text));
    cmd_out r = run_saccade("train f.ini --save f.model");
    ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "[model]"));          /* the resolved config */
    ck_assert_ptr_nonnull(strstr(r.out, "test error:"));
    ck_assert_ptr_nonnull(strstr(r.out, "(M=2)"));
    double e1 = -1, em = -1;
    const char *t = strstr(r.out, "test error:");
    ck_assert_int_eq(sscanf(t, "test error: %lf%% (M=1), %lf%%", &e1, &em), 2);
    free_out(&r);
    r = run_saccade("eval f.model");
    ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
    double f1 = -2, fm = -2;
    t = strstr(r.out, "test error");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(sscanf(t, "test error on 10000 images: %lf%% (M=1), %lf%%", &f1, &fm), 2);
    /* eval of the saved best model reproduces the trainer's test figures */
    ck_assert_double_eq_tol(f1, e1, 1e-9);
    ck_assert_double_eq_tol(fm, em, 1e-9);
    free_out(&r);
    remove_tmpdir();
}
END_TEST

/* README's key table is what `saccade config --doc` prints, line for line. */
START_TEST(readme_documents_every_key) {
    char *readme = slurp(SACCADE_SOURCE_DIR "/README.md", NULL);
    ck_assert_ptr_nonnull(readme);
    char *doc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&doc, &len);
    sc_config_doc(f);
    fclose(f);
    const char *begin = strstr(readme, "<!-- config-keys -->\n");
    const char *end = strstr(readme, "<!-- /config-keys -->");
    ck_assert_msg(begin && end && end > begin, "README.md lacks the config-keys markers");
    begin += strlen("<!-- config-keys -->\n");
    ck_assert_msg((size_t)(end - begin) == len && !memcmp(begin, doc, len),
                  "README.md's key table differs from `saccade config --doc`: run scripts/readme-keys.sh");
    free(doc);
    free(readme);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("train");
    TCase *m = tcase_create("modelfile");
    tcase_add_test(m, model_file_round_trip);
    tcase_add_test(m, model_file_bad_input);
    suite_add_tcase(s, m);
    TCase *t = tcase_create("trainer");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, train_learns_and_is_deterministic);
    tcase_add_test(t, train_missing_data_is_an_error);
    suite_add_tcase(s, t);
    TCase *c = tcase_create("cli");
    tcase_set_timeout(c, 600);
    tcase_add_test(c, cli_rejects_bad_input);
    tcase_add_test(c, cli_train_then_eval);
    tcase_add_test(c, readme_documents_every_key);
    suite_add_tcase(s, c);
    return s;
}

SC_TEST_MAIN(make_suite)
