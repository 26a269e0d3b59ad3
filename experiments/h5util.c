/* h5util.c - checked helpers over the HDF5 C API (see h5util.h): silencing and
 * translating HDF5's error stack, the signature check, the common fapl, typed
 * attributes, quoting hostile strings, the declared-against-stored size check,
 * fsync of a path and of its folder. */
#include "h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- error translation ---------------------------------------------------------- */

typedef struct walk_ctx {
    char first[256];   /* innermost description */
    char os[160];      /* "error message = '...'" of a system call, if any */
    int checksum;      /* some level mentions a checksum */
} walk_ctx;

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
    walk_ctx *w = data;
    const char *d = e->desc ? e->desc : "";
    if (n == 0) snprintf(w->first, sizeof w->first, "%s", d);
    if (!w->os[0]) {
        const char *m = strstr(d, "error message = '");
        if (m) {
            m += strlen("error message = '");
            const char *q = strchr(m, '\'');
            int len = q ? (int)(q - m) : (int)strlen(m);
            snprintf(w->os, sizeof w->os, "%.*s", len, m);
        }
    }
    if (strstr(d, "checksum") || strstr(d, "Fletcher32")) w->checksum = 1;
    return 0;
}

static void describe(hid_t estack, char *buf, size_t n) {
    walk_ctx w;
    memset(&w, 0, sizeof w);
    H5Ewalk2(estack, H5E_WALK_UPWARD, walk_cb, &w);
    if (w.os[0])
        snprintf(buf, n, "%s", w.os);
    else if (w.checksum)
        snprintf(buf, n, "checksum mismatch (the file is corrupt)");
    else if (w.first[0])
        snprintf(buf, n, "HDF5: %s", w.first);
    else if (n)
        buf[0] = '\0';
}

/* The reason of the first HDF5 call that failed since sc_h5_quiet_begin. HDF5
 * clears its error stack at the start of every API call, so the cleanup calls
 * after a failure would lose it; the automatic error handler, which HDF5 calls
 * when an API call fails, records it here instead of printing it. Process-wide
 * like HDF5's own error state. */
static char g_first[300];
static int g_depth;

static herr_t capture(hid_t estack, void *data) {
    (void)data;
    if (!g_first[0]) describe(estack, g_first, sizeof g_first);
    return 0;
}

void sc_h5_quiet_begin(sc_h5_quiet *q) {
    q->func = NULL;
    q->data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    if (g_depth++ == 0) g_first[0] = '\0';
    H5Eset_auto2(H5E_DEFAULT, capture, NULL);
}

