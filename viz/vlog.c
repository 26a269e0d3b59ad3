/* vlog.c - reading /glimpses of a run log for the viewer (see vlog.h).
 *
 * Every HDF5 call is checked; HDF5's own error printing is silenced around
 * them and its innermost reason ends our message (sc_h5_errf). The file is
 * opened in SWMR-read mode when possible, so every dataset is refreshed
 * (H5Drefresh) before its length is read: that is what makes a running
 * trainer's appends visible.
 */
#include "vlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kind.h"
#include "experiments/config.h"
#include "experiments/h5util.h"
#include "experiments/runlog.h"
#include "experiments/train.h"

/* Bounds on what a sane log holds; beyond them the file is called malformed
 * rather than allocating whatever a damaged header claims. */
enum { MAX_G = 1 << 20, MAX_T = 64, MAX_C = 1 << 16, MAX_W = 8192, MAX_L = 1 << 16, MAX_R = 1 << 24 };
/* MAX_W bounds the height too; the images' bytes are checked against the file
 * (sc_h5_dataset_fits) before they are allocated. */

/* "(3, 64, 6, 2)" */
static void shape_str(char *buf, size_t n, int rank, const hsize_t *d) {
    size_t used = 0;
    used += (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < rank && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%llu", i ? ", " : "", (unsigned long long)d[i]);
    if (used < n) snprintf(buf + used, n - used, "%s)", rank == 1 ? "," : "");
}

/* Opens /glimpses/<name> (refreshed in SWMR mode) and checks its type class,
 * rank and every dimension but the first against want[1..] (want[0] too when
 * fixed_rows); the first dimension goes to *rows. */
static int ds_open(sc_vlog *v, const char *name, H5T_class_t cls, int rank, const hsize_t *want, int fixed_rows,
                   hid_t *out, hsize_t *rows, sc_err *err) {
    char full[64];
    snprintf(full, sizeof full, "glimpses/%s", name);
    *out = -1;
    htri_t ex = H5Lexists(v->file, full, H5P_DEFAULT);
    if (ex <= 0)
        return ex < 0 ? sc_h5_errf(err, SC_EHDF5, "%s: cannot read /%s", v->path, full)
                      : sc_errf(err, SC_EFORMAT, "%s: damaged run log: /%s is missing", v->path, full);
    hid_t d = H5Dopen2(v->file, full, H5P_DEFAULT);
    if (d < 0) return sc_h5_errf(err, SC_EHDF5, "%s: cannot open /%s", v->path, full);
    if (v->swmr && H5Drefresh(d) < 0) {
        H5Dclose(d);
        return sc_h5_errf(err, SC_EHDF5, "%s: cannot refresh /%s", v->path, full);
    }
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    int rc = SC_OK;
    hsize_t dims[8];
    int r = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1;
    H5T_class_t c = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    if (t < 0 || s < 0 || r < 0 || r > 8 || H5Sget_simple_extent_dims(s, dims, NULL) < 0) {
        rc = sc_h5_errf(err, SC_EHDF5, "%s: cannot read the type and shape of /%s", v->path, full);
    } else {
        int ok = c == cls && r == rank;
        for (int i = fixed_rows ? 0 : 1; ok && i < rank; i++) ok = dims[i] == want[i];
        if (!ok) {
            char got[96], exp[96];
            hsize_t w[8];
            memcpy(w, want, sizeof(hsize_t) * rank);
            shape_str(got, sizeof got, r, dims);
            shape_str(exp, sizeof exp, rank, w);
            if (!fixed_rows) {
                /* the first axis is the record axis: show it as R */
                char *p = strchr(exp, '(');
                char *q = strpbrk(exp, ",)");
                if (p && q) {
                    char tail[96];
                    snprintf(tail, sizeof tail, "%s", q);
                    snprintf(p + 1, sizeof exp - (size_t)(p + 1 - exp), "R%s", tail);
                }
            }
            rc = sc_errf(err, SC_EFORMAT, "%s: damaged run log: /%s is %s %s, expected %s %s", v->path, full,
                         c == H5T_FLOAT ? "float" : c == H5T_INTEGER ? "integer" : "non-numeric", got,
                         cls == H5T_FLOAT ? "float" : "integer", exp);
        }
    }
    if (t >= 0) H5Tclose(t);
    if (s >= 0) H5Sclose(s);
    unsigned long long declared, stored;
    if (rc == SC_OK && sc_h5_dataset_fits(d, &declared, &stored) != 1)
        rc = sc_h5_errf(err, SC_EFORMAT, "%s: damaged run log: /%s declares %llu bytes but the file holds %llu bytes "
                        "of it", v->path, full, declared, stored);
    if (rc != SC_OK) {
        H5Dclose(d);
        return rc;
    }
    *rows = dims[0];
    *out = d;
    return SC_OK;
}

/* Reads rows [start, start+count) of an open dataset of the given rank. */
static int ds_read(sc_vlog *v, hid_t d, const char *name, hid_t memtype, int rank, const hsize_t *dims,
                   hsize_t start, hsize_t count, void *buf, sc_err *err) {
    hsize_t off[8] = {0}, cnt[8];
    off[0] = start;
    cnt[0] = count;
    for (int i = 1; i < rank; i++) cnt[i] = dims[i];
    if (count == 0) return SC_OK;
    hid_t fs = H5Dget_space(d);
    hid_t ms = H5Screate_simple(rank, cnt, NULL);
    int ok = fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) >= 0 &&
             H5Dread(d, memtype, ms, fs, H5P_DEFAULT, buf) >= 0;
    if (fs >= 0) H5Sclose(fs);
    if (ms >= 0) H5Sclose(ms);
    if (!ok) return sc_h5_errf(err, SC_EHDF5, "%s: cannot read /glimpses/%s", v->path, name);
    return SC_OK;
}

