/* runlog.h - the run log: one HDF5 file per training run, readable by h5py,
 * h5dump and HDFView while the run is still training.
 *
 * The schema (groups, datasets, attributes, types, shapes, meaning) is in
 * docs/runlog.md and versioned by the root attribute schema_version
 * (SC_RUNLOG_SCHEMA). In short:
 *   /            attributes: config text and resolved config, command line,
 *                seed, threads, versions, host, start time, the model's kind,
 *                parameter count and analytic compute per image, the
 *                checkpoint's file name
 *   /train       one row every [log] train_every steps (step, epoch, wall
 *                time, images/s, loss terms, reward, gradient norm, lr, ...)
 *   /eval        one row per epoch (validation error M=1 and M, ...);
 *   /eval/test   one row per session end (test error of the best parameters)
 *   /glimpses    fixed validation images (stored once) and, every
 *                glimpse_every epochs, their locations, per-step class
 *                probabilities, predictions and rewards; for soft-attention
 *                runs also the attention weights over the fixed grid
 *                (/glimpses/grid, stored once); absent for fc runs
 *   /checkpoints one row per checkpoint written
 *   /sessions    one row per `saccade train` on this log (first run, resumes)
 * Every table is a set of 1-D (or N-D, first axis the row) chunked datasets
 * of unlimited length, all created with the file.
 *
 * How it is written (and why): every object exists from creation on; each
 * append opens the file in SWMR-write mode, extends and writes the datasets,
 * and closes it (which flushes). So:
 *   - between appends the file is a plain, closed, consistent HDF5 file that
 *     h5dump, HDFView and h5py open without any option;
 *   - a reader that keeps the file open follows the run with SWMR
 *     (h5py.File(path, "r", swmr=True) and Dataset.refresh());
 *   - a SIGKILL leaves a file h5py opens (with swmr=True if the kill hit an
 *     append, which leaves HDF5's "open for write" flag set; resuming clears
 *     it, as `h5clear -s` does).
 * HDF5's flock() locking is off for the writer (a reader holding the file
 * would otherwise block the trainer); instead the writer holds an OFD lock
 * (fcntl F_OFD_SETLK) on the log for the whole session, so two trainers can
 * never write one log. Rows of a table are appended column after column; a
 * reader that catches an append half done sees some columns one row longer:
 * the complete rows are min(len) over the group.
 *
 * Appended datasets that grow row by row are stored uncompressed: SWMR
 * rewrites the last chunk in place, and a growing compressed chunk would move
 * on every append (HDF5 1.10 does not reuse the space freed in SWMR mode, so
 * the file would grow by 6-80 KB per row, measured). Glimpse records, written one whole
 * chunk at a time, are deflated. See docs/runlog.md for sizes.
 *
 * Errors name the file and the dataset and carry the OS reason (e.g. "No space
 * left on device"); HDF5's own error stack is never printed.
 */
#ifndef SACCADE_EXPERIMENTS_RUNLOG_H
#define SACCADE_EXPERIMENTS_RUNLOG_H

#include <stdint.h>

#include "nets/err.h"

#define SC_RUNLOG_FORMAT "saccade run log"
#define SC_RUNLOG_SCHEMA 1

typedef struct sc_runlog sc_runlog;

/* Root attributes, written once at creation. NULL strings are stored as "". */
typedef struct sc_runlog_meta {
    const char *run_id;            /* 16 hex digits, shared with the checkpoint */
    const char *command_line;
    const char *config_file;       /* the CONFIG path given to `saccade train` */
    const char *config_file_text;  /* that file's text as read */
    const char *config;            /* the fully resolved configuration (every key) */
    const char *checkpoint;        /* the checkpoint's file name, relative to the log's folder */
    uint64_t seed;
    int threads;
    int64_t param_count;
    double macs_per_image;         /* multiply-adds of one inference forward pass */
    int n_train, n_val, n_test, num_classes, canvas_side, steps_per_epoch;
    const char *model_kind;        /* "ram" | "soft" | "fc" | "selfattn"; NULL = "ram" */
    double macs_train_per_image;   /* multiply-adds of one training step, per image (agent/cost.h) */
    double pixels_per_image;       /* input pixels the model reads per image */
    double retina_adds_per_image;  /* additions of the retina's averaging per image */
    int canvas_h, canvas_w;        /* the canvas, height x width; 0 = canvas_side (canvas_side is written
                                    * as the width, canvas_w when given) */
    int channels;                  /* 1 (grey) or 3 (RGB); 0 = 1 */
    const char *class_names;       /* the num_classes names in class order, joined by '\n' (no trailing
                                    * newline; sc_runlog_class_names_check's rules); NULL = "0".."C-1".
                                    * Read during sc_runlog_create only. */
} sc_runlog_meta;

