/* fuzz_h5.c - recipes of hostile but valid HDF5 files (see fuzz_h5.h).
 *
 * Every builder call may fail (a target an earlier mutation deleted, a type
 * HDF5 will not convert, a dataspace it will not create); a failed mutation
 * is abandoned with everything it opened closed, and the next one runs.
 * Objects are recreated at their old path, so a mutation changes exactly the
 * one object or attribute it targets.
 */
#include "tests/fuzz/fuzz_h5.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_common.h"

#define MAX_POINTS 4096  /* elements written at most; larger dataspaces stay unwritten */

void fz_h5_init(void) {
    if (H5open() < 0) fz_fail("H5open");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    /* Keep HDF5's freed blocks for reuse (no limit): every input opens a file, and each open
     * callocs megabytes of cache structures; under ASan a block given back is unmapped, and
     * faulting it in again took most of the time (about 45 inputs/s before, see fuzz.sh). */
    if (H5set_free_list_limits(-1, -1, -1, -1, -1, -1) < 0) fz_fail("H5set_free_list_limits");
}

/* ---- the template -------------------------------------------------------------- */

typedef struct walk {
    fz_target *t;
    int n, cap;
} walk;

static void add_target(walk *w, const char *obj, const char *attr) {
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 64;
        w->t = realloc(w->t, sizeof *w->t * (size_t)w->cap);
        if (!w->t) fz_fail("out of memory");
    }
    fz_target *t = &w->t[w->n++];
    snprintf(t->obj, sizeof t->obj, "%s", obj);
    snprintf(t->attr, sizeof t->attr, "%s", attr ? attr : "");
}

typedef struct attr_walk {
    walk *w;
    const char *obj;
} attr_walk;

static herr_t attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
    (void)loc;
    (void)info;
    attr_walk *a = data;
    add_target(a->w, a->obj, name);
    return 0;
}

static void add_object(walk *w, hid_t f, const char *obj) {
    add_target(w, obj, NULL);
    attr_walk a = {w, obj};
    hsize_t idx = 0;
    H5Aiterate_by_name(f, obj, H5_INDEX_NAME, H5_ITER_INC, &idx, attr_cb, &a, H5P_DEFAULT);
}

typedef struct link_walk {
    walk *w;
    hid_t f;
} link_walk;

static herr_t link_cb(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    (void)g;
    (void)info;
    link_walk *l = data;
    char obj[200];
    snprintf(obj, sizeof obj, "/%s", name);
    add_object(l->w, l->f, obj);
    return 0;
}

void fz_h5_template_load(fz_h5_template *t, const char *path, const char *const *strings, int nstrings) {
    memset(t, 0, sizeof *t);
    FILE *fp = fopen(path, "rb");
    if (!fp) fz_fail("cannot open the template %s", path);
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    t->bytes = malloc((size_t)(len > 0 ? len : 1));
    if (!t->bytes || len <= 0 || fread(t->bytes, 1, (size_t)len, fp) != (size_t)len) fz_fail("cannot read %s", path);
    fclose(fp);
    t->n = (size_t)len;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) fz_fail("the template %s does not open", path);
    walk w = {0};
    add_object(&w, f, "/");
    link_walk l = {&w, f};
    H5Lvisit(f, H5_INDEX_NAME, H5_ITER_INC, link_cb, &l);
    H5Fclose(f);
    t->t = w.t;
    t->ntargets = w.n;
    t->strings = strings;
    t->nstrings = nstrings;
}

void fz_h5_check_closed(const char *after) {
    ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (n != 0) fz_fail("%zd HDF5 ids left open after %s", n, after);
}

/* ---- tables ------------------------------------------------------------------------ */

static const double SPECIAL[] = {0, 1, -1, 2, 0.5, 10, 28, 255, 256, 65536, 2147483647.0, -2147483648.0,
                                 2147483648.0, 4294967296.0, 9.2233720368547758e18, -9.2233720368547758e18,
                                 1.8446744073709552e19, 1e300, -1e300, NAN, INFINITY, -INFINITY, 1e-310,
                                 3.4e38, 1e39, 100, 101, 1e6, 6, 3};
