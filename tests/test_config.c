/* test_config.c - the experiment configuration (experiments/config.c):
 * defaults, loading, every class of bad input (Limits), --set, value
 * spellings, write/load round trips, cross-key validation, the key reference.
 *
 * Files are written under a fresh mkdtemp directory in the build tree, made
 * and removed by an unchecked fixture (it runs in the parent process, so the
 * cleanup happens even when a test fails in its forked child).
 */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiments/config.h"
#include "testutil.h"

#define NKEYS_EXPECTED 74 /* 14 [data] + 36 [model] + 20 [train] + 4 [log] */


/* Writes len bytes of text (strlen if len is 0) to tmpdir/name; path out. */
static void write_file_n(char *path, size_t pathlen, const char *name, const char *text, size_t len) {
    snprintf(path, pathlen, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    if (len == 0) len = strlen(text);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_file(char *path, size_t pathlen, const char *name, const char *text) {
    write_file_n(path, pathlen, name, text, 0);
}

/* A config that differs from the defaults, so "unchanged" is a real claim. */
static void nondefault_config(sc_config *c) {
    sc_err err = {0};
    sc_config_defaults(c);
    static const char *const sets[] = { "model.glimpses=9", "train.lr=0.005", "data.dir=/x/y",
                                        "model.core=lstm", "train.seed=42", "model.baseline=no" };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        ck_assert_msg(sc_config_set(c, sets[i], &err) == SC_OK, "%s: %s", sets[i], err.msg);
}

/* Clears provenance so two configs can be compared with memcmp. */
static void clear_source(sc_config *c) { memset(c->source_path, 0, sizeof c->source_path); }

static int count_lines_starting(const char *text, const char *prefix) {
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, prefix, len) == 0) n++;
    return n;
}

/* Lines of the form "key = value" or "key =" in written config text. */
static int count_assignments(const char *text) {
    int n = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (*p != '#' && *p != '[' && *p != '\n' && strstr(p, " =") && strstr(p, " =") < strchr(p, '\n')) n++;
    return n;
}

/* ---- defaults ----------------------------------------------------------- */

START_TEST(test_defaults) {
    sc_config c;
    memset(&c, 0xAB, sizeof c);
    sc_config_defaults(&c);
    ck_assert_str_eq(c.dataset, "mnist");
    ck_assert_str_eq(c.data_dir, "");
    ck_assert_str_eq(c.canvas, "plain");
    ck_assert_int_eq(c.canvas_size, 60);
    ck_assert_int_eq(c.distractors, 4);
    ck_assert_int_eq(c.distractor_size, 8);
    ck_assert_int_eq(c.val_size, 5000);
    ck_assert_int_eq(c.max_train, 0);

    ck_assert_str_eq(c.kind, "ram");
    ck_assert_int_eq(c.glimpses, 6);
    ck_assert_int_eq(c.glimpse_size, 8);
    ck_assert_int_eq(c.scales, 1);
    ck_assert_int_eq(c.glimpse_hidden, 128);
    ck_assert_int_eq(c.loc_hidden, 128);
    ck_assert_int_eq(c.glimpse_out, 256);
    ck_assert_str_eq(c.core, "rnn");
    ck_assert_int_eq(c.hidden, 256);
    ck_assert_str_eq(c.loc_net, "linear");
    ck_assert_int_eq(c.loc_net_hidden, 64);
    ck_assert(c.loc_std == 0.1f);
    ck_assert(c.loc_std_final == 0.0f);
    ck_assert(c.loc_std_anneal == 1.0f);
    ck_assert_str_eq(c.first_loc, "random");
    ck_assert_int_eq(c.baseline, 1);
    ck_assert_int_eq(c.reinforce, 1);
    ck_assert(c.reinforce_weight == 1.0f);
    ck_assert_int_eq(c.mc_samples, 10);
    ck_assert_int_eq(c.grid, 7);
    ck_assert_str_eq(c.score, "dot");
    ck_assert_int_eq(c.att_hidden, 128);
    ck_assert_int_eq(c.fc_layers, 2);
    ck_assert_int_eq(c.fc_hidden, 256);
    ck_assert_int_eq(c.patch, 4);
    ck_assert_int_eq(c.d_model, 64);
    ck_assert_int_eq(c.heads, 4);
    ck_assert_int_eq(c.blocks, 2);
    ck_assert_int_eq(c.mlp_hidden, 128);
    ck_assert_str_eq(c.pos_enc, "learned");
    ck_assert_str_eq(c.readout, "query");
    ck_assert_int_eq(c.causal, 0);

    ck_assert(c.seed == 1);
    ck_assert_int_eq(c.threads, 2);
    ck_assert_int_eq(c.epochs, 20);
    ck_assert_int_eq(c.batch_size, 128);
    ck_assert_int_eq(c.eval_batch, 0);
    ck_assert_str_eq(c.optimizer, "adam");
    ck_assert(c.lr == 0.001f);
    ck_assert_str_eq(c.lr_schedule, "constant");
    ck_assert(c.lr_final == 1e-5f);
    ck_assert_int_eq(c.lr_step_epochs, 10);
    ck_assert(c.lr_gamma == 0.5f);
    ck_assert_int_eq(c.lr_patience, 5);
    ck_assert(c.momentum == 0.9f);
    ck_assert(c.weight_decay == 0.0f);
    ck_assert(c.clip == 0.0f);
    ck_assert_int_eq(c.early_stop, 0);
    ck_assert_int_eq(c.log_every, 100);

    ck_assert_int_eq(c.train_every, 10);
    ck_assert_int_eq(c.glimpse_images, 64);
    ck_assert_int_eq(c.glimpse_every, 1);
    ck_assert_int_eq(c.attn_token, -1);
    ck_assert_str_eq(c.source_path, "");

    /* Every byte is determined (padding and string tails included). */
    sc_config d;
    memset(&d, 0x11, sizeof d);
    sc_config_defaults(&d);
    ck_assert(memcmp(&c, &d, sizeof c) == 0);

    sc_err err = {0};
    ck_assert_msg(sc_config_validate(&c, &err) == SC_OK, "%s", err.msg);
}
END_TEST

START_TEST(test_data_dir) {
    sc_config c;
    sc_err err = {0};
    sc_config_defaults(&c);
    ck_assert_str_eq(sc_config_data_dir(&c), "data/mnist");
    ck_assert_int_eq(sc_config_set(&c, "data.dataset=fashion", &err), SC_OK);
    ck_assert_str_eq(sc_config_data_dir(&c), "/usr/share/datasets/fashion-mnist");
    ck_assert_int_eq(sc_config_set(&c, "data.dir=/somewhere/else", &err), SC_OK);
    ck_assert_str_eq(sc_config_data_dir(&c), "/somewhere/else");
}
END_TEST

