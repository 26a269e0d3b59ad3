/* main.c - the `saccade` command: train (and --resume, --view), view, sweep,
 * eval, compare, plot, config, data.
 *
 * The only place that exits: every library error comes back here as a code
 * and a message, is printed as `saccade: <message>` and ends the process with
 * a non-zero status.
 */
#include <errno.h>
#include <math.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/kind.h"
#include "env/dataset.h"
#include "experiments/runlog.h"
#include "experiments/compare.h"
#include "experiments/config.h"
#include "experiments/sweep.h"
#include "experiments/textfile.h"
#include "experiments/train.h"
#include "nets/blas.h"
#ifdef SACCADE_HAVE_VIEWER
#include "viz/view.h"
#endif

static const char *USAGE =
    "usage: saccade <command> [options]\n"
    "\n"
    "commands:\n"
    "  train CONFIG [--set section.key=value ...] [--no-reinforce] [--no-baseline]\n"
    "               [--out RUN.h5] [--stop-after N] [--quiet] [--view]\n"
    "        train a model; prints the resolved config, progress, validation error\n"
    "        per epoch and the test error (M=1 and M=model.mc_samples) at the end.\n"
    "        Everything is logged to RUN.h5 (default runs/<config>-<UTC time>.h5),\n"
    "        checkpointed every epoch to RUN.ckpt.h5 (see docs/runlog.md).\n"
    "  train --resume RUN.h5 [CONFIG] [--set ...] [--stop-after N] [--quiet]\n"
    "        continue a run from its checkpoint (exactly as if never stopped); the\n"
    "        run's config unless CONFIG or --set change keys that may change\n"
    "        (e.g. --set train.epochs=50). --stop-after N: stop after N epochs of\n"
    "        this session, checkpointed (for time-limited jobs).\n"
    "  eval RUN.h5 [--samples M] [--split test|val] [--best|--last] [--set train.threads=N]\n"
    "               [--set model.first_loc=random|center] [--set model.test_policy=sample|mean]\n"
    "        evaluate the parameters a run kept ([train] keep): --best those of\n"
    "        its best validation epoch, --last the latest (with [train] ema their\n"
    "        average); RUN.h5 may also be its checkpoint\n"
    "        RUN.ckpt.h5. model.first_loc: a RAM's first glimpse at test time;\n"
    "        model.test_policy: its later ones sampled or at the policy's mean\n"
    "        (default: as the run was configured).\n"
    "  sweep CONFIG [--set ...] [--grid section.key=v1,v2,... ...] [--seeds 1,2,3|1..5]\n"
    "               [--jobs N] --out DIR\n"
    "        every combination of the grids, once per seed, N runs at a time (each\n"
    "        train.threads = 1 unless set), one run log per run in DIR/<point>/;\n"
    "        the same command continues it; under `mpirun -np R` the ranks share\n"
    "        the runs. Ends with mean +- sd over seeds per point (`sweep --help`).\n"
    "  compare RUN.h5|DIR [RUN.h5|DIR ...] [--png FILE]\n"
    "        one row per finished run: model, data, glimpses, test error (M=1 and M),\n"
    "        MFLOPs and pixels read per image, measured us per image, parameters,\n"
    "        training time, epochs (a Markdown table); runs whose configs differ only\n"
    "        in train.seed (or threads, [log]) also as one row of mean +- sd; a sweep\n"
    "        folder DIR as that grouped table. --png: test error vs MFLOPs per image\n"
    "        (error bars over seeds), and compute vs canvas size (28, 60, 100; analytic).\n"
    "  view RUN.h5 [--follow] [--epoch E] [--png FILE] [--gif FILE] [...]\n"
    "        the glimpse viewer: trajectories (or soft attention, or self-attention\n"
    "        per head) of the logged validation images, epoch by epoch\n"
    "        (`saccade view --help`).\n"
    "  plot RUN.h5 --png FILE\n"
    "        learning curves: training loss terms, reward, validation error by epoch.\n"
    "  config CONFIG [--set ...]   print the fully resolved configuration\n"
    "  config --doc                print every key with default, range and meaning (Markdown)\n"
    "  data [CONFIG] [--set ...]   load the configured dataset and print a summary\n"
    "  --version                   print version, commit and OpenBLAS configuration\n";

