/* modelfile.c - saving and loading trained parameters (`saccade train --save`,
 * `saccade eval`).
 *
 * Layout (little-endian as written by this machine; the magic catches a
 * byte-order mismatch):
 *   "SACCADEM"  8 bytes magic
 *   u32 version (1)
 *   u32 config text length L, then L bytes: the resolved INI configuration
 *   u32 tensor count K, then K times: u32 name length, name, i32 rows, i32 cols
 *   u64 float count N, then N floats (each tensor's rows*cols values, in order)
 *   u32 checksum: FNV-1a over everything before it
 * Written to path.tmp, fsync'ed, renamed over path: a crash never leaves a
 * half-written model at path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train.h"

#define MODEL_MAGIC "SACCADEM"
#define MODEL_VERSION 1u

typedef struct wbuf {
    FILE *f;
    uint32_t h;
    int bad;
} wbuf;

static void fnv(uint32_t *h, const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) { *h ^= c[i]; *h *= 16777619u; }
}

static void put(wbuf *w, const void *p, size_t n) {
    if (w->bad) return;
    if (fwrite(p, 1, n, w->f) != n) w->bad = errno ? errno : EIO;
    fnv(&w->h, p, n);
}

int sc_model_save(const char *path, const sc_config *c, const sc_params *ps, sc_err *err) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return sc_errf(err, SC_EARG, "%s: path too long", path);
    char *text = sc_config_to_string(c);
    if (!text) return sc_errf(err, SC_ENOMEM, "%s: out of memory serialising the config", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int e = errno;
        free(text);
        return sc_errf(err, SC_EIO, "%s: cannot create: %s", tmp, strerror(e));
    }
    wbuf w = {f, 2166136261u, 0};
    uint32_t u = MODEL_VERSION;
    put(&w, MODEL_MAGIC, 8);
    put(&w, &u, 4);
    u = (uint32_t)strlen(text);
    put(&w, &u, 4);
    put(&w, text, u);
    free(text);
    u = (uint32_t)ps->count;
    put(&w, &u, 4);
    uint64_t nfloat = 0;
    for (int i = 0; i < ps->count; i++) {
        u = (uint32_t)strlen(ps->p[i].name);
        put(&w, &u, 4);
        put(&w, ps->p[i].name, u);
        put(&w, &ps->p[i].rows, 4);
        put(&w, &ps->p[i].cols, 4);
        nfloat += sc_params_size(ps, i);
    }
    put(&w, &nfloat, 8);
    for (int i = 0; i < ps->count; i++)
        put(&w, sc_params_data(ps, i), sizeof(float) * sc_params_size(ps, i));
    uint32_t h = w.h;
    put(&w, &h, 4);
    if (!w.bad && fflush(f) != 0) w.bad = errno;
    if (!w.bad && fsync(fileno(f)) != 0) w.bad = errno;
    if (fclose(f) != 0 && !w.bad) w.bad = errno;
    if (w.bad) {
        unlink(tmp);
        return sc_errf(err, SC_EIO, "%s: write failed: %s (previous model file left as it was)", tmp, strerror(w.bad));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return sc_errf(err, SC_EIO, "%s: cannot rename to %s: %s", tmp, path, strerror(e));
    }
    return SC_OK;
}

typedef struct rbuf {
    const unsigned char *p;
    size_t n, pos;
} rbuf;

static int get(rbuf *r, void *out, size_t n) {
    if (r->n - r->pos < n) return -1;
    memcpy(out, r->p + r->pos, n);
    r->pos += n;
    return 0;
}

int sc_model_load(const char *path, sc_config *c, sc_params *ps, sc_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return sc_errf(err, SC_EIO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(f); return sc_errf(err, SC_ENOMEM, "%s: out of memory", path); }
            buf = nb;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    int rerr = ferror(f);
    fclose(f);
    int rc = SC_OK;
    char *text = NULL;
    if (rerr) { rc = sc_errf(err, SC_EIO, "%s: read error", path); goto out; }
    rbuf r = {buf, n, 0};
    char magic[8];
    uint32_t ver, len, count;
    if (get(&r, magic, 8) || memcmp(magic, MODEL_MAGIC, 8) != 0) {
        rc = sc_errf(err, SC_EFORMAT, "%s: not a saccade model file (expected magic \"%s\")", path, MODEL_MAGIC);
        goto out;
    }
    if (n < 12) { rc = sc_errf(err, SC_EFORMAT, "%s: truncated header", path); goto out; }
    uint32_t h = 2166136261u, stored;
    fnv(&h, buf, n - 4);
    memcpy(&stored, buf + n - 4, 4);
    if (get(&r, &ver, 4) || ver != MODEL_VERSION) {
        rc = sc_errf(err, SC_EFORMAT, "%s: model file version %u, this saccade reads version %u", path, ver, MODEL_VERSION);
        goto out;
    }
    if (h != stored) {
        rc = sc_errf(err, SC_EFORMAT, "%s: checksum mismatch (file truncated or corrupt)", path);
        goto out;
    }
    if (get(&r, &len, 4) || len > n) { rc = sc_errf(err, SC_EFORMAT, "%s: bad config length", path); goto out; }
    text = malloc((size_t)len + 1);
    if (!text) { rc = sc_errf(err, SC_ENOMEM, "%s: out of memory", path); goto out; }
    if (get(&r, text, len)) { rc = sc_errf(err, SC_EFORMAT, "%s: truncated config text", path); goto out; }
    text[len] = 0;
    sc_config tmp;
    sc_config_defaults(&tmp);
    if ((rc = sc_config_load_string(&tmp, text, path, err)) != SC_OK) goto out;
    if (get(&r, &count, 4)) { rc = sc_errf(err, SC_EFORMAT, "%s: truncated tensor table", path); goto out; }
    if (ps && (int)count != ps->count) {
        rc = sc_errf(err, SC_EFORMAT, "%s: holds %u tensors, the model built from its config has %d", path, count, ps->count);
        goto out;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint32_t nl;
        char name[SC_PARAM_NAME_MAX + 1];
        int32_t rows, cols;
        if (get(&r, &nl, 4) || nl > SC_PARAM_NAME_MAX || get(&r, name, nl) || get(&r, &rows, 4) || get(&r, &cols, 4)) {
            rc = sc_errf(err, SC_EFORMAT, "%s: bad tensor table entry %u", path, i);
            goto out;
        }
        name[nl] = 0;
        if (ps && (strcmp(name, ps->p[i].name) != 0 || rows != ps->p[i].rows || cols != ps->p[i].cols)) {
            rc = sc_errf(err, SC_EFORMAT, "%s: tensor %u is %s (%d x %d), the model expects %s (%d x %d)", path, i,
                         name, rows, cols, ps->p[i].name, ps->p[i].rows, ps->p[i].cols);
            goto out;
        }
    }
    uint64_t nfloat;
    if (get(&r, &nfloat, 8) || nfloat > (n - r.pos) / sizeof(float)) {
        rc = sc_errf(err, SC_EFORMAT, "%s: truncated parameters", path);
        goto out;
    }
    if (ps) {
        if (nfloat != sc_params_count(ps)) {
            rc = sc_errf(err, SC_EFORMAT, "%s: holds %llu parameters, the model expects %zu", path,
                         (unsigned long long)nfloat, sc_params_count(ps));
            goto out;
        }
        for (int i = 0; i < ps->count; i++)
            get(&r, sc_params_data(ps, i), sizeof(float) * sc_params_size(ps, i));
    }
    *c = tmp;
out:
    free(text);
    free(buf);
    return rc;
}