#define NSPECIAL ((int)(sizeof SPECIAL / sizeof SPECIAL[0]))

static const hsize_t DIMS[] = {0, 1, 2, 3, 5, 16, 64, 1000, 2147483647ull, 2147483649ull, 4294967297ull,
                               1ull << 40, 1ull << 50, 1ull << 62};
#define NDIMS ((int)(sizeof DIMS / sizeof DIMS[0]))

static const char *const BUILTIN_STRINGS[] = {
    "", "saccade run log", "saccade checkpoint", "ram", "soft", "fc", "selfattn", "val", "test", "adam", "sgd",
    "0123456789abcdef", "0123456789abcdef0123456789abcdef", "x.ckpt.h5", "../x.ckpt.h5", "sub/x.ckpt.h5",
    "\xff\xfe\xfd not UTF-8", "[model]\nkind = ram\n", "[model]\nkind =\n", "[nosuch]\nkey = 1\n",
    "[model]\nglimpses = 99999\n", "[data]\ncanvas = cluttered\ncanvas_size = 20\n", "garbage without a section",
    "W_g\nb_g", "\n", "a/b", "1", "-1",
};
#define NBUILTIN ((int)(sizeof BUILTIN_STRINGS / sizeof BUILTIN_STRINGS[0]))

/* A long string (kept for the process). */
static const char *long_string(void) {
    static char s[6001];
    if (!s[0]) {
        for (int i = 0; i < 6000; i++) s[i] = (char)('a' + i % 26);
        s[6000] = '\0';
    }
    return s;
}

static const char *string_of(const fz_h5_template *t, int i) {
    int n = NBUILTIN + t->nstrings + 1;
    i %= n;
    if (i < NBUILTIN) return BUILTIN_STRINGS[i];
    if (i < NBUILTIN + t->nstrings) return t->strings[i - NBUILTIN];
    return long_string();
}

/* Type i of the table (a new id the caller closes), or -1. */
static hid_t type_of(int i, int b) {
    hid_t t = -1;
    switch (i % 22) {
    case 0: return H5Tcopy(H5T_STD_I8LE);
    case 1: return H5Tcopy(H5T_STD_U8LE);
    case 2: return H5Tcopy(H5T_STD_I16LE);
    case 3: return H5Tcopy(H5T_STD_I32LE);
    case 4: return H5Tcopy(H5T_STD_I64LE);
    case 5: return H5Tcopy(H5T_STD_U64LE);
    case 6: return H5Tcopy(H5T_STD_I32BE);
    case 7: return H5Tcopy(H5T_IEEE_F32LE);
    case 8: return H5Tcopy(H5T_IEEE_F64LE);
    case 9: return H5Tcopy(H5T_IEEE_F64BE);
    case 10:
        t = H5Tcopy(H5T_C_S1);
        if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
            H5Tclose(t);
            return -1;
        }
        return t;
    case 11:
    case 12:
    case 13: {
        static const H5T_str_t pad[3] = {H5T_STR_NULLTERM, H5T_STR_NULLPAD, H5T_STR_SPACEPAD};
        t = H5Tcopy(H5T_C_S1);
        if (t >= 0 && (H5Tset_size(t, (size_t)(1 + b % 40)) < 0 || H5Tset_strpad(t, pad[i % 22 - 11]) < 0)) {
            H5Tclose(t);
            return -1;
        }
        return t;
    }
    case 14:
        t = H5Tcreate(H5T_COMPOUND, 16);
        if (t >= 0 && (H5Tinsert(t, "a", 0, H5T_STD_I32LE) < 0 || H5Tinsert(t, "b", 8, H5T_IEEE_F64LE) < 0)) {
            H5Tclose(t);
            return -1;
        }
        return t;
    case 15: {
        hsize_t d = 3;
        return H5Tarray_create2(H5T_IEEE_F32LE, 1, &d);
    }
    case 16: {
        t = H5Tenum_create(H5T_STD_I8LE);
        signed char v0 = 0, v1 = 1;
        if (t >= 0 && (H5Tenum_insert(t, "no", &v0) < 0 || H5Tenum_insert(t, "yes", &v1) < 0)) {
            H5Tclose(t);
            return -1;
        }
        return t;
    }
    case 17:
        t = H5Tcreate(H5T_OPAQUE, 4);
        if (t >= 0) H5Tset_tag(t, "fuzz");
        return t;
    case 18: return H5Tcopy(H5T_STD_B8LE);
    case 19: return H5Tvlen_create(H5T_STD_I32LE);
    case 20: return H5Tcopy(H5T_STD_REF_OBJ);
    case 21: return H5Tcopy(H5T_STD_U32LE);
    }
    return -1;
}

