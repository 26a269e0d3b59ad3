/* view.h - the glimpse viewer's entry points for the `saccade` command:
 * `saccade view RUN.h5 ...` and `saccade train ... --view`.
 *
 * The viewer reads a run log's /glimpses (docs/runlog.md; soft-attention
 * datasets in docs/viewer.md) and shows, for a page of the logged images, where
 * the policy looked at each glimpse and what it predicted, epoch by epoch. It
 * draws into an SDL2 window, or with SDL's software renderer into a PNG or an
 * animated GIF without any display. Everything SDL is behind these two calls:
 * this header has no SDL types, and nothing in the trainer's process touches
 * SDL (--view runs the viewer as a separate process).
 */
#ifndef SACCADE_VIZ_VIEW_H
#define SACCADE_VIZ_VIEW_H

#include <sys/types.h>

#include "nets/err.h"

/* `saccade view`: argv[0] is "view", then
 *     RUN.h5 [--follow] [--epoch E] [--step T] [--image I] [--grid CxR]
 *            [--size WxH] [--png FILE] [--gif FILE] [--exit-after MS] [--help]
 * Errors are printed to stderr as one `saccade: ...` line. Returns the exit
 * status: 0 done (window closed, files written), 1 failure (no display, bad
 * or unsuitable log, write error), 2 usage error. */
int sc_view_main(int argc, char **argv);

/* The usage text of `saccade view` (for `saccade view --help` and main's
 * usage). */
extern const char sc_view_usage[];

/* `saccade train ... --view`: starts `EXE view RUN --follow` as a detached
 * process (double fork: no zombie, reparented to init; its own session, so a
 * Ctrl-C meant for the trainer leaves the window open; niceness +10 and
 * OPENBLAS_NUM_THREADS=1 so it takes as little as possible from training;
 * stdin from /dev/null, stdout and stderr shared with the trainer). exe NULL
 * means the running saccade (/proc/self/exe). The run log need not exist
 * yet: the viewer waits for it. Returns SC_OK once the viewer's exec has
 * succeeded (*pid, if pid is non-NULL, is its process id); SC_ESTATE when no
 * display is available (DISPLAY, WAYLAND_DISPLAY and SDL_VIDEODRIVER all
 * unset), SC_EIO when the font is missing or fork/exec fails, each with a
 * message. Never touches SDL; safe to call from a process with threads. */
int sc_view_spawn(const char *run_path, const char *exe, pid_t *pid, sc_err *err);

#endif
