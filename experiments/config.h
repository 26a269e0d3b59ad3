/* config.h - saccade's experiment configuration: INI files with sections
 * [data] [model] [train] [log], strictly checked.
 *
 * Every key has a type, a default, a range (or a set of allowed words) and a
 * one-line description, held in one table in config.c; docs/config.md's key table is
 * generated from it (`saccade config --doc`). Unknown sections or keys, values
 * of the wrong type and out-of-range values are errors naming file:line, the
 * key, the value found and what was expected. A failed load or override leaves
 * the config unchanged.
 */
#ifndef SACCADE_EXPERIMENTS_CONFIG_H
#define SACCADE_EXPERIMENTS_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include "nets/err.h"

#define SC_CFG_STR 256

typedef struct sc_config {
    /* [data] */
    char dataset[16];        /* mnist | fashion | idx | hdf5 | folder */
    char data_dir[SC_CFG_STR]; /* mnist, fashion: folder with the idx files ("" = the dataset's default);
                                * folder: the root holding train/ and test/ */
    char data_file[SC_CFG_STR]; /* hdf5: the file */
    char train_images[SC_CFG_STR], train_labels[SC_CFG_STR]; /* idx: files; hdf5: datasets ("" = default) */
    char test_images[SC_CFG_STR], test_labels[SC_CFG_STR];
    char canvas[16];         /* plain | translated | cluttered */
    int canvas_size;         /* W for translated/cluttered */
    int distractors;         /* cluttered */
    int distractor_size;     /* cluttered */
    int shift;               /* plain: training-time random translation, pixels */
    int val_size;            /* held-out training images */
    int max_train;           /* 0 = all; else use only the first max_train training images */

    /* [model] */
    char kind[16];           /* ram | soft | fc | selfattn */
    int glimpses;            /* T */
    int glimpse_size;        /* g */
    int scales;              /* k */
    int glimpse_hidden;      /* h_g width */
    int loc_hidden;          /* h_l width */
    int glimpse_out;         /* g_t width */
    char core[8];            /* rnn | lstm */
    int hidden;              /* core width */
    char loc_net[8];         /* linear | mlp */
    int loc_net_hidden;      /* mlp hidden width */
    float loc_std;           /* policy std */
    float loc_std_final;     /* 0 = no annealing; else std decays linearly to it over training */
    float loc_std_anneal;    /* share of training (0.01..1) over which it decays; then it stays */
    char first_loc[8];       /* random | center */
    char test_policy[8];     /* sample | mean: the RAM's locations at validation and test */
    int baseline;            /* bool */
    char baseline_kind[12];  /* state | constant | ema */
    float baseline_decay;    /* ema baseline's decay per step */
    char reinforce_grad[12]; /* loc_net | full */
    int reinforce;           /* bool; false = random glimpses */
    float reinforce_weight;
    int mc_samples;          /* M at test time */
    int grid;                /* soft: locations per side (L = grid^2) */
    char score[16];          /* soft: dot | additive */
    int att_hidden;          /* soft: width of the additive score */
    int fc_layers;           /* fc: hidden layers */
    int fc_hidden;           /* fc: width of each */
    int patch;               /* selfattn: patch side p (tokens = (W / p)^2) */
    int d_model;             /* selfattn: token width D */
    int heads;               /* selfattn: attention heads (D % heads == 0) */
    int blocks;              /* selfattn: transformer blocks */
    int mlp_hidden;          /* selfattn: MLP width F */
    char pos_enc[16];        /* selfattn: learned | sin2d | none */
    char readout[16];        /* selfattn: mean | query */
    int causal;              /* selfattn: bool, causal mask in the blocks */

    /* [train] */
    uint64_t seed;
    int threads;
    int epochs;
    int batch_size;
    int eval_batch;          /* images per evaluation batch; 0 = by model kind */
    char optimizer[8];       /* adam | sgd */
    char keep[8];            /* best | last: the parameters a run ends with */
    char nonfinite[8];       /* stop | skip: what a NaN or Inf in a loss or gradient does */
    float lr;
    char lr_schedule[16];    /* constant | linear | step | plateau */
    float lr_final;
    int lr_step_epochs;
    float lr_gamma;
    int lr_patience;
    float momentum;
    float weight_decay;
    float clip;              /* 0 = off */
    float ema;               /* parameter moving-average decay; 0 = off */
    int early_stop;          /* epochs without validation improvement; 0 = off */
    int log_every;           /* steps between progress lines */

    /* [log]: what the run log records (see docs/runlog.md) */
    int train_every;         /* steps between /train rows */
    int glimpse_images;      /* validation images recorded in /glimpses; 0 = none */
    int glimpse_every;       /* epochs between glimpse records */
    int attn_token;          /* selfattn, mean readout: token whose attention is logged; -1 = centre */

    /* provenance (not keys) */
    char source_path[SC_CFG_STR]; /* last file loaded, "" if none */
} sc_config;

