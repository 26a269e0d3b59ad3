/* attn.h - the pieces of a transformer block as _forward/_backward pairs:
 * layer normalisation, GELU, row softmax (optionally causal) and multi-head
 * scaled dot-product attention.
 *
 * Conventions as layers.h: row-major, batch first; outputs first, then cached
 * values, inputs, weights, dimensions last. Every _backward ADDS into its d*
 * outputs (callers zero them) and skips a NULL d*. Nothing here allocates;
 * callers own every buffer, scratch included. Results are deterministic (same
 * inputs, same OpenBLAS thread count, same bits).
 *
 * What this is not: the q/k/v and output projections, residuals and dropout
 * are not here (use sc_linear_* from layers.h and plain adds).
 *
 * Dimension letters: B batch, N rows, D feature width, R softmax rows,
 * K softmax width, Tq query positions, Tk key positions, H heads, hs head size.
 * Shape preconditions (positive sizes, Tq == Tk when causal) are programmer
 * errors, checked with assert (so only in builds without NDEBUG; a Release
 * build does not check them). Non-finite inputs are not trapped: a NaN in a
 * row spreads through that row.
 */
#ifndef SACCADE_NETS_ATTN_H
#define SACCADE_NETS_ATTN_H

/* ---- layer normalisation over the last axis ----
 * x, y (N, D); gamma, beta (D); mean, rstd (N) cached for the backward.
 * y = (x - mean) * rstd * gamma + beta, rstd = 1/sqrt(var + eps), var the biased variance. */
void sc_layernorm_forward(float *y, float *mean, float *rstd, const float *x,
                          const float *gamma, const float *beta, int N, int D, float eps);
/* dx (N,D) +=, dgamma (D) +=, dbeta (D) += ; dy (N,D). */
void sc_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                           const float *x, const float *mean, const float *rstd,
                           const float *gamma, int N, int D);

/* ---- GELU (tanh approximation), elementwise; backward needs the INPUT ----
 * out = 0.5 in (1 + tanh(sqrt(2/pi) (in + 0.044715 in^3))), in, out (N); out may equal in.
 * din (N) += dout * gelu'(in). */
void sc_gelu_forward(float *out, const float *in, int N);
void sc_gelu_backward(float *din, const float *dout, const float *in, int N);
/* The same for a gradient that has no other use: d (N) = d * gelu'(in) in place, what
 * sc_gelu_backward adds into a zeroed din (without the zeroing pass and second buffer;
 * only a zero may differ, -0 where the zeroed din gives +0). */
void sc_gelu_backward_inplace(float *d, const float *in, int N);

/* ---- softmax over the last axis of R rows of K, optionally causal ----
 * causal: row r is query i = r % Tq (rows are (..., Tq, K) blocks) and keys j > i get weight 0
 * (score -inf); requires Tq == K when causal. p (R,K) = softmax(s). Tq is ignored when
 * causal == 0. Stable: the row max is subtracted first. p may equal s (in place). */
void sc_softmax_rows_forward(float *p, const float *s, int R, int K, int Tq, int causal);
/* ds (R,K) += p * (dp - sum_k dp*p) */
void sc_softmax_rows_backward(float *ds, const float *dp, const float *p, int R, int K);

/* ---- multi-head scaled dot-product attention (the projections are separate linears) ----
 * q (B, Tq, H*hs), k and v (B, Tk, H*hs): head h uses columns [h*hs, (h+1)*hs).
 * att (B, H, Tq, Tk): softmax over keys of q_h k_h^T / sqrt(hs) (with the causal mask when
 * causal != 0, which needs Tq == Tk); saved for the backward.
 * out (B, Tq, H*hs): head h's block = att_h @ v_h (heads concatenated in place).
 * out is overwritten (not accumulated); it must not alias q, k or v. */
void sc_mha_forward(float *out, float *att, const float *q, const float *k, const float *v,
                    int B, int Tq, int Tk, int H, int hs, int causal);
/* dq (B,Tq,H*hs) +=, dk, dv (B,Tk,H*hs) += ; dout (B,Tq,H*hs); scratch: Tq*Tk floats
 * (overwritten). Masked weights are exactly 0, so no gradient flows through them.
 * att is the forward's cache (the mask is implicit in it). */
void sc_mha_backward(float *dq, float *dk, float *dv, const float *dout, const float *att,
                     const float *q, const float *k, const float *v, float *scratch,
                     int B, int Tq, int Tk, int H, int hs);

/* The same with explicit row strides (leading dimensions, each >= H*hs), so q, k and v can
 * be column blocks of one [q k v] row (ldq = ldkv = 3 H hs) with no copy: q and dq rows are
 * ldq floats apart, k, v, dk and dv rows ldkv, out and dout rows ldo. Only the first H*hs
 * floats of each row are read or written. Same results as the versions above.
 * overwrite != 0: the backward writes dq, dk and dv instead of adding to them (their old
 * contents are ignored), so a caller that would zero them first need not. */
void sc_mha_forward_ld(float *out, int ldo, float *att, const float *q, int ldq, const float *k,
                       const float *v, int ldkv, int B, int Tq, int Tk, int H, int hs, int causal);
void sc_mha_backward_ld(float *dq, float *dk, float *dv, const float *dout, int ldo,
                        const float *att, const float *q, int ldq, const float *k, const float *v,
                        int ldkv, float *scratch, int B, int Tq, int Tk, int H, int hs, int overwrite);

/* The naive references: same signatures and results, plain loops, no BLAS.
 * They are the specification the versions above are tested against. */
void sc_mha_forward_naive(float *out, float *att, const float *q, const float *k,
                          const float *v, int B, int Tq, int Tk, int H, int hs, int causal);
void sc_mha_backward_naive(float *dq, float *dk, float *dv, const float *dout,
                           const float *att, const float *q, const float *k, const float *v,
                           float *scratch, int B, int Tq, int Tk, int H, int hs);

/* ---- statistics of a probability row ----
 * The entropy -sum p log p (nats; zeros add 0) of p (n), and its largest value
 * into *pmax: how spread attention weights are (log n = uniform, 0 = one key). */
double sc_prob_entropy(const float *p, int n, float *pmax);

#endif
