/* runlog.c - the run log (see runlog.h for how and why it is written this way,
 * docs/runlog.md for the schema).
 *
 * Tables are described once, as arrays of columns (name, type, offset in the
 * row struct, meaning); creating, appending, cutting back and documenting
 * walk those arrays. The meanings become each dataset's "doc" attribute, so
 * h5dump -A and HDFView show them next to the data.
 */
#define _GNU_SOURCE /* F_OFD_SETLK */
#include "runlog.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "experiments/h5util.h"
#include "nets/blas.h"

#ifndef SACCADE_VERSION
#define SACCADE_VERSION "unknown"
#endif
#ifndef SACCADE_GIT_COMMIT
#define SACCADE_GIT_COMMIT "unknown"
#endif

/* ---- tables ------------------------------------------------------------------------ */

typedef enum { CT_U8, CT_I8, CT_I32, CT_I64, CT_F32, CT_F64, CT_STR } ctype;

typedef struct column {
    const char *name;
    ctype type;
    size_t off;       /* offsetof the field in the row struct */
    const char *doc;
    int added;        /* added to schema 1 after its first release: logs created by an older
                       * saccade lack it, and appends to those logs skip it */
} column;

typedef struct table {
    const char *group;
    const column *cols;
    int ncols;
    hsize_t chunk;    /* rows per chunk */
} table;

#define COL(S, f, t, doc) { #f, t, offsetof(S, f), doc, 0 }
#define COL_ADDED(S, f, t, doc) { #f, t, offsetof(S, f), doc, 1 }
#define NCOLS(a) ((int)(sizeof a / sizeof a[0]))

#define TR sc_runlog_train_row
static const column train_cols[] = {
    COL(TR, step, CT_I64, "optimizer steps taken when the row was written"),
    COL(TR, epoch, CT_I32, "epoch (from 1) of the row's last step"),
    COL(TR, wall_time, CT_F64, "seconds since the run was created (root attribute created_unix)"),
    COL(TR, images_per_s, CT_F32, "training images per second over the row's steps"),
    COL(TR, xent, CT_F32, "mean cross-entropy of the classifier over the row's steps"),
    COL(TR, reinforce, CT_F32, "mean REINFORCE surrogate -sum_t (R - b) log pi, before reinforce_weight"),
    COL(TR, baseline_mse, CT_F32, "mean squared error of the baseline, (b - R)^2 (b = 0 without one)"),
    COL(TR, reward, CT_F32, "mean reward R: the training accuracy of the row's batches"),
    COL(TR, adv_var, CT_F32, "mean variance of the advantage R - b within a batch"),
    COL(TR, grad_norm, CT_F32, "mean global L2 norm of the gradient, before clipping"),
    COL(TR, lr, CT_F32, "learning rate of the row's last step"),
    COL(TR, std, CT_F32, "standard deviation of the location policy at the row's last step"),
    COL(TR, mu_abs, CT_F32, "mean |mu| of the location policy (0 = looks at the centre)"),
    COL(TR, mu_spread, CT_F32, "std of mu across a batch (0 = ignores the image)"),
    COL_ADDED(TR, att_entropy, CT_F32,
              "soft attention: mean entropy of the attention weights in nats (log L = uniform); NaN otherwise"),
    COL_ADDED(TR, att_max, CT_F32, "soft attention: mean largest attention weight (1/L = uniform); NaN otherwise"),
    COL_ADDED(TR, rf_grad_var, CT_F32,
              "ram: trace of the covariance over a batch of each example's REINFORCE gradient on loc.W2/b2; NaN otherwise"),
};
#undef TR

#define ER sc_runlog_eval_row
static const column eval_cols[] = {
    COL(ER, epoch, CT_I32, "epoch (from 1) just completed"),
    COL(ER, step, CT_I64, "optimizer steps taken at the end of the epoch"),
    COL(ER, wall_time, CT_F64, "seconds since the run was created"),
    COL(ER, val_err_m1, CT_F32, "validation error in %, one location sample per image (NaN without validation set)"),
    COL(ER, val_err_mc, CT_F32, "validation error in %, averaging model.mc_samples samples (M)"),
    COL(ER, best_val_err, CT_F32, "best val_err_m1 so far (the selection metric; training error when val_size = 0)"),
    COL(ER, is_best, CT_U8, "1 if this epoch's parameters became the best parameters"),
    COL(ER, lr, CT_F32, "learning rate of the epoch's last step"),
    COL(ER, std, CT_F32, "location policy std used for validation"),
    COL(ER, train_xent, CT_F32, "mean cross-entropy over the epoch"),
    COL(ER, train_reinforce, CT_F32, "mean REINFORCE surrogate over the epoch"),
    COL(ER, train_baseline_mse, CT_F32, "mean baseline MSE over the epoch"),
    COL(ER, train_reward, CT_F32, "mean reward over the epoch (training accuracy)"),
    COL(ER, train_grad_norm, CT_F32, "mean gradient norm over the epoch, before clipping"),
    COL(ER, images_per_s, CT_F32, "training images per second over the epoch"),
    COL(ER, epoch_seconds, CT_F32, "seconds spent in the epoch's training batches"),
};
#undef ER

#define TE sc_runlog_test_row
static const column test_cols[] = {
    COL(TE, epoch, CT_I32, "epochs completed when the session ended"),
    COL(TE, step, CT_I64, "optimizer steps taken when the session ended"),
    COL(TE, wall_time, CT_F64, "seconds since the run was created"),
    COL(TE, best_epoch, CT_I32, "epoch of the best parameters, which were tested (0 = initial)"),
    COL(TE, best_val_err, CT_F32, "their validation error in % (M=1)"),
    COL(TE, err_m1, CT_F32, "test error in %, one location sample per image"),
    COL(TE, err_mc, CT_F32, "test error in %, averaging mc_samples samples"),
    COL(TE, mc_samples, CT_I32, "M, the samples averaged for err_mc"),
    COL(TE, reason, CT_I8,
        "how the session ended: 1 finished, 2 early stop, 3 interrupted (signal), 5 paused (--stop-after)"),
    COL_ADDED(TE, us_per_image, CT_F32,
              "measured inference time per image in microseconds: one forward pass (M=1) over an evaluation "
              "batch of test canvases, warm, median of 5"),
    COL_ADDED(TE, train_seconds, CT_F64, "seconds spent in training batches, all sessions so far"),
};
#undef TE

#define CK sc_runlog_ckpt_row
static const column ckpt_cols[] = {
    COL(CK, epoch, CT_I32, "epochs completed"),
    COL(CK, batch_in_epoch, CT_I64, "batches of the next epoch already taken (a checkpoint made on a signal), else 0"),
    COL(CK, step, CT_I64, "optimizer steps taken"),
    COL(CK, wall_time, CT_F64, "seconds since the run was created"),
    COL(CK, best_epoch, CT_I32, "epoch of the best parameters held by the checkpoint"),
    COL(CK, best_val_err, CT_F32, "their validation error in % (M=1)"),
};
#undef CK

typedef struct session_row {
    double start_unix;
    int32_t start_epoch;
    int64_t start_step;
    int32_t threads;
    const char *command_line;
    const char *config;
    double end_unix;
    int32_t end_epoch;
    int64_t end_step;
    int8_t end_reason;
    const char *end_note;    /* why it stopped, for a diverged session; "" otherwise */
    int64_t end_skipped;     /* batches skipped as non-finite ([train] nonfinite = skip) */
} session_row;

#define SE session_row
static const column session_cols[] = {
    COL(SE, start_unix, CT_F64, "Unix time the session started"),
    COL(SE, start_epoch, CT_I32, "epochs completed when it started"),
    COL(SE, start_step, CT_I64, "optimizer steps taken when it started"),
    COL(SE, threads, CT_I32, "worker threads"),
    COL(SE, command_line, CT_STR, "the command line"),
    COL(SE, config, CT_STR, "the fully resolved configuration of the session"),
    COL(SE, end_unix, CT_F64, "Unix time it ended; NaN while running or if killed"),
    COL(SE, end_epoch, CT_I32, "epochs completed when it ended; -1 while running or if killed"),
    COL(SE, end_step, CT_I64, "optimizer steps taken when it ended; -1 while running or if killed"),
    COL(SE, end_reason, CT_I8,
        "0 running or killed, 1 finished, 2 early stop, 3 interrupted (signal), 4 failed, 5 paused (--stop-after), "
        "6 diverged (a non-finite loss, gradient or parameter; end_note says which)"),
    COL_ADDED(SE, end_note, CT_STR,
              "for a diverged session the line it stopped with (epoch, step, the non-finite term or tensor, lr); "
              "\"\" otherwise"),
    COL_ADDED(SE, end_skipped, CT_I64,
              "batches skipped in the session because a loss or gradient was non-finite ([train] nonfinite = skip)"),
};
#undef SE

