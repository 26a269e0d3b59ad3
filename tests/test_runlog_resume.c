/* test_runlog_resume.c - checkpoints and resume: exact, and robust to kills and
 * full disks.
 *
 * - bit-identical resume: E epochs in one go and E1 + (E - E1) with a resume in
 *   between give the same bytes in the parameters, best parameters and
 *   optimizer moments, the same state (step, RNG, schedule, best) and the same
 *   /train, /eval and /glimpses rows (times and speeds aside); for Adam with a
 *   linear rate and std annealing, and for SGD with momentum, a plateau
 *   schedule, clipping, weight decay, an LSTM core and an MLP location net;
 *   with threads = 2 (the RAM's two data-parallel workers); and for the soft-
 *   attention model (additive scores, LSTM core, attention records) and the
 *   fc baseline;
 * - SIGTERM mid-epoch: `saccade train` (another process) checkpoints its
 *   position inside the epoch and exits 130; --resume finishes the run with the
 *   same bytes as an uninterrupted one;
 * - SIGKILL mid-epoch: the log opens (SWMR read) with the rows written so far,
 *   the checkpoint loads, --resume cuts the log back and finishes the run with
 *   the same bytes; meanwhile a SWMR reader in this process sees rows appear;
 * - a log and checkpoint written before the additions to schema 1 (model kind,
 *   compute attributes, attention statistics, measured inference time; here
 *   removed from a fresh run's files) resume, finish without those columns
 *   and reach the same parameters as an uninterrupted run;
 * - killed after its last checkpoint, during the final test (its test row
 *   and session end removed here): --resume runs the test alone and writes
 *   the uninterrupted run's test row; a resume after that is refused;
 * - a full disk (RLIMIT_FSIZE, so writes fail with EFBIG): when the log or
 *   the checkpoint cannot be written, training stops with one line naming the
 *   file and the reason, the last checkpoint is byte-for-byte what it was, no
 *   temporary is left, and a later resume still gives the exact result.
 */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "experiments/checkpoint.h"
#include "experiments/runlog.h"
#include "experiments/train.h"
#include "tests/testutil.h"
#include "tests/runcompare.h"

static const char *BASE_INI =
    "[data]\ndataset = fashion\nmax_train = 640\nval_size = 100\n"
    "[model]\nglimpses = 3\nhidden = 16\nglimpse_hidden = 8\nloc_hidden = 8\nglimpse_out = 16\nmc_samples = 2\n"
    "[train]\nepochs = 4\nthreads = 1\nbatch_size = 32\n"
    "[log]\ntrain_every = 3\nglimpse_images = 6\nglimpse_every = 2\n";

static void config_with(sc_config *c, const char *const *sets) {
    sc_err err = {0};
    sc_config_defaults(c);
    ck_assert_msg(sc_config_load_string(c, BASE_INI, "base.ini", &err) == SC_OK, "%s", err.msg);
    for (; sets && *sets; sets++) ck_assert_msg(sc_config_set(c, *sets, &err) == SC_OK, "%s: %s", *sets, err.msg);
    ck_assert_msg(sc_config_validate(c, &err) == SC_OK, "%s", err.msg);
}

/* Writes c as tmpdir/name (an INI file for the command line). */
static void write_config(const char *name, const sc_config *c) {
    char p[700];
    in_tmp(p, sizeof p, name);
    char *text = sc_config_to_string(c);
    spit(p, text, strlen(text));
    free(text);
}

static void train_some(const char *log, const sc_config *c, int resume, int stop_after, sc_train_result *r) {
    char path[700];
    in_tmp(path, sizeof path, log);
    sc_train_opts o = {.log_path = path, .resume = resume, .quiet = 1, .stop_after = stop_after,
                       .command_line = "test"};
    sc_train_result tmp;
    sc_err err = {0};
    ck_assert_msg(sc_train(c, &o, r ? r : &tmp, &err) == SC_OK, "%s: %s", log, err.msg);
}

