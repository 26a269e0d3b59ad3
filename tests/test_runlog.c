/* test_runlog.c - the run log (experiments/runlog.c) and its documentation.
 *
 * - schema: a short real run's log and checkpoint hold exactly the groups,
 *   datasets and attributes listed in docs/runlog.md (types and ranks as
 *   documented, nothing undocumented, every dataset with its doc attribute), and
 *   the values are sane (steps increasing, errors in 0..100, probabilities
 *   summing to 1, locations in [-1,1], rewards matching predictions, one session
 *   that finished, ...); h5dump -H reads it; the same for a soft-attention run
 *   (with the "soft runs only" datasets: attention weights summing to 1 over
 *   the documented grid, locations their weighted means, the policy terms NaN)
 *   and an fc run (no /glimpses);
 * - SWMR: a reader that keeps the log open (SWMR read) sees rows appear while a
 *   writer in another process appends, each row complete when counted, and
 *   h5dump reads the file between appends;
 * - bad input to --resume and eval: missing, empty, not HDF5, truncated, another
 *   kind of HDF5 file, a checkpoint given as log, another schema version, a
 *   missing checkpoint, a checkpoint of another run, a log being written, a
 *   config that changes the model's shape or the data, a finished run: one line
 *   on stderr naming the file, no HDF5 error stack, exit status 1, and nothing
 *   written (the folder's files byte-identical);
 * - output: an existing --out, a missing folder, a folder that is a file;
 * - colour and non-square canvases with class names: the root and /glimpses
 *   attributes and the (G, H, W, 3) images as given (canvas_side the width),
 *   "0".."C-1" when no names are given, the refusals of bad shapes and names
 *   before anything is created, and a resume refused when its glimpse images
 *   have another height, width or channel count than the log's;
 * - hostile files (valid HDF5): a wrong dtype, a wrong rank, huge dimensions
 *   (also ones whose product passes 2^64), a missing attribute, an
 *   unterminated string, a group for a dataset, a /sessions column of two
 *   dimensions, a log whose glimpse records have another shape than the run's:
 *   one line naming the file and the dataset or attribute, nothing left open,
 *   nothing written.
 */
#define _GNU_SOURCE /* F_OFD_SETLK */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "experiments/checkpoint.h"
#include "experiments/compare.h"
#include "experiments/runlog.h"
#include "experiments/train.h"
#include "tests/testutil.h"

static void in_tmp(char *out, size_t n, const char *name) {
    ck_assert_int_lt(snprintf(out, n, "%s/%s", tmpdir, name), (int)n);
}

/* A tiny model on a Fashion-MNIST subset: a run takes well under a second. */
static const char *TINY_INI =
    "[data]\ndataset = fashion\nmax_train = 640\nval_size = 100\n"
    "[model]\nglimpses = 3\nhidden = 16\nglimpse_hidden = 8\nloc_hidden = 8\nglimpse_out = 16\nmc_samples = 2\n"
    "[train]\nepochs = 2\nthreads = 1\nbatch_size = 32\n"
    "[log]\ntrain_every = 5\nglimpse_images = 8\n";

static void tiny_config(sc_config *c) {
    sc_err err = {0};
    sc_config_defaults(c);
    ck_assert_msg(sc_config_load_string(c, TINY_INI, "tiny.ini", &err) == SC_OK, "%s", err.msg);
}

/* Trains the tiny config into tmpdir/name (a log and its checkpoint). */
static void train_tiny(const char *name, const sc_config *c) {
    char path[700];
    in_tmp(path, sizeof path, name);
    sc_train_opts o = {.log_path = path, .quiet = 1, .command_line = "test", .config_file = "tiny.ini",
                       .config_file_text = TINY_INI};
    sc_train_result r;
    sc_err err = {0};
    ck_assert_msg(sc_train(c, &o, &r, &err) == SC_OK, "%s", err.msg);
}

/* ---- the command line ---------------------------------------------------------- */

typedef struct cmd_out {
    int status;
    char *out, *err;
} cmd_out;

static cmd_out run_saccade(const char *args) {
    char cmd[2048], o[700], e[700];
    snprintf(o, sizeof o, "%s/../%s.stdout", tmpdir, strrchr(tmpdir, '/') + 1);
    snprintf(e, sizeof e, "%s/../%s.stderr", tmpdir, strrchr(tmpdir, '/') + 1);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/saccade' %s >'%s' 2>'%s' </dev/null", tmpdir, SACCADE_BINARY_DIR,
             args, o, e);
    int st = system(cmd);
    cmd_out r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(o, NULL), slurp(e, NULL)};
    unlink(o);
    unlink(e);
    return r;
}

static void free_out(cmd_out *r) { free(r->out); free(r->err); }

/* A fingerprint of every file in tmpdir: names, sizes, modification times and bytes. */
static char *snapshot(void) {
    DIR *d = opendir(tmpdir);
    ck_assert_ptr_nonnull(d);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct dirent *e;
    char names[64][256];
    int n = 0;
    while ((e = readdir(d)) != NULL && n < 64)
        if (e->d_name[0] != '.') snprintf(names[n++], 256, "%s", e->d_name);
    closedir(d);
    qsort(names, (size_t)n, 256, (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < n; i++) {
        char p[800];
        in_tmp(p, sizeof p, names[i]);
        struct stat st;
        ck_assert_int_eq(stat(p, &st), 0);
        size_t sz = 0;
        char *bytes = S_ISREG(st.st_mode) ? slurp(p, &sz) : NULL;
        unsigned long long h = 1469598103934665603ULL;
        for (size_t k = 0; k < sz; k++) h = (h ^ (unsigned char)bytes[k]) * 1099511628211ULL;
        free(bytes);
        fprintf(f, "%s %lld %lld.%09ld %llx\n", names[i], (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                st.st_mtim.tv_nsec, h);
    }
    fclose(f);
    return buf;
}

/* `saccade args` must fail with status 1, one line on stderr containing each
 * of the NULL-terminated strings, no HDF5 diagnostics, and change no file. */
static void expect_cli_refusal(const char *args, ...) {
    char *before = snapshot();
    cmd_out r = run_saccade(args);
    char *after = snapshot();
    ck_assert_msg(r.status == 1, "saccade %s: status %d, stderr: %s", args, r.status, r.err);
    ck_assert_msg(strstr(r.err, "HDF5-DIAG") == NULL && strstr(r.err, "#000") == NULL,
                  "saccade %s printed HDF5's error stack: %s", args, r.err);
    size_t len = strlen(r.err);
    ck_assert_msg(len > 10 && r.err[len - 1] == '\n' && strchr(r.err, '\n') == r.err + len - 1,
                  "saccade %s: expected one line on stderr, got: %s", args, r.err);
    va_list ap;
    va_start(ap, args);
    for (const char *want; (want = va_arg(ap, const char *)) != NULL;)
        ck_assert_msg(strstr(r.err, want) != NULL, "saccade %s: stderr '%s' lacks '%s'", args, r.err, want);
    va_end(ap);
    ck_assert_msg(strstr(r.out, "epoch 1") == NULL, "saccade %s trained: %s", args, r.out);
    ck_assert_msg(!strcmp(before, after), "saccade %s changed files:\n%s---\n%s", args, before, after);
    free(before);
    free(after);
    free_out(&r);
}

/* ---- the documented schema ------------------------------------------------------- */

typedef struct entry {
    char path[160];   /* /a/b, or /a/b@attr, or / @attr */
    char kind[16];    /* attribute | dataset | group */
    char type[16];
    int rank;         /* -1 for groups */
    int soft_only;    /* the meaning starts "*soft and selfattn runs only*" */
    int ema_only;     /* the meaning starts "*with [train] ema only*" */
} entry;

static void trim_into(char *dst, size_t n, const char *s, size_t len) {
    while (len && *s == ' ') { s++; len--; }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '`')) len--;
    if (len && *s == '`') { s++; len--; }
    snprintf(dst, n, "%.*s", (int)len, s);
}

