/* test_agent_cost.c - analytic compute per image (agent/cost.h).
 *
 * - each layer kind's count on small shapes;
 * - RAM, soft attention and FC against hand counts of two configurations
 *   each (the arithmetic is in the comments), inference and training;
 * - RAM's inference count equals sc_ram_macs in every variant;
 * - the parameter count equals sc_params_count of the created model, for
 *   every model kind (so the shapes the costs assume are the models' own);
 * - as the canvas grows (grid side keeping 4-pixel cells), the soft model's
 *   compute and pixels grow with L while RAM's stay flat;
 * - selfattn against hand counts (mean and query readouts), its parameters
 *   against the model's, and its attention term growing as T^2 (16 times
 *   for a canvas twice as wide) while the rest grows as T (4 times).
 * - with 3 channels on non-square canvases, every kind against hand counts:
 *   the first layer 3 times wider, pixels and retina additions 3 times, the
 *   parameters the models'.
 * Set SACCADE_TEST_VERBOSE=1 to print the figures of the paper's configurations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cost.h"
#include "tests/testutil.h"

static int verbose(void) {
    const char *v = getenv("SACCADE_TEST_VERBOSE");
    return v && *v && strcmp(v, "0") != 0;
}

static void print_cost(const char *what, sc_cost c) {
    if (!verbose()) return;
    printf("%-40s infer %8.3f MMAC (%8.3f MFLOP)  train %8.3f MMAC  pixels %7.0f  retina adds %7.0f  params %.0f\n",
           what, c.macs_infer / 1e6, c.flops_infer / 1e6, c.macs_train / 1e6, c.pixels_read, c.retina_adds,
           c.params);
}

#define EQ(a, b) ck_assert_double_eq_tol((a), (b), 1e-9 * (1.0 + (b)))

START_TEST(layer_kinds) {
    EQ(sc_cost_linear_fwd(3, 4), 12);
    EQ(sc_cost_linear_bwd(3, 4, 1), 24);  /* dW and din */
    EQ(sc_cost_linear_bwd(3, 4, 0), 12);  /* dW only */
    /* rnn 6 -> 7: 7 (6 + 7) = 91; backward dWx 42 + dx 42 + dWh 49 + dh 49 = 182 (140 without dx) */
    EQ(sc_cost_cell_fwd(SC_CORE_RNN, 6, 7), 91);
    EQ(sc_cost_cell_bwd(SC_CORE_RNN, 6, 7, 1), 182);
    EQ(sc_cost_cell_bwd(SC_CORE_RNN, 6, 7, 0), 140);
    /* lstm: 4 H gate rows, four times the rnn's */
    EQ(sc_cost_cell_fwd(SC_CORE_LSTM, 6, 7), 364);
    EQ(sc_cost_cell_bwd(SC_CORE_LSTM, 6, 7, 1), 728);
    /* attention over 9 locations of width 6 (additive: 5) */
    EQ(sc_cost_score_dot_fwd(9, 6), 54);
    EQ(sc_cost_score_dot_bwd(9, 6), 108);
    EQ(sc_cost_score_additive_fwd(9, 5), 45);
    EQ(sc_cost_score_additive_bwd(9, 5), 90);
    EQ(sc_cost_softmax_fwd(9), 0);
    EQ(sc_cost_softmax_bwd(9), 9);
    EQ(sc_cost_pool_fwd(9, 6), 54);
    EQ(sc_cost_pool_bwd(9, 6), 108);
    /* retina: 8x8 one scale reads 64 pixels, copies them; 12x12 three scales
     * reads 144 + 576 + 2304 = 3024 and adds 144 (4 - 1) + 144 (16 - 1) = 2592 */
    EQ(sc_cost_retina_pixels(8, 1), 64);
    EQ(sc_cost_retina_adds(8, 1), 0);
    EQ(sc_cost_retina_pixels(12, 3), 3024);
    EQ(sc_cost_retina_adds(12, 3), 2592);
}
END_TEST

