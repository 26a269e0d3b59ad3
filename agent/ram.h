/* ram.h - the recurrent attention model (RAM) of Mnih et al. (2014).
 *
 * Per glimpse t = 0..T-1, for a batch of B canvases (B, Hc, Wc, ch) of ch
 * channels interleaved (HWC, env/retina.h; ch = 1 is a grey (B, Hc, Wc)):
 *   rho_t = retina(x, l_t)                           (B, G)    G = k g g ch
 *   hg_t  = ReLU(rho_t Wg^T + bg)                    (B, HG)
 *   hl_t  = ReLU(l_t Wl^T + bl)                      (B, HL)
 *   g_t   = ReLU([hg_t, hl_t] Wa^T + ba)             (B, GO)
 *   h_t   = core(g_t, h_{t-1})                        (B, H)   rnn: ReLU(Wx g + Wh h + b); or lstm
 *   for t < T-1 (a location that will be looked at):
 *     mu_t  = tanh(f(sg(h_t)))                         (B, 2)   f linear or 2-layer MLP
 *     s_t   = mu_t + std eps,  l_{t+1} = clamp(s_t, -1, 1)
 *     b_t   = sg(h_t) Wb^T + bb                        (B)      the baseline (baseline_kind state)
 * and after the last glimpse logp = log_softmax(h_{T-1} Wc^T + bc).
 * sg() stops gradients: the core learns from the classifier only, the
 * location net from REINFORCE only, the baseline from its MSE only. With
 * reinforce_full the location net reads h_t itself (no sg): the REINFORCE
 * term's gradient also reaches the core and the glimpse network, the paper's
 * full gradient of the hybrid loss (the baseline stays on sg(h_t)).
 * Baselines (baseline_kind): state, b_t = linear(sg(h_t)) as above; constant,
 * b_t = bb, one learned number trained by the same MSE (Torch7's RAM); ema,
 * b_t = the exponential moving average of the batches' mean reward, updated
 * after every backward with baseline_decay (no parameters; before the first
 * update b = 0; the first update sets it to that batch's mean reward).
 * l_0 is uniform in [-1,1]^2 (or the centre). With reinforce off the model
 * takes random glimpses: every l_t uniform, no location net, no baseline.
 *
 * Loss (hybrid, per batch mean):
 *   L = CE(logp, y)
 *     + w * (-1/B) sum_b sum_{t<T-1} (R_b - b_{t,b}) log pi(s_t | mu_t)  (R - b constant)
 *     + 1/(B(T-1)) sum_{b,t} (b_{t,b} - R_b)^2
 * with R_b = 1 if argmax logp_b = y_b else 0.
 *
 * Activations are sized for max_batch at creation (and per worker by
 * sc_ram_set_workers); forward and backward allocate nothing, open no file
 * and start no thread (tests/test_agent_noalloc.c).
 */
#ifndef SACCADE_AGENT_RAM_H
#define SACCADE_AGENT_RAM_H

#include "agent/stats.h"
#include "nets/err.h"
#include "nets/params.h"
#include "nets/rng.h"
#include "agent/span.h"

typedef enum { SC_CORE_RNN = 0, SC_CORE_LSTM = 1 } sc_core_kind;
typedef enum { SC_BASELINE_STATE = 0, SC_BASELINE_CONSTANT = 1, SC_BASELINE_EMA = 2 } sc_baseline_kind;

