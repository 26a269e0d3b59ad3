/* h5data.c - a dataset in one HDF5 file: sc_images_load_h5 (dataset.h).
 *
 * The file holds four datasets, by default /train/images, /train/labels,
 * /test/images and /test/labels (any paths can be given):
 *   images  (n, h, w) or (n, h, w, c) of 8-bit unsigned integers, c = 1 or 3
 *   labels  (n) integers of any width and sign, each in 0..255
 * and optionally the class names: a `class_names` attribute of the root
 * group, or else a /class_names dataset, of strings (fixed or variable
 * length, as h5py writes a list of str or a bytes array), one per class.
 * With names, every label must be below their count.
 *
 * Every check happens before the data are read: the file is HDF5, each path
 * exists and is a dataset, its type and rank are what is expected, the counts
 * agree and the sizes fit in memory. Errors name the file and the dataset (or
 * attribute) and say what was expected; HDF5's own error stack is never
 * printed (its automatic printing is off for the call and restored after).
 *
 * Not here: writing such files (README shows h5py's few lines; the tests
 * write theirs with the C API) or the class checks of unnamed labels
 * (dataset.c).
 */
#include "dataset.h"

#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Images larger than this (bytes of one split) are refused before allocation. */
#define H5DATA_MAX_BYTES ((unsigned long long)1 << 36)

static const char *const default_paths[4] = {"/train/images", "/train/labels", "/test/images", "/test/labels"};

/* Whether every component of the absolute or relative path exists, walking
 * from the root (H5Lexists fails rather than answers on a missing parent). */
static int path_exists(hid_t f, const char *path) {
    char buf[1024];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return 0;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char keep = buf[i];
        buf[i] = '\0';
        int ok = !strcmp(buf, "/") || H5Lexists(f, buf, H5P_DEFAULT) > 0;
        buf[i] = keep;
        if (!ok) return 0;
    }
    return 1;
}

/* Opens path as a dataset: the missing path and the group are named. */
static int open_dataset(hid_t f, const char *file, const char *path, hid_t *d, sc_err *err) {
    if (!path_exists(f, path))
        return sc_errf(err, SC_EFORMAT, "%s: no dataset %s (expected a dataset at that path)",
                       file, path);
    hid_t o = H5Oopen(f, path, H5P_DEFAULT);
    if (o < 0) return sc_errf(err, SC_EFORMAT, "%s: %s cannot be opened (expected a dataset)", file, path);
    if (H5Iget_type(o) != H5I_DATASET) {
        H5Oclose(o);
        return sc_errf(err, SC_EFORMAT, "%s: %s is a group, not a dataset (expected a dataset)", file, path);
    }
    *d = o;
    return SC_OK;
}

/* The dataset's simple extent into dims (rank in lo..hi), each 1..INT_MAX. */
static int read_shape(hid_t d, const char *file, const char *path, int lo, int hi, const char *what,
                      int *rank, hsize_t dims[4], sc_err *err) {
    hid_t sp = H5Dget_space(d);
    int r = sp >= 0 && H5Sget_simple_extent_type(sp) == H5S_SIMPLE ? H5Sget_simple_extent_ndims(sp) : 0;
    if (r >= lo && r <= hi) H5Sget_simple_extent_dims(sp, dims, NULL);
    if (sp >= 0) H5Sclose(sp);
    if (r < lo || r > hi) {
        if (lo == hi)
            return sc_errf(err, SC_EFORMAT, "%s: %s has %d dimension%s (expected %d: %s)", file, path, r,
                           r == 1 ? "" : "s", lo, what);
        return sc_errf(err, SC_EFORMAT, "%s: %s has %d dimension%s (expected %d or %d: %s)", file, path, r,
                       r == 1 ? "" : "s", lo, hi, what);
    }
    for (int i = 0; i < r; i++)
        if (dims[i] < 1 || dims[i] > INT_MAX)
            return sc_errf(err, SC_EFORMAT, "%s: %s dimension %d is %llu (expected 1..%d)", file, path, i,
                           (unsigned long long)dims[i], INT_MAX);
    *rank = r;
    return SC_OK;
}

