/* test_env_idx.c - IDX reading and writing: round trips (raw and gzip) and the
 * "Limits": every malformed file gives the documented SC_E* code, a message
 * naming the file and saying what was expected and what was found, and an
 * empty *out.
 *
 * Files are written by hand here (not by sc_idx_write) so that a reader bug
 * cannot hide behind a matching writer bug. They live in a mkdtemp directory
 * under the build directory, removed after the run.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "env/dataset.h"
#include "env/idx.h"
#include "tests/testutil.h"

static char g_dir[1024];

static void dir_setup(void) {
    snprintf(g_dir, sizeof g_dir, "%s/test_env_idx.XXXXXX", SACCADE_BINARY_DIR);
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

/* g_dir/name in a rotating static buffer (several paths live at once). */
static const char *tpath(const char *name) {
    static char bufs[4][2048];
    static int next = 0;
    char *p = bufs[next++ % 4];
    snprintf(p, 2048, "%s/%s", g_dir, name);
    return p;
}

static void write_raw(const char *path, const uint8_t *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_gz(const char *path, const uint8_t *bytes, size_t n) {
    gzFile gz = gzopen(path, "wb");
    ck_assert_msg(gz != NULL, "cannot create %s", path);
    ck_assert_int_eq(gzwrite(gz, bytes, (unsigned)n), (int)n);
    ck_assert_int_eq(gzclose(gz), Z_OK);
}

/* An IDX byte image: header (magic 00 00 type ndim, big-endian dims) then
 * prod(dims) data bytes with value (i*7+3) mod 256, plus `extra` bytes
 * (negative: cut that many bytes off the end). */
static uint8_t *make_idx(int type, int ndim, const uint32_t *dims, long extra, size_t *n) {
    size_t size = 1;
    for (int i = 0; i < ndim; i++) size *= dims[i];
    if (ndim == 0) size = 0;
    size_t full = 4 + 4 * (size_t)ndim + size;
    size_t total = (size_t)((long)full + extra);
    uint8_t *b = calloc(full + (extra > 0 ? (size_t)extra : 0) + 1, 1);
    ck_assert_ptr_nonnull(b);
    b[0] = 0; b[1] = 0; b[2] = (uint8_t)type; b[3] = (uint8_t)ndim;
    for (int i = 0; i < ndim; i++) {
        b[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
        b[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        b[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
        b[7 + 4 * i] = (uint8_t)dims[i];
    }
    for (size_t i = 0; i < size; i++) b[4 + 4 * (size_t)ndim + i] = (uint8_t)(i * 7 + 3);
    for (size_t i = full; i < total; i++) b[i] = 0x55;
    *n = total;
    return b;
}

/* Checks a failed read: code, *out left empty, and the message contains the
 * path and each of the NULL-terminated fragments. */
static void expect_fail(int rc, int want, const sc_idx *out, const sc_err *err, const char *path, ...) {
    ck_assert_msg(rc == want, "%s: got code %d (%s), expected %d (%s); message: %s", path, rc,
                  sc_strerror(rc), want, sc_strerror(want), err->msg);
    ck_assert_int_eq(err->code, want);
    if (out) {
        ck_assert_ptr_null(out->data);
        ck_assert_int_eq(out->ndim, 0);
        ck_assert_uint_eq(out->size, 0);
        for (int i = 0; i < SC_IDX_MAX_DIMS; i++) ck_assert_int_eq(out->dims[i], 0);
    }
    if (path) ck_assert_msg(strstr(err->msg, path) != NULL, "message lacks path %s: %s", path, err->msg);
    va_list ap;
    va_start(ap, path);
    const char *frag;
    while ((frag = va_arg(ap, const char *)) != NULL)
        ck_assert_msg(strstr(err->msg, frag) != NULL, "message lacks \"%s\": %s", frag, err->msg);
    va_end(ap);
}

/* *out is filled with junk first to check the reader clears it. */
static int read_junked(const char *path, sc_idx *out, sc_err *err) {
    memset(out, 0xAB, sizeof *out);
    memset(err, 0, sizeof *err);
    return sc_idx_read(path, out, err);
}

static void roundtrip(int gzip, int ndim, const int *dims) {
    sc_idx a = {0};
    a.ndim = ndim;
    a.size = 1;
    for (int i = 0; i < ndim; i++) {
        a.dims[i] = dims[i];
        a.size *= (size_t)dims[i];
    }
    a.data = malloc(a.size);
    ck_assert_ptr_nonnull(a.data);
    for (size_t i = 0; i < a.size; i++) a.data[i] = (uint8_t)(i * 31 + 11);
    const char *path = tpath(gzip ? "rt.idx.gz" : "rt.idx");
    sc_err err = {0};
    ck_assert_msg(sc_idx_write(path, &a, gzip, &err) == SC_OK, "%s", err.msg);

    /* The bytes on disk, checked independently of the reader. */
    size_t n;
    uint8_t *file = (uint8_t *)slurp(path, &n);
    ck_assert_msg(file != NULL, "cannot open %s", path);
    if (gzip) {
        ck_assert(n >= 2 && file[0] == 0x1f && file[1] == 0x8b);
    } else {
        ck_assert_uint_eq(n, 4 + 4 * (size_t)ndim + a.size);
        ck_assert(file[0] == 0 && file[1] == 0 && file[2] == 0x08 && file[3] == ndim);
        for (int i = 0; i < ndim; i++) {
            uint32_t d = ((uint32_t)file[4 + 4 * i] << 24) | ((uint32_t)file[5 + 4 * i] << 16) |
                         ((uint32_t)file[6 + 4 * i] << 8) | file[7 + 4 * i];
            ck_assert_uint_eq(d, (uint32_t)dims[i]);
        }
        ck_assert(memcmp(file + 4 + 4 * ndim, a.data, a.size) == 0);
    }
    free(file);
    char tmp[2100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_msg(access(tmp, F_OK) != 0, "%s left behind", tmp);

    sc_idx b;
    ck_assert_msg(read_junked(path, &b, &err) == SC_OK, "%s", err.msg);
    ck_assert_int_eq(b.ndim, ndim);
    for (int i = 0; i < ndim; i++) ck_assert_int_eq(b.dims[i], dims[i]);
    ck_assert_uint_eq(b.size, a.size);
    ck_assert(memcmp(a.data, b.data, a.size) == 0);
    sc_idx_free(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_int_eq(b.ndim, 0);
    sc_idx_free(&a);
    sc_idx_free(NULL);
}

START_TEST(test_roundtrip_raw) {
    roundtrip(0, 3, (int[]){5, 4, 3});
    roundtrip(0, 1, (int[]){7});
    roundtrip(0, 4, (int[]){2, 3, 1, 5});
}
END_TEST

START_TEST(test_roundtrip_gz) {
    roundtrip(1, 3, (int[]){5, 4, 3});
    roundtrip(1, 1, (int[]){70000});   /* more than one zlib buffer */
}
END_TEST

/* Hand-written files are read back exactly, raw and gzipped, and the gzip
 * reader is not fooled by the name. */
START_TEST(test_read_handmade) {
    size_t n;
    uint8_t *b = make_idx(0x08, 3, (uint32_t[]){2, 3, 4}, 0, &n);
    const char *raw = tpath("hand.gz");   /* raw despite the name */
    const char *gz = tpath("hand.idx");   /* gzipped despite the name */
    write_raw(raw, b, n);
    write_gz(gz, b, n);
    const char *paths[2] = {raw, gz};
    for (int k = 0; k < 2; k++) {
        sc_idx out;
        sc_err err;
        ck_assert_msg(read_junked(paths[k], &out, &err) == SC_OK, "%s", err.msg);
        ck_assert_int_eq(out.ndim, 3);
        ck_assert_int_eq(out.dims[0], 2);
        ck_assert_int_eq(out.dims[1], 3);
        ck_assert_int_eq(out.dims[2], 4);
        ck_assert_uint_eq(out.size, 24);
        for (size_t i = 0; i < 24; i++) ck_assert_uint_eq(out.data[i], (uint8_t)(i * 7 + 3));
        sc_idx_free(&out);
    }
    free(b);
}
END_TEST

START_TEST(test_missing_file) {
    const char *path = tpath("no-such-file-idx3-ubyte");
    sc_idx out;
    sc_err err;
    int rc = read_junked(path, &out, &err);
    expect_fail(rc, SC_EIO, &out, &err, path, "expected", "found", "No such file", NULL);
}
END_TEST

START_TEST(test_wrong_magic) {
    size_t n;
    uint8_t *b = make_idx(0x08, 1, (uint32_t[]){4}, 0, &n);
    b[0] = 0x01;
    b[1] = 0x02;
    const char *path = tpath("magic.idx");
    write_raw(path, b, n);
    sc_idx out;
    sc_err err;
    int rc = read_junked(path, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, path, "magic", "expected", "00 00", "found 01 02", NULL);
    /* Same inside gzip. */
    const char *gpath = tpath("magic.idx.gz");
    write_gz(gpath, b, n);
    rc = read_junked(gpath, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, gpath, "magic", "found 01 02", "gunzip", NULL);
    free(b);
}
END_TEST

START_TEST(test_wrong_type) {
    size_t n;
    uint8_t *b = make_idx(0x0D, 1, (uint32_t[]){4}, 0, &n);   /* 0x0D = float */
    const char *path = tpath("type.idx");
    write_raw(path, b, n);
    sc_idx out;
    sc_err err;
    int rc = read_junked(path, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, path, "expected 0x08", "found 0x0d", NULL);
    free(b);
}
END_TEST

START_TEST(test_bad_ndim) {
    sc_idx out;
    sc_err err;
    size_t n;
    uint8_t *b = make_idx(0x08, 0, NULL, 0, &n);
    const char *p0 = tpath("ndim0.idx");
    write_raw(p0, b, n);
    int rc = read_junked(p0, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, p0, "dimensions", "expected 1..4", "found 0", NULL);
    free(b);
    b = make_idx(0x08, 5, (uint32_t[]){1, 1, 1, 1, 2}, 0, &n);
    const char *p5 = tpath("ndim5.idx");
    write_raw(p5, b, n);
    rc = read_junked(p5, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, p5, "expected 1..4", "found 5", NULL);
    free(b);
}
END_TEST

START_TEST(test_truncated_by_one) {
    size_t n;
    uint8_t *b = make_idx(0x08, 3, (uint32_t[]){2, 3, 3}, -1, &n);
    const char *path = tpath("trunc.idx");
    write_raw(path, b, n);
    sc_idx out;
    sc_err err;
    int rc = read_junked(path, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, path, "truncated", "2x3x3", "expected 18", "found 17", NULL);
    /* A valid gzip stream of the same truncated content: same diagnosis. */
    const char *gpath = tpath("trunc.idx.gz");
    write_gz(gpath, b, n);
    rc = read_junked(gpath, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, gpath, "truncated", "expected 18", "found 17", NULL);
    free(b);
    /* Truncated inside the dimensions. */
    b = make_idx(0x08, 3, (uint32_t[]){2, 3, 3}, 0, &n);
    const char *hpath = tpath("trunc-hdr.idx");
    write_raw(hpath, b, 10);
    rc = read_junked(hpath, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, hpath, "truncated", "expected 12", "found 6", NULL);
    free(b);
}
END_TEST

/* A header promising 47 MB over a 10-byte body: reported, not allocated. */
START_TEST(test_truncated_huge_header) {
    size_t n;
    uint8_t *b = make_idx(0x08, 3, (uint32_t[]){1, 1, 10}, 0, &n);
    b[4] = 0; b[5] = 0; b[6] = 0xEA; b[7] = 0x60;   /* 60000 */
    b[11] = 28; b[15] = 28;
    const char *path = tpath("huge.idx");
    write_raw(path, b, n);
    sc_idx out;
    sc_err err;
    int rc = read_junked(path, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, path, "60000x28x28", "expected 47040000", "found 10", NULL);
    free(b);
}
END_TEST

START_TEST(test_trailing_byte) {
    size_t n;
    uint8_t *b = make_idx(0x08, 3, (uint32_t[]){2, 3, 3}, 1, &n);
    const char *path = tpath("extra.idx");
    write_raw(path, b, n);
    sc_idx out;
    sc_err err;
    int rc = read_junked(path, &out, &err);
    /* 16-byte header + 18 data bytes = 34 expected, 35 found. */
    expect_fail(rc, SC_EFORMAT, &out, &err, path, "1 trailing byte", "expected", "34 bytes", "found 35", NULL);
    const char *gpath = tpath("extra.idx.gz");
    write_gz(gpath, b, n);
    rc = read_junked(gpath, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, gpath, "1 trailing byte", "found 35", NULL);
    free(b);
}
END_TEST

START_TEST(test_zero_dimension) {
    size_t n;
    uint8_t *b = make_idx(0x08, 3, (uint32_t[]){2, 0, 3}, 0, &n);
    const char *path = tpath("zero.idx");
    write_raw(path, b, n);
    sc_idx out;
    sc_err err;
    int rc = read_junked(path, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, path, "dimension 1 is zero", "expected", "found 0", NULL);
    free(b);
}
END_TEST

START_TEST(test_dimension_overflow) {
    sc_idx out;
    sc_err err;
    /* Each dimension fits an int, the product does not fit 64 bits. */
    size_t n;
    uint8_t *b = make_idx(0x08, 4, (uint32_t[]){1, 1, 1, 1}, 0, &n);
    for (int i = 0; i < 4; i++) {
        b[4 + 4 * i] = 0x7F; b[5 + 4 * i] = 0xFF; b[6 + 4 * i] = 0xFF; b[7 + 4 * i] = 0xFF;
    }
    const char *path = tpath("overflow.idx");
    write_raw(path, b, n);
    int rc = read_junked(path, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, path, "overflow", "expected", "found", NULL);
    /* A dimension beyond INT_MAX. */
    b[4] = 0xFF;
    const char *big = tpath("bigdim.idx");
    write_raw(big, b, n);
    rc = read_junked(big, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, big, "too large", "found 4294967295", NULL);
    free(b);
}
END_TEST

START_TEST(test_corrupt_gzip) {
    size_t n;
    uint8_t *b = make_idx(0x08, 3, (uint32_t[]){40, 16, 16}, 0, &n);
    /* Less regular data than make_idx's ramp, so deflate output is long. */
    for (size_t i = 16; i < n; i++) b[i] = (uint8_t)((i * 2654435761u) >> 13);
    const char *path = tpath("corrupt.idx.gz");
    write_gz(path, b, n);
    size_t zn;
    uint8_t *z = (uint8_t *)slurp(path, &zn);
    ck_assert_ptr_nonnull(z);
    ck_assert_uint_gt(zn, 200);
    for (size_t i = zn / 2; i < zn / 2 + 16; i++) z[i] ^= 0xA5;
    write_raw(path, z, zn);
    sc_idx out;
    sc_err err;
    int rc = read_junked(path, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, path, "corrupt gzip", "expected valid gzip", "found", NULL);

    /* Cut in the middle of the deflate stream. */
    const char *cut = tpath("cut.idx.gz");
    write_raw(cut, z, zn / 3);
    rc = read_junked(cut, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, cut, "gzip", "expected", "found", NULL);

    /* Only the 8-byte CRC/length trailer damaged: all data decodes, the
     * check at the end must still fail. */
    write_gz(path, b, n);
    free(z);
    z = (uint8_t *)slurp(path, &zn);
    ck_assert_ptr_nonnull(z);
    z[zn - 6] ^= 0xFF;   /* inside the CRC32 */
    write_raw(path, z, zn);
    rc = read_junked(path, &out, &err);
    expect_fail(rc, SC_EFORMAT, &out, &err, path, "corrupt gzip", NULL);
    free(z);
    free(b);
}
END_TEST

START_TEST(test_write_errors) {
    sc_err err = {0};
    uint8_t data[6] = {1, 2, 3, 4, 5, 6};
    sc_idx a = {.ndim = 2, .dims = {2, 3}, .data = data, .size = 6};
    const char *bad = tpath("no-such-dir/out.idx");
    int rc = sc_idx_write(bad, &a, 0, &err);
    expect_fail(rc, SC_EIO, NULL, &err, bad, "No such file", NULL);

    sc_idx wrong = a;
    wrong.size = 5;
    const char *p = tpath("wrong.idx");
    rc = sc_idx_write(p, &wrong, 0, &err);
    expect_fail(rc, SC_EARG, NULL, &err, p, "expected", NULL);
    ck_assert_msg(access(p, F_OK) != 0, "%s written despite the error", p);
    wrong = a;
    wrong.dims[1] = 0;
    rc = sc_idx_write(p, &wrong, 1, &err);
    expect_fail(rc, SC_EARG, NULL, &err, p, "dimension 1 = 0", NULL);
    ck_assert_msg(access(p, F_OK) != 0, "%s written despite the error", p);
}
END_TEST

/* sc_images_load: the pairing checks, with both files named. */
START_TEST(test_images_count_mismatch) {
    size_t n;
    uint8_t *im = make_idx(0x08, 3, (uint32_t[]){3, 2, 2}, 0, &n);
    const char *ip = tpath("im-idx3-ubyte");
    write_raw(ip, im, n);
    free(im);
    uint8_t *lb = make_idx(0x08, 1, (uint32_t[]){4}, 0, &n);
    const char *lp = tpath("lb-idx1-ubyte");
    write_gz(lp, lb, n);
    free(lb);
    sc_images out;
    memset(&out, 0xAB, sizeof out);
    sc_err err = {0};
    int rc = sc_images_load(&out, ip, lp, 10, &err);
    expect_fail(rc, SC_EFORMAT, NULL, &err, ip, lp, "3 images", "4 labels", "expected", NULL);
    ck_assert_ptr_null(out.pix);
    ck_assert_ptr_null(out.labels);
    ck_assert_int_eq(out.n, 0);

    /* Images given as labels and vice versa: the wrong kind of IDX file,
     * named from its magic. */
    rc = sc_images_load(&out, lp, ip, 10, &err);
    expect_fail(rc, SC_EFORMAT, NULL, &err, lp, "an IDX file of 1 dimension", "expected 3 to 4 (images", NULL);
    ck_assert_ptr_null(out.pix);
    rc = sc_images_load(&out, ip, ip, 10, &err);
    expect_fail(rc, SC_EFORMAT, NULL, &err, ip, "an IDX file of 3 dimensions", "expected 1 (labels", NULL);
    ck_assert_ptr_null(out.labels);
    /* A missing label file names that file. */
    const char *missing = tpath("missing-labels");
    rc = sc_images_load(&out, ip, missing, 10, &err);
    expect_fail(rc, SC_EIO, NULL, &err, missing, NULL);
    ck_assert_ptr_null(out.pix);
}
END_TEST

/* An image file whose magic says 1-dimensional is the wrong kind of file,
 * not an image file with trailing bytes: the rank is refused from the magic
 * before the dimensions or data are read (here they promise 12 items of a
 * 2,000-byte file). */
START_TEST(test_images_rank_from_magic) {
    size_t n;
    uint8_t *im = make_idx(0x08, 3, (uint32_t[]){20, 10, 10}, 0, &n);
    im[3] = 1; /* the magic now says 1 dimension */
    const char *ip = tpath("rank1-images");
    write_raw(ip, im, n);
    free(im);
    uint8_t lbb[4 + 4 + 20] = {0, 0, 8, 1, 0, 0, 0, 20};
    const char *lp = tpath("rank1-labels");
    write_raw(lp, lbb, sizeof lbb);
    sc_images out;
    sc_err err = {0};
    int rc = sc_images_load(&out, ip, lp, 10, &err);
    expect_fail(rc, SC_EFORMAT, NULL, &err, ip, "an IDX file of 1 dimension (magic 00 00 08 01)",
                "expected 3 to 4 (images: n x h x w, or n x h x w x c)", NULL);
    ck_assert_ptr_null(strstr(err.msg, "trailing"));
    ck_assert_ptr_null(out.pix);
    /* sc_idx_read_rank names the same for any rank asked for. */
    sc_idx idx;
    rc = sc_idx_read_rank(lp, 2, "a table", &idx, &err);
    expect_fail(rc, SC_EFORMAT, NULL, &err, lp, "of 1 dimension", "expected 2 (a table)", NULL);
    ck_assert_ptr_null(idx.data);
    ck_assert_int_eq(sc_idx_read_rank(lp, 1, "labels", &idx, &err), SC_OK);
    ck_assert_int_eq(idx.dims[0], 20);
    sc_idx_free(&idx);
}
END_TEST

/* A label above the dataset's classes (one damaged byte) is refused with its
 * item and byte; the last class itself is accepted. */
START_TEST(test_labels_outside_classes) {
    size_t n;
    uint8_t *im = make_idx(0x08, 3, (uint32_t[]){5, 2, 2}, 0, &n);
    const char *ip = tpath("cls-images");
    write_raw(ip, im, n);
    free(im);
    uint8_t lbb[4 + 4 + 5] = {0, 0, 8, 1, 0, 0, 0, 5, 0, 9, 3, 12, 1};
    const char *lp = tpath("cls-labels");
    write_gz(lp, lbb, sizeof lbb);
    sc_images out;
    sc_err err = {0};
    int rc = sc_images_load(&out, ip, lp, 10, &err);
    expect_fail(rc, SC_EFORMAT, NULL, &err, lp, "label 12 at item 3 (byte 11", "expected 0..9", NULL);
    ck_assert_ptr_null(out.pix);
    ck_assert_ptr_null(out.labels);
    /* With 13 classes declared the same file loads. */
    ck_assert_msg(sc_images_load(&out, ip, lp, 13, &err) == SC_OK, "%s", err.msg);
    ck_assert_int_eq(out.num_classes, 13);
    sc_images_free(&out);
    /* 0 classes: any label (the caller settles the classes, sc_dataset_open) */
    ck_assert_msg(sc_images_load(&out, ip, lp, 0, &err) == SC_OK, "%s", err.msg);
    ck_assert_int_eq(out.labels[3], 12);
    sc_images_free(&out);
    rc = sc_images_load(&out, ip, lp, -1, &err);
    expect_fail(rc, SC_EARG, NULL, &err, lp, "-1 classes", NULL);
    rc = sc_images_load(&out, ip, lp, 257, &err);
    expect_fail(rc, SC_EARG, NULL, &err, lp, "257 classes", NULL);
}
END_TEST

/* Images of n x h x w x c: c = 1 or 3 load with their channels (bytes in file
 * order, channels interleaved); other channel counts are refused naming them. */
START_TEST(test_images_channels) {
    uint8_t lbb[4 + 4 + 2] = {0, 0, 8, 1, 0, 0, 0, 2, 1, 0};
    const char *lp = tpath("ch-labels");
    write_raw(lp, lbb, sizeof lbb);
    for (uint32_t c = 1; c <= 4; c++) {
        size_t n;
        uint8_t *im = make_idx(0x08, 4, (uint32_t[]){2, 3, 5, c}, 0, &n);
        const char *ip = tpath("ch-images");
        write_raw(ip, im, n);
        sc_images out;
        sc_err err = {0};
        int rc = sc_images_load(&out, ip, lp, 10, &err);
        if (c == 1 || c == 3) {
            ck_assert_msg(rc == SC_OK, "c=%u: %s", c, err.msg);
            ck_assert_int_eq(out.n, 2);
            ck_assert_int_eq(out.h, 3);
            ck_assert_int_eq(out.w, 5);
            ck_assert_int_eq(out.c, (int)c);
            ck_assert_int_eq(sc_images_channels(&out), (int)c);
            ck_assert_mem_eq(out.pix, im + 4 + 16, 2 * 3 * 5 * c);
            sc_images_free(&out);
        } else {
            char frag[64];
            snprintf(frag, sizeof frag, "images of %u channels", c);
            expect_fail(rc, SC_EFORMAT, NULL, &err, ip, frag, "expected 1 or 3 channels", NULL);
            ck_assert_ptr_null(out.pix);
        }
        free(im);
    }
}
END_TEST

START_TEST(test_images_load_ok) {
    size_t n;
    uint8_t *im = make_idx(0x08, 3, (uint32_t[]){3, 2, 5}, 0, &n);
    const char *ip = tpath("ok-im");
    write_gz(ip, im, n);
    free(im);
    uint8_t lbb[4 + 4 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 2, 6, 1};
    const char *lp = tpath("ok-lb");
    write_raw(lp, lbb, sizeof lbb);
    sc_images out;
    sc_err err = {0};
    ck_assert_msg(sc_images_load(&out, ip, lp, 10, &err) == SC_OK, "%s", err.msg);
    ck_assert_int_eq(out.n, 3);
    ck_assert_int_eq(out.h, 2);
    ck_assert_int_eq(out.w, 5);
    ck_assert_int_eq(out.num_classes, 10);
    ck_assert_uint_eq(out.labels[1], 6);
    ck_assert_uint_eq(out.pix[29], (uint8_t)(29 * 7 + 3));
    sc_images_free(&out);
    ck_assert_ptr_null(out.pix);
    sc_images_free(NULL);
}
END_TEST

START_TEST(test_u8_to_float) {
    uint8_t in[256];
    float out[256];
    for (int i = 0; i < 256; i++) in[i] = (uint8_t)(255 - i);
    sc_u8_to_float(out, in, 256);
    for (int i = 0; i < 256; i++)
        ck_assert_float_eq_tol(out[i], (double)(255 - i) / 255.0, 1e-7);
    ck_assert(out[0] == 1.0f && out[255] == 0.0f);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("env_idx");
    TCase *tc = tcase_create("roundtrip");
    tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_test(tc, test_roundtrip_raw);
    tcase_add_test(tc, test_roundtrip_gz);
    tcase_add_test(tc, test_read_handmade);
    tcase_add_test(tc, test_images_load_ok);
    tcase_add_test(tc, test_images_rank_from_magic);
    tcase_add_test(tc, test_labels_outside_classes);
    tcase_add_test(tc, test_images_channels);
    tcase_add_test(tc, test_u8_to_float);
    suite_add_tcase(s, tc);
    TCase *lim = tcase_create("limits");
    tcase_add_unchecked_fixture(lim, dir_setup, dir_teardown);
    tcase_add_test(lim, test_missing_file);
    tcase_add_test(lim, test_wrong_magic);
    tcase_add_test(lim, test_wrong_type);
    tcase_add_test(lim, test_bad_ndim);
    tcase_add_test(lim, test_truncated_by_one);
    tcase_add_test(lim, test_truncated_huge_header);
    tcase_add_test(lim, test_trailing_byte);
    tcase_add_test(lim, test_zero_dimension);
    tcase_add_test(lim, test_dimension_overflow);
    tcase_add_test(lim, test_corrupt_gzip);
    tcase_add_test(lim, test_write_errors);
    tcase_add_test(lim, test_images_count_mismatch);
    suite_add_tcase(s, lim);
    return s;
}

SC_TEST_MAIN(make_suite)