/* ---- loading a good file ---------------------------------------------------- */

START_TEST(test_load_good) {
    char path[PATH_MAX + 64];
    write_file(path, sizeof path, "good.ini",
               "\xEF\xBB\xBF# saccade test config\r\n"
               "; another comment style\r\n"
               "\r\n"
               "[data]\r\n"
               "dataset = fashion   ; inline comment\r\n"
               "dir = /tmp/some dir#not-a-comment;nor-this\r\n"
               "canvas=cluttered\r\n"
               "  canvas_size\t=\t100\t# tab separated\r\n"
               "[ model ]\n"
               "core = lstm\n"
               "loc_std = 0.25\n"
               "baseline = off\n"
               "[train]\n"
               "seed = 18446744073709551615\n"
               "lr = 3e-4\n"
               "momentum = 0.999\n"
               "[model]\n"
               "glimpses = 8\n"
               "loc_std_final = 0.05");
    sc_config c;
    sc_err err = {0};
    sc_config_defaults(&c);
    ck_assert_msg(sc_config_load(&c, path, &err) == SC_OK, "%s", err.msg);
    ck_assert_str_eq(c.dataset, "fashion");
    ck_assert_str_eq(c.data_dir, "/tmp/some dir#not-a-comment;nor-this");
    ck_assert_str_eq(c.canvas, "cluttered");
    ck_assert_int_eq(c.canvas_size, 100);
    ck_assert_str_eq(c.core, "lstm");
    ck_assert(c.loc_std == 0.25f);
    ck_assert_int_eq(c.baseline, 0);
    ck_assert(c.seed == UINT64_MAX);
    ck_assert(c.lr == 3e-4f);
    ck_assert(c.momentum == 0.999f);
    ck_assert_int_eq(c.glimpses, 8);
    ck_assert(c.loc_std_final == 0.05f);
    ck_assert_str_eq(c.source_path, path);

    /* Keys the file does not name keep their values. */
    sc_config d;
    sc_config_defaults(&d);
    ck_assert_int_eq(c.distractors, d.distractors);
    ck_assert_int_eq(c.hidden, d.hidden);
    ck_assert(c.lr_final == d.lr_final);
    ck_assert_msg(sc_config_validate(&c, &err) == SC_OK, "%s", err.msg);

    /* A key may be set again by a second file (duplicates are per file). */
    char path2[PATH_MAX + 64];
    write_file(path2, sizeof path2, "good2.ini", "[model]\nglimpses = 3\n");
    ck_assert_msg(sc_config_load(&c, path2, &err) == SC_OK, "%s", err.msg);
    ck_assert_int_eq(c.glimpses, 3);
    ck_assert_str_eq(c.core, "lstm");
    ck_assert_str_eq(c.source_path, path2);

    /* An empty file changes nothing but the provenance. */
    char path3[PATH_MAX + 64];
    write_file_n(path3, sizeof path3, "empty.ini", "", 0);
    sc_config before;
    memcpy(&before, &c, sizeof c);
    ck_assert_msg(sc_config_load(&c, path3, &err) == SC_OK, "%s", err.msg);
    clear_source(&before);
    sc_config after;
    memcpy(&after, &c, sizeof c);
    clear_source(&after);
    ck_assert(memcmp(&before, &after, sizeof before) == 0);
}
END_TEST

/* ---- Limits: bad files ------------------------------------------------------ */

/* Each case: a file whose first lines are valid and change the config, then a
 * bad line. The load must fail with SC_ECONFIG, the message must start with
 * "path:line: " and contain both needles, and the config must be untouched. */
typedef struct bad_case {
    const char *text;
    size_t len;          /* 0 = strlen(text); set for embedded NUL bytes */
    int line;
    const char *needle1, *needle2;
} bad_case;

