/* train.c - the training loop, evaluation and progress display.
 *
 * One run: load the data, build the model, then per epoch iterate shuffled
 * minibatches (canvases built per batch from the seed), take one optimizer
 * step per batch, evaluate on the validation set (M=1 and M=mc_samples),
 * keep the best parameters, and finally report the test error of the best
 * parameters. SIGINT/SIGTERM stop at the next batch and still report.
 *
 * Random streams, all derived from [train] seed (sc_rng_derive(seed, k)):
 *   k=1 initialisation, k=2 minibatch order (per epoch), k=3 location
 *   sampling during training, k=4 location sampling during evaluation
 *   (re-seeded for every evaluation so it is reproducible), canvases from
 *   (seed, sc_canvas_key(split, epoch, index)).
 */
#include "train.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nets/blas.h"
#include "nets/optim.h"

enum { SPLIT_TRAIN = 0, SPLIT_VAL = 1, SPLIT_TEST = 2 };
enum { STREAM_INIT = 1, STREAM_ORDER = 2, STREAM_LOC = 3, STREAM_EVAL = 4 };

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void sc_canvas_cfg_from_config(sc_canvas_cfg *cc, const sc_config *c) {
    memset(cc, 0, sizeof *cc);
    cc->kind = !strcmp(c->canvas, "translated") ? SC_CANVAS_TRANSLATED
             : !strcmp(c->canvas, "cluttered")  ? SC_CANVAS_CLUTTERED
                                                : SC_CANVAS_PLAIN;
    cc->size = c->canvas_size;
    cc->distractors = cc->kind == SC_CANVAS_CLUTTERED ? c->distractors : 0;
    cc->distractor_size = c->distractor_size;
}

void sc_ram_cfg_from_config(sc_ram_cfg *rc, const sc_config *c, int canvas_side, int num_classes,
                            int max_batch) {
    memset(rc, 0, sizeof *rc);
    rc->img_h = rc->img_w = canvas_side;
    rc->num_classes = num_classes;
    rc->glimpses = c->glimpses;
    rc->glimpse_size = c->glimpse_size;
    rc->scales = c->scales;
    rc->glimpse_hidden = c->glimpse_hidden;
    rc->loc_hidden = c->loc_hidden;
    rc->glimpse_out = c->glimpse_out;
    rc->core = !strcmp(c->core, "lstm") ? SC_CORE_LSTM : SC_CORE_RNN;
    rc->hidden = c->hidden;
    rc->loc_mlp = !strcmp(c->loc_net, "mlp");
    rc->loc_net_hidden = c->loc_net_hidden;
    rc->first_center = !strcmp(c->first_loc, "center");
    rc->baseline = c->baseline;
    rc->reinforce = c->reinforce;
    rc->reinforce_weight = c->reinforce_weight;
    rc->max_batch = max_batch;
}

/* ---- evaluation -------------------------------------------------------------- */

double sc_eval_error(sc_eval_ctx *e, const int *pool, int n, int split, int M) {
    if (n <= 0) return NAN;
    sc_rng r;
    sc_rng_derive(&r, e->seed, STREAM_EVAL);
    long correct = 0;
    for (int start = 0; start < n; start += e->B) {
        int B = n - start < e->B ? n - start : e->B;
        for (int b = 0; b < B; b++) {
            e->idx[b] = pool[start + b];
            e->labels[b] = e->src->labels[e->idx[b]];
            e->keys[b] = sc_canvas_key(split, 0, e->idx[b]);
        }
        sc_canvas_build(e->canvas_buf, NULL, e->canvas, e->src, e->idx, e->keys, B,
                        e->distractor_pool, e->npool, e->seed);
        int k = sc_ram_predict(e->model, e->canvas_buf, e->labels, B, M, e->std, &r, e->logp, e->pred);
        if (k < 0) return NAN;
        correct += k;
    }
    return 100.0 * (1.0 - (double)correct / n);
}

/* ---- progress display -------------------------------------------------------- */

typedef struct progress {
    int tty;
    double last_draw;
} progress;