/* One split's images: (n, h, w[, c]) uint8 into im (pix only). */
static int read_images(hid_t f, const char *file, const char *path, sc_images *im, sc_err *err) {
    hid_t d;
    int rc = open_dataset(f, file, path, &d, err);
    if (rc != SC_OK) return rc;
    hid_t t = H5Dget_type(d);
    int ok = t >= 0 && H5Tget_class(t) == H5T_INTEGER && H5Tget_size(t) == 1 && H5Tget_sign(t) == H5T_SGN_NONE;
    if (t >= 0) H5Tclose(t);
    int rank = 0;
    hsize_t dims[4] = {0, 0, 0, 0};
    if (!ok)
        rc = sc_errf(err, SC_EFORMAT, "%s: %s is not of 8-bit unsigned integers (expected uint8 images)", file, path);
    else
        rc = read_shape(d, file, path, 3, 4, "images n x h x w, or n x h x w x c", &rank, dims, err);
    if (rc == SC_OK && rank == 4 && dims[3] != 1 && dims[3] != 3)
        rc = sc_errf(err, SC_EFORMAT, "%s: %s has %llu channels (expected 1 or 3: grey or RGB)", file, path,
                     (unsigned long long)dims[3]);
    unsigned long long bytes = 0;
    if (rc == SC_OK) {
        bytes = (unsigned long long)dims[0];
        for (int i = 1; i < rank && bytes <= H5DATA_MAX_BYTES; i++) bytes *= dims[i];
        if (bytes > H5DATA_MAX_BYTES)
            rc = sc_errf(err, SC_EFORMAT, "%s: %s declares more than %llu bytes of images (expected a dataset that fits in memory)",
                         file, path, H5DATA_MAX_BYTES);
    }
    uint8_t *pix = NULL;
    if (rc == SC_OK && !(pix = malloc((size_t)bytes)))
        rc = sc_errf(err, SC_ENOMEM, "%s: out of memory for the %llu bytes of %s", file, bytes, path);
    if (rc == SC_OK && H5Dread(d, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, pix) < 0)
        rc = sc_errf(err, SC_EIO, "%s: %s cannot be read (expected its %llu bytes; a damaged file?)", file, path, bytes);
    H5Dclose(d);
    if (rc != SC_OK) {
        free(pix);
        return rc;
    }
    im->n = (int)dims[0];
    im->h = (int)dims[1];
    im->w = (int)dims[2];
    im->c = rank == 4 ? (int)dims[3] : 1;
    im->pix = pix;
    return SC_OK;
}

