/* test_sweep.c - `saccade sweep` (experiments/sweep.h) and the grouped
 * `saccade compare` (experiments/compare.h), end to end on a Fashion-MNIST
 * subset.
 *
 * - a 2 x 2 grid over 2 seeds with --jobs 2: every run's files, the manifest,
 *   the stored configs equal to the resolved ones; killed with SIGKILL (the
 *   sweep and its trainers, the whole process group) part way and run again,
 *   every run ends with the same checkpoint bytes and log tables as the
 *   uninterrupted sweep's, each test error the same, and no claim is left;
 * - SIGINT to the sweep alone: it stops its trainers (their test rows say
 *   interrupted), exits 130, and the same command finishes the sweep;
 * - the same sweep started again while the first runs skips the run the
 *   first has taken (a live claim of another session on this host), and a
 *   claim still being written (its temporary file) takes nothing;
 * - refusals before anything is written: each bad grid, seed list, option or
 *   key is one line naming it, exit 2, no folder; a folder of another sweep
 *   (other grid, other --set) or a non-empty folder that is no sweep is
 *   refused by name and left as it was;
 * - under mpirun (when built with MPI): two ranks share the runs, each run is
 *   trained once (one session in its log), with the single-process results;
 *   rank 1 SIGKILLed part way: mpirun fails, and the same command under
 *   mpirun finishes the sweep with the single-process results;
 * - grouping: sc_compare_group puts runs that differ only in train.seed,
 *   train.threads or [log] keys together and names groups by the differing
 *   keys; sc_mean_sd against hand computation; `saccade compare DIR` and
 *   `compare` of loose logs print each group's mean +- sd as computed here
 *   from the logs; --png writes the figure.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "experiments/compare.h"
#include "experiments/runlog.h"
#include "tests/procfind.h"
#include "tests/runcompare.h"
#include "tests/testutil.h"

static const char *TINY_INI =
    "[data]\ndataset = fashion\nmax_train = 300\nval_size = 100\n"
    "[model]\nglimpses = 3\nhidden = 24\nglimpse_hidden = 16\nloc_hidden = 8\nglimpse_out = 24\nmc_samples = 2\n"
    "[train]\nepochs = 2\nbatch_size = 32\nthreads = 1\n"
    "[log]\ntrain_every = 2\nglimpse_images = 6\n";

static const char *GRID = "--grid model.hidden=16,24 --grid train.lr=0.001,0.003 --seeds 1,2";
static const char *POINTS[4] = {"model.hidden=16,train.lr=0.001", "model.hidden=16,train.lr=0.003",
                                "model.hidden=24,train.lr=0.001", "model.hidden=24,train.lr=0.003"};

static void start(void) {
    make_tmpdir();
    char p[800];
    in_tmp(p, sizeof p, "tiny.ini");
    spit(p, TINY_INI, strlen(TINY_INI));
}

static char *slurp_tmp(const char *name) {
    char p[800];
    in_tmp(p, sizeof p, name);
    char *s = slurp(p, NULL);
    return s ? s : strdup("");
}

/* `saccade ARGS` in tmpdir, stdout and stderr into NAME.out and NAME.err;
 * mpi > 0: under mpirun with that many ranks. Returns the exit status. */
static int run(int mpi, const char *args, const char *name) {
    char cmd[4096], pre[700] = "";
#ifdef SACCADE_MPIEXEC
    if (mpi > 0)
        snprintf(pre, sizeof pre, "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" '%s' -np %d "
                 "--oversubscribe --allow-run-as-root ", SACCADE_MPIEXEC, mpi);
#else
    ck_assert_int_eq(mpi, 0);
#endif
    snprintf(cmd, sizeof cmd, "cd '%s' && LSAN_OPTIONS=\"${LSAN_OPTIONS:+$LSAN_OPTIONS:}print_suppressions=0\" "
             "%s'%s/saccade' %s >'%s.out' 2>'%s.err' </dev/null", tmpdir, pre, SACCADE_BINARY_DIR, args, name, name);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static void sweep_ok(const char *dir, const char *extra, const char *name) {
    char args[1024];
    snprintf(args, sizeof args, "sweep tiny.ini %s %s --out %s", GRID, extra, dir);
    int st = run(0, args, name);
    char e[300];
    snprintf(e, sizeof e, "%s.err", name);
    char *err = slurp_tmp(e);
    ck_assert_msg(st == 0, "%s: exit %d: %s", args, st, err);
    free(err);
}

/* Starts the shell command cmd in a process group of its own; returns its pid. */
static pid_t spawn_sh(const char *cmd) {
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    return pid;
}

/* Starts `saccade ARGS` in tmpdir in a process group of its own; returns its pid. */
static pid_t spawn(const char *args, const char *name) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s/saccade' %s >'%s.out' 2>'%s.err' </dev/null", tmpdir,
             SACCADE_BINARY_DIR, args, name, name);
    return spawn_sh(cmd);
}

