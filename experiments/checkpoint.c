/* checkpoint.c - writing and reading checkpoints (see checkpoint.h; the layout
 * is documented in docs/runlog.md, "The checkpoint file").
 *
 * Save: HDF5 builds the file in memory; its bytes go to PATH.tmp, which is
 * fsync'ed and renamed over PATH, then the folder is fsync'ed. A failure at any point removes the
 * temporary and leaves PATH as it was. Load: every attribute and tensor is
 * checked (presence, type, shape) and read into a fresh sc_ckpt, so a bad file
 * changes nothing the caller holds.
 */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "experiments/h5util.h"

#define NACC 10  /* doubles in an sc_train_acc */

static void acc_to(const sc_train_acc *a, double *v) {
    double t[NACC] = {a->xent, a->reinforce, a->baseline_mse, a->reward, a->adv_var,
                      a->mu_abs, a->mu_spread, a->grad_norm, a->images, a->batches};
    memcpy(v, t, sizeof t);
}

static void acc_from(sc_train_acc *a, const double *v) {
    a->xent = v[0]; a->reinforce = v[1]; a->baseline_mse = v[2]; a->reward = v[3];
    a->adv_var = v[4]; a->mu_abs = v[5]; a->mu_spread = v[6]; a->grad_norm = v[7];
    a->images = v[8]; a->batches = v[9];
}

/* ---- save ---------------------------------------------------------------------------- */

/* One tensor set (params, best, m or v) as datasets grp/<name>, (rows, cols) float32 with
 * Fletcher-32, from a buffer in ps layout. */
static int write_set(hid_t file, const char *grp, const sc_params *ps, const float *buf) {
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl < 0) return -1;
    int rc = H5Pset_create_intermediate_group(lcpl, 1) < 0 ? -1 : 0;
    hid_t g = rc == 0 ? H5Gcreate2(file, grp, lcpl, H5P_DEFAULT, H5P_DEFAULT) : -1;
    H5Pclose(lcpl);
    if (g < 0) return -1;
    for (int i = 0; i < ps->count && rc == 0; i++) {
        const sc_param *p = &ps->p[i];
        hsize_t dims[2] = {(hsize_t)p->rows, (hsize_t)p->cols};
        hid_t sp = H5Screate_simple(2, dims, NULL);
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        hid_t d = -1;
        if (sp >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, 2, dims) >= 0 && H5Pset_fletcher32(dcpl) >= 0)
            d = H5Dcreate2(g, p->name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        if (d < 0 || H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf + p->offset) < 0)
            rc = -1;
        if (d >= 0 && H5Dclose(d) < 0) rc = -1;
        if (dcpl >= 0) H5Pclose(dcpl);
        if (sp >= 0) H5Sclose(sp);
    }
    if (H5Gclose(g) < 0) rc = -1;
    return rc;
}

