/* spawn.c - `saccade train --view`: the viewer as a separate, detached process
 * (see sc_view_spawn in view.h).
 *
 * Why a process and not a thread: the trainer's process never loads a video
 * driver, never runs SDL's event loop or signal handlers, and shares no HDF5
 * state with the viewer (serial HDF5 is not thread-safe); the viewer only
 * reads the run log, as any other reader would, in SWMR mode and without
 * file locks, so it cannot block the trainer's appends.
 *
 * How: fork, fork again and exec in the grandchild, which gets a session of
 * its own (setsid: the terminal's Ctrl-C stops training but leaves the window
 * open), niceness +10, OPENBLAS_NUM_THREADS=1 and stdin from /dev/null. The
 * middle child exits at once and is reaped here, so no zombie is left
 * whenever the viewer ends. A close-on-exec pipe carries the grandchild's pid
 * and, if exec fails, its errno, so a failure is reported, not silent.
 * Between fork and exec only async-signal-safe calls are made: the trainer
 * may already be running threads (OpenBLAS).
 */
#define _GNU_SOURCE  /* pipe2, environ */
#include "view.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "viz/viewer.h"

extern char **environ;

enum { VIEWER_NICE = 10 };

/* A message through the pipe: what ('P' pid, 'F' fork failed, 'E' exec failed) and a number. */
typedef struct note {
    char what;
    int value;
} note;

static void send_note(int fd, char what, int value) {
    note n;
    memset(&n, 0, sizeof n);
    n.what = what;
    n.value = value;
    ssize_t w = write(fd, &n, sizeof n);
    (void)w;
}

static int read_note(int fd, note *n) {
    size_t got = 0;
    while (got < sizeof *n) {
        ssize_t r = read(fd, (char *)n + got, sizeof *n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return got == 0 ? 0 : -1;
        got += (size_t)r;
    }
    return 1;
}

/* environ with OPENBLAS_NUM_THREADS=1 (the viewer does no linear algebra). */
static char **child_env(void) {
    size_t n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + 2, sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "OPENBLAS_NUM_THREADS=", 21) != 0) env[k++] = environ[i];
    env[k++] = "OPENBLAS_NUM_THREADS=1";
    env[k] = NULL;
    return env;
}

int sc_view_spawn(const char *run_path, const char *exe, pid_t *pid, sc_err *err) {
    if (pid) *pid = -1;
    char self[4096];
    if (!exe) {
        /* the running binary by its name (so `ps` says saccade, not exe); /proc/self/exe
         * itself if that cannot be read or the file has been replaced */
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = '\0';
        exe = n > 0 && (size_t)n < sizeof self - 1 && !strstr(self, " (deleted)") && access(self, X_OK) == 0
                  ? self : "/proc/self/exe";
    }
    const char *vars[] = {"DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"};
    int shown = 0;
    for (int i = 0; i < 3; i++) shown |= getenv(vars[i]) && *getenv(vars[i]);
    if (!shown)
        return sc_errf(err, SC_ESTATE, "--view needs a display, and DISPLAY and WAYLAND_DISPLAY are not set; "
                       "train without --view and look at the run with `saccade view %s` (or --png FILE)", run_path);
    const char *font = getenv(SC_VIEW_FONT_ENV);
    if (!font || !*font) font = SC_VIEW_FONT;
    if (access(font, R_OK) != 0)
        return sc_errf(err, SC_EIO, "--view: font %s not found: install Debian's fonts-dejavu-core (or set $%s)", font,
                       SC_VIEW_FONT_ENV);

    char *argv[] = {"saccade", "view", (char *)run_path, "--follow", NULL};
    char **env = child_env();
    if (!env) return sc_errf(err, SC_ENOMEM, "--view: out of memory");
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        free(env);
        return sc_errf(err, SC_EIO, "--view: cannot make a pipe: %s", strerror(errno));
    }
    fflush(NULL);  /* nothing buffered may be written twice */
    pid_t mid = fork();
    if (mid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        free(env);
        return sc_errf(err, SC_EIO, "--view: cannot start the viewer: fork: %s", strerror(e));
    }
    if (mid == 0) {  /* the middle child: async-signal-safe calls only */
        close(fds[0]);
        pid_t p = fork();
        if (p < 0) {
            send_note(fds[1], 'F', errno);
            _exit(1);
        }
        if (p > 0) {
            send_note(fds[1], 'P', (int)p);
            _exit(0);
        }
        setsid();
        setpriority(PRIO_PROCESS, 0, VIEWER_NICE);
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0 && in != STDIN_FILENO) {
            dup2(in, STDIN_FILENO);
            close(in);
        }
        execve(exe, argv, env);
        send_note(fds[1], 'E', errno);
        _exit(127);
    }
    close(fds[1]);
    free(env);
    int status;
    while (waitpid(mid, &status, 0) < 0 && errno == EINTR) {}
    note n;
    pid_t viewer = -1;
    int rc = SC_OK, got;
    while ((got = read_note(fds[0], &n)) > 0) {
        if (n.what == 'P') viewer = (pid_t)n.value;
        else if (n.what == 'F' && rc == SC_OK)
            rc = sc_errf(err, SC_EIO, "--view: cannot start the viewer: fork: %s", strerror(n.value));
        else if (n.what == 'E' && rc == SC_OK)
            rc = sc_errf(err, SC_EIO, "--view: cannot start the viewer %s: %s", exe, strerror(n.value));
    }
    close(fds[0]);
    if (rc == SC_OK && (got < 0 || viewer <= 0))
        rc = sc_errf(err, SC_EIO, "--view: cannot start the viewer %s: no word from the child", exe);
    if (rc == SC_OK && pid) *pid = viewer;
    return rc;
}