/* Waits (up to a minute) until NAME.out holds `count` lines containing `what`; 0 when the process ended first. */
static int wait_for(pid_t pid, const char *name, const char *what, int count) {
    char o[300];
    snprintf(o, sizeof o, "%s.out", name);
    for (int i = 0; i < 6000; i++) {
        char *out = slurp_tmp(o);
        int k = 0;
        for (const char *p = out; (p = strstr(p, what)); p++) k++;
        free(out);
        if (k >= count) return 1;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) return 0;
        usleep(10000);
    }
    return 0;
}

static void run_name(char *out, size_t n, const char *dir, int point, int seed, const char *ext) {
    ck_assert_int_lt(snprintf(out, n, "%s/%s/seed-%d%s", dir, POINTS[point], seed, ext), (int)n);
}

/* The final test row of tmpdir/LOG. */
static sc_run_summary summary_of(const char *log) {
    char p[800];
    in_tmp(p, sizeof p, log);
    sc_run_summary s;
    sc_err e = {0};
    ck_assert_msg(sc_run_summary_read(p, &s, 1, &e) == SC_OK, "%s", e.msg);
    return s;
}

/* Two sweep folders hold the same results, run by run. */
static void same_sweeps(const char *a, const char *b) {
    for (int p = 0; p < 4; p++)
        for (int s = 1; s <= 2; s++) {
            char la[600], lb[600];
            run_name(la, sizeof la, a, p, s, ".h5");
            run_name(lb, sizeof lb, b, p, s, ".h5");
            same_checkpoints(la, lb);
            same_logs(la, lb);
            sc_run_summary x = summary_of(la), y = summary_of(lb);
            ck_assert_msg(x.err_m1 == y.err_m1 && x.err_mc == y.err_mc, "%s: test %.2f/%.2f against %.2f/%.2f", lb,
                          y.err_m1, y.err_mc, x.err_m1, x.err_mc);
            ck_assert_int_eq(x.end_reason, SC_END_FINISHED);
            ck_assert_int_eq(y.end_reason, SC_END_FINISHED);
        }
}

/* How many files in the sweep's point folders have `part` in their name. */
static int count_files(const char *dir, const char *part) {
    int k = 0;
    for (int p = 0; p < 4; p++) {
        char d[700];
        ck_assert_int_lt(snprintf(d, sizeof d, "%s/%s/%s", tmpdir, dir, POINTS[p]), (int)sizeof d);
        DIR *dd = opendir(d);
        if (!dd) continue;
        for (struct dirent *e; (e = readdir(dd));) k += strstr(e->d_name, part) != NULL;
        closedir(dd);
    }
    return k;
}