/* ---- values ---------------------------------------------------------------------- */

/* A buffer of n elements of file type ft with values chosen by (a, b), for
 * H5Dwrite/H5Awrite with *mt as the memory type (set here; the caller closes it).
 * NULL when the type cannot be written (references: left at their fill value). */
typedef struct valbuf {
    void *buf;
    hid_t mt;
    int vlen_str;    /* buf is char *[n] pointing into static strings */
    hvl_t *vl;       /* vlen sequences: their data, freed by valbuf_free */
    size_t n;
} valbuf;

static void valbuf_free(valbuf *v) {
    if (v->vl)
        for (size_t i = 0; i < v->n; i++) free(v->vl[i].p);
    free(v->buf);
    if (v->mt >= 0) H5Tclose(v->mt);
    memset(v, 0, sizeof *v);
    v->mt = -1;
}

static int values(valbuf *v, const fz_h5_template *t, hid_t ft, size_t n, int a, int b) {
    memset(v, 0, sizeof *v);
    v->mt = -1;
    v->n = n;
    if (n == 0) n = 1;
    H5T_class_t cls = H5Tget_class(ft);
    size_t size = H5Tget_size(ft);
    htri_t is_vstr = cls == H5T_STRING ? H5Tis_variable_str(ft) : 0;
    if (cls == H5T_REFERENCE || size == 0 || is_vstr < 0) return -1;
    if (is_vstr > 0) {
        const char **p = malloc(sizeof *p * n);
        if (!p) return -1;
        for (size_t i = 0; i < n; i++) p[i] = string_of(t, a + (b & 1 ? (int)i : 0));
        v->buf = p;
        v->vlen_str = 1;
        v->mt = H5Tcopy(ft);
        return v->mt < 0 ? -1 : 0;
    }
    if (cls == H5T_VLEN) {
        hvl_t *vl = calloc(n, sizeof *vl);
        if (!vl) return -1;
        for (size_t i = 0; i < n; i++) {
            size_t len = (size_t)((a + (int)i) % 4);
            int *d = len ? malloc(sizeof(int) * len) : NULL;
            for (size_t k = 0; k < len; k++) d[k] = b - (int)k;
            vl[i].len = len;
            vl[i].p = d;
        }
        v->buf = vl;
        v->vl = vl;
        v->mt = H5Tvlen_create(H5T_NATIVE_INT);
        return v->mt < 0 ? -1 : 0;
    }
    if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && !(b & 2)) {
        /* numbers, converted by HDF5 from doubles */
        double *d = malloc(sizeof *d * n);
        if (!d) return -1;
        for (size_t i = 0; i < n; i++) d[i] = SPECIAL[(a + (b & 1 ? (int)i : 0)) % NSPECIAL];
        v->buf = d;
        v->mt = H5Tcopy(H5T_NATIVE_DOUBLE);
        return v->mt < 0 ? -1 : 0;
    }
    if (cls == H5T_STRING && !(b & 2)) {
        /* fixed-size strings from the table, cut to the size: the longer ones fill it without a terminator */
        char *s = calloc(n, size);
        if (!s) return -1;
        for (size_t i = 0; i < n; i++) {
            const char *src = string_of(t, a + (b & 1 ? (int)i : 0));
            size_t len = strlen(src);
            memcpy(s + i * size, src, len < size ? len : size);
        }
        v->buf = s;
        v->mt = H5Tcopy(ft);
        return v->mt < 0 ? -1 : 0;
    }
    /* raw bytes in the file type itself: all 0x00, 0xff, 0x7f, 0x80, 'A', or a counter */
    static const unsigned char pat[6] = {0x00, 0xff, 0x7f, 0x80, 'A', 0};
    unsigned char *r = malloc(size * n);
    if (!r) return -1;
    for (size_t i = 0; i < size * n; i++) r[i] = a % 6 == 5 ? (unsigned char)(i * 37 + (size_t)b) : pat[a % 6];
    v->buf = r;
    v->mt = H5Tcopy(ft);
    return v->mt < 0 ? -1 : 0;
}