static int g_mute = 0;  /* an MPI rank other than 0: rank 0 reports what all ranks find alike */

/* Exit status 3 for a non-finite value (a diverged run, non-finite parameters), 1 for any other error. */
static int fail_status(const sc_err *err) { return err->code == SC_ENONFINITE ? 3 : 1; }

static int fail(const sc_err *err) {
    if (g_mute) return fail_status(err);
    fprintf(stderr, "saccade: %s\n", err->msg[0] ? err->msg : sc_strerror(err->code));
    return fail_status(err);
}

static int usage_error(const char *fmt, const char *arg) {
    if (g_mute) return 2;
    fprintf(stderr, "saccade: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", USAGE);
    return 2;
}

/* Loads CONFIG (if given) and applies --set overrides found in argv[i..]. Other
 * options are left for the caller: flags[] marks the arguments consumed. */
static int load_config(sc_config *c, const char *path, int argc, char **argv, int first, char *used,
                       sc_err *err) {
    sc_config_defaults(c);
    int rc;
    if (path && (rc = sc_config_load(c, path, err)) != SC_OK) return rc;
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "--set")) {
            if (i + 1 >= argc) return sc_errf(err, SC_ECONFIG, "--set needs an argument section.key=value");
            if ((rc = sc_config_set(c, argv[i + 1], err)) != SC_OK) return rc;
            used[i] = used[i + 1] = 1;
            i++;
        }
    }
    return SC_OK;
}

static int cmd_config(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[2], "--doc")) {
        sc_config_doc(stdout);
        return 0;
    }
    char used[256] = {0};
    if (argc > 256) return usage_error("%s", "too many arguments");
    const char *path = argc >= 3 && strncmp(argv[2], "--", 2) ? argv[2] : NULL;
    sc_config c;
    sc_err err = {0};
    if (load_config(&c, path, argc, argv, path ? 3 : 2, used, &err) != SC_OK) return fail(&err);
    for (int i = path ? 3 : 2; i < argc; i++)
        if (!used[i]) return usage_error("unknown option '%s' for config", argv[i]);
    if (sc_config_validate(&c, &err) != SC_OK) return fail(&err);
    sc_config_write(&c, stdout);
    return 0;
}

static int cmd_data(int argc, char **argv) {
    char used[256] = {0};
    if (argc > 256) return usage_error("%s", "too many arguments");
    const char *path = argc >= 3 && strncmp(argv[2], "--", 2) ? argv[2] : NULL;
    sc_config c;
    sc_err err = {0};
    if (load_config(&c, path, argc, argv, path ? 3 : 2, used, &err) != SC_OK) return fail(&err);
    for (int i = path ? 3 : 2; i < argc; i++)
        if (!used[i]) return usage_error("unknown option '%s' for data", argv[i]);
    sc_dataset ds;
    sc_data_spec spec;
    sc_config_data_spec(&c, &spec);
    if (sc_dataset_open(&ds, &spec, c.val_size, c.seed, &err) != SC_OK) return fail(&err);
    char where[SC_CFG_STR * 5];
    printf("dataset %s\n", sc_config_data_where(&c, where, sizeof where));
    const int ch = sc_images_channels(&ds.train);
    printf("  images: %d x %d pixels (height x width), %d channel%s (%s)\n", ds.train.h, ds.train.w, ch,
           ch == 1 ? "" : "s", ch == 3 ? "RGB" : "grey");
    printf("  train file: %d images; test file: %d images; %d classes\n", ds.train.n, ds.test.n, ds.num_classes);
    printf("  split (seed %llu): %d train, %d validation; test: %d images\n", (unsigned long long)c.seed,
           ds.n_train, ds.n_val, ds.n_test);
    long counts[SC_CLASSES_MAX] = {0}, tcounts[SC_CLASSES_MAX] = {0};
    for (int i = 0; i < ds.train.n; i++) counts[ds.train.labels[i]]++;
    for (int i = 0; i < ds.test.n; i++) tcounts[ds.test.labels[i]]++;
    printf("  classes (label: name, training / test images):\n");
    char nbuf[16];
    for (int k = 0; k < ds.num_classes; k++)
        printf("    %3d: %-24s %7ld / %ld\n", k, sc_dataset_class_name(&ds, k, nbuf, sizeof nbuf), counts[k], tcounts[k]);
    double mean = 0.0;
    size_t np = (size_t)ds.train.n * ds.train.h * ds.train.w * ch;
    for (size_t i = 0; i < np; i++) mean += ds.train.pix[i];
    printf("  mean pixel value: %.4f\n", mean / np / 255.0);
    sc_dataset_free(&ds);
    return 0;
}