/* Opens, checks and reads a whole fixed-size dataset into a fresh buffer. */
static int ds_slurp(sc_vlog *v, const char *name, H5T_class_t cls, hid_t memtype, size_t elem, int rank,
                    const hsize_t *want, void **out, sc_err *err) {
    hid_t d;
    hsize_t rows;
    int rc = ds_open(v, name, cls, rank, want, 1, &d, &rows, err);
    if (rc != SC_OK) return rc;
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)want[i];
    *out = malloc(n * elem);
    if (!*out) rc = sc_errf(err, SC_ENOMEM, "%s: out of memory reading /glimpses/%s", v->path, name);
    else rc = ds_read(v, d, name, memtype, rank, want, 0, want[0], *out, err);
    H5Dclose(d);
    return rc;
}

static int attr_int(sc_vlog *v, hid_t obj, const char *what, const char *name, int lo, int hi, int *out,
                    sc_err *err) {
    int64_t x;
    if (sc_h5_attr_get_i64(obj, name, &x) < 0)
        return sc_errf(err, SC_EFORMAT, "%s: damaged run log: attribute %s@%s is missing or not an integer",
                       v->path, what, name);
    if (x < lo || x > hi)
        return sc_errf(err, SC_EFORMAT, "%s: damaged run log: %s@%s = %lld, expected %d..%d", v->path, what, name,
                       (long long)x, lo, hi);
    *out = (int)x;
    return SC_OK;
}

/* The square each location covers (v->g pixels at v->k scales): the kind's
 * footprint of the run's configuration. */
static void footprint(sc_vlog *v, const sc_config *c) {
    const sc_model_ops *ops = sc_model_ops_named(v->kind);
    v->g = v->k = 0;
    if (!ops || !ops->footprint) return;
    sc_model_cfg mc;
    sc_model_cfg_from_config(&mc, c, 0, 2, 1);
    ops->footprint(sc_model_kind_cfg(ops, &mc), &v->g, &v->k);
}

/* The footprint from the resolved configuration text. The strict parser
 * first; a log written by another version may hold keys this one does not
 * know, so then a plain scan of the [model] section for the keys a footprint
 * reads (glimpse_size, scales, patch). */