/* A run with [train] ema: its checkpoint holds the average apart from the
 * parameters, and the best parameters are the average of the best epoch
 * (checked when that epoch is the last, where the average is known). */
static void ema_is_what_was_validated(const char *log) {
    char p[700], k[800];
    in_tmp(p, sizeof p, log);
    ck_assert_int_eq(sc_run_checkpoint_name(p, k, sizeof k), 0);
    sc_ckpt a;
    sc_err err = {0};
    ck_assert_msg(sc_ckpt_load(k, SC_CKPT_ALL, &a, &err) == SC_OK, "%s", err.msg);
    ck_assert_ptr_nonnull(a.ema);
    ck_assert_msg(memcmp(a.ema, a.params, sizeof(float) * a.n) != 0, "the average equals the parameters");
    if (a.st.best_epoch == a.st.epoch)
        ck_assert_msg(!memcmp(a.best, a.ema, sizeof(float) * a.n), "best epoch %d: best is not the average",
                      a.st.best_epoch);
    else
        ck_assert_msg(memcmp(a.best, a.params, sizeof(float) * a.n) != 0, "best is the raw parameters");
    sc_ckpt_free(&a);
}

/* ---- in-process: stop at an epoch's end, resume ------------------------------------ */

START_TEST(resume_is_bit_identical) {
    if (!have_fashion()) return;
    make_tmpdir();
    static const char *const adam[] = {"train.lr_schedule=linear", "train.lr_final=1e-4", "model.loc_std=0.2",
                                       "model.loc_std_final=0.05", "train.ema=0.99", NULL};
    static const char *const sgd[] = {"train.optimizer=sgd", "train.lr=0.05", "train.momentum=0.9",
                                      "train.lr_schedule=plateau", "train.lr_patience=1", "train.clip=1",
                                      "train.weight_decay=1e-4", "model.core=lstm", "model.loc_net=mlp",
                                      "model.loc_net_hidden=8", "model.first_loc=center",
                                      "model.test_policy=mean", NULL};
    static const char *const workers[] = {"train.threads=2", "train.lr_schedule=linear", "train.lr_final=1e-4",
                                          "model.loc_std_final=0.05", NULL};
    static const char *const soft[] = {"model.kind=soft", "model.grid=3", "model.score=additive",
                                       "model.att_hidden=8", "model.core=lstm", "train.threads=2", NULL};
    static const char *const fc[] = {"model.kind=fc", "model.fc_hidden=24", "train.optimizer=sgd",
                                     "train.lr=0.05", NULL};
    /* the ema baseline's state lives outside the parameters: the checkpoint must carry it */
    static const char *const ema_full[] = {"model.baseline_kind=ema", "model.baseline_decay=0.9",
                                           "model.reinforce_grad=full", NULL};
    static const char *const constant[] = {"model.baseline_kind=constant", "model.reinforce_grad=full",
                                           "model.core=lstm", NULL};
    const char *const *variants[] = {adam, sgd, workers, soft, fc, ema_full, constant};
    for (int v = 0; v < 7; v++) {
        sc_config c;
        config_with(&c, variants[v]);
        sc_train_result full, part;
        train_some("full.h5", &c, 0, 0, &full);
        train_some("part.h5", &c, 0, 1, &part);  /* epoch 1, then stop */
        ck_assert(part.paused && part.epochs_run == 1);
        train_some("part.h5", &c, 1, 2, &part);  /* epochs 2-3 */
        ck_assert(part.paused && part.epochs_run == 3);
        train_some("part.h5", &c, 1, 0, &part);  /* epoch 4 */
        ck_assert(!part.paused);
        same_checkpoints("full.h5", "part.h5");
        same_logs("full.h5", "part.h5");
        if (v == 0) ema_is_what_was_validated("full.h5");
        ck_assert(full.test_err_m1 == part.test_err_m1 && full.test_err_mc == part.test_err_mc);
        ck_assert_int_eq(part.epochs_run, 4);
        /* the sessions are on record */
        hid_t f = open_log("part.h5");
        size_t n;
        char *r = raw(f, "sessions/end_reason", &n);
        ck_assert_int_eq((int)n, 3);
        ck_assert(r[0] == SC_END_PAUSED && r[1] == SC_END_PAUSED && r[2] == SC_END_FINISHED);
        free(r);
        H5Fclose(f);
        char p[700];
        in_tmp(p, sizeof p, "full.h5");
        unlink(p);
        in_tmp(p, sizeof p, "part.h5");
        unlink(p);
    }
    remove_tmpdir();
}
END_TEST