static int ensure_dir(const char *dir) {
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) return 0;
    return -1;
}



/* runs/<config stem>-<UTC time>.h5, with -2, -3, ... if that exists. */
static int default_out(char *out, size_t n, const char *config_path) {
    const char *base = strrchr(config_path, '/');
    base = base ? base + 1 : config_path;
    size_t bl = strcspn(base, ".");
    time_t t = time(NULL);
    struct tm tmv;
    gmtime_r(&t, &tmv);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tmv);
    if (ensure_dir("runs") != 0) {
        fprintf(stderr, "saccade: cannot create folder runs/: %s\n", strerror(errno));
        return -1;
    }
    for (int k = 1; k < 100; k++) {
        if (k == 1) snprintf(out, n, "runs/%.*s-%s.h5", (int)bl, base, stamp);
        else snprintf(out, n, "runs/%.*s-%s-%d.h5", (int)bl, base, stamp, k);
        if (access(out, F_OK) != 0) return 0;
    }
    fprintf(stderr, "saccade: runs/%.*s-%s*.h5: too many runs started this second\n", (int)bl, base, stamp);
    return -1;
}

/* sc_train's failure on a rank of an MPI job: printed by the failing ranks
 * only (the message is empty on a rank whose peers failed), named by rank. */
static int fail_train(const sc_dist *d, const sc_err *err) {
    if (!d) return fail(err);
    if (!err->msg[0]) return fail_status(err);
    if (!strncmp(err->msg, "rank ", 5)) fprintf(stderr, "saccade: %s\n", err->msg);
    else fprintf(stderr, "saccade: rank %d: %s\n", sc_dist_rank(d), err->msg);
    return fail_status(err);
}

/* `saccade train`, alone or as one rank of an MPI job (d): the same command
 * line on every rank, so the checks before sc_train fail alike everywhere and
 * only rank 0 prints them and the progress. *train_rc receives sc_train's
 * result (SC_OK when it was not reached). */