/* One split's labels: (n) integers, each 0..255 and, with names, below nnames. */
static int read_labels(hid_t f, const char *file, const char *path, int n, int nnames, sc_images *im,
                       sc_err *err) {
    hid_t d;
    int rc = open_dataset(f, file, path, &d, err);
    if (rc != SC_OK) return rc;
    hid_t t = H5Dget_type(d);
    int ok = t >= 0 && H5Tget_class(t) == H5T_INTEGER;
    if (t >= 0) H5Tclose(t);
    int rank = 0;
    hsize_t dims[4] = {0, 0, 0, 0};
    if (!ok) rc = sc_errf(err, SC_EFORMAT, "%s: %s is not of integers (expected integer labels)", file, path);
    else rc = read_shape(d, file, path, 1, 1, "labels n", &rank, dims, err);
    if (rc == SC_OK && dims[0] != (hsize_t)n)
        rc = sc_errf(err, SC_EFORMAT, "%s: %s has %llu labels for %d images (expected equal counts)", file, path,
                     (unsigned long long)dims[0], n);
    int64_t *v = NULL;
    uint8_t *lab = NULL;
    if (rc == SC_OK && (!(v = malloc((size_t)n * sizeof *v)) || !(lab = malloc((size_t)n))))
        rc = sc_errf(err, SC_ENOMEM, "%s: out of memory for the %d labels of %s", file, n, path);
    if (rc == SC_OK && H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
        rc = sc_errf(err, SC_EIO, "%s: %s cannot be read (expected %d integers; a damaged file?)", file, path, n);
    int top = nnames > 0 ? nnames - 1 : SC_CLASSES_MAX - 1;
    for (int i = 0; rc == SC_OK && i < n; i++) {
        if (v[i] < 0 || v[i] > top)
            rc = sc_errf(err, SC_EFORMAT, "%s: %s: label %lld at item %d is not a class (expected 0..%d%s)", file, path,
                         (long long)v[i], i, top, nnames > 0 ? ", one per class name" : "");
        else lab[i] = (uint8_t)v[i];
    }
    H5Dclose(d);
    free(v);
    if (rc != SC_OK) {
        free(lab);
        return rc;
    }
    im->labels = lab;
    return SC_OK;
}

/* The names of obj (an attribute when is_attr, else a dataset): a 1-D array
 * of strings into *names. `what` names it in messages. */
static int read_names(hid_t obj, int is_attr, const char *file, const char *what,
                      char (**names)[SC_CLASS_NAME_MAX], int *nnames, sc_err *err) {
    hid_t t = is_attr ? H5Aget_type(obj) : H5Dget_type(obj);
    hid_t sp = is_attr ? H5Aget_space(obj) : H5Dget_space(obj);
    int rc = SC_OK;
    hsize_t n = 0;
    if (t < 0 || H5Tget_class(t) != H5T_STRING)
        rc = sc_errf(err, SC_EFORMAT, "%s: %s is not of strings (expected one name per class)", file, what);
    else if (sp < 0 || H5Sget_simple_extent_type(sp) != H5S_SIMPLE || H5Sget_simple_extent_ndims(sp) != 1)
        rc = sc_errf(err, SC_EFORMAT, "%s: %s is not a 1-D array (expected one name per class)", file, what);
    else {
        H5Sget_simple_extent_dims(sp, &n, NULL);
        if (n < 2 || n > SC_CLASSES_MAX)
            rc = sc_errf(err, SC_EFORMAT, "%s: %s holds %llu names (expected 2..%d classes)", file, what,
                         (unsigned long long)n, SC_CLASSES_MAX);
    }
    int vlen = rc == SC_OK && H5Tis_variable_str(t) > 0;
    size_t fixed = rc == SC_OK && !vlen ? H5Tget_size(t) : 0;
    if (rc == SC_OK && !vlen && (fixed < 1 || fixed > 4096))
        rc = sc_errf(err, SC_EFORMAT, "%s: %s has strings of %zu bytes (expected names under %d bytes)", file, what,
                     fixed, SC_CLASS_NAME_MAX);
    hid_t mt = rc == SC_OK ? H5Tcopy(H5T_C_S1) : -1;
    char **vbuf = NULL, *fbuf = NULL;
    if (rc == SC_OK) {
        /* fixed: one more byte than stored, so the conversion always ends a name with NUL */
        H5Tset_size(mt, vlen ? H5T_VARIABLE : fixed + 1);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        H5Tset_cset(mt, H5Tget_cset(t));
        if (vlen ? !(vbuf = calloc(n, sizeof *vbuf)) : !(fbuf = calloc(n, fixed + 1)))
            rc = sc_errf(err, SC_ENOMEM, "%s: out of memory for %s", file, what);
    }
    void *buf = vlen ? (void *)vbuf : (void *)fbuf;
    if (rc == SC_OK && (is_attr ? H5Aread(obj, mt, buf) : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf)) < 0) {
        rc = sc_errf(err, SC_EIO, "%s: %s cannot be read (expected %llu strings; a damaged file?)", file, what,
                     (unsigned long long)n);
        if (vlen) memset(vbuf, 0, n * sizeof *vbuf);   /* nothing to reclaim */
    }
    char (*out)[SC_CLASS_NAME_MAX] = NULL;
    if (rc == SC_OK && !(out = calloc(n, sizeof *out)))
        rc = sc_errf(err, SC_ENOMEM, "%s: out of memory for %s", file, what);
    for (hsize_t i = 0; rc == SC_OK && i < n; i++) {
        const char *s = vlen ? vbuf[i] : fbuf + i * (fixed + 1);
        size_t len = s ? strlen(s) : 0;
        int ctrl = 0;
        for (size_t j = 0; j < len; j++) ctrl |= (unsigned char)s[j] < 0x20;
        if (len == 0 || len >= SC_CLASS_NAME_MAX || ctrl)
            rc = sc_errf(err, SC_EFORMAT, "%s: %s: name %llu is %s (expected 1..%d printable bytes)", file, what,
                         (unsigned long long)i, len == 0 ? "empty" : ctrl ? "not printable" : "too long",
                         SC_CLASS_NAME_MAX - 1);
        else memcpy(out[i], s, len + 1);
        for (hsize_t j = 0; rc == SC_OK && j < i; j++)
            if (!strcmp(out[j], out[i]))
                rc = sc_errf(err, SC_EFORMAT, "%s: %s: names %llu and %llu are both \"%s\" (expected distinct names)",
                             file, what, (unsigned long long)j, (unsigned long long)i, out[i]);
    }
    if (vbuf) {
        H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, vbuf);
        free(vbuf);
    }
    free(fbuf);
    if (mt >= 0) H5Tclose(mt);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (rc != SC_OK) {
        free(out);
        return rc;
    }
    *names = out;
    *nnames = (int)n;
    return SC_OK;
}

