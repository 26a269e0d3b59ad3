/* ckptsame.h - whether two checkpoints hold the same bytes in every tensor
 * set (parameters, best, Adam moments): the tests' "same bits" of a run. */
#ifndef SACCADE_TESTS_CKPTSAME_H
#define SACCADE_TESTS_CKPTSAME_H

#include <check.h>
#include <string.h>

#include "experiments/checkpoint.h"

/* 1 if the checkpoints at p1 and p2 hold the same bytes in every tensor set */
static inline int same_tensors(const char *p1, const char *p2) {
    sc_ckpt a, b;
    sc_err err = {0};
    ck_assert_msg(sc_ckpt_load(p1, SC_CKPT_ALL, &a, &err) == SC_OK, "%s", err.msg);
    ck_assert_msg(sc_ckpt_load(p2, SC_CKPT_ALL, &b, &err) == SC_OK, "%s", err.msg);
    int same = a.n == b.n && !memcmp(a.params, b.params, sizeof(float) * a.n) &&
               !memcmp(a.best, b.best, sizeof(float) * a.n) && !memcmp(a.m, b.m, sizeof(float) * a.n) &&
               !memcmp(a.v, b.v, sizeof(float) * a.n);
    sc_ckpt_free(&a);
    sc_ckpt_free(&b);
    return same;
}

#endif
