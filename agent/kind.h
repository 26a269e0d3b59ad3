/* kind.h - a model kind as one row of operations (sc_model_ops), and the
 * table of saccade's kinds that agent/model.c dispatches through.
 *
 * A kind is agent/<kind>.{c,h} (its model, its configuration struct, its own
 * sc_<kind>_* calls) plus its row: a const sc_model_ops defined in <kind>.c
 * whose functions are static adapters from the uniform signatures below to
 * the kind's own calls. model.c holds no kind-specific code: every sc_model_*
 * call goes through m->ops, and kind names parse through the table.
 *
 * The rule for what a kind lacks: an optional operation is NULL, and the one
 * sc_model_* function that calls it gives the documented default (marked
 * "optional" below). Every other operation is required: sc_model_create_ops
 * refuses a row without it (SC_EARG naming the operation), and
 * tests/test_agent_kinds.c checks every row of the table.
 *
 * `impl` is the kind's own model (an sc_ram *, sc_soft *, ...), created by
 * create and owned by the sc_model until free.
 *
 * Adding a kind: docs/design.md, "Model kinds: one table"; a worked example
 * outside the table is tests/test_agent_kinds.c's "linear" kind.
 */
#ifndef SACCADE_AGENT_KIND_H
#define SACCADE_AGENT_KIND_H

#include <stddef.h>

#include "agent/model.h"
#include "nets/pool.h"

/* What a kind is, known before one is built (sc_model_ops.caps): what config
 * checking, the command line, compare and the viewer ask instead of its name.
 * Each bit agrees with the sc_model_info its create fills, and
 * tests/test_agent_kinds.c checks that for every row. */
enum {
    SC_KIND_POLICY = 1u << 0,       /* a location policy learned by REINFORCE with a baseline: info.reinforce
                                     * when its reinforce key is on; --no-reinforce and --no-baseline apply */
    SC_KIND_STOCHASTIC = 1u << 1,   /* info.stochastic: it samples, and is also tested with M samples */
    SC_KIND_TRAJECTORIES = 1u << 2, /* info.trajectories: it records what it looked at; the viewer shows it */
    SC_KIND_WEIGHTS = 1u << 3,      /* info.locations > 0: attention weights over fixed locations (the trace's
                                     * attention, sc_model_grid), not one location per step */
    SC_KIND_WIDE = 1u << 4,         /* much memory per image (attention over every location): evaluated at
                                     * the training batch size, not at 500 images */
};

typedef struct sc_model_ops {
    const char *name;   /* the [model] kind word, and sc_model_info.name */
    size_t cfg_offset;  /* offsetof(sc_model_cfg, <kind>): the kind's own configuration, the
                         * `cfg` every operation below that takes one receives */
    unsigned caps;      /* SC_KIND_* */
    int max_threads;    /* the most worker threads it runs ([train] threads); 0 = no limit of its own */
    size_t batch_offset; /* without set_threads: offsetof(the kind's cfg struct, its int max_batch),
                          * so that the data-parallel copies of model.c are built for their share of
                          * the batch; 0 = the copies are built with the whole max_batch */
    const char *legend;                /* the kind in a few words, for a figure's legend */
    const char *step_name, *step_unit; /* what a step of its trace is called in the viewer (the header,
                                        * the key help); NULL without SC_KIND_TRAJECTORIES */
    /* optional: checks cfg's keys against each other and the canvas (cfg's
     * img_h x img_w pixels of channels, described as `canvas`, e.g. "plain";
     * each axis on its own), before a model is built:
     * 0, or -1 with one line in msg naming the keys and what was expected.
     * Default: nothing to check. */
    int (*check)(const void *cfg, const char *canvas, char *msg, size_t n);
    /* optional: cfg in compare's table, its model column and what it looks at
     * per image. Default: the name, and "-". */
    void (*describe)(const void *cfg, char *model, size_t mn, char *looks, size_t ln);
    /* optional: the square each location of its trace covers, side *g pixels at
     * *k scales, for the viewer. Default: none (0, 0). */
    void (*footprint)(const void *cfg, int *g, int *k);
    /* optional: the side of the location grid cfg would have on a canvas of
     * `side` pixels at the same spacing (compare's cost against canvas size).
     * Default: 0, no grid of its own. */
    int (*grid_at)(const void *cfg, int side);
    /* Analytic compute of one image (agent/cost.h); cfg is not validated. */
    sc_cost (*cost)(const void *cfg);
    /* Builds the kind (parameters allocated, zero) and fills what it says about
     * itself: info->num_classes, max_batch, steps, stochastic, reinforce,
     * trajectories, locations (all 0 on entry; kind, name and workers = 1 are
     * set by the caller). On failure returns the kind's error with *impl NULL
     * or something free accepts. */
    int (*create)(void **impl, const void *cfg, sc_model_info *info, sc_err *err);
    void (*free)(void *impl);  /* accepts NULL */
    sc_params *(*params)(void *impl);
    void (*init_params)(void *impl, sc_rng *r);
    /* optional: the (L, 2) locations of the attention weights. Default: none (NULL). */
    const float *(*grid)(const void *impl);
    /* optional: use `threads` threads (model.h, sc_model_set_threads), updating
     * info->workers. Default for a kind without SC_KIND_STOCHASTIC: `threads`
     * data-parallel copies in model.c, each on its rows of the batch with
     * OpenBLAS at one thread (see model.c); for a stochastic kind: the
     * caller's thread, OpenBLAS at `threads` threads. SC_EARG for threads
     * outside 1..SC_POOL_MAX. */
    int (*set_threads)(void *impl, int threads, sc_model_info *info, sc_err *err);
    /* optional (both or neither): training state outside the parameters, for
     * checkpoints. Default: NaN, and setting it does nothing. */
    double (*baseline_ema)(const void *impl);
    void (*set_baseline_ema)(void *impl, double b);
    /* sc_model_forward's contract; st is NULL or to be filled (stats.h) when
     * labels is non-NULL. A deterministic kind ignores std and r. */
    int (*forward)(void *impl, const float *x, const int *labels, int B, float std, sc_rng *r,
                   sc_model_stats *st);
    /* sc_model_backward's contract: ADDS into params(impl)->grad. */
    int (*backward)(void *impl, const int *labels, int B, float std);
    /* optional: span processes (agent/span.h). Default: SC_OK for span = NULL,
     * else SC_EARG naming the kind (it does not split a batch over workers). */
    int (*set_span)(void *impl, const sc_span *span, sc_err *err);
    /* sc_model_predict's contract, arguments already checked (1 <= B <= max_batch,
     * M >= 1, logp_avg non-NULL). */
    int (*predict)(void *impl, const float *x, const int *labels, int B, int M, float std, sc_rng *r,
                   float *logp_avg, int *pred);
    /* sc_model_trace's contract and layouts, B already checked; messages name the kind. */
    int (*trace)(void *impl, const float *x, int B, float std, sc_rng *r, float *probs, float *locations,
                 float *attention, int *pred, sc_err *err);
} sc_model_ops;