/* Fills every key with its default. */
void sc_config_defaults(sc_config *c);

/* Applies the INI file at path on top of c. Errors (SC_EIO, SC_ECONFIG) name
 * path:line. On error c is unchanged. Records source_path. */
int sc_config_load(sc_config *c, const char *path, sc_err *err);

/* Applies INI text on top of c, as sc_config_load does for a file; errors
 * name `name:line` (e.g. the model file the text came from). */
int sc_config_load_string(sc_config *c, const char *text, const char *name, sc_err *err);

/* Applies one override "section.key=value" (as `--set`). On error c is unchanged. */
int sc_config_set(sc_config *c, const char *assignment, sc_err *err);

/* Cross-key checks that a single key's range cannot express (e.g. distractor_size
 * larger than the digit, canvas smaller than the digit, lr_final > lr). */
int sc_config_validate(const sc_config *c, sc_err *err);

/* Writes the fully resolved configuration as an INI file (every key, in table
 * order, with sections) to f. Loading that text again gives an equal config. */
int sc_config_write(const sc_config *c, FILE *f);

/* The same text in a malloc'd NUL-terminated string (caller frees), or NULL. */
char *sc_config_to_string(const sc_config *c);

/* Writes the key reference as a Markdown table: section, key, type, default,
 * range or allowed values, description. */
void sc_config_doc(FILE *f);

/* The keys, for tools that walk every key (sweeps, grouping runs by config):
 * how many there are, key i's name as "section.key", and its value in c
 * spelled as in a config file (into buf of n bytes). */
int sc_config_nkeys(void);
const char *sc_config_key_name(int i);
void sc_config_key_value(const sc_config *c, int i, char *buf, size_t n);

/* The index of key "section.key", or -1 when there is no such key. */
int sc_config_key_index(const char *section_key);

/* The data folder to use: data_dir if set, else the dataset's default
 * ("data/mnist" for mnist, "/usr/share/datasets/fashion-mnist" for fashion). */
const char *sc_config_data_dir(const sc_config *c);
/* Where the config's dataset is (env/dataset.h's sc_data_spec; strings point
 * into c): mnist and fashion are IDX folders of 10 named classes, idx, hdf5
 * and folder a user's own data. */
struct sc_data_spec;
void sc_config_data_spec(const sc_config *c, struct sc_data_spec *spec);
/* What the config's dataset is, in a few words for messages ("mnist",
 * "hdf5 file x.h5", "folder d", "idx files a, b, c, d"), into buf. */
const char *sc_config_data_where(const sc_config *c, char *buf, size_t n);
/* The checks of sc_config_validate that depend on the images, for images of
 * h x w pixels (mnist and fashion are 28 x 28, and sc_config_validate runs
 * them; for a user's own data the trainer calls this once they are loaded):
 * the canvas holds the image, distractors fit in it, the model kind's own
 * checks against the canvas. SC_ECONFIG naming the keys. */
int sc_config_check_images(const sc_config *c, int h, int w, sc_err *err);

#endif