static int write_all(hid_t f, const char *log_name, const sc_config *c, const sc_ckpt_state *st,
                     const sc_params *ps, const float *best, const sc_optim *opt) {
    char *text = sc_config_to_string(c);
    if (!text) return -1;
    /* tensor names in order, one per line: the datasets themselves are unordered */
    size_t cap = (size_t)ps->count * (SC_PARAM_NAME_MAX + 1) + 1, len = 0;
    char *names = malloc(cap);
    if (!names) {
        free(text);
        return -1;
    }
    names[0] = '\0';
    for (int i = 0; i < ps->count; i++)
        len += (size_t)snprintf(names + len, cap - len, "%s%s", i ? "\n" : "", ps->p[i].name);
    uint64_t rng[4];
    memcpy(rng, st->rloc.s, sizeof rng);
    double ea[NACC], ra[NACC];
    acc_to(&st->epoch_acc, ea);
    acc_to(&st->row_acc, ra);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int bad = 0;
    bad |= sc_h5_attr_put_str(f, "format", SC_CKPT_FORMAT);
    bad |= sc_h5_attr_put_i32(f, "schema_version", SC_CKPT_SCHEMA);
    bad |= sc_h5_attr_put_str(f, "run_id", st->run_id);
    bad |= sc_h5_attr_put_str(f, "log", log_name ? log_name : "");
    bad |= sc_h5_attr_put_str(f, "config", text);
    bad |= sc_h5_attr_put_str(f, "optimizer", opt->kind == SC_OPT_ADAM ? "adam" : "sgd");
    bad |= sc_h5_attr_put_str(f, "tensors", names);
    bad |= sc_h5_attr_put_f64(f, "written_unix", (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
    bad |= sc_h5_attr_put_i32(f, "epoch", st->epoch);
    bad |= sc_h5_attr_put_i64(f, "batch_in_epoch", st->batch_in_epoch);
    bad |= sc_h5_attr_put_i64(f, "step", st->step);
    bad |= sc_h5_attr_put_i64(f, "images_total", st->images_total);
    bad |= sc_h5_attr_put_f64(f, "train_seconds", st->train_seconds);
    bad |= sc_h5_attr_put_f64(f, "best_val_err", st->best_val_err);
    bad |= sc_h5_attr_put_i32(f, "best_epoch", st->best_epoch);
    bad |= sc_h5_attr_put_f32(f, "best_std", st->best_std);
    bad |= sc_h5_attr_put_i32(f, "bad_epochs", st->bad_epochs);
    bad |= sc_h5_attr_put_u64s(f, "rng_loc", rng, 4);
    bad |= sc_h5_attr_put_f32(f, "rng_loc_spare", st->rloc.spare);
    bad |= sc_h5_attr_put_i32(f, "rng_loc_has_spare", st->rloc.has_spare);
    bad |= sc_h5_attr_put_f32(f, "lr_cur", st->lr_cur);
    bad |= sc_h5_attr_put_f64(f, "lr_best", st->lr_best);
    bad |= sc_h5_attr_put_i32(f, "lr_bad_epochs", st->lr_bad_epochs);
    bad |= sc_h5_attr_put_i64(f, "optim_t", opt->t);
    bad |= sc_h5_attr_put_f64s(f, "epoch_acc", ea, NACC);
    bad |= sc_h5_attr_put_f64s(f, "row_acc", ra, NACC);
    double eatt[2] = {st->epoch_acc.att_entropy, st->epoch_acc.att_max};
    double ratt[2] = {st->row_acc.att_entropy, st->row_acc.att_max};
    bad |= sc_h5_attr_put_f64s(f, "epoch_att", eatt, 2);
    bad |= sc_h5_attr_put_f64s(f, "row_att", ratt, 2);
    double rfv[2] = {st->epoch_acc.rf_grad_var, st->row_acc.rf_grad_var};
    bad |= sc_h5_attr_put_f64s(f, "rf_grad_var", rfv, 2);
    bad |= sc_h5_attr_put_i64(f, "log_rows_train", st->log_rows_train);
    bad |= sc_h5_attr_put_i64(f, "log_rows_eval", st->log_rows_eval);
    bad |= sc_h5_attr_put_i64(f, "log_rows_glimpses", st->log_rows_glimpses);
    bad |= sc_h5_attr_put_f64(f, "baseline_ema", st->baseline_ema);
    free(text);
    free(names);
    if (bad) return -1;
    if (write_set(f, "params", ps, ps->data) < 0) return -1;
    if (write_set(f, "best_params", ps, best) < 0) return -1;
    if (write_set(f, "optim/m", ps, opt->m) < 0) return -1;
    if (opt->v && write_set(f, "optim/v", ps, opt->v) < 0) return -1;
    if (opt->ema && write_set(f, "optim/ema", ps, opt->ema) < 0) return -1;
    return 0;
}

/* Writes n bytes to path (created or truncated) and fsyncs it; 0 or an errno value. */
static int write_bytes(const char *path, const void *buf, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) return errno;
    const char *p = buf;
    int e = 0;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            e = k < 0 ? errno : EIO;
            break;
        }
        p += k;
        n -= (size_t)k;
    }
    if (!e && fsync(fd) != 0) e = errno;
    if (close(fd) != 0 && !e) e = errno;
    return e;
}