/* ---- RAM -------------------------------------------------------------------------- */

static sc_ram_cfg ram_small(void) {
    sc_ram_cfg c;
    memset(&c, 0, sizeof c);
    c.img_h = 12; c.img_w = 12; c.num_classes = 3; c.glimpses = 3; c.glimpse_size = 3; c.scales = 2;
    c.glimpse_hidden = 5; c.loc_hidden = 4; c.glimpse_out = 6; c.core = SC_CORE_RNN; c.hidden = 7;
    c.loc_mlp = 0; c.loc_net_hidden = 5; c.baseline = 1; c.reinforce = 1; c.reinforce_weight = 1.0f;
    c.max_batch = 4;
    return c;
}

static sc_ram_cfg ram_paper(void) {
    /* the paper's MNIST model: 28x28, 6 glimpses of 8x8, 1 scale, 128/128/256, rnn 256,
     * linear location net, baseline */
    sc_ram_cfg c;
    memset(&c, 0, sizeof c);
    c.img_h = 28; c.img_w = 28; c.num_classes = 10; c.glimpses = 6; c.glimpse_size = 8; c.scales = 1;
    c.glimpse_hidden = 128; c.loc_hidden = 128; c.glimpse_out = 256; c.core = SC_CORE_RNN; c.hidden = 256;
    c.loc_mlp = 0; c.loc_net_hidden = 64; c.baseline = 1; c.reinforce = 1; c.reinforce_weight = 1.0f;
    c.max_batch = 128;
    return c;
}

START_TEST(ram_hand_counts) {
    /* small: G = 2 * 3 * 3 = 18, HG 5, HL 4, GO 6, H 7, C 3, T 3, linear location net, baseline.
     * per glimpse forward:  Wg 18*5 = 90, Wl 2*4 = 8, Wa 9*6 = 54, core 6*7 + 7*7 = 91  -> 243
     * per location (T-1 = 2): loc 7*2 = 14, baseline 7                                   -> 21
     * classifier 7*3 = 21
     * inference: 3*243 + 2*21 + 21 = 792
     * per glimpse backward: Wg dW 90, Wl dW 8, Wa dW + din 108, core dWx 42 + dx 42 + dWh 49 + dh 49 = 182 -> 388
     * per location backward: loc dW 14, baseline dW 7 (h_t detached: no din)              -> 21
     * classifier backward 2*21 = 42
     * training: 792 + 3*388 + 2*21 + 42 = 2040
     * pixels per glimpse 3^2 + 6^2 = 45 -> 135; retina adds 9 * 3 = 27 per glimpse -> 81
     * params: Wg 95, Wl 12, Wa 60, core 42 + 49 + 7 = 98, loc 16, baseline 8, action 24 -> 313 */
    sc_ram_cfg s = ram_small();
    sc_cost c = sc_cost_ram(&s);
    EQ(c.macs_infer, 792);
    EQ(c.macs_train, 2040);
    EQ(c.flops_infer, 2 * 792);
    EQ(c.flops_train, 2 * 2040);
    EQ(c.pixels_read, 135);
    EQ(c.retina_adds, 81);
    EQ(c.params, 313);

    /* paper: G = 64
     * per glimpse forward: 64*128 = 8192, 2*128 = 256, 256*256 = 65536, core 256*256 + 256*256 = 131072
     *   -> 205056; per location: 256*2 + 256 = 768; classifier 256*10 = 2560
     * inference: 6*205056 + 5*768 + 2560 = 1236736
     * per glimpse backward: 8192 + 256 + 2*65536 + 4*65536 = 401664; per location 768; classifier 5120
     * training: 1236736 + 6*401664 + 5*768 + 5120 = 3655680
     * pixels 6 * 64 = 384, no averaging
     * params: 8320 + 384 + 65792 + 131328 + 514 + 257 + 2570 = 209165 */
    sc_ram_cfg p = ram_paper();
    c = sc_cost_ram(&p);
    print_cost("RAM 28x28, 6 x 8x8 (paper MNIST)", c);
    EQ(c.macs_infer, 1236736);
    EQ(c.macs_train, 3655680);
    EQ(c.pixels_read, 384);
    EQ(c.retina_adds, 0);
    EQ(c.params, 209165);
}
END_TEST

