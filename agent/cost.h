/* cost.h - analytic compute per image of the RAM (agent/ram.h), the soft
 * attention model (agent/soft.h) and the fully connected baseline
 * (agent/fc.h), derived from the layer shapes, one small function per layer
 * kind.
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
 * - The retina's area averaging is additions, not multiply-adds: it is not in
 *   the MACs (so the RAM's macs_infer equals sc_ram_macs) but reported as
 *   retina_adds: per glimpse and scale s >= 1, g^2 (4^s - 1) additions (scale
 *   0 is a copy; the final multiply by 1/4^s is a scaling).
 * - pixels_read is the number of input pixels the sensor covers per image:
 *   per glimpse sum_s (g 2^s)^2 = g^2 (4^k - 1)/3, pixels off the canvas (read
 *   as zeros) included, i.e. clipped by nothing, and overlapping glimpses
 *   counted again: RAM T times, soft L times (once per location, not per
 *   step), FC the whole canvas once.
 */
#ifndef SACCADE_AGENT_COST_H
#define SACCADE_AGENT_COST_H

#include "agent/fc.h"
#include "agent/ram.h"
#include "agent/soft.h"

typedef struct sc_cost {
    double macs_infer;   /* multiply-adds per image, one forward pass */
    double macs_train;   /* multiply-adds per image, one training step (forward + backward) */
    double flops_infer;  /* 2 macs_infer */
    double flops_train;  /* 2 macs_train */
    double pixels_read;  /* input pixels read per image (see above) */
    double retina_adds;  /* additions of the retina's averaging per image (not in the MACs) */
    double params;       /* number of parameters: sc_params_count of the model */
} sc_cost;

/* Per model. Sizes as in the model's configuration; the configuration is not
 * validated (call *_create for that). */
sc_cost sc_cost_ram(const sc_ram_cfg *c);
sc_cost sc_cost_soft(const sc_soft_cfg *c);
sc_cost sc_cost_fc(const sc_fc_cfg *c);

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
/* One glimpse of k scales of g x g: pixels covered and averaging additions. */
double sc_cost_retina_pixels(int g, int k);
double sc_cost_retina_adds(int g, int k);

#endif
