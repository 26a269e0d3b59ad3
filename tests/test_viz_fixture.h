/* test_viz_fixture.h - run logs with known contents for the viewer's tests.
 *
 * Writes the /glimpses part of docs/runlog.md's schema (and the root
 * attributes the viewer reads) with plain HDF5 calls, independently of
 * experiments/runlog.c, plus the soft-attention datasets of docs/viewer.md.
 * Records are appended the way the trainer does: open in SWMR-write mode,
 * extend, write, close. Every call is checked with ck_assert.
 */
#ifndef SACCADE_TESTS_TEST_VIZ_FIXTURE_H
#define SACCADE_TESTS_TEST_VIZ_FIXTURE_H

#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "experiments/config.h"
#include "experiments/h5util.h"
#include "tests/testutil.h"

typedef struct fx_log {
    int G, T, C, W, g, k, L;    /* L = grid * grid for a soft log (patches for selfattn, whose g is the
                                 * patch and T the heads), 0 otherwise; W the width (/glimpses@side) */
    const char *kind;           /* /@model_kind; NULL = no attribute */
    int glimpses;               /* write /glimpses at all */
    const char *format;         /* /@format; NULL = "saccade run log" */
    int schema;                 /* /@schema_version; 0 = 1 */
    const char *config;         /* /@config; NULL = a resolved config with g, k */
    const char *locations_name; /* the name the locations dataset is written under; NULL = "locations" */
    int H;                      /* the height; 0 = W */
    int channels;               /* 1 or 3; 0 = 1. H or channels given: /glimpses@height, @width and
                                 * @channels are written (logs before them have none) */
    const char *class_names;    /* /@class_names; NULL = no attribute */
} fx_log;

/* A fresh temporary folder; paths inside it via fx_path. */
static char fx_dir[256];
static inline void fx_mkdir(void) {
    snprintf(fx_dir, sizeof fx_dir, "%s/test_viz.XXXXXX", SACCADE_BINARY_DIR);
    ck_assert_ptr_nonnull(mkdtemp(fx_dir));
}
/* Removes the folder and the files in it (it has no subfolders). */
static inline void fx_rmdir(void) {
    DIR *d = opendir(fx_dir);
    if (!d) return;
    struct dirent *e;
    char p[600];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", fx_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(fx_dir);
}
static inline const char *fx_path(const char *name) {
    static char buf[64][512];  /* a ring: a path stays valid for the next 63 calls */
    static int next;
    char *p = buf[next++ % 64];
    snprintf(p, 512, "%s/%s", fx_dir, name);
    return p;
}

/* Pixel (x, y) of image i: a grey ramp, so that any coloured pixel on screen is drawing. */
static inline unsigned char fx_grey(int i, int x, int y) { return (unsigned char)(20 + (x * 5 + y * 3 + i * 11) % 200); }
/* Channel c of pixel (x, y) of colour image i: three ramps apart, so r, g and b differ. */
static inline unsigned char fx_rgb(int i, int x, int y, int c) {
    return (unsigned char)(20 + (x * 5 + y * 3 + i * 11 + c * 67) % 200);
}

static inline void fx_dataset(hid_t g, const char *name, hid_t type, int rank, const hsize_t *dims, int unlimited) {
    hsize_t maxd[4], chunk[4];
    for (int i = 0; i < rank; i++) {
        maxd[i] = unlimited && i == 0 ? H5S_UNLIMITED : dims[i];
        chunk[i] = i == 0 ? 1 : dims[i];
        if (chunk[i] == 0) chunk[i] = 1;
    }
    hid_t s = H5Screate_simple(rank, dims, maxd);
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    ck_assert(s >= 0 && p >= 0);
    ck_assert(H5Pset_chunk(p, rank, chunk) >= 0);
    hid_t d = H5Dcreate2(g, name, type, s, H5P_DEFAULT, p, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "cannot create %s", name);
    H5Dclose(d);
    H5Pclose(p);
    H5Sclose(s);
}