/* ---- another process: SIGTERM and SIGKILL inside an epoch ---------------------------- */

static pid_t spawn_trainer(const char *ini, const char *log) {
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (chdir(tmpdir) != 0) _exit(120);
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) { dup2(fd, 1); close(fd); }
        char bin[600];
        snprintf(bin, sizeof bin, "%s/saccade", SACCADE_BINARY_DIR);
        execl(bin, bin, "train", ini, "--out", log, "--quiet", (char *)NULL);
        _exit(121);
    }
    return pid;
}

static int run_cli(const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/saccade' %s >/dev/null 2>stderr.txt </dev/null", tmpdir,
             SACCADE_BINARY_DIR, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Follows log (SWMR read) until /train/step passes `until`, then sends sig to
 * pid. Returns how many different row counts the reader saw. */
static int follow_then_signal(const char *log, pid_t pid, long until, int sig) {
    char p[700];
    in_tmp(p, sizeof p, log);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    H5E_auto2_t fn;
    void *fd;
    H5Eget_auto2(H5E_DEFAULT, &fn, &fd);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = -1, d = -1;
    int states = 0, status;
    long last_n = -1, last_step = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 240) break;  /* generous: sanitizers on a loaded machine */
        ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0, "the trainer ended before it was signalled (%d)", status);
        if (f < 0) {
            f = H5Fopen(p, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
            if (f >= 0) d = H5Dopen2(f, "train/step", H5P_DEFAULT);
            if (d < 0 && f >= 0) { H5Fclose(f); f = -1; }
        }
        if (d >= 0 && H5Drefresh(d) >= 0) {
            hid_t s = H5Dget_space(d);
            hsize_t n = 0;
            H5Sget_simple_extent_dims(s, &n, NULL);
            if ((long)n != last_n && n > 0) {
                long long v = 0;
                hsize_t off = n - 1, one = 1;
                hid_t ms = H5Screate_simple(1, &one, NULL);
                H5Sselect_hyperslab(s, H5S_SELECT_SET, &off, NULL, &one, NULL);
                if (H5Dread(d, H5T_NATIVE_LLONG, ms, s, H5P_DEFAULT, &v) >= 0) {
                    ck_assert_msg(v > last_step, "step went from %ld to %lld", last_step, v);
                    last_step = (long)v;
                    last_n = (long)n;
                    states++;
                }
                H5Sclose(ms);
            }
            H5Sclose(s);
            if (last_step >= until) break;
        }
        usleep(1000);
    }
    ck_assert_msg(last_step >= until, "the trainer did not reach step %ld (at %ld)", until, last_step);
    ck_assert_int_eq(kill(pid, sig), 0);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, fn, fd);
    H5Pclose(fapl);
    return states;
}

