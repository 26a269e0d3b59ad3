/* test_compare.c - `saccade compare` and `saccade plot` (experiments/compare.c).
 *
 * - four short real runs (ram, soft, fc, selfattn on a Fashion-MNIST subset): compare
 *   prints one Markdown row per run with the log's test errors, M, analytic
 *   MFLOPs and pixels, measured time, parameters and epochs, and writes a PNG
 *   of the documented size with each kind's marker colour on it; plot writes
 *   the learning curves; the same runs with threads = 2 are reproducible
 *   (identical test errors and parameters twice);
 * - the analytic second panel: the RAM's compute is the same on 28, 60 and
 *   100-pixel canvases, the soft model's grid keeps its spacing (7 -> 15 ->
 *   25) and its compute is sc_cost_soft's for that grid, fc's grows with
 *   the pixels, selfattn's (patch kept) faster than its tokens;
 * - bad input: a missing file, a file that is not HDF5, an HDF5 file that is
 *   not a run log, a checkpoint, a run without test results (compare) or
 *   without a completed epoch (plot), an unwritable --png: one line on
 *   stderr naming the file, exit status 1, no PNG (nor its temporary) left;
 *   usage errors exit 2.
 */
#include <cairo.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/cost.h"
#include "experiments/checkpoint.h"
#include "experiments/compare.h"
#include "experiments/runlog.h"
#include "experiments/train.h"
#include "tests/testutil.h"

static void in_tmp(char *out, size_t n, const char *name) {
    ck_assert_int_lt(snprintf(out, n, "%s/%s", tmpdir, name), (int)n);
}

static const char *TINY_INI =
    "[data]\ndataset = fashion\nmax_train = 640\nval_size = 100\n"
    "[model]\nglimpses = 3\nhidden = 16\nglimpse_hidden = 8\nloc_hidden = 8\nglimpse_out = 16\nmc_samples = 2\n"
    "grid = 3\nfc_hidden = 16\npatch = 7\nd_model = 16\nheads = 2\nblocks = 1\nmlp_hidden = 16\n"
    "[train]\nepochs = 2\nthreads = 1\nbatch_size = 32\n"
    "[log]\ntrain_every = 5\nglimpse_images = 4\n";

static void train_kind(const char *name, const char *kind, int threads, sc_train_result *res) {
    sc_config c;
    sc_err err = {0};
    sc_config_defaults(&c);
    ck_assert_msg(sc_config_load_string(&c, TINY_INI, "tiny.ini", &err) == SC_OK, "%s", err.msg);
    snprintf(c.kind, sizeof c.kind, "%s", kind);
    c.threads = threads;
    ck_assert_msg(sc_config_validate(&c, &err) == SC_OK, "%s", err.msg);
    char path[700];
    in_tmp(path, sizeof path, name);
    sc_train_opts o = {.log_path = path, .quiet = 1, .command_line = "test"};
    sc_train_result tmp;
    ck_assert_msg(sc_train(&c, &o, res ? res : &tmp, &err) == SC_OK, "%s: %s", name, err.msg);
}

typedef struct cmd_out {
    int status;
    char *out, *err;
} cmd_out;

static cmd_out run_saccade(const char *args) {
    char cmd[2048], o[700], e[700];
    snprintf(o, sizeof o, "%s.stdout", tmpdir);
    snprintf(e, sizeof e, "%s.stderr", tmpdir);
    /* in a sanitizer build, LeakSanitizer would add its list of suppressions used (fontconfig's
     * process-long caches, tests/lsan.supp) to stderr, which must stay one line */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && LSAN_OPTIONS=\"${LSAN_OPTIONS:+$LSAN_OPTIONS:}print_suppressions=0\" '%s/saccade' %s "
             ">'%s' 2>'%s' </dev/null", tmpdir, SACCADE_BINARY_DIR, args, o, e);
    int st = system(cmd);
    cmd_out r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(o, NULL), slurp(e, NULL)};
    unlink(o);
    unlink(e);
    return r;
}