/* The rows of the docs/runlog.md table after the marker <!-- schema: which -->:
 * | `path` | kind | type | shape | meaning | */
static int read_schema(const char *which, entry *out, int max) {
    char *doc = slurp(SACCADE_SOURCE_DIR "/docs/runlog.md", NULL);
    ck_assert_msg(doc != NULL, "cannot read docs/runlog.md");
    char marker[64];
    snprintf(marker, sizeof marker, "<!-- schema: %s -->", which);
    char *p = strstr(doc, marker);
    ck_assert_msg(p != NULL, "docs/runlog.md lacks %s", marker);
    char *end = strstr(p, "<!-- /schema -->");
    ck_assert_ptr_nonnull(end);
    int n = 0;
    for (char *line = p; line && line < end; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "| `", 3) != 0) continue;
        ck_assert_int_lt(n, max);
        entry *e = &out[n++];
        const char *cell[6];
        size_t clen[6];
        const char *c = line + 1;
        for (int k = 0; k < 5; k++) {
            if (k == 4) {
                while (*c == ' ') c++;
                e->soft_only = !strncmp(c, "*soft and selfattn runs only*", 29);
                e->ema_only = !strncmp(c, "*with `[train] ema` only*", 25);
            }
            const char *bar = strchr(c, '|');
            ck_assert_msg(bar != NULL, "malformed schema row: %.60s", line);
            cell[k] = c;
            clen[k] = (size_t)(bar - c);
            c = bar + 1;
        }
        char shape[64];
        trim_into(e->path, sizeof e->path, cell[0], clen[0]);
        trim_into(e->kind, sizeof e->kind, cell[1], clen[1]);
        trim_into(e->type, sizeof e->type, cell[2], clen[2]);
        trim_into(shape, sizeof shape, cell[3], clen[3]);
        if (!strcmp(e->kind, "group")) {
            e->rank = -1;
            continue;
        }
        ck_assert_msg(shape[0] == '(', "bad shape '%s' for %s", shape, e->path);
        int r = 0, tok = 0;
        for (char *q = shape + 1; *q && *q != ')'; q++) {
            if (*q == ',') { r += tok; tok = 0; }
            else if (*q != ' ') tok = 1;
        }
        e->rank = r + tok;
    }
    free(doc);
    return n;
}

static int type_is(hid_t t, const char *want) {
    H5T_class_t cls = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    if (!strcmp(want, "string")) return cls == H5T_STRING && H5Tis_variable_str(t) > 0;
    if (!strcmp(want, "float32")) return cls == H5T_FLOAT && size == 4;
    if (!strcmp(want, "float64")) return cls == H5T_FLOAT && size == 8;
    if (cls != H5T_INTEGER) return 0;
    int sgn = H5Tget_sign(t) == H5T_SGN_2;
    if (!strcmp(want, "int8")) return sgn && size == 1;
    if (!strcmp(want, "uint8")) return !sgn && size == 1;
    if (!strcmp(want, "int32")) return sgn && size == 4;
    if (!strcmp(want, "int64")) return sgn && size == 8;
    if (!strcmp(want, "uint64")) return !sgn && size == 8;
    return 0;
}

/* Does path (an object or object@attr) exist as e documents it? */
static void check_entry(hid_t f, const entry *e, const char *realpath, int want_doc) {
    char obj[160], *at = NULL;
    snprintf(obj, sizeof obj, "%s", realpath);
    char *sep = strchr(obj, '@');
    if (sep) { *sep = 0; at = sep + 1; }
    const char *o = obj[0] ? obj : "/";
    if (!strcmp(o, "")) o = "/";
    ck_assert_msg(!strcmp(o, "/") || H5Lexists(f, o, H5P_DEFAULT) > 0, "%s: missing", realpath);
    if (at) {
        ck_assert_str_eq(e->kind, "attribute");
        ck_assert_msg(H5Aexists_by_name(f, o, at, H5P_DEFAULT) > 0, "%s: attribute missing", realpath);
        hid_t a = H5Aopen_by_name(f, o, at, H5P_DEFAULT, H5P_DEFAULT);
        hid_t t = H5Aget_type(a), s = H5Aget_space(a);
        ck_assert_msg(type_is(t, e->type), "%s: not of type %s", realpath, e->type);
        ck_assert_msg(H5Sget_simple_extent_ndims(s) == e->rank, "%s: rank %d, documented %d", realpath,
                      H5Sget_simple_extent_ndims(s), e->rank);
        H5Tclose(t); H5Sclose(s); H5Aclose(a);
        return;
    }
    H5O_info_t info;
    ck_assert(H5Oget_info_by_name(f, o, &info, H5P_DEFAULT) >= 0);
    if (!strcmp(e->kind, "group")) {
        ck_assert_msg(info.type == H5O_TYPE_GROUP, "%s: not a group", realpath);
        return;
    }
    ck_assert_msg(!strcmp(e->kind, "dataset") && info.type == H5O_TYPE_DATASET, "%s: not a dataset", realpath);
    hid_t d = H5Dopen2(f, o, H5P_DEFAULT);
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    ck_assert_msg(type_is(t, e->type), "%s: not of type %s", realpath, e->type);
    ck_assert_msg(H5Sget_simple_extent_ndims(s) == e->rank, "%s: rank %d, documented %d", realpath,
                  H5Sget_simple_extent_ndims(s), e->rank);
    if (want_doc) ck_assert_msg(H5Aexists(d, "doc") > 0, "%s: no doc attribute", realpath);
    H5Tclose(t); H5Sclose(s); H5Dclose(d);
}

/* Every object and attribute of the file must be documented. */
typedef struct walk {
    const entry *es;
    int n;
    char tensors[4096];  /* checkpoint tensor names, '\n'-separated */
    const char *obj;
    int count;
} walk;

static int documented(const walk *w, const char *path) {
    for (int i = 0; i < w->n; i++) {
        const char *ph = strstr(w->es[i].path, "<tensor>");
        if (!ph) {
            if (!strcmp(w->es[i].path, path)) return 1;
            continue;
        }
        size_t pre = (size_t)(ph - w->es[i].path);
        if (strncmp(path, w->es[i].path, pre) != 0 || strchr(path + pre, '/') || strchr(path + pre, '@')) continue;
        const char *name = path + pre;
        for (const char *t = w->tensors; *t;) {
            size_t l = strcspn(t, "\n");
            if (l == strlen(name) && !strncmp(t, name, l)) return 1;
            t += l + (t[l] == '\n');
        }
    }
    return 0;
}

static herr_t attr_cb(hid_t loc, const char *name, const H5A_info_t *ai, void *data) {
    (void)loc; (void)ai;
    walk *w = data;
    char p[256];
    snprintf(p, sizeof p, "%s@%s", strcmp(w->obj, "/") ? w->obj : "/", name);
    if (!strcmp(name, "doc")) return 0;  /* every dataset's, checked by check_entry */
    ck_assert_msg(documented(w, p), "%s is in the file but not in docs/runlog.md", p);
    w->count++;
    return 0;
}

static herr_t obj_cb(hid_t o, const char *name, const H5O_info_t *info, void *data) {
    walk *w = data;
    char p[256];
    if (!strcmp(name, ".")) snprintf(p, sizeof p, "/");
    else snprintf(p, sizeof p, "/%s", name);
    if (strcmp(p, "/") != 0)
        ck_assert_msg(documented(w, p), "%s is in the file but not in docs/runlog.md", p);
    w->obj = p;
    hsize_t idx = 0;
    H5Aiterate_by_name(o, name, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, attr_cb, w, H5P_DEFAULT);
    (void)info;
    w->count++;
    return 0;
}

/* kind: the run's model kind; entries of soft and selfattn runs only are
 * checked for those, and /glimpses (absent for fc) is not looked for in an fc log. */