START_TEST(sweep_runs_and_survives_a_kill) {
    if (!have_fashion()) return;
    start();
    sweep_ok("ref", "--jobs 2", "ref");
    char *out = slurp_tmp("ref.out");
    ck_assert_msg(strstr(out, "4 points x 2 seeds = 8 runs"), "%s", out);
    for (int p = 0; p < 4; p++) {
        char line[300];
        snprintf(line, sizeof line, "done %s seed 2: test error", POINTS[p]);
        ck_assert_msg(strstr(out, line), "no '%s' in %s", line, out);
        snprintf(line, sizeof line, "| %s | ram |", POINTS[p]);
        ck_assert_msg(strstr(out, line), "no table row '%s' in %s", line, out);
    }
    ck_assert_msg(strstr(out, "progress: 8 of 8 runs finished"), "%s", out);
    free(out);
    /* the manifest and the stored configs: the resolved config of each point and seed */
    char *man = slurp_tmp("ref/sweep.txt");
    ck_assert_msg(strstr(man, "grid model.hidden=16,24\ngrid train.lr=0.001,0.003\nseeds 1,2\n"), "%s", man);
    ck_assert_msg(strstr(man, "point model.hidden=24,train.lr=0.003 model.hidden=24,train.lr=0.003\n"), "%s", man);
    free(man);
    for (int p = 0; p < 4; p++) {
        char ini[600], path[800];
        run_name(ini, sizeof ini, "ref", p, 2, ".ini");
        in_tmp(path, sizeof path, ini);
        sc_config c, want;
        sc_err e = {0};
        sc_config_defaults(&c);
        ck_assert_msg(sc_config_load(&c, path, &e) == SC_OK, "%s", e.msg);
        sc_config_defaults(&want);
        in_tmp(path, sizeof path, "tiny.ini");
        ck_assert(sc_config_load(&want, path, &e) == SC_OK);
        want.seed = 2;
        want.hidden = p < 2 ? 16 : 24;
        want.lr = p % 2 ? 0.003f : 0.001f;
        ck_assert_int_eq(c.threads, 1);
        ck_assert_int_eq(c.seed, 2);
        ck_assert_int_eq(c.hidden, want.hidden);
        ck_assert(c.lr == want.lr);
        ck_assert_int_eq(c.epochs, want.epochs);
    }
    ck_assert_int_eq(count_files("ref", ".claim."), 0);

    /* killed part way: the sweep and its trainers at once */
    char args[1024];
    snprintf(args, sizeof args, "sweep tiny.ini %s --jobs 2 --out cut", GRID);
    pid_t pid = spawn(args, "cut1");
    int reached = wait_for(pid, "cut1", "done ", 3);
    ck_assert_msg(reached, "the sweep ended before three runs were done");
    ck_assert_int_eq(killpg(pid, SIGKILL), 0);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFSIGNALED(st));
    ck_assert_int_gt(count_files("cut", ".claim."), 0);
    sweep_ok("cut", "--jobs 2", "cut2");
    out = slurp_tmp("cut2.out");
    ck_assert_msg(strstr(out, "finished before"), "%s", out);
    ck_assert_msg(strstr(out, "8 of 8 runs finished"), "%s", out);
    free(out);
    same_sweeps("ref", "cut");
    ck_assert_int_eq(count_files("cut", ".claim."), 0);
    /* once finished, the same command trains nothing */
    sweep_ok("cut", "--jobs 2", "cut3");
    out = slurp_tmp("cut3.out");
    ck_assert_msg(strstr(out, "8 finished before, 0 resumed, 0 started"), "%s", out);
    ck_assert_msg(!strstr(out, "done "), "%s", out);
    free(out);
    remove_tmpdir();
}
END_TEST

/* Whether tmpdir/LOG exists and has an /eval row (read while it is written). */
static int epochs_logged(const char *log) {
    char p[800];
    in_tmp(p, sizeof p, log);
    if (access(p, F_OK) != 0) return 0;
    sc_err e = {0};
    int64_t f = sc_runlog_open_read(p, &e);
    if (f < 0) return 0;
    double *v = NULL;
    size_t n = 0;
    int ok = sc_runlog_read_doubles(f, p, "eval/epoch", 0, &v, &n, &e) == SC_OK && n > 0;
    free(v);
    H5Fclose((hid_t)f);
    return ok;
}

/* Waits (up to a minute) until logs a and b (b may be NULL) have an epoch's row; 0 if pid ended first. */
static int wait_epochs(pid_t pid, const char *a, const char *b) {
    for (int i = 0; i < 6000; i++) {
        if (epochs_logged(a) && (!b || epochs_logged(b))) return 1;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) return 0;
        usleep(10000);
    }
    return 0;
}