static int write_values(hid_t obj, int is_attr, hid_t ft, hid_t space, const fz_h5_template *t, int a, int b) {
    hssize_t np = H5Sget_select_npoints(space);
    if (H5Sget_simple_extent_type(space) == H5S_NULL) return 0;
    if (np < 0 || np > MAX_POINTS) return 0;
    if (np == 0) return 0;
    valbuf v;
    int rc = -1;
    if (values(&v, t, ft, (size_t)np, a, b) == 0)
        rc = (is_attr ? H5Awrite(obj, v.mt, v.buf) : H5Dwrite(obj, v.mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.buf)) < 0
                 ? -1 : 0;
    valbuf_free(&v);
    return rc;
}

/* ---- creating objects ---------------------------------------------------------------- */

/* A dataset at path of type ft and space sp; chunked when the space is extendible
 * (or chunked is set), deflated when deflate is set. Values (a, b) when small. */
static int make_dataset(hid_t f, const char *path, hid_t ft, hid_t sp, int chunked, int deflate,
                        const fz_h5_template *t, int a, int b) {
    int rank = H5Sget_simple_extent_ndims(sp);
    hsize_t dims[8], maxd[8];
    if (rank < 0 || rank > 8 || H5Sget_simple_extent_dims(sp, dims, maxd) < 0) return -1;
    for (int i = 0; i < rank; i++)
        if (maxd[i] != dims[i]) chunked = 1;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl < 0) return -1;
    int rc = 0;
    if (chunked && rank > 0) {
        hsize_t ch[8];
        for (int i = 0; i < rank; i++) {
            ch[i] = dims[i] < 1 ? 1 : dims[i] > 64 ? 64 : dims[i];
            if (maxd[i] != H5S_UNLIMITED && ch[i] > maxd[i]) ch[i] = maxd[i] < 1 ? 1 : maxd[i];
        }
        rc = H5Pset_chunk(dcpl, rank, ch) < 0 ? -1 : 0;
        if (rc == 0 && deflate) rc = H5Pset_deflate(dcpl, 1) < 0 ? -1 : 0;
    }
    hid_t d = rc == 0 ? H5Dcreate2(f, path, ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT) : -1;
    H5Pclose(dcpl);
    if (d < 0) return -1;
    write_values(d, 0, ft, sp, t, a, b);
    return H5Dclose(d) < 0 ? -1 : 0;
}