static void free_out(cmd_out *r) { free(r->out); free(r->err); }

/* Is there a pixel of colour (r, g, b) (0..255, within tol) in the image? */
static int has_colour(cairo_surface_t *s, int r, int g, int b, int tol) {
    const unsigned char *d = cairo_image_surface_get_data(s);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t p;
            memcpy(&p, d + (size_t)y * stride + 4 * x, 4);
            int pr = (p >> 16) & 255, pg = (p >> 8) & 255, pb = p & 255;
            if (abs(pr - r) <= tol && abs(pg - g) <= tol && abs(pb - b) <= tol) return 1;
        }
    return 0;
}

/* The PNG at path: its size, and the fraction of pixels that are not white. */
static double check_png(const char *path, int w, int h) {
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    ck_assert_msg(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, "%s: %s", path,
                  cairo_status_to_string(cairo_surface_status(s)));
    ck_assert_int_eq(cairo_image_surface_get_width(s), w);
    ck_assert_int_eq(cairo_image_surface_get_height(s), h);
    const unsigned char *d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    long ink = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t p;
            memcpy(&p, d + (size_t)y * stride + 4 * x, 4);
            ink += (p & 0xffffff) != 0xffffff;
        }
    cairo_surface_destroy(s);
    return (double)ink / ((double)w * h);
}

/* ---- real runs ------------------------------------------------------------------------ */