static int train_main(int argc, char **argv, sc_dist *d, int *train_rc) {
    const int lead = sc_dist_rank(d) == 0;
    *train_rc = SC_OK;
    g_mute = !lead;
    if (argc > 256) return usage_error("%s", "too many arguments");
    const char *config_path = NULL, *resume = NULL, *out = NULL;
    int quiet = 0, no_reinforce = 0, no_baseline = 0, stop_after = 0, view = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--set")) {
            if (i + 1 >= argc) return usage_error("%s", "--set needs an argument section.key=value");
            i++;
        } else if (!strcmp(argv[i], "--no-reinforce")) no_reinforce = 1;
        else if (!strcmp(argv[i], "--no-baseline")) no_baseline = 1;
        else if (!strcmp(argv[i], "--quiet")) quiet = 1;
        else if (!strcmp(argv[i], "--view")) view = 1;
        else if (!strcmp(argv[i], "--stop-after")) {
            char *end = NULL;
            long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
            if (i + 1 >= argc || *end || v < 1 || v > 100000)
                return usage_error("--stop-after expects a number of epochs in 1..100000, got '%s'",
                                   i + 1 < argc ? argv[i + 1] : "");
            stop_after = (int)v;
            i++;
        } else if (!strcmp(argv[i], "--resume") || !strcmp(argv[i], "--out")) {
            if (i + 1 >= argc || !argv[i + 1][0]) return usage_error("%s needs a file name", argv[i]);
            if (argv[i][2] == 'r') resume = argv[++i];
            else out = argv[++i];
        } else if (!strcmp(argv[i], "--save")) {
            return usage_error("%s", "--save was replaced by --out RUN.h5: the run log, whose checkpoint "
                               "RUN.ckpt.h5 holds the best parameters");
        } else if (!strncmp(argv[i], "--", 2)) {
            return usage_error("unknown option '%s' for train", argv[i]);
        } else if (!config_path) {
            config_path = argv[i];
        } else {
            return usage_error("unexpected argument '%s' for train (one CONFIG only)", argv[i]);
        }
    }
    if (!config_path && !resume) return usage_error("%s", "train needs a CONFIG file (or --resume RUN.h5)");
    if (resume && out) return usage_error("%s", "--out and --resume exclude each other: a resumed run goes on "
                                          "writing its own log");

    sc_config c;
    sc_err err = {0};
    if (resume && !config_path) {
        /* the run's own configuration, from its checkpoint */
        char ckpt[4096];
        sc_ckpt ck;
        if (sc_run_locate(resume, ckpt, sizeof ckpt, &err) != SC_OK) return fail(&err);
        int rc = sc_ckpt_load(ckpt, SC_CKPT_HEADER, &ck, &err);
        c = ck.config;
        sc_ckpt_free(&ck);
        if (rc != SC_OK) return fail(&err);
    } else {
        sc_config_defaults(&c);
        if (sc_config_load(&c, config_path, &err) != SC_OK) return fail(&err);
    }
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--set") && sc_config_set(&c, argv[++i], &err) != SC_OK) return fail(&err);
    const sc_model_ops *ops = sc_model_ops_named(c.kind);
    if ((no_reinforce || no_baseline) && !(ops && ops->caps & SC_KIND_POLICY)) {
        char with[128], without[128], msg[400];
        sc_model_kinds_list(with, sizeof with, SC_KIND_POLICY, 0);
        sc_model_kinds_list(without, sizeof without, 0, SC_KIND_POLICY);
        snprintf(msg, sizeof msg, "%s applies to [model] kind = %s only (the others, %s, learn by backprop alone)",
                 no_reinforce ? "--no-reinforce" : "--no-baseline", with, without);
        return usage_error("%s", msg);
    }
    if (no_reinforce) c.reinforce = 0;
    if (no_baseline) c.baseline = 0;
    if (sc_config_validate(&c, &err) != SC_OK) return fail(&err);

    char outbuf[1024];
    if (!resume && !out) {
        /* rank 0 names the run (and makes runs/); the others take its name */
        int named = lead ? default_out(outbuf, sizeof outbuf, config_path) : 0;
        if (d) {
            if (!lead) outbuf[0] = '\0';
            else if (named != 0) outbuf[0] = '\0';
            if (sc_dist_bcast_text(d, outbuf, sizeof outbuf, &err) != SC_OK) return fail_train(d, &err);
            if (!outbuf[0]) return 1;
        } else if (named != 0) {
            return 1;
        }
        out = outbuf;
    }
    char *cmdline = sc_join_args(argc, argv);
    char *text = config_path ? sc_read_text(config_path) : NULL;
    if (!cmdline || (config_path && !text)) {
        free(cmdline);
        free(text);
        fprintf(stderr, "saccade: %s: cannot read: %s\n", config_path ? config_path : "command line", strerror(errno));
        return 1;
    }
    if (view && lead) {
#ifdef SACCADE_HAVE_VIEWER
        /* the viewer runs as its own process and follows the log as it grows */
        if (sc_view_spawn(resume ? resume : out, NULL, NULL, &err) != SC_OK) {
            free(cmdline);
            free(text);
            return fail(&err);
        }
#else
        free(cmdline);
        free(text);
        fprintf(stderr, "saccade: --view: this saccade was built without the viewer (SACCADE_BUILD_VIEWER=OFF)\n");
        return 1;
#endif
    }
    if (lead) {
        printf("# saccade %s (%s) train %s%s\n", SACCADE_VERSION, SACCADE_GIT_COMMIT, resume ? "--resume " : "",
               resume ? resume : config_path);
        printf("# resolved configuration:\n");
        sc_config_write(&c, stdout);
        fflush(stdout);
    }

    sc_train_opts opts = {resume ? resume : out, resume != NULL, quiet, stop_after, cmdline, config_path, text, d};
    sc_train_result res;
    int rc = sc_train(&c, &opts, &res, &err);
    free(cmdline);
    free(text);
    *train_rc = rc;
    if (rc != SC_OK) return fail_train(d, &err);
    if (!lead) return res.interrupted ? 130 : 0;
    if (res.best_epoch > 0)
        printf("best validation error %.2f%% at epoch %d of %d\n", res.best_val_err, res.best_epoch, res.epochs_run);
    else
        printf("no epoch completed: the initial parameters were tested\n");
    char kept[96];
    if (!strcmp(c.keep, "last"))
        snprintf(kept, sizeof kept, "of the last %s (epoch %d)", c.ema > 0 ? "parameter average" : "parameters",
                 res.kept_epoch);
    else
        snprintf(kept, sizeof kept, "of the best parameters (epoch %d)", res.kept_epoch);
    if (ops && ops->caps & SC_KIND_STOCHASTIC)
        printf("test error %s: %.2f%% (M=1), %.2f%% (M=%d)\n", kept, res.test_err_m1, res.test_err_mc,
               c.mc_samples);
    else
        printf("test error %s: %.2f%% (M=1; model kind %s is deterministic)\n", kept, res.test_err_m1, c.kind);
    printf("training throughput: %.0f images/s; wall time %.1f s\n", res.images_per_s, res.wall_s);
    if (d)
        printf("MPI, %d ranks: per training step %.3f ms in the gradient sum, %.3f ms in the forward's gather\n",
               sc_dist_size(d), res.reduce_ms, res.gather_ms);
    printf("inference: %.1f us per image (batch of %d, warm, median of 5)\n", res.us_per_image, sc_eval_batch(&c));
    printf("run log: %s\ncheckpoint: %s\n", opts.log_path, res.checkpoint);
    if (res.interrupted)
        printf("interrupted: continue with `saccade train --resume %s`\n", opts.log_path);
    if (res.paused)
        printf("stopped after %d epochs as asked: continue with `saccade train --resume %s`\n", stop_after,
               opts.log_path);
    return res.interrupted ? 130 : 0;
}