static int parse_geometry(sc_vlog *v, const char *text, sc_err *err) {
    sc_config c;
    sc_config_defaults(&c);
    sc_err perr = {0};
    if (sc_config_load_string(&c, text, v->path, &perr) == SC_OK) {
        footprint(v, &c);
        return SC_OK;
    }
    int g = -1, k = -1, patch = 4, in_model = 0;
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
        char *s = line + strspn(line, " \t");
        char key[64];
        int val;
        if (*s == '[') in_model = !strncmp(s, "[model]", 7);
        else if (in_model && sscanf(s, "%63[a-z_] = %d", key, &val) == 2) {
            if (!strcmp(key, "glimpse_size")) g = val;
            else if (!strcmp(key, "scales")) k = val;
            else if (!strcmp(key, "patch")) patch = val;
        }
        p += n + (e != NULL);
    }
    if (g < 1 || g > 4096 || k < 1 || k > 16)
        return sc_errf(err, SC_EFORMAT, "%s: the run's configuration (/@config) gives no [model] glimpse_size "
                       "and scales (%s)", v->path, perr.msg);
    c.glimpse_size = g;
    c.scales = k;
    c.patch = patch;
    footprint(v, &c);
    return SC_OK;
}

static int check_root(sc_vlog *v, sc_err *err) {
    char *s = NULL, q[96];
    int rc = SC_OK;
    if (sc_h5_attr_get_str(v->file, "format", &s) < 0 || strcmp(s, SC_RUNLOG_FORMAT) != 0) {
        if (s && !strcmp(s, "saccade checkpoint"))
            rc = sc_errf(err, SC_EFORMAT, "%s: a saccade checkpoint, not a run log; give the run log (RUN.h5) "
                         "it belongs to", v->path);
        else
            rc = sc_errf(err, SC_EFORMAT, "%s: an HDF5 file but not a saccade run log (its 'format' attribute is "
                         "%s)", v->path, sc_h5_quote(s, q, sizeof q));
        free(s);
        return rc;
    }
    free(s);
    s = NULL;
    int64_t ver = 0;
    if (sc_h5_attr_get_i64(v->file, "schema_version", &ver) < 0 || ver != SC_RUNLOG_SCHEMA)
        return sc_errf(err, SC_EFORMAT, "%s: run log schema version %lld, this saccade reads version %d", v->path,
                       (long long)ver, SC_RUNLOG_SCHEMA);

    int has = sc_h5_attr_exists(v->file, "model_kind");
    if (has < 0) return sc_h5_errf(err, SC_EHDF5, "%s: cannot read attribute /@model_kind", v->path);
    snprintf(v->kind, sizeof v->kind, "%s", sc_model_kind_name(SC_MODEL_RAM)); /* logs before the attribute */
    if (has) {
        if (sc_h5_attr_get_str(v->file, "model_kind", &s) < 0)
            return sc_errf(err, SC_EFORMAT, "%s: attribute /@model_kind is not a string", v->path);
        const sc_model_ops *ops = sc_model_ops_named(s);
        char kinds[128];
        if (ops && !(ops->caps & SC_KIND_TRAJECTORIES))
            rc = sc_errf(err, SC_EFORMAT, "%s: a run of model kind \"%s\" (%s): it takes no glimpses, so there is "
                         "nothing to view", v->path, ops->name, ops->legend);
        else if (!ops)
            rc = sc_errf(err, SC_EFORMAT, "%s: model kind %s (/@model_kind) is not one the viewer shows (%s)",
                         v->path, sc_h5_quote(s, q, sizeof q),
                         sc_model_kinds_list(kinds, sizeof kinds, SC_KIND_TRAJECTORIES, 0));
        else
            snprintf(v->kind, sizeof v->kind, "%s", ops->name);
        free(s);
        s = NULL;
        if (rc != SC_OK) return rc;
    }
    const sc_model_ops *ops = sc_model_ops_named(v->kind);
    v->weights = (ops->caps & SC_KIND_WEIGHTS) != 0;
    v->step_name = ops->step_name ? ops->step_name : "step";
    v->step_unit = ops->step_unit ? ops->step_unit : "step";

    if (sc_h5_attr_get_str(v->file, "config", &s) < 0)
        return sc_errf(err, SC_EFORMAT, "%s: damaged run log: attribute /@config is missing", v->path);
    rc = parse_geometry(v, s, err);
    free(s);
    return rc;
}

