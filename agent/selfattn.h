/* selfattn.h - a vision transformer on the canvas: self-attention and
 * multi-head attention as the third family of the comparison, beside the RAM's
 * hard attention (agent/ram.h) and soft attention over a grid (agent/soft.h).
 * It looks at every pixel once, cut into patches that attend to each other.
 *
 * Tokens: the canvas (img_h x img_w) is cut into non-overlapping p x p
 * patches, gh = img_h / p rows of gw = img_w / p, T = gh gw tokens in
 * row-major order with y outer: token k = j gw + i is the patch whose top-left
 * pixel is (i p, j p), centre (x_i, y_j) = ((2i + 1)/gw - 1, (2j + 1)/gh - 1)
 * in the retina's [-1,1]^2 coordinates (sc_sa_grid: soft.h's grid for gw = gh).
 * The canvas has ch channels interleaved (x (B, img_h, img_w, ch), HWC;
 * ch = 1 is a grey (B, img_h, img_w)). Each patch is flattened row-major with
 * each pixel's channels together, (row, column, channel) order (P = p^2 ch
 * values), and embedded:
 *   x_0 = patches We^T + be + pos                       (B, T, D)
 * pos (T, D): learned (the tensor embed.pos), sin2d (fixed: channels
 * [0, D/2) encode the column i, [D/2, D) the row j, each half as D/4 sines
 * then D/4 cosines of pos * w_f, w_f = 10000^(-f / (D/4)), f = 0..D/4-1; MAE's
 * 2-D sin-cos table, needs D % 4 == 0), or none (the model is then blind to
 * where a patch is: with the mean readout and no causal mask its output is
 * invariant to permuting the patches; tests/test_agent_selfattn.c checks it).
 *
 * Blocks l = 0..NL-1, pre-LN (Xiong et al. 2020, GPT-2, ViT):
 *   a   = LN1(x_l)
 *   [q k v] = a Wqkv^T + bqkv                            (B, T, 3D)
 *   o   = MHA(q, k, v): per head h (columns [h hs, (h+1) hs), hs = D/H),
 *         att_h = softmax_keys(q_h k_h^T / sqrt(hs)) (-inf above the diagonal
 *         when causal), o_h = att_h v_h; heads concatenated   (B, T, D)
 *   x'  = x_l + o Wo^T + bo
 *   x_{l+1} = x' + GELU(LN2(x') W1^T + b1) W2^T + b2     (MLP D -> F -> D)
 * then z = LNf(x_NL). Pre-LN rather than post-LN (x = LN(x + f(x))): the
 * residual stream is an identity path from the loss to the embedding, so the
 * gradients at initialisation are well scaled at every depth and Adam trains
 * it at a constant learning rate with no warm-up, which the trainer's
 * schedules (nets/optim.h) do not offer; post-LN needs one.
 *
 * Readout (readout = mean | query), then logp = log_softmax(r Wc^T + bc):
 *   mean   r = (1/T) sum_t z_t
 *   query  cross-attention from a learned token u (1, D) with the blocks'
 *          head count: q_r = u Wq^T + bq, [k_r v_r] = z Wkv^T + bkv,
 *          o_r = MHA(q_r, k_r, v_r) (one query, no mask), r = o_r Wo^T + bo.
 * Loss: the mean cross-entropy; every parameter learns from it by backprop.
 *
 * Parameters (in this order): embed.W (D, P), embed.b, embed.pos (T, D;
 * learned only); per block "blkL." + ln1.w, ln1.b, attn.Wqkv (3D, D; rows
 * [0,D) Q, [D,2D) K, [2D,3D) V, nn.MultiheadAttention's in_proj layout),
 * attn.bqkv, attn.Wo, attn.bo, ln2.w, ln2.b, mlp.W1 (F, D), mlp.b1, mlp.W2
 * (D, F), mlp.b2; lnf.w, lnf.b; query readout only: readout.u (1, D),
 * readout.Wq, readout.bq, readout.Wkv (2D, D), readout.bkv, readout.Wo,
 * readout.bo; action.W (C, D), action.b.
 * Initialisation (sc_sa_init_params): every linear weight and bias
 * U(+-1/sqrt(fan_in)) (nn.Linear's, sc_params_init_linear); layer norms
 * gamma = 1, beta = 0 (nn.LayerNorm's); embed.pos and readout.u N(0, 0.02^2)
 * (GPT-2 and ViT's small normal: positions start nearly absent and the
 * query's first scores nearly uniform).
 *
 * Logged attention (sc_sa_logged_attention, the run log's /glimpses/attention
 * with the heads as its T axis): with the query readout, the query's weights
 * over the T patches per head; with the mean readout, the last block's
 * weights of the query token log_token (default the centre patch) per head.
 *
 * Memory: one activation buffer sized for max_batch (NB) at creation, about
 *   NB T (P + D (8 NL + 10 (+ 2 query)) + 2 F (NL + 1)) + NB NL H T^2
 * floats (the stream at every block's input, each block's layer norms,
 * q k v, attention output, MLP pre- and post-GELU, and the backward's
 * scratch): 60x60, p 6, T 100, D 64, H 4, F 128, NL 2, NB 128: 33 M + 10 M
 * floats, 174 MB; 28x28, p 4, T 49: 16 M + 2.5 M floats, 75 MB. The T^2
 * attention weights take over beyond a few hundred tokens.
 * Forward and backward allocate nothing, open no file, start no thread; all
 * products are OpenBLAS calls over B T rows (sc_linear_*) or per (example,
 * head) (sc_mha_*, nets/attn.h). One model per thread.
 *
 * Dimension letters: B batch, T tokens, P = p^2 ch patch values (ch channels), D d_model,
 * H heads, hs = D / H, F mlp_hidden, NL blocks, C classes.
 */