static int make_attr(hid_t f, const char *obj, const char *name, hid_t ft, hid_t sp, const fz_h5_template *t,
                     int a, int b) {
    hid_t at = H5Acreate_by_name(f, obj, name, ft, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (at < 0) return -1;
    write_values(at, 1, ft, sp, t, a, b);
    return H5Aclose(at) < 0 ? -1 : 0;
}

/* The kind of object at path: H5I_DATASET, H5I_GROUP, or H5I_BADID when there is none. */
static H5I_type_t kind_of(hid_t f, const char *path) {
    if (!strcmp(path, "/")) return H5I_GROUP;
    if (H5Lexists(f, path, H5P_DEFAULT) <= 0) return H5I_BADID;
    hid_t o = H5Oopen(f, path, H5P_DEFAULT);
    if (o < 0) return H5I_BADID;
    H5I_type_t k = H5Iget_type(o);
    H5Oclose(o);
    return k;
}

/* The type and space of the target (new ids the caller closes). */
static int type_space(hid_t f, const fz_target *tg, hid_t *ft, hid_t *sp) {
    *ft = *sp = -1;
    if (tg->attr[0]) {
        hid_t at = H5Aopen_by_name(f, tg->obj, tg->attr, H5P_DEFAULT, H5P_DEFAULT);
        if (at < 0) return -1;
        *ft = H5Aget_type(at);
        *sp = H5Aget_space(at);
        H5Aclose(at);
    } else {
        if (kind_of(f, tg->obj) != H5I_DATASET) return -1;
        hid_t d = H5Dopen2(f, tg->obj, H5P_DEFAULT);
        if (d < 0) return -1;
        *ft = H5Dget_type(d);
        *sp = H5Dget_space(d);
        H5Dclose(d);
    }
    if (*ft < 0 || *sp < 0) {
        if (*ft >= 0) H5Tclose(*ft);
        if (*sp >= 0) H5Sclose(*sp);
        return -1;
    }
    return 0;
}

/* Removes the target (an attribute, or the link to an object). */
static int remove_target(hid_t f, const fz_target *tg) {
    if (tg->attr[0]) return H5Adelete_by_name(f, tg->obj, tg->attr, H5P_DEFAULT) < 0 ? -1 : 0;
    if (!strcmp(tg->obj, "/")) return -1;
    return H5Ldelete(f, tg->obj, H5P_DEFAULT) < 0 ? -1 : 0;
}

/* Recreates the target with type ft and space sp (a group target becomes a dataset). */
static int recreate(hid_t f, const fz_target *tg, hid_t ft, hid_t sp, int chunked, int deflate,
                    const fz_h5_template *t, int a, int b) {
    if (tg->attr[0]) {
        if (remove_target(f, tg) < 0) return -1;
        return make_attr(f, tg->obj, tg->attr, ft, sp, t, a, b);
    }
    if (!strcmp(tg->obj, "/") || remove_target(f, tg) < 0) return -1;
    return make_dataset(f, tg->obj, ft, sp, chunked, deflate, t, a, b);
}

/* ---- the mutations ------------------------------------------------------------------ */

static int op_retype(hid_t f, const fz_target *tg, const fz_h5_template *t, int a, int b) {
    hid_t ft = -1, sp = -1;
    if (type_space(f, tg, &ft, &sp) < 0) sp = H5Screate(H5S_SCALAR); /* a group: a scalar dataset */
    if (ft >= 0) H5Tclose(ft);
    hid_t nt = type_of(a, b);
    int rc = sp >= 0 && nt >= 0 ? recreate(f, tg, nt, sp, 0, 0, t, b, b >> 2) : -1;
    if (nt >= 0) H5Tclose(nt);
    if (sp >= 0) H5Sclose(sp);
    return rc;
}

static int op_reshape(hid_t f, const fz_target *tg, const fz_h5_template *t, int a, int b) {
    hid_t ft = -1, sp = -1;
    if (type_space(f, tg, &ft, &sp) < 0) ft = H5Tcopy(H5T_IEEE_F64LE);
    if (sp >= 0) H5Sclose(sp);
    if (ft < 0) return -1;
    const int rank = a % 5, layout = (a / 5) % 4;
    hsize_t dims[4], maxd[4];
    for (int i = 0; i < rank; i++) {
        int k = i == 0 ? b % NDIMS : (b / NDIMS + i) % NDIMS;
        if (tg->attr[0]) k %= 7; /* attributes live in the object header: small ones only */
        dims[i] = DIMS[k];
        maxd[i] = layout == 0 ? dims[i] : (layout == 2 || i == 0) ? H5S_UNLIMITED : dims[i];
    }
    sp = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, tg->attr[0] ? NULL : maxd);
    int rc = sp >= 0 ? recreate(f, tg, ft, sp, layout != 0, layout == 3, t, b, a) : -1;
    if (sp >= 0) H5Sclose(sp);
    H5Tclose(ft);
    return rc;
}