/* An optional integer attribute of /glimpses: *out keeps its default when absent. */
static int attr_int_opt(sc_vlog *v, hid_t gr, const char *name, int lo, int hi, int *out, sc_err *err) {
    int has = sc_h5_attr_exists(gr, name);
    if (has < 0) return sc_h5_errf(err, SC_EHDF5, "%s: cannot read attribute /glimpses@%s", v->path, name);
    return has ? attr_int(v, gr, "/glimpses", name, lo, hi, out, err) : SC_OK;
}

/* The images' height, width and channels: /glimpses@height, @width (which
 * must equal @side, the width) and @channels; logs before them are square
 * (@side) and grey. */
static int image_shape(sc_vlog *v, hid_t gr, sc_err *err) {
    int W = v->W;
    v->H = v->W;
    v->channels = 1;
    int rc = attr_int_opt(v, gr, "height", 1, MAX_W, &v->H, err);
    if (rc == SC_OK) rc = attr_int_opt(v, gr, "width", 1, MAX_W, &W, err);
    if (rc != SC_OK) return rc;
    if (W != v->W)
        return sc_errf(err, SC_EFORMAT, "%s: damaged run log: /glimpses@width = %d but /glimpses@side = %d (the side "
                       "is the width)", v->path, W, v->W);
    int has = sc_h5_attr_exists(gr, "channels");
    int64_t ch = 1;
    if (has < 0) return sc_h5_errf(err, SC_EHDF5, "%s: cannot read attribute /glimpses@channels", v->path);
    if (has && sc_h5_attr_get_i64(gr, "channels", &ch) < 0)
        return sc_errf(err, SC_EFORMAT, "%s: damaged run log: attribute /glimpses@channels is missing or not an "
                       "integer", v->path);
    if (ch != 1 && ch != 3)
        return sc_errf(err, SC_EFORMAT, "%s: damaged run log: /glimpses@channels = %lld, expected 1 (grey) or 3 (RGB)",
                       v->path, (long long)ch);
    v->channels = (int)ch;
    return SC_OK;
}

/* v->class_names from /@class_names (one block: C pointers, then the text),
 * or "0".."C-1" when the log has no such attribute. */
static int read_class_names(sc_vlog *v, sc_err *err) {
    int has = sc_h5_attr_exists(v->file, "class_names");
    if (has < 0) return sc_h5_errf(err, SC_EHDF5, "%s: cannot read attribute /@class_names", v->path);
    char *text = NULL, why[160];
    size_t len = 0;
    if (has) {
        if (sc_h5_attr_get_str(v->file, "class_names", &text) < 0)
            return sc_errf(err, SC_EFORMAT, "%s: damaged run log: attribute /@class_names is not a string", v->path);
        if (sc_runlog_class_names_check(text, v->C, why, sizeof why) < 0) {
            free(text);
            return sc_errf(err, SC_EFORMAT, "%s: damaged run log: /@class_names %s", v->path, why);
        }
        len = strlen(text);
    } else {
        for (int c = 0; c < v->C; c++) len += (size_t)snprintf(NULL, 0, "%d", c) + 1;
    }
    const size_t ptrs = sizeof(char *) * (size_t)v->C;
    char **names = malloc(ptrs + len + 1);
    if (!names) {
        free(text);
        return sc_errf(err, SC_ENOMEM, "%s: out of memory reading /@class_names", v->path);
    }
    char *p = (char *)names + ptrs;
    if (text) memcpy(p, text, len + 1);  /* checked: exactly C names, so C - 1 newlines */
    for (int c = 0; c < v->C; c++) {
        names[c] = p;
        if (text) {
            p += strcspn(p, "\n");
            *p++ = '\0';
        } else {
            p += sprintf(p, "%d", c) + 1;
        }
    }
    free(text);
    v->class_names = names;
    return SC_OK;
}