typedef struct grow_row {
    int32_t epoch;
    int64_t step;
} grow_row;
static const column glimpse_cols[] = {
    COL(grow_row, epoch, CT_I32, "epoch after which the record was made (0 = the initial parameters)"),
    COL(grow_row, step, CT_I64, "optimizer steps taken at the record"),
};

static const table T_TRAIN = {"train", train_cols, NCOLS(train_cols), 512};
static const table T_EVAL = {"eval", eval_cols, NCOLS(eval_cols), 64};
static const table T_TEST = {"eval/test", test_cols, NCOLS(test_cols), 16};
static const table T_CKPT = {"checkpoints", ckpt_cols, NCOLS(ckpt_cols), 64};
static const table T_SESSION = {"sessions", session_cols, NCOLS(session_cols), 16};
static const table T_GLIMPSE = {"glimpses", glimpse_cols, NCOLS(glimpse_cols), 64};

/* The N-D glimpse datasets: (R, G, <tail>) with one record per chunk, deflated. */
typedef struct ndset {
    const char *name;
    ctype type;
    int tail;           /* 0: (R, G); 1: (R, G, T, 2); 2: (R, G, T, C); 3: (R, G, T, L) */
    const char *doc;
} ndset;
static const ndset glimpse_nd[] = {
    {"locations", CT_F32, 1,
     "(x, y) in [-1,1] of each glimpse, (-1,-1) the top-left corner of the canvas; soft attention: the "
     "attention-weighted mean of the grid's locations"},
    {"probs", CT_F32, 2,
     "class probabilities of the classifier applied after each glimpse; the last is the prediction's"},
    {"pred", CT_I32, 0, "predicted class"},
    {"reward", CT_F32, 0, "reward: 1 if pred equals the label, else 0"},
    {"attention", CT_F32, 3,
     "soft attention: the weights p_t over the L locations of /glimpses/grid at each step (sum to 1)"},
};
#define ND_ATTENTION 4  /* glimpse_nd index of the soft-attention-only dataset */
#define NGND NCOLS(glimpse_nd)

struct sc_runlog {
    char path[4096];
    int lock_fd;
    double created_unix;
    sc_runlog_rows rows;
    int64_t test_rows, ckpt_rows, session_row;
    int G, T, C, L;   /* L > 0: a soft-attention log with /glimpses/attention */
    int H, W, ch;     /* the glimpse images' height, width and channels (resume: 0 = not known) */
    int broken;       /* a write failed: the file may be half-flushed, write no more */
};

/* ---- small helpers ------------------------------------------------------------------- */

static double unix_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static hid_t vlen_str(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* File and memory types of a column type; CT_STR returns a new type the caller closes. */
static hid_t ftype_of(ctype t) {
    switch (t) {
    case CT_U8: return H5T_STD_U8LE;
    case CT_I8: return H5T_STD_I8LE;
    case CT_I32: return H5T_STD_I32LE;
    case CT_I64: return H5T_STD_I64LE;
    case CT_F32: return H5T_IEEE_F32LE;
    case CT_F64: return H5T_IEEE_F64LE;
    case CT_STR: return vlen_str();
    }
    return -1;
}

static hid_t mtype_of(ctype t) {
    switch (t) {
    case CT_U8: return H5T_NATIVE_UINT8;
    case CT_I8: return H5T_NATIVE_INT8;
    case CT_I32: return H5T_NATIVE_INT32;
    case CT_I64: return H5T_NATIVE_INT64;
    case CT_F32: return H5T_NATIVE_FLOAT;
    case CT_F64: return H5T_NATIVE_DOUBLE;
    case CT_STR: return vlen_str();
    }
    return -1;
}

/* The writer lock: an OFD write lock on the whole file, held by fd until it
 * is closed (not released when HDF5 closes its own descriptors). */
static int take_lock(int fd) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    return fcntl(fd, F_OFD_SETLK, &fl);
}

static int is_locked(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    int locked = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    close(fd);
    return locked;
}

/* ---- class names and image shapes ---------------------------------------------------- */

/* Length of the UTF-8 sequence at p (at most n bytes), 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_len(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (!len || len > n) return 0;
    unsigned cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    static const unsigned least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

int sc_runlog_class_names_check(const char *names, int C, char *why, size_t wn) {
    int k = 0;
    for (const char *p = names;; k++) {
        size_t n = strcspn(p, "\n");
        if (k < C) {
            if (n == 0) return snprintf(why, wn, "name %d (of %d) is empty", k + 1, C), -1;
            if (n > SC_RUNLOG_CLASS_NAME_MAX)
                return snprintf(why, wn, "name %d (of %d) is %zu bytes long, at most %d", k + 1, C, n,
                                SC_RUNLOG_CLASS_NAME_MAX), -1;
            for (size_t i = 0; i < n;) {
                const unsigned char *b = (const unsigned char *)p + i;
                if (*b < 0x20 || *b == 0x7f)
                    return snprintf(why, wn, "name %d (of %d) holds the control character 0x%02x", k + 1, C, *b), -1;
                size_t l = utf8_len(b, n - i);
                if (!l) return snprintf(why, wn, "name %d (of %d) is not valid UTF-8", k + 1, C), -1;
                i += l;
            }
        }
        if (!p[n]) break;
        p += n + 1;
    }
    if (k + 1 != C)
        return snprintf(why, wn, "holds %d name%s, expected %d (one per class, newline-separated)", k + 1,
                        k ? "s" : "", C), -1;
    return 0;
}

/* "0\n1\n...\nC-1", malloc'd (caller frees); NULL when out of memory. */
static char *default_class_names(int C) {
    size_t n = 1;
    for (int c = 0; c < C; c++) n += (size_t)snprintf(NULL, 0, "%d", c) + 1;
    char *s = malloc(n), *p = s;
    if (!s) return NULL;
    *p = '\0';
    for (int c = 0; c < C; c++) p += sprintf(p, c ? "\n%d" : "%d", c);
    return s;
}

/* The glimpse images' shape with the defaults applied (0 = side, 0 channels = 1). */
static void glimpse_shape(const sc_runlog_glimpse_set *gs, int *H, int *W, int *ch) {
    *H = gs->h > 0 ? gs->h : gs->side;
    *W = gs->w > 0 ? gs->w : gs->side;
    *ch = gs->channels > 0 ? gs->channels : 1;
}

/* What sc_runlog_create refuses before creating anything: a message in why, -1. */
static int check_create_args(const sc_runlog_meta *m, const sc_runlog_glimpse_set *gs, char *why, size_t wn) {
    if (m->channels != 0 && m->channels != 1 && m->channels != 3)
        return snprintf(why, wn, "channels = %d, expected 1 (grey) or 3 (RGB)", m->channels), -1;
    if (m->canvas_h < 0 || m->canvas_w < 0)
        return snprintf(why, wn, "canvas %d x %d (height x width) is not a size", m->canvas_h, m->canvas_w), -1;
    if (m->class_names) {
        char r[160];
        if (sc_runlog_class_names_check(m->class_names, m->num_classes, r, sizeof r) < 0)
            return snprintf(why, wn, "class_names: %s", r), -1;
    }
    if (gs && gs->G > 0) {
        int H, W, ch;
        glimpse_shape(gs, &H, &W, &ch);
        if (gs->channels != 0 && gs->channels != 1 && gs->channels != 3)
            return snprintf(why, wn, "the glimpse images have %d channels, expected 1 or 3", gs->channels), -1;
        if (H < 1 || W < 1 || gs->h < 0 || gs->w < 0)
            return snprintf(why, wn, "the glimpse images are %d x %d (height x width), not a size", H, W), -1;
    }
    return 0;
}