int sc_ckpt_save(const char *path, const char *log_name, const sc_config *c,
                 const sc_ckpt_state *st, const sc_params *ps, const float *best,
                 const sc_optim *opt, sc_err *err) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return sc_errf(err, SC_EARG, "%s: path too long", path);
    if (opt->n != ps->n)
        return sc_errf(err, SC_EARG, "%s: optimizer holds %zu moments, the parameters %zu", path, opt->n, ps->n);
    /* HDF5 builds the file in memory (its core driver, no backing store); the
     * bytes are then written, fsync'ed and renamed here, so every disk error
     * comes back with its errno, and HDF5 never has a file whose close failed.
     * The default (earliest possible) file format: HDF5 1.10 writes a stale
     * superblock checksum into the image of a 1.10-format file. */
    sc_h5_quiet q;
    sc_h5_quiet_begin(&q);
    int rc = SC_OK;
    void *image = NULL;
    char why[300] = "";
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 20, 0) < 0) {
        H5Pclose(fapl);
        fapl = -1;
    }
    hid_t f = fapl >= 0 ? H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : -1;
    if (fapl >= 0) H5Pclose(fapl);
    ssize_t size = -1;
    if (f < 0 || write_all(f, log_name, c, st, ps, best, opt) < 0 || H5Fflush(f, H5F_SCOPE_GLOBAL) < 0 ||
        (size = H5Fget_file_image(f, NULL, 0)) <= 0 || !(image = malloc((size_t)size)) ||
        H5Fget_file_image(f, image, (size_t)size) != size) {
        sc_h5_reason(why, sizeof why);
        rc = sc_errf(err, size > 0 && !image ? SC_ENOMEM : SC_EHDF5, "%s: cannot build the checkpoint: %s", path,
                     why[0] ? why : "out of memory");
    }
    if (f >= 0 && H5Fclose(f) < 0 && rc == SC_OK) {
        sc_h5_reason(why, sizeof why);
        rc = sc_errf(err, SC_EHDF5, "%s: cannot build the checkpoint: %s", path, why);
    }
    sc_h5_forget();
    sc_h5_quiet_end(&q);
    if (rc != SC_OK) {
        free(image);
        return rc;
    }
    int e = write_bytes(tmp, image, (size_t)size);
    free(image);
    if (e) {
        unlink(tmp);
        return sc_errf(err, SC_EIO, "%s: writing the checkpoint failed: %s (the previous checkpoint %s is intact)", tmp,
                       strerror(e), path);
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        return sc_errf(err, SC_EIO, "%s: cannot rename to %s: %s (the previous checkpoint is intact)", tmp, path,
                       strerror(e));
    }
    if ((e = sc_fsync_dir_of(path)) != 0)
        return sc_errf(err, SC_EIO, "%s: cannot sync its folder: %s", path, strerror(e));
    return SC_OK;
}

/* ---- load ------------------------------------------------------------------------------ */

void sc_ckpt_free(sc_ckpt *ck) {
    if (!ck) return;
    free(ck->params);
    free(ck->best);
    free(ck->m);
    free(ck->v);
    free(ck->ema);
    ck->params = ck->best = ck->m = ck->v = ck->ema = NULL;
}

/* Reads tensor set grp (every name of ck's table) into a new buffer. */
static int read_set(hid_t f, const char *grp, sc_ckpt *ck, float **out, const char *path, sc_err *err) {
    float *buf = malloc(sizeof(float) * (ck->n ? ck->n : 1));
    if (!buf) return sc_errf(err, SC_ENOMEM, "%s: out of memory reading /%s", path, grp);
    size_t off = 0;
    for (int i = 0; i < ck->count; i++) {
        char name[SC_PARAM_NAME_MAX + 64];
        snprintf(name, sizeof name, "%s/%s", grp, ck->names[i]);
        htri_t ex = H5Lexists(f, grp, H5P_DEFAULT);
        if (ex > 0) ex = H5Lexists(f, name, H5P_DEFAULT);
        if (ex <= 0) {
            free(buf);
            sc_h5_forget();
            return sc_errf(err, SC_EFORMAT, "%s: missing tensor /%s", path, name);
        }
        hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
        hid_t s = d >= 0 ? H5Dget_space(d) : -1;
        hsize_t dims[2] = {0, 0};
        int ok = s >= 0 && H5Sget_simple_extent_ndims(s) == 2 && H5Sget_simple_extent_dims(s, dims, NULL) == 2 &&
                 dims[0] == (hsize_t)ck->rows[i] && dims[1] == (hsize_t)ck->cols[i];
        if (s >= 0) H5Sclose(s);
        if (!ok) {
            if (d >= 0) H5Dclose(d);
            free(buf);
            sc_h5_forget();
            return sc_errf(err, SC_EFORMAT, "%s: tensor /%s is %llu x %llu, /params/%s is %d x %d", path, name,
                           (unsigned long long)dims[0], (unsigned long long)dims[1], ck->names[i], ck->rows[i],
                           ck->cols[i]);
        }
        unsigned long long declared, stored;
        if (sc_h5_dataset_fits(d, &declared, &stored) != 1) {
            H5Dclose(d);
            free(buf);
            sc_h5_forget();
            return sc_errf(err, SC_EFORMAT, "%s: tensor /%s declares %llu x %llu floats (%llu bytes) but the file "
                           "holds %llu bytes of it", path, name, (unsigned long long)dims[0],
                           (unsigned long long)dims[1], declared, stored);
        }
        herr_t r = H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf + off);
        H5Dclose(d);
        if (r < 0) {
            free(buf);
            return sc_h5_errf(err, SC_EFORMAT, "%s: cannot read tensor /%s", path, name);
        }
        off += (size_t)ck->rows[i] * (size_t)ck->cols[i];
    }
    *out = buf;
    return SC_OK;
}