START_TEST(killed_and_interrupted_runs_resume_exactly) {
    if (!have_fashion()) return;
    make_tmpdir();
    /* 300 steps per epoch, so a signal lands inside one */
    static const char *const sets[] = {"data.max_train=9600", "train.epochs=2", "log.train_every=5", NULL};
    sc_config c;
    config_with(&c, sets);
    write_config("mid.ini", &c);
    train_some("ref.h5", &c, 0, 0, NULL);
    const long spe = 300;

    /* SIGTERM in the second epoch: exit 130 with a checkpoint of the position */
    pid_t pid = spawn_trainer("mid.ini", "term.h5");
    int states = follow_then_signal("term.h5", pid, spe + spe / 3, SIGTERM);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status %d after SIGTERM", status);
    ck_assert_msg(states >= 5, "a SWMR reader saw only %d states of the log", states);
    char p[700];
    in_tmp(p, sizeof p, "term.ckpt.h5");
    sc_ckpt ck;
    sc_err err = {0};
    ck_assert_msg(sc_ckpt_load(p, SC_CKPT_HEADER, &ck, &err) == SC_OK, "%s", err.msg);
    ck_assert_msg(ck.st.epoch >= 1 && ck.st.step == ck.st.epoch * spe + ck.st.batch_in_epoch,
                  "checkpoint at epoch %d batch %lld step %lld", ck.st.epoch, (long long)ck.st.batch_in_epoch,
                  (long long)ck.st.step);
    sc_ckpt_free(&ck);
    ck_assert_int_eq(run_cli("train --resume term.h5 --quiet"), 0);
    same_checkpoints("ref.h5", "term.h5");
    same_logs("ref.h5", "term.h5");

    /* SIGKILL in the second epoch */
    pid = spawn_trainer("mid.ini", "kill.h5");
    follow_then_signal("kill.h5", pid, spe + spe / 2, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* the log opens and holds what was written; the checkpoint loads */
    hid_t f = open_log("kill.h5");
    size_t n;
    char *steps = raw(f, "train/step", &n);
    ck_assert_uint_ge(n / 8, (size_t)(spe + spe / 2) / 5);
    free(steps);
    H5Fclose(f);
    in_tmp(p, sizeof p, "kill.h5");
    sc_runlog_info li;
    ck_assert_msg(sc_runlog_inspect(p, &li, &err) == SC_OK, "%s", err.msg);
    ck_assert(!li.locked);
    in_tmp(p, sizeof p, "kill.ckpt.h5");
    ck_assert_msg(sc_ckpt_load(p, SC_CKPT_ALL, &ck, &err) == SC_OK, "%s", err.msg);
    ck_assert_int_ge(ck.st.epoch, 1);
    sc_ckpt_free(&ck);
    ck_assert_int_eq(run_cli("train --resume kill.h5 --quiet"), 0);
    same_checkpoints("ref.h5", "kill.h5");
    same_logs("ref.h5", "kill.h5");
    f = open_log("kill.h5");
    char *r = raw(f, "sessions/end_reason", &n);
    ck_assert_int_eq((int)n, 2);
    ck_assert(r[0] == SC_END_RUNNING && r[1] == SC_END_FINISHED);  /* the killed session never ended */
    free(r);
    H5Fclose(f);
    remove_tmpdir();
}
END_TEST

/* ---- a log from before the additions to schema 1 ------------------------------------------ */

/* Removes what later versions added to schema 1 from a log and its checkpoint. */
static void make_old(const char *log, const char *ckpt) {
    char p[700];
    in_tmp(p, sizeof p, log);
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert(f >= 0);
    static const char *const attrs[] = {"model_kind", "macs_train_per_image", "flops_train_per_image",
                                        "pixels_per_image", "retina_adds_per_image"};
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) ck_assert(H5Adelete(f, attrs[i]) >= 0);
    static const char *const sets[] = {"train/att_entropy", "train/att_max", "train/rf_grad_var",
                                       "eval/test/us_per_image", "eval/test/train_seconds"};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) ck_assert(H5Ldelete(f, sets[i], H5P_DEFAULT) >= 0);
    H5Fclose(f);
    in_tmp(p, sizeof p, ckpt);
    f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert(f >= 0);
    ck_assert(H5Adelete(f, "epoch_att") >= 0 && H5Adelete(f, "row_att") >= 0 && H5Adelete(f, "rf_grad_var") >= 0);
    H5Fclose(f);
}

