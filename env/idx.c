/* idx.c - reading and writing IDX files (the MNIST format), raw or gzipped.
 *
 * Reading goes through zlib's gz* layer, which passes raw files through
 * unchanged, so one code path serves both; whether the file was gzipped is
 * only used to make messages precise. Every header field is checked before
 * anything is allocated, the data are read in chunks into a buffer that grows
 * only as bytes actually arrive (a header promising gigabytes costs at most
 * 16 MiB until they turn up), and the file must end exactly where the header
 * says.
 *
 * Writing goes to path.tmp, which is fsync'ed and then renamed over path, so a
 * failed write never leaves a partial file at path.
 *
 * Not here: other IDX element types (int, float); the datasets use bytes only.
 */
#include "idx.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_TYPE_U8 0x08
#define IDX_FIRST_ALLOC ((size_t)1 << 16)  /* initial data buffer, grown by doubling as bytes arrive:
                                           * a header that promises more than the file holds costs
                                           * little (real files: ten doublings to 47 MB) */
#define IDX_CHUNK ((unsigned)1 << 24)      /* bytes per gzread/gzwrite call */

/* "60000x28x28" into buf. */
static void dims_str(char *buf, size_t len, int ndim, const int *dims) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < ndim && used < len; i++) {
        int n = snprintf(buf + used, len - used, i ? "x%d" : "%d", dims[i]);
        if (n < 0) break;
        used += (size_t)n;
    }
}

/* Reports the state of gz after a short or failed read: a zlib/stream error if
 * there is one (SC_EIO for file-system errors, SC_EFORMAT for a corrupt
 * stream), else SC_OK (a clean end of file). */
static int gz_check(gzFile gz, const char *path, int gzipped, const char *what, sc_err *err) {
    int zcode = Z_OK;
    const char *zmsg = gzerror(gz, &zcode);
    if (zcode == Z_OK || zcode == Z_STREAM_END) return SC_OK;
    if (zcode == Z_ERRNO)
        return sc_errf(err, SC_EIO, "%s: read error while reading %s (expected readable data, found: %s)",
                       path, what, strerror(errno));
    /* zlib prefixes its message with the path; drop that, ours has it. */
    if (!zmsg || !zmsg[0]) zmsg = "unknown zlib error";
    size_t plen = strlen(path);
    if (!strncmp(zmsg, path, plen) && zmsg[plen] == ':' && zmsg[plen + 1] == ' ') zmsg += plen + 2;
    return sc_errf(err, SC_EFORMAT,
                   "%s: corrupt %s stream while reading %s (expected valid %s data, found: %s)", path,
                   gzipped ? "gzip" : "zlib", what, gzipped ? "gzip" : "zlib", zmsg);
}

/* Reads up to n bytes; returns the count read (< n only at end of file) or -1
 * on a stream error. */
static long long gz_read_full(gzFile gz, uint8_t *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        size_t want = n - got;
        unsigned len = want > IDX_CHUNK ? IDX_CHUNK : (unsigned)want;
        int r = gzread(gz, buf + got, len);
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (long long)got;
}

static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* The body of sc_idx_read once the file is open; fills *idx (data owned by
 * the caller on success, freed here on failure). */