START_TEST(sigint_stops_and_the_same_command_continues) {
    if (!have_fashion()) return;
    start();
    const char *args = "sweep tiny.ini --set train.epochs=100 --seeds 1..3 --jobs 2 --out long";
    pid_t pid = spawn(args, "int1");
    /* both first runs in their epochs: an epoch's row in each log (the trainer handles
     * SIGINT from its first epoch on; before, the signal ends it with nothing to keep) */
    int st = 0;
    ck_assert_msg(wait_epochs(pid, "long/base/seed-1.h5", "long/base/seed-2.h5"),
                  "the sweep ended before its runs logged an epoch");
    ck_assert_int_eq(kill(pid, SIGINT), 0);  /* the sweep alone: it passes the signal on */
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    char *out = slurp_tmp("int1.out");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 130, "status %d: %s", st, out);
    ck_assert_msg(strstr(out, "interrupted base seed 1") && strstr(out, "interrupted base seed 2"), "%s", out);
    ck_assert_msg(strstr(out, "to continue: the same command"), "%s", out);
    free(out);
    for (int s = 1; s <= 2; s++) {
        char log[64];
        snprintf(log, sizeof log, "long/base/seed-%d.h5", s);
        sc_run_summary r = summary_of(log);
        ck_assert_int_eq(r.end_reason, SC_END_INTERRUPTED);
        ck_assert_int_lt(r.epochs, 100);
    }
    /* seed 3 never started */
    char l3[800];
    in_tmp(l3, sizeof l3, "long/base/seed-3.h5");
    ck_assert(access(l3, F_OK) != 0);
    /* the same command, told to train fewer epochs, is another sweep: refused by name */
    ck_assert_int_eq(run(0, "sweep tiny.ini --set train.epochs=3 --seeds 1..3 --jobs 2 --out long", "int2"), 2);
    char *err = slurp_tmp("int2.err");
    ck_assert_msg(strstr(err, "train.epochs = 100, this sweep's 3"), "%s", err);
    free(err);
    /* the same command: two runs resumed, one started, all finished */
    ck_assert_int_eq(run(0, args + 0, "int3"), 0);
    out = slurp_tmp("int3.out");
    ck_assert_msg(strstr(out, "0 finished before, 2 resumed, 0 started, 1 waiting"), "%s", out);
    ck_assert_msg(strstr(out, "3 of 3 runs finished"), "%s", out);
    free(out);
    for (int s = 1; s <= 3; s++) {
        char log[64];
        snprintf(log, sizeof log, "long/base/seed-%d.h5", s);
        sc_run_summary r = summary_of(log);
        ck_assert_int_eq(r.end_reason, SC_END_FINISHED);
        ck_assert_int_eq(r.epochs, 100);
    }
    remove_tmpdir();
}
END_TEST

START_TEST(a_second_sweep_leaves_the_first_ones_runs_alone) {
    if (!have_fashion()) return;
    start();
    const char *args = "sweep tiny.ini --set train.epochs=100 --seeds 1..2 --out two";
    pid_t a = spawn(args, "first");
    int st = 0;
    ck_assert_msg(wait_epochs(a, "two/base/seed-1.h5", NULL), "the first sweep ended before its run logged an epoch");
    /* the same command again, while the first runs: it skips the run the first has taken */
    pid_t b = spawn(args, "second");
    int seen = wait_for(b, "second", "skipped base seed 1: taken by another sweep of this folder", 1);
    killpg(a, SIGKILL);
    killpg(b, SIGKILL);
    waitpid(a, &st, 0);
    waitpid(b, &st, 0);
    char *out = slurp_tmp("second.out");
    ck_assert_msg(seen, "%s", out);
    free(out);
    remove_tmpdir();
}
END_TEST

