/* err.c - formatting of saccade's returned errors (see err.h). */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int sc_errf(sc_err *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

const char *sc_strerror(int code) {
    switch (code) {
    case SC_OK: return "ok";
    case SC_EIO: return "I/O error";
    case SC_EFORMAT: return "bad format";
    case SC_ENOMEM: return "out of memory";
    case SC_EARG: return "invalid argument";
    case SC_ECONFIG: return "configuration error";
    case SC_EHDF5: return "HDF5 error";
    case SC_ESTATE: return "invalid state";
    case SC_ENONFINITE: return "non-finite value";
    default: return "unknown error";
    }
}
