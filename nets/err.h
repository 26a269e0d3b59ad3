/* err.h - saccade's error convention, shared by every library module.
 *
 * Library code (nets/, env/, agent/) never prints and never exits. A fallible
 * function returns an int: SC_OK (0) on success, a negative SC_E* code on
 * failure, and, when the caller passed a non-NULL sc_err, leaves a message in
 * it that names what failed (the file, key or line) and what was expected.
 * The front end (experiments/) decides how the message is shown.
 *
 * Example:
 *     sc_err err = {0};
 *     if (idx_read("x.idx", &f, &err) != SC_OK) { fprintf(stderr, "%s\n", err.msg); ... }
 */
#ifndef SACCADE_NETS_ERR_H
#define SACCADE_NETS_ERR_H

#include <stddef.h>

enum {
    SC_OK = 0,
    SC_EIO = -1,      /* a file could not be opened, read or written */
    SC_EFORMAT = -2,  /* a file's contents are not what was expected */
    SC_ENOMEM = -3,   /* an allocation failed */
    SC_EARG = -4,     /* a caller passed an invalid argument (shape, range) */
    SC_ECONFIG = -5,  /* a configuration key or value is wrong */
    SC_EHDF5 = -6,    /* an HDF5 call failed */
    SC_ESTATE = -7,   /* an operation is not valid in the object's current state */
    SC_ENONFINITE = -8 /* a loss, gradient or parameter became NaN or infinite */
};

#define SC_ERR_MSG_MAX 512

typedef struct sc_err {
    int code;                  /* the last SC_E* code set, SC_OK if none */
    char msg[SC_ERR_MSG_MAX];  /* human-readable message, NUL-terminated */
} sc_err;

/* Formats a message into err (if err is non-NULL), records code there, and
 * returns code, so a failing function can `return sc_errf(err, SC_EIO, ...)`. */
int sc_errf(sc_err *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A short constant name for a code: "I/O error", "bad format", ... */
const char *sc_strerror(int code);

#endif