/* Every variant: rnn/lstm, linear/MLP location net, with and without baseline
 * (each kind) and REINFORCE (into the location net or everything). */
START_TEST(ram_inference_equals_sc_ram_macs) {
    for (int v = 0; v < 48; v++) {
        sc_ram_cfg c = ram_paper();
        c.core = v & 1 ? SC_CORE_LSTM : SC_CORE_RNN;
        c.loc_mlp = (v >> 1) & 1;
        c.baseline = (v >> 2) & 1;
        c.reinforce = (v >> 3) & 1;
        c.scales = 1 + (v & 3);
        c.glimpse_size = 6 + v;
        EQ(sc_cost_ram(&c).macs_infer, sc_ram_macs(&c));
        c = ram_small();
        c.core = v & 1 ? SC_CORE_LSTM : SC_CORE_RNN;
        c.loc_mlp = (v >> 1) & 1;
        c.baseline = (v >> 2) & 1;
        c.reinforce = (v >> 3) & 1;
        c.baseline_kind = (v >> 4) % 3;
        c.baseline_decay = 0.9f;
        c.reinforce_full = v & 1;
        EQ(sc_cost_ram(&c).macs_infer, sc_ram_macs(&c));
        /* and the parameter count is the model's */
        sc_ram *m;
        ck_assert_int_eq(sc_ram_create(&m, &c, NULL), SC_OK);
        EQ(sc_cost_ram(&c).params, (double)sc_params_count(sc_ram_params(m)));
        sc_ram_free(m);
    }
}
END_TEST

/* ---- soft attention -------------------------------------------------------------------- */

static sc_soft_cfg soft_small(sc_score_kind score, sc_core_kind core) {
    sc_soft_cfg c;
    memset(&c, 0, sizeof c);
    c.img_h = 12; c.img_w = 12; c.num_classes = 3; c.glimpses = 3; c.grid = 3; c.glimpse_size = 3;
    c.scales = 2; c.glimpse_hidden = 5; c.loc_hidden = 4; c.glimpse_out = 6; c.score = score;
    c.att_hidden = 5; c.core = core; c.hidden = 7; c.max_batch = 4;
    return c;
}