static inline void fx_write_all(hid_t g, const char *name, hid_t memtype, const void *buf) {
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    ck_assert(d >= 0);
    ck_assert(H5Dwrite(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Dclose(d);
}

/* Creates the log at path with no records. Labels are i % C. */
static inline void fx_create(const char *path, const fx_log *x) {
    hid_t fapl = sc_h5_fapl(1);
    ck_assert(fapl >= 0);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    ck_assert_msg(f >= 0, "cannot create %s", path);
    H5Pclose(fapl);
    ck_assert(sc_h5_attr_put_str(f, "format", x->format ? x->format : "saccade run log") == 0);
    ck_assert(sc_h5_attr_put_i32(f, "schema_version", x->schema ? x->schema : 1) == 0);
    if (x->kind) ck_assert(sc_h5_attr_put_str(f, "model_kind", x->kind) == 0);
    if (x->config) {
        ck_assert(sc_h5_attr_put_str(f, "config", x->config) == 0);
    } else {
        sc_config c;
        sc_config_defaults(&c);
        c.glimpse_size = x->g;
        c.scales = x->k;
        c.glimpses = x->T;
        if (x->kind && !strcmp(x->kind, "selfattn")) {  /* heads are the steps, patches of g */
            snprintf(c.kind, sizeof c.kind, "selfattn");
            c.patch = x->g;
            c.heads = x->T;
            c.d_model = 16 * x->T;
        }
        char *text = sc_config_to_string(&c);
        ck_assert_ptr_nonnull(text);
        ck_assert(sc_h5_attr_put_str(f, "config", text) == 0);
        free(text);
    }
    if (x->class_names) ck_assert(sc_h5_attr_put_str(f, "class_names", x->class_names) == 0);
    if (x->glimpses) {
        const int H = x->H ? x->H : x->W, ch = x->channels ? x->channels : 1;
        hid_t g = H5Gcreate2(f, "glimpses", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        ck_assert(g >= 0);
        ck_assert(sc_h5_attr_put_str(g, "split", "val") == 0);
        ck_assert(sc_h5_attr_put_i32(g, "count", x->G) == 0);
        ck_assert(sc_h5_attr_put_i32(g, "glimpses", x->T) == 0);
        ck_assert(sc_h5_attr_put_i32(g, "classes", x->C) == 0);
        ck_assert(sc_h5_attr_put_i32(g, "side", x->W) == 0);
        if (x->H || x->channels) {
            ck_assert(sc_h5_attr_put_i32(g, "height", H) == 0);
            ck_assert(sc_h5_attr_put_i32(g, "width", x->W) == 0);
            ck_assert(sc_h5_attr_put_i32(g, "channels", ch) == 0);
        }
        hsize_t G = (hsize_t)x->G, T = (hsize_t)x->T, W = (hsize_t)x->W;
        hsize_t di[4] = {G, (hsize_t)H, W, 3}, dl[1] = {G};
        fx_dataset(g, "images", H5T_STD_U8LE, ch == 1 ? 3 : 4, di, 0);
        fx_dataset(g, "labels", H5T_STD_I32LE, 1, dl, 0);
        fx_dataset(g, "index", H5T_STD_I32LE, 1, dl, 0);
        unsigned char *im = malloc(G * H * W * ch);
        int *lab = malloc(sizeof(int) * G);
        ck_assert(im && lab);
        for (int i = 0; i < x->G; i++) {
            lab[i] = i % x->C;
            for (int y = 0; y < H; y++)
                for (int xx = 0; xx < x->W; xx++)
                    for (int c = 0; c < ch; c++)
                        im[(((size_t)i * H + y) * x->W + xx) * ch + c] = ch == 1 ? fx_grey(i, xx, y) : fx_rgb(i, xx, y, c);
        }
        fx_write_all(g, "images", H5T_NATIVE_UCHAR, im);
        fx_write_all(g, "labels", H5T_NATIVE_INT, lab);
        fx_write_all(g, "index", H5T_NATIVE_INT, lab);
        free(im);
        free(lab);
        hsize_t r1[1] = {0}, r2[2] = {0, G}, rp[4] = {0, G, T, (hsize_t)x->C}, rl[4] = {0, G, T, 2};
        fx_dataset(g, "epoch", H5T_STD_I32LE, 1, r1, 1);
        fx_dataset(g, "step", H5T_STD_I64LE, 1, r1, 1);
        fx_dataset(g, "pred", H5T_STD_I32LE, 2, r2, 1);
        fx_dataset(g, "reward", H5T_IEEE_F32LE, 2, r2, 1);
        fx_dataset(g, "probs", H5T_IEEE_F32LE, 4, rp, 1);
        if (x->L) {
            hsize_t ra[4] = {0, G, T, (hsize_t)x->L}, dg[2] = {(hsize_t)x->L, 2};
            fx_dataset(g, "attention", H5T_IEEE_F32LE, 4, ra, 1);
            fx_dataset(g, "grid", H5T_IEEE_F32LE, 2, dg, 0);
            /* the soft model's grid (agent/soft.h): l_k = ((2i+1)/n - 1, (2j+1)/n - 1), k = j n + i */
            int n = 1;
            while (n * n < x->L) n++;
            float *gr = malloc(sizeof(float) * 2 * x->L);
            ck_assert_ptr_nonnull(gr);
            for (int k = 0; k < x->L; k++) {
                gr[2 * k] = (2.0f * (k % n) + 1.0f) / n - 1.0f;
                gr[2 * k + 1] = (2.0f * (k / n) + 1.0f) / n - 1.0f;
            }
            fx_write_all(g, "grid", H5T_NATIVE_FLOAT, gr);
            free(gr);
        } else {
            fx_dataset(g, x->locations_name ? x->locations_name : "locations", H5T_IEEE_F32LE, 4, rl, 1);
        }
        H5Gclose(g);
    }
    ck_assert(H5Fclose(f) >= 0);
}

/* Appends one row to /glimpses/<name> (rank-dimensional, row of n elements). */
static inline void fx_append_row(hid_t f, const char *name, hid_t memtype, const void *row) {
    char full[64];
    snprintf(full, sizeof full, "glimpses/%s", name);
    hid_t d = H5Dopen2(f, full, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "no %s", full);
    hid_t s = H5Dget_space(d);
    hsize_t dims[4], off[4] = {0}, cnt[4];
    int rank = H5Sget_simple_extent_ndims(s);
    ck_assert(rank >= 1 && rank <= 4);
    H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    off[0] = dims[0];
    dims[0]++;
    ck_assert(H5Dset_extent(d, dims) >= 0);
    for (int i = 0; i < rank; i++) cnt[i] = i == 0 ? 1 : dims[i];
    s = H5Dget_space(d);
    ck_assert(H5Sselect_hyperslab(s, H5S_SELECT_SET, off, NULL, cnt, NULL) >= 0);
    hid_t m = H5Screate_simple(rank, cnt, NULL);
    ck_assert(H5Dwrite(d, memtype, m, s, H5P_DEFAULT, row) >= 0);
    H5Sclose(m);
    H5Sclose(s);
    H5Dclose(d);
}

/* One record: loc (G,T,2) (ram) or att (G,T,L) (soft), probs (G,T,C), pred (G).
 * reward = pred == label. Written as the trainer does, in SWMR-write mode. */
static inline void fx_append(const char *path, const fx_log *x, int epoch, const float *loc, const float *att,
                      const float *probs, const int *pred) {
    hid_t fapl = sc_h5_fapl(1);
    ck_assert(fapl >= 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE, fapl);
    ck_assert_msg(f >= 0, "cannot open %s for appending", path);
    H5Pclose(fapl);
    long long step = 100LL * epoch;
    float *reward = malloc(sizeof(float) * x->G);
    ck_assert_ptr_nonnull(reward);
    for (int i = 0; i < x->G; i++) reward[i] = pred[i] == i % x->C ? 1.0f : 0.0f;
    fx_append_row(f, "epoch", H5T_NATIVE_INT, &epoch);
    fx_append_row(f, "step", H5T_NATIVE_LLONG, &step);
    fx_append_row(f, "pred", H5T_NATIVE_INT, pred);
    fx_append_row(f, "reward", H5T_NATIVE_FLOAT, reward);
    fx_append_row(f, "probs", H5T_NATIVE_FLOAT, probs);
    if (x->L) fx_append_row(f, "attention", H5T_NATIVE_FLOAT, att);
    else fx_append_row(f, x->locations_name ? x->locations_name : "locations", H5T_NATIVE_FLOAT, loc);
    free(reward);
    ck_assert(H5Fclose(f) >= 0);
}

/* fx_append from another process, as a trainer writes while the viewer reads:
 * HDF5 refuses to open, within one process, a file that process holds open
 * read-only. The child drops its copy of the library state (H5close; the
 * reader's handles are read-only, so nothing is written) and appends. */
static inline void fx_append_other_process(const char *path, const fx_log *x, int epoch, const float *loc,
                                           const float *att, const float *probs, const int *pred) {
    fflush(NULL);
    pid_t p = fork();
    ck_assert(p >= 0);
    if (p == 0) {
        H5close();
        fx_append(path, x, epoch, loc, att, probs, pred);
        _exit(0);
    }
    int status;
    ck_assert(waitpid(p, &status, 0) == p);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the appending process failed");
}

/* Class probabilities that make class pred[i] the prediction at every step, with probability 0.9. */
static inline float *fx_probs(const fx_log *x, const int *pred) {
    float *p = malloc(sizeof(float) * x->G * x->T * x->C);
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < x->G; i++)
        for (int t = 0; t < x->T; t++)
            for (int c = 0; c < x->C; c++)
                p[((size_t)i * x->T + t) * x->C + c] = c == pred[i] ? 0.9f : 0.1f / (x->C - 1);
    return p;
}

#endif
