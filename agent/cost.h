/* cost.h - analytic compute per image of the RAM (agent/ram.h), the soft
 * attention model (agent/soft.h), the fully connected baseline (agent/fc.h)
 * and the patch transformer (agent/selfattn.h), derived from the layer
 * shapes, one small function per layer kind.
 *
 * What counts (the conventions every function below follows):
 * - A MAC is one multiply-add of a matrix or vector product: GEMMs, GEMVs,
 *   dot products, weighted sums, outer products. FLOPs = 2 MACs. Not counted:
 *   element-wise work (activations, the LSTM's gate products, bias additions,
 *   softmax exponentials and normalisation, scalings by constants such as
 *   1/sqrt(GO)), the loss, sampling, the optimizer step.
 * - Inference is one forward pass. A training step is forward + backward; a
 *   linear layer's backward is dW = dout^T in (IN OUT MACs) plus, when its
 *   input needs a gradient, din = dout W (IN OUT MACs). Inputs that are data
 *   (the retina's patches, the locations, the canvas) get no din, nor does the
 *   RAM's detached h_t feeding the location net and the baseline.
 * - Every recurrent step is counted in full, as sc_ram_macs does: at t = 0,
 *   where h_{-1} = 0, the code skips the product with h_{-1} (RAM and soft
 *   cores) or multiplies zeros (soft queries); the count does not skip it.
 * - Counts are per image as the model's equations define it; sharing across a
 *   batch is not subtracted (the soft model's h_l, the same for every image, is
 *   computed once per batch: 2 HL L MACs per image, under 1%).
 * - Channels: a canvas of ch channels (each kind's cfg.channels, 0 read as
 *   1) is ch values per pixel. Every count that reads the canvas is per value:
 *   the first layer's input is ch times wider (the glimpse network's Wg takes
 *   G = k g g ch, fc's first layer N = H W ch, selfattn's embedding
 *   P = p^2 ch), pixels_read and retina_adds are ch times the one-channel
 *   figures; nothing after the first layer changes.
 * - The retina's area averaging is additions, not multiply-adds: it is not in
 *   the MACs (so the RAM's macs_infer equals sc_ram_macs) but reported as
 *   retina_adds: per glimpse, channel and scale s >= 1, g^2 (4^s - 1)
 *   additions (scale 0 is a copy; the final multiply by 1/4^s is a scaling).
 * - pixels_read is the number of input values (pixels x channels) the sensor
 *   covers per image: per glimpse ch sum_s (g 2^s)^2 = ch g^2 (4^k - 1)/3,
 *   pixels off the canvas (read as zeros) included, i.e. clipped by nothing,
 *   and overlapping glimpses counted again: RAM T times, soft L times (once
 *   per location, not per step), FC and selfattn the whole canvas once.
 * - selfattn (T tokens, width D, H heads, F MLP width, NL blocks): per block
 *   the [q k v] projection 3 T D^2, the scores q k^T and the weighted sums
 *   att v, T^2 D each (all heads together: H T^2 hs), the output projection
 *   T D^2 and the MLP 2 T D F; the embedding T P D; the query readout
 *   2 T D^2 for its keys and values, D^2 each for its query and output and
 *   2 T D for its one row of scores and sum (the mean readout's average is
 *   additions: not counted); the classifier D C. Layer norms, GELU and the
 *   softmax are element-wise. A causal mask is not subtracted (the products
 *   run over the full T x T). The part that grows as T^2, the blocks' scores,
 *   weighted sums and (backward) softmax dot products, is also reported on
 *   its own (attn_macs_*), so that it can be seen beside the rest, which
 *   grows as T.
 */
#ifndef SACCADE_AGENT_COST_H
#define SACCADE_AGENT_COST_H

#include "agent/fc.h"
#include "agent/ram.h"
#include "agent/selfattn.h"
#include "agent/soft.h"

typedef struct sc_cost {
    double macs_infer;   /* multiply-adds per image, one forward pass */
    double macs_train;   /* multiply-adds per image, one training step (forward + backward) */
    double flops_infer;  /* 2 macs_infer */
    double flops_train;  /* 2 macs_train */
    double pixels_read;  /* input values (pixels x channels) read per image (see above) */
    double retina_adds;  /* additions of the retina's averaging per image (not in the MACs) */
    double params;       /* number of parameters: sc_params_count of the model */
    double attn_macs_infer;  /* selfattn: the T^2 part of macs_infer (included in it); 0 for others */
    double attn_macs_train;  /* selfattn: the T^2 part of macs_train (included in it); 0 for others */
} sc_cost;

/* Per model. Sizes as in the model's configuration; the configuration is not
 * validated (call *_create for that). */
sc_cost sc_cost_ram(const sc_ram_cfg *c);
sc_cost sc_cost_soft(const sc_soft_cfg *c);
sc_cost sc_cost_fc(const sc_fc_cfg *c);
/* Tokens T = (img_h / patch) (img_w / patch), sides rounded up when patch
 * does not divide them (so compare's canvases of other sizes still have a
 * figure); sc_sa_create refuses such a configuration. */
sc_cost sc_cost_selfattn(const sc_sa_cfg *c);

/* Per layer kind, MACs for one example. */
double sc_cost_linear_fwd(double in, double out);             /* in out */
double sc_cost_linear_bwd(double in, double out, int din);    /* in out (dW) + in out if din */
/* A core step x (IN) -> h (H), GH = H (rnn) or 4H (lstm) gate rows: forward
 * GH (IN + H); backward dWx, dWh, dh_{t-1} (GH (IN + 2H)) and dx if dx (GH IN). */
double sc_cost_cell_fwd(sc_core_kind core, double in, double h);
double sc_cost_cell_bwd(sc_core_kind core, double in, double h, int dx);
/* Attention over L locations of width D (dot: the features; additive: A):
 * dot scores q . g_i: L D forward, 2 L D backward (dq, dg_i);
 * additive scores v . tanh(.): L A forward, 2 L A backward (dv, de_i v);
 * softmax: 0 forward, L backward (p . dp); weighted sum sum_i p_i g_i: L D
 * forward, 2 L D backward (dp_i, dg_i). */
double sc_cost_score_dot_fwd(double L, double d);
double sc_cost_score_dot_bwd(double L, double d);
double sc_cost_score_additive_fwd(double L, double a);
double sc_cost_score_additive_bwd(double L, double a);
double sc_cost_softmax_fwd(double L);
double sc_cost_softmax_bwd(double L);
double sc_cost_pool_fwd(double L, double d);
double sc_cost_pool_bwd(double L, double d);
/* One glimpse of k scales of g x g, one channel: pixels covered and averaging
 * additions (the models multiply by their channels). */
double sc_cost_retina_pixels(int g, int k);
double sc_cost_retina_adds(int g, int k);

#endif
