/* cost.c - analytic multiply-adds, pixels and parameters per image of each
 * model, summed from one function per layer kind (conventions in cost.h).
 * Dimension letters as in ram.h and soft.h: ch canvas channels, T steps,
 * G = k g g ch, HG, HL, HC = HG + HL, GO, H, GH gate rows (H or 4H), LH, C;
 * L locations, A additive width; N = H W ch input values, HID, K layers for
 * FC; selfattn.h's for selfattn (T tokens, P = p^2 ch).
 */
#include "cost.h"

#include "kind.h"

/* ---- layer kinds ---------------------------------------------------------------- */

/* out = in W^T: one product per weight */
double sc_cost_linear_fwd(double in, double out) { return in * out; }

/* dW += dout^T in; din += dout W when the input needs a gradient */
double sc_cost_linear_bwd(double in, double out, int din) { return in * out * (din ? 2.0 : 1.0); }

static double gate_rows(sc_core_kind core, double h) { return core == SC_CORE_LSTM ? 4.0 * h : h; }

/* a = x Wx^T + h_{t-1} Wh^T + b */
double sc_cost_cell_fwd(sc_core_kind core, double in, double h) {
    const double gh = gate_rows(core, h);
    return sc_cost_linear_fwd(in, gh) + sc_cost_linear_fwd(h, gh);
}

/* dWx (+ dx) from the x product, dWh + dh_{t-1} from the recurrent one */
double sc_cost_cell_bwd(sc_core_kind core, double in, double h, int dx) {
    const double gh = gate_rows(core, h);
    return sc_cost_linear_bwd(in, gh, dx) + sc_cost_linear_bwd(h, gh, 1);
}

/* e_i = q . g_i  /  dq += de_i g_i, dg_i += de_i q */
double sc_cost_score_dot_fwd(double L, double d) { return L * d; }
double sc_cost_score_dot_bwd(double L, double d) { return 2.0 * L * d; }

/* e_i = v . u_i  /  dv += de_i u_i, du_i = de_i v */
double sc_cost_score_additive_fwd(double L, double a) { return L * a; }
double sc_cost_score_additive_bwd(double L, double a) { return 2.0 * L * a; }

/* p = softmax(e): element-wise  /  de_i = p_i (dp_i - p . dp): one dot product */
double sc_cost_softmax_fwd(double L) { (void)L; return 0.0; }
double sc_cost_softmax_bwd(double L) { return L; }

/* z = sum_i p_i g_i  /  dp_i = dz . g_i, dg_i += p_i dz */
double sc_cost_pool_fwd(double L, double d) { return L * d; }
double sc_cost_pool_bwd(double L, double d) { return 2.0 * L * d; }

/* sum_{s<k} (g 2^s)^2 */
double sc_cost_retina_pixels(int g, int k) {
    double px = 0.0, side = g;
    for (int s = 0; s < k; s++, side *= 2.0) px += side * side;
    return px;
}

/* scale s >= 1: g^2 blocks of 4^s pixels, 4^s - 1 additions each */
double sc_cost_retina_adds(int g, int k) {
    double adds = 0.0, f2 = 1.0;
    for (int s = 0; s < k; s++, f2 *= 4.0) adds += (double)g * g * (f2 - 1.0);
    return adds;
}

static void finish(sc_cost *r) {
    r->flops_infer = 2.0 * r->macs_infer;
    r->flops_train = 2.0 * r->macs_train;
}

/* Parameters of a linear layer with bias. */
static double linear_params(double in, double out) { return in * out + out; }

/* ---- the glimpse network, shared by RAM (T times) and soft (L times) ------------- */

/* rho (G) -> hg (HG); l (2) -> hl (HL); [hg, hl] (HC) -> g (GO) */
static double glimpse_fwd(double G, double HG, double HL, double GO) {
    return sc_cost_linear_fwd(G, HG) + sc_cost_linear_fwd(2.0, HL) + sc_cost_linear_fwd(HG + HL, GO);
}

/* rho and l are data: no din for Wg, Wl; Wa passes its gradient down to hg, hl */
static double glimpse_bwd(double G, double HG, double HL, double GO) {
    return sc_cost_linear_bwd(G, HG, 0) + sc_cost_linear_bwd(2.0, HL, 0) +
           sc_cost_linear_bwd(HG + HL, GO, 1);
}

static double glimpse_params(double G, double HG, double HL, double GO) {
    return linear_params(G, HG) + linear_params(2.0, HL) + linear_params(HG + HL, GO);
}

static double core_params(sc_core_kind core, double in, double h) {
    const double gh = gate_rows(core, h);
    return gh * in + gh * h + gh;
}

/* ---- models ------------------------------------------------------------------------ */

