/* fuzz_common.c - the scratch folder, file writing and error checks shared by
 * the fuzz harnesses (see fuzz_common.h). */
#include "tests/fuzz/fuzz_common.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static char g_dir[256];

void fz_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

/* Removes every file in g_dir, then g_dir (one level: harnesses make no folders in it
 * but the dataset folder, which they empty themselves). */
static void remove_dir(void) {
    if (!g_dir[0]) return;
    DIR *d = opendir(g_dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char p[512];
            snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
            if (unlink(p) != 0 && errno == EISDIR) rmdir(p);
        }
        closedir(d);
    }
    rmdir(g_dir);
}

/* Removes the folders base/saccade-<target>-<pid> of processes that are gone (a
 * crash skips the atexit handler). */
static void remove_stale(const char *base, const char *target) {
    char prefix[128];
    snprintf(prefix, sizeof prefix, "saccade-%s-", target);
    DIR *d = opendir(base);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        char *end;
        long pid = strtol(e->d_name + strlen(prefix), &end, 10);
        if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s/%s'", base, e->d_name);
        if (system(cmd) != 0) continue;
    }
    closedir(d);
}

const char *fz_dir(const char *target) {
    if (g_dir[0]) return g_dir;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    remove_stale(base, target);
    snprintf(g_dir, sizeof g_dir, "%s/saccade-%s-%ld", base, target, (long)getpid());
    if (mkdir(g_dir, 0700) != 0 && errno != EEXIST) fz_fail("cannot create %s: %s", g_dir, strerror(errno));
    atexit(remove_dir);
    return g_dir;
}

void fz_path(char *out, size_t n, const char *dir, const char *name) {
    if (snprintf(out, n, "%s/%s", dir, name) >= (int)n) fz_fail("path %s/%s too long", dir, name);
}

void fz_write(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) fz_fail("cannot create %s: %s", path, strerror(errno));
    int bad = n && fwrite(p, 1, n, f) != n;
    if (fclose(f) != 0 || bad) fz_fail("cannot write %s", path);
}

void fz_check_error(const char *call, int rc, const sc_err *err, const char *name) {
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("SACCADE_FUZZ_VERBOSE") != NULL;
    if (verbose) fprintf(stderr, "  %s: %d %s\n", call, rc, rc < 0 ? err->msg : "");
    if (rc == SC_OK) return;
    if (rc > 0) return; /* documented positive results (optional dataset absent, a file kind) */
    if (err->code != rc) fz_fail("%s returned %d but left code %d (%s)", call, rc, err->code, err->msg);
    if (!memchr(err->msg, '\0', sizeof err->msg)) fz_fail("%s: message not terminated", call);
    if (!err->msg[0]) fz_fail("%s returned %d with an empty message", call, rc);
    if (strchr(err->msg, '\n')) fz_fail("%s: message of more than one line: %s", call, err->msg);
    if (name && !strstr(err->msg, name)) fz_fail("%s: message does not name %s: %s", call, name, err->msg);
}
