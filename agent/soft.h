/* soft.h - soft attention over a fixed grid of glimpse locations, the
 * differentiable counterpart of the RAM (agent/ram.h): instead of sampling
 * where to look, it looks everywhere and summarizes the locations with
 * weights, z = sum_i p_i g_i, and learns by backprop alone (no sampling, no
 * REINFORCE).
 *
 * The grid: L = grid * grid locations, the centres of a grid x grid tiling of
 * the canvas, row-major with y outer: location k = j * grid + i is
 *     l_k = (x_i, y_j),   x_i = (2i + 1) / grid - 1,   y_j = (2j + 1) / grid - 1
 * in the retina's coordinates (env/retina.h), i.e. pixel centre
 * ((i + 1/2) W / grid, (j + 1/2) H / grid): for 28x28 and grid 7 the glimpses
 * are centred on pixels 2, 6, ..., 26 of each axis; grid 1 is the centre. On
 * a non-square canvas the grid maps per axis: still grid x grid locations,
 * spaced W / grid apart across and H / grid down.
 *
 * Per image (once: nothing here depends on the step), for each location i,
 * with the RAM's glimpse network, on canvases x (B, Hc, Wc, ch) of ch channels
 * interleaved (HWC, env/retina.h; ch = 1 is a grey (B, Hc, Wc)):
 *   rho_i = retina(x, l_i)                            (B, L, G)   G = k g g ch
 *   hg_i  = ReLU(rho_i Wg^T + bg)                     (B, L, HG)
 *   hl_i  = ReLU(l_i Wl^T + bl)                       (L, HL)     the same for every image
 *   g_i   = ReLU([hg_i, hl_i] Wa^T + ba)              (B, L, GO)
 *   additive scores only: pg_i = g_i Wp^T + bp        (B, L, A)
 * then for t = 0..T-1, with h_{-1} = 0:
 *   e_{t,i} = q_t . g_i / sqrt(GO),  q_t = h_{t-1} Wq^T + bq        (dot; q_t (B, GO))
 *          or v . tanh(pg_i + h_{t-1} Wh^T)                          (additive; A wide)
 *   p_t   = softmax_i(e_t)                            (T, B, L)   the attention weights
 *   z_t   = sum_i p_{t,i} g_i                          (T, B, GO)
 *   h_t   = core(z_t, h_{t-1})                         (T, B, H)   the RAM's rnn (ReLU) or lstm
 * and logp = log_softmax(h_{T-1} Wc^T + bc). Loss: the mean cross-entropy;
 * every parameter learns from it by backprop.
 *
 * Parameters (the RAM's names where the layer is the RAM's): glimpse.Wg/bg/Wl/
 * bl/Wa/ba, att.Wq/bq (dot) or att.Wp/bp/Wh/v (additive), core.Wx/Wh/b,
 * action.W/b.
 *
 * Memory: one activation buffer sized for max_batch (NB) at creation, about
 *   NB L (G + HC + GO + A + max(GO, HG) + max(A, HC)) + NB T (QW + L + GO + H (+ 5 H lstm))
 * floats, HC = HG + HL, A = 0 for dot scores, QW = GO (dot) or A (additive):
 * dominated by the first term (for 60x60, grid 15, 12x12 x 3 scales, the
 * default widths, NB = 128, dot scores: 42 M floats, 168 MB; 28x28, grid 7,
 * 8x8: 7 M floats, 27 MB). Forward and backward allocate nothing.
 * One model per thread (forward/backward write into the model's buffers).
 */
#ifndef SACCADE_AGENT_SOFT_H
#define SACCADE_AGENT_SOFT_H

#include "agent/ram.h"
#include "agent/stats.h"
#include "nets/err.h"
#include "nets/params.h"
#include "nets/rng.h"

typedef enum { SC_SCORE_DOT = 0, SC_SCORE_ADDITIVE = 1 } sc_score_kind;