sc_cost sc_cost_ram(const sc_ram_cfg *c) {
    const double ch = sc_kind_channels(c->channels);
    const double T = c->glimpses, G = (double)c->scales * c->glimpse_size * c->glimpse_size * ch;
    const double HG = c->glimpse_hidden, HL = c->loc_hidden, GO = c->glimpse_out, H = c->hidden;
    const double C = c->num_classes, LH = c->loc_net_hidden;
    sc_cost r = {0};
    /* per glimpse: glimpse network and core */
    double step_f = glimpse_fwd(G, HG, HL, GO) + sc_cost_cell_fwd(c->core, GO, H);
    double step_b = glimpse_bwd(G, HG, HL, GO) + sc_cost_cell_bwd(c->core, GO, H, 1);
    /* per location sampled (T - 1): location net and baseline on the detached h_t
     * (the location net passes its gradient down to h_t with reinforce_full) */
    double loc_f = 0.0, loc_b = 0.0, loc_p = 0.0;
    if (c->reinforce) {
        const int din = c->reinforce_full != 0;
        if (c->loc_mlp) {
            loc_f = sc_cost_linear_fwd(H, LH) + sc_cost_linear_fwd(LH, 2.0);
            loc_b = sc_cost_linear_bwd(H, LH, din) + sc_cost_linear_bwd(LH, 2.0, 1);
            loc_p = linear_params(H, LH) + linear_params(LH, 2.0);
        } else {
            loc_f = sc_cost_linear_fwd(H, 2.0);
            loc_b = sc_cost_linear_bwd(H, 2.0, din);
            loc_p = linear_params(H, 2.0);
        }
        if (c->baseline && c->baseline_kind == SC_BASELINE_CONSTANT) {
            loc_p += 1.0;  /* one learned number; the ema baseline has none */
        } else if (c->baseline && c->baseline_kind == SC_BASELINE_STATE) {
            loc_f += sc_cost_linear_fwd(H, 1.0);
            loc_b += sc_cost_linear_bwd(H, 1.0, 0);
            loc_p += linear_params(H, 1.0);
        }
    }
    /* classifier on h_{T-1}, which passes its gradient to the core */
    const double cls_f = sc_cost_linear_fwd(H, C), cls_b = sc_cost_linear_bwd(H, C, 1);
    r.macs_infer = T * step_f + (T - 1.0) * loc_f + cls_f;
    r.macs_train = r.macs_infer + T * step_b + (T - 1.0) * loc_b + cls_b;
    r.pixels_read = T * ch * sc_cost_retina_pixels(c->glimpse_size, c->scales);
    r.retina_adds = T * ch * sc_cost_retina_adds(c->glimpse_size, c->scales);
    r.params = glimpse_params(G, HG, HL, GO) + core_params(c->core, GO, H) + loc_p + linear_params(H, C);
    finish(&r);
    return r;
}

sc_cost sc_cost_soft(const sc_soft_cfg *c) {
    const double ch = sc_kind_channels(c->channels);
    const double T = c->glimpses, L = (double)c->grid * c->grid;
    const double G = (double)c->scales * c->glimpse_size * c->glimpse_size * ch;
    const double HG = c->glimpse_hidden, HL = c->loc_hidden, GO = c->glimpse_out, H = c->hidden;
    const double C = c->num_classes, A = c->att_hidden;
    const int additive = c->score == SC_SCORE_ADDITIVE;
    sc_cost r = {0};
    /* per location, once per image: glimpse network (+ pg = g Wp^T + bp) */
    double loc_f = glimpse_fwd(G, HG, HL, GO), loc_b = glimpse_bwd(G, HG, HL, GO);
    double att_p;
    if (additive) {
        loc_f += sc_cost_linear_fwd(GO, A);
        loc_b += sc_cost_linear_bwd(GO, A, 1);
        att_p = linear_params(GO, A) + H * A + A;  /* Wp, bp, Wh, v */
    } else {
        att_p = linear_params(H, GO);               /* Wq, bq */
    }
    /* per step: query from h_{t-1} (which needs its gradient), scores, softmax, weighted sum, core */
    double step_f, step_b;
    if (additive) {
        step_f = sc_cost_linear_fwd(H, A) + sc_cost_score_additive_fwd(L, A);
        step_b = sc_cost_linear_bwd(H, A, 1) + sc_cost_score_additive_bwd(L, A);
    } else {
        step_f = sc_cost_linear_fwd(H, GO) + sc_cost_score_dot_fwd(L, GO);
        step_b = sc_cost_linear_bwd(H, GO, 1) + sc_cost_score_dot_bwd(L, GO);
    }
    step_f += sc_cost_softmax_fwd(L) + sc_cost_pool_fwd(L, GO) + sc_cost_cell_fwd(c->core, GO, H);
    step_b += sc_cost_softmax_bwd(L) + sc_cost_pool_bwd(L, GO) + sc_cost_cell_bwd(c->core, GO, H, 1);
    const double cls_f = sc_cost_linear_fwd(H, C), cls_b = sc_cost_linear_bwd(H, C, 1);
    r.macs_infer = L * loc_f + T * step_f + cls_f;
    r.macs_train = r.macs_infer + L * loc_b + T * step_b + cls_b;
    r.pixels_read = L * ch * sc_cost_retina_pixels(c->glimpse_size, c->scales);
    r.retina_adds = L * ch * sc_cost_retina_adds(c->glimpse_size, c->scales);
    r.params = glimpse_params(G, HG, HL, GO) + att_p + core_params(c->core, GO, H) + linear_params(H, C);
    finish(&r);
    return r;
}