START_TEST(older_log_resumes) {
    if (!have_fashion()) return;
    make_tmpdir();
    static const char *const sets[] = {"train.epochs=3", NULL};
    sc_config c;
    config_with(&c, sets);
    train_some("ref.h5", &c, 0, 0, NULL);
    train_some("old.h5", &c, 0, 1, NULL);
    make_old("old.h5", "old.ckpt.h5");
    train_some("old.h5", &c, 1, 0, NULL);
    same_checkpoints("ref.h5", "old.h5");
    hid_t f = open_log("old.h5");
    ck_assert(H5Lexists(f, "train/att_entropy", H5P_DEFAULT) == 0 && H5Lexists(f, "train/rf_grad_var", H5P_DEFAULT) == 0 &&
              H5Aexists(f, "model_kind") == 0);
    size_t n, m, nr;
    char *steps = raw(f, "train/step", &n), *tests = raw(f, "eval/test/err_m1", &m);
    hid_t g = open_log("ref.h5");
    char *ref = raw(g, "train/step", &nr);
    ck_assert(n == nr && !memcmp(steps, ref, n));  /* the same /train rows */
    ck_assert_uint_eq(m / 4, 2);                   /* the paused session's test row, and the last */
    free(steps);
    free(tests);
    free(ref);
    H5Fclose(g);
    H5Fclose(f);
    remove_tmpdir();
}
END_TEST

/* ---- killed during the final test ------------------------------------------------------------ */

/* Drops the last /eval/test row and marks the last session as never ended:
 * what a process killed after its last checkpoint, during the final test, leaves. */
static void drop_final_test(const char *log) {
    char p[700];
    in_tmp(p, sizeof p, log);
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert(f >= 0);
    static const char *const cols[] = {"epoch", "step", "wall_time", "best_epoch", "best_val_err", "err_m1",
                                       "err_mc", "mc_samples", "reason", "us_per_image", "train_seconds"};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "eval/test/%s", cols[i]);
        hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
        ck_assert_msg(d >= 0, "%s", name);
        hid_t sp = H5Dget_space(d);
        hsize_t n = (hsize_t)H5Sget_simple_extent_npoints(sp);
        H5Sclose(sp);
        ck_assert_uint_ge(n, 1);
        n--;
        ck_assert(H5Dset_extent(d, &n) >= 0);
        H5Dclose(d);
    }
    hid_t d = H5Dopen2(f, "sessions/end_reason", H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hsize_t n = (hsize_t)H5Sget_simple_extent_npoints(sp), last = n - 1, one = 1;
    ck_assert(H5Sselect_hyperslab(sp, H5S_SELECT_SET, &last, NULL, &one, NULL) >= 0);
    hid_t mem = H5Screate_simple(1, &one, NULL);
    const int8_t running = SC_END_RUNNING;
    ck_assert(H5Dwrite(d, H5T_NATIVE_INT8, mem, sp, H5P_DEFAULT, &running) >= 0);
    H5Sclose(mem);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
}

START_TEST(killed_during_the_final_test_resumes_to_the_test) {
    if (!have_fashion()) return;
    make_tmpdir();
    static const char *const sets[] = {"train.epochs=2", NULL};
    sc_config c;
    config_with(&c, sets);
    sc_train_result ref, cut, again;
    train_some("ref.h5", &c, 0, 0, &ref);
    train_some("cut.h5", &c, 0, 0, &cut);
    drop_final_test("cut.h5");
    train_some("cut.h5", &c, 1, 0, &again);  /* no epoch left: the test alone */
    ck_assert_int_eq(again.epochs_run, 2);
    ck_assert(again.test_err_m1 == ref.test_err_m1 && again.test_err_mc == ref.test_err_mc);
    same_checkpoints("ref.h5", "cut.h5");
    same_logs_of("ref.h5", "cut.h5", 1);
    /* once its test row is there, the run has ended: resuming it again is refused */
    char path[700];
    in_tmp(path, sizeof path, "cut.h5");
    sc_train_opts o = {.log_path = path, .resume = 1, .quiet = 1, .command_line = "test"};
    sc_err err = {0};
    ck_assert_int_eq(sc_train(&c, &o, &again, &err), SC_ECONFIG);
    ck_assert_msg(strstr(err.msg, "already trained all 2 epochs"), "%s", err.msg);
    remove_tmpdir();
}
END_TEST