#define P "# prefix\n[train]\nepochs = 77\n" /* lines 1-3 */
#define LONG300 /* 300 bytes */ \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const bad_case bad_cases[] = {
    /* structure */
    { P "[modle]\n", 0, 4, "[modle]: unknown section", "did you mean [model]?" },
    { P "[optimizer]\n", 0, 4, "unknown section", "expected [data], [model], [train] or [log]" },
    { P "[log]\nglimpse_images = 2000\n", 0, 5, "[log] glimpse_images = 2000: out of range",
      "an integer in 0..1024" },
    { P "[log]\nglimpse_every = 0\n", 0, 5, "[log] glimpse_every = 0: out of range", "1..100000" },
    { P "[model\n", 0, 4, "'[model': malformed section header", "expected [data]" },
    { P "[model] x\n", 0, 4, "malformed section header", "[model] x" },
    { P "[model]\nglimpses 6\n", 0, 5, "'glimpses 6': malformed line", "expected [section], key = value" },
    { P "= 5\n", 0, 4, "missing the key", "= 5" },
    { "\n; comment\nglimpses = 6\n[model]\n", 0, 3, "'glimpses = 6': key outside any section",
      "header before it" },
    { P "[model]\nglimpse = 6\n", 0, 5, "[model] glimpse = 6: unknown key in [model]",
      "did you mean 'glimpses'?" },
    { P "[model]\nfrobnicate = 6\n", 0, 5, "[model] frobnicate = 6: unknown key", "saccade config --doc" },
    { P "[model]\nlr = 0.1\n", 0, 5, "[model] lr = 0.1: unknown key", "lr is a key of [train]" },
    { P "[data]\nlr_gama = 0.1\n", 0, 5, "unknown key", "did you mean 'lr_gamma' in [train]?" },
    { P "[model]\nGlimpses = 6\n", 0, 5, "unknown key", "did you mean 'glimpses'?" },
    { P "epochs = 78\n", 0, 4, "[train] epochs = 78: duplicate key", "already set at line 3" },
    { P "[model]\nglimpses = 6\n\n[train]\n[model]\nglimpses = 7\n", 0, 9,
      "[model] glimpses = 7: duplicate key", "already set at line 5" },
    { "[train]\nepochs = 7\0 8\n", sizeof "[train]\nepochs = 7\0 8\n" - 1, 2, "NUL byte",
      "expected text" },
    /* int */
    { P "[model]\nglimpses = 0\n", 0, 5, "[model] glimpses = 0: out of range",
      "expected an integer in 1..64" },
    { P "[model]\nglimpses = 65\n", 0, 5, "glimpses = 65: out of range", "1..64" },
    { P "[model]\nglimpses = 1.5\n", 0, 5, "glimpses = 1.5: not an integer", "1..64" },
    { P "[model]\nglimpses = 6x\n", 0, 5, "glimpses = 6x: not an integer", "1..64" },
    { P "[model]\nglimpses = 6;x\n", 0, 5, "glimpses = 6;x: not an integer", "1..64" },
    { P "[model]\nglimpses = 6 7\n", 0, 5, "glimpses = 6 7: not an integer", "1..64" },
    { P "[model]\nglimpses = 0x10\n", 0, 5, "not an integer", "1..64" },
    { P "[model]\nglimpses = 1e1\n", 0, 5, "not an integer", "1..64" },
    { P "[model]\nglimpses =\n", 0, 5, "[model] glimpses =: missing value", "1..64" },
    { P "[model]\nglimpses = ; comment only\n", 0, 5, "missing value", "1..64" },
    { P "[model]\nglimpses = 99999999999999999999\n", 0, 5, "out of range", "1..64" },
    { P "[model]\nhidden = 2147483648\n", 0, 5, "hidden = 2147483648: out of range", "1..4096" },
    { P "[model]\nhidden = -4294967295\n", 0, 5, "out of range", "1..4096" },
    /* uint64 */
    { P "seed = -1\n", 0, 4, "seed = -1: negative", "0..18446744073709551615" },
    { P "seed = 18446744073709551616\n", 0, 4, "out of range", "an unsigned integer" },
    { P "seed = 1.0\n", 0, 4, "not an integer", "an unsigned integer" },
    /* float */
    { P "[model]\nloc_std = nan\n", 0, 5, "loc_std = nan: not a finite number",
      "expected a number in 0.001..1" },
    { P "[model]\nloc_std = inf\n", 0, 5, "not a finite number", "0.001..1" },
    { P "[model]\nloc_std = -Infinity\n", 0, 5, "not a finite number", "0.001..1" },
    { P "[model]\nloc_std = 0.1abc\n", 0, 5, "loc_std = 0.1abc: not a number", "0.001..1" },
    { P "[model]\nloc_std = 2\n", 0, 5, "loc_std = 2: out of range", "0.001..1" },
    { P "[model]\nloc_std = 0.0009\n", 0, 5, "out of range", "0.001..1" },
    { P "[model]\nloc_std = \n", 0, 5, "missing value", "0.001..1" },
    { P "clip = 1e999\n", 0, 4, "clip = 1e999: out of range", "0..1e+06" },
    { P "lr = 0\n", 0, 4, "lr = 0: out of range", "1e-07..10" },
    /* bool */
    { P "[model]\nbaseline = maybe\n", 0, 5, "baseline = maybe: not a boolean",
      "expected true/false, yes/no, on/off or 1/0" },
    { P "[model]\nbaseline = 2\n", 0, 5, "not a boolean", "true/false" },
    /* enum */
    { P "[model]\ncore = LSTM\n", 0, 5, "core = LSTM: unknown word (words are case-sensitive)",
      "expected one of rnn|lstm" },
    { P "[model]\ncore = gru\n", 0, 5, "core = gru: unknown word", "expected one of rnn|lstm" },
    { P "lr_schedule = cosine\n", 0, 4, "unknown word", "constant|linear|step|plateau" },
    { P "nonfinite = ignore\n", 0, 4, "[train] nonfinite = ignore: unknown word", "expected one of stop|skip" },
    { P "[data]\ndataset = mnistmnistmnistmnistmnist\n", 0, 5, "unknown word", "mnist|fashion" },
    /* string */
    { P "[data]\ndir = " LONG300 "\n", 0, 5, "too long (300 bytes)", "at most 255 bytes" },
    { P "[data]\ndir = a\tb\x01" "c\n", 0, 5, "control character", "at most 255 bytes" },
};
#define NBAD ((int)(sizeof bad_cases / sizeof bad_cases[0]))

START_TEST(test_load_bad) {
    const bad_case *bc = &bad_cases[_i];
    char name[32], path[PATH_MAX + 64], prefix[PATH_MAX + 96];
    snprintf(name, sizeof name, "bad%02d.ini", _i);
    write_file_n(path, sizeof path, name, bc->text, bc->len);

    sc_config c, before;
    nondefault_config(&c);
    memcpy(&before, &c, sizeof c);
    sc_err err = {0};
    int rc = sc_config_load(&c, path, &err);
    ck_assert_msg(rc == SC_ECONFIG, "case %d: rc %d, msg '%s'", _i, rc, err.msg);
    ck_assert_int_eq(err.code, SC_ECONFIG);
    snprintf(prefix, sizeof prefix, "%s:%d: ", path, bc->line);
    ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0, "case %d: '%s' does not start with '%s'",
                  _i, err.msg, prefix);
    ck_assert_msg(strstr(err.msg, bc->needle1) != NULL, "case %d: '%s' lacks '%s'", _i, err.msg,
                  bc->needle1);
    ck_assert_msg(strstr(err.msg, bc->needle2) != NULL, "case %d: '%s' lacks '%s'", _i, err.msg,
                  bc->needle2);
    ck_assert_msg(memcmp(&c, &before, sizeof c) == 0, "case %d: config changed by a failed load", _i);
}
END_TEST

/* The echo of a huge line is cut, and the message still names file:line. */
START_TEST(test_load_bad_long_line) {
    size_t n = 100000;
    char *text = malloc(n + 32);
    ck_assert_ptr_nonnull(text);
    strcpy(text, "[model]\nglimpses = ");
    size_t off = strlen(text);
    memset(text + off, '9', n);
    strcpy(text + off + n, "\n");
    char path[PATH_MAX + 64], prefix[PATH_MAX + 96];
    write_file(path, sizeof path, "long.ini", text);
    free(text);
    sc_config c, before;
    nondefault_config(&c);
    memcpy(&before, &c, sizeof c);
    sc_err err = {0};
    ck_assert_int_eq(sc_config_load(&c, path, &err), SC_ECONFIG);
    snprintf(prefix, sizeof prefix, "%s:2: [model] glimpses = 999", path);
    ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "...: out of range, expected an integer in 1..64"), "%s", err.msg);
    ck_assert(memcmp(&c, &before, sizeof c) == 0);
}
END_TEST