void sc_h5_quiet_end(const sc_h5_quiet *q) {
    if (g_depth > 0) g_depth--;
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

void sc_h5_forget(void) {
    g_first[0] = '\0';
    H5Eclear2(H5E_DEFAULT);
}

void sc_h5_reason(char *buf, size_t n) {
    if (g_first[0]) {
        snprintf(buf, n, "%s", g_first);
        g_first[0] = '\0';
    } else {
        describe(H5E_DEFAULT, buf, n);
    }
    H5Eclear2(H5E_DEFAULT);
}

int sc_h5_errf(sc_err *err, int code, const char *fmt, ...) {
    char what[SC_ERR_MSG_MAX], why[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    sc_h5_reason(why, sizeof why);
    if (why[0]) return sc_errf(err, code, "%s: %s", what, why);
    return sc_errf(err, code, "%s", what);
}

int sc_h5_check_signature(const char *path, const char *expected, sc_err *err) {
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    FILE *f = fopen(path, "rb");
    if (!f) return sc_errf(err, SC_EIO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char head[8];
    size_t got = fread(head, 1, sizeof head, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) return sc_errf(err, SC_EIO, "%s: read error", path);
    if (got == 0) return sc_errf(err, SC_EFORMAT, "%s: empty file, %s", path, expected);
    if (got < sizeof head || memcmp(head, sig, sizeof sig) != 0)
        return sc_errf(err, SC_EFORMAT, "%s: not an HDF5 file (no HDF5 signature), %s", path, expected);
    return SC_OK;
}

hid_t sc_h5_fapl(int nolock) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return -1;
    if (H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        H5Pclose(fapl);
        return -1;
    }
#if H5_VERSION_GE(1, 10, 7)
    if (nolock && H5Pset_file_locking(fapl, 0, 1) < 0) {
        H5Pclose(fapl);
        return -1;
    }
#else
    (void)nolock;
#endif
    return fapl;
}

/* ---- attributes ----------------------------------------------------------------- */

static int put(hid_t obj, const char *name, hid_t ftype, hid_t mtype, hid_t space, const void *buf) {
    int rc = -1;
    if (space < 0) return -1;
    hid_t a = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        if (H5Awrite(a, mtype, buf) >= 0) rc = 0;
        if (H5Aclose(a) < 0) rc = -1;
    }
    H5Sclose(space);
    return rc;
}

static hid_t utf8_vlen(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return -1;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

int sc_h5_attr_put_str(hid_t obj, const char *name, const char *value) {
    hid_t t = utf8_vlen();
    if (t < 0) return -1;
    const char *p = value ? value : "";
    int rc = put(obj, name, t, t, H5Screate(H5S_SCALAR), &p);
    H5Tclose(t);
    return rc;
}

int sc_h5_attr_put_i32(hid_t obj, const char *name, int32_t v) {
    return put(obj, name, H5T_STD_I32LE, H5T_NATIVE_INT32, H5Screate(H5S_SCALAR), &v);
}
int sc_h5_attr_put_i64(hid_t obj, const char *name, int64_t v) {
    return put(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, H5Screate(H5S_SCALAR), &v);
}
int sc_h5_attr_put_u64(hid_t obj, const char *name, uint64_t v) {
    return put(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, H5Screate(H5S_SCALAR), &v);
}
int sc_h5_attr_put_f32(hid_t obj, const char *name, float v) {
    return put(obj, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, H5Screate(H5S_SCALAR), &v);
}
int sc_h5_attr_put_f64(hid_t obj, const char *name, double v) {
    return put(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, H5Screate(H5S_SCALAR), &v);
}
int sc_h5_attr_put_f64s(hid_t obj, const char *name, const double *v, int n) {
    hsize_t d = (hsize_t)n;
    return put(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, H5Screate_simple(1, &d, NULL), v);
}
int sc_h5_attr_put_u64s(hid_t obj, const char *name, const uint64_t *v, int n) {
    hsize_t d = (hsize_t)n;
    return put(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, H5Screate_simple(1, &d, NULL), v);
}

int sc_h5_attr_exists(hid_t obj, const char *name) {
    htri_t e = H5Aexists(obj, name);
    return e < 0 ? -1 : e > 0;
}

/* Opens attribute name if it exists and holds `count` elements (0: a scalar)
 * of type class cls; negative otherwise. */
static hid_t open_checked(hid_t obj, const char *name, H5T_class_t cls, hssize_t count) {
    if (sc_h5_attr_exists(obj, name) != 1) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t t = H5Aget_type(a), s = H5Aget_space(a);
    int ok = t >= 0 && s >= 0 && H5Tget_class(t) == cls;
    if (ok) {
        int rank = H5Sget_simple_extent_ndims(s);
        hssize_t npts = H5Sget_simple_extent_npoints(s);
        ok = count == 0 ? rank == 0 : (rank == 1 && npts == count);
    }
    if (t >= 0) H5Tclose(t);
    if (s >= 0) H5Sclose(s);
    if (!ok) {
        H5Aclose(a);
        return -1;
    }
    return a;
}

static int get_num(hid_t obj, const char *name, H5T_class_t cls, hid_t mtype, void *v, int n) {
    hid_t a = open_checked(obj, name, cls, n);
    if (a < 0) return -1;
    int rc = H5Aread(a, mtype, v) < 0 ? -1 : 0;
    H5Aclose(a);
    return rc;
}

int sc_h5_attr_get_i64(hid_t obj, const char *name, int64_t *v) {
    return get_num(obj, name, H5T_INTEGER, H5T_NATIVE_INT64, v, 0);
}
int sc_h5_attr_get_u64(hid_t obj, const char *name, uint64_t *v) {
    return get_num(obj, name, H5T_INTEGER, H5T_NATIVE_UINT64, v, 0);
}
int sc_h5_attr_get_f64(hid_t obj, const char *name, double *v) {
    return get_num(obj, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, v, 0);
}
int sc_h5_attr_get_f64s(hid_t obj, const char *name, double *v, int n) {
    return get_num(obj, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, v, n);
}
int sc_h5_attr_get_u64s(hid_t obj, const char *name, uint64_t *v, int n) {
    return get_num(obj, name, H5T_INTEGER, H5T_NATIVE_UINT64, v, n);
}

int sc_h5_attr_get_str(hid_t obj, const char *name, char **out) {
    *out = NULL;
    hid_t a = open_checked(obj, name, H5T_STRING, 0);
    if (a < 0) return -1;
    hid_t ft = H5Aget_type(a);
    int rc = -1;
    if (ft < 0) {
        H5Aclose(a);
        return -1;
    }
    htri_t vl = H5Tis_variable_str(ft);
    if (vl > 0) {
        hid_t mt = utf8_vlen();
        char *p = NULL;
        if (mt >= 0 && H5Aread(a, mt, &p) >= 0) {
            *out = strdup(p ? p : "");
            rc = *out ? 0 : -1;
            hid_t s = H5Screate(H5S_SCALAR);
            if (s >= 0) {
                H5Dvlen_reclaim(mt, s, H5P_DEFAULT, &p);
                H5Sclose(s);
            }
        }
        if (mt >= 0) H5Tclose(mt);
    } else if (vl == 0) {
        size_t len = H5Tget_size(ft);
        char *buf = len > 0 && len < (1u << 24) ? calloc(1, len + 1) : NULL;
        hid_t mt = H5Tcopy(ft);
        if (buf && mt >= 0 && H5Tset_cset(mt, H5Tget_cset(ft)) >= 0 && H5Aread(a, mt, buf) >= 0) {
            *out = buf;
            buf = NULL;
            rc = 0;
        }
        free(buf);
        if (mt >= 0) H5Tclose(mt);
    }
    H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

/* ---- what files declare ------------------------------------------------------------ */

const char *sc_h5_quote(const char *s, char *buf, size_t n) {
    if (!n) return buf;
    if (!s) {
        snprintf(buf, n, "missing");
        return buf;
    }
    size_t used = 0;
    const size_t room = n > 8 ? n - 8 : 0; /* closing quote, "...", NUL */
    used += (size_t)snprintf(buf, n, "'");
    size_t i = 0;
    for (; s[i] && i < 60 && used < room; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') used += (size_t)snprintf(buf + used, n - used, "\\n");
        else if (c == '\t') used += (size_t)snprintf(buf + used, n - used, "\\t");
        else if (c < 0x20 || c == 0x7f) used += (size_t)snprintf(buf + used, n - used, "\\x%02x", c);
        else buf[used++] = (char)c;
        if (used >= n) used = n - 1;
    }
    buf[used < n ? used : n - 1] = '\0';
    snprintf(buf + strlen(buf), n - strlen(buf), "%s'", s[i] ? "..." : "");
    return buf;
}

int sc_h5_dataset_fits(hid_t d, unsigned long long *declared, unsigned long long *stored) {
    *declared = *stored = 0;
    /* the bytes declared, as the product of the dimensions saturated at cap: HDF5's own
     * count of points wraps (2^62 x 4 elements is 0 points) */
    const unsigned long long cap = 1ull << 62;
    hid_t s = H5Dget_space(d), t = H5Dget_type(d);
    hsize_t dims[H5S_MAX_RANK];
    int rank = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1;
    if (rank >= 0 && H5Sget_simple_extent_dims(s, dims, NULL) < 0) rank = -1;
    size_t es = t >= 0 ? H5Tget_size(t) : 0;
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
    if (rank < 0 || es == 0) return -1;
    unsigned long long bytes = es;
    for (int i = 0; i < rank && bytes > 0; i++)
        bytes = dims[i] > 0 && bytes > cap / dims[i] ? cap : bytes * (unsigned long long)dims[i];
    unsigned long long have = (unsigned long long)H5Dget_storage_size(d);
    *declared = bytes;
    *stored = have;
    const unsigned long long room = have > (cap >> 11) ? cap : have * 1100 + (1ull << 20);
    return bytes <= room;
}

/* ---- durability ------------------------------------------------------------------- */

int sc_fsync_path(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return errno;
    int e = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return e;
}

int sc_fsync_dir_of(const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return errno;
    int e = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return e;
}