static int cmd_eval(int argc, char **argv) {
    if (argc < 3 || !strncmp(argv[2], "--", 2)) return usage_error("%s", "eval needs a run log RUN.h5");
    if (argc > 256) return usage_error("%s", "too many arguments");
    int M = -1, last = -1;  /* -1: as the run's [train] keep */
    const char *split = "test", *threads = NULL, *first_loc = NULL, *test_policy = NULL;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--samples") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 1000) return usage_error("--samples expects an integer in 1..1000, got '%s'", argv[i]);
            M = (int)v;
        } else if (!strcmp(argv[i], "--split") && i + 1 < argc) {
            split = argv[++i];
            if (strcmp(split, "test") && strcmp(split, "val")) return usage_error("--split expects test or val, got '%s'", split);
        } else if (!strcmp(argv[i], "--last") || !strcmp(argv[i], "--best")) {
            int want = !strcmp(argv[i], "--last");
            if (last == !want) return usage_error("%s", "eval takes --best or --last, not both");
            last = want;
        } else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            if (!strncmp(argv[i + 1], "train.threads=", 14)) {
                threads = argv[++i];
            } else if (!strncmp(argv[i + 1], "model.first_loc=", 16)) {
                first_loc = argv[++i];
            } else if (!strncmp(argv[i + 1], "model.test_policy=", 18)) {
                test_policy = argv[++i];
            } else {
                return usage_error("eval only accepts --set train.threads=N, --set model.first_loc=random|center "
                                   "and --set model.test_policy=sample|mean (the run fixes the rest), got '%s'",
                                   argv[i + 1]);
            }
        } else {
            return usage_error("unknown option '%s' for eval", argv[i]);
        }
    }
    sc_err err = {0};
    char ckpt[4096];
    if (sc_run_locate(argv[2], ckpt, sizeof ckpt, &err) != SC_OK) return fail(&err);
    sc_ckpt ck;
    if (last < 0) {
        if (sc_ckpt_load(ckpt, SC_CKPT_HEADER, &ck, &err) != SC_OK) {
            sc_ckpt_free(&ck);
            return fail(&err);
        }
        last = !strcmp(ck.config.keep, "last");
        sc_ckpt_free(&ck);
    }
    if (sc_ckpt_load(ckpt, last ? SC_CKPT_ALL : SC_CKPT_BEST, &ck, &err) != SC_OK) {
        sc_ckpt_free(&ck);
        return fail(&err);
    }
    sc_config c = ck.config;
    if ((threads && sc_config_set(&c, threads, &err) != SC_OK) ||
        (first_loc && sc_config_set(&c, first_loc, &err) != SC_OK) ||
        (test_policy && sc_config_set(&c, test_policy, &err) != SC_OK)) {
        sc_ckpt_free(&ck);
        return fail(&err);
    }
    sc_dataset ds;
    memset(&ds, 0, sizeof ds);
    sc_data_spec spec;
    sc_config_data_spec(&c, &spec);
    int rc = sc_dataset_open(&ds, &spec, c.val_size, c.seed, &err);
    if (rc == SC_OK) rc = sc_config_check_images(&c, ds.train.h, ds.train.w, &err);
    if (rc == SC_OK && c.max_train > 0 && c.max_train < ds.n_train) ds.n_train = c.max_train;
    sc_canvas_cfg cc;
    sc_canvas_cfg_from_config(&cc, &c);
    int H = 1, W = 1, C = 1;
    if (rc == SC_OK) {
        sc_canvas_dims(&cc, &ds.train, &H, &W);
        C = sc_images_channels(&ds.train);
    }
    const int EB = sc_eval_batch(&c), NB = sc_model_batch(&c);
    sc_model_cfg mc;
    sc_model_cfg_from_shape(&mc, &c, H, W, C, rc == SC_OK ? ds.num_classes : 2, NB);
    sc_model *m = NULL;
    if (rc == SC_OK) rc = sc_model_create(&m, &mc, &err);
    if (rc == SC_OK) rc = sc_model_set_threads(m, c.threads, &err);
    if (rc == SC_OK) rc = sc_ckpt_check_params(&ck, sc_model_params(m), ckpt, &err);
    if (rc == SC_OK) {
        sc_params *ps = sc_model_params(m);
        /* --last of a run with [train] ema: the latest average, the parameters it validated */
        sc_ckpt_unpack(&ck, last ? (ck.ema ? ck.ema : ck.params) : ck.best, ps, ps->data);
        size_t at = 0;
        int t = sc_params_nonfinite(ps, ps->data, &at);
        if (t >= 0)
            rc = sc_errf(&err, SC_ENONFINITE,
                         "%s: the %s parameters are not finite (tensor %s, element %zu, is %s); refusing to evaluate them",
                         ckpt, last ? "last" : "best", ps->p[t].name, at,
                         isnan(ps->data[ps->p[t].offset + at]) ? "NaN" : "infinite");
    }
    const int stochastic = m && sc_model_describe(m)->stochastic;
    if (M < 0) M = c.mc_samples;
    if (!stochastic) M = 1;  /* a deterministic model: M passes would all be the same */
    float *canvas = NULL, *logp = NULL;
    int *idx = NULL, *labels = NULL, *pred = NULL;
    uint64_t *keys = NULL;
    if (rc == SC_OK) {
        canvas = malloc(sizeof(float) * NB * H * W * C);
        logp = malloc(sizeof(float) * NB * ds.num_classes);
        idx = malloc(sizeof(int) * NB);
        labels = malloc(sizeof(int) * NB);
        pred = malloc(sizeof(int) * NB);
        keys = malloc(sizeof(uint64_t) * NB);
        if (!canvas || !logp || !idx || !labels || !pred || !keys) rc = sc_errf(&err, SC_ENOMEM, "eval: out of memory");
    }
    if (rc == SC_OK) {
        int test = !strcmp(split, "test");
        long spe = (ds.n_train + c.batch_size - 1) / c.batch_size;
        float std = last ? sc_policy_std(&c, (long)ck.st.step, spe * c.epochs) : ck.st.best_std;
        sc_eval_ctx ev = {m, test ? &ds.test : &ds.train, &cc, test ? ds.test_idx : ds.val_idx,
                          test ? ds.n_test : ds.n_val, c.seed, std, EB, canvas, idx, labels, pred, keys, logp,
                          !strcmp(c.test_policy, "mean")};
        const int *pool = test ? ds.test_idx : ds.val_idx;
        int n = test ? ds.n_test : ds.n_val;
        if (last)
            printf("%s: the latest %s, epoch %d (step %lld)\n", ckpt,
                   ck.ema ? "parameter average ([train] ema)" : "parameters", ck.st.epoch, (long long)ck.st.step);
        else
            printf("%s: the best parameters, from epoch %d (validation error %.2f%%, M=1) of %d trained\n", ckpt,
                   ck.st.best_epoch, ck.st.best_val_err, ck.st.epoch);
        double e1 = sc_eval_error(&ev, pool, n, test ? 2 : 1, 1);
        double em = M > 1 ? sc_eval_error(&ev, pool, n, test ? 2 : 1, M) : e1;
        if (stochastic)
            printf("%s error on %d images: %.2f%% (M=1), %.2f%% (M=%d)\n", split, n, e1, em, M);
        else
            printf("%s error on %d images: %.2f%% (M=1; model kind %s is deterministic)\n", split, n, e1,
                   c.kind);
    }
    free(canvas); free(logp); free(idx); free(labels); free(pred); free(keys);
    sc_model_free(m);
    sc_dataset_free(&ds);
    sc_ckpt_free(&ck);
    return rc == SC_OK ? 0 : fail(&err);
}

