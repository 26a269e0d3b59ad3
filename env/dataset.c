/* dataset.c - image datasets, the train/validation split and minibatches.
 *
 * An sc_images pairs an image IDX file (n x h x w bytes) with its label IDX
 * file (n bytes). An sc_dataset holds the training and test files plus three
 * index lists: validation = the first n_val entries of a permutation of the
 * training images drawn from sc_rng_derive(seed, SPLIT_STREAM), train = all
 * the others; both lists are sorted ascending, so they are sets and the split
 * does not depend on anything but (n, n_val, seed).
 *
 * A batcher walks a pool of indices in minibatches; epoch e's order is the
 * pool shuffled by sc_rng_derive(seed, e), so any epoch can be replayed alone;
 * sc_batcher_init leaves the batcher at the start of epoch 0.
 *
 * Ownership: sc_dataset_from_images always takes *train and *test, on success
 * and on failure alike (on failure they are freed); both are left zeroed.
 *
 * Not here: canvases (canvas.c) and any float conversion of pixels.
 */
#include "dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "idx.h"

/* Sub-stream of `seed` that chooses the validation images. */
#define SPLIT_STREAM 0x5A11D5E7ull

int sc_images_load(sc_images *out, const char *images_path, const char *labels_path, int num_classes,
                   sc_err *err) {
    memset(out, 0, sizeof *out);
    if (num_classes < 0 || num_classes > SC_CLASSES_MAX)
        return sc_errf(err, SC_EARG, "sc_images_load: %s: %d classes (expected 1..%d, or 0 for any)", labels_path,
                       num_classes, SC_CLASSES_MAX);
    sc_idx im, lb;
    int rc = sc_idx_read_ranks(images_path, 3, 4, "images: n x h x w, or n x h x w x c", &im, err);
    if (rc != SC_OK) return rc;
    if (im.ndim == 4 && im.dims[3] != 1 && im.dims[3] != 3) {
        rc = sc_errf(err, SC_EFORMAT, "%s: images of %d channels (%dx%dx%dx%d; expected 1 or 3 channels: grey or RGB)",
                     images_path, im.dims[3], im.dims[0], im.dims[1], im.dims[2], im.dims[3]);
        sc_idx_free(&im);
        return rc;
    }
    rc = sc_idx_read_rank(labels_path, 1, "labels: n", &lb, err);
    if (rc != SC_OK) {
        sc_idx_free(&im);
        return rc;
    }
    if (im.dims[0] != lb.dims[0])
        rc = sc_errf(err, SC_EFORMAT,
                     "image/label count mismatch: %s has %d images, %s has %d labels (expected equal counts)",
                     images_path, im.dims[0], labels_path, lb.dims[0]);
    /* Every label is one of the dataset's classes; the first one that is not
     * is named with its position (0-based item, byte offset in the raw file). */
    for (size_t i = 0; rc == SC_OK && num_classes > 0 && i < lb.size; i++)
        if (lb.data[i] >= num_classes)
            rc = sc_errf(err, SC_EFORMAT,
                         "%s: label %d at item %zu (byte %zu of the uncompressed file) is not a class of this dataset (expected 0..%d)",
                         labels_path, lb.data[i], i, 8 + i, num_classes - 1);
    if (rc != SC_OK) {
        sc_idx_free(&im);
        sc_idx_free(&lb);
        return rc;
    }
    out->n = im.dims[0];
    out->h = im.dims[1];
    out->w = im.dims[2];
    out->c = im.ndim == 4 ? im.dims[3] : 1;
    out->pix = im.data;
    out->labels = lb.data;
    out->num_classes = num_classes > 0 ? num_classes : SC_CLASSES_MAX;
    return SC_OK;
}

void sc_images_free(sc_images *im) {
    if (!im) return;
    free(im->pix);
    free(im->labels);
    memset(im, 0, sizeof *im);
}

/* Finds dir/name or dir/name.gz (raw preferred) into path[len]. */
static int find_file(char *path, size_t len, const char *dir, const char *name, sc_err *err) {
    struct stat st;
    int n = snprintf(path, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= len)
        return sc_errf(err, SC_EARG, "%s/%s: path too long (expected under %zu characters)", dir, name,
                       len - 4);
    if (stat(path, &st) == 0) return SC_OK;
    n = snprintf(path, len, "%s/%s.gz", dir, name);
    if (n < 0 || (size_t)n >= len)
        return sc_errf(err, SC_EARG, "%s/%s: path too long (expected under %zu characters)", dir, name,
                       len - 4);
    if (stat(path, &st) == 0) return SC_OK;
    return sc_errf(err, SC_EIO,
                   "%s: missing dataset file %s (expected %s/%s or %s/%s.gz, found neither); run scripts/setup.sh to download the datasets",
                   dir, name, dir, name, dir, name);
}

