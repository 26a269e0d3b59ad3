/* layers.h - layers as _forward/_backward pairs over raw float buffers.
 *
 * Conventions (as llm.c): row-major, batch first. Arguments are outputs first,
 * then cached values, inputs, weights, and dimensions last. Every _backward
 * ADDS into its d* outputs (so shared weights and time steps accumulate);
 * callers zero them. A NULL d* output is skipped. Dimension letters:
 * B batch, IN input width, OUT output width, H hidden width, C classes, N elements.
 * Weights are (OUT, IN) so that out = in @ w^T + b.
 */
#ifndef SACCADE_NETS_LAYERS_H
#define SACCADE_NETS_LAYERS_H

/* ---- linear -------------------------------------------------------------
 * in (B,IN), w (OUT,IN), b (OUT) or NULL, out (B,OUT): out = in @ w^T + b.  */
void sc_linear_forward(float *out, const float *in, const float *w, const float *b,
                       int B, int IN, int OUT);
/* din (B,IN) += dout @ w;  dw (OUT,IN) += dout^T @ in;  db (OUT) += sum_b dout. */
void sc_linear_backward(float *din, float *dw, float *db, const float *dout,
                        const float *in, const float *w, int B, int IN, int OUT);
/* The naive reference kernels: same signatures and results, plain loops, no BLAS.
 * They are the specification the BLAS versions are tested against. */
void sc_linear_forward_naive(float *out, const float *in, const float *w, const float *b,
                             int B, int IN, int OUT);
void sc_linear_backward_naive(float *din, float *dw, float *db, const float *dout,
                              const float *in, const float *w, int B, int IN, int OUT);

/* ---- elementwise activations (out may equal in for forward) ---------------
 * Backward uses the forward OUTPUT: din += dout * f'(.) expressed through out. */
void sc_relu_forward(float *out, const float *in, int N);
void sc_relu_backward(float *din, const float *dout, const float *out, int N);
void sc_tanh_forward(float *out, const float *in, int N);
void sc_tanh_backward(float *din, const float *dout, const float *out, int N);  /* 1 - out^2 */
void sc_sigmoid_forward(float *out, const float *in, int N);
void sc_sigmoid_backward(float *din, const float *dout, const float *out, int N); /* out(1-out) */

/* ---- plain RNN cell ------------------------------------------------------
 * h = act(x @ wx^T + hprev @ wh^T + b)
 * x (B,IN), hprev (B,H) or NULL (= zeros, the first step), wx (H,IN), wh (H,H), b (H), h (B,H). */
typedef enum { SC_ACT_RELU = 0, SC_ACT_TANH = 1 } sc_act;
void sc_rnn_forward(float *h, const float *x, const float *hprev, const float *wx,
                    const float *wh, const float *b, int B, int IN, int H, sc_act act);
/* dh (B,H) is the gradient w.r.t. h; scratch is B*H floats (overwritten).
 * dx, dhprev, dwx, dwh, db are accumulated; dhprev/dwh ignored when hprev is NULL. */
void sc_rnn_backward(float *dx, float *dhprev, float *dwx, float *dwh, float *db,
                     const float *dh, const float *h, const float *x, const float *hprev,
                     const float *wx, const float *wh, float *scratch,
                     int B, int IN, int H, sc_act act);

/* ---- LSTM cell -------------------------------------------------------------
 * Gate order i, f, g, o in the 4H axis:
 *   a = x @ wx^T + hprev @ wh^T + b;  i = sig(a_i), f = sig(a_f), g = tanh(a_g), o = sig(a_o)
 *   c = f * cprev + i * g;  h = o * tanh(c)
 * x (B,IN), hprev/cprev (B,H) or NULL (zeros), wx (4H,IN), wh (4H,H), b (4H).
 * Outputs h, c (B,H) and the cache gates (B,4H) holding the post-activation i,f,g,o. */
void sc_lstm_forward(float *h, float *c, float *gates, const float *x, const float *hprev,
                     const float *cprev, const float *wx, const float *wh, const float *b,
                     int B, int IN, int H);
/* dh, dc (B,H): gradients w.r.t. h and c from above (dc may be NULL = zeros).
 * scratch is B*4H floats (overwritten). Accumulates dx, dhprev, dcprev, dwx, dwh, db. */
void sc_lstm_backward(float *dx, float *dhprev, float *dcprev, float *dwx, float *dwh, float *db,
                      const float *dh, const float *dc, const float *gates, const float *c,
                      const float *cprev, const float *x, const float *hprev,
                      const float *wx, const float *wh, float *scratch, int B, int IN, int H);

/* ---- softmax + cross-entropy ----------------------------------------------
 * logits (B,C) -> logp (B,C) log-probabilities (stable: x - max - log sum exp).
 * Returns the mean over the batch of -logp[b, labels[b]] (0 when labels is NULL). */
float sc_softmax_xent_forward(float *logp, const float *logits, const int *labels, int B, int C);
/* dlogits (B,C) += scale * (exp(logp) - onehot(labels)) / B. */
void sc_softmax_xent_backward(float *dlogits, const float *logp, const int *labels,
                              int B, int C, float scale);

/* ---- argmax ----------------------------------------------------------------------
 * pred (B) = the index of each row's largest value in x (B,C) (the first of equal
 * maxima; pred may be NULL). Returns how many rows' argmax equals labels (B) when
 * labels is non-NULL, else 0: the classifiers' predictions and correct counts. */
int sc_argmax_rows(int *pred, const float *x, const int *labels, int B, int C);

/* ---- mean squared error ---------------------------------------------------
 * Returns mean over N of (pred - target)^2;  dpred += scale * 2 (pred - target) / N. */
float sc_mse_forward(const float *pred, const float *target, int N);
void sc_mse_backward(float *dpred, const float *pred, const float *target, int N, float scale);

#endif
