/* main.c - the `saccade` command: train, eval, config, data.
 *
 * The only place that exits: every library error comes back here as a code
 * and a message, is printed as `saccade: <message>` and ends the process with
 * a non-zero status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "env/dataset.h"
#include "experiments/config.h"
#include "experiments/train.h"
#include "nets/blas.h"

static const char *USAGE =
    "usage: saccade <command> [options]\n"
    "\n"
    "commands:\n"
    "  train CONFIG [--set section.key=value ...] [--no-reinforce] [--no-baseline]\n"
    "               [--save FILE] [--quiet]\n"
    "        train a model; prints the resolved config, progress, validation error\n"
    "        per epoch and the test error (M=1 and M=model.mc_samples) at the end.\n"
    "        The best parameters go to FILE (default runs/<config>-<UTC time>.model).\n"
    "  eval MODEL [--samples M] [--split test|val] [--set train.threads=N]\n"
    "        evaluate a saved model on the test (or validation) set.\n"
    "  config CONFIG [--set ...]   print the fully resolved configuration\n"
    "  config --doc                print every key with default, range and meaning (Markdown)\n"
    "  data [CONFIG] [--set ...]   load the configured dataset and print a summary\n"
    "  --version                   print version, commit and OpenBLAS configuration\n";

static int fail(const sc_err *err) {
    fprintf(stderr, "saccade: %s\n", err->msg[0] ? err->msg : sc_strerror(err->code));
    return 1;
}

static int usage_error(const char *fmt, const char *arg) {
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
    if (sc_dataset_load(&ds, sc_config_data_dir(&c), c.val_size, c.seed, &err) != SC_OK) return fail(&err);
    printf("dataset %s from %s\n", c.dataset, sc_config_data_dir(&c));
    printf("  train file: %d images of %dx%d, %d classes\n", ds.train.n, ds.train.h, ds.train.w, ds.num_classes);
    printf("  split (seed %llu): %d train, %d validation; test: %d images\n", (unsigned long long)c.seed,
           ds.n_train, ds.n_val, ds.n_test);
    long counts[256] = {0};
    for (int i = 0; i < ds.train.n; i++) counts[ds.train.labels[i]]++;
    printf("  training labels:");
    for (int k = 0; k < ds.num_classes; k++) printf(" %d:%ld", k, counts[k]);
    double mean = 0.0;
    size_t np = (size_t)ds.train.n * ds.train.h * ds.train.w;
    for (size_t i = 0; i < np; i++) mean += ds.train.pix[i];
    printf("\n  mean pixel value: %.4f\n", mean / np / 255.0);
    sc_dataset_free(&ds);
    return 0;
}

static int ensure_dir(const char *dir) {
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) return 0;
    return -1;
}

static int cmd_train(int argc, char **argv) {
    if (argc < 3 || !strncmp(argv[2], "--", 2)) return usage_error("%s", "train needs a CONFIG file");
    if (argc > 256) return usage_error("%s", "too many arguments");
    char used[256] = {0};
    sc_config c;
    sc_err err = {0};
    if (load_config(&c, argv[2], argc, argv, 3, used, &err) != SC_OK) return fail(&err);
    sc_train_opts opts = {NULL, 0};
    for (int i = 3; i < argc; i++) {
        if (used[i]) continue;
        if (!strcmp(argv[i], "--no-reinforce")) c.reinforce = 0;
        else if (!strcmp(argv[i], "--no-baseline")) c.baseline = 0;
        else if (!strcmp(argv[i], "--quiet")) opts.quiet = 1;
        else if (!strcmp(argv[i], "--save") && i + 1 < argc) opts.save_path = argv[++i];
        else return usage_error("unknown option '%s' for train", argv[i]);
    }
    if (sc_config_validate(&c, &err) != SC_OK) return fail(&err);

    char save[1024];
    if (!opts.save_path) {
        const char *base = strrchr(argv[2], '/');
        base = base ? base + 1 : argv[2];
        size_t bl = strcspn(base, ".");
        time_t t = time(NULL);
        struct tm tmv;
        gmtime_r(&t, &tmv);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tmv);
        if (ensure_dir("runs") != 0) {
            fprintf(stderr, "saccade: cannot create folder runs/: %s\n", strerror(errno));
            return 1;
        }
        snprintf(save, sizeof save, "runs/%.*s-%s.model", (int)bl, base, stamp);
        opts.save_path = save;
    }
    printf("# saccade %s (%s) train %s\n", SACCADE_VERSION, SACCADE_GIT_COMMIT, argv[2]);
    printf("# resolved configuration:\n");
    sc_config_write(&c, stdout);
    fflush(stdout);

    sc_train_result res;
    if (sc_train(&c, &opts, &res, &err) != SC_OK) return fail(&err);
    printf("best validation error %.2f%% at epoch %d of %d\n", res.best_val_err, res.best_epoch, res.epochs_run);
    printf("test error: %.2f%% (M=1), %.2f%% (M=%d)\n", res.test_err_m1, res.test_err_mc, c.mc_samples);
    printf("training throughput: %.0f images/s; wall time %.1f s\n", res.images_per_s, res.wall_s);
    printf("model saved to %s\n", opts.save_path);
    return res.interrupted ? 130 : 0;
}

static int cmd_eval(int argc, char **argv) {
    if (argc < 3 || !strncmp(argv[2], "--", 2)) return usage_error("%s", "eval needs a MODEL file");
    if (argc > 256) return usage_error("%s", "too many arguments");
    sc_config c;
    sc_err err = {0};
    if (sc_model_load(argv[2], &c, NULL, &err) != SC_OK) return fail(&err);
    int M = c.mc_samples;
    const char *split = "test";
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--samples") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 1000) return usage_error("--samples expects an integer in 1..1000, got '%s'", argv[i]);
            M = (int)v;
        } else if (!strcmp(argv[i], "--split") && i + 1 < argc) {
            split = argv[++i];
            if (strcmp(split, "test") && strcmp(split, "val")) return usage_error("--split expects test or val, got '%s'", split);
        } else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            if (strncmp(argv[i + 1], "train.threads=", 14))
                return usage_error("eval only accepts --set train.threads=N (the model fixes the rest), got '%s'", argv[i + 1]);
            if (sc_config_set(&c, argv[++i], &err) != SC_OK) return fail(&err);
        } else {
            return usage_error("unknown option '%s' for eval", argv[i]);
        }
    }
    sc_blas_set_threads(c.threads);
    sc_dataset ds;
    if (sc_dataset_load(&ds, sc_config_data_dir(&c), c.val_size, c.seed, &err) != SC_OK) return fail(&err);
    sc_canvas_cfg cc;
    sc_canvas_cfg_from_config(&cc, &c);
    int side = sc_canvas_side(&cc, ds.train.w);
    const int EB = 500;
    sc_ram_cfg mc;
    sc_ram_cfg_from_config(&mc, &c, side, ds.num_classes, EB);
    sc_ram *m = NULL;
    int rc = sc_ram_create(&m, &mc, &err);
    if (rc == SC_OK) rc = sc_model_load(argv[2], &c, sc_ram_params(m), &err);
    float *canvas = malloc(sizeof(float) * EB * side * side), *logp = malloc(sizeof(float) * EB * ds.num_classes);
    int *idx = malloc(sizeof(int) * EB), *labels = malloc(sizeof(int) * EB), *pred = malloc(sizeof(int) * EB);
    uint64_t *keys = malloc(sizeof(uint64_t) * EB);
    if (rc == SC_OK && (!canvas || !logp || !idx || !labels || !pred || !keys))
        rc = sc_errf(&err, SC_ENOMEM, "eval: out of memory");
    if (rc == SC_OK) {
        int test = !strcmp(split, "test");
        float std = c.loc_std_final > 0 ? c.loc_std_final : c.loc_std;
        sc_eval_ctx ev = {m, test ? &ds.test : &ds.train, &cc, test ? ds.test_idx : ds.val_idx,
                          test ? ds.n_test : ds.n_val, c.seed, std, EB, canvas, idx, labels, pred, keys, logp};
        const int *pool = test ? ds.test_idx : ds.val_idx;
        int n = test ? ds.n_test : ds.n_val;
        double e1 = sc_eval_error(&ev, pool, n, test ? 2 : 1, 1);
        double em = M > 1 ? sc_eval_error(&ev, pool, n, test ? 2 : 1, M) : e1;
        printf("%s error on %d images: %.2f%% (M=1), %.2f%% (M=%d)\n", split, n, e1, em, M);
    }
    free(canvas); free(logp); free(idx); free(labels); free(pred); free(keys);
    sc_ram_free(m);
    sc_dataset_free(&ds);
    return rc == SC_OK ? 0 : fail(&err);
}

int main(int argc, char **argv) {
    sc_blas_ensure_kernels(argv);
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("saccade %s (commit %s)\n%s\n", SACCADE_VERSION, SACCADE_GIT_COMMIT, sc_blas_config());
        return 0;
    }
    if (!strcmp(argv[1], "train")) return cmd_train(argc, argv);
    if (!strcmp(argv[1], "eval")) return cmd_eval(argc, argv);
    if (!strcmp(argv[1], "config")) return cmd_config(argc, argv);
    if (!strcmp(argv[1], "data")) return cmd_data(argc, argv);
    return usage_error("unknown command '%s'", argv[1]);
}