START_TEST(compare_and_plot_real_runs) {
    if (!have_fashion()) return;
    make_tmpdir();
    sc_train_result rr, rs, rf, ra;
    train_kind("ram.h5", "ram", 1, &rr);
    train_kind("soft.h5", "soft", 1, &rs);
    train_kind("fc.h5", "fc", 1, &rf);
    train_kind("selfattn.h5", "selfattn", 1, &ra);
    ck_assert(rr.us_per_image > 0 && rs.us_per_image > 0 && rf.us_per_image > 0 && ra.us_per_image > 0);
    cmd_out r = run_saccade("compare ram.h5 soft.h5 fc.h5 selfattn.h5 --png cmp.png");
    ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.out, "| run | model | data | glimpses | test err M=1 | test err M | M | MFLOPs/image |"),
                  "%s", r.out);
    char want[256];
    snprintf(want, sizeof want, "| ram | ram | fashion plain 28x28 | 3 x 8x8 | %.2f%% | %.2f%% | 2 |", rr.test_err_m1,
             rr.test_err_mc);
    ck_assert_msg(strstr(r.out, want), "no '%s' in\n%s", want, r.out);
    snprintf(want, sizeof want, "| soft | soft 3x3 dot | fashion plain 28x28 | 9 x 8x8, 3 steps | %.2f%% | %.2f%% | 1 |",
             rs.test_err_m1, rs.test_err_m1);
    ck_assert_msg(strstr(r.out, want), "no '%s' in\n%s", want, r.out);
    snprintf(want, sizeof want, "| fc | fc 2x16 | fashion plain 28x28 | - | %.2f%% | %.2f%% | 1 |", rf.test_err_m1,
             rf.test_err_m1);
    ck_assert_msg(strstr(r.out, want), "no '%s' in\n%s", want, r.out);
    snprintf(want, sizeof want,
             "| selfattn | selfattn 4x4 p7 d16 h2 x1 query | fashion plain 28x28 | 16 patches 7x7 | %.2f%% | %.2f%% | 1 |",
             ra.test_err_m1, ra.test_err_m1);
    ck_assert_msg(strstr(r.out, want), "no '%s' in\n%s", want, r.out);
    /* analytic columns: fc 2 x 16 on 784 pixels */
    const double fc_flops = 2.0 * (784 * 16 + 16 * 16 + 16 * 10);
    snprintf(want, sizeof want, "| %.3f | 784 |", fc_flops / 1e6);
    ck_assert_msg(strstr(r.out, want), "no '%s' in\n%s", want, r.out);
    ck_assert_msg(strstr(r.out, "| 2 |\n"), "epochs: %s", r.out);
    free_out(&r);
    char p[700];
    in_tmp(p, sizeof p, "cmp.png");
    double ink = check_png(p, 1400, 560);
    ck_assert_msg(ink > 0.01 && ink < 0.5, "ink %g", ink);
    cairo_surface_t *s = cairo_image_surface_create_from_png(p);
    ck_assert(has_colour(s, 0, 114, 178, 2));  /* ram's marker colour */
    ck_assert(has_colour(s, 230, 159, 0, 2));  /* soft's */
    ck_assert(has_colour(s, 0, 158, 115, 2));  /* fc's */
    ck_assert(has_colour(s, 213, 94, 0, 2));   /* selfattn's */
    cairo_surface_destroy(s);
    in_tmp(p, sizeof p, "cmp.png.tmp");
    ck_assert_int_ne(access(p, F_OK), 0);

    /* a log written before the additions to schema 1 (no model kind, compute attributes, measured
     * time): read as a RAM run, its compute from its configuration, "-" for the time */
    {
        char src[700], cmd[1600];
        in_tmp(src, sizeof src, "ram.h5");
        in_tmp(p, sizeof p, "old.h5");
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, p);
        ck_assert_int_eq(system(cmd), 0);
        hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
        ck_assert(f >= 0);
        static const char *const attrs[] = {"model_kind", "macs_train_per_image", "flops_train_per_image",
                                            "pixels_per_image", "retina_adds_per_image"};
        for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) ck_assert(H5Adelete(f, attrs[i]) >= 0);
        ck_assert(H5Ldelete(f, "eval/test/us_per_image", H5P_DEFAULT) >= 0);
        ck_assert(H5Ldelete(f, "eval/test/train_seconds", H5P_DEFAULT) >= 0);
        H5Fclose(f);
        r = run_saccade("compare ram.h5 old.h5");
        ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
        char *a = strstr(r.out, "| ram | ram |"), *b = strstr(r.out, "| old | ram |");
        ck_assert_msg(a && b, "%s", r.out);
        /* the same analytic columns as the new log's, and no measured time */
        const char *ma = a, *mb = b;
        for (int k = 0; k < 7; k++) {
            ma = strchr(ma + 1, '|');
            mb = strchr(mb + 1, '|');
        }
        ck_assert_msg(!strncmp(ma, mb, (size_t)(strchr(ma + 1, '|') - ma)), "%s", r.out);
        ck_assert_msg(strstr(b, "| - |"), "%s", r.out);
        free_out(&r);
    }

    /* the table alone, without --png */
    r = run_saccade("compare soft.h5");
    ck_assert_int_eq(r.status, 0);
    ck_assert(strstr(r.out, "| soft | soft 3x3 dot |") && !strstr(r.out, "plot:"));
    free_out(&r);

    /* learning curves */
    for (int k = 0; k < 4; k++) {
        static const char *const runs[] = {"ram", "soft", "fc", "selfattn"};
        char args[128];
        snprintf(args, sizeof args, "plot %s.h5 --png %s-curves.png", runs[k], runs[k]);
        r = run_saccade(args);
        ck_assert_msg(r.status == 0, "%s: status %d: %s", args, r.status, r.err);
        free_out(&r);
        snprintf(args, sizeof args, "%s-curves.png", runs[k]);
        in_tmp(p, sizeof p, args);
        ink = check_png(p, 1500, 500);
        ck_assert_msg(ink > 0.01 && ink < 0.5, "ink %g", ink);
    }

    /* threads = 2 (data-parallel workers, every kind): the same numbers twice */
    static const char *const kinds[] = {"ram", "soft", "fc", "selfattn"};
    for (int k = 0; k < 4; k++) {
        char a[64], b[64], ka[700], kb[700];
        snprintf(a, sizeof a, "%s-t2a.h5", kinds[k]);
        snprintf(b, sizeof b, "%s-t2b.h5", kinds[k]);
        sc_train_result x, y;
        train_kind(a, kinds[k], 2, &x);
        train_kind(b, kinds[k], 2, &y);
        ck_assert(x.test_err_m1 == y.test_err_m1 && x.test_err_mc == y.test_err_mc);
        in_tmp(p, sizeof p, a);
        ck_assert_int_eq(sc_run_checkpoint_name(p, ka, sizeof ka), 0);
        in_tmp(p, sizeof p, b);
        ck_assert_int_eq(sc_run_checkpoint_name(p, kb, sizeof kb), 0);
        sc_ckpt ca, cb;
        sc_err err = {0};
        ck_assert_int_eq(sc_ckpt_load(ka, SC_CKPT_ALL, &ca, &err), SC_OK);
        ck_assert_int_eq(sc_ckpt_load(kb, SC_CKPT_ALL, &cb, &err), SC_OK);
        ck_assert_msg(ca.n == cb.n && !memcmp(ca.params, cb.params, sizeof(float) * ca.n) &&
                          !memcmp(ca.m, cb.m, sizeof(float) * ca.n),
                      "%s with 2 threads: parameters differ between two runs", kinds[k]);
        sc_ckpt_free(&ca);
        sc_ckpt_free(&cb);
    }
    remove_tmpdir();
}
END_TEST

