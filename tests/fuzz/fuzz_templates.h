/* fuzz_templates.h - the real files the HDF5 fuzz harnesses start from: a run
 * log and a checkpoint written by saccade's own writers (sc_runlog_create and
 * its appends, sc_ckpt_save of a model built from a config), so the templates
 * have exactly the layout a training run produces, and follow it when it changes.
 *
 * Run log kinds: 0 ram (with /glimpses locations), 1 soft (attention over a
 * 3x3 grid), 2 fc (no /glimpses), 3 ram on colour 20 x 28 (height x width)
 * canvases with named classes (/@class_names, /glimpses@channels = 3, images
 * (G, H, W, 3)). Checkpoint variants: 0 ram + adam, 1 ram +
 * sgd + ema, 2 fc + adam. Each has a few rows of every table, like a run of
 * two short epochs that ended.
 */
#ifndef SACCADE_TESTS_FUZZ_TEMPLATES_H
#define SACCADE_TESTS_FUZZ_TEMPLATES_H

#include "experiments/config.h"

#define FZ_LOG_KINDS 4
#define FZ_CKPT_VARIANTS 3
#define FZ_RUN_ID "00c0ffee00c0ffee"

/* Strings worth trying as /@class_names (for the harnesses' string tables):
 * names of the colour template, too few, too many, empty, too long, control
 * characters, broken UTF-8. */
#define FZ_NAME_STRINGS 8
extern const char *const fz_name_strings[FZ_NAME_STRINGS];

/* The configuration of log kind / checkpoint variant i. */
void fz_template_config(sc_config *c, int ckpt, int i);

/* Writes the run log of kind i at path (which must not exist). Aborts on failure. */
void fz_make_runlog(const char *path, int kind);

/* Writes checkpoint variant i at path. Aborts on failure. */
void fz_make_ckpt(const char *path, int variant);

#endif