START_TEST(test_load_io_errors) {
    sc_config c, before;
    nondefault_config(&c);
    memcpy(&before, &c, sizeof c);
    sc_err err = {0};
    char path[PATH_MAX + 64];

    snprintf(path, sizeof path, "%s/does-not-exist.ini", tmpdir);
    ck_assert_int_eq(sc_config_load(&c, path, &err), SC_EIO);
    ck_assert_int_eq(err.code, SC_EIO);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, "No such file"), "%s", err.msg);
    ck_assert(memcmp(&c, &before, sizeof c) == 0);

    /* A directory opens but cannot be read. */
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(sc_config_load(&c, tmpdir, &err), SC_EIO);
    ck_assert_msg(strstr(err.msg, tmpdir) && strstr(err.msg, "cannot read"), "%s", err.msg);
    ck_assert(memcmp(&c, &before, sizeof c) == 0);

    /* A NULL err is allowed. */
    ck_assert_int_eq(sc_config_load(&c, path, NULL), SC_EIO);
}
END_TEST

/* ---- loading text (the config stored in a model file) ----------------------- */

START_TEST(test_load_string) {
    sc_config c, before;
    sc_err err = {0};
    nondefault_config(&c);

    /* Good text, with the last line unterminated. */
    ck_assert_msg(sc_config_load_string(&c, "\xEF\xBB\xBF[model]\r\nglimpses = 12 ; c\n\n[train]\nlr = 0.02",
                                        "run.model", &err) == SC_OK, "%s", err.msg);
    ck_assert_int_eq(c.glimpses, 12);
    ck_assert(c.lr == 0.02f);
    ck_assert_str_eq(c.core, "lstm"); /* untouched */
    ck_assert_str_eq(c.source_path, "run.model");

    /* Errors name name:line and leave c unchanged. */
    memcpy(&before, &c, sizeof c);
    static const struct { const char *text, *prefix, *needle; } bad[] = {
        { "[model]\nglimpses = 3\nscales = 9\n", "run.model:3: [model] scales = 9: out of range", "1..8" },
        { "[train]\nepochs = 3\n\nepochs = 4", "run.model:4: [train] epochs = 4: duplicate", "line 2" },
        { "[model]\nbogus", "run.model:2: 'bogus': malformed line", "key = value" },
        { "glimpses = 3", "run.model:1: 'glimpses = 3': key outside any section", "header" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(sc_config_load_string(&c, bad[i].text, "run.model", &err), SC_ECONFIG);
        ck_assert_msg(strncmp(err.msg, bad[i].prefix, strlen(bad[i].prefix)) == 0, "'%s'", err.msg);
        ck_assert_msg(strstr(err.msg, bad[i].needle) != NULL, "'%s' lacks '%s'", err.msg, bad[i].needle);
        ck_assert_msg(memcmp(&c, &before, sizeof c) == 0, "case %zu changed the config", i);
    }

    /* The written text reads back to the same config. */
    char *tx = sc_config_to_string(&c);
    ck_assert_ptr_nonnull(tx);
    sc_config back;
    sc_config_defaults(&back);
    ck_assert_msg(sc_config_load_string(&back, tx, "again", &err) == SC_OK, "%s", err.msg);
    free(tx);
    clear_source(&back);
    clear_source(&before);
    ck_assert(memcmp(&back, &before, sizeof back) == 0);
}
END_TEST

/* ---- --set ---------------------------------------------------------------- */

START_TEST(test_set) {
    sc_config c, d;
    sc_err err = {0};
    sc_config_defaults(&c);
    ck_assert_int_eq(sc_config_set(&c, "model.glimpses=7", &err), SC_OK);
    ck_assert_int_eq(c.glimpses, 7);
    ck_assert_int_eq(sc_config_set(&c, "  train.lr = 0.01  ", &err), SC_OK);
    ck_assert(c.lr == 0.01f);
    ck_assert_int_eq(sc_config_set(&c, "train.seed=12345678901234", &err), SC_OK);
    ck_assert(c.seed == 12345678901234ULL);
    ck_assert_int_eq(sc_config_set(&c, "data.dir=/a b/c=d", &err), SC_OK);
    ck_assert_str_eq(c.data_dir, "/a b/c=d");
    ck_assert_int_eq(sc_config_set(&c, "model.loc_net=mlp", &err), SC_OK);
    ck_assert_str_eq(c.loc_net, "mlp");
    ck_assert_str_eq(c.source_path, "");

    /* Setting a shorter string leaves no tail of the longer one. */
    ck_assert_int_eq(sc_config_set(&c, "data.dir=", &err), SC_OK);
    ck_assert_str_eq(c.data_dir, "");
    sc_config_defaults(&d);
    ck_assert(memcmp(c.data_dir, d.data_dir, sizeof c.data_dir) == 0);

    /* A string fills its field up to the NUL: 255 bytes fit, 256 do not. */
    char arg[300];
    snprintf(arg, sizeof arg, "data.dir=%.255s", LONG300);
    ck_assert_msg(sc_config_set(&c, arg, &err) == SC_OK, "%s", err.msg);
    ck_assert_uint_eq(strlen(c.data_dir), 255);
    snprintf(arg, sizeof arg, "data.dir=%.256s", LONG300);
    ck_assert_int_eq(sc_config_set(&c, arg, &err), SC_ECONFIG);
    ck_assert_msg(strstr(err.msg, "too long (256 bytes), expected a string of at most 255 bytes"), "%s",
                  err.msg);
    ck_assert_uint_eq(strlen(c.data_dir), 255);

    /* Every allowed word of every enum is accepted and fits its field. */
    static const char *const words[] = {
        "data.dataset=mnist", "data.dataset=fashion", "data.canvas=plain",
        "data.canvas=translated", "data.canvas=cluttered", "model.kind=ram",
        "model.kind=soft", "model.kind=fc", "model.score=dot", "model.score=additive",
        "model.core=rnn", "model.core=lstm", "model.loc_net=linear", "model.loc_net=mlp",
        "model.first_loc=random", "model.first_loc=center", "model.test_policy=mean", "train.optimizer=adam",
        "train.optimizer=sgd", "train.lr_schedule=constant", "train.lr_schedule=linear",
        "train.lr_schedule=step", "train.lr_schedule=plateau",
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        ck_assert_msg(sc_config_set(&c, words[i], &err) == SC_OK, "%s: %s", words[i], err.msg);
        char *tx = sc_config_to_string(&c);
        ck_assert_ptr_nonnull(tx);
        const char *dot = strchr(words[i], '.'), *eq = strchr(words[i], '=');
        char line[64];
        snprintf(line, sizeof line, "\n%.*s = %s\n", (int)(eq - dot - 1), dot + 1, eq + 1);
        ck_assert_msg(strstr(tx, line) != NULL, "%s not written back", words[i]);
        free(tx);
    }
}
END_TEST

typedef struct bad_set {
    const char *arg;
    const char *needle1, *needle2;
} bad_set;

static const bad_set bad_sets[] = {
    { "model.glimpses=0", "--set model.glimpses=0: out of range", "expected an integer in 1..64" },
    { "model.glimpses=seven", "--set model.glimpses=seven: not an integer", "1..64" },
    { "model.glimpse=7", "--set model.glimpse=7: unknown key in [model]", "did you mean model.glimpses?" },
    { "model.lr=0.1", "unknown key", "did you mean train.lr?" },
    { "modle.glimpses=7", "unknown section 'modle'", "did you mean [model]?" },
    { "glimpses=7", "--set glimpses=7: malformed", "expected section.key=value" },
    { "model.glimpses", "malformed", "expected section.key=value" },
    { "model.=7", "malformed", "expected section.key=value" },
    { ".glimpses=7", "malformed", "expected section.key=value" },
    { "model.core=GRU", "unknown word", "rnn|lstm" },
    { "model.baseline=yep", "not a boolean", "true/false" },
    { "train.lr=nan", "not a finite number", "1e-07..10" },
    { "train.seed=-5", "negative", "unsigned" },
    { "data.dir=/a #b", "would start a comment", "at most 255 bytes" },
    { "data.dir=;b", "would start a comment", "at most 255 bytes" },
    { "data.dir=a\nb", "control character", "at most 255 bytes" },
    { "data.dir=" LONG300, "too long (300 bytes)", "at most 255 bytes" },
};
#define NBADSET ((int)(sizeof bad_sets / sizeof bad_sets[0]))

START_TEST(test_set_bad) {
    const bad_set *bs = &bad_sets[_i];
    sc_config c, before;
    nondefault_config(&c);
    memcpy(&before, &c, sizeof c);
    sc_err err = {0};
    int rc = sc_config_set(&c, bs->arg, &err);
    ck_assert_msg(rc == SC_ECONFIG, "%s: rc %d", bs->arg, rc);
    ck_assert_int_eq(err.code, SC_ECONFIG);
    ck_assert_msg(strncmp(err.msg, "--set ", 6) == 0, "'%s'", err.msg);
    ck_assert_msg(strstr(err.msg, bs->needle1) != NULL, "'%s' lacks '%s'", err.msg, bs->needle1);
    ck_assert_msg(strstr(err.msg, bs->needle2) != NULL, "'%s' lacks '%s'", err.msg, bs->needle2);
    ck_assert_msg(memcmp(&c, &before, sizeof c) == 0, "%s changed the config", bs->arg);
}
END_TEST

/* ---- value spellings ------------------------------------------------------- */

START_TEST(test_bool_spellings) {
    static const char *const yes[] = { "true", "TRUE", "True", "yes", "YES", "Yes", "on", "ON", "On", "1" };
    static const char *const no[] = { "false", "FALSE", "False", "no", "NO", "No", "off", "OFF", "oFf", "0" };
    sc_config c;
    sc_err err = {0};
    char arg[64], path[PATH_MAX + 64], text[128];
    sc_config_defaults(&c);
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        c.reinforce = 0;
        snprintf(arg, sizeof arg, "model.reinforce=%s", yes[i]);
        ck_assert_msg(sc_config_set(&c, arg, &err) == SC_OK, "%s: %s", arg, err.msg);
        ck_assert_msg(c.reinforce == 1, "%s", arg);

        c.baseline = 1;
        snprintf(arg, sizeof arg, "model.baseline=%s", no[i]);
        ck_assert_msg(sc_config_set(&c, arg, &err) == SC_OK, "%s: %s", arg, err.msg);
        ck_assert_msg(c.baseline == 0, "%s", arg);

        /* The same spellings in a file. */
        snprintf(text, sizeof text, "[model]\nreinforce = %s\nbaseline = %s ; c\n", no[i], yes[i]);
        write_file(path, sizeof path, "bools.ini", text);
        ck_assert_msg(sc_config_load(&c, path, &err) == SC_OK, "%s", err.msg);
        ck_assert_int_eq(c.reinforce, 0);
        ck_assert_int_eq(c.baseline, 1);
    }
    static const char *const bad[] = { "tru", "y", "n", "2", "-1", "01", "truee", "yes please" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(arg, sizeof arg, "model.baseline=%s", bad[i]);
        ck_assert_msg(sc_config_set(&c, arg, &err) == SC_ECONFIG, "%s accepted", arg);
        ck_assert_msg(strstr(err.msg, "not a boolean"), "%s", err.msg);
    }
}
END_TEST

