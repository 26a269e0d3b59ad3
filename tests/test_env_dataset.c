/* test_env_dataset.c - train/validation splits, the minibatch iterator,
 * loading a dataset directory (raw and .gz files, missing files), and the
 * real MNIST / Fashion-MNIST files when they are on this machine.
 *
 * The real-data checks use facts published with the datasets (counts, first
 * labels, class frequencies) so they fail if a file is misread. They are
 * skipped, loudly, when the data are absent.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/dataset.h"
#include "env/idx.h"
#include "tests/testutil.h"

static char g_dir[1024];

static void dir_setup(void) {
    snprintf(g_dir, sizeof g_dir, "%s/test_env_dataset.XXXXXX", SACCADE_BINARY_DIR);
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        abort();
    }
}

static void dir_teardown(void) {
    DIR *d = opendir(g_dir);
    if (d) {
        struct dirent *e;
        char p[2048];
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(g_dir);
}

/* n images of h x w; image i has every pixel = i mod 256, label i mod 10. */
static sc_images fake_images(int n, int h, int w) {
    sc_images im = {.n = n, .h = h, .w = w};
    im.pix = malloc((size_t)n * h * w);
    im.labels = malloc((size_t)n);
    ck_assert(im.pix && im.labels);
    for (int i = 0; i < n; i++) {
        memset(im.pix + (size_t)i * h * w, i & 255, (size_t)h * w);
        im.labels[i] = (uint8_t)(i % 10);
    }
    im.num_classes = n >= 10 ? 10 : n;
    return im;
}

static sc_dataset fake_dataset(int n, int n_val, uint64_t seed) {
    sc_images tr = fake_images(n, 4, 4), te = fake_images(7, 4, 4);
    sc_dataset ds;
    sc_err err = {0};
    ck_assert_msg(sc_dataset_from_images(&ds, &tr, &te, n_val, seed, &err) == SC_OK, "%s", err.msg);
    ck_assert_ptr_null(tr.pix);   /* ownership moved */
    ck_assert_ptr_null(te.pix);
    return ds;
}

START_TEST(test_split_sizes_disjoint_cover) {
    const int n = 1000, n_val = 137;
    sc_dataset ds = fake_dataset(n, n_val, 42);
    ck_assert_int_eq(ds.n_train, n - n_val);
    ck_assert_int_eq(ds.n_val, n_val);
    ck_assert_int_eq(ds.n_test, 7);
    ck_assert_int_eq(ds.num_classes, 10);
    ck_assert_int_eq(ds.train.n, n);
    for (int i = 0; i < ds.n_test; i++) ck_assert_int_eq(ds.test_idx[i], i);
    int *seen = calloc((size_t)n, sizeof(int));
    ck_assert_ptr_nonnull(seen);
    for (int i = 0; i < ds.n_train; i++) {
        ck_assert(ds.train_idx[i] >= 0 && ds.train_idx[i] < n);
        if (i) ck_assert_int_lt(ds.train_idx[i - 1], ds.train_idx[i]);   /* ascending */
        seen[ds.train_idx[i]] += 1;
    }
    for (int i = 0; i < ds.n_val; i++) {
        ck_assert(ds.val_idx[i] >= 0 && ds.val_idx[i] < n);
        ck_assert_msg(seen[ds.val_idx[i]] == 0, "image %d is in both train and validation", ds.val_idx[i]);
        seen[ds.val_idx[i]] += 1;
    }
    for (int i = 0; i < n; i++) ck_assert_msg(seen[i] == 1, "image %d appears %d times", i, seen[i]);
    /* The validation set is not simply the first or last images. */
    ck_assert_int_ne(ds.val_idx[n_val - 1] - ds.val_idx[0], n_val - 1);
    free(seen);
    sc_dataset_free(&ds);
    ck_assert_ptr_null(ds.train_idx);
    sc_dataset_free(NULL);
}
END_TEST

START_TEST(test_split_seeded) {
    sc_dataset a = fake_dataset(500, 50, 7), b = fake_dataset(500, 50, 7), c = fake_dataset(500, 50, 8);
    ck_assert(memcmp(a.val_idx, b.val_idx, 50 * sizeof(int)) == 0);
    ck_assert(memcmp(a.train_idx, b.train_idx, 450 * sizeof(int)) == 0);
    int same = 0;
    for (int i = 0; i < 50; i++) same += a.val_idx[i] == c.val_idx[i];
    ck_assert_msg(same < 50, "seeds 7 and 8 give the same validation set");
    sc_dataset_free(&a);
    sc_dataset_free(&b);
    sc_dataset_free(&c);
    /* n_val = 0: everything is training. */
    sc_dataset z = fake_dataset(20, 0, 1);
    ck_assert_int_eq(z.n_train, 20);
    ck_assert_int_eq(z.n_val, 0);
    for (int i = 0; i < 20; i++) ck_assert_int_eq(z.train_idx[i], i);
    sc_dataset_free(&z);
}
END_TEST

