/* test_mpi.c - `mpirun -np R saccade train` (experiments/dist.h), end to end,
 * against one process with threads. Built only when CMake found MPI.
 *
 * - R ranks of one thread equal `train.threads = R` bit for bit: the
 *   checkpoints' parameters, best parameters, moments and state, and the run
 *   logs' /train, /eval, /glimpses and test rows (times and speeds aside);
 *   for the RNN core, and for an LSTM core with an MLP location net;
 * - R ranks of T threads equal threads = R T;
 * - resume under mpirun: 1 epoch, stop, `--resume` with mpirun equals the
 *   uninterrupted threaded run;
 * - a rank killed with SIGKILL mid-run: mpirun exits non-zero naming the rank,
 *   the checkpoint left behind loads, and `--resume` under mpirun finishes the
 *   run with the same bytes as an uninterrupted one;
 * - a model kind that does not split batches (soft) is refused in one line.
 * The ranks oversubscribe the 2 cores (--oversubscribe; --allow-run-as-root
 * for CI). Needs Fashion-MNIST (dataset-fashion-mnist), as test_train does.
 */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "experiments/checkpoint.h"
#include "tests/procfind.h"
#include "tests/runcompare.h"
#include "nets/blas.h"
#include "tests/testutil.h"

static const char *TINY_INI =
    "[data]\ndataset = fashion\nmax_train = 300\nval_size = 100\n"
    "[model]\nglimpses = 3\nhidden = 24\nglimpse_hidden = 16\nloc_hidden = 8\nglimpse_out = 24\nmc_samples = 2\n"
    "[train]\nepochs = 2\nbatch_size = 32\nthreads = 1\n"
    "[log]\ntrain_every = 2\nglimpse_images = 6\n";

/* Runs `[mpirun -np ranks ...] saccade ARGS` in tmpdir (ranks 0: no mpirun);
 * its stderr into tmpdir/NAME.err. Returns the exit status. */
static int run(int ranks, const char *args, const char *name) {
    char cmd[4096], mpi[600] = "";
    /* OpenMPI's plugins keep memory past MPI_Finalize and are unloaded before
     * LeakSanitizer looks (no module to suppress them by): under mpirun a
     * sanitizer build checks everything but leaks (one process checks those) */
    if (ranks > 0)
        snprintf(mpi, sizeof mpi, "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" '%s' -np %d "
                 "--oversubscribe --allow-run-as-root ", SACCADE_MPIEXEC, ranks);
    snprintf(cmd, sizeof cmd, "cd '%s' && %s'%s/saccade' %s >'%s.out' 2>'%s.err' </dev/null", tmpdir, mpi,
             SACCADE_BINARY_DIR, args, name, name);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static char *slurp_tmp(const char *name) {
    char p[800];
    in_tmp(p, sizeof p, name);
    char *s = slurp(p, NULL);
    return s ? s : strdup("");
}

static void start(void) {
    make_tmpdir();
    char p[800];
    in_tmp(p, sizeof p, "tiny.ini");
    spit(p, TINY_INI, strlen(TINY_INI));
}

/* Trains tiny.ini with `sets` on `ranks` ranks (0: one process) into LOG. */
static void train(int ranks, const char *sets, const char *log) {
    char args[1024];
    snprintf(args, sizeof args, "train tiny.ini %s --out %s", sets, log);
    int st = run(ranks, args, log);
    char name[300];
    snprintf(name, sizeof name, "%s.err", log);
    char *err = slurp_tmp(name);
    ck_assert_msg(st == 0, "%s (%d ranks): exit %d: %s", args, ranks, st, err);
    free(err);
}

/* `ranks` ranks of `per_rank` threads against ranks x per_rank threads in one
 * process, with `sets`: the same checkpoints and log rows. Runs NAME_threads.h5
 * and NAME_ranks.h5; returns the ranks' stdout (caller frees). */
static char *ranks_match_threads(int ranks, int per_rank, const char *sets, const char *name) {
    char a[600], b[600], la[300], lb[300], out[320];
    snprintf(a, sizeof a, "%s --set train.threads=%d", sets, ranks * per_rank);
    snprintf(b, sizeof b, "%s --set train.threads=%d", sets, per_rank);
    snprintf(la, sizeof la, "%s_threads.h5", name);
    snprintf(lb, sizeof lb, "%s_ranks.h5", name);
    train(0, a, la);
    train(ranks, b, lb);
    same_checkpoints(la, lb);
    same_logs_of(la, lb, 1);
    snprintf(out, sizeof out, "%s.out", lb);
    return slurp_tmp(out);
}

START_TEST(ranks_equal_threads) {
    if (!have_fashion()) return;
    start();
    char *out = ranks_match_threads(2, 1, "", "rnn");
    ck_assert_msg(strstr(out, "MPI: 2 ranks x 1 threads = 2 data-parallel workers") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "ms in the gradient sum") != NULL, "%s", out);
    free(out);
    /* another core and location net: LSTM, MLP, three ranks (an odd split of 32) */
    free(ranks_match_threads(3, 1, "--set model.core=lstm --set model.loc_net=mlp --set model.loc_net_hidden=8",
                             "lstm"));
    /* the ema baseline (state kept outside the parameters) and REINFORCE into the core */
    free(ranks_match_threads(2, 1, "--set model.baseline_kind=ema --set model.reinforce_grad=full", "ema_full"));
    remove_tmpdir();
}
END_TEST