/* ---- the analytic panel ------------------------------------------------------------------ */

static sc_run_summary summary(const char *kind, int side) {
    sc_run_summary s;
    memset(&s, 0, sizeof s);
    sc_config_defaults(&s.config);
    snprintf(s.kind, sizeof s.kind, "%s", kind);
    snprintf(s.config.kind, sizeof s.config.kind, "%s", kind);
    s.canvas_side = side;
    s.num_classes = 10;
    return s;
}

START_TEST(analytic_canvas_scaling) {
    sc_run_summary ram = summary("ram", 28), soft = summary("soft", 28), fc = summary("fc", 28);
    double r28 = sc_compare_flops_at(&ram, 28, NULL);
    ck_assert(r28 > 0 && sc_compare_flops_at(&ram, 60, NULL) == r28 && sc_compare_flops_at(&ram, 100, NULL) == r28);
    int g[3];
    static const int W[3] = {28, 60, 100}, want_grid[3] = {7, 15, 25};
    double prev = 0;
    for (int i = 0; i < 3; i++) {
        double v = sc_compare_flops_at(&soft, W[i], &g[i]);
        ck_assert_int_eq(g[i], want_grid[i]);
        sc_soft_cfg c;
        sc_soft_cfg_defaults(&c);  /* the config defaults' sizes: 8x8, 1 scale, 128/128/256, rnn 256, 6 steps */
        c.img_h = c.img_w = W[i];
        c.grid = g[i];
        ck_assert_msg(fabs(v - sc_cost_soft(&c).flops_infer) < 1e-6 * v, "%d: %g vs %g", W[i], v,
                      sc_cost_soft(&c).flops_infer);
        ck_assert(v > 2 * prev);  /* grows with the locations (L 49 -> 225 -> 625) */
        prev = v;
    }
    /* a soft run on 60x60 with grid 15 scales down to 7 on 28 and up to 25 on 100 */
    sc_run_summary soft60 = summary("soft", 60);
    soft60.config.grid = 15;
    sc_compare_flops_at(&soft60, 28, &g[0]);
    sc_compare_flops_at(&soft60, 100, &g[2]);
    ck_assert(g[0] == 7 && g[2] == 25);
    /* fc: 784 -> 3600 -> 10000 inputs into 256 units */
    double f28 = sc_compare_flops_at(&fc, 28, NULL), f100 = sc_compare_flops_at(&fc, 100, NULL);
    ck_assert(fabs(f28 - 2.0 * (784 * 256 + 256 * 256 + 2560)) < 1e-6);
    ck_assert(fabs(f100 - 2.0 * (10000 * 256 + 256 * 256 + 2560)) < 1e-6);
    /* selfattn keeps its patch (4): T = 49 -> 225 -> 625, and its attention grows as T^2 */
    sc_run_summary sa = summary("selfattn", 28);
    prev = 0;
    for (int i = 0; i < 3; i++) {
        double v = sc_compare_flops_at(&sa, W[i], NULL);
        sc_model_cfg mc;
        sc_model_cfg_from_config(&mc, &sa.config, W[i], 10, 1);
        ck_assert(fabs(v - sc_cost_selfattn(&mc.selfattn).flops_infer) < 1e-6 * v);
        if (i) ck_assert_msg(v > prev * (W[i] * W[i]) / (double)(W[i - 1] * W[i - 1]), "%d: %g after %g", W[i], v, prev);
        prev = v;
    }
}
END_TEST