START_TEST(test_int_overflow) {
    sc_config c;
    sc_err err = {0};
    sc_config_defaults(&c);
    static const char *const too_big[] = {
        "model.hidden=2147483648", "model.hidden=-2147483649", "model.hidden=4294967297",
        "model.hidden=9223372036854775807", "model.hidden=9223372036854775808",
        "model.hidden=-9223372036854775809", "model.hidden=999999999999999999999999999",
        "train.log_every=1000001", "train.log_every=0", "data.max_train=1000000001",
        "train.seed=18446744073709551616", "train.seed=99999999999999999999999",
    };
    for (size_t i = 0; i < sizeof too_big / sizeof too_big[0]; i++) {
        sc_config before;
        memcpy(&before, &c, sizeof c);
        ck_assert_msg(sc_config_set(&c, too_big[i], &err) == SC_ECONFIG, "%s accepted", too_big[i]);
        ck_assert_msg(strstr(err.msg, "out of range"), "%s: %s", too_big[i], err.msg);
        ck_assert(memcmp(&c, &before, sizeof c) == 0);
    }
    /* The ends of each range are accepted. */
    static const char *const edge[] = { "model.hidden=4096", "model.hidden=1", "train.log_every=1000000",
                                        "data.max_train=1000000000", "train.seed=18446744073709551615",
                                        "train.seed=0", "model.hidden=+7", "model.hidden=0007" };
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
        ck_assert_msg(sc_config_set(&c, edge[i], &err) == SC_OK, "%s: %s", edge[i], err.msg);
    ck_assert_int_eq(c.hidden, 7);
    ck_assert(c.seed == 0);
    /* The ends of float ranges, spelled as in the table, are accepted too. */
    static const char *const fedge[] = { "model.loc_std=0.001", "model.loc_std=1", "train.lr=1e-7",
                                         "train.lr=10", "train.momentum=0.999", "train.lr_gamma=0.001",
                                         "train.clip=1e6", "train.clip=1000000" };
    for (size_t i = 0; i < sizeof fedge / sizeof fedge[0]; i++)
        ck_assert_msg(sc_config_set(&c, fedge[i], &err) == SC_OK, "%s: %s", fedge[i], err.msg);
}
END_TEST