static void check_file_against(const char *path, const char *which, const char *kind) {
    static entry es[256];
    int n = read_schema(which, es, 256);
    ck_assert_int_gt(n, 20);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "cannot open %s", path);
    walk w;
    memset(&w, 0, sizeof w);
    w.es = es;
    w.n = n;
    if (!strcmp(which, "checkpoint")) {
        hid_t a = H5Aopen(f, "tensors", H5P_DEFAULT), t = H5Aget_type(a);
        char *s = NULL;
        ck_assert(H5Aread(a, t, &s) >= 0);
        snprintf(w.tensors, sizeof w.tensors, "%s", s);
        H5free_memory(s);
        H5Tclose(t);
        H5Aclose(a);
    }
    /* a RAM run of these tests has [train] ema on, the others off: its entries
     * must be there, or be absent */
    const int ema = !strcmp(kind, "ram");
    for (int i = 0; i < n; i++) {
        if (es[i].soft_only && strcmp(kind, "soft") != 0 && strcmp(kind, "selfattn") != 0) continue;
        if (es[i].ema_only && !ema) {
            char o[200];
            snprintf(o, sizeof o, "%.*s", (int)strcspn(es[i].path, "<"), es[i].path);
            if (o[strlen(o) - 1] == '/') o[strlen(o) - 1] = 0;
            ck_assert_msg(H5Lexists(f, o, H5P_DEFAULT) <= 0, "%s: present in a run without [train] ema", o);
            continue;
        }
        if (!strcmp(kind, "fc") && !strncmp(es[i].path, "/glimpses", 9)) continue;
        if (!strstr(es[i].path, "<tensor>")) {
            check_entry(f, &es[i], es[i].path, !strcmp(which, "runlog"));
            continue;
        }
        int k = 0;
        for (const char *t = w.tensors; *t; k++) {
            size_t l = strcspn(t, "\n");
            char real[200];
            snprintf(real, sizeof real, "%.*s%.*s", (int)(strstr(es[i].path, "<tensor>") - es[i].path), es[i].path,
                     (int)l, t);
            check_entry(f, &es[i], real, !strcmp(which, "runlog"));
            t += l + (t[l] == '\n');
        }
        ck_assert_int_gt(k, 5);
    }
    ck_assert(H5Ovisit(f, H5_INDEX_NAME, H5_ITER_NATIVE, obj_cb, &w) >= 0);
    ck_assert_int_gt(w.count, n / 2);
    H5Fclose(f);
}

/* ---- values ----------------------------------------------------------------------- */

static long ds_len(hid_t f, const char *name) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "%s missing", name);
    hid_t s = H5Dget_space(d);
    hsize_t dims[4];
    H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    H5Dclose(d);
    return (long)dims[0];
}

static double *ds_read(hid_t f, const char *name, long *n) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "%s missing", name);
    hid_t s = H5Dget_space(d);
    hssize_t np = H5Sget_simple_extent_npoints(s);
    double *v = malloc(sizeof(double) * (size_t)(np > 0 ? np : 1));
    if (np > 0) ck_assert(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Sclose(s);
    H5Dclose(d);
    *n = (long)np;
    return v;
}

static char *attr_str(hid_t f, const char *obj, const char *name) {
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "%s@%s missing", obj, name);
    hid_t t = H5Aget_type(a);
    char *s = NULL;
    ck_assert(H5Aread(a, t, &s) >= 0);
    char *copy = strdup(s);
    H5free_memory(s);
    H5Tclose(t);
    H5Aclose(a);
    return copy;
}

static double attr_f64(hid_t f, const char *obj, const char *name) {
    double v = NAN;
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "%s@%s missing", obj, name);
    ck_assert(H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0);
    H5Aclose(a);
    return v;
}