/* The images whose glimpses are recorded: G images of h x w pixels (0..255)
 * of 1 or 3 channels, T glimpses, C classes. G = 0: no /glimpses group. L > 0
 * (a soft-attention run): the records also hold attention weights over the L
 * locations of grid, which is stored once. */
typedef struct sc_runlog_glimpse_set {
    int G, T, C, side;       /* side: the canvas's side when h, w are 0 (square) */
    const char *split;       /* "val" or "test": where the images come from */
    const uint8_t *images;   /* (G, h, w, channels), channels interleaved (HWC) */
    const int32_t *labels;   /* (G) */
    const int32_t *index;    /* (G) index into the split's source file */
    int L;                   /* soft-attention locations; 0 = none */
    const float *grid;       /* (L, 2) their (x, y) */
    int h, w;                /* canvas height and width; 0 = side */
    int channels;            /* 1 or 3; 0 = 1 */
} sc_runlog_glimpse_set;

/* A class name's longest length in bytes (UTF-8), its NUL not counted. */
#define SC_RUNLOG_CLASS_NAME_MAX 255

/* Are names (C class names joined by '\n') what a run log holds: exactly C
 * names, each 1..SC_RUNLOG_CLASS_NAME_MAX bytes of valid UTF-8 without
 * control characters (bytes below 0x20, and 0x7f)? 0, or -1 with the reason
 * in why ("holds 3 names, expected 10", "name 4 (of 10) is empty", ...). The
 * writer (sc_runlog_create) and the viewer's reader (viz/vlog.c) apply it; a
 * data loader may too, to refuse bad names before training starts. */
int sc_runlog_class_names_check(const char *names, int C, char *why, size_t wn);

typedef struct sc_runlog_train_row {
    int64_t step;
    int32_t epoch;
    double wall_time;
    float images_per_s, xent, reinforce, baseline_mse, reward, adv_var, grad_norm, lr, std, mu_abs,
        mu_spread, att_entropy, att_max, rf_grad_var;
} sc_runlog_train_row;

typedef struct sc_runlog_eval_row {
    int32_t epoch;
    int64_t step;
    double wall_time;
    float val_err_m1, val_err_mc, best_val_err;
    uint8_t is_best;
    float lr, std, train_xent, train_reinforce, train_baseline_mse, train_reward, train_grad_norm,
        images_per_s, epoch_seconds;
} sc_runlog_eval_row;

typedef struct sc_runlog_test_row {
    int32_t epoch;
    int64_t step;
    double wall_time;
    int32_t best_epoch;
    float best_val_err, err_m1, err_mc;
    int32_t mc_samples;
    int8_t reason;           /* how the session ended: SC_END_* */
    float us_per_image;      /* measured inference time per image (batched, warm, median) */
    double train_seconds;    /* seconds in training batches, all sessions so far */
} sc_runlog_test_row;

typedef struct sc_runlog_ckpt_row {
    int32_t epoch;
    int64_t batch_in_epoch, step;
    double wall_time;
    int32_t best_epoch;
    float best_val_err;
} sc_runlog_ckpt_row;

/* One glimpse record: arrays for all G images of the set. */
typedef struct sc_runlog_glimpse_rec {
    int32_t epoch;
    int64_t step;
    const float *locations;  /* (G, T, 2) */
    const float *probs;      /* (G, T, C) */
    const int32_t *pred;     /* (G) */
    const float *reward;     /* (G) */
    const float *attention;  /* (G, T, L) soft-attention runs (glimpse set L > 0), else unused */
} sc_runlog_glimpse_rec;

/* Rows of the tables that follow training progress (a checkpoint records
 * them; resuming truncates the log back to them). */
typedef struct sc_runlog_rows {
    int64_t train, eval, glimpses;
} sc_runlog_rows;

/* How a session ended (/sessions/end_reason, /eval/test/reason). */
enum {
    SC_END_RUNNING = 0,      /* still running, or killed */
    SC_END_FINISHED = 1,
    SC_END_EARLY_STOP = 2,
    SC_END_INTERRUPTED = 3,  /* SIGINT or SIGTERM */
    SC_END_FAILED = 4,
    SC_END_PAUSED = 5,       /* trained the epochs asked for this session (--stop-after) */
    SC_END_DIVERGED = 6      /* a non-finite loss, gradient or parameter stopped it */
};

/* Creates the log at path (which must not exist: EEXIST is an error), with
 * every group and dataset, the root attributes, the glimpse images and the
 * first /sessions row; takes the writer lock. On failure nothing is left at
 * path. The session's start is recorded as now. Refused (SC_EARG, before
 * anything is created): channels other than 0, 1 or 3, negative sizes,
 * class_names failing sc_runlog_class_names_check. */