/* ---- creating tables -------------------------------------------------------------------- */

static int create_group(hid_t f, const char *name) {
    hid_t g = H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return -1;
    return H5Gclose(g) < 0 ? -1 : 0;
}

/* dataset `path` of rank dims, unlimited first axis, chunked; deflate when level >= 0. */
static int create_dataset(hid_t f, const char *path, ctype type, int rank, const hsize_t *dims,
                          const hsize_t *chunk, int level, const char *doc) {
    hsize_t maxd[4];
    for (int i = 0; i < rank; i++) maxd[i] = i == 0 ? H5S_UNLIMITED : dims[i];
    int rc = -1;
    hid_t sp = H5Screate_simple(rank, dims, maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t ft = ftype_of(type);
    if (sp >= 0 && dcpl >= 0 && ft >= 0 && H5Pset_chunk(dcpl, rank, chunk) >= 0 &&
        (level < 0 || (H5Pset_shuffle(dcpl) >= 0 && H5Pset_deflate(dcpl, (unsigned)level) >= 0))) {
        hid_t d = H5Dcreate2(f, path, ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        if (d >= 0) {
            rc = sc_h5_attr_put_str(d, "doc", doc);
            if (H5Dclose(d) < 0) rc = -1;
        }
    }
    if (type == CT_STR && ft >= 0) H5Tclose(ft);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (sp >= 0) H5Sclose(sp);
    return rc;
}

static int create_table(hid_t f, const table *t, char *what, size_t wn) {
    snprintf(what, wn, "/%s", t->group);
    if (create_group(f, t->group) < 0) return -1;
    for (int i = 0; i < t->ncols; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", t->group, t->cols[i].name);
        snprintf(what, wn, "/%s", p);
        hsize_t dims[1] = {0}, chunk[1] = {t->chunk};
        if (create_dataset(f, p, t->cols[i].type, 1, dims, chunk, -1, t->cols[i].doc) < 0) return -1;
    }
    return 0;
}

/* ---- writing rows --------------------------------------------------------------------------- */

/* Writes `count` rows of row_elems elements each from buf at [at, at+count) of
 * the 1-D or N-D dataset d (first axis), extending it to at+count first when
 * extend is set. -1 on an HDF5 error; -3 when a row of d is not row_elems
 * elements (a hostile or foreign log: HDF5 would read past buf). */
static int write_rows(hid_t d, hid_t mtype, hsize_t at, hsize_t count, hsize_t row_elems, int extend,
                      const void *buf) {
    hid_t fs = H5Dget_space(d);
    if (fs < 0) return -1;
    int rank = H5Sget_simple_extent_ndims(fs);
    hsize_t dims[4], off[4] = {0, 0, 0, 0}, cnt[4];
    if (rank < 1 || rank > 4 || H5Sget_simple_extent_dims(fs, dims, NULL) < 0) {
        H5Sclose(fs);
        return -1;
    }
    H5Sclose(fs);
    hsize_t elems = 1;
    for (int i = 1; i < rank; i++) elems = dims[i] && elems > UINT64_MAX / dims[i] ? 0 : elems * dims[i];
    if (elems != row_elems) return -3;
    if (extend) {
        dims[0] = at + count;
        if (H5Dset_extent(d, dims) < 0) return -1;
    }
    fs = H5Dget_space(d);
    if (fs < 0) return -1;
    for (int i = 0; i < rank; i++) cnt[i] = dims[i];
    off[0] = at;
    cnt[0] = count;
    int rc = -1;
    hid_t ms = H5Screate_simple(rank, cnt, NULL);
    if (ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) >= 0 &&
        H5Dwrite(d, mtype, ms, fs, H5P_DEFAULT, buf) >= 0)
        rc = 0;
    if (ms >= 0) H5Sclose(ms);
    H5Sclose(fs);
    return rc;
}

/* Does the log hold column i of t? Always, unless the column was added after
 * the log was made (column.added): 1, 0, or -1 on an HDF5 error. */
static int has_column(hid_t f, const table *t, int i) {
    if (!t->cols[i].added) return 1;
    char p[128];
    snprintf(p, sizeof p, "%s/%s", t->group, t->cols[i].name);
    htri_t ex = H5Lexists(f, p, H5P_DEFAULT);
    return ex < 0 ? -1 : ex > 0;
}

/* Writes row (a struct described by t) at index `at` of every column whose name
 * starts with only (every column when only is NULL). what receives the dataset
 * being written, for messages. -1 on an HDF5 error; -3 (what says so) when a
 * column is not one value per row. */
static int table_write(hid_t f, const table *t, const void *row, hsize_t at, int extend, const char *only,
                       char *what, size_t wn) {
    for (int i = 0; i < t->ncols; i++) {
        const column *c = &t->cols[i];
        if (only && strncmp(c->name, only, strlen(only)) != 0) continue;
        char p[128];
        snprintf(p, sizeof p, "%s/%s", t->group, c->name);
        snprintf(what, wn, "/%s", p);
        int has = has_column(f, t, i);
        if (has < 0) return -1;
        if (!has) continue;
        hid_t d = H5Dopen2(f, p, H5P_DEFAULT);
        if (d < 0) return -1;
        hid_t mt = mtype_of(c->type);
        int rc = mt >= 0 ? write_rows(d, mt, at, 1, 1, extend, (const char *)row + c->off) : -1;
        if (c->type == CT_STR && mt >= 0) H5Tclose(mt);
        if (H5Dclose(d) < 0) rc = -1;
        if (rc == -3) snprintf(what, wn, "/%s is not one value per row", p);
        if (rc < 0) return rc;
    }
    return 0;
}

/* The length (first dimension) of dataset p: 0, -1 on an HDF5 error or a rank
 * other than 1..4, -3 when it declares more than the file holds (sc_h5_dataset_fits:
 * a hostile length that cutting back would walk chunk by chunk); then what says so. */
static int dataset_len(hid_t f, const char *p, hsize_t *n, char *what, size_t wn) {
    hid_t d = H5Dopen2(f, p, H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t s = H5Dget_space(d);
    hsize_t dims[4];
    int rank = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1;
    int rc = rank >= 1 && rank <= 4 && H5Sget_simple_extent_dims(s, dims, NULL) >= 0 ? 0 : -1;
    if (rc == 0) *n = dims[0];
    if (s >= 0) H5Sclose(s);
    unsigned long long declared, stored;
    int fits = rc == 0 ? sc_h5_dataset_fits(d, &declared, &stored) : 1;
    if (fits < 0) rc = -1;
    if (fits == 0) {
        snprintf(what, wn, "/%s declares %llu rows (%llu bytes) but the file holds %llu bytes of it", p,
                 (unsigned long long)dims[0], declared, stored);
        rc = -3;
    }
    H5Dclose(d);
    return rc;
}

static int dataset_cut(hid_t f, const char *p, hsize_t n) {
    hid_t d = H5Dopen2(f, p, H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t s = H5Dget_space(d);
    hsize_t dims[4];
    int rank = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1;
    int rc = rank >= 1 && rank <= 4 && H5Sget_simple_extent_dims(s, dims, NULL) >= 0 ? 0 : -1;
    if (s >= 0) H5Sclose(s);
    if (rc == 0 && dims[0] != n) {
        dims[0] = n;
        rc = H5Dset_extent(d, dims) < 0 ? -1 : 0;
    }
    if (H5Dclose(d) < 0) rc = -1;
    return rc;
}

/* Does the log hold glimpse array i? The soft-attention array only in soft
 * logs. 1, 0, or -1 on an HDF5 error. */
static int has_nd(hid_t f, int i) {
    if (i != ND_ATTENTION) return 1;
    htri_t ex = H5Lexists(f, "glimpses/attention", H5P_DEFAULT);
    return ex < 0 ? -1 : ex > 0;
}

/* min length over a table's columns (and the glimpse arrays for /glimpses); what
 * names the dataset that failed (dataset_len's codes). */
static int table_len(hid_t f, const table *t, int with_nd, hsize_t *minlen, char *what, size_t wn) {
    hsize_t m = (hsize_t)-1, n;
    for (int i = 0; i < t->ncols; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", t->group, t->cols[i].name);
        int has = has_column(f, t, i);
        if (has < 0) return -1;
        if (!has) continue;
        snprintf(what, wn, "/%s", p);
        int rc = dataset_len(f, p, &n, what, wn);
        if (rc < 0) return rc;
        if (n < m) m = n;
    }
    for (int i = 0; with_nd && i < NGND; i++) {
        char p[128];
        snprintf(p, sizeof p, "glimpses/%s", glimpse_nd[i].name);
        int has = has_nd(f, i);
        if (has < 0) return -1;
        if (!has) continue;
        snprintf(what, wn, "/%s", p);
        int rc = dataset_len(f, p, &n, what, wn);
        if (rc < 0) return rc;
        if (n < m) m = n;
    }
    *minlen = m;
    return 0;
}

static int table_cut(hid_t f, const table *t, int with_nd, hsize_t n, char *what, size_t wn) {
    for (int i = 0; i < t->ncols; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", t->group, t->cols[i].name);
        snprintf(what, wn, "/%s", p);
        int has = has_column(f, t, i);
        if (has < 0) return -1;
        if (has && dataset_cut(f, p, n) < 0) return -1;
    }
    for (int i = 0; with_nd && i < NGND; i++) {
        char p[128];
        snprintf(p, sizeof p, "glimpses/%s", glimpse_nd[i].name);
        snprintf(what, wn, "/%s", p);
        int has = has_nd(f, i);
        if (has < 0) return -1;
        if (has && dataset_cut(f, p, n) < 0) return -1;
    }
    return 0;
}

/* ---- opening for an append ----------------------------------------------------------------- */

static hid_t open_append(sc_runlog *L, sc_err *err) {
    hid_t fapl = sc_h5_fapl(1);
    hid_t f = fapl >= 0 ? H5Fopen(L->path, H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE, fapl) : -1;
    if (fapl >= 0) H5Pclose(fapl);
    if (f < 0) sc_h5_errf(err, SC_EIO, "%s: cannot open the run log for writing", L->path);
    return f;
}

/* Closes (and so flushes) after an append; rc is the append's result. */
static int close_append(sc_runlog *L, hid_t f, int rc, const char *what, sc_err *err) {
    if (rc < 0) {
        rc = rc == -3 ? sc_errf(err, SC_EFORMAT, "%s: damaged run log: %s", L->path, what)
                      : sc_h5_errf(err, SC_EIO, "%s: cannot write %s", L->path, what);
        H5Fclose(f);
        sc_h5_forget();
        return rc;
    }
    if (H5Fclose(f) < 0) return sc_h5_errf(err, SC_EIO, "%s: cannot flush %s", L->path, what);
    return SC_OK;
}

typedef int (*append_fn)(sc_runlog *L, hid_t f, const void *arg, char *what, size_t wn);

static int with_file(sc_runlog *L, append_fn fn, const void *arg, sc_err *err) {
    if (L->broken)
        return sc_errf(err, SC_EIO, "%s: an earlier write to the run log failed; nothing more is written", L->path);
    sc_h5_quiet q;
    sc_h5_quiet_begin(&q);
    int rc;
    hid_t f = open_append(L, err);
    if (f < 0) {
        rc = SC_EIO;
    } else {
        char what[160] = "the run log";
        int r = fn(L, f, arg, what, sizeof what);
        rc = close_append(L, f, r, what, err);
    }
    if (rc != SC_OK) L->broken = 1;
    sc_h5_quiet_end(&q);
    return rc;
}

/* ---- create ---------------------------------------------------------------------------------- */

static int write_meta(hid_t f, const sc_runlog_meta *m, double created) {
    char stamp[32], host[256] = "", os[400] = "", hdf5v[32];
    time_t t = (time_t)created;
    struct tm tmv;
    gmtime_r(&t, &tmv);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "unknown");
    struct utsname u;
    if (uname(&u) == 0) snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    snprintf(hdf5v, sizeof hdf5v, "%u.%u.%u", maj, min, rel);
    int bad = 0;
    bad |= sc_h5_attr_put_str(f, "format", SC_RUNLOG_FORMAT);
    bad |= sc_h5_attr_put_i32(f, "schema_version", SC_RUNLOG_SCHEMA);
    bad |= sc_h5_attr_put_str(f, "run_id", m->run_id);
    bad |= sc_h5_attr_put_str(f, "created", stamp);
    bad |= sc_h5_attr_put_f64(f, "created_unix", created);
    bad |= sc_h5_attr_put_str(f, "command_line", m->command_line);
    bad |= sc_h5_attr_put_str(f, "config_file", m->config_file);
    bad |= sc_h5_attr_put_str(f, "config_file_text", m->config_file_text);
    bad |= sc_h5_attr_put_str(f, "config", m->config);
    bad |= sc_h5_attr_put_u64(f, "seed", m->seed);
    bad |= sc_h5_attr_put_i32(f, "threads", m->threads);
    bad |= sc_h5_attr_put_str(f, "saccade_version", SACCADE_VERSION);
    bad |= sc_h5_attr_put_str(f, "git_commit", SACCADE_GIT_COMMIT);
    bad |= sc_h5_attr_put_str(f, "openblas", sc_blas_config());
    bad |= sc_h5_attr_put_str(f, "hdf5_version", hdf5v);
    bad |= sc_h5_attr_put_str(f, "host", host);
    bad |= sc_h5_attr_put_str(f, "os", os);
    bad |= sc_h5_attr_put_str(f, "model_kind", m->model_kind ? m->model_kind : "ram");
    bad |= sc_h5_attr_put_i64(f, "param_count", m->param_count);
    bad |= sc_h5_attr_put_f64(f, "macs_per_image", m->macs_per_image);
    bad |= sc_h5_attr_put_f64(f, "flops_per_image", 2.0 * m->macs_per_image);
    bad |= sc_h5_attr_put_f64(f, "macs_train_per_image", m->macs_train_per_image);
    bad |= sc_h5_attr_put_f64(f, "flops_train_per_image", 2.0 * m->macs_train_per_image);
    bad |= sc_h5_attr_put_f64(f, "pixels_per_image", m->pixels_per_image);
    bad |= sc_h5_attr_put_f64(f, "retina_adds_per_image", m->retina_adds_per_image);
    bad |= sc_h5_attr_put_str(f, "checkpoint", m->checkpoint);
    bad |= sc_h5_attr_put_i32(f, "n_train", m->n_train);
    bad |= sc_h5_attr_put_i32(f, "n_val", m->n_val);
    bad |= sc_h5_attr_put_i32(f, "n_test", m->n_test);
    bad |= sc_h5_attr_put_i32(f, "num_classes", m->num_classes);
    /* canvas_side is the width, so that readers older than canvas_height keep working */
    const int cw = m->canvas_w > 0 ? m->canvas_w : m->canvas_side, chh = m->canvas_h > 0 ? m->canvas_h : m->canvas_side;
    bad |= sc_h5_attr_put_i32(f, "canvas_side", cw);
    bad |= sc_h5_attr_put_i32(f, "steps_per_epoch", m->steps_per_epoch);
    bad |= sc_h5_attr_put_i32(f, "canvas_height", chh);
    bad |= sc_h5_attr_put_i32(f, "canvas_width", cw);
    bad |= sc_h5_attr_put_i32(f, "channels", m->channels > 0 ? m->channels : 1);
    char *names = m->class_names ? NULL : default_class_names(m->num_classes > 0 ? m->num_classes : 0);
    if (!m->class_names && !names) return -1;
    bad |= sc_h5_attr_put_str(f, "class_names", m->class_names ? m->class_names : names);
    free(names);
    return bad ? -1 : 0;
}

static int create_glimpses(hid_t f, const sc_runlog_glimpse_set *gs, char *what, size_t wn) {
    if (create_table(f, &T_GLIMPSE, what, wn) < 0) return -1;
    hid_t g = H5Gopen2(f, "glimpses", H5P_DEFAULT);
    if (g < 0) return -1;
    int bad = 0;
    bad |= sc_h5_attr_put_str(g, "split", gs->split);
    bad |= sc_h5_attr_put_i32(g, "count", gs->G);
    bad |= sc_h5_attr_put_i32(g, "glimpses", gs->T);
    bad |= sc_h5_attr_put_i32(g, "classes", gs->C);
    int H, W, ch;
    glimpse_shape(gs, &H, &W, &ch);
    bad |= sc_h5_attr_put_i32(g, "side", W);  /* the width: readers older than height and width read it */
    bad |= sc_h5_attr_put_i32(g, "height", H);
    bad |= sc_h5_attr_put_i32(g, "width", W);
    bad |= sc_h5_attr_put_i32(g, "channels", ch);
    if (H5Gclose(g) < 0 || bad) return -1;
    const hsize_t G = (hsize_t)gs->G, T = (hsize_t)gs->T, C = (hsize_t)gs->C;
    const hsize_t IH = (hsize_t)H, IW = (hsize_t)W, IC = (hsize_t)ch, pixels = IH * IW * IC;
    const hsize_t L = (hsize_t)(gs->L > 0 ? gs->L : 0);
    for (int i = 0; i < NGND; i++) {
        const ndset *s = &glimpse_nd[i];
        if (i == ND_ATTENTION && L == 0) continue;
        const hsize_t last = s->tail == 1 ? 2 : s->tail == 3 ? L : C;
        hsize_t dims[4] = {0, G, T, last};
        hsize_t chunk[4] = {1, G, T, last};
        char p[64];
        snprintf(p, sizeof p, "glimpses/%s", s->name);
        snprintf(what, wn, "/%s", p);
        if (create_dataset(f, p, s->type, s->tail ? 4 : 2, dims, chunk, 6, s->doc) < 0) return -1;
    }
    /* written once: fixed-size datasets */
    /* images: (G, H, W) grey, (G, H, W, 3) colour */
    struct { const char *name; int rank; hsize_t dims[4]; hid_t ft, mt; const void *buf; const char *doc; } once[] = {
        {"images", ch == 1 ? 3 : 4, {G, IH, IW, IC}, H5T_STD_U8LE, H5T_NATIVE_UINT8, gs->images,
         ch == 1 ? "the canvases, pixel value = round(255 x intensity); row-major, (image, y, x)"
                 : "the canvases, RGB, value = round(255 x intensity); row-major, (image, y, x, channel)"},
        {"labels", 1, {G, 0, 0, 0}, H5T_STD_I32LE, H5T_NATIVE_INT32, gs->labels, "true class"},
        {"index", 1, {G, 0, 0, 0}, H5T_STD_I32LE, H5T_NATIVE_INT32, gs->index,
         "index of the image in its source file (the training file for split val, the test file for test)"},
        {"grid", 2, {L, 2, 0, 0}, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, gs->grid,
         "soft attention: the L candidate locations (x, y) in [-1,1], in the order of the attention weights"},
    };
    const size_t nonce = sizeof once / sizeof once[0] - (L == 0);  /* grid: soft logs only */
    for (size_t i = 0; i < nonce; i++) {
        char p[64];
        snprintf(p, sizeof p, "glimpses/%s", once[i].name);
        snprintf(what, wn, "/%s", p);
        hid_t sp = H5Screate_simple(once[i].rank, once[i].dims, NULL);
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        hsize_t chunk[4] = {once[i].dims[0], once[i].dims[1], once[i].dims[2], once[i].dims[3]};
        /* images: chunks of at most ~1 MB so the deflate works on whole images */
        if (i == 0 && chunk[0] * pixels > (1u << 20)) chunk[0] = (1u << 20) / pixels + 1;
        int rc = -1;
        if (sp >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, once[i].rank, chunk) >= 0 && H5Pset_shuffle(dcpl) >= 0 &&
            H5Pset_deflate(dcpl, 6) >= 0) {
            hid_t d = H5Dcreate2(f, p, once[i].ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
            if (d >= 0) {
                rc = H5Dwrite(d, once[i].mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, once[i].buf) < 0 ? -1 : 0;
                if (rc == 0) rc = sc_h5_attr_put_str(d, "doc", once[i].doc);
                if (H5Dclose(d) < 0) rc = -1;
            }
        }
        if (dcpl >= 0) H5Pclose(dcpl);
        if (sp >= 0) H5Sclose(sp);
        if (rc < 0) return -1;
    }
    return 0;
}

static int create_all(hid_t f, const sc_runlog_meta *m, const sc_runlog_glimpse_set *gs, const session_row *s,
                      double created, char *what, size_t wn) {
    snprintf(what, wn, "the root attributes");
    if (write_meta(f, m, created) < 0) return -1;
    if (create_table(f, &T_TRAIN, what, wn) < 0) return -1;
    if (create_table(f, &T_EVAL, what, wn) < 0) return -1;
    if (create_table(f, &T_TEST, what, wn) < 0) return -1;
    if (create_table(f, &T_CKPT, what, wn) < 0) return -1;
    if (create_table(f, &T_SESSION, what, wn) < 0) return -1;
    if (gs && gs->G > 0 && create_glimpses(f, gs, what, wn) < 0) return -1;
    return table_write(f, &T_SESSION, s, 0, 1, NULL, what, wn);
}

int sc_runlog_create(sc_runlog **out, const char *path, const sc_runlog_meta *m,
                     const sc_runlog_glimpse_set *gs, sc_err *err) {
    *out = NULL;
    char why[200];
    if (check_create_args(m, gs, why, sizeof why) < 0)
        return sc_errf(err, SC_EARG, "%s: cannot create the run log: %s", path, why);
    sc_runlog *L = calloc(1, sizeof *L);
    if (!L) return sc_errf(err, SC_ENOMEM, "%s: out of memory", path);
    if (snprintf(L->path, sizeof L->path, "%s", path) >= (int)sizeof L->path) {
        free(L);
        return sc_errf(err, SC_EARG, "%s: path too long", path);
    }
    L->lock_fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (L->lock_fd < 0) {
        int e = errno;
        free(L);
        if (e == EEXIST)
            return sc_errf(err, SC_EIO, "%s: already exists; continue it with --resume or choose another --out", path);
        return sc_errf(err, SC_EIO, "%s: cannot create the run log: %s", path, strerror(e));
    }
    if (take_lock(L->lock_fd) != 0) {
        int e = errno;
        close(L->lock_fd);
        unlink(path);
        free(L);
        return sc_errf(err, SC_EIO, "%s: cannot lock the run log: %s", path, strerror(e));
    }
    L->created_unix = unix_now();
    if (gs && gs->G > 0) {
        L->G = gs->G;
        L->T = gs->T;
        L->C = gs->C;
        L->L = gs->L > 0 ? gs->L : 0;
        glimpse_shape(gs, &L->H, &L->W, &L->ch);
    }
    session_row s = {L->created_unix, 0, 0, m->threads, m->command_line ? m->command_line : "",
                     m->config ? m->config : "", NAN, -1, -1, SC_END_RUNNING, "", 0};
    sc_h5_quiet q;
    sc_h5_quiet_begin(&q);
    int rc = SC_OK;
    hid_t fapl = sc_h5_fapl(1);
    hid_t f = fapl >= 0 ? H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : -1;
    if (fapl >= 0) H5Pclose(fapl);
    if (f < 0) {
        rc = sc_h5_errf(err, SC_EIO, "%s: cannot create the run log", path);
    } else {
        char what[160] = "";
        int r = create_all(f, m, gs, &s, L->created_unix, what, sizeof what);
        if (r < 0) {
            rc = sc_h5_errf(err, SC_EIO, "%s: cannot write %s", path, what);
            H5Fclose(f);
        } else if (H5Fclose(f) < 0) {
            rc = sc_h5_errf(err, SC_EIO, "%s: cannot write the run log", path);
        }
    }
    sc_h5_forget();
    sc_h5_quiet_end(&q);
    if (rc != SC_OK) {
        unlink(path);
        close(L->lock_fd);
        free(L);
        return rc;
    }
    L->session_row = 0;
    *out = L;
    return SC_OK;
}

/* ---- resume ------------------------------------------------------------------------------------ */

/* Opens path read-write in SWMR-write mode, so that even the edits of a resume
 * (cutting tables back, a new /sessions row) keep the file readable by SWMR
 * readers whatever happens to this process. A crashed writer's "open for write"
 * status flags are cleared as `h5clear -s` does (HDF5's own, undocumented
 * file-access property "clear_status_flags", which h5clear sets). */
static hid_t open_rdwr(const char *path) {
    hid_t fapl = sc_h5_fapl(1);
    if (fapl < 0) return -1;
    hid_t f = H5Fopen(path, H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE, fapl);
    if (f < 0) {
        hbool_t clear = 1;
        if (H5Pset(fapl, "clear_status_flags", &clear) >= 0) {
            sc_h5_forget();
            f = H5Fopen(path, H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE, fapl);
        }
    }
    H5Pclose(fapl);
    return f;
}

/* The glimpse images' height, width and channels from /glimpses@height,
 * @width, @channels (logs before them: @side, @side, 1) into L. -1 on an HDF5
 * error; -3 (what says so) for values that are not an image's. */
static int glimpse_image_shape(hid_t f, sc_runlog *L, char *what, size_t wn) {
    hid_t g = H5Gopen2(f, "glimpses", H5P_DEFAULT);
    if (g < 0) return -1;
    static const char *const names[3] = {"height", "width", "channels"};
    int64_t v[3] = {0, 0, 1}, side = 0;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        int has = sc_h5_attr_exists(g, names[i]);
        snprintf(what, wn, "/glimpses@%s", names[i]);
        if (has < 0) rc = -1;
        else if (has && sc_h5_attr_get_i64(g, names[i], &v[i]) < 0)
            rc = (snprintf(what, wn, "/glimpses@%s is not an integer", names[i]), -3);
        else if (!has && i < 2 && !side && sc_h5_attr_get_i64(g, "side", &side) < 0)
            rc = (snprintf(what, wn, "/glimpses@side is missing or not an integer"), -3);
        else if (!has && i < 2) v[i] = side;
    }
    H5Gclose(g);
    if (rc < 0) return rc;
    if (v[0] < 1 || v[0] > INT_MAX || v[1] < 1 || v[1] > INT_MAX || (v[2] != 1 && v[2] != 3)) {
        snprintf(what, wn, "/glimpses@height, width, channels (%lld, %lld, %lld) are not an image's (channels 1 or 3)",
                 (long long)v[0], (long long)v[1], (long long)v[2]);
        return -3;
    }
    L->H = (int)v[0];
    L->W = (int)v[1];
    L->ch = (int)v[2];
    return 0;
}

static int resume_edit(sc_runlog *L, hid_t f, const sc_runlog_rows *keep, const sc_runlog_glimpse_set *expect,
                       const session_row *s, char *what, size_t wn) {
    double created;
    snprintf(what, wn, "the root attribute created_unix");
    if (sc_h5_attr_get_f64(f, "created_unix", &created) < 0) return -1;
    L->created_unix = created;
    hsize_t n;
    int r;
    struct { const table *t; int nd; int64_t want; } cut[] = {
        {&T_TRAIN, 0, keep->train}, {&T_EVAL, 0, keep->eval}, {&T_GLIMPSE, 1, keep->glimpses}};
    htri_t has_g = H5Lexists(f, "glimpses", H5P_DEFAULT);
    if (has_g < 0) return -1;
    if (has_g) {
        hid_t g = H5Gopen2(f, "glimpses", H5P_DEFAULT);
        int64_t G = 0, T = 0, C = 0;
        int bad = g < 0 || sc_h5_attr_get_i64(g, "count", &G) < 0 || sc_h5_attr_get_i64(g, "glimpses", &T) < 0 ||
                  sc_h5_attr_get_i64(g, "classes", &C) < 0;
        if (g >= 0) H5Gclose(g);
        snprintf(what, wn, "/glimpses attributes");
        if (bad) return -1;
        if (G < 0 || G > INT_MAX || T < 0 || T > INT_MAX || C < 0 || C > INT_MAX) {
            snprintf(what, wn, "/glimpses attributes count, glimpses, classes (%lld, %lld, %lld) are not counts",
                     (long long)G, (long long)T, (long long)C);
            return -3;
        }
        L->G = (int)G;
        L->T = (int)T;
        L->C = (int)C;
        if ((r = glimpse_image_shape(f, L, what, wn)) < 0) return r;
        hsize_t adims[4];
        snprintf(what, wn, "/glimpses/attention");
        int has = has_nd(f, ND_ATTENTION);
        if (has < 0) return -1;
        L->L = 0;
        if (has) {
            hid_t d = H5Dopen2(f, "glimpses/attention", H5P_DEFAULT);
            hid_t sp = d >= 0 ? H5Dget_space(d) : -1;
            int ok = sp >= 0 && H5Sget_simple_extent_ndims(sp) == 4 && H5Sget_simple_extent_dims(sp, adims, NULL) == 4;
            if (sp >= 0) H5Sclose(sp);
            if (d >= 0) H5Dclose(d);
            if (!ok) return -1;
            if (adims[3] > INT_MAX) return snprintf(what, wn, "/glimpses/attention has %llu locations",
                                                    (unsigned long long)adims[3]), -3;
            L->L = (int)adims[3];
        }
    }
    /* the records to come must have the shape of those there (write_rows checks each dataset against it),
     * and the images (stored once, not rewritten) the shape of this run's */
    int eL = expect && expect->L > 0 ? expect->L : 0, eH = 0, eW = 0, ech = 1;
    if (expect) glimpse_shape(expect, &eH, &eW, &ech);
    if (expect && (L->G != expect->G || (L->G > 0 && (L->T != expect->T || L->C != expect->C || L->L != eL ||
                                                      L->ch != ech || (eH > 0 && L->H != eH) ||
                                                      (eW > 0 && L->W != eW))))) {
        snprintf(what, wn, "its glimpse records are %d images of %dx%dx%d (height, width, channels) x %d glimpses x %d "
                 "classes (%d locations), but this run makes %d of %dx%dx%d x %d x %d (%d)", L->G, L->H, L->W, L->ch,
                 L->T, L->C, L->L, expect->G, eH, eW, ech, expect->T, expect->C, eL);
        return -4;
    }
    for (int i = 0; i < 3; i++) {
        if (cut[i].t == &T_GLIMPSE && !has_g) {
            if (cut[i].want != 0) return snprintf(what, wn, "/glimpses (missing)"), -2;
            continue;
        }
        snprintf(what, wn, "/%s", cut[i].t->group);
        if ((r = table_len(f, cut[i].t, cut[i].nd, &n, what, wn)) < 0) return r;
        snprintf(what, wn, "/%s", cut[i].t->group);
        if ((int64_t)n < cut[i].want) return -2;
        if (table_cut(f, cut[i].t, cut[i].nd, (hsize_t)cut[i].want, what, wn) < 0) return -1;
    }
    snprintf(what, wn, "/checkpoints");
    if ((r = table_len(f, &T_CKPT, 0, &n, what, wn)) < 0) return r;
    L->ckpt_rows = (int64_t)n;
    if (table_cut(f, &T_CKPT, 0, n, what, wn) < 0) return -1; /* evens out a half-written row */
    snprintf(what, wn, "/eval/test");
    if ((r = table_len(f, &T_TEST, 0, &n, what, wn)) < 0) return r;
    L->test_rows = (int64_t)n;
    if (table_cut(f, &T_TEST, 0, n, what, wn) < 0) return -1;
    snprintf(what, wn, "/sessions");
    if ((r = table_len(f, &T_SESSION, 0, &n, what, wn)) < 0) return r;
    if (table_cut(f, &T_SESSION, 0, n, what, wn) < 0) return -1;
    L->session_row = (int64_t)n;
    L->rows.train = keep->train;
    L->rows.eval = keep->eval;
    L->rows.glimpses = keep->glimpses;
    return table_write(f, &T_SESSION, s, (hsize_t)n, 1, NULL, what, wn);
}

int sc_runlog_resume(sc_runlog **out, const char *path, const sc_runlog_rows *keep,
                     const sc_runlog_glimpse_set *expect, const char *command_line, const char *config,
                     int threads, int start_epoch, int64_t start_step, sc_err *err) {
    *out = NULL;
    sc_runlog *L = calloc(1, sizeof *L);
    if (!L) return sc_errf(err, SC_ENOMEM, "%s: out of memory", path);
    if (snprintf(L->path, sizeof L->path, "%s", path) >= (int)sizeof L->path) {
        free(L);
        return sc_errf(err, SC_EARG, "%s: path too long", path);
    }
    L->lock_fd = open(path, O_RDWR | O_CLOEXEC);
    if (L->lock_fd < 0) {
        int e = errno;
        free(L);
        return sc_errf(err, SC_EIO, "%s: cannot open the run log for writing: %s", path, strerror(e));
    }
    if (take_lock(L->lock_fd) != 0) {
        int e = errno;
        close(L->lock_fd);
        free(L);
        if (e == EAGAIN || e == EACCES)
            return sc_errf(err, SC_EIO, "%s: being written by another saccade process; wait for it to end", path);
        return sc_errf(err, SC_EIO, "%s: cannot lock the run log: %s", path, strerror(e));
    }
    session_row s = {unix_now(), start_epoch, start_step, threads, command_line ? command_line : "",
                     config ? config : "", NAN, -1, -1, SC_END_RUNNING, "", 0};
    sc_h5_quiet q;
    sc_h5_quiet_begin(&q);
    int rc = SC_OK;
    hid_t f = open_rdwr(path);
    if (f < 0) {
        rc = sc_h5_errf(err, SC_EIO, "%s: cannot open the run log for writing", path);
    } else {
        char what[320] = "the run log";
        int r = resume_edit(L, f, keep, expect, &s, what, sizeof what);
        if (r == -2) {
            rc = sc_errf(err, SC_EFORMAT, "%s: %s has fewer rows than its checkpoint accounts for: the log and the "
                         "checkpoint do not belong together", path, what);
            H5Fclose(f);
        } else if (r == -3) {
            rc = sc_errf(err, SC_EFORMAT, "%s: damaged run log: %s", path, what);
            H5Fclose(f);
        } else if (r == -4) {
            rc = sc_errf(err, SC_EFORMAT, "%s: %s: the log and the checkpoint do not belong together", path, what);
            H5Fclose(f);
        } else if (r < 0) {
            rc = sc_h5_errf(err, SC_EIO, "%s: cannot update %s", path, what);
            H5Fclose(f);
        } else if (H5Fclose(f) < 0) {
            rc = sc_h5_errf(err, SC_EIO, "%s: cannot write the run log", path);
        }
    }
    sc_h5_forget();
    sc_h5_quiet_end(&q);
    if (rc != SC_OK) {
        close(L->lock_fd);
        free(L);
        return rc;
    }
    *out = L;
    return SC_OK;
}

/* ---- appends ---------------------------------------------------------------------------------- */

typedef struct table_arg {
    const table *t;
    const void *row;
    int64_t *counter;
} table_arg;

static int do_table(sc_runlog *L, hid_t f, const void *arg, char *what, size_t wn) {
    (void)L;
    const table_arg *a = arg;
    return table_write(f, a->t, a->row, (hsize_t)*a->counter, 1, NULL, what, wn);
}

static int append_table(sc_runlog *L, const table *t, const void *row, int64_t *counter, sc_err *err) {
    table_arg a = {t, row, counter};
    int rc = with_file(L, do_table, &a, err);
    if (rc == SC_OK) (*counter)++;
    return rc;
}

int sc_runlog_append_train(sc_runlog *L, const sc_runlog_train_row *r, sc_err *err) {
    return append_table(L, &T_TRAIN, r, &L->rows.train, err);
}
int sc_runlog_append_eval(sc_runlog *L, const sc_runlog_eval_row *r, sc_err *err) {
    return append_table(L, &T_EVAL, r, &L->rows.eval, err);
}
int sc_runlog_append_test(sc_runlog *L, const sc_runlog_test_row *r, sc_err *err) {
    return append_table(L, &T_TEST, r, &L->test_rows, err);
}
int sc_runlog_append_checkpoint(sc_runlog *L, const sc_runlog_ckpt_row *r, sc_err *err) {
    return append_table(L, &T_CKPT, r, &L->ckpt_rows, err);
}

static int do_glimpses(sc_runlog *L, hid_t f, const void *arg, char *what, size_t wn) {
    const sc_runlog_glimpse_rec *r = arg;
    hsize_t at = (hsize_t)L->rows.glimpses;
    const void *bufs[NGND] = {r->locations, r->probs, r->pred, r->reward, r->attention};
    for (int i = 0; i < NGND; i++) {
        if (i == ND_ATTENTION && L->L == 0) continue;
        char p[64];
        snprintf(p, sizeof p, "glimpses/%s", glimpse_nd[i].name);
        snprintf(what, wn, "/%s", p);
        hid_t d = H5Dopen2(f, p, H5P_DEFAULT);
        if (d < 0) return -1;
        /* elements per record: (G), or (G, T, w) with w = 2, C or L by the dataset's tail */
        const int tail = glimpse_nd[i].tail, w = tail == 1 ? 2 : tail == 2 ? L->C : L->L;
        const hsize_t per = (hsize_t)L->G * (tail == 0 ? 1 : (hsize_t)L->T * (hsize_t)w);
        int rc = write_rows(d, mtype_of(glimpse_nd[i].type), at, 1, per, 1, bufs[i]);
        if (H5Dclose(d) < 0) rc = -1;
        if (rc == -3) snprintf(what, wn, "/%s does not hold records of the log's glimpse set", p);
        if (rc < 0) return rc;
    }
    /* epoch and step last: their length counts the complete records */
    grow_row g = {r->epoch, r->step};
    return table_write(f, &T_GLIMPSE, &g, at, 1, NULL, what, wn);
}

int sc_runlog_append_glimpses(sc_runlog *L, const sc_runlog_glimpse_rec *r, sc_err *err) {
    if (L->G <= 0) return SC_OK;
    int rc = with_file(L, do_glimpses, r, err);
    if (rc == SC_OK) L->rows.glimpses++;
    return rc;
}

typedef struct end_arg {
    session_row s;
} end_arg;

static int do_end(sc_runlog *L, hid_t f, const void *arg, char *what, size_t wn) {
    const end_arg *a = arg;
    return table_write(f, &T_SESSION, &a->s, (hsize_t)L->session_row, 0, "end_", what, wn);
}

int sc_runlog_end_session(sc_runlog *L, int reason, int epoch, int64_t step, sc_err *err) {
    return sc_runlog_end_session_note(L, reason, epoch, step, "", 0, err);
}

int sc_runlog_end_session_note(sc_runlog *L, int reason, int epoch, int64_t step, const char *note,
                               int64_t skipped, sc_err *err) {
    end_arg a;
    memset(&a, 0, sizeof a);
    a.s.end_unix = unix_now();
    a.s.end_epoch = epoch;
    a.s.end_step = step;
    a.s.end_reason = (int8_t)reason;
    a.s.end_note = note ? note : "";
    a.s.end_skipped = skipped;
    return with_file(L, do_end, &a, err);
}

int sc_runlog_sync(sc_runlog *L, sc_err *err) {
    int e = sc_fsync_path(L->path);
    if (e) return sc_errf(err, SC_EIO, "%s: cannot sync the run log: %s", L->path, strerror(e));
    return SC_OK;
}

void sc_runlog_rows_get(const sc_runlog *L, sc_runlog_rows *r) { *r = L->rows; }

double sc_runlog_wall(const sc_runlog *L) { return unix_now() - L->created_unix; }

void sc_runlog_close(sc_runlog *L) {
    if (!L) return;
    if (L->lock_fd >= 0) close(L->lock_fd);
    free(L);
}

/* ---- reading ------------------------------------------------------------------------------------ */

/* Opens path read-only: plainly (which checks the file is not truncated), or,
 * when a writer's status flags are set (a live append, or a crash), in SWMR
 * read mode. *flagged tells which. Negative on failure, with the reason in why. */
static hid_t open_read(const char *path, int *flagged, char *why, size_t wn) {
    *flagged = 0;
    why[0] = '\0';
    hid_t fapl = sc_h5_fapl(1);
    if (fapl < 0) {
        sc_h5_reason(why, wn);
        return -1;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (f < 0) {
        sc_h5_reason(why, wn);
        if (strstr(why, "already open for write")) {
            *flagged = 1;
            f = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
            if (f < 0) {
                /* flags of a writer that was not in SWMR mode: read past them, as
                 * h5clear does (read-only: nothing is written) */
                hbool_t clear = 1;
                sc_h5_forget();
                if (H5Pset(fapl, "clear_status_flags", &clear) >= 0)
                    f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
                if (f < 0) sc_h5_reason(why, wn);
            }
        }
    }
    H5Pclose(fapl);
    return f;
}

int sc_runlog_kind(const char *path, sc_err *err) {
    int rc = sc_h5_check_signature(path, "expected a saccade run log (.h5)", err);
    if (rc != SC_OK) return rc;
    sc_h5_quiet q;
    sc_h5_quiet_begin(&q);
    int flagged;
    char why[300];
    hid_t f = open_read(path, &flagged, why, sizeof why);
    if (f < 0) {
        rc = sc_errf(err, SC_EFORMAT, "%s: truncated or corrupt HDF5 file (%s)", path, why);
    } else {
        char *s = NULL;
        rc = 0;
        if (sc_h5_attr_get_str(f, "format", &s) == 0) {
            if (!strcmp(s, SC_RUNLOG_FORMAT)) rc = 1;
            else if (!strcmp(s, "saccade checkpoint")) rc = 2;
        }
        free(s);
        H5Fclose(f);
        if (rc == 0) sc_errf(err, SC_EFORMAT, "%s: an HDF5 file but not a saccade run log or checkpoint "
                             "(no 'format' attribute naming one)", path);
    }
    sc_h5_forget();
    sc_h5_quiet_end(&q);
    return rc;
}

int sc_runlog_inspect(const char *path, sc_runlog_info *info, sc_err *err) {
    memset(info, 0, sizeof *info);
    int rc = sc_h5_check_signature(path, "expected a saccade run log (.h5)", err);
    if (rc != SC_OK) return rc;
    sc_h5_quiet q;
    sc_h5_quiet_begin(&q);
    int flagged;
    char *s = NULL, why[300];
    hid_t f = open_read(path, &flagged, why, sizeof why);
    if (f < 0) {
        rc = sc_errf(err, SC_EFORMAT, "%s: truncated or corrupt HDF5 file (%s)", path, why);
        goto out;
    }
    if (sc_h5_attr_get_str(f, "format", &s) < 0 || strcmp(s, SC_RUNLOG_FORMAT) != 0) {
        if (s && !strcmp(s, "saccade checkpoint"))
            rc = sc_errf(err, SC_EFORMAT, "%s: a saccade checkpoint, not a run log; give the run log (RUN.h5) "
                         "it belongs to", path);
        else
            rc = sc_errf(err, SC_EFORMAT, "%s: an HDF5 file but not a saccade run log (its 'format' attribute is %s)",
                         path, sc_h5_quote(s, why, sizeof why));
        goto out;
    }
    if (sc_h5_attr_get_i64(f, "schema_version", &info->schema_version) < 0 ||
        info->schema_version != SC_RUNLOG_SCHEMA) {
        rc = sc_errf(err, SC_EFORMAT, "%s: run log schema version %lld, this saccade reads version %d", path,
                     (long long)info->schema_version, SC_RUNLOG_SCHEMA);
        goto out;
    }
    free(s);
    s = NULL;
    const char *missing = NULL;
    if (sc_h5_attr_get_str(f, "run_id", &s) < 0 || strlen(s) >= sizeof info->run_id) missing = "attribute run_id";
    else snprintf(info->run_id, sizeof info->run_id, "%s", s);
    free(s);
    s = NULL;
    if (!missing && sc_h5_attr_get_f64(f, "created_unix", &info->created_unix) < 0) missing = "attribute created_unix";
    if (!missing && (sc_h5_attr_get_str(f, "checkpoint", &s) < 0 || !s[0] || strchr(s, '/')))
        missing = "attribute checkpoint";
    static const char *const groups[] = {"train", "eval", "eval/test", "checkpoints", "sessions"};
    for (size_t i = 0; !missing && i < sizeof groups / sizeof groups[0]; i++)
        if (H5Lexists(f, groups[i], H5P_DEFAULT) <= 0) missing = groups[i];
    if (missing) {
        rc = sc_errf(err, SC_EFORMAT, "%s: damaged run log: missing or malformed %s", path, missing);
        goto out;
    }
    const char *slash = strrchr(path, '/');
    int dl = slash ? (int)(slash - path + 1) : 0;
    if (snprintf(info->checkpoint, sizeof info->checkpoint, "%.*s%s", dl, path, s) >= (int)sizeof info->checkpoint) {
        rc = sc_errf(err, SC_EARG, "%s: checkpoint path too long", path);
        goto out;
    }
    info->locked = is_locked(path);
    info->crashed = flagged && !info->locked;
out:
    free(s);
    if (f >= 0) H5Fclose(f);
    sc_h5_forget();
    sc_h5_quiet_end(&q);
    return rc;
}

int64_t sc_runlog_open_read(const char *path, sc_err *err) {
    sc_runlog_info li;
    int rc = sc_runlog_inspect(path, &li, err);
    if (rc != SC_OK) return rc;
    sc_h5_quiet q;
    sc_h5_quiet_begin(&q);
    int flagged;
    char why[300];
    hid_t f = open_read(path, &flagged, why, sizeof why);
    if (f < 0) sc_errf(err, SC_EFORMAT, "%s: truncated or corrupt HDF5 file (%s)", path, why);
    sc_h5_forget();
    sc_h5_quiet_end(&q);
    return f < 0 ? SC_EFORMAT : (int64_t)f;
}

int sc_runlog_read_doubles(int64_t file, const char *path, const char *name, int optional, double **out,
                           size_t *n, sc_err *err) {
    *out = NULL;
    *n = 0;
    sc_h5_quiet q;
    sc_h5_quiet_begin(&q);
    int rc = SC_OK;
    hid_t f = (hid_t)file, d = -1, s = -1;
    /* each component of the path must exist (H5Lexists on a/b needs a) */
    char part[256];
    int exists = 1;
    for (const char *p = name; exists && p;) {
        const char *slash = strchr(p, '/');
        snprintf(part, sizeof part, "%.*s", (int)(slash ? (size_t)(slash - name) : strlen(name)), name);
        exists = H5Lexists(f, part, H5P_DEFAULT) > 0;
        p = slash ? slash + 1 : NULL;
    }
    if (!exists) {
        rc = optional ? 1 : sc_errf(err, SC_EFORMAT, "%s: damaged run log: /%s is missing", path, name);
        goto out;
    }
    d = H5Dopen2(f, name, H5P_DEFAULT);
    s = d >= 0 ? H5Dget_space(d) : -1;
    hssize_t np = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    hid_t t = d >= 0 ? H5Dget_type(d) : -1;
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    if (t >= 0) H5Tclose(t);
    if (np < 0 || (cls != H5T_INTEGER && cls != H5T_FLOAT)) {
        rc = sc_h5_errf(err, SC_EFORMAT, "%s: cannot read /%s as numbers", path, name);
        goto out;
    }
    int rank = H5Sget_simple_extent_ndims(s);
    if (rank != 1) {
        rc = sc_errf(err, SC_EFORMAT, "%s: damaged run log: /%s has %d dimensions (expected 1: a column)", path,
                     name, rank);
        goto out;
    }
    unsigned long long declared, stored;
    if (sc_h5_dataset_fits(d, &declared, &stored) != 1) {
        rc = sc_h5_errf(err, SC_EFORMAT, "%s: damaged run log: /%s declares %lld elements (%llu bytes) but the file "
                        "holds %llu bytes of it", path, name, (long long)np, declared, stored);
        goto out;
    }
    double *v = malloc(sizeof(double) * (size_t)(np > 0 ? np : 1));
    if (!v) {
        rc = sc_errf(err, SC_ENOMEM, "%s: out of memory reading /%s", path, name);
        goto out;
    }
    if (np > 0 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
        free(v);
        rc = sc_h5_errf(err, SC_EFORMAT, "%s: cannot read /%s", path, name);
        goto out;
    }
    *out = v;
    *n = (size_t)np;
out:
    if (s >= 0) H5Sclose(s);
    if (d >= 0) H5Dclose(d);
    sc_h5_forget();
    sc_h5_quiet_end(&q);
    return rc;
}
