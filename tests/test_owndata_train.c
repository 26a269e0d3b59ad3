/* test_owndata_train.c - training on a user's own data, end to end.
 *
 * - Fashion-MNIST (Debian's dataset-fashion-mnist) written by the test as four
 *   IDX files of n x 28 x 28 x 1 and as one HDF5 file trains to the same bits
 *   as `dataset = fashion` with the same seed: the formats only change where
 *   the bytes come from;
 * - a colour, non-square dataset trains with every model kind, and `saccade
 *   view` draws its glimpses in colour.
 * Skipped, loudly, without the Fashion-MNIST files.
 */
#include <hdf5.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env/dataset.h"
#include "env/idx.h"
#include "experiments/checkpoint.h"
#include "experiments/train.h"
#include "nets/rng.h"
#include "tests/ckptsame.h"
#include "tests/testutil.h"

static sc_err err_unused;

static void small_config(sc_config *c) {
    sc_config_defaults(c);
    snprintf(c->dataset, sizeof c->dataset, "fashion");
    c->max_train = 1500;
    c->val_size = 300;
    c->epochs = 1;
    c->glimpses = 3;
    c->threads = 1;
    c->mc_samples = 2;
    c->batch_size = 64;
}

static void write_idx4(const char *path, const sc_images *im) {
    sc_idx x = {.ndim = 4, .dims = {im->n, im->h, im->w, 1}, .data = im->pix, .size = (size_t)im->n * im->h * im->w};
    sc_err err = {0};
    ck_assert_msg(sc_idx_write(path, &x, 0, &err) == SC_OK, "%s", err.msg);
    sc_idx l = {.ndim = 1, .dims = {im->n}, .data = im->labels, .size = (size_t)im->n};
    char lp[800];
    snprintf(lp, sizeof lp, "%s.labels", path);
    ck_assert_msg(sc_idx_write(lp, &l, 1, &err) == SC_OK, "%s", err.msg);
}

