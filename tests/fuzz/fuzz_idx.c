/* fuzz_idx.c - libFuzzer harness for the IDX reader (env/idx.c) and the
 * dataset loader on top of it (env/dataset.c).
 *
 * The input: byte 0 chooses what is read, byte 1 a parameter, bytes 2-3 (modes
 * that need two files) where the first file ends; the rest is file content,
 * written as it is or gzip-compressed with zlib (so the fuzzer explores both
 * the gzip layer and the IDX data behind it).
 *   mode 0  one file, sc_idx_read_rank with rank byte1 % 5 (0 = any); when it
 *           reads, sc_idx_write (raw or gzip) and a re-read give the same array
 *   mode 1  sc_images_load of an image file and a label file, byte1 + 1 classes
 *   mode 2  sc_dataset_load of a folder whose train and t10k files are those two
 *           (raw or .gz names), 10 classes, byte1 validation images
 * byte 0: bits 0-1 mode (3 = mode 0), bit 2 gzip the first file, bit 3 the second.
 * Every failure must be a negative code with one line naming the file (or the
 * folder); every success must hold what the header promises.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "env/dataset.h"
#include "env/idx.h"
#include "tests/fuzz/fuzz_common.h"

/* gzip(in) into a malloc'd buffer; *n its length. */
static uint8_t *gzip_bytes(const uint8_t *in, size_t len, size_t *n) {
    z_stream z;
    memset(&z, 0, sizeof z);
    /* a small window and hash (9, 1): zlib zeroes its tables for each stream, and with the
     * defaults that zeroing was most of an input's time */
    if (deflateInit2(&z, 1, Z_DEFLATED, 9 + 16, 1, Z_DEFAULT_STRATEGY) != Z_OK) fz_fail("deflateInit2");
    size_t cap = deflateBound(&z, (uLong)len) + 32;
    uint8_t *out = malloc(cap);
    if (!out) fz_fail("out of memory");
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) fz_fail("deflate");
    *n = z.total_out;
    deflateEnd(&z);
    return out;
}

static void put(const char *path, const uint8_t *p, size_t n, int gz) {
    if (!gz) {
        fz_write(path, p, n);
        return;
    }
    size_t zn = 0;
    uint8_t *z = gzip_bytes(p, n, &zn);
    fz_write(path, z, zn);
    free(z);
}

static void check_idx(const sc_idx *x, int want_rank) {
    if (x->ndim < 1 || x->ndim > SC_IDX_MAX_DIMS || (want_rank && x->ndim != want_rank))
        fz_fail("read an IDX file of rank %d (asked %d)", x->ndim, want_rank);
    size_t size = 1;
    for (int i = 0; i < x->ndim; i++) {
        if (x->dims[i] < 1) fz_fail("dimension %d is %d", i, x->dims[i]);
        size *= (size_t)x->dims[i];
    }
    if (size != x->size || !x->data) fz_fail("size %zu, dims give %zu", x->size, size);
}

static void one_file(const char *dir, const uint8_t *p, size_t n, int gz, int rank) {
    char path[300], back[300];
    fz_path(path, sizeof path, dir, "one.idx");
    put(path, p, n, gz);
    sc_idx x;
    sc_err err = {0};
    int rc = sc_idx_read_rank(path, rank, "fuzz input", &x, &err);
    fz_check_error("sc_idx_read_rank", rc, &err, path);
    if (rc == SC_OK) {
        check_idx(&x, rank);
        /* what was read writes and reads back the same */
        fz_path(back, sizeof back, dir, "back.idx");
        sc_err e2 = {0};
        if (sc_idx_write(back, &x, gz, &e2) != SC_OK) fz_fail("sc_idx_write: %s", e2.msg);
        sc_idx y;
        if (sc_idx_read(back, &y, &e2) != SC_OK) fz_fail("re-read: %s", e2.msg);
        if (y.ndim != x.ndim || memcmp(y.dims, x.dims, sizeof x.dims) || y.size != x.size ||
            memcmp(y.data, x.data, x.size))
            fz_fail("an IDX file written and read back differs");
        sc_idx_free(&y);
        unlink(back);
    } else if (x.data || x.size || x.ndim) {
        fz_fail("sc_idx_read_rank failed but left data in *out");
    }
    sc_idx_free(&x);
    unlink(path);
}