int sc_runlog_create(sc_runlog **out, const char *path, const sc_runlog_meta *m,
                     const sc_runlog_glimpse_set *gs, sc_err *err);

/* Reopens an existing log to continue it: takes the writer lock (refused if
 * another process holds it), clears a crashed writer's status flags, cuts
 * /train, /eval and /glimpses back to keep (the rows the checkpoint covers;
 * refused if the log has fewer), and appends a /sessions row. expect, when not
 * NULL, is the glimpse set this run records (only G, T, C, L, side, h, w and
 * channels are read; the image size is compared when given, h/w or side > 0,
 * the channels always, 0 meaning 1): a log whose records have another shape
 * is refused before anything is written.
 * Call after everything else about the resume has been checked: this is the
 * first write. */
int sc_runlog_resume(sc_runlog **out, const char *path, const sc_runlog_rows *keep,
                     const sc_runlog_glimpse_set *expect, const char *command_line, const char *config,
                     int threads, int start_epoch, int64_t start_step, sc_err *err);

/* Appends (each opens the file in SWMR-write mode, writes, closes). */
int sc_runlog_append_train(sc_runlog *L, const sc_runlog_train_row *r, sc_err *err);
int sc_runlog_append_eval(sc_runlog *L, const sc_runlog_eval_row *r, sc_err *err);
int sc_runlog_append_test(sc_runlog *L, const sc_runlog_test_row *r, sc_err *err);
int sc_runlog_append_checkpoint(sc_runlog *L, const sc_runlog_ckpt_row *r, sc_err *err);
int sc_runlog_append_glimpses(sc_runlog *L, const sc_runlog_glimpse_rec *r, sc_err *err);
/* Records the end of this session in its /sessions row. */
int sc_runlog_end_session(sc_runlog *L, int reason, int epoch, int64_t step, sc_err *err);
/* The same with the line it stopped with (/sessions/end_note) and the batches
 * skipped as non-finite (/sessions/end_skipped). */
int sc_runlog_end_session_note(sc_runlog *L, int reason, int epoch, int64_t step, const char *note,
                               int64_t skipped, sc_err *err);
/* fsync of the log (done at each checkpoint so the log is as durable as it). */
int sc_runlog_sync(sc_runlog *L, sc_err *err);

void sc_runlog_rows_get(const sc_runlog *L, sc_runlog_rows *r);
/* Seconds since the run was created (the /train wall_time clock). */
double sc_runlog_wall(const sc_runlog *L);
/* Releases the lock and frees L (accepts NULL). Writes nothing. */
void sc_runlog_close(sc_runlog *L);

/* ---- reading ------------------------------------------------------------------ */

typedef struct sc_runlog_info {
    int64_t schema_version;
    char run_id[24];
    char checkpoint[4096];   /* the checkpoint's path (the log's folder joined) */
    double created_unix;
    int locked;              /* a trainer holds the writer lock right now */
    int crashed;             /* HDF5's open-for-write flag is set and nobody holds the lock */
} sc_runlog_info;

/* Opens path read-only and checks it is a saccade run log this program reads.
 * Refuses, with one message naming the file: missing, unreadable, empty,
 * non-HDF5, truncated, an HDF5 file of another kind, another schema version,
 * missing groups. Writes nothing. */
int sc_runlog_inspect(const char *path, sc_runlog_info *info, sc_err *err);

/* Is path a saccade run log (1), a saccade checkpoint (2), or neither (0, or
 * negative when it cannot be read as HDF5; err says why)? */
int sc_runlog_kind(const char *path, sc_err *err);

/* Opens a run log read-only for tools that read its tables (compare, plot):
 * checks it as sc_runlog_inspect does (same refusals, same messages) and
 * returns the open file (SWMR-read when a writer's flags are set, so a log
 * being written opens too), or a negative value with the message in err.
 * The caller closes it with H5Fclose. HDF5 prints nothing. */
int64_t sc_runlog_open_read(const char *path, sc_err *err);

/* Every element of the numeric column `name` (a one-dimensional dataset, e.g.
 * "eval/test/err_m1"; any other rank is SC_EFORMAT) of an open log, converted
 * to double, into a malloc'd array (*out, caller frees; *n elements, 0 for an
 * empty dataset). A missing dataset is SC_EFORMAT with
 * a message naming path and name; 1 is returned instead when optional is set
 * (datasets added after a log was created, e.g. by an older saccade). */
int sc_runlog_read_doubles(int64_t file, const char *path, const char *name, int optional, double **out,
                           size_t *n, sc_err *err);

#endif
