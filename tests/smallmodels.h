/* smallmodels.h - one tiny configuration of every model kind, for the suites
 * that run each row of the model table (test_agent_model.c,
 * test_agent_kinds.c): S x S canvases, C classes, max_batch NB, T steps
 * (glimpses, attention steps, heads), a GRID x GRID soft grid, PATCH-pixel
 * selfattn patches (TOK tokens). The RAM learns with REINFORCE and a state
 * baseline; fc has two hidden layers.
 *
 * Include it once per test file: everything is static.
 */
#ifndef SACCADE_TESTS_SMALLMODELS_H
#define SACCADE_TESTS_SMALLMODELS_H

#include <string.h>

#include "agent/model.h"

enum { S = 16, C = 4, NB = 6, T = 3, GRID = 3, PATCH = 4, TOK = (S / PATCH) * (S / PATCH) };

static sc_model_cfg small_cfg(sc_model_kind kind) {
    sc_model_cfg c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    sc_ram_cfg *r = &c.ram;
    r->img_h = r->img_w = S; r->num_classes = C; r->glimpses = T; r->glimpse_size = 4; r->scales = 2;
    r->glimpse_hidden = 10; r->loc_hidden = 6; r->glimpse_out = 12; r->core = SC_CORE_RNN; r->hidden = 14;
    r->loc_net_hidden = 5; r->baseline = 1; r->reinforce = 1; r->reinforce_weight = 1.0f; r->max_batch = NB;
    sc_soft_cfg *s = &c.soft;
    sc_soft_cfg_defaults(s);
    s->img_h = s->img_w = S; s->num_classes = C; s->glimpses = T; s->grid = GRID; s->glimpse_size = 4;
    s->scales = 2; s->glimpse_hidden = 10; s->loc_hidden = 6; s->glimpse_out = 12; s->att_hidden = 7;
    s->hidden = 14; s->max_batch = NB;
    sc_fc_cfg *f = &c.fc;
    sc_fc_cfg_defaults(f);
    f->img_h = f->img_w = S; f->num_classes = C; f->layers = 2; f->hidden = 9; f->max_batch = NB;
    sc_sa_cfg *a = &c.selfattn;  /* T heads: the trace's steps */
    sc_sa_cfg_defaults(a);
    a->img_h = a->img_w = S; a->num_classes = C; a->patch = PATCH; a->d_model = 4 * T; a->heads = T; a->blocks = 2;
    a->mlp_hidden = 10; a->max_batch = NB;
    return c;
}

/* B canvases of uniform pixels and B random labels in 0..C-1, from seed. */
__attribute__((unused)) static void data(float *x, int *labels, int B, uint64_t seed) {
    sc_rng r;
    sc_rng_seed(&r, seed);
    for (int i = 0; i < B * S * S; i++) x[i] = sc_rng_uniform(&r);
    for (int b = 0; b < B; b++) labels[b] = (int)sc_rng_int(&r, C);
}

#endif