/* A --png FILE value: a file name that is not an option. */
static int png_arg(int argc, char **argv, int i, const char **png) {
    if (i + 1 >= argc || !argv[i + 1][0] || !strncmp(argv[i + 1], "--", 2)) return -1;
    *png = argv[i + 1];
    return 0;
}

/* Appends a run to a growing array. */
static int push_run(sc_run_summary **runs, int *n, int *cap) {
    if (*n == *cap) {
        int nc = *cap ? 2 * *cap : 16;
        sc_run_summary *nr = realloc(*runs, sizeof **runs * (size_t)nc);
        if (!nr) return -1;
        *runs = nr;
        *cap = nc;
    }
    return 0;
}

static int cmd_compare(int argc, char **argv) {
    const char *png = NULL;
    int nargs = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--png")) {
            if (png_arg(argc, argv, i, &png) != 0) return usage_error("%s needs a file name", "--png");
            i++;
        } else if (!strncmp(argv[i], "--", 2)) {
            return usage_error("unknown option '%s' for compare", argv[i]);
        } else {
            nargs++;
        }
    }
    if (nargs == 0) return usage_error("%s", "compare needs at least one run log RUN.h5 or sweep folder");
    sc_run_summary *runs = NULL;
    int n = 0, cap = 0, swept = 0, unfinished = 0;
    sc_err err = {0};
    int rc = SC_OK;
    for (int i = 2; i < argc && rc == SC_OK; i++) {
        if (!strcmp(argv[i], "--png")) {
            i++;
            continue;
        }
        if (!sc_sweep_is_dir(argv[i])) {
            if (push_run(&runs, &n, &cap) != 0) rc = sc_errf(&err, SC_ENOMEM, "compare: out of memory");
            else if ((rc = sc_run_summary_read(argv[i], &runs[n], 1, &err)) == SC_OK) n++;
            continue;
        }
        /* a sweep folder: its finished runs, grouped by point */
        sc_sweep_run *list = NULL;
        int nl = 0;
        if ((rc = sc_sweep_list(argv[i], &list, &nl, &err)) != SC_OK) break;
        swept = 1;
        for (int k = 0; k < nl && rc == SC_OK; k++) {
            if (push_run(&runs, &n, &cap) != 0) {
                rc = sc_errf(&err, SC_ENOMEM, "compare: out of memory");
                break;
            }
            sc_err e2 = {0};
            const char *why = NULL;
            if (access(list[k].log, F_OK) != 0) why = "not started";
            else if (sc_run_summary_read(list[k].log, &runs[n], 0, &e2) != SC_OK) why = e2.msg;
            else if (!runs[n].has_test) why = "running, or stopped before its first test";
            else if (runs[n].end_reason != SC_END_FINISHED && runs[n].end_reason != SC_END_EARLY_STOP)
                why = "interrupted (the sweep's command continues it)";
            if (why) {
                if (unfinished++ == 0) printf("not finished:\n");
                printf("  %s: %s\n", list[k].log, why);
                continue;
            }
            snprintf(runs[n].group, sizeof runs[n].group, "%s", list[k].point);
            snprintf(runs[n].label, sizeof runs[n].label, "%.100s/seed-%llu", list[k].point,
                     (unsigned long long)list[k].seed);
            n++;
        }
        free(list);
    }
    if (rc == SC_OK && n == 0) rc = sc_errf(&err, SC_EFORMAT, "compare: no finished run to compare");
    int *group = NULL, ng = 0;
    sc_group_label *label = NULL;
    if (rc == SC_OK) {
        group = malloc(sizeof(int) * (size_t)n);
        label = malloc(sizeof *label * (size_t)n);
        ng = group && label ? sc_compare_group(runs, n, group, label) : -1;
        if (ng < 0) rc = sc_errf(&err, SC_ENOMEM, "compare: out of memory");
    }
    const int grouped = rc == SC_OK && (swept || ng < n);
    if (rc == SC_OK && png) rc = sc_compare_png(png, runs, n, grouped ? group : NULL, label, ng, &err);
    if (rc == SC_OK) {
        if (unfinished) printf("\n");
        if (!swept) sc_compare_table(stdout, runs, n);
        if (grouped) {
            if (!swept) printf("\nruns whose configs differ only in train.seed (threads, [log]) grouped:\n\n");
            sc_compare_group_table(stdout, runs, n, group, label, ng);
        }
    }
    free(group);
    free(label);
    free(runs);
    if (rc != SC_OK) return fail(&err);
    if (png) printf("\nplot: %s\n", png);
    return 0;
}

