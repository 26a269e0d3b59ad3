/* idx.h - reading and writing IDX files (the MNIST format), raw or gzipped.
 *
 * Format: magic 0x00 0x00 TYPE NDIM (big-endian), NDIM big-endian uint32
 * dimensions, then the data. Only TYPE 0x08 (unsigned byte) is accepted.
 * Gzip is detected by its magic (1f 8b), not by the file name.
 * On error nothing is allocated and *out is left empty.
 */
#ifndef SACCADE_ENV_IDX_H
#define SACCADE_ENV_IDX_H

#include <stddef.h>
#include <stdint.h>
#include "../nets/err.h"

#define SC_IDX_MAX_DIMS 4

typedef struct sc_idx {
    int ndim;                    /* 1 (labels), 3 or 4 (images, n x h x w [x c]), up to SC_IDX_MAX_DIMS */
    int dims[SC_IDX_MAX_DIMS];   /* dims[0] is the item count */
    uint8_t *data;               /* prod(dims) bytes, owned */
    size_t size;                 /* prod(dims) */
} sc_idx;

/* Reads path into out. Errors (SC_EIO / SC_EFORMAT), each naming the file and
 * expected vs found: missing/unreadable file, bad magic, unsupported type,
 * ndim 0 or > SC_IDX_MAX_DIMS, a zero dimension, truncated data (found fewer
 * bytes than the header promises), trailing bytes (file larger than promised),
 * corrupt gzip stream. */
int sc_idx_read(const char *path, sc_idx *out, sc_err *err);

/* The same, for a file that must have ndim dimensions (0: any); `what` names
 * the expected kind in the error ("images: n x h x w"). A file of another rank
 * is refused from its magic alone: "an IDX file of 1 dimension; expected 3". */
int sc_idx_read_rank(const char *path, int ndim, const char *what, sc_idx *out, sc_err *err);
/* The same for a rank in lo..hi (lo = 0: any): "expected 3 to 4 (images ...)". */
int sc_idx_read_ranks(const char *path, int lo, int hi, const char *what, sc_idx *out, sc_err *err);

/* Writes idx to path (gzipped when gzip != 0) via path.tmp + rename, so a failure
 * never leaves a partial file at path. */
int sc_idx_write(const char *path, const sc_idx *idx, int gzip, sc_err *err);

void sc_idx_free(sc_idx *idx);  /* accepts NULL; leaves it empty */

/* out[i] = in[i] / 255 */
void sc_u8_to_float(float *out, const uint8_t *in, size_t n);

#endif