int sc_dataset_load(sc_dataset *ds, const char *dir, int num_classes, int n_val, uint64_t seed,
                    sc_err *err) {
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    memset(ds, 0, sizeof *ds);
    if (!dir) return sc_errf(err, SC_EARG, "sc_dataset_load: directory is NULL");
    if (n_val < 0)
        return sc_errf(err, SC_EARG, "%s: validation size %d (expected >= 0)", dir, n_val);
    char paths[4][4096];
    for (int i = 0; i < 4; i++) {
        int rc = find_file(paths[i], sizeof paths[i], dir, names[i], err);
        if (rc != SC_OK) return rc;
    }
    sc_images train, test;
    int rc = sc_images_load(&train, paths[0], paths[1], num_classes, err);
    if (rc != SC_OK) return rc;
    rc = sc_images_load(&test, paths[2], paths[3], num_classes, err);
    if (rc != SC_OK) {
        sc_images_free(&train);
        return rc;
    }
    if (test.h != train.h || test.w != train.w || test.c != train.c) {
        rc = sc_errf(err, SC_EFORMAT, "%s: test images are %dx%dx%d (expected %dx%dx%d like %s)", paths[2],
                     test.h, test.w, test.c, train.h, train.w, train.c, paths[0]);
        sc_images_free(&train);
        sc_images_free(&test);
        return rc;
    }
    rc = sc_dataset_from_images(ds, &train, &test, n_val, seed, err);
    if (rc != SC_OK && err) {
        /* its messages say "dataset: ..."; name the folder the files came from */
        char why[SC_ERR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        sc_errf(err, rc, "%s: %s", dir, why);
    }
    return rc;
}

/* malloc that never returns NULL for n == 0 (so "allocated" is unambiguous). */
static int *alloc_ints(int n) { return malloc((size_t)(n > 0 ? n : 1) * sizeof(int)); }

int sc_dataset_from_images(sc_dataset *ds, sc_images *train, sc_images *test, int n_val,
                           uint64_t seed, sc_err *err) {
    memset(ds, 0, sizeof *ds);
    int rc = SC_OK;
    if (train->n < 1 || !train->pix || !train->labels)
        rc = sc_errf(err, SC_EARG, "dataset: training set has %d images (expected at least 1)", train->n);
    else if (n_val < 0 || n_val > train->n - 1)
        rc = sc_errf(err, SC_EARG, "dataset: validation size %d (expected 0..%d for %d training images)",
                     n_val, train->n - 1, train->n);
    else if (test->n < 0 || (test->n > 0 && (!test->pix || !test->labels)))
        rc = sc_errf(err, SC_EARG, "dataset: test set of %d images without pixel or label data", test->n);
    else if (test->n > 0 && (test->h != train->h || test->w != train->w))
        rc = sc_errf(err, SC_EARG, "dataset: test images are %dx%d (expected %dx%d like the training images)",
                     test->h, test->w, train->h, train->w);
    else if (test->n > 0 && sc_images_channels(test) != sc_images_channels(train))
        rc = sc_errf(err, SC_EARG, "dataset: test images have %d channel(s) (expected %d like the training images)",
                     sc_images_channels(test), sc_images_channels(train));
    if (rc != SC_OK) {
        sc_images_free(train);
        sc_images_free(test);
        return rc;
    }
    int n = train->n;
    int *perm = alloc_ints(n);
    unsigned char *is_val = calloc((size_t)n, 1);
    ds->train_idx = alloc_ints(n - n_val);
    ds->val_idx = alloc_ints(n_val);
    ds->test_idx = alloc_ints(test->n);
    if (!perm || !is_val || !ds->train_idx || !ds->val_idx || !ds->test_idx) {
        free(perm);
        free(is_val);
        sc_dataset_free(ds);
        sc_images_free(train);
        sc_images_free(test);
        return sc_errf(err, SC_ENOMEM, "dataset: out of memory for the index lists of %d images", n);
    }
    /* perm[0..n_val) are the validation images; flag them, then list both
     * sets in ascending order. */
    sc_rng r;
    sc_rng_derive(&r, seed, SPLIT_STREAM);
    for (int i = 0; i < n; i++) perm[i] = i;
    sc_rng_shuffle(&r, perm, n);
    for (int i = 0; i < n_val; i++) is_val[perm[i]] = 1;
    int nt = 0, nv = 0;
    for (int i = 0; i < n; i++) {
        if (is_val[i]) ds->val_idx[nv++] = i;
        else ds->train_idx[nt++] = i;
    }
    free(perm);
    free(is_val);
    for (int i = 0; i < test->n; i++) ds->test_idx[i] = i;
    ds->n_train = nt;
    ds->n_val = nv;
    ds->n_test = test->n;
    ds->train = *train;
    ds->test = *test;
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    ds->num_classes = ds->train.num_classes > ds->test.num_classes ? ds->train.num_classes
                                                                   : ds->test.num_classes;
    return SC_OK;
}

int sc_batcher_init(sc_batcher *b, const int *pool, int n, int B, int shuffle, uint64_t seed,
                    sc_err *err) {
    memset(b, 0, sizeof *b);
    if (n < 1 || !pool)
        return sc_errf(err, SC_EARG, "batcher: pool of %d indices%s (expected at least 1)", n,
                       pool ? "" : " (NULL)");
    if (B < 1) return sc_errf(err, SC_EARG, "batcher: batch size %d (expected >= 1)", B);
    b->order = alloc_ints(n);
    if (!b->order)
        return sc_errf(err, SC_ENOMEM, "batcher: out of memory for the order of %d indices", n);
    b->pool = pool;
    b->n = n;
    b->B = B;
    b->shuffle = shuffle != 0;
    b->seed = seed;
    sc_batcher_epoch(b, 0);
    return SC_OK;
}

void sc_batcher_epoch(sc_batcher *b, int epoch) {
    memcpy(b->order, b->pool, (size_t)b->n * sizeof(int));
    if (b->shuffle) {
        sc_rng r;
        sc_rng_derive(&r, b->seed, (uint64_t)(int64_t)epoch);
        sc_rng_shuffle(&r, b->order, b->n);
    }
    b->pos = 0;
}

int sc_batcher_next(sc_batcher *b, int *idx) {
    int m = b->n - b->pos;
    if (m > b->B) m = b->B;
    if (m <= 0) return 0;
    memcpy(idx, b->order + b->pos, (size_t)m * sizeof(int));
    b->pos += m;
    return m;
}

void sc_batcher_free(sc_batcher *b) {
    if (!b) return;
    free(b->order);
    memset(b, 0, sizeof *b);
}

void sc_dataset_free(sc_dataset *ds) {
    if (!ds) return;
    sc_images_free(&ds->train);
    sc_images_free(&ds->test);
    free(ds->train_idx);
    free(ds->val_idx);
    free(ds->test_idx);
    free(ds->class_names);
    memset(ds, 0, sizeof *ds);
}

const char *sc_dataset_class_name(const sc_dataset *ds, int k, char *buf, size_t n) {
    if (ds->class_names && k >= 0 && k < ds->num_classes) return ds->class_names[k];
    snprintf(buf, n, "%d", k);
    return buf;
}

/* The classes of labels that name none: 0..max over the training labels.
 * Test labels above that are refused, naming where they are (`test_where`). */
static int classes_from_labels(const sc_images *train, const sc_images *test, const char *test_where,
                               int *classes, sc_err *err) {
    int mx = 0;
    for (int i = 0; i < train->n; i++)
        if (train->labels[i] > mx) mx = train->labels[i];
    for (int i = 0; i < test->n; i++)
        if (test->labels[i] > mx)
            return sc_errf(err, SC_EFORMAT,
                           "%s: label %d at item %d is not a class of the training set (expected 0..%d: its labels)",
                           test_where, test->labels[i], i, mx);
    *classes = mx + 1;
    return SC_OK;
}

int sc_dataset_open(sc_dataset *ds, const sc_data_spec *spec, int n_val, uint64_t seed, sc_err *err) {
    memset(ds, 0, sizeof *ds);
    if (!spec) return sc_errf(err, SC_EARG, "sc_dataset_open: no data specification");
    sc_images train, test;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    char (*names)[SC_CLASS_NAME_MAX] = NULL;
    int nnames = 0, classes = 0, rc = SC_OK;
    const char *where = "";   /* what the dataset is, for messages of the class checks */
    char wbuf[4200];
    switch (spec->format) {
    case SC_DATA_MNIST_DIR:
        if (spec->num_classes < 2 || spec->num_classes > SC_CLASSES_MAX)
            return sc_errf(err, SC_EARG, "sc_dataset_open: %d classes (expected 2..%d)", spec->num_classes,
                           SC_CLASSES_MAX);
        rc = sc_dataset_load(ds, spec->dir, spec->num_classes, n_val, seed, err);
        if (rc != SC_OK) return rc;
        ds->class_names = calloc((size_t)ds->num_classes, sizeof *ds->class_names);
        if (!ds->class_names) {
            sc_dataset_free(ds);
            return sc_errf(err, SC_ENOMEM, "%s: out of memory for %d class names", spec->dir, spec->num_classes);
        }
        for (int k = 0; k < ds->num_classes; k++)
            snprintf(ds->class_names[k], SC_CLASS_NAME_MAX, "%s", spec->names ? spec->names[k] : "");
        if (!spec->names)
            for (int k = 0; k < ds->num_classes; k++) snprintf(ds->class_names[k], SC_CLASS_NAME_MAX, "%d", k);
        return SC_OK;
    case SC_DATA_IDX:
        for (int i = 0; i < 4; i++)
            if (!spec->paths[i] || !spec->paths[i][0])
                return sc_errf(err, SC_EARG, "sc_dataset_open: the IDX dataset's %s file is not given",
                               (const char *[]){"train images", "train labels", "test images", "test labels"}[i]);
        if ((rc = sc_images_load(&train, spec->paths[0], spec->paths[1], 0, err)) != SC_OK) return rc;
        if ((rc = sc_images_load(&test, spec->paths[2], spec->paths[3], 0, err)) != SC_OK) {
            sc_images_free(&train);
            return rc;
        }
        if (test.h != train.h || test.w != train.w || test.c != train.c)
            rc = sc_errf(err, SC_EFORMAT, "%s: test images are %dx%dx%d (expected %dx%dx%d like %s)", spec->paths[2],
                         test.h, test.w, test.c, train.h, train.w, train.c, spec->paths[0]);
        where = spec->paths[3];
        break;
    case SC_DATA_HDF5:
        if (!spec->file || !spec->file[0])
            return sc_errf(err, SC_EARG, "sc_dataset_open: the HDF5 dataset's file is not given");
        rc = sc_images_load_h5(&train, &test, &names, &nnames, spec->file, spec->paths, err);
        if (rc != SC_OK) return rc;
        snprintf(wbuf, sizeof wbuf, "%s: dataset %s", spec->file,
                 spec->paths[3] && spec->paths[3][0] ? spec->paths[3] : "/test/labels");
        where = wbuf;
        break;
    case SC_DATA_FOLDER:
        if (!spec->dir || !spec->dir[0])
            return sc_errf(err, SC_EARG, "sc_dataset_open: the image folder dataset's dir is not given");
        rc = sc_images_load_folder(&train, &test, &names, &nnames, spec->dir, err);
        if (rc != SC_OK) return rc;
        break;
    default:
        return sc_errf(err, SC_EARG, "sc_dataset_open: unknown format %d (expected 0..3)", (int)spec->format);
    }
    if (rc == SC_OK) {
        if (names) classes = nnames;   /* the loader checked every label against them */
        else rc = classes_from_labels(&train, &test, where, &classes, err);
    }
    if (rc == SC_OK && classes < 2)
        rc = sc_errf(err, SC_EFORMAT, "%s: %d class (every training label is %d; expected at least 2 classes)",
                     spec->format == SC_DATA_IDX ? spec->paths[1] : spec->format == SC_DATA_HDF5 ? spec->file : spec->dir,
                     classes, classes - 1);
    if (rc == SC_OK && !names) {
        names = calloc((size_t)classes, sizeof *names);
        if (!names) rc = sc_errf(err, SC_ENOMEM, "dataset: out of memory for %d class names", classes);
        for (int k = 0; names && k < classes; k++) snprintf(names[k], SC_CLASS_NAME_MAX, "%d", k);
    }
    if (rc != SC_OK) {
        free(names);
        sc_images_free(&train);
        sc_images_free(&test);
        return rc;
    }
    train.num_classes = test.num_classes = classes;
    if ((rc = sc_dataset_from_images(ds, &train, &test, n_val, seed, err)) != SC_OK) {
        free(names);
        return rc;
    }
    ds->num_classes = classes;
    ds->class_names = names;
    return SC_OK;
}