/* ---- round trips ------------------------------------------------------------ */

static void roundtrip_check(const sc_config *c, const char *name) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(sc_config_write(c, f), SC_OK);
    ck_assert_int_eq(fclose(f), 0);

    sc_config back;
    sc_err err = {0};
    sc_config_defaults(&back);
    ck_assert_msg(sc_config_load(&back, path, &err) == SC_OK, "%s", err.msg);
    sc_config want;
    memcpy(&want, c, sizeof want);
    clear_source(&want);
    clear_source(&back);
    ck_assert_msg(memcmp(&want, &back, sizeof want) == 0, "%s: reloaded config differs", name);
}

START_TEST(test_roundtrip) {
    sc_config c;
    sc_err err = {0};
    sc_config_defaults(&c);
    roundtrip_check(&c, "rt_defaults.ini");
    char *dtx = sc_config_to_string(&c);
    ck_assert_ptr_nonnull(dtx);
    ck_assert_int_eq(count_assignments(dtx), NKEYS_EXPECTED); /* empty strings too */
    ck_assert_int_eq(count_lines_starting(dtx, "dir =\n"), 1);
    free(dtx);

    static const char *const sets[] = {
        "data.dataset=fashion", "data.dir=/data/a dir;x#y", "data.canvas=translated",
        "data.canvas_size=97", "data.distractors=0", "data.val_size=0", "data.max_train=123",
        "model.glimpses=64", "model.scales=3", "model.core=lstm", "model.loc_net=mlp",
        "model.loc_std=0.123456789", "model.loc_std_final=0.01", "model.first_loc=center",
        "model.baseline=false", "model.reinforce=no", "model.reinforce_weight=0.3333333",
        "train.seed=18446744073709551615", "train.lr=1e-7", "train.lr_schedule=plateau",
        "train.lr_final=0", "train.lr_gamma=0.7", "train.momentum=0.999",
        "train.weight_decay=1.17549435e-38", "train.clip=999999.94", "train.early_stop=3",
        "log.train_every=7", "log.glimpse_images=0", "log.glimpse_every=5",
        "model.kind=selfattn", "model.patch=7", "model.d_model=48", "model.heads=6", "model.blocks=3",
        "model.mlp_hidden=96", "model.pos_enc=none", "model.readout=mean", "model.causal=yes", "log.attn_token=-1",
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        ck_assert_msg(sc_config_set(&c, sets[i], &err) == SC_OK, "%s: %s", sets[i], err.msg);
    /* Provenance is written as a comment and does not disturb the reload. */
    snprintf(c.source_path, sizeof c.source_path, "some/where.ini");
    roundtrip_check(&c, "rt_custom.ini");

    /* The text: a header comment, the four sections in order, every key once. */
    char *tx = sc_config_to_string(&c);
    ck_assert_ptr_nonnull(tx);
    ck_assert_msg(tx[0] == '#', "no header comment");
    ck_assert(strstr(tx, "some/where.ini") != NULL);
    char *d = strstr(tx, "\n[data]\n"), *m = strstr(tx, "\n[model]\n"), *t = strstr(tx, "\n[train]\n");
    char *lg = strstr(tx, "\n[log]\n");
    ck_assert(d && m && t && lg && d < m && m < t && t < lg);
    ck_assert_int_eq(count_lines_starting(tx, "glimpse_every = 5\n"), 1);
    ck_assert_int_eq(count_assignments(tx), NKEYS_EXPECTED);
    ck_assert_int_eq(count_lines_starting(tx, "glimpses = 64"), 1);
    ck_assert_int_eq(count_lines_starting(tx, "lr = 1e-07"), 1);  /* shortest exact form */
    ck_assert_int_eq(count_lines_starting(tx, "momentum = 0.999\n"), 1);
    ck_assert_int_eq(count_lines_starting(tx, "dir = /data/a dir;x#y\n"), 1);

    /* sc_config_write and sc_config_to_string give the same text. */
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(sc_config_write(&c, f), SC_OK);
    long n = ftell(f);
    ck_assert_int_eq(n, (long)strlen(tx));
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    ck_assert_str_eq(buf, tx);
    free(buf);
    fclose(f);
    free(tx);
}
END_TEST

/* Random float bit patterns in each float key's range survive write + load
 * exactly (the writer prints the shortest form that reads back). */
START_TEST(test_roundtrip_floats) {
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    sc_config c;
    sc_config_defaults(&c);
    for (int it = 0; it < 300; it++) {
        float *fields[] = { &c.lr, &c.loc_std, &c.momentum, &c.reinforce_weight, &c.clip, &c.lr_final };
        float lo[] = { 1e-7f, 0.001f, 0.0f, 0.0f, 0.0f, 0.0f };
        float hi[] = { 10.0f, 1.0f, 0.999f, 100.0f, 1e6f, 10.0f };
        for (int j = 0; j < 6; j++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17; /* xorshift64 */
            uint32_t blo, bhi, b;
            memcpy(&blo, &lo[j], 4);
            memcpy(&bhi, &hi[j], 4);
            b = blo + (uint32_t)(s % (uint64_t)(bhi - blo + 1)); /* positive floats order as bits */
            memcpy(fields[j], &b, 4);
        }
        c.loc_std_final = 0;
        char name[32];
        snprintf(name, sizeof name, "rt_f%03d.ini", it);
        roundtrip_check(&c, name);
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s", tmpdir, name);
        unlink(path);
    }
}
END_TEST

/* ---- validate --------------------------------------------------------------- */

static void expect_invalid(const sc_config *c, const char *n1, const char *n2) {
    sc_err err = {0};
    ck_assert_int_eq(sc_config_validate(c, &err), SC_ECONFIG);
    ck_assert_int_eq(err.code, SC_ECONFIG);
    ck_assert_msg(strstr(err.msg, n1) != NULL, "'%s' lacks '%s'", err.msg, n1);
    ck_assert_msg(strstr(err.msg, n2) != NULL, "'%s' lacks '%s'", err.msg, n2);
}

static void expect_valid(const sc_config *c) {
    sc_err err = {0};
    ck_assert_msg(sc_config_validate(c, &err) == SC_OK, "%s", err.msg);
}

START_TEST(test_validate) {
    sc_config c;
    sc_config_defaults(&c);
    expect_valid(&c);

    /* lr_final <= lr, only for the linear schedule */
    c.lr = 0.001f;
    c.lr_final = 0.01f;
    expect_valid(&c); /* constant schedule: lr_final unused */
    snprintf(c.lr_schedule, sizeof c.lr_schedule, "linear");
    expect_invalid(&c, "lr_final = 0.01", "lr = 0.001");
    c.lr_final = 0.001f;
    expect_valid(&c);
    sc_config_defaults(&c);

    /* loc_std_final <= loc_std when annealing */
    c.loc_std = 0.1f;
    c.loc_std_final = 0.2f;
    expect_invalid(&c, "loc_std_final = 0.2", "loc_std = 0.1");
    c.loc_std_final = 0.05f;
    expect_valid(&c);
    c.loc_std_final = 0;
    expect_valid(&c);

    /* largest patch g * 2^(k-1) <= 4 x canvas side */
    c.glimpse_size = 8;
    c.scales = 4; /* 64 <= 112 */
    expect_valid(&c);
    c.scales = 5; /* 128 > 112 */
    expect_invalid(&c, "glimpse_size = 8", "scales = 5");
    c.glimpse_size = 28;
    c.scales = 3; /* 112, the edge */
    expect_valid(&c);
    c.glimpse_size = 29; /* 116 */
    expect_invalid(&c, "glimpse_size = 29", "canvas = plain");
    snprintf(c.canvas, sizeof c.canvas, "translated");
    c.canvas_size = 60;
    c.glimpse_size = 8;
    c.scales = 5; /* 128 <= 240 */
    expect_valid(&c);
    c.scales = 6; /* 256 > 240 */
    expect_invalid(&c, "scales = 6", "canvas = translated, canvas_size = 60");
    sc_config_defaults(&c);

    /* ... which does not apply to fc, which takes no glimpses */
    snprintf(c.kind, sizeof c.kind, "fc");
    c.scales = 8;
    expect_valid(&c);
    sc_config_defaults(&c);

    /* every kind runs at most 64 data-parallel workers */
    const char *kinds[] = {"ram", "soft", "fc", "selfattn"};
    for (int k = 0; k < 4; k++) {
        snprintf(c.kind, sizeof c.kind, "%s", kinds[k]);
        char want[64];
        snprintf(want, sizeof want, "kind = %s", kinds[k]);
        c.threads = 65;
        expect_invalid(&c, "threads = 65", want);
        c.threads = 64;
        expect_valid(&c);
    }
    sc_config_defaults(&c);

    /* soft: grid locations at least a pixel apart */
    snprintf(c.kind, sizeof c.kind, "soft");
    c.grid = 28;
    expect_valid(&c);
    c.grid = 29;
    expect_invalid(&c, "grid = 29", "28-pixel canvas");
    snprintf(c.kind, sizeof c.kind, "ram");
    expect_valid(&c); /* unused by ram */
    sc_config_defaults(&c);

    /* selfattn: patches tile the canvas, heads split d_model, sin2d needs quarters, the logged token exists */
    snprintf(c.kind, sizeof c.kind, "selfattn");
    expect_valid(&c);
    c.patch = 5;
    expect_invalid(&c, "[model] patch = 5", "28-pixel canvas");
    c.patch = 7;
    expect_valid(&c);
    snprintf(c.canvas, sizeof c.canvas, "cluttered");
    c.canvas_size = 60;
    c.patch = 7;
    expect_invalid(&c, "[model] patch = 7", "divides 60");
    c.patch = 6;
    expect_valid(&c);
    c.d_model = 66;
    expect_invalid(&c, "[model] d_model = 66", "heads = 4");
    c.heads = 6;
    expect_valid(&c);
    snprintf(c.pos_enc, sizeof c.pos_enc, "sin2d");
    expect_invalid(&c, "[model] d_model = 66", "pos_enc = sin2d");
    c.d_model = 48;
    expect_valid(&c);
    c.attn_token = 99;  /* 10 x 10 tokens */
    expect_valid(&c);
    c.attn_token = 100;
    expect_invalid(&c, "[log] attn_token = 100", "0..99");
    snprintf(c.kind, sizeof c.kind, "soft");
    c.patch = 7;
    c.d_model = 66;
    expect_valid(&c); /* unused by the other kinds */
    sc_config_defaults(&c);

    /* distractors are cut from 28x28 digits (cluttered canvases only use them) */
    c.distractor_size = 29;
    expect_valid(&c);
    snprintf(c.canvas, sizeof c.canvas, "cluttered");
    expect_invalid(&c, "distractor_size = 29", "<= 28");
    /* a user's own images are checked once loaded, against their size */
    snprintf(c.dataset, sizeof c.dataset, "folder");
    snprintf(c.data_dir, sizeof c.data_dir, "/some/where");
    expect_valid(&c);
    sc_err e2 = {0};
    ck_assert_int_eq(sc_config_check_images(&c, 40, 32, &e2), SC_OK);
    ck_assert_int_eq(sc_config_check_images(&c, 40, 28, &e2), SC_ECONFIG);
    ck_assert_msg(strstr(e2.msg, "distractor_size = 29") && strstr(e2.msg, "40x28") && strstr(e2.msg, "<= 28"),
                  "%s", e2.msg);
    c.canvas_size = 36;
    ck_assert_int_eq(sc_config_check_images(&c, 40, 32, &e2), SC_ECONFIG);
    ck_assert_msg(strstr(e2.msg, "canvas_size = 36") && strstr(e2.msg, ">= 40"), "%s", e2.msg);
    sc_config_defaults(&c);
    snprintf(c.dataset, sizeof c.dataset, "folder");
    snprintf(c.data_dir, sizeof c.data_dir, "/some/where");
    c.shift = 5;
    ck_assert_int_eq(sc_config_check_images(&c, 6, 9, &e2), SC_OK);
    ck_assert_int_eq(sc_config_check_images(&c, 5, 9, &e2), SC_ECONFIG);
    ck_assert_msg(strstr(e2.msg, "shift = 5") && strstr(e2.msg, "<= 4"), "%s", e2.msg);
    sc_config_defaults(&c);

    /* each dataset's own keys: where it needs them, and only there */
    snprintf(c.dataset, sizeof c.dataset, "idx");
    expect_invalid(&c, "dataset = idx without train_images", "four IDX files");
    snprintf(c.train_images, sizeof c.train_images, "a");
    snprintf(c.train_labels, sizeof c.train_labels, "b");
    snprintf(c.test_images, sizeof c.test_images, "c");
    expect_invalid(&c, "dataset = idx without test_labels", "four IDX files");
    snprintf(c.test_labels, sizeof c.test_labels, "d");
    expect_valid(&c);
    snprintf(c.data_dir, sizeof c.data_dir, "/x");
    expect_invalid(&c, "[data] dir with dataset = idx", "expected no dir");
    c.data_dir[0] = '\0';
    snprintf(c.data_file, sizeof c.data_file, "f.h5");
    expect_invalid(&c, "[data] file with dataset = idx", "dataset = hdf5");
    snprintf(c.dataset, sizeof c.dataset, "hdf5");
    expect_valid(&c);   /* hdf5: the four name datasets in the file */
    c.data_file[0] = '\0';
    expect_invalid(&c, "dataset = hdf5 without file", "expected file");
    snprintf(c.dataset, sizeof c.dataset, "mnist");
    expect_invalid(&c, "[data] train_images with dataset = mnist", "expected dataset = idx or hdf5");
    sc_config_defaults(&c);
    snprintf(c.dataset, sizeof c.dataset, "folder");
    expect_invalid(&c, "dataset = folder without dir", "train/<class>/*.png");
    sc_config_defaults(&c);

    /* a translated or cluttered canvas must hold the digit */
    sc_config_defaults(&c);
    snprintf(c.canvas, sizeof c.canvas, "cluttered");
    c.canvas_size = 20;
    c.glimpse_size = 4;
    expect_invalid(&c, "canvas = cluttered", "canvas_size = 20");

    /* shift moves plain canvases only */
    sc_config_defaults(&c);
    c.shift = 2;
    expect_valid(&c);
    snprintf(c.canvas, sizeof c.canvas, "translated");
    expect_invalid(&c, "[data] shift = 2 with canvas = translated", "expected shift = 0");

    /* single-key ranges and words are checked again for configs changed in code */
    sc_config_defaults(&c);
    c.glimpses = 0;
    expect_invalid(&c, "[model] glimpses = 0: out of range", "1..64");
    sc_config_defaults(&c);
    snprintf(c.core, sizeof c.core, "gru");
    expect_invalid(&c, "[model] core = gru: unknown word", "rnn|lstm");
    sc_config_defaults(&c);
    c.lr = NAN;
    expect_invalid(&c, "[train] lr", "not a finite number");
    sc_config_defaults(&c);
    c.baseline = 2;
    expect_invalid(&c, "[model] baseline", "not a boolean");
    sc_config_defaults(&c);
    snprintf(c.data_dir, sizeof c.data_dir, "a\nb");
    expect_invalid(&c, "[data] dir", "control character");
    sc_config_defaults(&c);
    memset(c.dataset, 'x', sizeof c.dataset);
    expect_invalid(&c, "[data] dataset", "not NUL-terminated");
}
END_TEST

/* The shipped self-attention configs load and validate, with the tokens their
 * comments promise (49 on 28x28, 100 on 60x60). */
START_TEST(test_shipped_selfattn) {
    static const char *const files[2] = {"selfattn_mnist.ini", "selfattn_cluttered60.ini"};
    static const int side[2] = {28, 60}, tokens[2] = {49, 100};
    for (int i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/experiments/%s", SACCADE_SOURCE_DIR, files[i]);
        sc_config c;
        sc_err err = {0};
        sc_config_defaults(&c);
        ck_assert_msg(sc_config_load(&c, path, &err) == SC_OK, "%s", err.msg);
        ck_assert_msg(sc_config_validate(&c, &err) == SC_OK, "%s", err.msg);
        ck_assert_str_eq(c.kind, "selfattn");
        ck_assert_int_eq((side[i] / c.patch) * (side[i] / c.patch), tokens[i]);
    }
}
END_TEST

/* ---- the key reference ------------------------------------------------------ */

START_TEST(test_doc) {
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    sc_config_doc(f);
    long n = ftell(f);
    ck_assert(n > 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);

    ck_assert(strncmp(buf, "| section | key | type | default | range / values | meaning |\n", 62) == 0);
    ck_assert(strstr(buf, "\n| model | glimpses | int | 6 | 1..64 | glimpses per image (T) |\n") != NULL);
    ck_assert(strstr(buf, "\n| model | core | enum | rnn | rnn, lstm |") != NULL);
    ck_assert(strstr(buf, "\n| train | lr | float | 0.001 | 1e-07..10 |") != NULL);
    ck_assert(strstr(buf, "\n| train | seed | uint64 | 1 | 0..2^64-1 |") != NULL);
    ck_assert(strstr(buf, "\n| model | baseline | bool | true | true, false |") != NULL);
    ck_assert(strstr(buf, "\n| data | dir | string | \"\" | up to 255 bytes |") != NULL);
    ck_assert(strstr(buf, "\n| log | glimpse_images | int | 64 | 0..1024 |") != NULL);
    /* Header, rule, one row per key; every row has exactly seven '|'. */
    int rows = 0;
    for (char *line = buf; *line;) {
        char *nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl);
        int pipes = 0;
        for (char *p = line; p < nl; p++) pipes += *p == '|';
        ck_assert_msg(pipes == 7, "row with %d pipes: %.*s", pipes, (int)(nl - line), line);
        rows++;
        line = nl + 1;
    }
    ck_assert_int_eq(rows, NKEYS_EXPECTED + 2);
    free(buf);
}
END_TEST

/* fixtures: one scratch folder for the whole suite (tests/testutil.h) */
static void tmpdir_make(void) { make_tmpdir(); }
static void tmpdir_remove(void) { remove_tmpdir(); }

static Suite *config_suite(void) {
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_unchecked_fixture(tc, tmpdir_make, tmpdir_remove);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_data_dir);
    tcase_add_test(tc, test_load_good);
    tcase_add_loop_test(tc, test_load_bad, 0, NBAD);
    tcase_add_test(tc, test_load_bad_long_line);
    tcase_add_test(tc, test_load_io_errors);
    tcase_add_test(tc, test_load_string);
    tcase_add_test(tc, test_set);
    tcase_add_loop_test(tc, test_set_bad, 0, NBADSET);
    tcase_add_test(tc, test_bool_spellings);
    tcase_add_test(tc, test_int_overflow);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_roundtrip_floats);
    tcase_add_test(tc, test_validate);
    tcase_add_test(tc, test_shipped_selfattn);
    tcase_add_test(tc, test_doc);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(config_suite)