START_TEST(a_claim_being_written_is_no_claim) {
    if (!have_fashion()) return;
    start();
    sweep_ok("half", "--jobs 1", "first");
    /* seed 1 of the first point to train again; beside it a claim half-written by a live
     * process of another session (this test), as a rank of another sweep leaves it for the
     * moment between writing and linking it */
    char host[64] = "localhost", f[900];
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)
        if (*p == ' ' || *p == '/' || *p == '.') *p = '_';
    const char *base = POINTS[0];
    char rel[600];
    snprintf(rel, sizeof rel, "half/%s/seed-1.h5", base);
    in_tmp(f, sizeof f, rel);
    ck_assert_int_eq(unlink(f), 0);
    snprintf(rel, sizeof rel, "half/%s/seed-1.ckpt.h5", base);
    in_tmp(f, sizeof f, rel);
    unlink(f);
    snprintf(rel, sizeof rel, "half/%s/seed-1.claim.othersweep.tmp.%s.%d", base, host, (int)getpid());
    in_tmp(f, sizeof f, rel);
    char text[200];
    int n = snprintf(text, sizeof text, "%s %d %llu rank 1\n", host, (int)getpid(), proc_start_ticks(getpid()));
    spit(f, text, (size_t)n);
    sweep_ok("half", "--jobs 1", "second");
    char *out = slurp_tmp("second.out");
    ck_assert_msg(!strstr(out, "skipped") && strstr(out, "7 finished before, 0 resumed, 1 started"), "%s", out);
    ck_assert_msg(strstr(out, "8 of 8 runs finished"), "%s", out);
    free(out);
    remove_tmpdir();
}
END_TEST

/* `saccade ARGS` exits 2 with one line on stderr holding `what`, and DIR does not exist. */
static void refused(const char *args, const char *what) {
    int st = run(0, args, "bad");
    char *err = slurp_tmp("bad.err");
    size_t len = strlen(err);
    ck_assert_msg(st == 2, "%s: exit %d: %s", args, st, err);
    ck_assert_msg(len > 10 && strchr(err, '\n') == err + len - 1, "%s: not one line: %s", args, err);
    ck_assert_msg(strstr(err, what), "%s: '%s' lacks '%s'", args, err, what);
    free(err);
    char d[800];
    in_tmp(d, sizeof d, "never");
    ck_assert_msg(access(d, F_OK) != 0, "%s: left the folder", args);
}

START_TEST(bad_sweeps_are_refused_before_writing) {
    start();
    static const char *const cases[][2] = {
        {"--grid model.core=rnn,gru", "value 'gru'"},
        {"--grid model.cores=rnn", "model.core"},
        {"--grid modle.core=rnn", "unknown section 'modle'"},
        {"--grid model.core", "malformed"},
        {"--grid model.core=", "an empty value"},
        {"--grid model.core=rnn,,lstm", "an empty value"},
        {"--grid model.core=rnn,rnn", "'rnn' appears twice"},
        {"--grid model.core=rnn --grid model.core=lstm", "has a grid already"},
        {"--grid train.seed=1,2", "--seeds"},
        {"--set model.core=rnn --grid model.core=lstm", "also set by --set model.core=rnn"},
        {"--grid model.glimpses=2,0", "value '0'"},
        {"--set model.glimpses=0", "model.glimpses"},
        {"--set model.bogus=1", "unknown key"},
        {"--seeds 3..1", "'3..1'"},
        {"--seeds 1,x", "'x'"},
        {"--seeds 1,", "empty entry"},
        {"--seeds 2,1..3", "seed 2 appears twice"},
        {"--set train.seed=4 --seeds 1,2", "exclude each other"},
        {"--jobs 0", "--jobs"},
        {"--jobs", "got '--out'"},
        /* a cross-key rule broken at one point only: named by the point */
        {"--set model.loc_std=0.2 --grid model.loc_std_final=0.1,0.3", "point model.loc_std_final=0.3: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[600];
        snprintf(args, sizeof args, "sweep tiny.ini %s --out never", cases[i][0]);
        refused(args, cases[i][1]);
    }
    refused("sweep missing.ini --out never", "missing.ini");
    refused("sweep tiny.ini --grid model.core=rnn,lstm", "--out");
    refused("sweep tiny.ini --frobnicate --out never", "unknown option '--frobnicate'");
    /* a folder that is not a sweep's */
    char d[800], f[900];
    in_tmp(d, sizeof d, "other");
    ck_assert_int_eq(mkdir(d, 0777), 0);
    snprintf(f, sizeof f, "%s/notes.txt", d);
    spit(f, "mine\n", 5);
    ck_assert_int_eq(run(0, "sweep tiny.ini --out other", "other"), 2);
    char *err = slurp_tmp("other.err");
    ck_assert_msg(strstr(err, "not empty and holds no sweep"), "%s", err);
    free(err);
    DIR *dd = opendir(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(dd));) n++;
    closedir(dd);
    ck_assert_int_eq(n, 3);  /* ., .., notes.txt */
    remove_tmpdir();
}
END_TEST

