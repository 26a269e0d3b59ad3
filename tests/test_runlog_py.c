/* test_runlog_py.c - outside tools read the run log: tests/runlog_read.py
 * opens logs with Debian's python3-h5py (/usr/bin/python3, not a pyenv one).
 *
 * - a finished run's log opens without options and passes the script's checks;
 *   README's Python example, run as printed there, reads it;
 * - while `saccade train` runs in another process, h5py with swmr=True follows
 *   new /train rows as they appear; after a SIGKILL the log still opens
 *   (swmr=True) and passes the same checks.
 * If python3 or h5py is missing the tests print SKIPPED and pass: CI installs
 * python3-h5py (scripts/setup.sh), so there they always run.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "experiments/train.h"
#include "tests/testutil.h"

#define PYTHON "/usr/bin/python3"
#define SCRIPT SACCADE_SOURCE_DIR "/tests/runlog_read.py"

static int have_tools(void) {
    if (access(FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0) {
        fprintf(stderr, "SKIPPED: %s not installed (apt-get install dataset-fashion-mnist)\n", FASHION_DIR);
        return 0;
    }
    if (access(PYTHON, X_OK) != 0) {
        fprintf(stderr, "SKIPPED: %s not found; outside-tool reading of the run log NOT TESTED\n", PYTHON);
        return 0;
    }
    return 1;
}

/* Runs the script; 77 means h5py is missing. */
static int script(const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s %s %s", tmpdir, PYTHON, SCRIPT, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int skipped(int status) {
    if (status != 77) return 0;
    fprintf(stderr, "SKIPPED: python3-h5py is not installed; outside-tool reading of the run log NOT TESTED "
                    "(apt-get install python3-h5py)\n");
    return 1;
}

static const char *INI =
    "[data]\ndataset = fashion\nmax_train = 640\nval_size = 100\n"
    "[model]\nglimpses = 3\nhidden = 16\nglimpse_hidden = 8\nloc_hidden = 8\nglimpse_out = 16\nmc_samples = 2\n"
    "[train]\nepochs = 2\nthreads = 1\nbatch_size = 32\n"
    "[log]\ntrain_every = 5\nglimpse_images = 8\n";

START_TEST(h5py_reads_a_finished_log) {
    if (!have_tools()) return;
    make_tmpdir();
    sc_config c;
    sc_err err = {0};
    sc_config_defaults(&c);
    ck_assert_msg(sc_config_load_string(&c, INI, "py.ini", &err) == SC_OK, "%s", err.msg);
    char path[700];
    snprintf(path, sizeof path, "%s/run.h5", tmpdir);
    sc_train_opts o = {.log_path = path, .quiet = 1, .command_line = "saccade train py.ini", .config_file = "py.ini",
                       .config_file_text = INI};
    sc_train_result r;
    ck_assert_msg(sc_train(&c, &o, &r, &err) == SC_OK, "%s", err.msg);
    int st = script("check run.h5 --epochs 2");
    if (skipped(st)) { remove_tmpdir(); return; }
    ck_assert_msg(st == 0, "runlog_read.py check failed (%d)", st);
    /* README's five lines of h5py, as printed there */
    st = script("readme " SACCADE_SOURCE_DIR "/README.md run.h5 > readme.out");
    ck_assert_msg(st == 0, "README's Python example failed (%d)", st);
    char out[700];
    snprintf(out, sizeof out, "%s/readme.out", tmpdir);
    FILE *f = fopen(out, "r");
    char line[256] = "";
    ck_assert_ptr_nonnull(f);
    int saw_config = 0;
    while (fgets(line, sizeof line, f)) saw_config |= strstr(line, "[model]") != NULL;
    fclose(f);
    ck_assert_msg(saw_config, "README's example did not print the config");
    remove_tmpdir();
}
END_TEST

START_TEST(h5py_follows_a_live_run_and_reads_a_killed_one) {
    if (!have_tools()) return;
    make_tmpdir();
    char ini[700];
    snprintf(ini, sizeof ini, "%s/live.ini", tmpdir);
    const char *live = "[data]\ndataset = fashion\nmax_train = 9600\nval_size = 100\n"
                       "[model]\nglimpses = 3\nhidden = 16\nglimpse_hidden = 8\nloc_hidden = 8\nglimpse_out = 16\n"
                       "[train]\nepochs = 20\nthreads = 1\nbatch_size = 32\n[log]\ntrain_every = 5\n";
    FILE *f = fopen(ini, "w");
    ck_assert_ptr_nonnull(f);
    fputs(live, f);
    fclose(f);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (chdir(tmpdir) != 0) _exit(120);
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) { dup2(fd, 1); close(fd); }
        char bin[600];
        snprintf(bin, sizeof bin, "%s/saccade", SACCADE_BINARY_DIR);
        execl(bin, bin, "train", "live.ini", "--out", "live.h5", "--quiet", (char *)NULL);
        _exit(121);
    }
    int st = script("follow live.h5 --rows 20 --timeout 120");
    int status;
    ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0, "the trainer ended early (%d)", status);
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    if (skipped(st)) { remove_tmpdir(); return; }
    ck_assert_msg(st == 0, "runlog_read.py follow failed (%d)", st);
    /* the killed run's log: h5py opens it (swmr=True works whatever the kill hit) */
    st = script("check live.h5 --swmr");
    ck_assert_msg(st == 0, "runlog_read.py check of a killed run failed (%d)", st);
    remove_tmpdir();
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("runlog_py");
    TCase *t = tcase_create("h5py");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, h5py_reads_a_finished_log);
    tcase_add_test(t, h5py_follows_a_live_run_and_reads_a_killed_one);
    suite_add_tcase(s, t);
    return s;
}

SC_TEST_MAIN(make_suite)
