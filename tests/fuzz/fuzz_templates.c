/* fuzz_templates.c - a real run log and checkpoint for the HDF5 fuzz
 * harnesses, written by saccade's own writers (see fuzz_templates.h). */
#include "tests/fuzz/fuzz_templates.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/model.h"
#include "experiments/checkpoint.h"
#include "experiments/runlog.h"
#include "experiments/train.h"
#include "tests/fuzz/fuzz_common.h"

enum { G = 4, T = 3, C = 10, W = 28, GRID = 3, L = GRID * GRID, COLOUR = 3, CH = 20 };

/* the first: the colour template's names */
const char *const fz_name_strings[FZ_NAME_STRINGS] = {
    "zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nn\u00efne",
    "cat\ndog",
    "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10",
    "0\n1\n2\n3\n4\n\n6\n7\n8\n9",
    "0\n1\n2\n3\n4\n5\n6\n7\n8\n"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "0\n1\n2\n3\t\n4\n5\n6\n7\n8",
    "0\n1\n2\n3\n4\n5\n6\n7\n8\n\xe2\x80",
    "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n",
};

static const char *const LOG_INI[FZ_LOG_KINDS] = {
    "[model]\nkind = ram\nglimpses = 3\nhidden = 16\nglimpse_hidden = 8\nloc_hidden = 8\nglimpse_out = 16\n"
    "mc_samples = 2\n[train]\nepochs = 2\nthreads = 1\n[log]\nglimpse_images = 4\n",
    "[model]\nkind = soft\nglimpses = 3\ngrid = 3\nhidden = 16\nglimpse_hidden = 8\nloc_hidden = 8\n"
    "glimpse_out = 16\n[train]\nepochs = 2\nthreads = 1\n[log]\nglimpse_images = 4\n",
    "[model]\nkind = fc\nfc_layers = 1\nfc_hidden = 16\n[train]\nepochs = 2\nthreads = 1\n[log]\nglimpse_images = 0\n",
    "[model]\nkind = ram\nglimpses = 3\nhidden = 16\nglimpse_hidden = 8\nloc_hidden = 8\nglimpse_out = 16\n"
    "mc_samples = 2\n[train]\nepochs = 2\nthreads = 1\n[log]\nglimpse_images = 4\n",
};

static const char *const CKPT_INI[FZ_CKPT_VARIANTS] = {
    "[model]\nkind = ram\nglimpses = 3\nhidden = 16\nglimpse_hidden = 8\nloc_hidden = 8\nglimpse_out = 16\n"
    "[train]\nepochs = 2\nthreads = 1\noptimizer = adam\n",
    "[model]\nkind = ram\nglimpses = 2\nhidden = 8\nglimpse_hidden = 8\nloc_hidden = 4\nglimpse_out = 8\n"
    "core = lstm\n[train]\nepochs = 2\nthreads = 1\noptimizer = sgd\nlr_schedule = constant\nema = 0.99\n",
    "[model]\nkind = fc\nfc_layers = 1\nfc_hidden = 16\n[train]\nepochs = 2\nthreads = 1\noptimizer = adam\n",
};

void fz_template_config(sc_config *c, int ckpt, int i) {
    sc_err err = {0};
    sc_config_defaults(c);
    const char *ini = ckpt ? CKPT_INI[i % FZ_CKPT_VARIANTS] : LOG_INI[i % FZ_LOG_KINDS];
    if (sc_config_load_string(c, ini, "template.ini", &err) != SC_OK || sc_config_validate(c, &err) != SC_OK)
        fz_fail("template config %d: %s", i, err.msg);
}

