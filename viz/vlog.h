/* vlog.h - what the viewer reads from a run log: the glimpse images and, per
 * record (an epoch at which glimpses were logged), where the policy looked
 * and what the classifier said. The schema is docs/runlog.md (/glimpses);
 * the soft-attention datasets are docs/viewer.md's.
 *
 * What it is: a read-only view of /glimpses that stays open for the viewer's
 * life, in SWMR-read mode when the file allows it (every run log does), so
 * that a run still training can be followed (sc_vlog_refresh) and a writer is
 * never blocked (HDF5's file locking is off for this reader, as for the
 * trainer). The small per-record columns (epoch, step, pred, reward) are held
 * for every record; the large ones (locations, probabilities, attention) only
 * for the record loaded last (sc_vlog_load), so a long soft-attention run does
 * not have to fit in memory.
 *
 * What it is not: a general run-log reader (experiments/runlog.h is); it reads
 * no /train or /eval rows and writes nothing.
 *
 * Dimension letters as in docs/runlog.md: R records, G images, T glimpses,
 * C classes, H x W the canvas (height x width), L soft-attention locations.
 */
#ifndef SACCADE_VIZ_VLOG_H
#define SACCADE_VIZ_VLOG_H

#include <hdf5.h>
#include <stdint.h>

#include "nets/err.h"

typedef struct sc_vlog {
    char path[4096];
    hid_t file;               /* open until sc_vlog_free */
    int swmr;                 /* opened in SWMR-read mode (sees a writer's appends) */
    char kind[16];            /* /@model_kind ("ram" when absent): a row of the model table (agent/kind.h)
                               * with SC_KIND_TRAJECTORIES */
    int weights;              /* the kind's SC_KIND_WEIGHTS: its records are attention weights over
                               * /glimpses/grid (soft: locations; selfattn: patches, steps the heads);
                               * 0: a location per glimpse (ram) */
    const char *step_name;    /* what a step is called (the kind's row): header and key help */
    const char *step_unit;
    int G, T, C, W;           /* /glimpses@count, @glimpses, @classes, @width (@side in logs before it) */
    int H;                    /* /glimpses@height (@side in logs before it) */
    int channels;             /* /glimpses@channels: 1 grey, 3 RGB (1 in logs before it) */
    int g, k;                 /* the square each location covers at k scales: the kind's footprint of
                               * /@config ([model] glimpse_size and scales; selfattn: patch and 1) */
    int L;                    /* weights: rows of /glimpses/grid; 0 otherwise */
    char split[8];            /* /glimpses@split: "val" or "test" */
    uint8_t *images;          /* (G, H, W, channels), channels interleaved */
    int32_t *labels;          /* (G) */
    char **class_names;       /* (C) each class's name, NUL-terminated, at most SC_RUNLOG_CLASS_NAME_MAX
                               * bytes: /@class_names split at its newlines ("0".."C-1" in logs before
                               * it); owned (one block with the strings), freed by sc_vlog_free */
    float *grid;              /* (L, 2) soft: candidate locations (x, y), selfattn: patch centres;
                               * NULL for ram */

    int R;                    /* complete records: min of the record datasets' lengths */
    int32_t *epoch;           /* (R) */
    int64_t *step;            /* (R) */
    int32_t *pred;            /* (R, G) */
    float *reward;            /* (R, G) */

    int rec;                  /* the record loaded by sc_vlog_load, -1 for none */
    float *loc;               /* (G, T, 2) its locations (ram) */
    float *probs;             /* (G, T, C) its class probabilities after each glimpse */
    float *att;               /* (G, T, L) its attention weights (soft, selfattn) */
} sc_vlog;

/* Opens the run log at path and reads its glimpse images and record columns.
 * Refuses, with a message naming the file (SC_EIO: missing or unreadable;
 * SC_EFORMAT otherwise): not HDF5, not a saccade run log (a checkpoint is
 * named as such), another schema version, a model kind without glimpses
 * ("fc") or unknown, no /glimpses group (log.glimpse_images = 0), a soft or selfattn run
 * without /glimpses/attention and /glimpses/grid, datasets of the wrong type
 * or shape, /glimpses@height, @width or @channels out of range (channels
 * other than 1 or 3, a width other than @side), /@class_names not a string
 * or failing sc_runlog_class_names_check against /glimpses@classes. R = 0
 * (nothing recorded yet) is not an error. *out is NULL on
 * failure; free with sc_vlog_free. */
int sc_vlog_open(sc_vlog **out, const char *path, sc_err *err);

/* Re-reads the number of complete records and their columns (after a
 * writer's appends, or a resume that cut the log back). *changed is set to 1
 * when R changed; the loaded record is then dropped (a resume may have
 * rewritten it), so call sc_vlog_load again before drawing. */
int sc_vlog_refresh(sc_vlog *v, int *changed, sc_err *err);

/* Reads record rec's locations, probabilities (and attention) into
 * v->loc/probs/att; a no-op when it is already loaded. */
int sc_vlog_load(sc_vlog *v, int rec, sc_err *err);

/* The last record made after `epoch`, or -1. */
int sc_vlog_find_epoch(const sc_vlog *v, int epoch);

/* Closes the file and frees v (accepts NULL). */
void sc_vlog_free(sc_vlog *v);

#endif