typedef struct sc_soft_cfg {
    int img_h, img_w;        /* canvas size */
    int num_classes;         /* C >= 2 */
    int glimpses;            /* T >= 1: attention steps */
    int grid;                /* locations per side, L = grid^2, 1..SC_SOFT_GRID_MAX */
    int glimpse_size;        /* g */
    int scales;              /* k, 1..16 */
    int glimpse_hidden;      /* HG */
    int loc_hidden;          /* HL */
    int glimpse_out;         /* GO */
    sc_score_kind score;     /* dot or additive */
    int att_hidden;          /* A, width of the additive score's tanh layer (unused for dot) */
    sc_core_kind core;
    int hidden;              /* H */
    int max_batch;           /* largest B passed to forward */
    int channels;            /* ch, the canvas's channels (x is (B, img_h, img_w, ch), HWC), 1..4;
                              * 0 reads as 1 so that zeroed or older configs stay grey */
} sc_soft_cfg;

#define SC_SOFT_GRID_MAX 64

/* The sizes of the RAM's defaults (README: 8x8, 1 scale, 128/128/256, rnn 256,
 * 6 steps) on a 28x28 grey canvas (channels 1) with 10 classes, grid 7, dot
 * scores, A = 128, max_batch 128. Callers overwrite what their config sets. */
void sc_soft_cfg_defaults(sc_soft_cfg *c);

/* The statistics of a forward with labels are sc_model_stats (agent/stats.h),
 * one struct for every kind: this one writes xent, reward, correct, att_entropy and
 * att_max (over steps and examples; log L = uniform, 1/L = uniform) and leaves the rest NaN. */

typedef struct sc_soft sc_soft;

/* Creates a model with parameters declared and allocated (zero; call
 * sc_soft_init_params). Errors: SC_EARG for a bad configuration (the message
 * names the field, its value and the expected range), SC_ENOMEM. */
int sc_soft_create(sc_soft **out, const sc_soft_cfg *cfg, sc_err *err);
void sc_soft_free(sc_soft *m);  /* accepts NULL */

const sc_soft_cfg *sc_soft_config(const sc_soft *m);
/* The parameter store (data and grad buffers, named views). Owned by m. */
sc_params *sc_soft_params(sc_soft *m);

/* Every weight and bias U(+-1/sqrt(fan_in)), fan_in the input width of the
 * layer the tensor belongs to (nn.Linear's default, as sc_ram_init_params). */
void sc_soft_init_params(sc_soft *m, sc_rng *r);

/* Forward pass over x (B, img_h, img_w, channels), 1 <= B <= max_batch; deterministic.
 * labels (B) may be NULL (no loss; st may be NULL). Returns SC_OK or SC_EARG
 * (B out of range; nothing is computed). */
int sc_soft_forward(sc_soft *m, const float *x, const int *labels, int B, sc_model_stats *st);

/* Backward of the mean cross-entropy of the last forward, which must have had
 * these labels and this B: ADDS into sc_soft_params(m)->grad. */
void sc_soft_backward(sc_soft *m, const int *labels, int B);

/* Results of the last forward, owned by m. */
const float *sc_soft_logp(const sc_soft *m);       /* (B, C) log-probabilities */
/* (T, max_batch, L): step t of example b at (t * max_batch + b) * L; rows b >= B are stale. */
const float *sc_soft_attention(const sc_soft *m);
const float *sc_soft_grid(const sc_soft *m);       /* (L, 2) locations (x, y), the order of p */

/* Writes the grid x grid locations (grid^2, 2) described above into loc. */
void sc_soft_grid_fill(float *loc, int grid);

/* Inference: one forward without labels. logp_out (B, C) and pred_out (B)
 * (argmax) may each be NULL. Returns the number of correct predictions when
 * labels is non-NULL (else 0), or SC_EARG. */
int sc_soft_predict(sc_soft *m, const float *x, const int *labels, int B, float *logp_out,
                    int *pred_out);

#endif