START_TEST(another_sweeps_folder_is_refused) {
    if (!have_fashion()) return;
    start();
    ck_assert_int_eq(run(0, "sweep tiny.ini --grid model.core=rnn,lstm --out one", "one"), 0);
    char *before = slurp_tmp("one/sweep.txt");
    ck_assert_int_eq(run(0, "sweep tiny.ini --grid model.core=rnn --out one", "two"), 2);
    char *err = slurp_tmp("two.err");
    ck_assert_msg(strstr(err, "made by a different sweep") && strstr(err, "'grid model.core=rnn,lstm'"), "%s", err);
    free(err);
    ck_assert_int_eq(run(0, "sweep tiny.ini --grid model.core=rnn,lstm --seeds 1,2 --out one", "three"), 2);
    err = slurp_tmp("three.err");
    ck_assert_msg(strstr(err, "'seeds 1'") && strstr(err, "'seeds 1,2'"), "%s", err);
    free(err);
    ck_assert_int_eq(run(0, "sweep tiny.ini --grid model.core=rnn,lstm --set model.hidden=20 --out one", "four"), 2);
    err = slurp_tmp("four.err");
    ck_assert_msg(strstr(err, "model.hidden = 24, this sweep's 20"), "%s", err);
    free(err);
    char *after = slurp_tmp("one/sweep.txt");
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    char l[800];
    in_tmp(l, sizeof l, "one/model.core=lstm/seed-1.h5");
    ck_assert(access(l, F_OK) == 0);
    remove_tmpdir();
}
END_TEST

#ifdef SACCADE_MPIEXEC
START_TEST(mpi_ranks_share_the_runs) {
    if (!have_fashion()) return;
    start();
    sweep_ok("ref", "--jobs 1", "ref");
    char args[1024];
    snprintf(args, sizeof args, "sweep tiny.ini %s --jobs 1 --out mpi", GRID);
    int st = run(2, args, "mpi");
    char *out = slurp_tmp("mpi.out"), *err = slurp_tmp("mpi.err");
    ck_assert_msg(st == 0, "exit %d: %s %s", st, out, err);
    /* both ranks trained, the table came once (rank 0, after rank 1 was done) */
    ck_assert_msg(strstr(out, "rank 0 of 2") && strstr(out, "rank 1 of 2"), "%s", out);
    const char *t = strstr(out, "mean ± sd");
    ck_assert_msg(t && !strstr(t + 1, "mean ± sd"), "%s", out);
    ck_assert_msg(strstr(out, "8 of 8 runs finished"), "%s", out);
    free(out);
    free(err);
    same_sweeps("ref", "mpi");
    /* each run trained once: one session in its log */
    for (int p = 0; p < 4; p++)
        for (int s = 1; s <= 2; s++) {
            char log[600];
            run_name(log, sizeof log, "mpi", p, s, ".h5");
            hid_t f = open_log(log);
            hid_t d = H5Dopen2(f, "sessions/end_reason", H5P_DEFAULT);
            hid_t sp = H5Dget_space(d);
            ck_assert_int_eq(H5Sget_simple_extent_npoints(sp), 1);
            H5Sclose(sp);
            H5Dclose(d);
            H5Fclose(f);
        }
    ck_assert_int_eq(count_files("mpi", ".claim."), 0);

    /* rank 1 killed part way: mpirun ends the job, the runs done stay, the same command finishes */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" exec '%s' "
             "-np 2 --oversubscribe --allow-run-as-root '%s/saccade' sweep tiny.ini %s --jobs 1 --out mpik "
             ">kill1.out 2>kill1.err </dev/null", tmpdir, SACCADE_MPIEXEC, SACCADE_BINARY_DIR, GRID);
    pid_t job = spawn_sh(cmd);
    ck_assert_msg(wait_for(job, "kill1", "done ", 2), "the job ended before two runs were done");
    pid_t victim = 0;
    for (int i = 0; i < 500 && !victim; i++) {
        victim = rank_pid(1, "mpik");
        if (!victim) usleep(10000);
    }
    ck_assert_msg(victim > 0, "rank 1 of the sweep not found");
    ck_assert_int_eq(kill(victim, SIGKILL), 0);
    ck_assert_int_eq(waitpid(job, &st, 0), job);
    ck_assert_msg(!(WIFEXITED(st) && WEXITSTATUS(st) == 0), "mpirun exited 0 after a rank was killed");
    killpg(job, SIGKILL);
    /* rank 0 stops its trainer (SIGTERM from mpirun: it checkpoints) and ends */
    for (int i = 0; i < 6000 && (rank_pid(0, "mpik") || rank_pid(1, "mpik")); i++) usleep(10000);
    ck_assert_msg(!rank_pid(0, "mpik") && !rank_pid(1, "mpik"), "a rank of the failed job is still running");
    snprintf(args, sizeof args, "sweep tiny.ini %s --jobs 1 --out mpik", GRID);
    st = run(2, args, "kill2");
    out = slurp_tmp("kill2.out");
    err = slurp_tmp("kill2.err");
    ck_assert_msg(st == 0, "exit %d: %s %s", st, out, err);
    ck_assert_msg(strstr(out, "8 of 8 runs finished"), "%s", out);
    free(out);
    free(err);
    same_sweeps("ref", "mpik");
    remove_tmpdir();
}
END_TEST
#endif