/* The class names of the file, if it has them (the root's attribute first). */
static int read_class_names(hid_t f, const char *file, char (**names)[SC_CLASS_NAME_MAX], int *nnames,
                            sc_err *err) {
    if (H5Aexists(f, "class_names") > 0) {
        hid_t a = H5Aopen(f, "class_names", H5P_DEFAULT);
        if (a < 0) return sc_errf(err, SC_EFORMAT, "%s: its class_names attribute cannot be opened", file);
        int rc = read_names(a, 1, file, "the root's class_names attribute", names, nnames, err);
        H5Aclose(a);
        return rc;
    }
    if (H5Lexists(f, "class_names", H5P_DEFAULT) > 0) {
        hid_t d;
        int rc = open_dataset(f, file, "/class_names", &d, err);
        if (rc != SC_OK) return rc;
        rc = read_names(d, 0, file, "dataset /class_names", names, nnames, err);
        H5Dclose(d);
        return rc;
    }
    return SC_OK;
}

static int load_h5_open(hid_t f, sc_images *train, sc_images *test, char (**names)[SC_CLASS_NAME_MAX], int *nnames,
                        const char *file, const char *const p[4], sc_err *err) {
    int rc = read_class_names(f, file, names, nnames, err);
    if (rc == SC_OK) rc = read_images(f, file, p[0], train, err);
    if (rc == SC_OK) rc = read_labels(f, file, p[1], train->n, *nnames, train, err);
    if (rc == SC_OK) rc = read_images(f, file, p[2], test, err);
    if (rc == SC_OK) rc = read_labels(f, file, p[3], test->n, *nnames, test, err);
    if (rc == SC_OK && (test->h != train->h || test->w != train->w || test->c != train->c))
        rc = sc_errf(err, SC_EFORMAT, "%s: %s are %dx%dx%d (expected %dx%dx%d like %s)", file, p[2], test->h, test->w,
                     test->c, train->h, train->w, train->c, p[0]);
    return rc;
}

int sc_images_load_h5(sc_images *train, sc_images *test, char (**names)[SC_CLASS_NAME_MAX], int *nnames,
                      const char *file, const char *const paths[4], sc_err *err) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    *names = NULL;
    *nnames = 0;
    const char *p[4];
    for (int i = 0; i < 4; i++) p[i] = paths && paths[i] && paths[i][0] ? paths[i] : default_paths[i];
    struct stat st;
    if (stat(file, &st) != 0)
        return sc_errf(err, SC_EIO, "%s: cannot open (expected an HDF5 file, found: %s)", file, strerror(errno));
    if (!S_ISREG(st.st_mode)) return sc_errf(err, SC_EIO, "%s: not a regular file (expected an HDF5 file)", file);
    H5E_auto2_t efunc = NULL;
    void *edata = NULL;
    H5Eget_auto2(H5E_DEFAULT, &efunc, &edata);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int rc = SC_OK;
    hid_t f = -1;
    if (H5Fis_hdf5(file) <= 0) rc = sc_errf(err, SC_EFORMAT, "%s: not an HDF5 file (expected one with %s, %s, %s and %s)",
                                           file, p[0], p[1], p[2], p[3]);
    else if ((f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        rc = sc_errf(err, SC_EIO, "%s: cannot be opened by HDF5 (expected a readable HDF5 file)", file);
    if (rc == SC_OK) rc = load_h5_open(f, train, test, names, nnames, file, p, err);
    if (f >= 0) H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, efunc, edata);
    if (rc != SC_OK) {
        sc_images_free(train);
        sc_images_free(test);
        free(*names);
        *names = NULL;
        *nnames = 0;
    }
    return rc;
}
