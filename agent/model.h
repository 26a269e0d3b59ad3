/* model.h - one interface over saccade's four model kinds, so that the
 * trainer, evaluation and the run log never ask which one they hold:
 *   ram   the recurrent attention model, hard attention (agent/ram.h):
 *         samples where to look, learns the policy by REINFORCE;
 *   soft  soft attention over a fixed grid of L locations (agent/soft.h):
 *         looks everywhere, weights the locations, learns by backprop only;
 *   fc    the fully connected baseline (agent/fc.h): the whole canvas in;
 *   selfattn  a patch transformer (agent/selfattn.h): the canvas cut into
 *         patches that attend to each other, multi-head self-attention
 *         blocks, a mean or learned-query readout; backprop only.
 *
 * A model says what it needs and what it logs (sc_model_info): whether its
 * forward pass draws random numbers (then inference averages M samples and a
 * policy std applies), whether it learns a policy by REINFORCE, whether it
 * has per-step trajectories to record (glimpse locations, attention weights)
 * and over how many fixed locations. The RAM's REINFORCE specifics (the
 * policy std, the location RNG, the baseline) stay behind sc_model_forward /
 * sc_model_backward; the other models ignore std and the RNG.
 *
 * What it is not: a model. A kind is one row of a table of operations
 * (agent/kind.h, sc_model_ops, defined in the kind's own .c file); every call
 * here goes through the row of the kind the model was built as. forward,
 * backward and predict allocate nothing, open no file and start no thread
 * (tests/test_agent_model.c counts), as the models' own do. Besides create
 * and set_threads, only sc_model_trace (for the run log's glimpse records,
 * outside the training step) allocates.
 *
 * Dimension letters: B batch, T steps (glimpses or attention steps; 1 for
 * fc; the heads for selfattn), C classes, L soft-attention locations (the
 * patches for selfattn).
 */
#ifndef SACCADE_AGENT_MODEL_H
#define SACCADE_AGENT_MODEL_H

#include "agent/cost.h"
#include "agent/fc.h"
#include "agent/ram.h"
#include "agent/selfattn.h"
#include "agent/soft.h"
#include "agent/span.h"
#include "agent/stats.h"
#include "nets/err.h"
#include "nets/params.h"
#include "nets/rng.h"

/* A kind is its row's index in the model table (agent/kind.h); SC_MODEL_KINDS
 * counts them. */
typedef enum {
    SC_MODEL_RAM = 0,
    SC_MODEL_SOFT = 1,
    SC_MODEL_FC = 2,
    SC_MODEL_SELFATTN = 3,
    SC_MODEL_KINDS
} sc_model_kind;

/* The model to build: kind, and that kind's configuration (the others are
 * ignored). Sizes (canvas img_h x img_w x channels, classes, max_batch) live
 * in the kind's struct; channels 0 reads as 1 (grey). */
typedef struct sc_model_cfg {
    sc_model_kind kind;
    sc_ram_cfg ram;
    sc_soft_cfg soft;
    sc_fc_cfg fc;
    sc_sa_cfg selfattn;
} sc_model_cfg;

/* "ram", "soft", "fc", "selfattn": the table row's name (NULL outside
 * 0..SC_MODEL_KINDS-1). */
const char *sc_model_kind_name(sc_model_kind k);
/* The kind whose row is named name; SC_EARG (message naming the word and
 * listing the table's names) for another word. */
int sc_model_kind_parse(const char *name, sc_model_kind *k, sc_err *err);

/* Analytic compute of one image (agent/cost.h's conventions). No model is
 * built and the configuration is not validated. */
sc_cost sc_model_cost(const sc_model_cfg *c);

/* What a model needs and logs. */
typedef struct sc_model_info {
    sc_model_kind kind;  /* the row's index in the model table (SC_MODEL_KINDS for a row outside
                          * it, agent/kind.h's sc_model_create_ops) */
    const char *name;    /* the row's name: sc_model_kind_name(kind) */
    int num_classes;     /* C */
    int max_batch;       /* largest B of forward, predict and trace */
    int steps;           /* T of sc_model_trace's per-step outputs: glimpses (ram), attention
                          * steps (soft), heads (selfattn); 1 for fc (the prediction only) */
    int stochastic;      /* forward draws from an RNG (ram): inference averages M samples, and
                          * the policy std passed to forward, backward and predict matters */
    int reinforce;       /* learns a location policy by REINFORCE (ram with reinforce on): the
                          * stats' reinforce, baseline_mse, adv_var, mu_abs, mu_spread apply */
    int trajectories;    /* has per-step glimpses worth recording (ram, soft, selfattn; not fc) */
    int locations;       /* L, the soft model's fixed locations or selfattn's patches
                          * (sc_model_grid); 0 otherwise */
    int workers;         /* data-parallel workers running forward, backward and predict (after
                          * sc_model_set_threads; 1 before) */
    size_t image_floats; /* floats of one input image: img_h img_w channels */
} sc_model_info;

/* Per-batch statistics of a forward with labels: sc_model_stats, agent/stats.h
 * (one struct for every kind; terms a model does not have are NaN). */

typedef struct sc_model sc_model;

/* Builds the model of c->kind (its row of the model table) with parameters
 * allocated (zero: call sc_model_init_params). Errors: the kind's create
 * errors (SC_EARG naming the field, SC_ENOMEM), SC_EARG for an unknown kind. */