/* ---- grouping -------------------------------------------------------------------------- */

START_TEST(mean_sd_by_hand) {
    const double v[5] = {1.0, 2.0, NAN, 4.0, 7.0};
    double m, sd;
    ck_assert_int_eq(sc_mean_sd(v, 5, &m, &sd), 4);
    ck_assert(fabs(m - 3.5) < 1e-12);
    /* squares of the deviations: 6.25 + 2.25 + 0.25 + 12.25 = 21, over n - 1 = 3 */
    ck_assert(fabs(sd - sqrt(7.0)) < 1e-12);
    ck_assert_int_eq(sc_mean_sd(v, 1, &m, &sd), 1);
    ck_assert(m == 1.0 && sd == 0.0);
    ck_assert_int_eq(sc_mean_sd(v + 2, 1, &m, &sd), 0);
    ck_assert(isnan(m));
}
END_TEST

START_TEST(groups_by_config_but_seed) {
    sc_run_summary r[5];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 5; i++) {
        sc_config_defaults(&r[i].config);
        snprintf(r[i].label, sizeof r[i].label, "run%d", i);
    }
    r[1].config.seed = 7;          /* seed, threads, [log]: the same experiment */
    r[1].config.threads = 4;
    r[1].config.train_every = 50;
    r[2].config.lr = 0.003f;       /* another learning rate: another group */
    r[3].config.lr = 0.003f;
    r[3].config.seed = 9;
    r[4].config.lr = 0.003f;
    r[4].config.hidden = 64;       /* and another width */
    int g[5];
    sc_group_label lab[5];
    ck_assert_int_eq(sc_compare_group(r, 5, g, lab), 3);
    ck_assert(g[0] == 0 && g[1] == 0 && g[2] == 1 && g[3] == 1 && g[4] == 2);
    ck_assert_str_eq(lab[0].text, "model.hidden=256,train.lr=0.001");
    ck_assert_str_eq(lab[1].text, "model.hidden=256,train.lr=0.003");
    ck_assert_str_eq(lab[2].text, "model.hidden=64,train.lr=0.003");
    /* a sweep's point name wins */
    snprintf(r[2].group, sizeof r[2].group, "fast");
    sc_compare_group(r, 5, g, lab);
    ck_assert_str_eq(lab[1].text, "fast");
    /* one group: the first run's label */
    ck_assert_int_eq(sc_compare_group(r, 2, g, lab), 1);
    ck_assert_str_eq(lab[0].text, "run0");
}
END_TEST