typedef struct sc_ram_cfg {
    int img_h, img_w;        /* canvas size */
    int num_classes;         /* C */
    int glimpses;            /* T >= 1 */
    int glimpse_size;        /* g */
    int scales;              /* k */
    int glimpse_hidden;      /* HG */
    int loc_hidden;          /* HL */
    int glimpse_out;         /* GO */
    sc_core_kind core;
    int hidden;              /* H */
    int loc_mlp;             /* 0: mu = tanh(linear(h)); 1: tanh(linear(ReLU(linear(h)))) */
    int loc_net_hidden;      /* LH, for loc_mlp */
    int first_center;        /* l_0 = (0,0) instead of uniform */
    int baseline;            /* learn and subtract a baseline */
    int reinforce;           /* 0: random glimpses, no location learning */
    float reinforce_weight;  /* w */
    int max_batch;           /* largest B passed to forward */
    int baseline_kind;       /* SC_BASELINE_STATE, _CONSTANT or _EMA (when baseline) */
    float baseline_decay;    /* ema: b <- decay b + (1 - decay) mean R, in (0, 1) */
    int reinforce_full;      /* REINFORCE's gradient also trains the core and the glimpse net */
    int channels;            /* ch, the canvas's channels (x is (B, img_h, img_w, ch), HWC), 1..4;
                              * 0 reads as 1 so that zeroed or older configs stay grey */
} sc_ram_cfg;

/* The statistics of a forward with labels are sc_model_stats (agent/stats.h),
 * one struct for every kind: this one writes xent, reward, correct and the policy terms
 * (reinforce, baseline_mse, adv_var, mu_abs, mu_spread: 0 without REINFORCE or
 * with one glimpse) and leaves the rest NaN. */

typedef struct sc_ram sc_ram;

/* Creates a model with parameters declared and allocated (zero; call
 * sc_ram_init_params). Errors: SC_EARG for bad sizes, SC_ENOMEM. */
int sc_ram_create(sc_ram **out, const sc_ram_cfg *cfg, sc_err *err);
void sc_ram_free(sc_ram *m);  /* accepts NULL */

const sc_ram_cfg *sc_ram_config(const sc_ram *m);
/* The parameter store (data and grad buffers, named views). Owned by m. */
sc_params *sc_ram_params(sc_ram *m);

/* Every weight and bias U(+-1/sqrt(fan_in)), as PyTorch's nn.Linear. */
void sc_ram_init_params(sc_ram *m, sc_rng *r);

/* Forward pass over x (B, img_h, img_w, channels), B <= max_batch. Draws l_0 and the
 * policy noise from r. If fixed_loc (T, B, 2) is non-NULL its rows are used as
 * the samples s_{t-1} (and clamped into l_t) instead of drawing: for gradient
 * checks and replay. labels (B) may be NULL (no loss; st may be NULL).
 * std 0 puts every glimpse after the first at the policy's mean (evaluation;
 * the log-probabilities are then 0). Returns SC_OK or SC_EARG (B out of range,
 * std negative or NaN). */
int sc_ram_forward(sc_ram *m, const float *x, const int *labels, int B, float std,
                   sc_rng *r, const float *fixed_loc, sc_model_stats *st);

/* Backward of the loss of the last forward (which must have had labels):
 * ADDS into sc_ram_params(m)->grad. std must equal the forward's and, with
 * REINFORCE, be > 0 (else SC_EARG). Returns SC_OK, or (spanning processes,
 * sc_ram_set_span) the span's ordered_sum's error code; forward returns its
 * allgather's the same way. */
int sc_ram_backward(sc_ram *m, const int *labels, int B, float std);

/* The last forward's (it must have had labels, REINFORCE, T >= 2 and std > 0)
 * per-example REINFORCE gradients on the location network's output layer:
 * row b of out (B, Wd) is d/d(loc.W2, loc.b2) of -sum_{t<T-1} (R_b - b_bt) log
 * pi_bt, as [W2 row 0, W2 row 1, b2] (Wd = 2 X + 2, X the width of loc.W2's
 * input). The backward's gradient on those tensors is reinforce_weight / B
 * times their sum; stats' rf_grad_var is the trace of their covariance.
 * Returns Wd, or SC_EARG. */
int sc_ram_reinforce_grads(sc_ram *m, float *out);

/* The ema baseline's state (NaN before the first update; NaN for the other
 * kinds), and setting it (a checkpoint's value on resume). */