static int read_glimpse_set(sc_vlog *v, sc_err *err) {
    htri_t ex = H5Lexists(v->file, "glimpses", H5P_DEFAULT);
    if (ex < 0) return sc_h5_errf(err, SC_EHDF5, "%s: cannot read /glimpses", v->path);
    if (ex == 0)
        return sc_errf(err, SC_EFORMAT, "%s: no /glimpses in this run log: the run recorded no glimpse "
                       "trajectories ([log] glimpse_images = 0); train with --set log.glimpse_images=64 to "
                       "record them", v->path);
    hid_t gr = H5Gopen2(v->file, "glimpses", H5P_DEFAULT);
    if (gr < 0) return sc_h5_errf(err, SC_EHDF5, "%s: cannot open /glimpses", v->path);
    int rc = attr_int(v, gr, "/glimpses", "count", 1, MAX_G, &v->G, err);
    if (rc == SC_OK) rc = attr_int(v, gr, "/glimpses", "glimpses", 1, MAX_T, &v->T, err);
    if (rc == SC_OK) rc = attr_int(v, gr, "/glimpses", "classes", 2, MAX_C, &v->C, err);
    if (rc == SC_OK) rc = attr_int(v, gr, "/glimpses", "side", 1, MAX_W, &v->W, err);
    if (rc == SC_OK) rc = image_shape(v, gr, err);
    char *s = NULL;
    if (rc == SC_OK && sc_h5_attr_get_str(gr, "split", &s) == 0) snprintf(v->split, sizeof v->split, "%s", s);
    free(s);
    H5Gclose(gr);
    if (rc != SC_OK) return rc;

    /* (G, H, W) grey, (G, H, W, 3) colour */
    hsize_t img[4] = {(hsize_t)v->G, (hsize_t)v->H, (hsize_t)v->W, 3}, lab[1] = {(hsize_t)v->G};
    rc = ds_slurp(v, "images", H5T_INTEGER, H5T_NATIVE_UINT8, 1, v->channels == 1 ? 3 : 4, img, (void **)&v->images,
                  err);
    if (rc == SC_OK) rc = ds_slurp(v, "labels", H5T_INTEGER, H5T_NATIVE_INT32, 4, 1, lab, (void **)&v->labels, err);
    if (rc == SC_OK) rc = read_class_names(v, err);
    if (rc != SC_OK || !v->weights) return rc;

    static const char *const need[] = {"attention", "grid"};
    for (int i = 0; i < 2; i++) {
        char full[32];
        snprintf(full, sizeof full, "glimpses/%s", need[i]);
        if (H5Lexists(v->file, full, H5P_DEFAULT) <= 0)
            return sc_errf(err, SC_EFORMAT, "%s: an attention run (model_kind \"%s\") without /%s: the "
                           "viewer needs /glimpses/attention and /glimpses/grid (docs/viewer.md)", v->path,
                           v->kind, full);
    }
    hid_t d;
    hsize_t rows, want[2] = {0, 2};
    rc = ds_open(v, "grid", H5T_FLOAT, 2, want, 0, &d, &rows, err);
    if (rc != SC_OK) return rc;
    if (rows < 1 || rows > MAX_L) {
        H5Dclose(d);
        return sc_errf(err, SC_EFORMAT, "%s: /glimpses/grid has %llu locations, expected 1..%d", v->path,
                       (unsigned long long)rows, MAX_L);
    }
    v->L = (int)rows;
    v->grid = malloc(sizeof(float) * 2 * rows);
    if (!v->grid) rc = sc_errf(err, SC_ENOMEM, "%s: out of memory", v->path);
    else rc = ds_read(v, d, "grid", H5T_NATIVE_FLOAT, 2, want, 0, rows, v->grid, err);
    H5Dclose(d);
    return rc;
}

/* The record datasets: name, type, and the shape after the record axis. */
typedef struct rec_ds {
    const char *name;
    H5T_class_t cls;
    int rank;
    hsize_t dims[4];
} rec_ds;

