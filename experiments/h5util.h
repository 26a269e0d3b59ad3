/* h5util.h - small checked helpers over the HDF5 C API, shared by the run log
 * (runlog.c), the checkpoints (checkpoint.c) and the viewer's reader
 * (viz/vlog.c).
 *
 * What it is: HDF5's own error printing silenced around our calls and its
 * error stack translated into one line for sc_err (the OS reason, "No space
 * left on device", when HDF5 has one); a check that a path holds an HDF5 file
 * at all, with a message for each way it may not; typed scalar, array and
 * UTF-8 string attributes; the fapl every saccade file uses; a quoted,
 * escaped excerpt of a hostile string for messages; the check that a dataset
 * holds what it declares (before anything is allocated or walked for it);
 * fsync of a file and of its folder.
 *
 * What it is not: a wrapper of HDF5. Callers use H5* directly and check each
 * call; these helpers only remove repetition. Every function returns SC_OK or
 * a negative SC_E* code and leaves a message naming `what` (a file or an
 * object path) in err. Not thread-safe (neither is Debian's serial HDF5).
 */
#ifndef SACCADE_EXPERIMENTS_H5UTIL_H
#define SACCADE_EXPERIMENTS_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "nets/err.h"

/* HDF5's automatic error printing is turned off between begin and end (and
 * restored after): a failed call prints nothing; its reason is kept for
 * sc_h5_reason and we report it in our own words. */
typedef struct sc_h5_quiet {
    H5E_auto2_t func;
    void *data;
} sc_h5_quiet;
void sc_h5_quiet_begin(sc_h5_quiet *q);
void sc_h5_quiet_end(const sc_h5_quiet *q);

/* Why the first HDF5 call that failed since sc_h5_quiet_begin failed (or,
 * outside quiet mode, the current error stack): the innermost message,
 * shortened to what a user can act on (the errno text when there is one, e.g.
 * "No space left on device"), into buf; "" when nothing failed. Consumes it. */
void sc_h5_reason(char *buf, size_t n);
/* Forgets a failure that was expected (e.g. a probe for an optional object). */
void sc_h5_forget(void);

/* Formats "<message>: <reason>" into err (reason as sc_h5_reason; omitted if
 * empty) and returns code. */
int sc_h5_errf(sc_err *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Checks that path can be read and starts with the HDF5 signature. Errors:
 * SC_EIO "cannot open" (with strerror), SC_EFORMAT "empty file" or "not an
 * HDF5 file" (followed by expected, e.g. "expected a saccade run log"). */
int sc_h5_check_signature(const char *path, const char *expected, sc_err *err);

/* A file-access property list for saccade files: the latest file format
 * (needed for SWMR), the sec2 driver, and HDF5's flock()-based file locking
 * off when nolock is set (the run log's writer locks with its own OFD lock;
 * see runlog.c). Caller closes. Negative on failure. */
hid_t sc_h5_fapl(int nolock);

/* Attributes on obj (a file, group or dataset). Writers create the attribute
 * (it must not exist); readers check the stored type class and shape.
 * Strings are variable-length UTF-8 (h5py reads them as str). */
int sc_h5_attr_put_str(hid_t obj, const char *name, const char *value);
int sc_h5_attr_put_i32(hid_t obj, const char *name, int32_t v);
int sc_h5_attr_put_i64(hid_t obj, const char *name, int64_t v);
int sc_h5_attr_put_u64(hid_t obj, const char *name, uint64_t v);
int sc_h5_attr_put_f32(hid_t obj, const char *name, float v);
int sc_h5_attr_put_f64(hid_t obj, const char *name, double v);
int sc_h5_attr_put_f64s(hid_t obj, const char *name, const double *v, int n);
int sc_h5_attr_put_u64s(hid_t obj, const char *name, const uint64_t *v, int n);
/* Each returns 0, or -1 when the attribute is missing or of another kind
 * (the message then comes from the caller, naming the file and attribute). */
int sc_h5_attr_get_str(hid_t obj, const char *name, char **out); /* malloc'd, caller frees */
int sc_h5_attr_get_i64(hid_t obj, const char *name, int64_t *v);
int sc_h5_attr_get_u64(hid_t obj, const char *name, uint64_t *v);
int sc_h5_attr_get_f64(hid_t obj, const char *name, double *v);
int sc_h5_attr_get_f64s(hid_t obj, const char *name, double *v, int n);  /* exactly n values */
int sc_h5_attr_get_u64s(hid_t obj, const char *name, uint64_t *v, int n);
int sc_h5_attr_exists(hid_t obj, const char *name); /* 1, 0, or -1 on error */

/* A value read from a file, made safe to quote in a one-line message: s
 * between single quotes, control characters and DEL as \n, \t or \xHH, cut
 * after 60 bytes with "..."; "missing" (no quotes) for NULL. Returns buf. */
const char *sc_h5_quote(const char *s, char *buf, size_t n);

/* Does dataset d hold what its dataspace declares? Its elements times their
 * size must fit in its storage (H5Dget_storage_size) times 1100 (deflate's
 * largest ratio is about 1032) plus 1 MiB (chunks not yet written: a writer's
 * append caught half done, fill values). A file that declares 2^40 rows in a
 * few kilobytes fails, before anything is allocated or walked for it.
 * Returns 1 (fits), 0 (does not: *declared and *stored say why, in bytes), or
 * -1 on an HDF5 error. */
int sc_h5_dataset_fits(hid_t d, unsigned long long *declared, unsigned long long *stored);

/* fsync(path) through a fresh descriptor: the kernel flushes the file's dirty
 * pages whoever wrote them. Returns 0 or an errno value. */
int sc_fsync_path(const char *path);
/* fsync of the folder holding path, so a rename in it is durable. 0 or errno. */
int sc_fsync_dir_of(const char *path);

#endif