START_TEST(test_split_bad_args) {
    sc_err err = {0};
    sc_dataset ds;
    for (int k = 0; k < 2; k++) {
        int n_val = k == 0 ? 10 : -1;   /* 10 of 10 leaves no training image */
        sc_images tr = fake_images(10, 4, 4), te = fake_images(3, 4, 4);
        int rc = sc_dataset_from_images(&ds, &tr, &te, n_val, 1, &err);
        ck_assert_int_eq(rc, SC_EARG);
        ck_assert_msg(strstr(err.msg, "expected 0..9") != NULL, "%s", err.msg);
        ck_assert_ptr_null(ds.train_idx);
        ck_assert_ptr_null(ds.train.pix);
        ck_assert_ptr_null(tr.pix);   /* freed: ownership was taken */
    }
    sc_images tr = fake_images(10, 4, 4), te = fake_images(3, 5, 4);
    int rc = sc_dataset_from_images(&ds, &tr, &te, 2, 1, &err);
    ck_assert_int_eq(rc, SC_EARG);
    ck_assert_msg(strstr(err.msg, "5x4") && strstr(err.msg, "expected 4x4"), "%s", err.msg);
}
END_TEST

/* Collects one epoch; checks every pool entry comes exactly once. */
static void run_epoch(sc_batcher *b, int epoch, int *order, const int *pool, int n, int B) {
    sc_batcher_epoch(b, epoch);
    int got = 0, m;
    int *batch = malloc((size_t)B * sizeof(int));
    ck_assert_ptr_nonnull(batch);
    int nb = 0;
    while ((m = sc_batcher_next(b, batch)) > 0) {
        ck_assert_int_le(m, B);
        ck_assert_int_le(got + m, n);
        if (got + m < n) ck_assert_int_eq(m, B);   /* only the last may be short */
        memcpy(order + got, batch, (size_t)m * sizeof(int));
        got += m;
        nb++;
    }
    ck_assert_int_eq(got, n);
    ck_assert_int_eq(nb, (n + B - 1) / B);
    ck_assert_int_eq(sc_batcher_next(b, batch), 0);   /* stays over */
    free(batch);
    /* A permutation of the pool (pool values are distinct). */
    int *cnt = calloc(4000, sizeof(int));
    ck_assert_ptr_nonnull(cnt);
    for (int i = 0; i < n; i++) cnt[pool[i]]++;
    for (int i = 0; i < n; i++) cnt[order[i]]--;
    for (int i = 0; i < 4000; i++) ck_assert_msg(cnt[i] == 0, "index %d count off by %d", i, cnt[i]);
    free(cnt);
}

START_TEST(test_batcher) {
    const int n = 103, B = 10;
    int pool[103];
    for (int i = 0; i < n; i++) pool[i] = 3 * i + 17;   /* not 0..n-1 */
    int e0[103], e0b[103], e1[103], again[103];
    sc_batcher b, b2;
    sc_err err = {0};
    ck_assert(sc_batcher_init(&b, pool, n, B, 1, 99, &err) == SC_OK);
    ck_assert(sc_batcher_init(&b2, pool, n, B, 1, 99, &err) == SC_OK);
    run_epoch(&b, 0, e0, pool, n, B);
    run_epoch(&b, 1, e1, pool, n, B);
    run_epoch(&b2, 0, e0b, pool, n, B);
    ck_assert(memcmp(e0, e0b, sizeof e0) == 0);          /* reproducible per (seed, epoch) */
    ck_assert(memcmp(e0, e1, sizeof e0) != 0);           /* different across epochs */
    ck_assert(memcmp(e0, pool, sizeof e0) != 0);         /* actually shuffled */
    run_epoch(&b2, 1, again, pool, n, B);                /* epoch 1 directly, after 0 */
    ck_assert(memcmp(e1, again, sizeof e1) == 0);
    sc_batcher_free(&b2);
    ck_assert(sc_batcher_init(&b2, pool, n, B, 1, 100, &err) == SC_OK);
    run_epoch(&b2, 0, again, pool, n, B);
    ck_assert(memcmp(e0, again, sizeof e0) != 0);        /* seed matters */
    sc_batcher_free(&b2);
    sc_batcher_free(&b);
    sc_batcher_free(NULL);

    /* No shuffle: pool order; the batcher starts at epoch 0 after init. */
    ck_assert(sc_batcher_init(&b, pool, n, 50, 0, 99, &err) == SC_OK);
    int batch[50];
    ck_assert_int_eq(sc_batcher_next(&b, batch), 50);
    ck_assert(memcmp(batch, pool, sizeof batch) == 0);
    ck_assert_int_eq(sc_batcher_next(&b, batch), 50);
    ck_assert_int_eq(sc_batcher_next(&b, batch), 3);     /* short last batch */
    ck_assert_int_eq(batch[2], pool[102]);
    ck_assert_int_eq(sc_batcher_next(&b, batch), 0);
    sc_batcher_free(&b);

    ck_assert_int_eq(sc_batcher_init(&b, pool, n, 0, 1, 1, &err), SC_EARG);
    ck_assert_ptr_null(b.order);
    ck_assert_int_eq(sc_batcher_init(&b, pool, 0, 4, 1, 1, &err), SC_EARG);
}
END_TEST