/* "m% ± sd (2)" of the two seeds' values, as compare prints them. */
static void expect_stat(const char *out, double a, double b) {
    const double v[2] = {a, b};
    double m, sd;
    sc_mean_sd(v, 2, &m, &sd);
    char want[64];
    snprintf(want, sizeof want, "| %.2f%% ± %.2f (2) |", m, sd);
    ck_assert_msg(strstr(out, want), "no '%s' in %s", want, out);
}

START_TEST(compare_prints_groups) {
    if (!have_fashion()) return;
    start();
    sweep_ok("sw", "--jobs 2", "sw");
    ck_assert_int_eq(run(0, "compare sw --png sw.png", "cmp"), 0);
    char *out = slurp_tmp("cmp.out");
    for (int p = 0; p < 4; p++) {
        char l1[600], l2[600];
        run_name(l1, sizeof l1, "sw", p, 1, ".h5");
        run_name(l2, sizeof l2, "sw", p, 2, ".h5");
        sc_run_summary a = summary_of(l1), b = summary_of(l2);
        char row[300];
        snprintf(row, sizeof row, "| %s | ram | fashion plain 28x28 | 1,2 |", POINTS[p]);
        const char *at = strstr(out, row);
        ck_assert_msg(at, "no row '%s' in %s", row, out);
        const char *eol = strchr(at, '\n');
        char *line = strndup(at, (size_t)(eol - at) + 1);
        expect_stat(line, a.err_m1, b.err_m1);
        expect_stat(line, a.err_mc, b.err_mc);
        free(line);
    }
    free(out);
    char png[800];
    in_tmp(png, sizeof png, "sw.png");
    struct stat st;
    ck_assert(stat(png, &st) == 0 && st.st_size > 1000);
    /* loose logs: the per-run table, then the groups named by the keys that differ */
    char args[2048];
    snprintf(args, sizeof args, "compare 'sw/%s/seed-1.h5' 'sw/%s/seed-2.h5' 'sw/%s/seed-1.h5' 'sw/%s/seed-2.h5'",
             POINTS[0], POINTS[0], POINTS[3], POINTS[3]);
    ck_assert_int_eq(run(0, args, "loose"), 0);
    out = slurp_tmp("loose.out");
    ck_assert_msg(strstr(out, "| seed-1 | ram |") && strstr(out, "grouped"), "%s", out);
    ck_assert_msg(strstr(out, "| model.hidden=16,train.lr=0.001 | ram |"), "%s", out);
    ck_assert_msg(strstr(out, "| model.hidden=24,train.lr=0.003 | ram |"), "%s", out);
    free(out);
    /* an unfinished run is listed, not averaged */
    char l[600], p[800];
    run_name(l, sizeof l, "sw", 0, 2, ".h5");
    in_tmp(p, sizeof p, l);
    ck_assert_int_eq(unlink(p), 0);
    ck_assert_int_eq(run(0, "compare sw", "cmp2"), 0);
    out = slurp_tmp("cmp2.out");
    ck_assert_msg(strstr(out, "not finished:") && strstr(out, "seed-2.h5: not started"), "%s", out);
    ck_assert_msg(strstr(out, " | 1 | "), "%s", out);  /* that point's seeds column: 1 alone */
    free(out);
    remove_tmpdir();
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("sweep");
    TCase *t = tcase_create("sweep");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, sweep_runs_and_survives_a_kill);
    tcase_add_test(t, sigint_stops_and_the_same_command_continues);
    tcase_add_test(t, a_second_sweep_leaves_the_first_ones_runs_alone);
    tcase_add_test(t, bad_sweeps_are_refused_before_writing);
    tcase_add_test(t, another_sweeps_folder_is_refused);
    tcase_add_test(t, a_claim_being_written_is_no_claim);
#ifdef SACCADE_MPIEXEC
    tcase_add_test(t, mpi_ranks_share_the_runs);
#endif
    tcase_add_test(t, mean_sd_by_hand);
    tcase_add_test(t, groups_by_config_but_seed);
    tcase_add_test(t, compare_prints_groups);
    suite_add_tcase(s, t);
    return s;
}

SC_TEST_MAIN(make_suite)