static int cmd_plot(int argc, char **argv) {
    const char *png = NULL, *run = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--png")) {
            if (png_arg(argc, argv, i, &png) != 0) return usage_error("%s needs a file name", "--png");
            i++;
        } else if (!strncmp(argv[i], "--", 2)) {
            return usage_error("unknown option '%s' for plot", argv[i]);
        } else if (run) {
            return usage_error("unexpected argument '%s' for plot (one RUN.h5 only)", argv[i]);
        } else {
            run = argv[i];
        }
    }
    if (!run) return usage_error("%s", "plot needs a run log RUN.h5");
    if (!png) return usage_error("%s", "plot needs --png FILE (where to write the learning curves)");
    sc_err err = {0};
    if (sc_plot_png(run, png, &err) != SC_OK) return fail(&err);
    printf("plot: %s\n", png);
    return 0;
}

int main(int argc, char **argv) {
    /* HDF5 1.10 crashes in its exit handler when a file whose close failed (a
     * full disk) is still registered; every file is closed explicitly anyway. */
    H5dont_atexit();
    sc_blas_ensure_kernels(argv);
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("saccade %s (commit %s)\n%s\n", SACCADE_VERSION, SACCADE_GIT_COMMIT, sc_blas_config());
        return 0;
    }
    if (!strcmp(argv[1], "train")) {
        /* under mpirun: one rank of a data-parallel run (experiments/dist.h) */
        sc_dist *d = NULL;
        sc_err err = {0};
        if (sc_dist_init(&d, &argc, &argv, &err) != SC_OK) {
            fprintf(stderr, "saccade: %s\n", err.msg);
            return 2;
        }
        int train_rc, status = train_main(argc, argv, d, &train_rc);
        sc_dist_end(d, train_rc);
        return status;
    }
    if (!strcmp(argv[1], "view")) {
#ifdef SACCADE_HAVE_VIEWER
        return sc_view_main(argc - 1, argv + 1);
#else
        fprintf(stderr, "saccade: view: this saccade was built without the viewer (SACCADE_BUILD_VIEWER=OFF)\n");
        return 1;
#endif
    }
    if (!strcmp(argv[1], "sweep")) return sc_sweep_main(argc, argv);
    if (!strcmp(argv[1], "eval")) return cmd_eval(argc, argv);
    if (!strcmp(argv[1], "compare")) return cmd_compare(argc, argv);
    if (!strcmp(argv[1], "plot")) return cmd_plot(argc, argv);
    if (!strcmp(argv[1], "config")) return cmd_config(argc, argv);
    if (!strcmp(argv[1], "data")) return cmd_data(argc, argv);
    return usage_error("unknown command '%s'", argv[1]);
}