/* ---- bad input ------------------------------------------------------------------------------ */

/* `saccade args` fails with status, one line on stderr containing each
 * NULL-terminated string, and leaves no png (nor png.tmp) when png is given. */
static void expect_refusal(const char *args, int status, const char *png, ...) {
    cmd_out r = run_saccade(args);
    ck_assert_msg(r.status == status, "saccade %s: status %d (expected %d), stderr: %s", args, r.status, status,
                  r.err);
    ck_assert_msg(!strstr(r.err, "HDF5-DIAG"), "saccade %s printed HDF5's error stack: %s", args, r.err);
    if (status == 1) {
        size_t len = strlen(r.err);
        ck_assert_msg(len > 10 && strchr(r.err, '\n') == r.err + len - 1, "saccade %s: not one line: %s", args,
                      r.err);
    }
    va_list ap;
    va_start(ap, png);
    for (const char *w; (w = va_arg(ap, const char *)) != NULL;)
        ck_assert_msg(strstr(r.err, w), "saccade %s: stderr '%s' lacks '%s'", args, r.err, w);
    va_end(ap);
    if (png) {
        char p[700], q[800];
        in_tmp(p, sizeof p, png);
        snprintf(q, sizeof q, "%s.tmp", p);
        ck_assert_msg(access(p, F_OK) != 0 && access(q, F_OK) != 0, "saccade %s left %s", args, png);
    }
    free_out(&r);
}