/* Writes a tiny dataset directory: n_train/n_test images of 3x3. */
static void write_set(const char *dir, const char *prefix, int n, int gzip_images, int gzip_labels) {
    sc_err err = {0};
    char p[2048];
    uint8_t *pix = malloc((size_t)n * 9), *lab = malloc((size_t)n);
    ck_assert(pix && lab);
    for (int i = 0; i < n * 9; i++) pix[i] = (uint8_t)(i % 251);
    for (int i = 0; i < n; i++) lab[i] = (uint8_t)(i % 4);
    sc_idx im = {.ndim = 3, .dims = {n, 3, 3}, .data = pix, .size = (size_t)n * 9};
    sc_idx lb = {.ndim = 1, .dims = {n}, .data = lab, .size = (size_t)n};
    snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte%s", dir, prefix, gzip_images ? ".gz" : "");
    ck_assert_msg(sc_idx_write(p, &im, gzip_images, &err) == SC_OK, "%s", err.msg);
    snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte%s", dir, prefix, gzip_labels ? ".gz" : "");
    ck_assert_msg(sc_idx_write(p, &lb, gzip_labels, &err) == SC_OK, "%s", err.msg);
    free(pix);
    free(lab);
}

START_TEST(test_load_dir) {
    sc_dataset ds;
    sc_err err = {0};
    /* Empty directory: the first file is missing; names tried + hint. */
    int rc = sc_dataset_load(&ds, g_dir, 10, 5, 1, &err);
    ck_assert_int_eq(rc, SC_EIO);
    ck_assert_msg(strstr(err.msg, g_dir) && strstr(err.msg, "train-images-idx3-ubyte.gz") &&
                      strstr(err.msg, "train-images-idx3-ubyte or") &&
                      strstr(err.msg, "scripts/setup.sh"),
                  "%s", err.msg);
    ck_assert_ptr_null(ds.train_idx);

    write_set(g_dir, "train", 40, 1, 0);   /* mixed raw and .gz */
    rc = sc_dataset_load(&ds, g_dir, 10, 5, 1, &err);
    ck_assert_int_eq(rc, SC_EIO);
    ck_assert_msg(strstr(err.msg, "t10k-images-idx3-ubyte.gz"), "%s", err.msg);

    write_set(g_dir, "t10k", 12, 0, 1);
    /* The labels are 0..3: a dataset declared with 3 classes refuses the
     * first file holding a 3, naming it; nothing is kept. */
    rc = sc_dataset_load(&ds, g_dir, 3, 5, 1, &err);
    ck_assert_int_eq(rc, SC_EFORMAT);
    ck_assert_msg(strstr(err.msg, "train-labels-idx1-ubyte") && strstr(err.msg, "label 3 at item 3") &&
                      strstr(err.msg, "expected 0..2"),
                  "%s", err.msg);
    ck_assert_ptr_null(ds.train.pix);
    ck_assert_msg(sc_dataset_load(&ds, g_dir, 4, 5, 1, &err) == SC_OK, "%s", err.msg);
    ck_assert_int_eq(ds.train.n, 40);
    ck_assert_int_eq(ds.test.n, 12);
    ck_assert_int_eq(ds.train.h, 3);
    ck_assert_int_eq(ds.n_train, 35);
    ck_assert_int_eq(ds.n_val, 5);
    ck_assert_int_eq(ds.n_test, 12);
    ck_assert_int_eq(ds.num_classes, 4);
    ck_assert_uint_eq(ds.train.pix[9 * 39 + 8], (uint8_t)((9 * 39 + 8) % 251));
    ck_assert_uint_eq(ds.test.labels[11], 3);
    sc_dataset_free(&ds);

    /* Raw is preferred when both exist: make the .gz one unreadable junk. */
    char p[2048];
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", g_dir);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("junk", f);
    fclose(f);
    ck_assert_msg(sc_dataset_load(&ds, g_dir, 10, 5, 1, &err) == SC_OK, "%s", err.msg);
    sc_dataset_free(&ds);

    /* n_val out of range is refused before anything is kept. */
    rc = sc_dataset_load(&ds, g_dir, 10, 40, 1, &err);
    ck_assert_int_eq(rc, SC_EARG);
    ck_assert_ptr_null(ds.train.pix);
}
END_TEST

