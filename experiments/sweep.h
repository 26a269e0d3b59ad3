/* sweep.h - `saccade sweep`: many ordinary runs of one config, over grids of
 * keys and a list of seeds, N at a time on this machine and shared by the
 * ranks of an mpirun, resumable, summarised as mean +- sd over seeds.
 *
 *   saccade sweep CONFIG [--set section.key=value ...] [--grid section.key=v1,v2,... ...]
 *                 [--seeds LIST] [--jobs N] --out DIR
 *
 * The points are the cartesian product of the grids (the first grid varies
 * slowest); each point runs once per seed (LIST: "1,2,3", "1..5" or a mix,
 * default the config's train.seed). A run is an ordinary `saccade train` in
 * a child process: DIR/<point>/seed-S.ini (its resolved config),
 * seed-S.h5 (run log), seed-S.ckpt.h5, seed-S.log (the trainer's output).
 * <point> is "section.key=value,..." of its grid values ("base" without
 * grids), or pNNN when that name is not a safe folder name or is longer
 * than 100 bytes; DIR/sweep.txt records the mapping.
 *
 * Everything is resolved and validated before anything is written: each
 * point's config (unknown key, bad value, cross-key rule), the grids (a key
 * that does not exist, an empty or repeated value, a key both set and
 * gridded, a grid over train.seed), the seeds, and an existing DIR: it must
 * be empty or a sweep whose points, seeds and resolved configs are these.
 * A refusal is one line naming the argument, point or key (exit status 2).
 *
 * DIR/sweep.txt (text):
 *   # saccade sweep, version 1          comment lines: command, start time
 *   config PATH                          the CONFIG given (not compared)
 *   set section.key=value                each --set (not compared)
 *   grid section.key=v1,v2               each --grid
 *   seeds 1,2,3
 *   point NAME ASSIGNMENTS               each point, in order ("-" for base)
 * Continuing a DIR compares the grid, seeds and point lines, then each run's
 * stored seed-S.ini key by key against this sweep's resolved config.
 *
 * Running: each run is claimed by creating DIR/<point>/seed-S.claim.<session>
 * exclusively (session: the mpirun job's id, PMIX_NAMESPACE, shared by its
 * ranks; or host-pid-time), so the ranks of one mpirun (on any machines that
 * share DIR) take different runs; claims of older sessions are ignored (and
 * removed when their process is gone from this host; a run another live
 * sweep on this host has claimed is skipped). A claimed run is
 * finished (its log's last test row ended FINISHED or EARLY_STOP: skipped),
 * interrupted (a checkpoint: `train --resume`) or new (started; a log left
 * without a checkpoint is removed first). Children run with train.threads = 1
 * unless the sweep sets it, without the mpirun environment (each is one
 * process), and get SIGTERM when the sweep dies. SIGINT or SIGTERM: passed
 * to every child, which checkpoints and tests; the sweep waits for them and
 * exits 130; the same command continues.
 *
 * Output: a line per finished run (point, seed, test error M=1 and M, wall
 * time) and a progress line with ETA; at the end (rank 0, after every rank
 * is done) the grouped table of compare.h over DIR's finished runs. Exit
 * status 0 when every run is finished, 1 when some failed, 130 interrupted.
 */
#ifndef SACCADE_EXPERIMENTS_SWEEP_H
#define SACCADE_EXPERIMENTS_SWEEP_H

#include <stdint.h>

#include "nets/err.h"

/* `saccade sweep ...` (argv[1] is "sweep"). Returns the exit status; prints
 * its own messages. */
int sc_sweep_main(int argc, char **argv);

/* One run of a sweep folder. */
typedef struct sc_sweep_run {
    char point[128];   /* the point's folder name */
    uint64_t seed;
    char log[1280];    /* DIR/<point>/seed-S.h5 */
} sc_sweep_run;

/* Whether path is a sweep folder (a directory holding sweep.txt). */
int sc_sweep_is_dir(const char *path);

/* The runs recorded in DIR/sweep.txt, point-major in the points' order, into
 * a malloc'd array (*runs, caller frees; *n). Errors name the file and line. */
int sc_sweep_list(const char *dir, sc_sweep_run **runs, int *n, sc_err *err);

#endif