sc_cost sc_cost_fc(const sc_fc_cfg *c) {
    const double N = (double)c->img_h * c->img_w * sc_kind_channels(c->channels);
    const double HID = c->hidden, C = c->num_classes;
    sc_cost r = {0};
    double in = N, fwd = 0.0, bwd = 0.0, params = 0.0;
    for (int k = 0; k < c->layers; k++) {
        fwd += sc_cost_linear_fwd(in, HID);
        bwd += sc_cost_linear_bwd(in, HID, k > 0);  /* layer 1's input is the canvas */
        params += linear_params(in, HID);
        in = HID;
    }
    fwd += sc_cost_linear_fwd(in, C);
    bwd += sc_cost_linear_bwd(in, C, c->layers > 0);
    params += linear_params(in, C);
    r.macs_infer = fwd;
    r.macs_train = fwd + bwd;
    r.pixels_read = N;
    r.params = params;
    finish(&r);
    return r;
}

sc_cost sc_cost_selfattn(const sc_sa_cfg *c) {
    const int p = c->patch > 0 ? c->patch : 1;
    const double gh = (c->img_h + p - 1) / p, gw = (c->img_w + p - 1) / p, T = gh * gw;
    const double P = (double)p * p * sc_kind_channels(c->channels);
    const double D = c->d_model, H = c->heads, F = c->mlp_hidden, NL = c->blocks;
    const double C = c->num_classes;
    sc_cost r = {0};
    /* every token attends to T keys: scores and weighted sums over all heads (width D), per query row */
    const double att_f = T * (sc_cost_score_dot_fwd(T, D) + sc_cost_softmax_fwd(T) + sc_cost_pool_fwd(T, D));
    const double att_b = T * (sc_cost_score_dot_bwd(T, D) + H * sc_cost_softmax_bwd(T) + sc_cost_pool_bwd(T, D));
    /* per block: [q k v], attention, output projection, MLP; every input needs its gradient */
    const double blk_f = T * (sc_cost_linear_fwd(D, 3 * D) + sc_cost_linear_fwd(D, D) + sc_cost_linear_fwd(D, F) +
                              sc_cost_linear_fwd(F, D)) + att_f;
    const double blk_b = T * (sc_cost_linear_bwd(D, 3 * D, 1) + sc_cost_linear_bwd(D, D, 1) +
                              sc_cost_linear_bwd(D, F, 1) + sc_cost_linear_bwd(F, D, 1)) + att_b;
    const double blk_p = 4.0 * D + linear_params(D, 3 * D) + linear_params(D, D) + linear_params(D, F) +
                         linear_params(F, D);  /* two layer norms, then the linears */
    /* the embedding of the patches (data: no din) */
    double fwd = T * sc_cost_linear_fwd(P, D), bwd = T * sc_cost_linear_bwd(P, D, 0);
    double params = linear_params(P, D) + (c->pos_enc == SC_SA_POS_LEARNED ? T * D : 0.0);
    fwd += NL * blk_f;
    bwd += NL * blk_b;
    params += NL * blk_p + 2.0 * D;  /* + the final layer norm */
    if (c->readout == SC_SA_READOUT_QUERY) {
        /* q_r from the learned token (which needs its gradient), [k v] of the T tokens, one query row of
         * attention, the output projection */
        fwd += sc_cost_linear_fwd(D, D) + T * sc_cost_linear_fwd(D, 2 * D) + sc_cost_score_dot_fwd(T, D) +
               sc_cost_pool_fwd(T, D) + sc_cost_linear_fwd(D, D);
        bwd += sc_cost_linear_bwd(D, D, 1) + T * sc_cost_linear_bwd(D, 2 * D, 1) + sc_cost_score_dot_bwd(T, D) +
               H * sc_cost_softmax_bwd(T) + sc_cost_pool_bwd(T, D) + sc_cost_linear_bwd(D, D, 1);
        params += D + linear_params(D, D) + linear_params(D, 2 * D) + linear_params(D, D);
    }
    fwd += sc_cost_linear_fwd(D, C);
    bwd += sc_cost_linear_bwd(D, C, 1);
    params += linear_params(D, C);
    r.macs_infer = fwd;
    r.macs_train = fwd + bwd;
    r.attn_macs_infer = NL * att_f;
    r.attn_macs_train = NL * (att_f + att_b);
    r.pixels_read = gh * gw * P;
    r.params = params;
    finish(&r);
    return r;
}