static int idx_read_open(gzFile gz, const char *path, int want_lo, int want_hi, const char *what,
                         sc_idx *idx, sc_err *err) {
    uint8_t hdr[4 + 4 * SC_IDX_MAX_DIMS];
    long long got = gz_read_full(gz, hdr, 4);
    /* gzdirect is only meaningful after the first read. */
    int gzipped = !gzdirect(gz);
    const char *kind = gzipped ? "gzipped IDX file" : "IDX file";
    if (got < 0) return gz_check(gz, path, gzipped, "the header", err);
    if (got < 4) {
        int rc = gz_check(gz, path, gzipped, "the header", err);
        if (rc != SC_OK) return rc;
        return sc_errf(err, SC_EFORMAT,
                       "%s: truncated %s header (expected 4 magic bytes, found %lld bytes)", path, kind,
                       got);
    }
    if (hdr[0] != 0 || hdr[1] != 0)
        return sc_errf(err, SC_EFORMAT,
                       "%s: bad magic (expected an IDX file starting 00 00, found %02x %02x%s)", path,
                       hdr[0], hdr[1], gzipped ? " after gunzip" : "");
    if (hdr[2] != IDX_TYPE_U8)
        return sc_errf(err, SC_EFORMAT,
                       "%s: unsupported IDX element type (expected 0x08 unsigned byte, found 0x%02x)",
                       path, hdr[2]);
    int ndim = hdr[3];
    if (ndim < 1 || ndim > SC_IDX_MAX_DIMS)
        return sc_errf(err, SC_EFORMAT,
                       "%s: unsupported number of dimensions (expected 1..%d, found %d)", path,
                       SC_IDX_MAX_DIMS, ndim);
    /* The rank is known from the magic alone: a wrong kind of IDX file is
     * named as such before its dimensions or data are read. */
    if (want_lo > 0 && (ndim < want_lo || ndim > want_hi)) {
        if (want_lo == want_hi)
            return sc_errf(err, SC_EFORMAT,
                           "%s: an IDX file of %d dimension%s (magic 00 00 08 %02x); expected %d (%s)", path, ndim,
                           ndim == 1 ? "" : "s", hdr[3], want_lo, what);
        return sc_errf(err, SC_EFORMAT,
                       "%s: an IDX file of %d dimension%s (magic 00 00 08 %02x); expected %d to %d (%s)", path, ndim,
                       ndim == 1 ? "" : "s", hdr[3], want_lo, want_hi, what);
    }

    size_t dbytes = 4 * (size_t)ndim;
    got = gz_read_full(gz, hdr + 4, dbytes);
    if (got < 0) return gz_check(gz, path, gzipped, "the dimensions", err);
    if ((size_t)got < dbytes) {
        int rc = gz_check(gz, path, gzipped, "the dimensions", err);
        if (rc != SC_OK) return rc;
        return sc_errf(err, SC_EFORMAT,
                       "%s: truncated %s header (expected %zu dimension bytes for %d dimensions, found %lld)",
                       path, kind, dbytes, ndim, got);
    }
    size_t size = 1;
    for (int i = 0; i < ndim; i++) {
        uint32_t d = be32(hdr + 4 + 4 * i);
        if (d == 0)
            return sc_errf(err, SC_EFORMAT,
                           "%s: dimension %d is zero (expected every dimension >= 1, found 0)", path, i);
        if (d > (uint32_t)INT_MAX)
            return sc_errf(err, SC_EFORMAT,
                           "%s: dimension %d too large (expected at most %d, found %u)", path, i,
                           INT_MAX, (unsigned)d);
        if (size > SIZE_MAX / d)
            return sc_errf(err, SC_EFORMAT,
                           "%s: dimensions overflow (expected a product below %zu bytes, found dimension %d = %u after %zu)",
                           path, (size_t)SIZE_MAX, i, (unsigned)d, size);
        size *= d;
        idx->dims[i] = (int)d;
    }
    idx->ndim = ndim;
    char dstr[96];
    dims_str(dstr, sizeof dstr, ndim, idx->dims);

    /* Read the data, growing the buffer only as bytes arrive. */
    size_t cap = size < IDX_FIRST_ALLOC ? size : IDX_FIRST_ALLOC;
    uint8_t *data = malloc(cap);
    if (!data)
        return sc_errf(err, SC_ENOMEM, "%s: out of memory allocating %zu bytes for %s data", path, cap,
                       dstr);
    size_t have = 0;
    for (;;) {
        got = gz_read_full(gz, data + have, cap - have);
        if (got < 0) {
            free(data);
            return gz_check(gz, path, gzipped, "the data", err);
        }
        have += (size_t)got;
        if (have < cap || cap == size) break;
        size_t ncap = cap > size / 2 ? size : 2 * cap;
        uint8_t *nd = realloc(data, ncap);
        if (!nd) {
            free(data);
            return sc_errf(err, SC_ENOMEM, "%s: out of memory allocating %zu bytes for %s data", path,
                           ncap, dstr);
        }
        data = nd;
        cap = ncap;
    }
    if (have < size) {
        int rc = gz_check(gz, path, gzipped, "the data", err);
        free(data);
        if (rc != SC_OK) return rc;
        return sc_errf(err, SC_EFORMAT,
                       "%s: truncated %s (the header promises %s = %zu data bytes after its %zu bytes; expected %zu, found %zu)",
                       path, kind, dstr, size, 4 + dbytes, size, have);
    }

    /* The file must end here: count any trailing bytes. */
    uint8_t extra[4096];
    size_t trailing = 0;
    for (;;) {
        int r = gzread(gz, extra, (unsigned)sizeof extra);
        if (r < 0) {
            free(data);
            return gz_check(gz, path, gzipped, "the end of the data", err);
        }
        if (r == 0) break;
        trailing += (size_t)r;
    }
    int rc = gz_check(gz, path, gzipped, "the end of the data", err);
    if (rc != SC_OK) {
        free(data);
        return rc;
    }
    if (trailing > 0) {
        free(data);
        return sc_errf(err, SC_EFORMAT,
                       "%s: %zu trailing byte(s) after the data (expected the %s to end after %zu bytes for %s, found %zu bytes)",
                       path, trailing, kind, 4 + dbytes + size, dstr, 4 + dbytes + size + trailing);
    }
    idx->data = data;
    idx->size = size;
    return SC_OK;
}

