/* fuzz_h5.h - structure-aware HDF5 inputs for the fuzz harnesses of saccade's
 * HDF5 readers (fuzz_runlog.c, fuzz_ckpt.c, fuzz_vlog.c).
 *
 * Mutating the bytes of an HDF5 file mostly exercises libhdf5's own parser,
 * which is not ours to fix. What our readers must survive is a file that is
 * valid HDF5 but hostile: objects missing or of the wrong kind, datasets and
 * attributes of the wrong type, rank or size, strings without terminators,
 * values that are NaN, infinite or huge. So the fuzz input is a recipe:
 *
 *   a template     a real file (a run log or checkpoint written by saccade's own
 *                  writers, runlog.c / checkpoint.c), held as bytes; its
 *                  objects and attributes are enumerated once into targets
 *   mutations      5-byte records (op, target high, target low, a, b) applied in
 *                  turn with the HDF5 API to a fresh copy of the template
 *
 * op % FZ_NOPS:
 *   0 none                       (an all-zero recipe is the template itself)
 *   1 delete                     the dataset, group or attribute
 *   2 retype                     same shape, type a of the type table, values b
 *   3 reshape                    same type, rank and layout from a, dims from b
 *                                (huge dims: chunked and unlimited, nothing written)
 *   4 group                      a dataset becomes an empty group; an attribute
 *                                gets a null dataspace (no value at all)
 *   5 values                     same type and shape, values b from a (NaN, Inf,
 *                                huge integers, raw byte patterns; strings from
 *                                the string table, fixed ones filled to the end)
 *   6 link                       a dataset or group becomes a soft link (dangling,
 *                                to its own parent, to the root), an external link to
 *                                a missing file, or a hard link to target a; an
 *                                attribute is renamed
 *   7 resize                     a chunked dataset's first dimension becomes dims[a]
 *                                (not 0: libhdf5 1.10.8 can then be left unable to close the file)
 *   8 string                     becomes a string of form a (variable, fixed
 *                                null-terminated, null-padded and full, space-padded,
 *                                too short) holding string b
 * Failing mutations are skipped: the result is always a valid HDF5 file.
 */
#ifndef SACCADE_TESTS_FUZZ_H5_H
#define SACCADE_TESTS_FUZZ_H5_H

#include <stddef.h>
#include <stdint.h>

#define FZ_NOPS 9
#define FZ_MAX_MUTATIONS 8
#define FZ_REC 5

typedef struct fz_target {
    char obj[160];   /* "/" or "/train/step" */
    char attr[64];   /* "" for the object itself */
} fz_target;

typedef struct fz_h5_template {
    uint8_t *bytes;
    size_t n;
    fz_target *t;
    int ntargets;
    const char *const *strings;  /* the string table: values worth trying (harness's own) */
    int nstrings;
} fz_h5_template;

/* Silences HDF5's error printing for the process (builder calls fail on purpose). */
void fz_h5_init(void);

/* Reads the file at path into t and enumerates its objects and attributes.
 * strings (nstrings entries, kept by reference) are added to the built-in table. */
void fz_h5_template_load(fz_h5_template *t, const char *path, const char *const *strings, int nstrings);

/* Writes the template to path and applies up to FZ_MAX_MUTATIONS records of
 * recipe (n bytes). Returns the number of mutations applied. */
int fz_h5_build(const char *path, const fz_h5_template *t, const uint8_t *recipe, size_t n);

/* Aborts when an HDF5 file, dataset, group, type, space or attribute id is still
 * open: a reader that leaks ids leaks the file. */
void fz_h5_check_closed(const char *after);

#endif