START_TEST(soft_hand_counts) {
    /* dot, rnn: L = 9, G = 18, HG 5, HL 4, GO 6, H 7, C 3, T 3
     * per location forward: Wg 90 + Wl 8 + Wa 54 = 152 -> 9*152 = 1368
     * per step forward: query 7*6 = 42, scores 9*6 = 54, softmax 0, sum 9*6 = 54, core 91 -> 241 -> 3*241 = 723
     * classifier 21; inference 1368 + 723 + 21 = 2112
     * per location backward: Wg dW 90, Wl dW 8, Wa dW + din 108 = 206 -> 1854
     * per step backward: query dW + dh 84, scores 108, softmax 9, sum 108, core 182 -> 491 -> 1473
     * classifier 42; training 2112 + 1854 + 1473 + 42 = 5481
     * pixels 9 * 45 = 405; retina adds 9 * 27 = 243
     * params: glimpse 95 + 12 + 60 = 167, Wq 42 + bq 6, core 98, action 24 -> 337 */
    sc_soft_cfg s = soft_small(SC_SCORE_DOT, SC_CORE_RNN);
    sc_cost c = sc_cost_soft(&s);
    EQ(c.macs_infer, 2112);
    EQ(c.macs_train, 5481);
    EQ(c.flops_train, 2 * 5481);
    EQ(c.pixels_read, 405);
    EQ(c.retina_adds, 243);
    EQ(c.params, 337);

    /* additive (A = 5), lstm:
     * per location forward: 152 + pg 6*5 = 182 -> 1638; backward 206 + Wp dW + din 60 = 266 -> 2394
     * per step forward: query 7*5 = 35, scores 9*5 = 45, sum 54, lstm 28 * 13 = 364 -> 498 -> 1494
     * per step backward: query 70, scores 90, softmax 9, sum 108, lstm 28 * 26 = 728 -> 1005 -> 3015
     * inference 1638 + 1494 + 21 = 3153; training 3153 + 2394 + 3015 + 42 = 8604
     * params: glimpse 167, Wp 30 + bp 5 + Wh 35 + v 5 = 75, lstm 168 + 196 + 28 = 392, action 24 -> 658 */
    s = soft_small(SC_SCORE_ADDITIVE, SC_CORE_LSTM);
    c = sc_cost_soft(&s);
    EQ(c.macs_infer, 3153);
    EQ(c.macs_train, 8604);
    EQ(c.params, 658);

    /* 28x28, grid 7 (L = 49), 8x8, the RAM's widths, dot, rnn, T = 6:
     * per location 8192 + 256 + 65536 = 73984 -> 49 * 73984 = 3625216
     * per step: query 65536, scores 49*256 = 12544, sum 12544, core 131072 -> 221696 -> 6 * 221696 = 1330176
     * inference 3625216 + 1330176 + 2560 = 4957952; pixels 49 * 64 = 3136 */
    sc_soft_cfg_defaults(&s);
    c = sc_cost_soft(&s);
    print_cost("soft 28x28, grid 7, 8x8 (dot, rnn)", c);
    EQ(c.macs_infer, 4957952);
    EQ(c.pixels_read, 3136);
}
END_TEST

START_TEST(soft_params_match_model) {
    for (int v = 0; v < 4; v++) {
        sc_soft_cfg c = soft_small(v & 1 ? SC_SCORE_ADDITIVE : SC_SCORE_DOT, v & 2 ? SC_CORE_LSTM : SC_CORE_RNN);
        c.grid = 2 + v;
        sc_soft *m;
        ck_assert_int_eq(sc_soft_create(&m, &c, NULL), SC_OK);
        EQ(sc_cost_soft(&c).params, (double)sc_params_count(sc_soft_params(m)));
        sc_soft_free(m);
    }
}
END_TEST

/* ---- FC ------------------------------------------------------------------------------------ */

START_TEST(fc_hand_counts) {
    /* 12x12 (N = 144), 2 layers of 9, C 3:
     * forward 144*9 + 9*9 + 9*3 = 1296 + 81 + 27 = 1404
     * backward: W1 dW only 1296 (its input is the canvas), W2 dW + din 162, action dW + din 54 -> 1512
     * training 2916; pixels 144; params 1296 + 9 + 81 + 9 + 27 + 3 = 1425 */
    sc_fc_cfg s = {12, 12, 3, 2, 9, 4, 1};
    sc_cost c = sc_cost_fc(&s);
    EQ(c.macs_infer, 1404);
    EQ(c.macs_train, 2916);
    EQ(c.pixels_read, 144);
    EQ(c.retina_adds, 0);
    EQ(c.params, 1425);
    /* no hidden layer: 144*3 = 432 forward, dW only backward */
    s.layers = 0;
    c = sc_cost_fc(&s);
    EQ(c.macs_infer, 432);
    EQ(c.macs_train, 864);
    EQ(c.params, 435);

    /* the paper's FC on 28x28: 784*256 + 256*256 + 256*10 = 200704 + 65536 + 2560 = 268800
     * backward 200704 + 131072 + 5120 = 336896 -> training 605696
     * params 200704 + 256 + 65536 + 256 + 2560 + 10 = 269322 */
    sc_fc_cfg_defaults(&s);
    c = sc_cost_fc(&s);
    print_cost("FC 28x28, 2 x 256 (paper)", c);
    EQ(c.macs_infer, 268800);
    EQ(c.macs_train, 605696);
    EQ(c.pixels_read, 784);
    EQ(c.params, 269322);
    for (int layers = 0; layers <= 3; layers++) {
        sc_fc_cfg f = {12, 12, 3, layers, 9, 4, 1};
        sc_fc *m;
        ck_assert_int_eq(sc_fc_create(&m, &f, NULL), SC_OK);
        EQ(sc_cost_fc(&f).params, (double)sc_params_count(sc_fc_params(m)));
        sc_fc_free(m);
    }
}
END_TEST