int sc_idx_read(const char *path, sc_idx *out, sc_err *err) {
    return sc_idx_read_rank(path, 0, NULL, out, err);
}

int sc_idx_read_rank(const char *path, int ndim, const char *what, sc_idx *out, sc_err *err) {
    return sc_idx_read_ranks(path, ndim, ndim, what, out, err);
}

int sc_idx_read_ranks(const char *path, int lo, int hi, const char *what, sc_idx *out, sc_err *err) {
    memset(out, 0, sizeof *out);
    if (!path) return sc_errf(err, SC_EARG, "sc_idx_read: path is NULL (expected a file name)");
    if (lo < 0 || lo > SC_IDX_MAX_DIMS || (lo > 0 && (hi < lo || hi > SC_IDX_MAX_DIMS)))
        return sc_errf(err, SC_EARG, "sc_idx_read_rank: %s: ranks %d..%d (expected 0, or 1 <= lo <= hi <= %d)",
                       path, lo, hi, SC_IDX_MAX_DIMS);
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return sc_errf(err, SC_EIO, "%s: cannot open (expected a readable IDX file, found: %s)", path,
                       errno ? strerror(errno) : "out of memory in zlib");
    sc_idx idx;
    memset(&idx, 0, sizeof idx);
    int rc = idx_read_open(gz, path, lo, hi, what ? what : "data", &idx, err);
    int zc = gzclose_r(gz);
    if (rc == SC_OK && zc != Z_OK) {
        free(idx.data);
        return sc_errf(err, SC_EIO, "%s: error closing (expected a clean close, found zlib code %d)", path,
                       zc);
    }
    if (rc != SC_OK) return rc;
    *out = idx;
    return SC_OK;
}

/* Writes n bytes through gz; returns 0 on success. */
static int gz_write_full(gzFile gz, const uint8_t *buf, size_t n) {
    size_t done = 0;
    while (done < n) {
        size_t want = n - done;
        unsigned len = want > IDX_CHUNK ? IDX_CHUNK : (unsigned)want;
        int w = gzwrite(gz, buf + done, len);
        if (w <= 0) return -1;
        done += (size_t)w;
    }
    return 0;
}

