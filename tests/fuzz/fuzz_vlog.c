/* fuzz_vlog.c - libFuzzer harness for the viewer's run-log reader (viz/vlog.c).
 *
 * The input is a recipe (tests/fuzz/fuzz_h5.h) over a real run log:
 *   byte 0  the template (ram, soft, fc, colour: fuzz_templates.h)
 *   byte 1  the record to load (from -1 to R), the epoch to find
 *   then    mutation records
 * Then, as `saccade view` does: sc_vlog_open, sc_vlog_refresh, sc_vlog_load of
 * the chosen record and of the last one, sc_vlog_find_epoch, sc_vlog_free.
 * Every failure must be a negative code with one line naming the file; what
 * opens must hold the shapes it claims (images of H x W x channels, C class
 * names of at most SC_RUNLOG_CLASS_NAME_MAX bytes); no HDF5 id may stay open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/fuzz_h5.h"
#include "tests/fuzz/fuzz_templates.h"
#include "experiments/runlog.h"
#include "viz/vlog.h"

static fz_h5_template g_t[FZ_LOG_KINDS];
static char *g_config[FZ_LOG_KINDS];
static const char *g_strings[FZ_LOG_KINDS + FZ_NAME_STRINGS];
static char g_log[300];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_h5_init();
    const char *dir = fz_dir("fuzz_vlog");
    fz_path(g_log, sizeof g_log, dir, "log.h5");
    for (int k = 0; k < FZ_LOG_KINDS; k++) {
        sc_config c;
        fz_template_config(&c, 0, k);
        g_strings[k] = g_config[k] = sc_config_to_string(&c);
    }
    for (int k = 0; k < FZ_NAME_STRINGS; k++) g_strings[FZ_LOG_KINDS + k] = fz_name_strings[k];
    for (int k = 0; k < FZ_LOG_KINDS; k++) {
        char path[300];
        fz_path(path, sizeof path, dir, "template.h5");
        unlink(path);
        fz_make_runlog(path, k);
        fz_h5_template_load(&g_t[k], path, g_strings, FZ_LOG_KINDS + FZ_NAME_STRINGS);
        unlink(path);
    }
    return 0;
}

/* Touches every element the viewer would draw, so a short buffer shows under ASan. */
static void draw(const sc_vlog *v) {
    unsigned sum = 0;
    for (size_t i = 0; i < (size_t)v->G * v->H * v->W * v->channels; i++) sum += v->images[i];
    for (int c = 0; c < v->C; c++) {
        const char *end = memchr(v->class_names[c], '\0', SC_RUNLOG_CLASS_NAME_MAX + 1);
        if (!end || end == v->class_names[c]) fz_fail("class name %d: empty or longer than %d bytes", c,
                                                      SC_RUNLOG_CLASS_NAME_MAX);
        sum += (unsigned)(end - v->class_names[c]);
    }
    for (int i = 0; i < v->G; i++) sum += (unsigned)v->labels[i];
    for (int i = 0; i < 2 * v->L; i++) sum += v->grid[i] > 0;
    for (int r = 0; r < v->R; r++) {
        sum += (unsigned)v->epoch[r] + (unsigned)v->step[r];
        for (int g = 0; g < v->G; g++) sum += (unsigned)v->pred[(size_t)r * v->G + g] + (v->reward[(size_t)r * v->G + g] > 0);
    }
    if (v->rec >= 0) {
        const size_t GT = (size_t)v->G * v->T;
        for (size_t i = 0; i < GT * v->C; i++) sum += v->probs[i] > 0;
        if (!v->weights)
            for (size_t i = 0; i < GT * 2; i++) sum += v->loc[i] > 0;
        else
            for (size_t i = 0; i < GT * v->L; i++) sum += v->att[i] > 0;
    }
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    const int kind = data[0] % FZ_LOG_KINDS, param = data[1];
    unlink(g_log);
    fz_h5_build(g_log, &g_t[kind], data + 2, size - 2);

    sc_vlog *v = NULL;
    sc_err err = {0};
    int rc = sc_vlog_open(&v, g_log, &err);
    fz_check_error("sc_vlog_open", rc, &err, g_log);
    if ((rc == SC_OK) != (v != NULL)) fz_fail("sc_vlog_open: rc %d with %p", rc, (void *)v);
    if (v) {
        if (v->G < 1 || v->T < 1 || v->C < 2 || v->W < 1 || v->H < 1 || (v->channels != 1 && v->channels != 3) ||
            v->R < 0 || (v->weights && v->L < 1) || !v->images || !v->labels || !v->class_names ||
            (v->weights && !v->grid) || !v->step_name || !memchr(v->split, '\0', sizeof v->split))
            fz_fail("sc_vlog_open: G %d T %d C %d H %d W %d channels %d R %d L %d", v->G, v->T, v->C, v->H, v->W,
                    v->channels, v->R, v->L);
        draw(v);
        int changed = 0;
        rc = sc_vlog_refresh(v, &changed, &err);
        fz_check_error("sc_vlog_refresh", rc, &err, g_log);
        if (rc == SC_OK) {
            if (changed) fz_fail("sc_vlog_refresh: the log changed while nobody wrote");
            const int rec = v->R + 2 > 0 ? param % (v->R + 2) - 1 : 0;
            rc = sc_vlog_load(v, rec, &err);
            fz_check_error("sc_vlog_load", rc, &err, g_log);
            if ((rec < 0 || rec >= v->R) && rc == SC_OK) fz_fail("sc_vlog_load of record %d of %d", rec, v->R);
            if (rc == SC_OK) draw(v);
            if (v->R > 0) {
                rc = sc_vlog_load(v, v->R - 1, &err);
                fz_check_error("sc_vlog_load", rc, &err, g_log);
                if (rc == SC_OK) draw(v);
            }
            int r = sc_vlog_find_epoch(v, param % 5);
            if (r < -1 || r >= v->R) fz_fail("sc_vlog_find_epoch: %d of %d", r, v->R);
        }
    }
    sc_vlog_free(v);
    fz_h5_check_closed("sc_vlog");
    unlink(g_log);
    return 0;
}