static int op_group(hid_t f, const fz_target *tg) {
    if (tg->attr[0]) {
        hid_t ft = -1, sp = -1;
        if (type_space(f, tg, &ft, &sp) < 0) return -1;
        H5Sclose(sp);
        sp = H5Screate(H5S_NULL);
        int rc = sp >= 0 ? recreate(f, tg, ft, sp, 0, 0, NULL, 0, 0) : -1;
        if (sp >= 0) H5Sclose(sp);
        H5Tclose(ft);
        return rc;
    }
    if (kind_of(f, tg->obj) != H5I_DATASET || remove_target(f, tg) < 0) return -1;
    hid_t g = H5Gcreate2(f, tg->obj, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    return g < 0 || H5Gclose(g) < 0 ? -1 : 0;
}

static int op_values(hid_t f, const fz_target *tg, const fz_h5_template *t, int a, int b) {
    hid_t ft = -1, sp = -1;
    if (type_space(f, tg, &ft, &sp) < 0) return -1;
    int rc = -1;
    if (tg->attr[0]) {
        hid_t at = H5Aopen_by_name(f, tg->obj, tg->attr, H5P_DEFAULT, H5P_DEFAULT);
        if (at >= 0) {
            rc = write_values(at, 1, ft, sp, t, a, b);
            H5Aclose(at);
        }
    } else {
        hid_t d = H5Dopen2(f, tg->obj, H5P_DEFAULT);
        if (d >= 0) {
            rc = write_values(d, 0, ft, sp, t, a, b);
            H5Dclose(d);
        }
    }
    H5Tclose(ft);
    H5Sclose(sp);
    return rc;
}

static int op_link(hid_t f, const fz_target *tg, const fz_h5_template *t, int a) {
    if (tg->attr[0]) {
        /* renamed: the expected name is missing, a near one is there */
        char to[80];
        snprintf(to, sizeof to, "%s%s", tg->attr, a % 2 ? "_" : "X");
        return H5Arename_by_name(f, tg->obj, tg->attr, to, H5P_DEFAULT) < 0 ? -1 : 0;
    }
    if (!strcmp(tg->obj, "/")) return -1;
    char parent[160];
    snprintf(parent, sizeof parent, "%s", tg->obj);
    char *slash = strrchr(parent, '/');
    if (slash == parent) slash[1] = '\0';
    else if (slash) *slash = '\0';
    const fz_target *other = &t->t[a % t->ntargets];
    if (a % 5 == 4 && (other->attr[0] || !strcmp(other->obj, tg->obj))) return -1;
    if (remove_target(f, tg) < 0) return -1;
    switch (a % 5) {
    case 0: return H5Lcreate_soft("/no/such/object", f, tg->obj, H5P_DEFAULT, H5P_DEFAULT) < 0 ? -1 : 0;
    case 1: return H5Lcreate_soft(parent, f, tg->obj, H5P_DEFAULT, H5P_DEFAULT) < 0 ? -1 : 0;
    case 2: return H5Lcreate_soft("/", f, tg->obj, H5P_DEFAULT, H5P_DEFAULT) < 0 ? -1 : 0;
    case 3: return H5Lcreate_external("no-such-file.h5", "/x", f, tg->obj, H5P_DEFAULT, H5P_DEFAULT) < 0 ? -1 : 0;
    default: return H5Lcreate_hard(f, other->obj, f, tg->obj, H5P_DEFAULT, H5P_DEFAULT) < 0 ? -1 : 0;
    }
}

static int op_resize(hid_t f, const fz_target *tg, const fz_h5_template *t, int a, int b) {
    if (tg->attr[0] || kind_of(f, tg->obj) != H5I_DATASET) return -1;
    hid_t d = H5Dopen2(f, tg->obj, H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t sp = H5Dget_space(d);
    hsize_t dims[8];
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    int rc = -1;
    if (rank >= 1 && rank <= 8 && H5Sget_simple_extent_dims(sp, dims, NULL) >= 0) {
        /* Cutting back a dataset an earlier record made huge is HDF5 walking every chunk of the cut (a
         * libFuzzer timeout in building the input, not in the readers, which refuse such lengths before
         * cutting: sc_h5_dataset_fits): skipped. */
        const hsize_t to = DIMS[a % NDIMS];
        /* Nor to 0 rows: libhdf5 1.10.8 then fails to delete the dataset's group (a later record)
         * and leaves an entry pinned in its metadata cache, so the file can never be closed (a
         * libFuzzer crash in building the input). Empty datasets come from reshape. */
        if (to > 0 && !(to < dims[0] && dims[0] > ((hsize_t)1 << 16))) {
            dims[0] = to;
            rc = H5Dset_extent(d, dims) < 0 ? -1 : 0;
        }
    }
    if (sp >= 0) H5Sclose(sp);
    if (rc == 0) {
        hid_t ft = H5Dget_type(d), ns = H5Dget_space(d);
        if (ft >= 0 && ns >= 0) write_values(d, 0, ft, ns, t, b, b >> 2);
        if (ft >= 0) H5Tclose(ft);
        if (ns >= 0) H5Sclose(ns);
    }
    H5Dclose(d);
    return rc;
}

static int op_string(hid_t f, const fz_target *tg, const fz_h5_template *t, int a, int b) {
    hid_t ft = -1, sp = -1;
    if (type_space(f, tg, &ft, &sp) < 0) sp = H5Screate(H5S_SCALAR);
    if (ft >= 0) H5Tclose(ft);
    if (sp < 0) return -1;
    const char *s = string_of(t, b);
    size_t len = strlen(s);
    hid_t st = H5Tcopy(H5T_C_S1);
    int form = a % 6, ok = st >= 0;
    if (ok && form <= 1) ok = H5Tset_size(st, H5T_VARIABLE) >= 0 && H5Tset_cset(st, form ? H5T_CSET_ASCII : H5T_CSET_UTF8) >= 0;
    if (ok && form == 2) ok = H5Tset_size(st, len + 1) >= 0 && H5Tset_strpad(st, H5T_STR_NULLTERM) >= 0;
    if (ok && form == 3) ok = H5Tset_size(st, len ? len : 1) >= 0 && H5Tset_strpad(st, H5T_STR_NULLPAD) >= 0;
    if (ok && form == 4) ok = H5Tset_size(st, len + 3) >= 0 && H5Tset_strpad(st, H5T_STR_SPACEPAD) >= 0;
    if (ok && form == 5) ok = H5Tset_size(st, len / 2 ? len / 2 : 1) >= 0 && H5Tset_strpad(st, H5T_STR_NULLTERM) >= 0;
    /* every element holds string b (values() with a = b, one string for all) */
    int rc = ok ? recreate(f, tg, st, sp, 0, 0, t, b, 0) : -1;
    if (st >= 0) H5Tclose(st);
    H5Sclose(sp);
    return rc;
}

int fz_h5_build(const char *path, const fz_h5_template *t, const uint8_t *recipe, size_t n) {
    fz_write(path, t->bytes, t->n);
    int nmut = 0;
    for (size_t at = 0; at + FZ_REC <= n && at / FZ_REC < FZ_MAX_MUTATIONS; at += FZ_REC)
        if (recipe[at] % FZ_NOPS) nmut++;
    if (nmut == 0 || t->ntargets == 0) return 0;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0 ||
        H5Pset_file_locking(fapl, 0, 1) < 0)
        fz_fail("fapl");
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    if (f < 0) fz_fail("the template copy %s does not open", path);
    int applied = 0;
    for (size_t at = 0; at + FZ_REC <= n && at / FZ_REC < FZ_MAX_MUTATIONS; at += FZ_REC) {
        const uint8_t *r = recipe + at;
        const fz_target *tg = &t->t[((int)r[1] << 8 | r[2]) % t->ntargets];
        int a = r[3], b = r[4], rc = -1;
        switch (r[0] % FZ_NOPS) {
        case 0: continue;
        case 1: rc = remove_target(f, tg); break;
        case 2: rc = op_retype(f, tg, t, a, b); break;
        case 3: rc = op_reshape(f, tg, t, a, b); break;
        case 4: rc = op_group(f, tg); break;
        case 5: rc = op_values(f, tg, t, a, b); break;
        case 6: rc = op_link(f, tg, t, a); break;
        case 7: rc = op_resize(f, tg, t, a, b); break;
        case 8: rc = op_string(f, tg, t, a, b); break;
        }
        if (rc == 0) applied++;
    }
    H5Eclear2(H5E_DEFAULT);
    if (H5Fclose(f) < 0) fz_fail("the mutated copy %s does not close", path);
    fz_h5_check_closed("building the input");
    return applied;
}