double sc_ram_baseline_ema(const sc_ram *m);
void sc_ram_set_baseline_ema(sc_ram *m, double b);

/* Results of the last forward. Per-step buffers are (T, max_batch, *): step t
 * of example b is at (t * max_batch + b) * width; rows b >= B are stale. */
const float *sc_ram_logp(const sc_ram *m);       /* (B, C) log-probabilities */
const float *sc_ram_locations(const sc_ram *m);  /* (T, B, 2) locations looked at */
const float *sc_ram_samples(const sc_ram *m);    /* (T, B, 2) unclamped samples; row t is s_{t-1}, row 0 = l_0 */
const float *sc_ram_step_logp(const sc_ram *m);  /* (T, B, C) classifier applied to every h_t */
void sc_ram_step_probs_enable(sc_ram *m, int on); /* compute step_logp in forward (off by default) */

/* Inference with M samples: logp_avg (B, C) = mean over M forward passes of
 * logp; pred (B) its argmax. Returns the number of correct predictions when
 * labels is non-NULL (else 0), or a negative SC_E* code. */
int sc_ram_predict(sc_ram *m, const float *x, const int *labels, int B, int M, float std,
                   sc_rng *r, float *logp_avg, int *pred);

/* Data-parallel passes: splits every forward and backward (and so
 * sc_ram_predict) over `workers` threads, the caller's and workers - 1 started
 * here once, which then wait for work (they are stopped by the next call or by
 * sc_ram_free). Worker k takes rows [B k / W, B (k+1) / W) of each batch with
 * its own activations and its own gradient buffer; after the backward the
 * caller adds worker 1's, 2's, ... gradients into sc_ram_params(m)->grad in
 * that order. The random draws are made before the split, in the sequential
 * order, so the sampled locations do not depend on the worker count; the
 * gradients differ between worker counts by float rounding only, and are
 * identical run to run for a given count. Each worker calls OpenBLAS from its
 * own thread: set OpenBLAS to one thread (sc_blas_set_threads(1)) when
 * workers > 1. workers = 1 (the default) runs everything on the caller's
 * thread. Not to be called during a forward or backward.
 * Errors: SC_EARG (workers outside 1..64: nothing changes), SC_ENOMEM, SC_EIO
 * (a thread could not be started): the model is then left with one worker. */
int sc_ram_set_workers(sc_ram *m, int workers, sc_err *err);
int sc_ram_workers(const sc_ram *m);

/* Spans processes (agent/span.h): this model's W workers become workers
 * span->first .. span->first + W - 1 of span->total, computing those rows of
 * every batch only; each forward (so predict too) then all-gathers every
 * worker's outputs, so that the outputs, statistics and predictions are those
 * of one model with span->total workers, and each backward leaves in the
 * gradient store the sum of all workers' gradients in worker order, the bits
 * sc_ram_set_workers(span->total) gives. Every process must make the same
 * calls with the same arguments (the random draws are made everywhere, for
 * the whole batch). span = NULL ends spanning. Set the workers first: their
 * count cannot change while spanning (SC_ESTATE). Allocates one exchange
 * buffer here, nothing in the passes. Errors: SC_EARG (first/total do not fit
 * W, or total > 4096), SC_ENOMEM. */
int sc_ram_set_span(sc_ram *m, const sc_span *span, sc_err *err);

/* Time spent in each part of forward/backward, accumulated (seconds) into *p
 * while profiling is on (sc_ram_profile(m, p)); off with p = NULL. Costs two
 * clock reads per part per glimpse when on, nothing when off. With several
 * workers it is worker 0's time (the others run at the same time). */
typedef struct sc_ram_prof {
    double retina, glimpse, core, heads, backward;
} sc_ram_prof;
void sc_ram_profile(sc_ram *m, sc_ram_prof *p);

/* Multiply-adds per image of one forward pass (inference), analytic. */
double sc_ram_macs(const sc_ram_cfg *cfg);

#endif