static int record_datasets(const sc_vlog *v, rec_ds *out) {
    hsize_t G = (hsize_t)v->G, T = (hsize_t)v->T;
    int n = 0;
    out[n++] = (rec_ds){"epoch", H5T_INTEGER, 1, {0}};
    out[n++] = (rec_ds){"step", H5T_INTEGER, 1, {0}};
    out[n++] = (rec_ds){"pred", H5T_INTEGER, 2, {0, G}};
    out[n++] = (rec_ds){"reward", H5T_FLOAT, 2, {0, G}};
    out[n++] = (rec_ds){"probs", H5T_FLOAT, 4, {0, G, T, (hsize_t)v->C}};
    if (v->weights) out[n++] = (rec_ds){"attention", H5T_FLOAT, 4, {0, G, T, (hsize_t)v->L}};
    else out[n++] = (rec_ds){"locations", H5T_FLOAT, 4, {0, G, T, 2}};
    return n;
}

int sc_vlog_refresh(sc_vlog *v, int *changed, sc_err *err) {
    if (changed) *changed = 0;
    sc_h5_quiet q;
    sc_h5_quiet_begin(&q);
    rec_ds rd[6];
    int nd = record_datasets(v, rd), rc = SC_OK;
    hid_t d[6];
    for (int i = 0; i < nd; i++) d[i] = -1;
    hsize_t R = (hsize_t)MAX_R;
    for (int i = 0; i < nd && rc == SC_OK; i++) {
        hsize_t rows;
        rc = ds_open(v, rd[i].name, rd[i].cls, rd[i].rank, rd[i].dims, 0, &d[i], &rows, err);
        if (rc == SC_OK && rows < R) R = rows;
    }
    int32_t *epoch = NULL, *pred = NULL;
    int64_t *step = NULL;
    float *reward = NULL;
    if (rc == SC_OK) {
        size_t n = R ? (size_t)R : 1, G = (size_t)v->G;
        epoch = malloc(n * sizeof *epoch);
        step = malloc(n * sizeof *step);
        pred = malloc(n * G * sizeof *pred);
        reward = malloc(n * G * sizeof *reward);
        if (!epoch || !step || !pred || !reward) rc = sc_errf(err, SC_ENOMEM, "%s: out of memory", v->path);
    }
    if (rc == SC_OK) rc = ds_read(v, d[0], "epoch", H5T_NATIVE_INT32, 1, rd[0].dims, 0, R, epoch, err);
    if (rc == SC_OK) rc = ds_read(v, d[1], "step", H5T_NATIVE_INT64, 1, rd[1].dims, 0, R, step, err);
    if (rc == SC_OK) rc = ds_read(v, d[2], "pred", H5T_NATIVE_INT32, 2, rd[2].dims, 0, R, pred, err);
    if (rc == SC_OK) rc = ds_read(v, d[3], "reward", H5T_NATIVE_FLOAT, 2, rd[3].dims, 0, R, reward, err);
    for (int i = 0; i < nd; i++)
        if (d[i] >= 0) H5Dclose(d[i]);
    H5Eclear2(H5E_DEFAULT);
    sc_h5_quiet_end(&q);
    if (rc != SC_OK) {
        free(epoch); free(step); free(pred); free(reward);
        return rc;
    }
    free(v->epoch); free(v->step); free(v->pred); free(v->reward);
    v->epoch = epoch;
    v->step = step;
    v->pred = pred;
    v->reward = reward;
    if ((int)R != v->R) {
        if (changed) *changed = 1;
        v->rec = -1;  /* a resume may have cut and rewritten records: reload */
    }
    v->R = (int)R;
    return SC_OK;
}

