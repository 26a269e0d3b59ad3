/* fuzz_ckpt.c - libFuzzer harness for the checkpoint reader
 * (experiments/checkpoint.c) as `saccade eval` and `train --resume` use it.
 *
 * The input is a recipe (tests/fuzz/fuzz_h5.h) over a real checkpoint:
 *   byte 0  the template (ram + adam, ram + sgd + ema, fc + adam), and what is
 *           loaded: (byte 0 / 3) % 3 = header, best parameters, everything
 *   then    mutation records
 * Then, as eval and resume do: sc_runlog_kind (sc_run_locate), sc_ckpt_load,
 * and when it loads, the model its configuration describes (on the 28-pixel
 * digits of its dataset), sc_ckpt_check_params, sc_ckpt_unpack of every set
 * loaded and the non-finite check eval makes. Every failure must be a negative
 * code with one line naming the file; no HDF5 id may stay open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/model.h"
#include "env/canvas.h"
#include "experiments/checkpoint.h"
#include "experiments/runlog.h"
#include "experiments/train.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/fuzz_h5.h"
#include "tests/fuzz/fuzz_templates.h"

static fz_h5_template g_t[FZ_CKPT_VARIANTS];
static char *g_strings_own[2 * FZ_CKPT_VARIANTS + 1];
static const char *g_strings[2 * FZ_CKPT_VARIANTS + 6];
static int g_nstrings;
static char g_path[300];

/* The tensor list of a model: what the checkpoint's "tensors" attribute holds. */
static char *tensor_list(const sc_config *c) {
    sc_model_cfg mc;
    sc_model_cfg_from_config(&mc, c, 28, 10, 1);
    sc_model *m = NULL;
    sc_err err = {0};
    if (sc_model_create(&m, &mc, &err) != SC_OK) fz_fail("model: %s", err.msg);
    const sc_params *ps = sc_model_params(m);
    char *s = calloc((size_t)ps->count, SC_PARAM_NAME_MAX + 1);
    if (!s) fz_fail("out of memory");
    for (int i = 0; i < ps->count; i++) {
        if (i) strcat(s, "\n");
        strcat(s, ps->p[i].name);
    }
    sc_model_free(m);
    return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_h5_init();
    const char *dir = fz_dir("fuzz_ckpt");
    fz_path(g_path, sizeof g_path, dir, "run.ckpt.h5");
    /* strings worth trying: every template's config and tensor list (another model's
     * shapes), a config of another shape, tensor lists that are almost right */
    for (int k = 0; k < FZ_CKPT_VARIANTS; k++) {
        sc_config c;
        fz_template_config(&c, 1, k);
        g_strings[g_nstrings++] = g_strings_own[2 * k] = sc_config_to_string(&c);
        g_strings[g_nstrings++] = g_strings_own[2 * k + 1] = tensor_list(&c);
    }
    sc_config c;
    fz_template_config(&c, 1, 0);
    c.hidden = 17;
    g_strings[g_nstrings++] = g_strings_own[2 * FZ_CKPT_VARIANTS] = sc_config_to_string(&c);
    g_strings[g_nstrings++] = "W_g\nW_g";
    g_strings[g_nstrings++] = "\n\n";
    g_strings[g_nstrings++] = "a\n";
    g_strings[g_nstrings++] = "../params\nx";
    g_strings[g_nstrings++] = "[train]\nema = 0.5\n";
    for (int k = 0; k < FZ_CKPT_VARIANTS; k++) {
        char path[300];
        fz_path(path, sizeof path, dir, "template.ckpt.h5");
        fz_make_ckpt(path, k);
        fz_h5_template_load(&g_t[k], path, g_strings, g_nstrings);
        unlink(path);
    }
    return 0;
}

/* What eval and resume do with a checkpoint that loaded. */
static void use(const sc_ckpt *ck) {
    sc_config c = ck->config;
    sc_canvas_cfg cc;
    sc_canvas_cfg_from_config(&cc, &c);
    const int side = cc.kind == SC_CANVAS_PLAIN ? 28 : cc.size;   /* sc_canvas_dims of 28x28 digits */
    sc_model_cfg mc;
    sc_model_cfg_from_config(&mc, &c, side, 10, 1);
    sc_model *m = NULL;
    sc_err err = {0};
    int rc = sc_model_create(&m, &mc, &err);
    fz_check_error("sc_model_create", rc, &err, NULL);
    if (rc != SC_OK) return;
    sc_params *ps = sc_model_params(m);
    rc = sc_ckpt_check_params(ck, ps, g_path, &err);
    fz_check_error("sc_ckpt_check_params", rc, &err, g_path);
    if (rc == SC_OK) {
        const float *sets[5] = {ck->params, ck->best, ck->m, ck->v, ck->ema};
        for (int i = 0; i < 5; i++) {
            if (!sets[i]) continue;
            sc_ckpt_unpack(ck, sets[i], ps, ps->data);
            size_t at = 0;
            int t = sc_params_nonfinite(ps, ps->data, &at);
            if (t >= ps->count) fz_fail("sc_params_nonfinite: tensor %d of %d", t, ps->count);
        }
    }
    sc_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const int variant = data[0] % FZ_CKPT_VARIANTS, what = (data[0] / 3) % 3;
    unlink(g_path);
    fz_h5_build(g_path, &g_t[variant], data + 1, size - 1);

    sc_err err = {0};
    int rc = sc_runlog_kind(g_path, &err);
    fz_check_error("sc_runlog_kind", rc, &err, g_path);

    sc_ckpt ck;
    memset(&err, 0, sizeof err);
    rc = sc_ckpt_load(g_path, what, &ck, &err);
    fz_check_error("sc_ckpt_load", rc, &err, g_path);
    if (rc == SC_OK) {
        if (what >= SC_CKPT_BEST && !ck.best) fz_fail("sc_ckpt_load: no best parameters");
        if (what >= SC_CKPT_ALL && (!ck.params || !ck.m)) fz_fail("sc_ckpt_load: no parameters or moments");
        if (!memchr(ck.st.run_id, '\0', sizeof ck.st.run_id) || !memchr(ck.log_name, '\0', sizeof ck.log_name) ||
            !memchr(ck.optimizer, '\0', sizeof ck.optimizer))
            fz_fail("sc_ckpt_load: unterminated strings");
        use(&ck);
    }
    sc_ckpt_free(&ck);
    fz_h5_check_closed("sc_ckpt_load");
    unlink(g_path);
    return 0;
}
