/* procfind.h - finding one rank of an mpirun job among this machine's
 * processes (by its environment and command line), for tests that kill it.
 * Static functions for the including test (test_mpi.c, test_sweep.c).
 */
#ifndef SACCADE_TESTS_PROCFIND_H
#define SACCADE_TESTS_PROCFIND_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* A /proc file's bytes (its size reads as 0), malloc'd, length in *n. */
static char *read_proc(const char *path, size_t *n) {
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096;
    char *buf = malloc(cap + 1);
    for (size_t k; buf && (k = fread(buf + *n, 1, cap - *n, f)) > 0;) {
        *n += k;
        if (*n == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[*n] = '\0';
    return buf;
}

/* The pid of rank `rank` of a job whose command line has the argument `arg`
 * (e.g. its run log), by its environment and command line; 0 if none. */
__attribute__((unused)) static pid_t rank_pid(int rank, const char *arg) {
    DIR *d = opendir("/proc");
    if (!d) return 0;
    char want[64], path[600];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    pid_t found = 0;
    for (struct dirent *e; !found && (e = readdir(d));) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        size_t n = 0;
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        char *cl = read_proc(path, &n);
        int mine = 0;
        for (size_t i = 0; cl && i < n; i += strlen(cl + i) + 1)
            if (!strcmp(cl + i, arg)) mine = 1;
        free(cl);
        if (!mine) continue;
        snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
        char *env = read_proc(path, &n);
        for (size_t i = 0; env && i < n; i += strlen(env + i) + 1)
            if (!strcmp(env + i, want)) found = (pid_t)atoi(e->d_name);
        free(env);
    }
    closedir(d);
    return found;
}

/* The start time of process pid (field 22 of /proc/pid/stat, clock ticks since boot), 0 if none. */
__attribute__((unused)) static unsigned long long proc_start_ticks(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    size_t n = 0;
    char *st = read_proc(path, &n);
    const char *p = st ? strrchr(st, ')') : NULL;
    unsigned long long start = 0;
    if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                    &start) != 1)
        start = 0;
    free(st);
    return start;
}

#endif