int sc_vlog_load(sc_vlog *v, int rec, sc_err *err) {
    if (rec < 0 || rec >= v->R)
        return sc_errf(err, SC_EARG, "%s: glimpse record %d does not exist (the log has %d)", v->path, rec, v->R);
    if (rec == v->rec) return SC_OK;
    size_t GT = (size_t)v->G * v->T;
    const char *big = v->weights ? "attention" : "locations";
    int width = v->weights ? v->L : 2;
    float **bigbuf = v->weights ? &v->att : &v->loc;
    if (!v->probs) v->probs = malloc(GT * v->C * sizeof(float));
    if (!*bigbuf) *bigbuf = malloc(GT * width * sizeof(float));
    if (!v->probs || !*bigbuf) return sc_errf(err, SC_ENOMEM, "%s: out of memory", v->path);
    sc_h5_quiet q;
    sc_h5_quiet_begin(&q);
    hsize_t pd[4] = {0, (hsize_t)v->G, (hsize_t)v->T, (hsize_t)v->C};
    hsize_t bd[4] = {0, (hsize_t)v->G, (hsize_t)v->T, (hsize_t)width};
    hid_t d = -1;
    hsize_t rows = 0;
    int rc = ds_open(v, "probs", H5T_FLOAT, 4, pd, 0, &d, &rows, err);
    if (rc == SC_OK) rc = ds_read(v, d, "probs", H5T_NATIVE_FLOAT, 4, pd, (hsize_t)rec, 1, v->probs, err);
    if (d >= 0) H5Dclose(d);
    d = -1;
    if (rc == SC_OK) rc = ds_open(v, big, H5T_FLOAT, 4, bd, 0, &d, &rows, err);
    if (rc == SC_OK) rc = ds_read(v, d, big, H5T_NATIVE_FLOAT, 4, bd, (hsize_t)rec, 1, *bigbuf, err);
    if (d >= 0) H5Dclose(d);
    H5Eclear2(H5E_DEFAULT);
    sc_h5_quiet_end(&q);
    v->rec = rc == SC_OK ? rec : -1;
    return rc;
}

int sc_vlog_find_epoch(const sc_vlog *v, int epoch) {
    for (int r = v->R - 1; r >= 0; r--)
        if (v->epoch[r] == epoch) return r;
    return -1;
}

int sc_vlog_open(sc_vlog **out, const char *path, sc_err *err) {
    *out = NULL;
    int rc = sc_h5_check_signature(path, "expected a saccade run log (.h5)", err);
    if (rc != SC_OK) return rc;
    sc_vlog *v = calloc(1, sizeof *v);
    if (!v) return sc_errf(err, SC_ENOMEM, "%s: out of memory", path);
    v->file = -1;
    v->rec = -1;
    snprintf(v->path, sizeof v->path, "%s", path);

    sc_h5_quiet q;
    sc_h5_quiet_begin(&q);
    hid_t fapl = sc_h5_fapl(1); /* no flock: never block the trainer */
    if (fapl < 0) {
        rc = sc_h5_errf(err, SC_EHDF5, "%s: cannot set up HDF5 file access", path);
    } else {
        /* SWMR read sees a writer's appends; a file in an older format (not
         * SWMR-capable) is read as it is. */
        v->file = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
        v->swmr = v->file >= 0;
        if (v->file < 0) {
            H5Eclear2(H5E_DEFAULT);
            v->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
        }
        if (v->file < 0)
            rc = sc_h5_errf(err, SC_EFORMAT, "%s: truncated or corrupt HDF5 file, cannot be read as a run log", path);
        H5Pclose(fapl);
    }
    if (rc == SC_OK) rc = check_root(v, err);
    if (rc == SC_OK) rc = read_glimpse_set(v, err);
    H5Eclear2(H5E_DEFAULT);
    sc_h5_quiet_end(&q);
    if (rc == SC_OK) rc = sc_vlog_refresh(v, NULL, err);
    if (rc != SC_OK) {
        sc_vlog_free(v);
        return rc;
    }
    *out = v;
    return SC_OK;
}

void sc_vlog_free(sc_vlog *v) {
    if (!v) return;
    if (v->file >= 0) {
        sc_h5_quiet q;
        sc_h5_quiet_begin(&q);
        H5Fclose(v->file);
        H5Eclear2(H5E_DEFAULT);
        sc_h5_quiet_end(&q);
    }
    free(v->images); free(v->labels); free(v->grid); free(v->class_names);
    free(v->epoch); free(v->step); free(v->pred); free(v->reward);
    free(v->loc); free(v->probs); free(v->att);
    free(v);
}