/* ---- scaling with the canvas ------------------------------------------------------------------ */

/* Canvases of 28, 60 and 100 pixels, the same sensor (12x12, 3 scales) and
 * widths; the soft grid keeps 4-pixel cells (7, 15, 25 per side). */
START_TEST(soft_grows_with_locations_ram_stays_flat) {
    const int sides[3] = {28, 60, 100};
    sc_cost ram[3], soft[3], fc[3];
    for (int i = 0; i < 3; i++) {
        sc_ram_cfg r = ram_paper();
        r.img_h = r.img_w = sides[i];
        r.glimpses = 8; r.glimpse_size = 12; r.scales = 3;
        ram[i] = sc_cost_ram(&r);
        sc_soft_cfg s;
        sc_soft_cfg_defaults(&s);
        s.img_h = s.img_w = sides[i];
        s.glimpses = 8; s.glimpse_size = 12; s.scales = 3; s.grid = sides[i] / 4;
        soft[i] = sc_cost_soft(&s);
        sc_fc_cfg f;
        sc_fc_cfg_defaults(&f);
        f.img_h = f.img_w = sides[i];
        fc[i] = sc_cost_fc(&f);
    }
    for (int i = 1; i < 3; i++) {
        EQ(ram[i].macs_infer, ram[0].macs_infer);
        EQ(ram[i].macs_train, ram[0].macs_train);
        EQ(ram[i].pixels_read, ram[0].pixels_read);
        const double Lratio = (double)(sides[i] / 4) * (sides[i] / 4) / ((sides[0] / 4) * (sides[0] / 4));
        EQ(soft[i].pixels_read / soft[0].pixels_read, Lratio);
        /* the soft model's compute is affine in L, with slope per location the glimpse
         * network 432*128 + 2*128 + 256*256 = 121088 plus, per step, a score and a
         * term of the weighted sum, 8 * (256 + 256) = 4096: 125184 */
        const double L0 = (sides[i - 1] / 4) * (sides[i - 1] / 4), L1 = (sides[i] / 4) * (sides[i] / 4);
        EQ((soft[i].macs_infer - soft[i - 1].macs_infer) / (L1 - L0), 125184);
        ck_assert_msg(soft[i].macs_infer > 0.75 * Lratio * soft[0].macs_infer,
                      "soft %d: %.4g MMAC vs %.4g at 28 (L ratio %.2f)", sides[i], soft[i].macs_infer / 1e6,
                      soft[0].macs_infer / 1e6, Lratio);
        ck_assert(soft[i].macs_train > 0.75 * Lratio * soft[0].macs_train);
        ck_assert(fc[i].macs_infer > fc[i - 1].macs_infer);
    }
    /* at 60x60 the soft model costs over an order of magnitude more than RAM */
    ck_assert(soft[1].macs_infer > 10.0 * ram[1].macs_infer);
    print_cost("RAM 60x60, 8 x 12x12 x3 scales", ram[1]);
    print_cost("soft 60x60, grid 15, 12x12 x3 (dot, rnn)", soft[1]);
    print_cost("soft 100x100, grid 25, 12x12 x3", soft[2]);
    print_cost("FC 60x60, 2 x 256", fc[1]);
}
END_TEST

/* ---- selfattn --------------------------------------------------------------------------------- */