int sc_model_create(sc_model **out, const sc_model_cfg *c, sc_err *err);
void sc_model_free(sc_model *m);  /* accepts NULL */

const sc_model_cfg *sc_model_config(const sc_model *m);
const sc_model_info *sc_model_describe(const sc_model *m);
/* The parameter store (one data buffer, one gradient buffer, named views). Owned by m. */
sc_params *sc_model_params(sc_model *m);
/* nn.Linear's initialisation, as the kind's own *_init_params. */
void sc_model_init_params(sc_model *m, sc_rng *r);
/* soft: the (L, 2) locations (x, y) in [-1,1]^2, in the order of the attention
 * weights; selfattn: the (L, 2) patch centres in token order; NULL for ram and
 * fc. Owned by m. */
const float *sc_model_grid(const sc_model *m);

/* How the model uses `threads` threads: that many data-parallel workers,
 * each on its block of rows of every batch with OpenBLAS at one thread. The
 * RAM has its own (sc_ram_set_workers); soft, fc and selfattn run `threads`
 * copies of the model (model.c: the parameters copied from the model's own
 * before every forward and predict, the copies' gradients weighted by their
 * share of the batch and summed in worker order into the model's). Sets
 * OpenBLAS's thread count (process-wide) to 1 (or `threads` for one worker
 * of a stochastic kind without its own). Results are identical run to run
 * for a given count, not across counts. Errors: SC_EARG (threads outside
 * 1..64), SC_ENOMEM, SC_EIO (a thread could not start); after an error the
 * model has one worker. A bad count changes nothing. */
int sc_model_set_threads(sc_model *m, int threads, sc_err *err);

/* Training state a model keeps outside its parameters, for checkpoints: the
 * RAM's ema baseline (sc_ram_baseline_ema; NaN when it has none yet), NaN for
 * every other kind. Setting it is a no-op for kinds that have none. */
double sc_model_baseline_ema(const sc_model *m);
void sc_model_set_baseline_ema(sc_model *m, double b);

/* One forward pass over x (B, img_h, img_w, channels) of the kind's
 * configuration (each pixel's channels side by side, HWC, as env/retina.h's
 * images; a grey canvas is (B, img_h, img_w)), 1 <= B <= max_batch, with the
 * loss when labels (B) is non-NULL (st, if non-NULL, then receives the
 * statistics). ram: draws l_0 and the policy noise from r at policy std
 * `std`; soft and fc ignore std and r (r may be NULL). Returns SC_OK or
 * SC_EARG (B out of range). */
int sc_model_forward(sc_model *m, const float *x, const int *labels, int B, float std, sc_rng *r,
                     sc_model_stats *st);

/* Backward of the last forward's loss (which had these labels and this B):
 * ADDS into sc_model_params(m)->grad. ram: std must equal the forward's (the
 * hybrid loss, REINFORCE and baseline included); soft, fc: the cross-entropy.
 * Returns SC_OK, or a spanning model's collective's error (sc_model_set_span;
 * forward returns its own the same way). */
int sc_model_backward(sc_model *m, const int *labels, int B, float std);

/* Spans processes (agent/span.h, sc_ram_set_span): after sc_model_set_threads(m,
 * T), this copy computes workers span->first .. +T-1 of span->total, and every
 * forward, backward, predict and trace is a collective whose results are those
 * of one model with span->total threads. ram only: soft, fc and selfattn do not
 * split a batch over workers (SC_EARG naming the kind). span = NULL ends it. */
int sc_model_set_span(sc_model *m, const sc_span *span, sc_err *err);

/* Inference: logp_avg (B, C) = the mean over M forward passes of the log-
 * probabilities (M draws of the policy for ram; deterministic models make one
 * pass whatever M), pred (B) its argmax (may be NULL). Returns the number of
 * correct predictions when labels is non-NULL (else 0), or a negative SC_E*
 * code (SC_EARG: B out of range, M < 1, logp_avg NULL). */
int sc_model_predict(sc_model *m, const float *x, const int *labels, int B, int M, float std, sc_rng *r,
                     float *logp_avg, int *pred);

/* What a viewer replays, for B <= max_batch images: one forward without
 * labels (ram: locations sampled from r at std). Each output may be NULL;
 * layouts are per image, then step (T = info.steps):
 *   probs (B, T, C)      class probabilities of the classifier applied after
 *                        each step; [b, T-1, :] is the prediction's
 *                        (selfattn: the final probabilities, repeated per head)
 *   locations (B, T, 2)  ram: the locations looked at; soft: the attention-
 *                        weighted mean location sum_i p_{t,i} l_i; selfattn:
 *                        the same per head over the patch centres; fc: the
 *                        centre (0, 0)
 *   attention (B, T, L)  soft; selfattn: per head h, the readout's weights over
 *                        the patches (the learned query's; for the mean
 *                        readout the last block's weights of the query token
 *                        [log] attn_token, sc_sa_logged_attention); ignored
 *                        for ram and fc
 *   pred (B)             the predicted class
 * ram computes every step's probabilities in its forward; soft computes step
 * t < T-1 with a temporary copy of the model that stops after t+1 steps (the
 * same parameters; it allocates, then frees, at most 16 images' activations).
 * Not for the training step. Returns SC_OK, SC_EARG or SC_ENOMEM. */
int sc_model_trace(sc_model *m, const float *x, int B, float std, sc_rng *r, float *probs,
                   float *locations, float *attention, int *pred, sc_err *err);

#endif