void fz_make_runlog(const char *path, int kind) {
    sc_config c;
    fz_template_config(&c, 0, kind);
    char *text = sc_config_to_string(&c);
    if (!text) fz_fail("out of memory");
    static const char *const kinds[FZ_LOG_KINDS] = {"ram", "soft", "fc", "ram"};
    const int colour = kind == COLOUR, H = colour ? CH : W, nch = colour ? 3 : 1;
    sc_runlog_meta m = {FZ_RUN_ID, "saccade train template.ini", "template.ini", LOG_INI[kind], text, "log.ckpt.h5",
                        1, 1, 1234, 5.0e4, 900, 100, 1000, C, W, 30, kinds[kind], 1.5e5, 384, 1000,
                        colour ? H : 0, colour ? W : 0, colour ? 3 : 0, colour ? fz_name_strings[0] : NULL};
    uint8_t images[G * W * W * 3];
    int32_t labels[G], index[G];
    float grid[L * 2];
    for (int i = 0; i < G * H * W * nch; i++) images[i] = (uint8_t)(i * 7);
    for (int i = 0; i < G; i++) labels[i] = i % C, index[i] = 10 * i;
    for (int i = 0; i < L; i++) grid[2 * i] = -0.5f + 0.5f * (float)(i % GRID), grid[2 * i + 1] = -0.5f + 0.5f * (float)(i / GRID);
    sc_runlog_glimpse_set gs = {G, T, C, W, "val", images, labels, index, kind == 1 ? L : 0, grid,
                                colour ? H : 0, colour ? W : 0, colour ? 3 : 0};
    sc_runlog *log = NULL;
    sc_err err = {0};
    if (sc_runlog_create(&log, path, &m, kind == 2 ? NULL : &gs, &err) != SC_OK) fz_fail("template log: %s", err.msg);
    int bad = 0;
    for (int i = 0; i < 5; i++) {
        sc_runlog_train_row r = {10 * (i + 1), 1 + i / 3, 0.1 * i, 1000, 2.3f - 0.1f * i, 0.1f, 0.01f, 0.3f, 0.2f,
                                 1.5f, 1e-3f, 0.15f, 0.2f, 0.1f, kind == 1 ? 1.5f : NAN, kind == 1 ? 0.3f : NAN,
                                 kind == 1 ? NAN : 0.05f};
        bad |= sc_runlog_append_train(log, &r, &err);
    }
    for (int e = 1; e <= 2; e++) {
        sc_runlog_eval_row r = {e, 15 * e, 1.0 * e, 50.0f / e, 45.0f / e, 50.0f / e, 1, 1e-3f, 0.15f, 2.0f, 0.1f,
                                0.01f, 0.4f, 1.2f, 1000, 1.5f};
        bad |= sc_runlog_append_eval(log, &r, &err);
        sc_runlog_ckpt_row k = {e, 0, 15 * e, 1.0 * e, e, 50.0f / e};
        bad |= sc_runlog_append_checkpoint(log, &k, &err);
    }
    float loc[G * T * 2], probs[G * T * C], reward[G], att[G * T * L];
    int32_t pred[G];
    for (int i = 0; i < G * T * 2; i++) loc[i] = 0.1f * (float)(i % 5) - 0.2f;
    for (int i = 0; i < G * T * C; i++) probs[i] = 1.0f / C;
    for (int i = 0; i < G * T * L; i++) att[i] = 1.0f / L;
    for (int i = 0; i < G; i++) pred[i] = i % C, reward[i] = 1.0f;
    for (int e = 0; e <= 2 && kind != 2; e++) {
        sc_runlog_glimpse_rec g = {e, 15 * e, loc, probs, pred, reward, att};
        bad |= sc_runlog_append_glimpses(log, &g, &err);
    }
    sc_runlog_test_row t = {2, 30, 2.5, 2, 25.0f, 24.0f, 22.0f, 2, SC_END_FINISHED, 35.0f, 3.0};
    bad |= sc_runlog_append_test(log, &t, &err);
    bad |= sc_runlog_end_session(log, SC_END_FINISHED, 2, 30, &err);
    if (bad) fz_fail("template log: %s", err.msg);
    sc_runlog_close(log);
    free(text);
}

void fz_make_ckpt(const char *path, int variant) {
    sc_config c;
    fz_template_config(&c, 1, variant);
    sc_model_cfg mc;
    sc_model_cfg_from_config(&mc, &c, W, C, 1);
    sc_model *m = NULL;
    sc_err err = {0};
    if (sc_model_create(&m, &mc, &err) != SC_OK) fz_fail("template model: %s", err.msg);
    sc_rng r;
    sc_rng_seed(&r, 1);
    sc_model_init_params(m, &r);
    sc_params *ps = sc_model_params(m);
    sc_optim opt;
    if (sc_optim_create(&opt, !strcmp(c.optimizer, "sgd") ? SC_OPT_SGD : SC_OPT_ADAM, ps->n, &err) != SC_OK)
        fz_fail("template optimizer: %s", err.msg);
    if (c.ema > 0 && sc_optim_enable_ema(&opt, c.ema, ps->data, &err) != SC_OK) fz_fail("template ema: %s", err.msg);
    for (size_t i = 0; i < ps->n; i++) {
        opt.m[i] = 1e-3f * (float)(i % 7);
        if (opt.v) opt.v[i] = 1e-6f * (float)(i % 5);
    }
    opt.t = 30;
    sc_ckpt_state st;
    memset(&st, 0, sizeof st);
    snprintf(st.run_id, sizeof st.run_id, "%s", FZ_RUN_ID);
    st.epoch = 2;
    st.step = 30;
    st.images_total = 1800;
    st.train_seconds = 3.0;
    st.best_val_err = 25.0;
    st.best_epoch = 2;
    st.best_std = 0.15f;
    sc_rng_seed(&st.rloc, 2);
    st.lr_cur = 1e-3f;
    st.lr_best = INFINITY;
    st.optim_t = 30;
    st.log_rows_train = 5;
    st.log_rows_eval = 2;
    st.log_rows_glimpses = 3;
    st.baseline_ema = NAN;
    st.epoch_acc.att_entropy = st.epoch_acc.att_max = NAN;
    st.row_acc.att_entropy = st.row_acc.att_max = NAN;
    if (sc_ckpt_save(path, "log.h5", &c, &st, ps, ps->data, &opt, &err) != SC_OK) fz_fail("template checkpoint: %s", err.msg);
    sc_optim_free(&opt);
    sc_model_free(m);
}