/* The rows of saccade's kinds, each defined in its kind's .c file. */
extern const sc_model_ops sc_ram_ops, sc_soft_ops, sc_fc_ops, sc_sa_ops;

/* The table's row of kind k (the enum value is the row's index); NULL outside
 * 0..SC_MODEL_KINDS-1. */
const sc_model_ops *sc_model_kind_ops(sc_model_kind k);
/* The row named name, or NULL. */
const sc_model_ops *sc_model_ops_named(const char *name);
/* The names of the rows whose caps include all of `with` and none of
 * `without`, as "a, b or c" in buf (n bytes); returns buf. */
const char *sc_model_kinds_list(char *buf, size_t n, unsigned with, unsigned without);
/* The row's part of c: what its operations take as cfg. */
const void *sc_model_kind_cfg(const sc_model_ops *ops, const sc_model_cfg *c);

/* sc_model_create for the kind `ops` describes, which need not be in the
 * table (a test's kind): the kind's configuration is read at ops->cfg_offset
 * of c (c->kind is not looked at) and info.kind is the row's index in the
 * table, or SC_MODEL_KINDS for a row outside it. Errors: SC_EARG for a row
 * missing a required operation (naming it), the kind's create errors. */
int sc_model_create_ops(sc_model **out, const sc_model_ops *ops, const sc_model_cfg *c, sc_err *err);

/* ---- shared by the kinds' trace adapters ------------------------------------------- */

/* p (C) = exp(logp) */
void sc_kind_probs(float *p, const float *logp, int C);
/* The attention-weighted mean location sum_i w_i l_i of grid (L, 2): loc (2). */
void sc_kind_mean_location(float *loc, const float *w, const float *grid, int L);
/* The index of v's largest entry (the first of equals), n >= 1. */
int sc_kind_argmax(const float *v, int n);

/* ---- the canvas's channels, shared by every kind ---------------------------------------------- */

/* The most channels a canvas may have (each kind's cfg.channels, 1..this). */
#define SC_KIND_CHANNELS_MAX 4

/* The channel count a configuration's `channels` field means: 0 (a zeroed or
 * older configuration) reads as 1, grey; anything else as itself (the kinds'
 * create refuse what is outside 1..SC_KIND_CHANNELS_MAX). */
int sc_kind_channels(int channels);

/* ---- shared by the kinds' check operations ---------------------------------------------------- */

/* A multi-scale sensor of g pixels at k scales on a canvas whose longer side
 * is side pixels (described as canvas): its largest patch g 2^(k-1) at most
 * 4 x side. 0, or -1 with the message in msg. */
int sc_kind_check_sensor(int g, int k, int side, const char *canvas, char *msg, size_t n);
/* The canvas's channels (a cfg's channels field, 0 read as 1) within
 * 1..SC_KIND_CHANNELS_MAX. 0, or -1 with the message in msg. */
int sc_kind_check_channels(int channels, const char *canvas, char *msg, size_t n);

#endif