START_TEST(ranks_of_threads_equal_threads) {
    if (!have_fashion()) return;
    start();
    free(ranks_match_threads(2, 2, "", "two_by_two"));
    remove_tmpdir();
}
END_TEST

START_TEST(resume_under_mpi) {
    if (!have_fashion()) return;
    start();
    train(0, "--set train.threads=2", "whole.h5");
    ck_assert_int_eq(run(2, "train tiny.ini --set train.threads=1 --out part.h5 --stop-after 1", "part1"), 0);
    int st = run(2, "train --resume part.h5", "part2");
    char *err = slurp_tmp("part2.err");
    ck_assert_msg(st == 0, "resume: exit %d: %s", st, err);
    free(err);
    same_checkpoints("whole.h5", "part.h5");
    same_logs("whole.h5", "part.h5");
    remove_tmpdir();
}
END_TEST

START_TEST(killed_rank_ends_the_job) {
    if (!have_fashion()) return;
    start();
    /* long enough (40 epochs) to be killed mid-run */
    const char *sets = "--set train.epochs=40 --set train.threads=1";
    char args[600], cmd[2048];
    snprintf(args, sizeof args, "train tiny.ini %s --out kill.h5", sets);
    snprintf(cmd, sizeof cmd, "cd '%s' && ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" exec '%s' -np 2 --oversubscribe --allow-run-as-root '%s/saccade' %s "
             ">kill.out 2>kill.err </dev/null", tmpdir, SACCADE_MPIEXEC, SACCADE_BINARY_DIR, args);
    pid_t job = fork();
    ck_assert_int_ge(job, 0);
    if (job == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* once epoch 2's checkpoint is in (the log's second eval row is written first), kill rank 1 */
    char ckpt[800];
    in_tmp(ckpt, sizeof ckpt, "kill.ckpt.h5");
    pid_t victim = 0;
    int status = 0, ended = 0;
    for (int i = 0; i < 6000 && !victim; i++) {
        if (waitpid(job, &status, WNOHANG) == job) { ended = 1; break; }
        char *out = slurp_tmp("kill.out");
        int two = strstr(out, "epoch 3/40") != NULL;
        free(out);
        if (two) victim = rank_pid(1, "kill.h5");
        if (!victim) usleep(10000);
    }
    ck_assert_msg(!ended && victim > 0, "the job ended (status %d) or rank 1 was not found before the kill", status);
    ck_assert_int_eq(kill(victim, SIGKILL), 0);
    ck_assert_int_eq(waitpid(job, &status, 0), job);
    char *err = slurp_tmp("kill.err");
    ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 0), "the job exited 0 after a rank was killed");
    ck_assert_msg(strstr(err, "rank 1") != NULL, "no line names rank 1: %s", err);
    free(err);
    /* the last checkpoint is whole, and the run resumes from it to the uninterrupted result */
    sc_ckpt ck;
    sc_err e = {0};
    ck_assert_msg(sc_ckpt_load(ckpt, SC_CKPT_ALL, &ck, &e) == SC_OK, "%s", e.msg);
    ck_assert_int_ge(ck.st.epoch, 2);
    ck_assert_int_lt(ck.st.epoch, 40);
    sc_ckpt_free(&ck);
    int st = run(2, "train --resume kill.h5", "resume");
    err = slurp_tmp("resume.err");
    ck_assert_msg(st == 0, "resume after the kill: exit %d: %s", st, err);
    free(err);
    train(0, "--set train.epochs=40 --set train.threads=2", "ref.h5");
    same_checkpoints("ref.h5", "kill.h5");
    same_logs("ref.h5", "kill.h5");
    remove_tmpdir();
}
END_TEST

START_TEST(kinds_without_workers_are_refused) {
    if (!have_fashion()) return;
    start();
    int st = run(2, "train tiny.ini --set model.kind=soft --set model.grid=2 --out soft.h5", "soft");
    char *err = slurp_tmp("soft.err"), *p = strstr(err, "saccade: ");
    ck_assert_msg(st != 0, "exit 0");
    ck_assert_msg(p && strstr(p, "only ram splits a batch"), "%s", err);
    ck_assert_msg(!strstr(p + 1, "saccade: "), "more than one line: %s", err);
    char log[800];
    in_tmp(log, sizeof log, "soft.h5");
    ck_assert_msg(access(log, F_OK) != 0, "a refused run left %s", log);
    free(err);
    remove_tmpdir();
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("mpi");
    TCase *t = tcase_create("mpirun");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, ranks_equal_threads);
    tcase_add_test(t, ranks_of_threads_equal_threads);
    tcase_add_test(t, resume_under_mpi);
    tcase_add_test(t, killed_rank_ends_the_job);
    tcase_add_test(t, kinds_without_workers_are_refused);
    suite_add_tcase(s, t);
    return s;
}

SC_TEST_MAIN(make_suite)