/* Loads dir and checks the published facts of an MNIST-format dataset. */
static void check_real(const char *name, const char *dir, int first_train_label, int first_test_label,
                       const int *train_class_counts) {
    sc_dataset ds;
    sc_err err = {0};
    ck_assert_msg(sc_dataset_load(&ds, dir, 10, 5000, 1, &err) == SC_OK, "%s: %s", name, err.msg);
    ck_assert_int_eq(ds.train.n, 60000);
    ck_assert_int_eq(ds.test.n, 10000);
    ck_assert_int_eq(ds.train.h, 28);
    ck_assert_int_eq(ds.train.w, 28);
    ck_assert_int_eq(ds.test.h, 28);
    ck_assert_int_eq(ds.num_classes, 10);
    ck_assert_int_eq(ds.n_train, 55000);
    ck_assert_int_eq(ds.n_val, 5000);
    ck_assert_int_eq(ds.n_test, 10000);
    ck_assert_int_eq(ds.train.labels[0], first_train_label);
    ck_assert_int_eq(ds.test.labels[0], first_test_label);
    int cnt[10] = {0};
    for (int i = 0; i < ds.train.n; i++) cnt[ds.train.labels[i]]++;
    for (int c = 0; c < 10; c++)
        ck_assert_msg(cnt[c] == train_class_counts[c], "%s class %d: %d images, expected %d", name, c,
                      cnt[c], train_class_counts[c]);
    /* Images are not blank: the first has ink, within byte range. */
    long ink = 0;
    for (int i = 0; i < 28 * 28; i++) ink += ds.train.pix[i];
    ck_assert_int_gt(ink, 10 * 255);
    sc_dataset_free(&ds);
}

static int dir_exists(const char *d) {
    struct stat st;
    return stat(d, &st) == 0 && S_ISDIR(st.st_mode);
}

START_TEST(test_real_fashion_mnist) {
    const char *dir = "/usr/share/datasets/fashion-mnist";
    if (!dir_exists(dir)) {
        fprintf(stderr, "SKIPPED: test_real_fashion_mnist: %s not found (install dataset-fashion-mnist)\n",
                dir);
        return;
    }
    static const int counts[10] = {6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000};
    check_real("fashion-mnist", dir, 9, 9, counts);   /* ankle boot first in both files */
}
END_TEST

START_TEST(test_real_mnist) {
    const char *env = getenv("SACCADE_MNIST_DIR");
    const char *dir = env && env[0] ? env : SACCADE_SOURCE_DIR "/data/mnist";
    if (!dir_exists(dir)) {
        fprintf(stderr,
                "SKIPPED: test_real_mnist: %s not found (set SACCADE_MNIST_DIR or run scripts/setup.sh)\n",
                dir);
        return;
    }
    static const int counts[10] = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
    check_real("mnist", dir, 5, 7, counts);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("env_dataset");
    TCase *tc = tcase_create("split");
    tcase_add_test(tc, test_split_sizes_disjoint_cover);
    tcase_add_test(tc, test_split_seeded);
    tcase_add_test(tc, test_split_bad_args);
    tcase_add_test(tc, test_batcher);
    suite_add_tcase(s, tc);
    TCase *ld = tcase_create("load");
    tcase_add_unchecked_fixture(ld, dir_setup, dir_teardown);
    tcase_add_test(ld, test_load_dir);
    suite_add_tcase(s, ld);
    TCase *real = tcase_create("real");
    tcase_set_timeout(real, 120);
    tcase_add_test(real, test_real_fashion_mnist);
    tcase_add_test(real, test_real_mnist);
    suite_add_tcase(s, real);
    return s;
}

SC_TEST_MAIN(make_suite)