/* ---- a full disk ------------------------------------------------------------------------- */

/* `saccade args` with files limited to limit bytes: writes past it fail (EFBIG). */
static int run_limited(const char *args, long limit) {
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit rl = {(rlim_t)limit, (rlim_t)limit};
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(122);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s/saccade' %s >/dev/null 2>stderr.txt </dev/null", tmpdir,
                 SACCADE_BINARY_DIR, args);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(123);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long file_size(const char *name) {
    char p[700];
    in_tmp(p, sizeof p, name);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    return (long)st.st_size;
}

static void expect_failure_kept_checkpoint(const char *args, long limit, const char *file_named,
                                           const char *ckpt_bytes, size_t ckpt_n) {
    ck_assert_int_eq(run_limited(args, limit), 1);
    char p[700];
    in_tmp(p, sizeof p, "stderr.txt");
    char *msg = slurp(p, NULL);
    ck_assert_msg(strstr(msg, file_named) && strstr(msg, "File too large") && !strstr(msg, "HDF5-DIAG"),
                  "stderr: %s", msg);
    ck_assert_msg(strchr(msg, '\n') == msg + strlen(msg) - 1, "more than one line: %s", msg);
    free(msg);
    size_t n;
    in_tmp(p, sizeof p, "run.ckpt.h5");
    char *now = slurp(p, &n);
    ck_assert_msg(n == ckpt_n && !memcmp(now, ckpt_bytes, n), "the checkpoint changed");
    free(now);
    in_tmp(p, sizeof p, "run.ckpt.h5.tmp");
    ck_assert_int_ne(access(p, F_OK), 0);
    in_tmp(p, sizeof p, "run.h5");
    sc_runlog_info li;
    sc_err err = {0};
    ck_assert_msg(sc_runlog_inspect(p, &li, &err) == SC_OK, "%s", err.msg);
}

START_TEST(full_disk_keeps_the_last_checkpoint) {
    if (!have_fashion()) return;
    make_tmpdir();
    /* a model whose checkpoint is larger than its log */
    static const char *const sets[] = {"model.hidden=96", "model.glimpse_out=64", "train.epochs=3", NULL};
    sc_config c;
    config_with(&c, sets);
    train_some("ref.h5", &c, 0, 0, NULL);
    train_some("run.h5", &c, 0, 1, NULL);
    size_t ckn;
    char p[700];
    in_tmp(p, sizeof p, "run.ckpt.h5");
    char *ckb = slurp(p, &ckn);
    long logn = file_size("run.h5");
    ck_assert_msg((long)ckn > logn + 200000, "checkpoint %zu bytes, log %ld", ckn, logn);
    /* the log cannot grow: its first append fails */
    expect_failure_kept_checkpoint("train --resume run.h5", logn, "run.h5", ckb, ckn);
    /* the log can grow but the checkpoint cannot be written */
    expect_failure_kept_checkpoint("train --resume run.h5", logn + 150000, "run.ckpt.h5.tmp", ckb, ckn);
    in_tmp(p, sizeof p, "stderr.txt");
    char *msg = slurp(p, NULL);
    ck_assert_msg(strstr(msg, "is intact"), "%s", msg);
    free(msg);
    free(ckb);
    /* with room again, the run finishes as if nothing had happened */
    ck_assert_int_eq(run_cli("train --resume run.h5 --quiet"), 0);
    same_checkpoints("ref.h5", "run.h5");
    same_logs("ref.h5", "run.h5");
    remove_tmpdir();
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("runlog_resume");
    TCase *t = tcase_create("resume");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, resume_is_bit_identical);
    tcase_add_test(t, killed_and_interrupted_runs_resume_exactly);
    tcase_add_test(t, full_disk_keeps_the_last_checkpoint);
    tcase_add_test(t, older_log_resumes);
    tcase_add_test(t, killed_during_the_final_test_resumes_to_the_test);
    suite_add_tcase(s, t);
    return s;
}

SC_TEST_MAIN(make_suite)