static void h5_split(hid_t f, const char *grp, const sc_images *im) {
    hid_t g = H5Gcreate2(f, grp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t d[4] = {(hsize_t)im->n, (hsize_t)im->h, (hsize_t)im->w, (hsize_t)im->c};
    hid_t sp = H5Screate_simple(im->c > 1 ? 4 : 3, d, NULL);
    hid_t ds = H5Dcreate2(g, "images", H5T_STD_U8LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, im->pix), 0);
    H5Dclose(ds);
    H5Sclose(sp);
    int64_t *lab = malloc(sizeof *lab * (size_t)im->n);
    for (int i = 0; i < im->n; i++) lab[i] = im->labels[i];
    sp = H5Screate_simple(1, d, NULL);
    ds = H5Dcreate2(g, "labels", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(H5Dwrite(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, lab), 0);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Gclose(g);
    free(lab);
}

/* A config string field from src, which must fit. */
#define set_str(dst, src)                                                      \
    do {                                                                       \
        ck_assert_uint_lt(strlen(src), sizeof(dst));                           \
        memcpy((dst), (src), strlen(src) + 1);                                 \
    } while (0)

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

/* Fashion-MNIST's class names as the root attribute class_names of f. */
static void put_fashion_names(hid_t f) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    hsize_t n = 10;
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t a = H5Acreate2(f, "class_names", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(H5Awrite(a, t, fashion_names), 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

START_TEST(fashion_through_idx_and_hdf5) {
    if (!have_fashion()) return;
    make_tmpdir();
    sc_dataset ds;
    sc_err err = {0};
    ck_assert_msg(sc_dataset_load(&ds, FASHION_DIR, 10, 0, 1, &err) == SC_OK, "%s", err.msg);
    char tri[600], tei[600], trl[700], tel[700], h5[600];
    snprintf(tri, sizeof tri, "%s/train.idx", tmpdir);
    snprintf(tei, sizeof tei, "%s/test.idx", tmpdir);
    snprintf(trl, sizeof trl, "%s.labels", tri);
    snprintf(tel, sizeof tel, "%s.labels", tei);
    snprintf(h5, sizeof h5, "%s/fashion.h5", tmpdir);
    write_idx4(tri, &ds.train);
    write_idx4(tei, &ds.test);
    hid_t f = H5Fcreate(h5, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    h5_split(f, "/train", &ds.train);
    h5_split(f, "/test", &ds.test);
    put_fashion_names(f);
    H5Fclose(f);
    sc_dataset_free(&ds);

    sc_config c[3];
    for (int i = 0; i < 3; i++) small_config(&c[i]);
    snprintf(c[1].dataset, sizeof c[1].dataset, "idx");
    set_str(c[1].train_images, tri);
    set_str(c[1].train_labels, trl);
    set_str(c[1].test_images, tei);
    set_str(c[1].test_labels, tel);
    snprintf(c[2].dataset, sizeof c[2].dataset, "hdf5");
    set_str(c[2].data_file, h5);
    char logs[3][700], ck[3][800];
    sc_train_result r[3];
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(sc_config_validate(&c[i], &err) == SC_OK, "%s", err.msg);
        snprintf(logs[i], sizeof logs[i], "%s/run%d.h5", tmpdir, i);
        sc_train_opts o = {.log_path = logs[i], .quiet = 1};
        ck_assert_msg(sc_train(&c[i], &o, &r[i], &err) == SC_OK, "run %d: %s", i, err.msg);
        ck_assert_int_eq(sc_run_checkpoint_name(logs[i], ck[i], sizeof ck[i]), 0);
    }
    ck_assert_msg(r[0].test_err_m1 < 80.0, "test error %.2f%% (chance 90%%)", r[0].test_err_m1);
    for (int i = 1; i < 3; i++) {
        ck_assert_double_eq(r[0].test_err_m1, r[i].test_err_m1);
        ck_assert_double_eq(r[0].test_err_mc, r[i].test_err_mc);
        ck_assert_msg(same_tensors(ck[0], ck[i]), "run %d: other parameters than dataset = fashion", i);
    }
    remove_tmpdir();
}
END_TEST

/* Colour clothes on colour clutter, 28 x 36 RGB (not square): Fashion-MNIST
 * items, each tinted by a colour of its own and placed at a random column on a
 * background of a few coloured squares, written as an HDF5 file with the
 * class names. Deterministic (its own generator). */
static void colour_split(hid_t f, const char *grp, const sc_images *src, int n, uint64_t seed) {
    enum { H = 28, W = 36 };
    uint8_t *pix = calloc((size_t)n * H * W * 3, 1), *lab = malloc((size_t)n);
    ck_assert(pix && lab);
    sc_rng r;
    sc_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        uint8_t *o = pix + (size_t)i * H * W * 3;
        for (int k = 0; k < 4; k++) {   /* clutter: 6x6 squares of random colours */
            int y0 = (int)sc_rng_int(&r, H - 6), x0 = (int)sc_rng_int(&r, W - 6);
            uint8_t col[3] = {(uint8_t)sc_rng_int(&r, 120), (uint8_t)sc_rng_int(&r, 120), (uint8_t)sc_rng_int(&r, 120)};
            for (int y = y0; y < y0 + 6; y++)
                for (int x = x0; x < x0 + 6; x++)
                    for (int c = 0; c < 3; c++) o[(y * W + x) * 3 + c] = col[c];
        }
        float tint[3];
        for (int c = 0; c < 3; c++) tint[c] = 0.3f + 0.7f * (float)sc_rng_int(&r, 1000) / 1000.0f;
        int dx = (int)sc_rng_int(&r, W - 28 + 1);
        const uint8_t *img = src->pix + (size_t)i * 28 * 28;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
                for (int c = 0; c < 3; c++) {
                    float v = o[(y * W + x + dx) * 3 + c] + tint[c] * img[y * 28 + x];
                    o[(y * W + x + dx) * 3 + c] = (uint8_t)(v > 255.0f ? 255.0f : v);
                }
        lab[i] = src->labels[i];
    }
    sc_images im = {.n = n, .h = H, .w = W, .c = 3, .pix = pix, .labels = lab};
    h5_split(f, grp, &im);
    free(pix);
    free(lab);
}

static void write_colour_dataset(const char *path) {
    sc_dataset ds;
    sc_err err = {0};
    ck_assert_msg(sc_dataset_load(&ds, FASHION_DIR, 10, 0, 1, &err) == SC_OK, "%s", err.msg);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    colour_split(f, "/train", &ds.train, 3000, 11);
    colour_split(f, "/test", &ds.test, 600, 12);
    put_fashion_names(f);
    H5Fclose(f);
    sc_dataset_free(&ds);
}

/* Every model kind trains on the colour, non-square dataset and learns (well
 * below the 90% error of chance after 6 epochs). */
START_TEST(colour_dataset_trains_every_kind) {
    if (!have_fashion()) return;
    make_tmpdir();
    char h5[600];
    snprintf(h5, sizeof h5, "%s/colour.h5", tmpdir);
    write_colour_dataset(h5);
    static const char *const kinds[4] = {"ram", "soft", "fc", "selfattn"};
    for (int k = 0; k < 4; k++) {
        sc_config c;
        small_config(&c);
        snprintf(c.dataset, sizeof c.dataset, "hdf5");
        set_str(c.data_file, h5);
        snprintf(c.kind, sizeof c.kind, "%s", kinds[k]);
        c.max_train = 0;
        c.val_size = 300;
        c.epochs = 6;
        c.glimpses = k == 0 ? 4 : 2;
        c.lr = 2e-3f;
        c.scales = 3;   /* the RAM and soft sensor: 8, 16 and 32 px */
        ck_assert_msg(sc_config_validate(&c, &err_unused) == SC_OK, "%s", err_unused.msg);
        char logp[700];
        snprintf(logp, sizeof logp, "%s/%s.h5", tmpdir, kinds[k]);
        sc_train_opts o = {.log_path = logp, .quiet = 1};
        sc_train_result r;
        sc_err err = {0};
        ck_assert_msg(sc_train(&c, &o, &r, &err) == SC_OK, "%s: %s", kinds[k], err.msg);
        fprintf(stderr, "colour 28x36 RGB, %s: test error %.2f%% (M=1) after 6 epochs\n", kinds[k], r.test_err_m1);
        ck_assert_msg(r.test_err_m1 < 70.0, "%s: test error %.2f%% (chance 90%%)", kinds[k], r.test_err_m1);
        if (k == 2) continue;   /* fc: nothing looked at, no glimpses to view */
#ifndef SACCADE_HAVE_VIEWER
        continue;               /* built without the viewer (SACCADE_BUILD_VIEWER=OFF) */
#endif
        /* viewed: `saccade view` draws the colour images in colour */
        char cmd[2400], png[700];
        snprintf(png, sizeof png, "%s/%s.png", tmpdir, kinds[k]);
        snprintf(cmd, sizeof cmd, "'%s/saccade' view '%s' --png '%s' >/dev/null 2>&1 </dev/null", SACCADE_BINARY_DIR,
                 logp, png);
        int st = system(cmd);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: saccade view failed (status %d)", kinds[k], st);
        png_image im;
        memset(&im, 0, sizeof im);
        im.version = PNG_IMAGE_VERSION;
        ck_assert_msg(png_image_begin_read_from_file(&im, png), "%s: %s", png, im.message);
        im.format = PNG_FORMAT_RGB;
        uint8_t *buf = malloc(PNG_IMAGE_SIZE(im));
        ck_assert_msg(png_image_finish_read(&im, NULL, buf, 0, NULL), "%s: %s", png, im.message);
        long coloured = 0;   /* pixels whose channels differ a lot: tinted items and clutter, not grey */
        for (size_t i = 0; i < (size_t)im.width * im.height; i++) {
            int r0 = buf[3 * i], g0 = buf[3 * i + 1], b0 = buf[3 * i + 2];
            int mx = r0 > g0 ? (r0 > b0 ? r0 : b0) : (g0 > b0 ? g0 : b0);
            int mn = r0 < g0 ? (r0 < b0 ? r0 : b0) : (g0 < b0 ? g0 : b0);
            coloured += mx - mn > 60;
        }
        free(buf);
        ck_assert_msg(coloured > 1000, "%s: %ld strongly coloured pixels in %ux%u", png, coloured, im.width, im.height);
    }
    remove_tmpdir();
}
END_TEST

/* A bad dataset stops `saccade train` with one line naming the file and exit
 * status 1, before anything is written. */
START_TEST(bad_data_writes_nothing) {
    make_tmpdir();
    char path[700];
    snprintf(path, sizeof path, "%s/d.h5", tmpdir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    uint8_t pix[4 * 8 * 8] = {0};
    int64_t lab[4] = {0, 1, 2, 1};
    hsize_t d[3] = {4, 8, 8};
    const char *dsets[4] = {"/train_images", "/train_labels", "/test_images", "/test_labels"};
    for (int i = 0; i < 4; i++) {
        hid_t sp = H5Screate_simple(i % 2 ? 1 : 3, d, NULL);
        hid_t ds = H5Dcreate2(f, dsets[i], i % 2 ? H5T_STD_I64LE : H5T_STD_U8LE, sp, H5P_DEFAULT, H5P_DEFAULT,
                              H5P_DEFAULT);
        if (i == 3) lab[3] = 7;   /* a test label the training labels do not have */
        H5Dwrite(ds, i % 2 ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, i % 2 ? (void *)lab : pix);
        H5Dclose(ds);
        H5Sclose(sp);
    }
    H5Fclose(f);
    char ini[700], cmd[4000];
    snprintf(ini, sizeof ini, "%s/d.ini", tmpdir);
    const char *text = "[data]\ndataset = hdf5\nfile = d.h5\ntrain_images = /train_images\n"
                       "train_labels = /train_labels\ntest_images = /test_images\ntest_labels = /test_labels\n"
                       "val_size = 1\n";
    spit(ini, text, strlen(text));
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/saccade' train d.ini --out run.h5 >out.txt 2>err.txt </dev/null", tmpdir,
             SACCADE_BINARY_DIR);
    int st = system(cmd);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
    snprintf(path, sizeof path, "%s/err.txt", tmpdir);
    char *e = slurp(path, NULL);
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(strstr(e, "d.h5: dataset /test_labels: label 7 at item 3") && strstr(e, "expected 0..2"), "%s", e);
    ck_assert_msg(strchr(e, '\n') == e + strlen(e) - 1, "not one line: %s", e);
    free(e);
    snprintf(path, sizeof path, "%s/run.h5", tmpdir);
    ck_assert_int_ne(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/run.ckpt.h5", tmpdir);
    ck_assert_int_ne(access(path, F_OK), 0);
    remove_tmpdir();
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("owndata_train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, fashion_through_idx_and_hdf5);
    tcase_add_test(tc, colour_dataset_trains_every_kind);
    tcase_add_test(tc, bad_data_writes_nothing);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(make_suite)