int sc_idx_write(const char *path, const sc_idx *idx, int gzip, sc_err *err) {
    if (!path || !idx) return sc_errf(err, SC_EARG, "sc_idx_write: NULL path or idx");
    if (idx->ndim < 1 || idx->ndim > SC_IDX_MAX_DIMS)
        return sc_errf(err, SC_EARG, "%s: cannot write IDX with %d dimensions (expected 1..%d)", path,
                       idx->ndim, SC_IDX_MAX_DIMS);
    size_t size = 1;
    for (int i = 0; i < idx->ndim; i++) {
        if (idx->dims[i] < 1)
            return sc_errf(err, SC_EARG, "%s: cannot write IDX with dimension %d = %d (expected >= 1)", path,
                           i, idx->dims[i]);
        if (size > SIZE_MAX / (size_t)idx->dims[i])
            return sc_errf(err, SC_EARG, "%s: cannot write IDX: dimensions overflow size_t", path);
        size *= (size_t)idx->dims[i];
    }
    if (size != idx->size || !idx->data)
        return sc_errf(err, SC_EARG,
                       "%s: cannot write IDX: size field %zu and data %s (expected size = product of dims = %zu and data non-NULL)",
                       path, idx->size, idx->data ? "set" : "NULL", size);

    uint8_t hdr[4 + 4 * SC_IDX_MAX_DIMS];
    hdr[0] = 0; hdr[1] = 0; hdr[2] = IDX_TYPE_U8; hdr[3] = (uint8_t)idx->ndim;
    for (int i = 0; i < idx->ndim; i++) {
        uint32_t d = (uint32_t)idx->dims[i];
        hdr[4 + 4 * i] = (uint8_t)(d >> 24);
        hdr[5 + 4 * i] = (uint8_t)(d >> 16);
        hdr[6 + 4 * i] = (uint8_t)(d >> 8);
        hdr[7 + 4 * i] = (uint8_t)d;
    }
    size_t hbytes = 4 + 4 * (size_t)idx->ndim;

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) return sc_errf(err, SC_ENOMEM, "%s: out of memory for the temporary file name", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        int rc = sc_errf(err, SC_EIO, "%s: cannot create (expected a writable path, found: %s)", tmp,
                         strerror(errno));
        free(tmp);
        return rc;
    }
    /* gzclose closes the descriptor it was given, so hand zlib a duplicate
     * and keep fd for fsync. "T" writes without compression. */
    int rc = SC_OK;
    int zfd = dup(fd);
    gzFile gz = zfd >= 0 ? gzdopen(zfd, gzip ? "wb" : "wbT") : NULL;
    if (!gz) {
        rc = sc_errf(err, SC_EIO, "%s: cannot start writing (%s)", tmp,
                     zfd < 0 ? strerror(errno) : "gzdopen failed");
        if (zfd >= 0) close(zfd);
    } else {
        int werr = gz_write_full(gz, hdr, hbytes) || gz_write_full(gz, idx->data, size);
        int zcode = Z_OK;
        const char *zmsg = werr ? gzerror(gz, &zcode) : "";
        char zbuf[128];
        snprintf(zbuf, sizeof zbuf, "%s", zcode == Z_ERRNO ? strerror(errno) : zmsg);
        int cerr = gzclose_w(gz);
        if (werr)
            rc = sc_errf(err, SC_EIO, "%s: write failed after header of %zu bytes (%s)", tmp, hbytes, zbuf);
        else if (cerr != Z_OK)
            rc = sc_errf(err, SC_EIO, "%s: write failed when flushing (zlib code %d, %s)", tmp, cerr,
                         strerror(errno));
    }
    if (rc == SC_OK && fsync(fd) != 0)
        rc = sc_errf(err, SC_EIO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == SC_OK)
        rc = sc_errf(err, SC_EIO, "%s: close failed: %s", tmp, strerror(errno));
    if (rc == SC_OK && rename(tmp, path) != 0)
        rc = sc_errf(err, SC_EIO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
    if (rc != SC_OK) unlink(tmp);
    free(tmp);
    return rc;
}

void sc_idx_free(sc_idx *idx) {
    if (!idx) return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}

void sc_u8_to_float(float *out, const uint8_t *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (float)in[i] / 255.0f;
}