START_TEST(selfattn_hand_counts) {
    /* 8x8 in patches of 4: T 4, P 16; D 8, H 2, F 12, one block, C 3, mean readout, learned positions.
     * forward: embed 4*16*8 = 512; block 4 (8*24 + 8*8 + 8*12 + 12*8) = 4*448 = 1792; attention
     * 4 (4*8 scores + 4*8 sums) = 256; classifier 24 -> 2584
     * backward: embed dW 512; block linears dW + din 3584; attention 4 (2*32 scores + 2*4 softmax
     * dots + 2*32 sums) = 544; classifier 48 -> 4688; training 7272
     * params: embed 136, pos 32, block 2*16 + 216 + 72 + 108 + 104 = 532, lnf 16, action 27 -> 743 */
    sc_sa_cfg a;
    sc_sa_cfg_defaults(&a);
    a.img_h = a.img_w = 8; a.patch = 4; a.d_model = 8; a.heads = 2; a.blocks = 1; a.mlp_hidden = 12;
    a.num_classes = 3; a.readout = SC_SA_READOUT_MEAN; a.pos_enc = SC_SA_POS_LEARNED;
    sc_cost c = sc_cost_selfattn(&a);
    EQ(c.macs_infer, 2584);
    EQ(c.macs_train, 7272);
    EQ(c.attn_macs_infer, 256);
    EQ(c.attn_macs_train, 800);
    EQ(c.pixels_read, 64);
    EQ(c.retina_adds, 0);
    EQ(c.params, 743);
    /* the query readout adds q_r 64, [k v] 4*128 = 512, one row of scores and sums 32 + 32, the output 64
     * -> 704 forward; backward 128 + 1024 + 64 + 8 (softmax) + 64 + 128 = 1416; params u 8 + 72 + 144 + 72;
     * nothing of it grows as T^2 */
    a.readout = SC_SA_READOUT_QUERY;
    c = sc_cost_selfattn(&a);
    EQ(c.macs_infer, 2584 + 704);
    EQ(c.macs_train, 7272 + 704 + 1416);
    EQ(c.attn_macs_infer, 256);
    EQ(c.params, 743 + 296);
    /* every variant's parameters are the model's */
    for (int v = 0; v < 8; v++) {
        a.readout = v & 1 ? SC_SA_READOUT_QUERY : SC_SA_READOUT_MEAN;
        a.pos_enc = (sc_sa_pos)((v >> 1) % 3);
        a.blocks = 1 + (v >> 2);
        a.causal = v & 1;
        sc_sa *m;
        ck_assert_int_eq(sc_sa_create(&m, &a, NULL), SC_OK);
        EQ(sc_cost_selfattn(&a).params, (double)sc_params_count(sc_sa_params(m)));
        sc_sa_free(m);
    }
}
END_TEST

/* The shipped width (patch 4, D 64, 4 heads, 2 blocks, F 128) on canvases of
 * 28, 56 and 112 pixels: T = 49, 196, 784. The attention term grows 16 times
 * per doubling (T^2), the rest 4 times (T) plus the classifier's constant. */
START_TEST(selfattn_attention_grows_as_T_squared) {
    const int sides[3] = {28, 56, 112};
    sc_cost c[3];
    for (int i = 0; i < 3; i++) {
        sc_sa_cfg a;
        sc_sa_cfg_defaults(&a);
        a.img_h = a.img_w = sides[i];
        a.readout = SC_SA_READOUT_MEAN;
        c[i] = sc_cost_selfattn(&a);
        if (verbose())
            printf("selfattn %3dx%-3d T %3d: infer %9.3f MMAC, of which attention %9.3f (%4.1f%%)\n", sides[i],
                   sides[i], (sides[i] / 4) * (sides[i] / 4), c[i].macs_infer / 1e6, c[i].attn_macs_infer / 1e6,
                   100.0 * c[i].attn_macs_infer / c[i].macs_infer);
    }
    for (int i = 1; i < 3; i++) {
        EQ(c[i].attn_macs_infer / c[i - 1].attn_macs_infer, 16.0);
        EQ(c[i].attn_macs_train / c[i - 1].attn_macs_train, 16.0);
        const double rest = (c[i].macs_infer - c[i].attn_macs_infer) / (c[i - 1].macs_infer - c[i - 1].attn_macs_infer);
        ck_assert_msg(rest > 3.9 && rest <= 4.0, "the non-attention part grew %.3f times", rest);
        EQ(c[i].pixels_read / c[i - 1].pixels_read, 4.0);
    }
    /* 2 blocks x 2 T^2 D: at 28x28 2*2*49^2*64 = 614656 MACs */
    EQ(c[0].attn_macs_infer, 614656);
    /* by 112x112 the T^2 term dominates */
    ck_assert(c[2].attn_macs_infer > 0.5 * c[2].macs_infer && c[0].attn_macs_infer < 0.25 * c[0].macs_infer);
    /* other models have none */
    sc_fc_cfg f;
    sc_fc_cfg_defaults(&f);
    EQ(sc_cost_fc(&f).attn_macs_infer, 0);
}
END_TEST