static void check_images(const sc_images *im, int classes) {
    if (im->n < 1 || im->h < 1 || im->w < 1 || !im->pix || !im->labels || im->num_classes != classes)
        fz_fail("sc_images_load: %d x %d x %d, %d classes", im->n, im->h, im->w, im->num_classes);
    for (int i = 0; i < im->n; i++)
        if (im->labels[i] >= classes) fz_fail("label %d of item %d, %d classes", im->labels[i], i, classes);
}

static void two_files(const char *dir, const uint8_t *a, size_t na, int gza, const uint8_t *b, size_t nb,
                      int gzb, int classes) {
    char ip[300], lp[300];
    fz_path(ip, sizeof ip, dir, "images.idx");
    fz_path(lp, sizeof lp, dir, "labels.idx");
    put(ip, a, na, gza);
    put(lp, b, nb, gzb);
    sc_images im;
    sc_err err = {0};
    int rc = sc_images_load(&im, ip, lp, classes, &err);
    /* the message names the images file, the labels file, or both */
    fz_check_error("sc_images_load", rc, &err, dir);
    if (rc == SC_OK) check_images(&im, classes);
    sc_images_free(&im);
    unlink(ip);
    unlink(lp);
}

static void dataset(const char *dir, const uint8_t *a, size_t na, int gza, const uint8_t *b, size_t nb, int gzb,
                    int n_val) {
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char ds[300], p[4][400];
    fz_path(ds, sizeof ds, dir, "ds");
    mkdir(ds, 0700);
    for (int i = 0; i < 4; i++) {
        int gz = i % 2 ? gzb : gza;
        snprintf(p[i], sizeof p[i], "%s/%s%s", ds, names[i], gz ? ".gz" : "");
        put(p[i], i % 2 ? b : a, i % 2 ? nb : na, gz);
    }
    sc_dataset d;
    sc_err err = {0};
    int rc = sc_dataset_load(&d, ds, 10, n_val, 1, &err);
    fz_check_error("sc_dataset_load", rc, &err, ds);
    if (rc == SC_OK) {
        check_images(&d.train, 10);
        check_images(&d.test, 10);
        if (d.n_train + d.n_val != d.train.n || d.n_test != d.test.n) fz_fail("sc_dataset_load: split sizes");
        for (int i = 0; i < d.n_train; i++)
            if (d.train_idx[i] < 0 || d.train_idx[i] >= d.train.n) fz_fail("train index out of range");
        for (int i = 0; i < d.n_val; i++)
            if (d.val_idx[i] < 0 || d.val_idx[i] >= d.train.n) fz_fail("validation index out of range");
    }
    sc_dataset_free(&d);
    for (int i = 0; i < 4; i++) unlink(p[i]);
    rmdir(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *dir = fz_dir("fuzz_idx");
    if (size < 2) return 0;
    const int mode = data[0] & 3, gza = (data[0] >> 2) & 1, gzb = (data[0] >> 3) & 1, param = data[1];
    if (mode == 0 || mode == 3) {
        one_file(dir, data + 2, size - 2, gza, param % 5);
        return 0;
    }
    if (size < 4) return 0;
    const uint8_t *rest = data + 4;
    size_t nrest = size - 4, split = ((size_t)data[2] << 8 | data[3]);
    if (split > nrest) split = nrest;
    if (mode == 1) two_files(dir, rest, split, gza, rest + split, nrest - split, gzb, param + 1);
    else dataset(dir, rest, split, gza, rest + split, nrest - split, gzb, param);
    return 0;
}
