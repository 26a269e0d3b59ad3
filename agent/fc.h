/* fc.h - the fully connected baseline of Mnih et al. (2014) ("FC, 2 layers of
 * 256"): the whole canvas in, no attention.
 *
 * For a batch of B canvases (B, Hc, Wc, ch) of ch channels interleaved (HWC;
 * ch = 1 is a grey (B, Hc, Wc)), flattened row-major to N = Hc Wc ch (pixel
 * by pixel, each pixel's channels together):
 *   a_0 = x                                   (B, N)
 *   a_k = ReLU(a_{k-1} W_k^T + b_k)           (B, HID)   k = 1..layers
 *   logp = log_softmax(a_layers Wc^T + bc)    (B, C)
 * (layers = 0 is multinomial logistic regression on the pixels.) Loss: the
 * mean cross-entropy, learned by backprop.
 *
 * Parameters: fc.W1, fc.b1, ..., fc.W<layers>, fc.b<layers>, action.W, action.b.
 * Memory: one activation buffer sized for max_batch (NB) at creation:
 * NB (N + (layers + 3) HID + 3 C) floats (forward keeps a copy of x for the
 * backward). Forward and backward allocate nothing. One model per thread.
 */
#ifndef SACCADE_AGENT_FC_H
#define SACCADE_AGENT_FC_H

#include "agent/stats.h"
#include "nets/err.h"
#include "nets/params.h"
#include "nets/rng.h"

#define SC_FC_LAYERS_MAX 16

typedef struct sc_fc_cfg {
    int img_h, img_w;   /* canvas size */
    int num_classes;    /* C >= 2 */
    int layers;         /* hidden ReLU layers, 0..SC_FC_LAYERS_MAX */
    int hidden;         /* HID, width of every hidden layer */
    int max_batch;      /* largest B passed to forward */
    int channels;       /* ch, the canvas's channels (x is (B, img_h, img_w, ch), HWC), 1..4;
                         * 0 reads as 1 so that zeroed or older configs stay grey */
} sc_fc_cfg;

/* The paper's baseline: 28x28 grey (channels 1), 10 classes, 2 layers of 256,
 * max_batch 128. */
void sc_fc_cfg_defaults(sc_fc_cfg *c);

/* The statistics of a forward with labels are sc_model_stats (agent/stats.h),
 * one struct for every kind: this one writes xent, reward and correct and leaves the rest NaN. */

typedef struct sc_fc sc_fc;

/* Creates a model with parameters declared and allocated (zero; call
 * sc_fc_init_params). Errors: SC_EARG for a bad configuration (the message
 * names the field, its value and the expected range), SC_ENOMEM. */
int sc_fc_create(sc_fc **out, const sc_fc_cfg *cfg, sc_err *err);
void sc_fc_free(sc_fc *m);  /* accepts NULL */

const sc_fc_cfg *sc_fc_config(const sc_fc *m);
/* The parameter store (data and grad buffers, named views). Owned by m. */
sc_params *sc_fc_params(sc_fc *m);

/* Every weight and bias U(+-1/sqrt(fan_in)) (nn.Linear's default, as sc_ram_init_params). */
void sc_fc_init_params(sc_fc *m, sc_rng *r);

/* Forward pass over x (B, img_h, img_w, channels), 1 <= B <= max_batch.
 * labels (B) may be NULL (no loss; st may be NULL). Returns SC_OK or SC_EARG
 * (B out of range; nothing is computed). */
int sc_fc_forward(sc_fc *m, const float *x, const int *labels, int B, sc_model_stats *st);

/* Backward of the mean cross-entropy of the last forward, which must have had
 * these labels and this B: ADDS into sc_fc_params(m)->grad. */
void sc_fc_backward(sc_fc *m, const int *labels, int B);

const float *sc_fc_logp(const sc_fc *m);  /* (B, C) log-probabilities of the last forward; owned by m */

/* Inference: one forward without labels. logp_out (B, C) and pred_out (B)
 * (argmax) may each be NULL. Returns the number of correct predictions when
 * labels is non-NULL (else 0), or SC_EARG. */
int sc_fc_predict(sc_fc *m, const float *x, const int *labels, int B, float *logp_out, int *pred_out);

#endif