START_TEST(schema_matches_docs) {
    if (!have_fashion()) return;
    make_tmpdir();
    sc_config c;
    tiny_config(&c);
    c.ema = 0.99f;  /* the checkpoint's /optim/ema is checked too */
    train_tiny("run.h5", &c);
    char log[700], ck[700];
    in_tmp(log, sizeof log, "run.h5");
    in_tmp(ck, sizeof ck, "run.ckpt.h5");
    check_file_against(log, "runlog", "ram");
    check_file_against(ck, "checkpoint", "ram");

    /* sane values */
    hid_t f = H5Fopen(log, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(f >= 0);
    ck_assert(attr_f64(f, "/", "schema_version") == SC_RUNLOG_SCHEMA);
    ck_assert(attr_f64(f, "/", "param_count") > 1000);
    ck_assert(attr_f64(f, "/", "flops_per_image") == 2 * attr_f64(f, "/", "macs_per_image"));
    ck_assert(attr_f64(f, "/", "flops_train_per_image") == 2 * attr_f64(f, "/", "macs_train_per_image"));
    ck_assert(attr_f64(f, "/", "macs_train_per_image") > 2 * attr_f64(f, "/", "macs_per_image"));
    ck_assert(attr_f64(f, "/", "pixels_per_image") == 3 * 8 * 8);  /* 3 glimpses of 8x8, one scale */
    char *kind = attr_str(f, "/", "model_kind");
    ck_assert_str_eq(kind, "ram");
    free(kind);
    ck_assert(attr_f64(f, "/", "seed") == 1 && attr_f64(f, "/", "threads") == 1);
    ck_assert(attr_f64(f, "/", "n_train") == 640 && attr_f64(f, "/", "n_val") == 100);
    ck_assert(attr_f64(f, "/", "steps_per_epoch") == 20);
    double created = attr_f64(f, "/", "created_unix");
    ck_assert(fabs(created - (double)time(NULL)) < 600);
    const long E = 2, spe = 20;
    long n, m;
    double *step = ds_read(f, "train/step", &n), *ep = ds_read(f, "train/epoch", &m);
    ck_assert_int_eq(n, E * spe / 5);  /* train_every = 5 divides the 20 steps of an epoch */
    for (long i = 0; i < n; i++) {
        ck_assert(step[i] == 5.0 * (double)(i + 1));
        ck_assert(ep[i] == 1 + floor((step[i] - 1) / spe));
    }
    free(step); free(ep);
    static const char *const finite[] = {"train/wall_time", "train/images_per_s", "train/xent", "train/reinforce",
                                         "train/baseline_mse", "train/adv_var", "train/grad_norm", "train/lr",
                                         "train/std", "train/mu_abs", "train/mu_spread"};
    for (size_t k = 0; k < sizeof finite / sizeof finite[0]; k++) {
        double *v = ds_read(f, finite[k], &m);
        ck_assert_int_eq(m, n);
        for (long i = 0; i < m; i++) ck_assert_msg(isfinite(v[i]) && v[i] >= (k == 3 ? -1e9 : 0), "%s", finite[k]);
        free(v);
    }
    double *x = ds_read(f, "train/xent", &m), *rw = ds_read(f, "train/reward", &m);
    for (long i = 0; i < m; i++) ck_assert(x[i] > 0 && x[i] < 5 && rw[i] >= 0 && rw[i] <= 1);
    ck_assert_msg(x[m - 1] < x[0], "cross-entropy did not fall: %g -> %g", x[0], x[m - 1]);
    free(x); free(rw);
    /* per epoch */
    double *ee = ds_read(f, "eval/epoch", &m), *v1 = ds_read(f, "eval/val_err_m1", &n),
           *best = ds_read(f, "eval/best_val_err", &n), *isb = ds_read(f, "eval/is_best", &n);
    ck_assert_int_eq(m, E);
    for (long i = 0; i < m; i++) {
        ck_assert(ee[i] == i + 1);
        ck_assert(v1[i] >= 0 && v1[i] <= 100);
        ck_assert(best[i] <= v1[i] + 1e-6);
        ck_assert(isb[i] == (i == 0 || v1[i] < best[i - 1]));
    }
    free(ee); free(v1); free(best); free(isb);
    /* the test of the session's end */
    double *te = ds_read(f, "eval/test/err_m1", &n), *reason = ds_read(f, "eval/test/reason", &m);
    ck_assert_int_eq(n, 1);
    ck_assert(te[0] > 0 && te[0] < 90 && reason[0] == SC_END_FINISHED);
    free(te); free(reason);
    ck_assert_int_eq(ds_len(f, "checkpoints/epoch"), E + 1);  /* before training, then per epoch */
    double *sr = ds_read(f, "sessions/end_reason", &n), *se = ds_read(f, "sessions/end_epoch", &m);
    ck_assert(n == 1 && sr[0] == SC_END_FINISHED && se[0] == E);
    free(sr); free(se);
    /* glimpses: records at epochs 0..E of 8 images, 3 glimpses, 10 classes */
    const long R = E + 1, G = 8, T = 3, C = 10;
    double *ge = ds_read(f, "glimpses/epoch", &n);
    ck_assert_int_eq(n, R);
    for (long r = 0; r < R; r++) ck_assert(ge[r] == r);
    free(ge);
    double *loc = ds_read(f, "glimpses/locations", &n), *pr = ds_read(f, "glimpses/probs", &m);
    ck_assert_int_eq(n, R * G * T * 2);
    ck_assert_int_eq(m, R * G * T * C);
    for (long i = 0; i < n; i++) ck_assert(loc[i] >= -1 && loc[i] <= 1);
    double *pred = ds_read(f, "glimpses/pred", &n), *rew = ds_read(f, "glimpses/reward", &n),
           *lab = ds_read(f, "glimpses/labels", &n), *img = ds_read(f, "glimpses/images", &m);
    ck_assert_int_eq(m, G * 28 * 28);
    double ink = 0;
    for (long i = 0; i < m; i++) ink += img[i];
    ck_assert(ink > 1000);
    for (long r = 0; r < R; r++)
        for (long g = 0; g < G; g++) {
            int argmax = 0;
            for (long t = 0; t < T; t++) {
                double s = 0;
                for (long k = 0; k < C; k++) {
                    double p = pr[((r * G + g) * T + t) * C + k];
                    ck_assert(p >= 0 && p <= 1);
                    s += p;
                    if (t == T - 1 && p > pr[((r * G + g) * T + t) * C + argmax]) argmax = (int)k;
                }
                ck_assert_msg(fabs(s - 1) < 1e-4, "probabilities sum to %g", s);
            }
            ck_assert(pred[r * G + g] == argmax);
            ck_assert(rew[r * G + g] == (pred[r * G + g] == lab[g]));
        }
    free(loc); free(pr); free(pred); free(rew); free(lab); free(img);
    H5Fclose(f);

    /* and the tools read it: h5dump shows the documented structure */
    if (access("/usr/bin/h5dump", X_OK) == 0) {
        char cmd[2048], outp[800];
        in_tmp(outp, sizeof outp, "h5dump.txt");
        snprintf(cmd, sizeof cmd, "h5dump -H '%s' > '%s' 2>&1", log, outp);
        ck_assert_int_eq(system(cmd), 0);
        char *txt = slurp(outp, NULL);
        ck_assert(strstr(txt, "DATASET \"xent\"") && strstr(txt, "GROUP \"glimpses\"") &&
                  strstr(txt, "ATTRIBUTE \"schema_version\""));
        free(txt);
    } else {
        fprintf(stderr, "SKIPPED: h5dump not installed (apt-get install hdf5-tools)\n");
    }
    remove_tmpdir();
}
END_TEST

/* A soft-attention run and an fc run: the documented objects for their kinds,
 * nothing undocumented, and the values of what is theirs. */
START_TEST(schema_soft_and_fc) {
    if (!have_fashion()) return;
    make_tmpdir();
    sc_config c;
    tiny_config(&c);
    snprintf(c.kind, sizeof c.kind, "soft");
    c.grid = 3;
    train_tiny("soft.h5", &c);
    snprintf(c.kind, sizeof c.kind, "fc");
    c.fc_hidden = 16;
    train_tiny("fc.h5", &c);
    char log[700], ck[700];
    in_tmp(log, sizeof log, "soft.h5");
    in_tmp(ck, sizeof ck, "soft.ckpt.h5");
    check_file_against(log, "runlog", "soft");
    check_file_against(ck, "checkpoint", "soft");
    hid_t f = H5Fopen(log, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(f >= 0);
    char *kind = attr_str(f, "/", "model_kind");
    ck_assert_str_eq(kind, "soft");
    free(kind);
    ck_assert(attr_f64(f, "/", "pixels_per_image") == 9 * 8 * 8);  /* 3x3 locations of 8x8 */
    const long R = 3, G = 8, T = 3, L = 9;
    long n, m;
    double *grid = ds_read(f, "glimpses/grid", &n);
    ck_assert_int_eq(n, L * 2);
    for (long k = 0; k < L; k++) {  /* l_k = ((2i+1)/3 - 1, (2j+1)/3 - 1), k = 3j + i */
        ck_assert(fabs(grid[2 * k] - ((2.0 * (k % 3) + 1) / 3 - 1)) < 1e-6);
        ck_assert(fabs(grid[2 * k + 1] - ((2.0 * (k / 3) + 1) / 3 - 1)) < 1e-6);
    }
    double *att = ds_read(f, "glimpses/attention", &n), *loc = ds_read(f, "glimpses/locations", &m);
    ck_assert_int_eq(n, R * G * T * L);
    ck_assert_int_eq(m, R * G * T * 2);
    for (long r = 0; r < R * G * T; r++) {
        double sum = 0, mx = 0, my = 0;
        for (long k = 0; k < L; k++) {
            double p = att[r * L + k];
            ck_assert(p >= 0 && p <= 1);
            sum += p;
            mx += p * grid[2 * k];
            my += p * grid[2 * k + 1];
        }
        ck_assert_msg(fabs(sum - 1) < 1e-4, "attention sums to %g", sum);
        ck_assert(fabs(loc[2 * r] - mx) < 1e-5 && fabs(loc[2 * r + 1] - my) < 1e-5);
    }
    free(grid); free(att); free(loc);
    double *pr = ds_read(f, "glimpses/probs", &n);
    ck_assert_int_eq(n, R * G * T * 10);
    for (long r = 0; r < R * G * T; r++) {
        double sum = 0;
        for (long k = 0; k < 10; k++) sum += pr[r * 10 + k];
        ck_assert(fabs(sum - 1) < 1e-4);
    }
    free(pr);
    double *h = ds_read(f, "train/att_entropy", &n), *rf = ds_read(f, "train/reinforce", &m);
    for (long i = 0; i < n; i++) ck_assert(h[i] >= 0 && h[i] <= 2.1972246 + 1e-4);  /* log 9 */
    for (long i = 0; i < m; i++) ck_assert(isnan(rf[i]));
    free(h); free(rf);
    double *mc = ds_read(f, "eval/test/mc_samples", &n), *us = ds_read(f, "eval/test/us_per_image", &m);
    ck_assert(n == 1 && mc[0] == 1 && m == 1 && us[0] > 0 && isfinite(us[0]));
    free(mc); free(us);
    H5Fclose(f);

    in_tmp(log, sizeof log, "fc.h5");
    in_tmp(ck, sizeof ck, "fc.ckpt.h5");
    check_file_against(log, "runlog", "fc");
    check_file_against(ck, "checkpoint", "fc");
    f = H5Fopen(log, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(f >= 0);
    ck_assert(H5Lexists(f, "glimpses", H5P_DEFAULT) == 0);
    kind = attr_str(f, "/", "model_kind");
    ck_assert_str_eq(kind, "fc");
    free(kind);
    ck_assert(attr_f64(f, "/", "pixels_per_image") == 28 * 28 && attr_f64(f, "/", "retina_adds_per_image") == 0);
    ck_assert(attr_f64(f, "/", "macs_per_image") == 784 * 16 + 16 * 16 + 16 * 10);
    H5Fclose(f);
    remove_tmpdir();
}
END_TEST

/* A selfattn run: the soft run's datasets with heads as steps and patches as
 * locations; per head the attention over the patches (rows summing to 1), the
 * weighted mean patch centre, and the same final probabilities. */
START_TEST(schema_selfattn) {
    if (!have_fashion()) return;
    make_tmpdir();
    sc_config c;
    tiny_config(&c);
    snprintf(c.kind, sizeof c.kind, "selfattn");
    c.patch = 7;  /* 4 x 4 patches */
    c.d_model = 16;
    c.heads = 2;
    c.blocks = 1;
    c.mlp_hidden = 16;
    train_tiny("sa.h5", &c);
    char log[700], ck[700];
    in_tmp(log, sizeof log, "sa.h5");
    in_tmp(ck, sizeof ck, "sa.ckpt.h5");
    check_file_against(log, "runlog", "selfattn");
    check_file_against(ck, "checkpoint", "selfattn");
    hid_t f = H5Fopen(log, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(f >= 0);
    char *kind = attr_str(f, "/", "model_kind");
    ck_assert_str_eq(kind, "selfattn");
    free(kind);
    ck_assert(attr_f64(f, "/", "pixels_per_image") == 28 * 28);
    const long R = 3, G = 8, H = 2, L = 16;
    long n, m;
    double *grid = ds_read(f, "glimpses/grid", &n);
    ck_assert_int_eq(n, L * 2);
    for (long k = 0; k < L; k++) {  /* patch centres ((2i+1)/4 - 1, (2j+1)/4 - 1), k = 4j + i */
        ck_assert(fabs(grid[2 * k] - ((2.0 * (k % 4) + 1) / 4 - 1)) < 1e-6);
        ck_assert(fabs(grid[2 * k + 1] - ((2.0 * (k / 4) + 1) / 4 - 1)) < 1e-6);
    }
    double *att = ds_read(f, "glimpses/attention", &n), *loc = ds_read(f, "glimpses/locations", &m);
    ck_assert_int_eq(n, R * G * H * L);
    ck_assert_int_eq(m, R * G * H * 2);
    for (long r = 0; r < R * G * H; r++) {
        double sum = 0, mx = 0, my = 0;
        for (long k = 0; k < L; k++) {
            double p = att[r * L + k];
            ck_assert(p >= 0 && p <= 1);
            sum += p;
            mx += p * grid[2 * k];
            my += p * grid[2 * k + 1];
        }
        ck_assert_msg(fabs(sum - 1) < 1e-4, "attention sums to %g", sum);
        ck_assert(fabs(loc[2 * r] - mx) < 1e-5 && fabs(loc[2 * r + 1] - my) < 1e-5);
    }
    free(grid); free(att); free(loc);
    double *pr = ds_read(f, "glimpses/probs", &n);
    ck_assert_int_eq(n, R * G * H * 10);
    for (long r = 0; r < R * G; r++)
        for (long k = 0; k < 10; k++) ck_assert(pr[(r * H + 1) * 10 + k] == pr[r * H * 10 + k]);
    free(pr);
    double *h = ds_read(f, "train/att_entropy", &n), *rf = ds_read(f, "train/reinforce", &m);
    for (long i = 0; i < n; i++) ck_assert(h[i] >= 0 && h[i] <= 2.7725888 + 1e-4);  /* log 16 */
    for (long i = 0; i < m; i++) ck_assert(isnan(rf[i]));
    free(h); free(rf);
    H5Fclose(f);
    remove_tmpdir();
}
END_TEST

/* ---- SWMR ------------------------------------------------------------------------- */

START_TEST(swmr_reader_sees_rows_appear) {
    make_tmpdir();
    char path[700];
    in_tmp(path, sizeof path, "live.h5");
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    const int ROWS = 40;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* the writer: a log with 40 rows, one every 15 ms */
        close(pipefd[0]);
        sc_runlog *L;
        sc_err err = {0};
        sc_runlog_meta meta = {"00000000deadbeef", "writer", NULL, NULL, "[train]\n", "live.ckpt.h5", 1, 1, 10,
                               5.0, 1, 1, 1, 10, 28, 1, "ram", 15.0, 64.0, 0.0, 0, 0, 0, NULL};
        if (sc_runlog_create(&L, path, &meta, NULL, &err) != SC_OK) {
            fprintf(stderr, "writer: %s\n", err.msg);
            _exit(2);
        }
        if (write(pipefd[1], "c", 1) != 1) _exit(3);
        for (int i = 0; i < ROWS; i++) {
            sc_runlog_train_row r;
            memset(&r, 0, sizeof r);
            r.step = 10 * (i + 1);
            r.epoch = 1;
            r.xent = (float)i;
            if (sc_runlog_append_train(L, &r, &err) != SC_OK) {
                fprintf(stderr, "writer: %s\n", err.msg);
                _exit(4);
            }
            struct timespec ts = {0, 15 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        sc_runlog_close(L);
        _exit(0);
    }
    close(pipefd[1]);
    char ch;
    ck_assert_int_eq(read(pipefd[0], &ch, 1), 1);
    close(pipefd[0]);
    /* the reader keeps the file open in SWMR mode and refreshes */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    hid_t f = -1;
    H5E_auto2_t fn;
    void *fd;
    H5Eget_auto2(H5E_DEFAULT, &fn, &fd);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    for (int tries = 0; f < 0 && tries < 500; tries++) {
        f = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
        if (f < 0) usleep(2000);
    }
    H5Eset_auto2(H5E_DEFAULT, fn, fd);
    ck_assert_msg(f >= 0, "the SWMR reader cannot open %s", path);
    hid_t ds = H5Dopen2(f, "train/step", H5P_DEFAULT), dx = H5Dopen2(f, "train/xent", H5P_DEFAULT);
    ck_assert(ds >= 0 && dx >= 0);
    int distinct = 0, dumps_ok = 0, dumps = 0, status = 0;
    hsize_t last = 0;
    int have_h5dump = access("/usr/bin/h5dump", X_OK) == 0;
    for (;;) {
        int done = waitpid(pid, &status, WNOHANG) == pid;
        ck_assert(H5Drefresh(ds) >= 0 && H5Drefresh(dx) >= 0);
        hid_t s = H5Dget_space(ds);
        hsize_t n;
        H5Sget_simple_extent_dims(s, &n, NULL);
        H5Sclose(s);
        s = H5Dget_space(dx);
        hsize_t nx;
        H5Sget_simple_extent_dims(s, &nx, NULL);
        H5Sclose(s);
        ck_assert_msg(n >= last, "rows went from %llu to %llu", (unsigned long long)last, (unsigned long long)n);
        if (nx < n) n = nx;  /* the complete rows */
        if (n > last) {
            distinct++;
            /* the newest complete row is readable and right */
            long long v;
            float xv;
            hsize_t off = n - 1, one = 1;
            hid_t fs = H5Dget_space(ds), ms = H5Screate_simple(1, &one, NULL);
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, &off, NULL, &one, NULL);
            ck_assert(H5Dread(ds, H5T_NATIVE_LLONG, ms, fs, H5P_DEFAULT, &v) >= 0);
            H5Sclose(fs);
            fs = H5Dget_space(dx);
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, &off, NULL, &one, NULL);
            ck_assert(H5Dread(dx, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, &xv) >= 0);
            H5Sclose(fs);
            H5Sclose(ms);
            ck_assert_int_eq(v, 10 * (long long)n);
            ck_assert(xv == (float)(n - 1));
            last = n;
        }
        /* a plain reader (h5dump) between appends */
        if (have_h5dump && !done && dumps < 8 && distinct > dumps * 4) {
            char cmd[1024];
            snprintf(cmd, sizeof cmd, "h5dump -d /train/step '%s' >/dev/null 2>&1", path);
            dumps++;
            dumps_ok += system(cmd) == 0;
        }
        if (done) break;
        usleep(3000);
    }
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer failed: %d", status);
    ck_assert(H5Drefresh(ds) >= 0);
    hid_t s = H5Dget_space(ds);
    hsize_t n;
    H5Sget_simple_extent_dims(s, &n, NULL);
    H5Sclose(s);
    ck_assert_int_eq((int)n, ROWS);
    ck_assert_msg(distinct >= 5, "the reader saw only %d states of %d appends", distinct, ROWS);
    if (have_h5dump)
        ck_assert_msg(dumps_ok >= 1, "h5dump could not read the live log once in %d tries", dumps);
    H5Dclose(ds);
    H5Dclose(dx);
    H5Fclose(f);
    H5Pclose(fapl);
    remove_tmpdir();
}
END_TEST

/* ---- bad input --------------------------------------------------------------------- */

/* A copy of src at tmpdir/name with the root attribute schema_version set to v. */
static void copy_with_version(const char *src, const char *name, int v) {
    size_t n;
    char *b = slurp(src, &n), dst[700];
    in_tmp(dst, sizeof dst, name);
    spit(dst, b, n);
    free(b);
    hid_t f = H5Fopen(dst, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert(f >= 0);
    hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
    ck_assert(a >= 0 && H5Awrite(a, H5T_NATIVE_INT, &v) >= 0);
    H5Aclose(a);
    H5Fclose(f);
}

START_TEST(bad_input_is_refused) {
    if (!have_fashion()) return;
    make_tmpdir();
    sc_config c;
    tiny_config(&c);
    train_tiny("run.h5", &c);
    c.seed = 2;
    train_tiny("other.h5", &c);
    char log[700], p[700], q[700];
    in_tmp(log, sizeof log, "run.h5");
    size_t n;
    char *bytes = slurp(log, &n);
    ck_assert_uint_gt(n, 10000);

    /* the library: each refusal names the file */
    sc_runlog_info li;
    sc_err err = {0};
    ck_assert_int_eq(sc_runlog_inspect(log, &li, &err), SC_OK);
    ck_assert(!li.locked && !li.crashed && li.schema_version == 1);
    ck_assert_int_eq(sc_runlog_inspect("/nonexistent/run.h5", &li, &err), SC_EIO);
    ck_assert_msg(strstr(err.msg, "/nonexistent/run.h5") && strstr(err.msg, "No such file"), "%s", err.msg);

    in_tmp(p, sizeof p, "empty.h5");
    spit(p, "", 0);
    in_tmp(p, sizeof p, "text.h5");
    spit(p, "[train]\nepochs = 3\n", 19);
    for (size_t cut = 8; cut < n; cut += n / 7 + 1) {
        char name[64];
        snprintf(name, sizeof name, "cut%zu.h5", cut);
        in_tmp(p, sizeof p, name);
        spit(p, bytes, cut);
        ck_assert_int_eq(sc_runlog_inspect(p, &li, &err), SC_EFORMAT);
        ck_assert_msg(strstr(err.msg, p) && strstr(err.msg, "truncated or corrupt"), "cut at %zu: %s", cut, err.msg);
    }
    in_tmp(p, sizeof p, "plain.h5");
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert(f >= 0);
    H5Fclose(f);
    copy_with_version(log, "v99.h5", 99);
    /* a log whose checkpoint is missing, and one whose checkpoint is another run's */
    in_tmp(p, sizeof p, "lonely.h5");
    spit(p, bytes, n);
    in_tmp(p, sizeof p, "swapped.h5");
    spit(p, bytes, n);
    in_tmp(p, sizeof p, "other.ckpt.h5");
    in_tmp(q, sizeof q, "swapped.ckpt.h5");
    size_t on;
    char *ob = slurp(p, &on);
    spit(q, ob, on);
    free(ob);
    /* swapped.h5's checkpoint attribute still names run.ckpt.h5: point it at the other run's */
    in_tmp(p, sizeof p, "swapped.h5");
    f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert(f >= 0);
    ck_assert(H5Adelete(f, "checkpoint") >= 0);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    hid_t sp = H5Screate(H5S_SCALAR), a = H5Acreate2(f, "checkpoint", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    const char *nm = "swapped.ckpt.h5";
    ck_assert(H5Awrite(a, t, &nm) >= 0);
    H5Aclose(a); H5Sclose(sp); H5Tclose(t); H5Fclose(f);
    in_tmp(p, sizeof p, "lonely.h5");
    f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert(f >= 0);
    ck_assert(H5Adelete(f, "checkpoint") >= 0);
    t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    sp = H5Screate(H5S_SCALAR);
    a = H5Acreate2(f, "checkpoint", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    nm = "lonely.ckpt.h5";
    ck_assert(H5Awrite(a, t, &nm) >= 0);
    H5Aclose(a); H5Sclose(sp); H5Tclose(t); H5Fclose(f);
    free(bytes);

    /* the command line: every one refused in one line, nothing written */
    static const char *const verbs[] = {"train --resume", "eval"};
    for (int v = 0; v < 2; v++) {
        char args[256];
#define REFUSE(file, ...)                                            \
        snprintf(args, sizeof args, "%s %s", verbs[v], file);        \
        expect_cli_refusal(args, file, __VA_ARGS__, (char *)NULL)
        REFUSE("missing.h5", "cannot open", "No such file");
        REFUSE("empty.h5", "empty file");
        REFUSE("text.h5", "not an HDF5 file");
        REFUSE("cut8.h5", "truncated or corrupt");
        REFUSE("plain.h5", "not a saccade run log");
        REFUSE("v99.h5", "schema version 99", "reads version 1");
        REFUSE("lonely.h5", "lonely.ckpt.h5", "missing");
#undef REFUSE
    }
    expect_cli_refusal("train --resume swapped.h5", "swapped.ckpt.h5", "belongs to run", (char *)NULL);
    expect_cli_refusal("train --resume run.ckpt.h5", "run.ckpt.h5", "checkpoint, not a run log", (char *)NULL);

    /* configs a resume cannot take */
    expect_cli_refusal("train --resume run.h5 --set model.hidden=24 --set train.epochs=3",
                       "cannot resume run.h5 with a different model shape", "[model] hidden = 24 (the run has 16)",
                       (char *)NULL);
    expect_cli_refusal("train --resume run.h5 --set model.core=lstm --set data.val_size=50 --set train.epochs=3",
                       "[model] core = lstm (the run has rnn)", "[data] val_size = 50 (the run has 100)",
                       (char *)NULL);
    expect_cli_refusal("train --resume run.h5", "already trained all 2 epochs", "train.epochs", (char *)NULL);
    expect_cli_refusal("train --resume run.h5 --no-baseline --set train.epochs=3", "[model] baseline = false",
                       (char *)NULL);

    /* eval takes only the thread count, the first glimpse's place and the test policy from --set */
    {
        cmd_out u = run_saccade("eval run.h5 --set model.hidden=24");  /* a usage error: status 2 */
        ck_assert_int_eq(u.status, 2);
        ck_assert_msg(strstr(u.err, "eval only accepts") && strstr(u.err, "model.hidden=24"), "%s", u.err);
        free(u.out);
        free(u.err);
    }
    expect_cli_refusal("eval run.h5 --set model.first_loc=middle", "first_loc", "middle", (char *)NULL);
    expect_cli_refusal("eval run.h5 --set model.test_policy=greedy", "test_policy", "greedy", (char *)NULL);

    /* a log another process is writing (it holds the writer lock) */
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_RDWR);
        struct flock fl;
        memset(&fl, 0, sizeof fl);
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        if (fd < 0 || fcntl(fd, F_OFD_SETLK, &fl) != 0) _exit(1);
        if (write(fds[1], "l", 1) != 1) _exit(1);
        pause();
        _exit(0);
    }
    char ch;
    ck_assert_int_eq(read(fds[0], &ch, 1), 1);
    expect_cli_refusal("train --resume run.h5 --set train.epochs=3", "being written by another saccade process",
                       (char *)NULL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    /* output places */
    in_tmp(p, sizeof p, "tiny.ini");
    spit(p, TINY_INI, strlen(TINY_INI));
    expect_cli_refusal("train tiny.ini --out run.h5", "run.h5", "already exists", (char *)NULL);
    expect_cli_refusal("train tiny.ini --out nowhere/x.h5", "nowhere/x.h5", "No such file or directory",
                       (char *)NULL);
    expect_cli_refusal("train tiny.ini --out tiny.ini/x.h5", "tiny.ini/x.h5", "Not a directory", (char *)NULL);
    remove_tmpdir();
}
END_TEST

/* ---- valid HDF5, hostile content ------------------------------------------------ */

/* tmpdir/name, a copy of src, opened for writing. */
static hid_t hostile_copy(const char *src, const char *name, char *path, size_t n) {
    size_t len;
    char *b = slurp(src, &len);
    in_tmp(path, n, name);
    spit(path, b, len);
    free(b);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert(f >= 0);
    return f;
}

/* Replaces dataset obj of f by a dataset of type t and space sp, chunked by chunk (one size per
 * dimension of sp; NULL: contiguous), holding buf (NULL: unwritten). */
static void hostile_dataset(hid_t f, const char *obj, hid_t t, hid_t sp, const hsize_t *chunk, const void *buf) {
    ck_assert(H5Ldelete(f, obj, H5P_DEFAULT) >= 0);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (chunk) ck_assert(H5Pset_chunk(dcpl, H5Sget_simple_extent_ndims(sp), chunk) >= 0);
    hid_t d = H5Dcreate2(f, obj, t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ck_assert(d >= 0);
    if (buf) ck_assert(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Dclose(d);
    H5Pclose(dcpl);
}

/* compare's reader (the widest of the run-log readers) refuses path with one line naming it and `what`. */
static void expect_hostile_refused(const char *path, const char *what) {
    sc_run_summary s;
    sc_err err = {0};
    int rc = sc_run_summary_read(path, &s, 1, &err);
    ck_assert_msg(rc < 0, "%s was read (%s)", path, what);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, what) && !strchr(err.msg, '\n'),
                  "the refusal of %s names %s in one line: %s", path, what, err.msg);
    ck_assert_int_eq((int)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0); /* nothing left open */
}

START_TEST(hostile_files_are_refused) {
    if (!have_fashion()) return;
    make_tmpdir();
    sc_config c;
    tiny_config(&c);
    train_tiny("run.h5", &c);
    char log[700], p[700];
    in_tmp(log, sizeof log, "run.h5");
    sc_run_summary s;
    sc_err err = {0};
    ck_assert_msg(sc_run_summary_read(log, &s, 1, &err) == SC_OK, "%s", err.msg);

    /* a wrong dtype: the test error column holds strings */
    hid_t f = hostile_copy(log, "dtype.h5", p, sizeof p);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 4);
    hsize_t one[1] = {1};
    hid_t sp = H5Screate_simple(1, one, NULL);
    hostile_dataset(f, "/eval/test/err_m1", t, sp, NULL, "abcd");
    H5Sclose(sp);
    H5Tclose(t);
    H5Fclose(f);
    expect_hostile_refused(p, "eval/test/err_m1");

    /* a wrong rank: the test epochs as a 2 x 2 matrix */
    f = hostile_copy(log, "rank.h5", p, sizeof p);
    hsize_t two[2] = {2, 2};
    double m[4] = {1, 2, 3, 4};
    sp = H5Screate_simple(2, two, NULL);
    hostile_dataset(f, "/eval/test/epoch", H5T_NATIVE_DOUBLE, sp, NULL, m);
    H5Sclose(sp);
    H5Fclose(f);
    expect_hostile_refused(p, "eval/test/epoch");

    /* huge dimensions: 2^40 samples counts promised, none written (chunked, unlimited) */
    f = hostile_copy(log, "huge.h5", p, sizeof p);
    hsize_t huge[1] = {(hsize_t)1 << 40}, unl[1] = {H5S_UNLIMITED}, ch1[1] = {1024};
    sp = H5Screate_simple(1, huge, unl);
    hostile_dataset(f, "/eval/test/mc_samples", H5T_NATIVE_INT, sp, ch1, NULL);
    H5Sclose(sp);
    H5Fclose(f);
    expect_hostile_refused(p, "eval/test/mc_samples");

    /* a missing attribute */
    f = hostile_copy(log, "noattr.h5", p, sizeof p);
    ck_assert(H5Adelete(f, "canvas_side") >= 0);
    H5Fclose(f);
    expect_hostile_refused(p, "canvas_side");

    /* a string without a terminator: the model kind fills its fixed size */
    f = hostile_copy(log, "unterminated.h5", p, sizeof p);
    ck_assert(H5Adelete(f, "model_kind") >= 0);
    t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 8);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "model_kind", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert(a >= 0 && H5Awrite(a, t, "ramramra") >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    H5Fclose(f);
    expect_hostile_refused(p, "model_kind");

    /* a group where a dataset belongs */
    f = hostile_copy(log, "group.h5", p, sizeof p);
    ck_assert(H5Ldelete(f, "/eval/test/err_mc", H5P_DEFAULT) >= 0);
    hid_t g = H5Gcreate2(f, "/eval/test/err_mc", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert(g >= 0);
    H5Gclose(g);
    H5Fclose(f);
    expect_hostile_refused(p, "eval/test/err_mc");

    /* resume writes rows: a /sessions column of two dimensions (extendible, so the write is tried) made
       HDF5 read 8 values from a one-value row (found by fuzz_runlog) */
    f = hostile_copy(log, "sessions2d.h5", p, sizeof p);
    const hsize_t d2[2] = {1, 8}, max2[2] = {H5S_UNLIMITED, 8};
    const int zeros[8] = {0};
    sp = H5Screate_simple(2, d2, max2);
    hostile_dataset(f, "/sessions/threads", H5T_NATIVE_INT, sp, d2, zeros);
    H5Sclose(sp);
    H5Fclose(f);
    sc_runlog *L = NULL;
    sc_runlog_rows keep = {0, 0, 0};
    err = (sc_err){0};
    int rc = sc_runlog_resume(&L, p, &keep, NULL, "test", "", 1, 0, 0, &err);
    ck_assert_msg(rc < 0 && !L, "a log whose /sessions/threads is 1 x 8 was resumed");
    ck_assert_msg(strstr(err.msg, p) && strstr(err.msg, "sessions/threads") && !strchr(err.msg, '\n'),
                  "the refusal names the file and the column in one line: %s", err.msg);
    ck_assert_int_eq((int)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);

    /* a glimpse array declaring 2^62 records of 4 values: HDF5's count of its points wraps to 0, and
       resume's cut walked the chunks for ever (found by fuzz_runlog) */
    f = hostile_copy(log, "pred-huge.h5", p, sizeof p);
    const hsize_t wrap[2] = {(hsize_t)1 << 62, 4}, maxw[2] = {H5S_UNLIMITED, 4}, ch[2] = {1, 4};
    sp = H5Screate_simple(2, wrap, maxw);
    hostile_dataset(f, "/glimpses/pred", H5T_NATIVE_INT, sp, ch, NULL);
    H5Sclose(sp);
    H5Fclose(f);
    err = (sc_err){0};
    rc = sc_runlog_resume(&L, p, &keep, NULL, "test", "", 1, 0, 0, &err);
    ck_assert_msg(rc < 0 && !L, "a log whose /glimpses/pred declares 2^62 records was resumed");
    ck_assert_msg(strstr(err.msg, p) && strstr(err.msg, "glimpses/pred") && !strchr(err.msg, '\n'),
                  "the refusal names the file and the array in one line: %s", err.msg);
    ck_assert_int_eq((int)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);

    /* a run whose glimpse records have another shape than the log's is refused before a byte is written */
    size_t n0, n1;
    char *before = slurp(log, &n0);
    sc_runlog_glimpse_set other = {.G = 1000, .T = 3, .C = 10};
    err = (sc_err){0};
    rc = sc_runlog_resume(&L, log, &keep, &other, "test", "", 1, 0, 0, &err);
    ck_assert_msg(rc < 0 && !L, "a log was resumed by a run with another glimpse set");
    ck_assert_msg(strstr(err.msg, log) && strstr(err.msg, "glimpse records") && !strchr(err.msg, '\n'),
                  "the refusal names the file and the glimpse records in one line: %s", err.msg);
    char *after = slurp(log, &n1);
    ck_assert_msg(n0 == n1 && !memcmp(before, after, n0), "the refused resume changed %s", log);
    free(before);
    free(after);
    ck_assert_int_eq((int)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    remove_tmpdir();
}
END_TEST

/* ---- colour, non-square canvases and class names ------------------------------------ */

static int64_t attr_i64(hid_t f, const char *obj, const char *name) {
    int64_t v = -1;
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "%s@%s missing", obj, name);
    ck_assert(H5Aread(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(a);
    return v;
}

enum { XG = 2, XH = 12, XW = 20 };

static int create_colour(const char *path, int channels, int h, const char *names, sc_err *err) {
    static uint8_t images[XG * XH * XW * 3];
    for (size_t q = 0; q < sizeof images; q++) images[q] = (uint8_t)(q * 13 % 256);
    int32_t labels[XG] = {0, 1}, index[XG] = {3, 4};
    sc_runlog_meta m = {.run_id = "00000000c0101234", .config = "[train]\n", .checkpoint = "c.ckpt.h5",
                        .num_classes = 2, .canvas_side = XW, .model_kind = "ram", .canvas_h = h, .canvas_w = XW,
                        .channels = channels, .class_names = names};
    sc_runlog_glimpse_set gs = {.G = XG, .T = 2, .C = 2, .side = XW, .split = "val", .images = images,
                                .labels = labels, .index = index, .h = h, .w = XW, .channels = channels};
    sc_runlog *L = NULL;
    int rc = sc_runlog_create(&L, path, &m, &gs, err);
    sc_runlog_close(L);
    return rc;
}

START_TEST(colour_glimpse_set) {
    make_tmpdir();
    char p[700];
    in_tmp(p, sizeof p, "colour.h5");
    sc_err err = {0};
    ck_assert_msg(create_colour(p, 3, XH, "cat\ndog", &err) == SC_OK, "%s", err.msg);
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(f >= 0);
    ck_assert_int_eq(attr_i64(f, "/", "canvas_height"), XH);
    ck_assert_int_eq(attr_i64(f, "/", "canvas_width"), XW);
    ck_assert_int_eq(attr_i64(f, "/", "canvas_side"), XW);
    ck_assert_int_eq(attr_i64(f, "/", "channels"), 3);
    char *names = attr_str(f, "/", "class_names");
    ck_assert_str_eq(names, "cat\ndog");
    free(names);
    ck_assert_int_eq(attr_i64(f, "/glimpses", "height"), XH);
    ck_assert_int_eq(attr_i64(f, "/glimpses", "width"), XW);
    ck_assert_int_eq(attr_i64(f, "/glimpses", "side"), XW);
    ck_assert_int_eq(attr_i64(f, "/glimpses", "channels"), 3);
    hid_t d = H5Dopen2(f, "glimpses/images", H5P_DEFAULT), sp = H5Dget_space(d);
    hsize_t dims[4];
    ck_assert_int_eq(H5Sget_simple_extent_dims(sp, dims, NULL), 4);
    ck_assert(dims[0] == XG && dims[1] == XH && dims[2] == XW && dims[3] == 3);
    uint8_t back[XG * XH * XW * 3];
    ck_assert(H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0);
    for (size_t q = 0; q < sizeof back; q++) ck_assert_int_eq(back[q], (uint8_t)(q * 13 % 256));
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);

    /* grey without names: (G, H, W), one channel, "0".."C-1" */
    in_tmp(p, sizeof p, "grey.h5");
    ck_assert_msg(create_colour(p, 0, 0, NULL, &err) == SC_OK, "%s", err.msg);
    f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_eq(attr_i64(f, "/", "canvas_height"), XW);
    ck_assert_int_eq(attr_i64(f, "/", "channels"), 1);
    ck_assert_int_eq(attr_i64(f, "/glimpses", "height"), XW);
    names = attr_str(f, "/", "class_names");
    ck_assert_str_eq(names, "0\n1");
    free(names);
    d = H5Dopen2(f, "glimpses/images", H5P_DEFAULT);
    sp = H5Dget_space(d);
    ck_assert_int_eq(H5Sget_simple_extent_dims(sp, dims, NULL), 3);
    ck_assert(dims[1] == XW && dims[2] == XW);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);

    /* refused before anything is created */
    struct { int channels, h; const char *names, *part; } bad[] = {
        {2, XH, NULL, "channels = 2"},
        {3, -1, NULL, "canvas -1 x 20"},
        {3, XH, "cat", "class_names: holds 1 name, expected 2"},
        {3, XH, "cat\n", "class_names: name 2 (of 2) is empty"},
        {3, XH, "cat\nd\x01g", "class_names: name 2 (of 2) holds the control character 0x01"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in_tmp(p, sizeof p, "refused.h5");
        err = (sc_err){0};
        ck_assert_int_eq(create_colour(p, bad[i].channels, bad[i].h, bad[i].names, &err), SC_EARG);
        ck_assert_msg(strstr(err.msg, p) && strstr(err.msg, bad[i].part), "'%s' lacks '%s'", err.msg, bad[i].part);
        ck_assert_msg(access(p, F_OK) != 0, "a refused create left %s", p);
    }

    /* resume compares the images' height, width and channels with the log's */
    in_tmp(p, sizeof p, "colour.h5");
    size_t n0, n1;
    char *before = slurp(p, &n0);
    sc_runlog_rows keep = {0, 0, 0};
    struct { int h, w, side, channels; int ok; } runs[] = {
        {XH, XW, XW, 3, 1}, {0, 0, 0, 3, 1},  /* sizes not given: not compared */
        {XH, XW, XW, 1, 0}, {0, 0, 0, 0, 0},  /* channels 0 = 1 */
        {XW, XW, XW, 3, 0}, {0, 0, XW, 3, 0}, {XH, XH, XW, 3, 0},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        sc_runlog_glimpse_set e = {.G = XG, .T = 2, .C = 2, .side = runs[i].side, .h = runs[i].h, .w = runs[i].w,
                                   .channels = runs[i].channels};
        sc_runlog *L = NULL;
        err = (sc_err){0};
        int rc = sc_runlog_resume(&L, p, &keep, &e, "test", "", 1, 0, 0, &err);
        sc_runlog_close(L);
        if (runs[i].ok) {
            ck_assert_msg(rc == SC_OK, "run %zu: %s", i, err.msg);
            free(before);
            before = slurp(p, &n0);
            continue;
        }
        ck_assert_msg(rc == SC_EFORMAT && strstr(err.msg, "its glimpse records are 2 images of 12x20x3") &&
                      strstr(err.msg, "but this run") && !strchr(err.msg, '\n'), "run %zu: %s", i, err.msg);
        char *after = slurp(p, &n1);
        ck_assert_msg(n0 == n1 && !memcmp(before, after, n0), "the refused resume %zu changed the log", i);
        free(after);
    }
    free(before);
    ck_assert_int_eq((int)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    remove_tmpdir();
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("runlog");
    TCase *t = tcase_create("runlog");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, schema_matches_docs);
    tcase_add_test(t, schema_soft_and_fc);
    tcase_add_test(t, schema_selfattn);
    tcase_add_test(t, swmr_reader_sees_rows_appear);
    tcase_add_test(t, bad_input_is_refused);
    tcase_add_test(t, hostile_files_are_refused);
    tcase_add_test(t, colour_glimpse_set);
    suite_add_tcase(s, t);
    return s;
}

SC_TEST_MAIN(make_suite)