/* ---- channels --------------------------------------------------------------------------------- */

/* 3 channels on non-square canvases: the first layer's input is 3 times wider
 * (glimpse values, pixels, patch values), pixels_read and retina_adds are 3
 * times the grey ones, nothing else changes; the parameters are the models'. */
START_TEST(channels_count_in_the_first_layer) {
    /* RAM small, 10 x 14 x 3 (the canvas size does not matter to the RAM): G = 2 * 3 * 3 * 3 = 54
     * per glimpse forward: Wg 54*5 = 270, Wl 8, Wa 54, core 91 -> 423 (the grey 243 + 180)
     * inference 3*423 + 2*21 + 21 = 1332
     * per glimpse backward: Wg dW 270 (rho is data), Wl 8, Wa 108, core 182 -> 568
     * training 1332 + 3*568 + 2*21 + 42 = 3120
     * pixels 3 glimpses * 45 * 3 channels = 405; retina adds 3 * 27 * 3 = 243
     * params: Wg 270 + 5 = 275 (grey 95), so 313 + 180 = 493 */
    sc_ram_cfg r = ram_small();
    r.img_h = 10; r.img_w = 14; r.channels = 3;
    sc_cost c = sc_cost_ram(&r);
    EQ(c.macs_infer, 1332);
    EQ(c.macs_train, 3120);
    EQ(c.pixels_read, 405);
    EQ(c.retina_adds, 243);
    EQ(c.params, 493);
    EQ(c.macs_infer, sc_ram_macs(&r));
    sc_ram *rm;
    ck_assert_int_eq(sc_ram_create(&rm, &r, NULL), SC_OK);
    EQ(c.params, (double)sc_params_count(sc_ram_params(rm)));
    sc_ram_free(rm);
    /* channels 0 is grey: the figures of ram_hand_counts */
    r.channels = 0;
    EQ(sc_cost_ram(&r).macs_train, 2040);

    /* soft small (dot, rnn), 10 x 14 x 3: L = 9, G = 54
     * per location forward: Wg 270 + Wl 8 + Wa 54 = 332 -> 2988; per step 241 -> 723; classifier 21
     * inference 2988 + 723 + 21 = 3732
     * per location backward: 270 + 8 + 108 = 386 -> 3474; per step 491 -> 1473; classifier 42
     * training 3732 + 3474 + 1473 + 42 = 8721
     * pixels 9 locations * 45 * 3 = 1215; retina adds 9 * 27 * 3 = 729; params 337 + 180 = 517 */
    sc_soft_cfg s = soft_small(SC_SCORE_DOT, SC_CORE_RNN);
    s.img_h = 10; s.img_w = 14; s.channels = 3;
    c = sc_cost_soft(&s);
    EQ(c.macs_infer, 3732);
    EQ(c.macs_train, 8721);
    EQ(c.pixels_read, 1215);
    EQ(c.retina_adds, 729);
    EQ(c.params, 517);
    sc_soft *sm;
    ck_assert_int_eq(sc_soft_create(&sm, &s, NULL), SC_OK);
    EQ(c.params, (double)sc_params_count(sc_soft_params(sm)));
    sc_soft_free(sm);

    /* FC 12 x 20 x 3: N = 720, 2 layers of 9, C 3
     * forward 720*9 + 9*9 + 9*3 = 6480 + 81 + 27 = 6588
     * backward: W1 dW 6480 (its input is the canvas), W2 162, action 54 -> 6696; training 13284
     * pixels 720; params 6480 + 9 + 81 + 9 + 27 + 3 = 6609
     * no hidden layer: 720*3 = 2160 forward, 4320 training, params 2163 */
    sc_fc_cfg f = {12, 20, 3, 2, 9, 4, 3};
    c = sc_cost_fc(&f);
    EQ(c.macs_infer, 6588);
    EQ(c.macs_train, 13284);
    EQ(c.pixels_read, 720);
    EQ(c.retina_adds, 0);
    EQ(c.params, 6609);
    for (int layers = 0; layers <= 2; layers += 2) {
        f.layers = layers;
        sc_fc *fm;
        ck_assert_int_eq(sc_fc_create(&fm, &f, NULL), SC_OK);
        EQ(sc_cost_fc(&f).params, (double)sc_params_count(sc_fc_params(fm)));
        sc_fc_free(fm);
    }
    f.layers = 0;
    EQ(sc_cost_fc(&f).macs_infer, 2160);
    EQ(sc_cost_fc(&f).macs_train, 4320);
    EQ(sc_cost_fc(&f).params, 2163);

    /* selfattn 8 rows x 12 columns x 3 in patches of 4: gh 2, gw 3, T 6, P 4*4*3 = 48; D 8, H 2, F 12,
     * one block, C 3, mean readout, learned positions
     * forward: embed 6*48*8 = 2304; block 6 * 448 = 2688; attention 6 (6*8 + 6*8) = 576; classifier 24
     *   -> 5592
     * backward: embed dW 2304; block linears 5376; attention 6 (2*48 + 2*6 + 2*48) = 1224; classifier 48
     *   -> 8952; training 14544
     * pixels 6 * 48 = 288 = 8 * 12 * 3
     * params: embed 384 + 8 = 392, pos 6*8 = 48, block 532, lnf 16, action 27 -> 1015 */
    sc_sa_cfg a;
    sc_sa_cfg_defaults(&a);
    a.img_h = 8; a.img_w = 12; a.channels = 3; a.patch = 4; a.d_model = 8; a.heads = 2; a.blocks = 1;
    a.mlp_hidden = 12; a.num_classes = 3; a.readout = SC_SA_READOUT_MEAN; a.pos_enc = SC_SA_POS_LEARNED;
    c = sc_cost_selfattn(&a);
    EQ(c.macs_infer, 5592);
    EQ(c.macs_train, 14544);
    EQ(c.attn_macs_infer, 576);
    EQ(c.attn_macs_train, 1800);
    EQ(c.pixels_read, 288);
    EQ(c.params, 1015);
    sc_sa *am;
    ck_assert_int_eq(sc_sa_create(&am, &a, NULL), SC_OK);
    EQ(c.params, (double)sc_params_count(sc_sa_params(am)));
    sc_sa_free(am);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("agent_cost");
    TCase *t = tcase_create("counts");
    tcase_add_test(t, layer_kinds);
    tcase_add_test(t, ram_hand_counts);
    tcase_add_test(t, ram_inference_equals_sc_ram_macs);
    tcase_add_test(t, soft_hand_counts);
    tcase_add_test(t, soft_params_match_model);
    tcase_add_test(t, fc_hand_counts);
    tcase_add_test(t, soft_grows_with_locations_ram_stays_flat);
    tcase_add_test(t, selfattn_hand_counts);
    tcase_add_test(t, selfattn_attention_grows_as_T_squared);
    tcase_add_test(t, channels_count_in_the_first_layer);
    suite_add_tcase(s, t);
    return s;
}

SC_TEST_MAIN(make_suite)