#ifndef SACCADE_AGENT_SELFATTN_H
#define SACCADE_AGENT_SELFATTN_H

#include "agent/stats.h"
#include "nets/err.h"
#include "nets/params.h"
#include "nets/rng.h"

typedef enum { SC_SA_POS_LEARNED = 0, SC_SA_POS_SIN2D = 1, SC_SA_POS_NONE = 2 } sc_sa_pos;
typedef enum { SC_SA_READOUT_MEAN = 0, SC_SA_READOUT_QUERY = 1 } sc_sa_readout;

#define SC_SA_BLOCKS_MAX 16

typedef struct sc_sa_cfg {
    int img_h, img_w;       /* canvas size, each a multiple of patch */
    int num_classes;        /* C >= 2 */
    int patch;              /* p, side of a patch in pixels */
    int d_model;            /* D, a multiple of heads (and of 4 for sin2d) */
    int heads;              /* H */
    int blocks;             /* NL, 1..SC_SA_BLOCKS_MAX */
    int mlp_hidden;         /* F */
    sc_sa_pos pos_enc;
    sc_sa_readout readout;
    int causal;             /* mask keys after the query in the blocks' self-attention */
    int log_token;          /* mean readout: the token whose attention is logged; -1 = the centre
                             * patch (gh/2) gw + gw/2 */
    int max_batch;          /* largest B passed to forward */
    int channels;           /* ch, the canvas's channels (x is (B, img_h, img_w, ch), HWC), 1..4;
                             * 0 reads as 1 so that zeroed or older configs stay grey */
} sc_sa_cfg;

/* 28x28 grey (channels 1), 10 classes, p 4 (49 tokens), D 64, 4 heads, 2 blocks, F 128,
 * learned positions, query readout, no mask, centre token, max_batch 128. */
void sc_sa_cfg_defaults(sc_sa_cfg *c);

/* Tokens of a configuration: (img_h / patch) (img_w / patch), 0 if either
 * side is not a positive multiple of patch. */
int sc_sa_tokens(const sc_sa_cfg *c);

/* The statistics of a forward with labels are sc_model_stats (agent/stats.h),
 * one struct for every kind: this one writes xent, reward, correct, att_entropy and
 * att_max (of the logged attention, over examples and heads; log T = uniform,
 * 1/T = uniform) and leaves the rest NaN. */

typedef struct sc_sa sc_sa;

/* Creates a model with parameters declared and allocated (zero; call
 * sc_sa_init_params). Errors: SC_EARG for a bad configuration (the message
 * starts "selfattn:" and names the field, its value and what was expected:
 * e.g. img_w not a multiple of patch, d_model not a multiple of heads),
 * SC_ENOMEM. */
int sc_sa_create(sc_sa **out, const sc_sa_cfg *cfg, sc_err *err);
void sc_sa_free(sc_sa *m);  /* accepts NULL */

const sc_sa_cfg *sc_sa_config(const sc_sa *m);
/* The parameter store (data and grad buffers, named views). Owned by m. */
sc_params *sc_sa_params(sc_sa *m);

/* The initialisation described above, drawing from r. */
void sc_sa_init_params(sc_sa *m, sc_rng *r);

/* Forward pass over x (B, img_h, img_w, channels), 1 <= B <= max_batch; deterministic.
 * labels (B) may be NULL (no loss; st may be NULL). Returns SC_OK or SC_EARG
 * (B out of range, x NULL; nothing is computed). */
int sc_sa_forward(sc_sa *m, const float *x, const int *labels, int B, sc_model_stats *st);

/* Backward of the mean cross-entropy of the last forward, which must have had
 * these labels and this B: ADDS into sc_sa_params(m)->grad. */
void sc_sa_backward(sc_sa *m, const int *labels, int B);

/* Inference: one forward without labels. logp_out (B, C) and pred_out (B)
 * (argmax) may each be NULL. Returns the number of correct predictions when
 * labels is non-NULL (else 0), or SC_EARG. */
int sc_sa_predict(sc_sa *m, const float *x, const int *labels, int B, float *logp_out, int *pred_out);

/* Results of the last forward, owned by m. */
const float *sc_sa_logp(const sc_sa *m);   /* (B, C) log-probabilities */
const float *sc_sa_grid(const sc_sa *m);   /* (T, 2) patch centres (x, y), token order */
/* The positional table added to the embeddings (T, D): embed.pos for learned,
 * the sin-cos table for sin2d; NULL for none. Owned by m. */
const float *sc_sa_pos_table(const sc_sa *m);
/* The logged attention of example b < B of the last forward into att (H, T):
 * row h = head h's weights over the tokens (each row sums to 1). */
void sc_sa_logged_attention(const sc_sa *m, int b, float *att);

/* Writes the (gh gw, 2) patch centres described above into loc. */
void sc_sa_grid_fill(float *loc, int gh, int gw);
/* Writes the sin2d table (gh gw, D) into pos; D % 4 == 0. */
void sc_sa_sin2d_fill(float *pos, int gh, int gw, int D);

#endif