static void fmt_time(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e7) { snprintf(buf, n, "--:--"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

typedef struct epoch_acc {
    double xent, rf, bmse, reward, advvar, mu_abs, mu_spread;
    long images, batches;
} epoch_acc;

static void progress_draw(progress *p, int epoch, int epochs, long done, long total,
                          const epoch_acc *a, double ips, double eta, int force) {
    double t = now_s();
    if (!p->tty || (!force && t - p->last_draw < 0.2)) return;
    p->last_draw = t;
    const int W = 24;
    int fill = total ? (int)((double)W * done / total) : W;
    char bar[32], etab[48];
    for (int i = 0; i < W; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[W] = 0;
    fmt_time(etab, sizeof etab, eta);
    double nb = a->batches ? (double)a->batches : 1.0;
    printf("\r\033[Kepoch %d/%d [%s] %3d%% %6.0f img/s  ce %.3f  rf %+.3f  bmse %.3f  R %.3f  ETA %s",
           epoch, epochs, bar, total ? (int)(100 * done / total) : 100, ips, a->xent / nb, a->rf / nb,
           a->bmse / nb, a->reward / nb, etab);
    fflush(stdout);
}

/* ---- the run -------------------------------------------------------------------- */

typedef struct run {
    sc_dataset ds;
    sc_ram *model;
    sc_optim opt;
    sc_batcher batcher;
    float *canvas, *logp, *best;
    int *idx, *labels, *pred;
    uint64_t *keys;
} run;

static void run_free(run *r) {
    sc_dataset_free(&r->ds);
    sc_ram_free(r->model);
    sc_optim_free(&r->opt);
    sc_batcher_free(&r->batcher);
    free(r->canvas); free(r->logp); free(r->best);
    free(r->idx); free(r->labels); free(r->pred); free(r->keys);
}

static void lr_from_config(sc_lr_sched *s, const sc_config *c, long steps_per_epoch) {
    sc_lr_init(s);
    s->base = s->cur = c->lr;
    s->final_lr = c->lr_final;
    s->total_steps = steps_per_epoch * c->epochs;
    s->step_every = steps_per_epoch * c->lr_step_epochs;
    s->gamma = c->lr_gamma;
    s->patience = c->lr_patience;
    s->min_lr = c->lr_final;
    s->kind = !strcmp(c->lr_schedule, "linear") ? SC_LR_LINEAR
            : !strcmp(c->lr_schedule, "step")   ? SC_LR_STEP
            : !strcmp(c->lr_schedule, "plateau") ? SC_LR_PLATEAU
                                                 : SC_LR_CONSTANT;
}

/* The policy's standard deviation at a step: constant, or linear annealing. */
static float std_at(const sc_config *c, long step, long total) {
    if (c->loc_std_final <= 0.0f || total <= 1) return c->loc_std;
    double f = (double)step / (double)(total - 1);
    if (f > 1.0) f = 1.0;
    return (float)(c->loc_std + f * (c->loc_std_final - c->loc_std));
}

int sc_train(const sc_config *c, const sc_train_opts *opts, sc_train_result *res, sc_err *err) {
    run R;
    memset(&R, 0, sizeof R);
    memset(res, 0, sizeof *res);
    int rc;
    const uint64_t seed = c->seed;
    sc_blas_set_threads(c->threads);

    if ((rc = sc_dataset_load(&R.ds, sc_config_data_dir(c), c->val_size, seed, err)) != SC_OK) goto fail;
    if (c->max_train > 0 && c->max_train < R.ds.n_train) R.ds.n_train = c->max_train;

    sc_canvas_cfg cc;
    sc_canvas_cfg_from_config(&cc, c);
    if ((rc = sc_canvas_check(&cc, &R.ds.train, err)) != SC_OK) goto fail;
    const int side = sc_canvas_side(&cc, R.ds.train.w);
    const int B = c->batch_size;
    const int EB = B > 500 ? B : 500;  /* evaluation batch */
    sc_ram_cfg mc;
    sc_ram_cfg_from_config(&mc, c, side, R.ds.num_classes, EB);
    if ((rc = sc_ram_create(&R.model, &mc, err)) != SC_OK) goto fail;
    sc_params *ps = sc_ram_params(R.model);
    sc_rng rinit;
    sc_rng_derive(&rinit, seed, STREAM_INIT);
    sc_ram_init_params(R.model, &rinit);
    if ((rc = sc_optim_create(&R.opt, !strcmp(c->optimizer, "sgd") ? SC_OPT_SGD : SC_OPT_ADAM, ps->n, err)) != SC_OK)
        goto fail;
    R.opt.momentum = c->momentum;
    R.opt.weight_decay = c->weight_decay;
    sc_rng rorder;
    sc_rng_derive(&rorder, seed, STREAM_ORDER);
    if ((rc = sc_batcher_init(&R.batcher, R.ds.train_idx, R.ds.n_train, B, 1, sc_rng_u64(&rorder),
                              err)) != SC_OK)
        goto fail;

    const size_t npix = (size_t)side * side;
    R.canvas = malloc(sizeof(float) * EB * npix);
    R.logp = malloc(sizeof(float) * EB * R.ds.num_classes);
    R.best = malloc(sizeof(float) * ps->n);
    R.idx = malloc(sizeof(int) * EB);
    R.labels = malloc(sizeof(int) * EB);
    R.pred = malloc(sizeof(int) * EB);
    R.keys = malloc(sizeof(uint64_t) * EB);
    if (!R.canvas || !R.logp || !R.best || !R.idx || !R.labels || !R.pred || !R.keys) {
        rc = sc_errf(err, SC_ENOMEM, "train: out of memory allocating batch buffers (%d x %dx%d)", EB, side, side);
        goto fail;
    }
    memcpy(R.best, ps->data, sizeof(float) * ps->n);

    const long steps_per_epoch = (R.ds.n_train + B - 1) / B;
    const long total_steps = steps_per_epoch * c->epochs;
    sc_lr_sched lr;
    lr_from_config(&lr, c, steps_per_epoch);

    if (!opts->quiet) {
    printf("data: %s %s canvas %dx%d, %d train / %d validation / %d test images, %d classes\n",
           c->dataset, c->canvas, side, side, R.ds.n_train, R.ds.n_val, R.ds.n_test, R.ds.num_classes);
    printf("model: ram, %zu parameters, %.3f M multiply-adds per image (inference), %s\n",
           sc_params_count(ps), sc_ram_macs(&mc) / 1e6, sc_blas_config());
    fflush(stdout);
    }

    /* validation canvases draw distractors from the validation split itself */
    sc_eval_ctx ev = {R.model, &R.ds.train, &cc, R.ds.val_idx, R.ds.n_val, seed, c->loc_std, EB,
                      R.canvas, R.idx, R.labels, R.pred, R.keys, R.logp};
    sc_rng rloc;
    sc_rng_derive(&rloc, seed, STREAM_LOC);

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_stop = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    progress pg = {isatty(STDOUT_FILENO), 0.0};
    double t_start = now_s(), train_time = 0.0;
    long step = 0, images_total = 0;
    int bad_epochs = 0;
    res->best_val_err = INFINITY;
    res->best_epoch = 0;

    for (int epoch = 1; epoch <= c->epochs && !g_stop; epoch++) {
        epoch_acc acc;
        memset(&acc, 0, sizeof acc);
        sc_batcher_epoch(&R.batcher, epoch);
        double t_ep = now_s();
        int n;
        while (!g_stop && (n = sc_batcher_next(&R.batcher, R.idx)) > 0) {
            for (int b = 0; b < n; b++) {
                R.labels[b] = R.ds.train.labels[R.idx[b]];
                R.keys[b] = sc_canvas_key(SPLIT_TRAIN, epoch, R.idx[b]);
            }
            sc_canvas_build(R.canvas, NULL, &cc, &R.ds.train, R.idx, R.keys, n, R.ds.train_idx,
                            R.ds.n_train, seed);
            float std = std_at(c, step, total_steps);
            sc_ram_stats st;
            sc_ram_forward(R.model, R.canvas, R.labels, n, std, &rloc, NULL, &st);
            sc_params_zero_grad(ps);
            sc_ram_backward(R.model, R.labels, n, std);
            sc_clip_grad_norm(ps->grad, ps->n, c->clip);
            sc_optim_step(&R.opt, ps->data, ps->grad, sc_lr_at(&lr, step));
            step++;
            acc.xent += st.xent; acc.rf += st.reinforce; acc.bmse += st.baseline_mse;
            acc.reward += st.reward; acc.advvar += st.adv_var;
            acc.mu_abs += st.mu_abs; acc.mu_spread += st.mu_spread;
            acc.images += n; acc.batches++;
            images_total += n;
            double el = now_s() - t_ep;
            double ips = acc.images / (el > 1e-9 ? el : 1e-9);
            double remaining = (double)(R.ds.n_train - acc.images) / ips;
            progress_draw(&pg, epoch, c->epochs, acc.images, R.ds.n_train, &acc, ips, remaining, 0);
            if (!pg.tty && !opts->quiet && step % c->log_every == 0) {
                double nb = (double)acc.batches;
                printf("epoch %d step %ld: %.0f img/s ce %.4f rf %+.4f bmse %.4f reward %.4f adv_var %.4f lr %.3g std %.3f\n",
                       epoch, step, ips, acc.xent / nb, acc.rf / nb, acc.bmse / nb, acc.reward / nb,
                       acc.advvar / nb, sc_lr_at(&lr, step), std);
                fflush(stdout);
            }
        }
        double ep_time = now_s() - t_ep;
        train_time += ep_time;
        if (acc.batches == 0) break;
        double nb = (double)acc.batches;
        res->final_xent = acc.xent / nb;
        res->final_reward = acc.reward / nb;
        res->epochs_run = epoch;
        if (g_stop && acc.images < R.ds.n_train) {
            if (pg.tty) printf("\n");
            printf("interrupted in epoch %d after %ld images\n", epoch, acc.images);
            break;
        }

        ev.std = std_at(c, step, total_steps);
        double v1 = sc_eval_error(&ev, R.ds.val_idx, R.ds.n_val, SPLIT_VAL, 1);
        double vm = c->mc_samples > 1 ? sc_eval_error(&ev, R.ds.val_idx, R.ds.n_val, SPLIT_VAL, c->mc_samples) : v1;
        if (pg.tty) printf("\r\033[K");
        if (!opts->quiet) {
            printf("epoch %d/%d: %.0f img/s, ce %.4f, rf %+.4f, bmse %.4f, reward %.4f, train acc %.2f%%, "
                   "val err %.2f%% (M=1) %.2f%% (M=%d), |mu| %.3f, mu spread %.3f, lr %.3g, std %.3f, %.1fs\n",
                   epoch, c->epochs, acc.images / ep_time, acc.xent / nb, acc.rf / nb, acc.bmse / nb,
                   acc.reward / nb, 100.0 * acc.reward / nb, v1, vm, c->mc_samples, acc.mu_abs / nb,
                   acc.mu_spread / nb, sc_lr_at(&lr, step), ev.std, ep_time);
            fflush(stdout);
        }
        double metric = R.ds.n_val > 0 ? v1 : 100.0 * (1.0 - acc.reward / nb);
        sc_lr_epoch_end(&lr, metric);
        if (metric < res->best_val_err) {
            res->best_val_err = metric;
            res->best_epoch = epoch;
            memcpy(R.best, ps->data, sizeof(float) * ps->n);
            bad_epochs = 0;
            if (opts->save_path && (rc = sc_model_save(opts->save_path, c, ps, err)) != SC_OK) {
                /* write the best parameters as they are found */
                sigaction(SIGINT, &old_int, NULL);
                sigaction(SIGTERM, &old_term, NULL);
                goto fail;
            }
        } else if (c->early_stop > 0 && ++bad_epochs >= c->early_stop) {
            printf("early stop: no validation improvement for %d epochs\n", bad_epochs);
            break;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    res->interrupted = g_stop != 0;
    res->images_per_s = train_time > 0 ? images_total / train_time : 0.0;

    /* test error of the best parameters */
    memcpy(ps->data, R.best, sizeof(float) * ps->n);
    ev.src = &R.ds.test;
    ev.distractor_pool = R.ds.test_idx;
    ev.npool = R.ds.n_test;
    res->test_err_m1 = sc_eval_error(&ev, R.ds.test_idx, R.ds.n_test, SPLIT_TEST, 1);
    res->test_err_mc = c->mc_samples > 1 ? sc_eval_error(&ev, R.ds.test_idx, R.ds.n_test, SPLIT_TEST, c->mc_samples)
                                         : res->test_err_m1;
    res->wall_s = now_s() - t_start;
    if (opts->save_path && res->best_epoch == 0 && (rc = sc_model_save(opts->save_path, c, ps, err)) != SC_OK)
        goto fail;
    run_free(&R);
    return SC_OK;
fail:
    run_free(&R);
    return rc;
}