START_TEST(bad_input_is_refused) {
    make_tmpdir();
    char p[700];
    FILE *f;
    in_tmp(p, sizeof p, "text.h5");
    f = fopen(p, "w");
    fputs("not a run log\n", f);
    fclose(f);
    in_tmp(p, sizeof p, "plain.h5");
    hid_t h = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert(h >= 0);
    H5Fclose(h);
    /* a run log without any test row or epoch: created, never trained */
    in_tmp(p, sizeof p, "fresh.h5");
    sc_runlog *L;
    sc_err err = {0};
    sc_runlog_meta meta = {"00000000deadbeef", "test", NULL, NULL, "[model]\nkind = soft\n", "fresh.ckpt.h5", 1, 1,
                           10, 5.0, 1, 1, 1, 10, 28, 1, "soft", 15.0, 64.0, 0.0, 0, 0, 0, NULL};
    ck_assert_msg(sc_runlog_create(&L, p, &meta, NULL, &err) == SC_OK, "%s", err.msg);
    sc_runlog_close(L);
    /* a checkpoint (of a tiny RAM, no training needed) */
    {
        sc_config c;
        sc_config_defaults(&c);
        c.hidden = 4; c.glimpse_hidden = 4; c.loc_hidden = 4; c.glimpse_out = 4;
        sc_ram_cfg rc;
        sc_ram_cfg_from_config(&rc, &c, 28, 10, 2);
        sc_ram *m;
        ck_assert_int_eq(sc_ram_create(&m, &rc, &err), SC_OK);
        sc_optim opt;
        ck_assert_int_eq(sc_optim_create(&opt, SC_OPT_ADAM, sc_ram_params(m)->n, &err), SC_OK);
        sc_ckpt_state st;
        memset(&st, 0, sizeof st);
        snprintf(st.run_id, sizeof st.run_id, "0123456789abcdef");
        in_tmp(p, sizeof p, "run.ckpt.h5");
        ck_assert_int_eq(sc_ckpt_save(p, "run.h5", &c, &st, sc_ram_params(m), sc_ram_params(m)->data, &opt, &err),
                         SC_OK);
        sc_optim_free(&opt);
        sc_ram_free(m);
    }
    expect_refusal("compare missing.h5 --png x.png", 1, "x.png", "missing.h5", "No such file", (char *)NULL);
    expect_refusal("compare text.h5 --png x.png", 1, "x.png", "text.h5", "not an HDF5 file", (char *)NULL);
    expect_refusal("compare plain.h5", 1, NULL, "plain.h5", "not a saccade run log", (char *)NULL);
    expect_refusal("compare run.ckpt.h5", 1, NULL, "run.ckpt.h5", "checkpoint, not a run log", (char *)NULL);
    expect_refusal("compare fresh.h5 --png x.png", 1, "x.png", "fresh.h5", "no test results", (char *)NULL);
    expect_refusal("plot fresh.h5 --png x.png", 1, "x.png", "fresh.h5", "nothing to plot", (char *)NULL);
    expect_refusal("plot missing.h5 --png x.png", 1, "x.png", "missing.h5", (char *)NULL);
    expect_refusal("plot run.ckpt.h5 --png x.png", 1, "x.png", "run.ckpt.h5", "checkpoint", (char *)NULL);
    /* usage */
    expect_refusal("compare", 2, NULL, "at least one run log", (char *)NULL);
    expect_refusal("compare fresh.h5 --png", 2, NULL, "--png needs a file name", (char *)NULL);
    expect_refusal("compare fresh.h5 --bogus", 2, NULL, "--bogus", (char *)NULL);
    expect_refusal("plot fresh.h5", 2, NULL, "--png FILE", (char *)NULL);
    expect_refusal("plot a.h5 b.h5 --png x.png", 2, "x.png", "b.h5", (char *)NULL);
    remove_tmpdir();
}
END_TEST

START_TEST(unwritable_png_is_refused) {
    if (!have_fashion()) return;
    make_tmpdir();
    train_kind("fc.h5", "fc", 1, NULL);
    expect_refusal("compare fc.h5 --png nowhere/x.png", 1, NULL, "nowhere/x.png", "No such file", (char *)NULL);
    expect_refusal("plot fc.h5 --png nowhere/x.png", 1, NULL, "nowhere/x.png", "No such file", (char *)NULL);
    char p[700];
    in_tmp(p, sizeof p, "nowhere");
    ck_assert_int_ne(access(p, F_OK), 0);
    /* a PNG that exists stays as it was when the new one cannot be written */
    in_tmp(p, sizeof p, "old.png");
    FILE *f = fopen(p, "w");
    fputs("old", f);
    fclose(f);
    in_tmp(p, sizeof p, "old.png.tmp");
    ck_assert_int_eq(mkdir(p, 0700), 0);  /* the temporary's name taken: the write fails */
    expect_refusal("compare fc.h5 --png old.png", 1, NULL, "old.png", (char *)NULL);
    rmdir(p);
    in_tmp(p, sizeof p, "old.png");
    char *old = slurp(p, NULL);
    ck_assert_str_eq(old, "old");
    free(old);
    remove_tmpdir();
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("compare");
    TCase *t = tcase_create("compare");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, compare_and_plot_real_runs);
    tcase_add_test(t, analytic_canvas_scaling);
    tcase_add_test(t, bad_input_is_refused);
    tcase_add_test(t, unwritable_png_is_refused);
    suite_add_tcase(s, t);
    return s;
}

SC_TEST_MAIN(make_suite)