/* The tensor table: names from the "tensors" attribute, shapes from /params. */
static int read_table(hid_t f, sc_ckpt *ck, const char *path, sc_err *err) {
    char *names = NULL;
    if (sc_h5_attr_get_str(f, "tensors", &names) < 0) {
        sc_h5_forget();
        return sc_errf(err, SC_EFORMAT, "%s: missing or malformed attribute 'tensors'", path);
    }
    int rc = SC_OK;
    ck->count = 0;
    ck->n = 0;
    for (char *p = names; *p && rc == SC_OK;) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (ck->count >= SC_PARAMS_MAX || len == 0 || len >= SC_PARAM_NAME_MAX || memchr(p, '/', len)) {
            rc = sc_errf(err, SC_EFORMAT, "%s: malformed tensor list (entry %d)", path, ck->count);
            break;
        }
        memcpy(ck->names[ck->count], p, len);
        ck->names[ck->count][len] = '\0';
        char dname[SC_PARAM_NAME_MAX + 16];
        snprintf(dname, sizeof dname, "params/%s", ck->names[ck->count]);
        htri_t ex = H5Lexists(f, "params", H5P_DEFAULT);
        if (ex > 0) ex = H5Lexists(f, dname, H5P_DEFAULT);
        hid_t d = ex > 0 ? H5Dopen2(f, dname, H5P_DEFAULT) : -1;
        hid_t s = d >= 0 ? H5Dget_space(d) : -1;
        hsize_t dims[2];
        int ok = s >= 0 && H5Sget_simple_extent_ndims(s) == 2 && H5Sget_simple_extent_dims(s, dims, NULL) == 2 &&
                 dims[0] >= 1 && dims[1] >= 1 && dims[0] < (1u << 30) && dims[1] < (1u << 30);
        unsigned long long declared = 0, stored = 0;
        int fits = ok ? sc_h5_dataset_fits(d, &declared, &stored) : 1;
        if (s >= 0) H5Sclose(s);
        if (d >= 0) H5Dclose(d);
        sc_h5_forget();
        if (!ok || fits < 0) {
            rc = sc_errf(err, SC_EFORMAT, "%s: missing or misshapen tensor /%s", path, dname);
            break;
        }
        if (!fits) {
            rc = sc_errf(err, SC_EFORMAT, "%s: tensor /%s declares %llu x %llu floats (%llu bytes) but the file holds "
                         "%llu bytes of it", path, dname, (unsigned long long)dims[0], (unsigned long long)dims[1],
                         declared, stored);
            break;
        }
        ck->rows[ck->count] = (int)dims[0];
        ck->cols[ck->count] = (int)dims[1];
        ck->n += (size_t)dims[0] * dims[1];
        ck->count++;
        p = nl ? nl + 1 : p + len;
    }
    free(names);
    return rc;
}

int sc_ckpt_load(const char *path, int what, sc_ckpt *ck, sc_err *err) {
    memset(ck, 0, sizeof *ck);
    int rc = sc_h5_check_signature(path, "expected a saccade checkpoint (RUN.ckpt.h5)", err);
    if (rc != SC_OK) return rc;
    sc_h5_quiet q;
    sc_h5_quiet_begin(&q);
    hid_t fapl = sc_h5_fapl(0);
    hid_t f = fapl >= 0 ? H5Fopen(path, H5F_ACC_RDONLY, fapl) : -1;
    if (fapl >= 0) H5Pclose(fapl);
    char *s = NULL;
    if (f < 0) {
        char why[300];
        sc_h5_reason(why, sizeof why);
        rc = sc_errf(err, SC_EFORMAT, "%s: truncated or corrupt HDF5 file (%s)", path, why);
        goto out;
    }
    if (sc_h5_attr_get_str(f, "format", &s) < 0 || strcmp(s, SC_CKPT_FORMAT) != 0) {
        char quoted[96];
        rc = sc_errf(err, SC_EFORMAT, "%s: an HDF5 file but not a saccade checkpoint (its 'format' attribute is %s)",
                     path, sc_h5_quote(s, quoted, sizeof quoted));
        goto out;
    }
    free(s);
    s = NULL;
    int64_t ver = 0;
    if (sc_h5_attr_get_i64(f, "schema_version", &ver) < 0 || ver != SC_CKPT_SCHEMA) {
        rc = sc_errf(err, SC_EFORMAT, "%s: checkpoint schema version %lld, this saccade reads version %d", path,
                     (long long)ver, SC_CKPT_SCHEMA);
        goto out;
    }
    /* the configuration */
    if (sc_h5_attr_get_str(f, "config", &s) < 0) {
        rc = sc_errf(err, SC_EFORMAT, "%s: missing attribute 'config'", path);
        goto out;
    }
    sc_config_defaults(&ck->config);
    if ((rc = sc_config_load_string(&ck->config, s, path, err)) != SC_OK) goto out;
    if ((rc = sc_config_validate(&ck->config, err)) != SC_OK) {
        /* its messages name the keys; name the file they came from too */
        char why[SC_ERR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        rc = sc_errf(err, rc, "%s: its configuration (/@config): %s", path, why);
        goto out;
    }
    free(s);
    s = NULL;

    /* the state */
    sc_ckpt_state *st = &ck->st;
    const char *missing = NULL;
    int64_t i64;
    double f64, ea[NACC], ra[NACC];
    uint64_t rng[4];
#define GET_STR(name, dst)                                                                  \
    if (!missing) {                                                                         \
        if (sc_h5_attr_get_str(f, name, &s) < 0 || strlen(s) >= sizeof(dst)) missing = name; \
        else snprintf(dst, sizeof(dst), "%s", s);                                           \
        free(s);                                                                            \
        s = NULL;                                                                           \
    }
#define GET_I64(name, dst) \
    if (!missing) { if (sc_h5_attr_get_i64(f, name, &i64) < 0) missing = name; else dst = i64; }
#define GET_F64(name, dst) \
    if (!missing) { if (sc_h5_attr_get_f64(f, name, &f64) < 0) missing = name; else dst = f64; }
    GET_STR("run_id", st->run_id);
    GET_STR("log", ck->log_name);
    GET_STR("optimizer", ck->optimizer);
    GET_F64("written_unix", st->written_unix);
    GET_I64("epoch", st->epoch);
    GET_I64("batch_in_epoch", st->batch_in_epoch);
    GET_I64("step", st->step);
    GET_I64("images_total", st->images_total);
    GET_F64("train_seconds", st->train_seconds);
    GET_F64("best_val_err", st->best_val_err);
    GET_I64("best_epoch", st->best_epoch);
    GET_F64("best_std", st->best_std);
    GET_I64("bad_epochs", st->bad_epochs);
    GET_F64("rng_loc_spare", st->rloc.spare);
    GET_I64("rng_loc_has_spare", st->rloc.has_spare);
    GET_F64("lr_cur", st->lr_cur);
    GET_F64("lr_best", st->lr_best);
    GET_I64("lr_bad_epochs", st->lr_bad_epochs);
    GET_I64("optim_t", st->optim_t);
    GET_I64("log_rows_train", st->log_rows_train);
    GET_I64("log_rows_eval", st->log_rows_eval);
    GET_I64("log_rows_glimpses", st->log_rows_glimpses);
    if (!missing && sc_h5_attr_get_u64s(f, "rng_loc", rng, 4) < 0) missing = "rng_loc";
    if (!missing && sc_h5_attr_get_f64s(f, "epoch_acc", ea, NACC) < 0) missing = "epoch_acc";
    if (!missing && sc_h5_attr_get_f64s(f, "row_acc", ra, NACC) < 0) missing = "row_acc";
#undef GET_STR
#undef GET_I64
#undef GET_F64
    /* the attention sums were added after schema 1's first checkpoints: absent = zero */
    double eatt[2] = {0.0, 0.0}, ratt[2] = {0.0, 0.0};
    if (!missing && sc_h5_attr_exists(f, "epoch_att") > 0 && sc_h5_attr_get_f64s(f, "epoch_att", eatt, 2) < 0)
        missing = "epoch_att";
    if (!missing && sc_h5_attr_exists(f, "row_att") > 0 && sc_h5_attr_get_f64s(f, "row_att", ratt, 2) < 0)
        missing = "row_att";
    /* and the REINFORCE gradient variance's sums (epoch, row): absent = zero */
    double rfv[2] = {0.0, 0.0};
    if (!missing && sc_h5_attr_exists(f, "rf_grad_var") > 0 && sc_h5_attr_get_f64s(f, "rf_grad_var", rfv, 2) < 0)
        missing = "rf_grad_var";
    /* so was the ema baseline: absent = none yet */
    st->baseline_ema = NAN;
    if (!missing && sc_h5_attr_exists(f, "baseline_ema") > 0 &&
        sc_h5_attr_get_f64(f, "baseline_ema", &st->baseline_ema) < 0)
        missing = "baseline_ema";
    sc_h5_forget();
    if (missing) {
        rc = sc_errf(err, SC_EFORMAT, "%s: missing or malformed attribute '%s'", path, missing);
        goto out;
    }
    memcpy(st->rloc.s, rng, sizeof rng);
    acc_from(&st->epoch_acc, ea);
    acc_from(&st->row_acc, ra);
    st->epoch_acc.att_entropy = eatt[0];
    st->epoch_acc.att_max = eatt[1];
    st->row_acc.att_entropy = ratt[0];
    st->row_acc.att_max = ratt[1];
    st->epoch_acc.rf_grad_var = rfv[0];
    st->row_acc.rf_grad_var = rfv[1];
    if (st->epoch < 0 || st->step < 0 || st->batch_in_epoch < 0 || st->optim_t < 0 || st->log_rows_train < 0 ||
        st->log_rows_eval < 0 || st->log_rows_glimpses < 0 ||
        (strcmp(ck->optimizer, "adam") != 0 && strcmp(ck->optimizer, "sgd") != 0)) {
        rc = sc_errf(err, SC_EFORMAT, "%s: inconsistent state (negative counts or unknown optimizer)", path);
        goto out;
    }
    if ((rc = read_table(f, ck, path, err)) != SC_OK) goto out;
    if (what >= SC_CKPT_BEST && (rc = read_set(f, "best_params", ck, &ck->best, path, err)) != SC_OK) goto out;
    if (what >= SC_CKPT_ALL) {
        if ((rc = read_set(f, "params", ck, &ck->params, path, err)) != SC_OK) goto out;
        if ((rc = read_set(f, "optim/m", ck, &ck->m, path, err)) != SC_OK) goto out;
        if (!strcmp(ck->optimizer, "adam") && (rc = read_set(f, "optim/v", ck, &ck->v, path, err)) != SC_OK)
            goto out;
        /* the parameter average exists when the run had [train] ema > 0 */
        if (H5Lexists(f, "optim/ema", H5P_DEFAULT) > 0 &&
            (rc = read_set(f, "optim/ema", ck, &ck->ema, path, err)) != SC_OK)
            goto out;
        sc_h5_forget();
    }
out:
    free(s);
    if (f >= 0 && H5Fclose(f) < 0 && rc == SC_OK)
        rc = sc_h5_errf(err, SC_EFORMAT, "%s: cannot close", path);
    sc_h5_forget();
    sc_h5_quiet_end(&q);
    return rc;
}

int sc_ckpt_check_params(const sc_ckpt *ck, const sc_params *ps, const char *path, sc_err *err) {
    int n = ck->count < ps->count ? ck->count : ps->count;
    for (int i = 0; i < n; i++)
        if (strcmp(ck->names[i], ps->p[i].name) != 0 || ck->rows[i] != ps->p[i].rows || ck->cols[i] != ps->p[i].cols)
            return sc_errf(err, SC_EFORMAT, "%s: tensor %d is %s (%d x %d), the model expects %s (%d x %d)", path, i,
                           ck->names[i], ck->rows[i], ck->cols[i], ps->p[i].name, ps->p[i].rows, ps->p[i].cols);
    if (ck->count != ps->count)
        return sc_errf(err, SC_EFORMAT, "%s: holds %d tensors, the model built from its config has %d", path,
                       ck->count, ps->count);
    return SC_OK;
}

void sc_ckpt_unpack(const sc_ckpt *ck, const float *src, const sc_params *ps, float *dst) {
    size_t off = 0;
    for (int i = 0; i < ck->count; i++) {
        size_t k = (size_t)ck->rows[i] * (size_t)ck->cols[i];
        memcpy(dst + ps->p[i].offset, src + off, sizeof(float) * k);
        off += k;
    }
}
