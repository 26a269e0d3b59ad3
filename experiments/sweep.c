/* sweep.c - `saccade sweep` (sweep.h): the grids and seeds resolved into
 * runs, the sweep folder and its manifest, and the scheduler that runs the
 * trainer as child processes, N at a time, shared with the other ranks of an
 * mpirun through claim files.
 *
 * Front-end code, like main.c: it prints, and returns an exit status.
 */
#include "sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "experiments/compare.h"
#include "experiments/config.h"
#include "experiments/runlog.h"
#include "experiments/textfile.h"
#include "experiments/train.h"

#define MAX_RUNS 100000
#define MAX_GRIDS 16
#define PATHN 1280

extern char **environ;

/* ---- the sweep's description ------------------------------------------------------------ */

typedef struct grid {
    char key[64];    /* section.key */
    int n;
    char **vals;     /* into the argument's copy */
    char *buf;
} grid;

typedef struct point {
    char name[128];
    char assign[1024];  /* "k=v,k=v" or "-" */
    sc_config cfg;      /* without the seed */
} point;

typedef enum { R_TODO, R_OTHER, R_RUNNING, R_DONE, R_FAILED, R_INTERRUPTED, R_BUSY } run_state;

typedef struct run {
    int pt;
    uint64_t seed;
    char base[PATHN];   /* DIR/<point>/seed-S */
    run_state state;
    pid_t pid;
    double t0;
    int resumed;
} run;

typedef struct sweep {
    const char *config_path, *dir;
    int jobs;
    const char *sets[256];
    int nsets;
    grid grids[MAX_GRIDS];
    int ngrids;
    uint64_t *seeds;
    int nseeds;
    point *pts;
    int npts;
    run *runs;
    int nruns;
    char session[200], host[64];
    int rank, ranks;
    char *cmdline;
} sweep;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void fmt_dur(char *buf, size_t n, double s) {
    if (!isfinite(s) || s < 0) snprintf(buf, n, "-");
    else if (s < 60) snprintf(buf, n, "%.1fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

static int refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int g_mute = 0;  /* a rank other than 0 of an mpirun: rank 0 says what all ranks find alike */

static int refuse(const char *fmt, ...) {
    if (g_mute) return 2;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "saccade: sweep: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 2;
}

/* A config error from sc_config_set on a grid value: its "--set " prefix read as "--grid ". */
static int refuse_grid(const sc_err *e, const char *grid_arg, const char *value) {
    const char *m = e->msg;
    const char *colon = !strncmp(m, "--set ", 6) ? strstr(m, ": ") : NULL;
    if (value) return refuse("--grid %s: value '%s': %s", grid_arg, value, colon ? colon + 2 : m);
    return refuse("--grid %s: %s", grid_arg, colon ? colon + 2 : m);
}

static int parse_u64(const char *s, const char *end, uint64_t *v) {
    if (s == end || end - s > 20) return -1;
    uint64_t x = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9') return -1;
        uint64_t d = (uint64_t)(*p - '0');
        if (x > (UINT64_MAX - d) / 10) return -1;
        x = 10 * x + d;
    }
    *v = x;
    return 0;
}

/* "1,2,3", "1..5", "1..3,7": the seeds, each once. */
static int parse_seeds(sweep *S, const char *list) {
    int cap = 16;
    S->seeds = malloc(sizeof(uint64_t) * cap);
    if (!S->seeds) return refuse("out of memory");
    S->nseeds = 0;
    const char *p = list;
    if (!*p) return refuse("--seeds: empty list, expected e.g. 1,2,3 or 1..5");
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *dots = strstr(p, "..");
        uint64_t a, b;
        if (dots && dots < end) {
            if (parse_u64(p, dots, &a) || parse_u64(dots + 2, end, &b) || b < a)
                return refuse("--seeds %s: '%.*s' is not a range A..B of seeds with A <= B", list, (int)(end - p), p);
        } else if (parse_u64(p, end, &a)) {
            return refuse("--seeds %s: '%.*s' is not a seed (an integer 0..2^64-1)", list, (int)(end - p), p);
        } else {
            b = a;
        }
        for (uint64_t s = a;; s++) {
            for (int i = 0; i < S->nseeds; i++)
                if (S->seeds[i] == s) return refuse("--seeds %s: seed %" PRIu64 " appears twice", list, s);
            if (S->nseeds >= MAX_RUNS) return refuse("--seeds %s: more than %d seeds", list, MAX_RUNS);
            if (S->nseeds == cap) {
                cap *= 2;
                uint64_t *ns = realloc(S->seeds, sizeof(uint64_t) * cap);
                if (!ns) return refuse("out of memory");
                S->seeds = ns;
            }
            S->seeds[S->nseeds++] = s;
            if (s == b) break;
        }
        if (!comma) break;
        p = comma + 1;
        if (!*p) return refuse("--seeds %s: empty entry after the last comma", list);
    }
    return 0;
}

/* "section.key=v1,v2": the key must exist, the values be distinct and non-empty. */
static int parse_grid(sweep *S, const char *arg, const sc_config *probe) {
    if (S->ngrids == MAX_GRIDS) return refuse("--grid %s: more than %d grids", arg, MAX_GRIDS);
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) return refuse("--grid %s: malformed, expected section.key=v1,v2,...", arg);
    grid *g = &S->grids[S->ngrids];
    if ((size_t)(eq - arg) >= sizeof g->key) return refuse("--grid %s: no such key", arg);
    snprintf(g->key, sizeof g->key, "%.*s", (int)(eq - arg), arg);
    if (sc_config_key_index(g->key) < 0) {
        sc_config c = *probe;
        sc_err e = {0};
        char a[128];
        snprintf(a, sizeof a, "%s=x", g->key);
        if (sc_config_set(&c, a, &e) != SC_OK) return refuse_grid(&e, arg, NULL);
        return refuse("--grid %s: no such key", arg);
    }
    if (!strcmp(g->key, "train.seed")) return refuse("--grid %s: seeds are given with --seeds LIST", arg);
    for (int i = 0; i < S->ngrids; i++)
        if (!strcmp(S->grids[i].key, g->key)) return refuse("--grid %s: %s has a grid already", arg, g->key);
    for (int i = 0; i < S->nsets; i++)
        if (!strncmp(S->sets[i], g->key, strlen(g->key)) && S->sets[i][strlen(g->key)] == '=')
            return refuse("--grid %s: %s is also set by --set %s", arg, g->key, S->sets[i]);
    g->buf = strdup(eq + 1);
    int cap = 1;
    for (const char *p = eq + 1; *p; p++) cap += *p == ',';
    g->vals = malloc(sizeof(char *) * cap);
    S->ngrids++;  /* from here free_sweep frees it */
    if (!g->buf || !g->vals) return refuse("out of memory");
    g->n = 0;
    for (char *p = g->buf;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        if (!*p) return refuse("--grid %s: an empty value", arg);
        for (int i = 0; i < g->n; i++)
            if (!strcmp(g->vals[i], p)) return refuse("--grid %s: the value '%s' appears twice", arg, p);
        sc_config c = *probe;
        sc_err e = {0};
        char a[1024];
        snprintf(a, sizeof a, "%s=%s", g->key, p);
        if (sc_config_set(&c, a, &e) != SC_OK) return refuse_grid(&e, arg, p);
        g->vals[g->n++] = p;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

static int safe_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 100 || s[0] == '.' || s[0] == '-') return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("._=,+-", *p)))
            return 0;
    return !strstr(s, "..") && strcmp(s, "base");
}

/* The points (grid combinations, the first grid slowest) and their configs. */
static int make_points(sweep *S, const sc_config *base) {
    long np = 1;
    for (int i = 0; i < S->ngrids; i++) {
        np *= S->grids[i].n;
        if (np > MAX_RUNS) return refuse("the grids make more than %d points", MAX_RUNS);
    }
    if (np * S->nseeds > MAX_RUNS) return refuse("%ld points x %d seeds: more than %d runs", np, S->nseeds, MAX_RUNS);
    S->pts = calloc((size_t)np, sizeof *S->pts);
    if (!S->pts) return refuse("out of memory");
    S->npts = (int)np;
    for (int p = 0; p < S->npts; p++) {
        point *P = &S->pts[p];
        P->cfg = *base;
        size_t len = 0;
        int rem = p, idx[MAX_GRIDS];
        for (int i = S->ngrids - 1; i >= 0; i--) {
            idx[i] = rem % S->grids[i].n;
            rem /= S->grids[i].n;
        }
        P->assign[0] = '\0';
        for (int i = 0; i < S->ngrids; i++) {
            char a[1024];
            snprintf(a, sizeof a, "%s=%s", S->grids[i].key, S->grids[i].vals[idx[i]]);
            sc_err e = {0};
            if (sc_config_set(&P->cfg, a, &e) != SC_OK) return refuse("%s", e.msg);  /* checked in parse_grid */
            if (len < sizeof P->assign)
                len += (size_t)snprintf(P->assign + len, sizeof P->assign - len, "%s%s", i ? "," : "", a);
        }
        if (len >= sizeof P->assign) return refuse("point %d: its grid values are longer than %zu bytes", p + 1,
                                                   sizeof P->assign - 1);
        if (S->ngrids == 0) snprintf(P->assign, sizeof P->assign, "-");
        if (S->ngrids == 0) snprintf(P->name, sizeof P->name, "base");
        else if (safe_name(P->assign)) memcpy(P->name, P->assign, strlen(P->assign) + 1); /* <= 100 bytes */
        else snprintf(P->name, sizeof P->name, "p%03d", p + 1);
        sc_err e = {0};
        sc_config c = P->cfg;
        for (int s = 0; s < S->nseeds; s++) {
            c.seed = S->seeds[s];
            if (sc_config_validate(&c, &e) != SC_OK)
                return refuse("point %s%s%s: %s", P->name, strcmp(P->name, P->assign) && S->ngrids ? " = " : "",
                              strcmp(P->name, P->assign) && S->ngrids ? P->assign : "", e.msg);
        }
    }
    return 0;
}

/* ---- the folder: manifest and the runs' configs ------------------------------------------ */

static char *manifest_body(const sweep *S) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f) return NULL;
    for (int i = 0; i < S->ngrids; i++) {
        fprintf(f, "grid %s=", S->grids[i].key);
        for (int j = 0; j < S->grids[i].n; j++) fprintf(f, "%s%s", j ? "," : "", S->grids[i].vals[j]);
        fprintf(f, "\n");
    }
    fprintf(f, "seeds ");
    for (int s = 0; s < S->nseeds; s++) fprintf(f, "%s%" PRIu64, s ? "," : "", S->seeds[s]);
    fprintf(f, "\n");
    for (int p = 0; p < S->npts; p++) fprintf(f, "point %s %s\n", S->pts[p].name, S->pts[p].assign);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The lines of text that a continuation compares (grid, seeds, point), joined. */
static char *compared_lines(const char *text) {
    size_t n = strlen(text);
    char *out = malloc(n + 1), *o = out;
    if (!out) return NULL;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (!strncmp(p, "grid ", 5) || !strncmp(p, "seeds ", 6) || !strncmp(p, "point ", 6)) {
            memcpy(o, p, len);
            o += len;
            *o++ = '\n';
        }
        p += len + (nl != NULL);
    }
    *o = '\0';
    return out;
}


/* Writes text to path unless it exists: through a temporary file linked into
 * place, so that a reader (another rank) sees all of it or nothing. Returns
 * 0 written, 1 it existed, -1 with errno. */
static int write_new(const char *path, const char *text, const sweep *S) {
    char tmp[PATHN + 200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%s.%d", path, S->host, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return -1;
    size_t n = strlen(text);
    int bad = fwrite(text, 1, n, f) != n;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    int rc = link(tmp, path);
    int e = errno;
    unlink(tmp);
    if (rc == 0) return 0;
    errno = e;
    return e == EEXIST ? 1 : -1;
}

static void run_config(const sweep *S, const run *r, sc_config *c) {
    *c = S->pts[r->pt].cfg;
    c->seed = r->seed;
}

/* The first key in which a run's stored config differs from c, as a refusal. */
static int compare_stored(const sweep *S, const run *r, const char *path) {
    sc_config stored, want;
    sc_err e = {0};
    sc_config_defaults(&stored);
    if (sc_config_load(&stored, path, &e) != SC_OK)
        return refuse("%s: DIR holds a damaged sweep: %s", S->dir, e.msg);
    run_config(S, r, &want);
    char a[SC_CFG_STR + 16], b[SC_CFG_STR + 16];
    for (int k = 0; k < sc_config_nkeys(); k++) {
        sc_config_key_value(&stored, k, a, sizeof a);
        sc_config_key_value(&want, k, b, sizeof b);
        if (strcmp(a, b))
            return refuse("%s was made by a different sweep: its run %s has %s = %s, this sweep's %s (use another "
                          "--out, or the sweep's own settings)", S->dir, path, sc_config_key_name(k), a, b);
    }
    return 0;
}

static int path_of(char *out, size_t n, const char *dir, const char *a, const char *b) {
    int k = b ? snprintf(out, n, "%s/%s/%s", dir, a, b) : snprintf(out, n, "%s/%s", dir, a);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

/* Checks an existing DIR (before anything is written); *exists receives whether it is a sweep already. */
static int check_dir(sweep *S, const char *body, int *exists) {
    *exists = 0;
    struct stat st;
    char man[PATHN];
    if (path_of(man, sizeof man, S->dir, "sweep.txt", NULL)) return refuse("--out %s: path too long", S->dir);
    if (S->rank > 0) {
        /* rank 0 makes the folder and its manifest; the other ranks wait for it (mpirun ends
         * them if rank 0 refuses) */
        while (access(man, F_OK) != 0) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (stat(S->dir, &st) != 0) {
        if (errno == ENOENT) return 0;
        return refuse("--out %s: %s", S->dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) return refuse("--out %s: exists and is not a folder", S->dir);
    if (access(man, F_OK) != 0) {
        DIR *d = opendir(S->dir);
        if (!d) return refuse("--out %s: %s", S->dir, strerror(errno));
        int empty = 1;
        for (struct dirent *e; empty && (e = readdir(d));)
            empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
        closedir(d);
        if (!empty) return refuse("--out %s: the folder is not empty and holds no sweep (no sweep.txt)", S->dir);
        return 0;
    }
    char *text = sc_read_text(man);
    if (!text) return refuse("%s: cannot read: %s", man, strerror(errno));
    char *have = compared_lines(text), *want = compared_lines(body);
    free(text);
    if (!have || !want) {
        free(have);
        free(want);
        return refuse("out of memory");
    }
    int rc = 0;
    if (strcmp(have, want)) {
        /* the first line that differs, named */
        const char *p = have, *q = want;
        while (*p && *q) {
            size_t lp = strcspn(p, "\n"), lq = strcspn(q, "\n");
            if (lp != lq || memcmp(p, q, lp)) break;
            p += lp + 1;
            q += lq + 1;
        }
        rc = refuse("%s was made by a different sweep: its sweep.txt has '%.*s', this sweep '%.*s' (use another "
                    "--out, or the sweep's own grids and seeds)", S->dir, (int)strcspn(p, "\n"),
                    *p ? p : "(nothing more)", (int)strcspn(q, "\n"), *q ? q : "(nothing more)");
    }
    free(have);
    free(want);
    if (rc) return rc;
    for (int i = 0; i < S->nruns; i++) {
        char ini[PATHN + 8];
        snprintf(ini, sizeof ini, "%s.ini", S->runs[i].base);
        if (access(ini, F_OK) == 0 && (rc = compare_stored(S, &S->runs[i], ini)) != 0) return rc;
    }
    *exists = 1;
    return 0;
}

static int write_dir(sweep *S, const char *body, int exists) {
    if (!exists && mkdir(S->dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "saccade: sweep: --out %s: cannot create the folder: %s\n", S->dir, strerror(errno));
        return 1;
    }
    char man[PATHN];
    path_of(man, sizeof man, S->dir, "sweep.txt", NULL);
    if (!exists) {
        time_t t = time(NULL);
        struct tm tmv;
        gmtime_r(&t, &tmv);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tmv);
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        if (!f) return fprintf(stderr, "saccade: sweep: out of memory\n"), 1;
        fprintf(f, "# saccade sweep, version 1: the sweep that made this folder (see `saccade sweep --help`)\n");
        fprintf(f, "# command: %s\n# started: %s\n", S->cmdline, stamp);
        fprintf(f, "config %s\n", S->config_path);
        for (int i = 0; i < S->nsets; i++) fprintf(f, "set %s\n", S->sets[i]);
        fputs(body, f);
        fclose(f);
        int w = write_new(man, text, S);
        free(text);
        if (w < 0) {
            fprintf(stderr, "saccade: sweep: %s: cannot write: %s\n", man, strerror(errno));
            return 1;
        }
        if (w == 1) {
            /* another rank wrote it first: it must be this sweep */
            int ex;
            if (check_dir(S, body, &ex)) return 1;
        }
    }
    for (int p = 0; p < S->npts; p++) {
        char d[PATHN];
        if (path_of(d, sizeof d, S->dir, S->pts[p].name, NULL) || (mkdir(d, 0777) != 0 && errno != EEXIST)) {
            fprintf(stderr, "saccade: sweep: %s: cannot create the folder: %s\n", d, strerror(errno));
            return 1;
        }
    }
    for (int i = 0; i < S->nruns; i++) {
        char ini[PATHN + 8];
        snprintf(ini, sizeof ini, "%s.ini", S->runs[i].base);
        sc_config c;
        run_config(S, &S->runs[i], &c);
        char *text = sc_config_to_string(&c);
        int w = text ? write_new(ini, text, S) : -1;
        free(text);
        if (w < 0) {
            fprintf(stderr, "saccade: sweep: %s: cannot write: %s\n", ini, strerror(errno));
            return 1;
        }
        if (w == 1 && compare_stored(S, &S->runs[i], ini)) return 1;
    }
    return 0;
}

/* ---- claims --------------------------------------------------------------------------------- */

/* The start time of process pid (field 22 of /proc/pid/stat, clock ticks since boot),
 * or 0 when it is gone or a zombie. */
static unsigned long long proc_start(int pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');  /* the command name may hold spaces */
    if (!p) return 0;
    char state = 0;
    unsigned long long start = 0;
    /* after ") ": state, then fields 4..21, then starttime */
    if (sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &state,
               &start) != 2)
        return 0;
    return state == 'Z' || state == 'X' ? 0 : start;
}

/* Whether a claim's text names a process of this host that still runs: "host pid start ...". */
static int claim_alive(const sweep *S, const char *text, int *pid_out) {
    char host[64] = "";
    int pid = 0;
    unsigned long long start = 0;
    *pid_out = 0;
    if (!text || sscanf(text, "%63s %d %llu", host, &pid, &start) != 3 || strcmp(host, S->host) || pid <= 0)
        return -1;  /* another host's (or unreadable): cannot tell */
    *pid_out = pid;
    return proc_start(pid) == start;
}

/* Removes claim files of other sessions whose process was on this host and is gone. */
static void remove_stale_claims(const sweep *S) {
    for (int p = 0; p < S->npts; p++) {
        char d[PATHN];
        if (path_of(d, sizeof d, S->dir, S->pts[p].name, NULL)) continue;
        DIR *dd = opendir(d);
        if (!dd) continue;
        for (struct dirent *e; (e = readdir(dd));) {
            const char *c = strstr(e->d_name, ".claim.");
            if (!c || !strcmp(c + 7, S->session)) continue;
            char f[PATHN + 300];
            snprintf(f, sizeof f, "%s/%s", d, e->d_name);
            const char *tmp = strstr(c, ".tmp.");
            if (tmp) {
                /* a claim being written when its sweep died: NAME.tmp.<host>.<pid> */
                size_t hl = strlen(S->host);
                if (!strncmp(tmp + 5, S->host, hl) && tmp[5 + hl] == '.' && proc_start(atoi(tmp + 6 + hl)) == 0)
                    unlink(f);
                continue;
            }
            char *text = sc_read_text(f);
            int pid;
            if (claim_alive(S, text, &pid) == 0) unlink(f);
            free(text);
        }
        closedir(dd);
    }
}

/* The pid of a live process on this host whose sweep (another session) claimed run r, else 0. */
static int live_claim(const sweep *S, const run *r) {
    char d[PATHN];
    snprintf(d, sizeof d, "%s", r->base);
    char *slash = strrchr(d, '/');
    if (!slash) return 0;
    *slash = '\0';
    const char *stem = strrchr(r->base, '/') + 1;  /* "seed-S" */
    size_t sl = strlen(stem);
    DIR *dd = opendir(d);
    if (!dd) return 0;
    int found = 0;
    for (struct dirent *e; !found && (e = readdir(dd));) {
        /* NAME.claim.<session>.tmp.<host>.<pid> is a claim being written (by a rank of this
         * session or another sweep): not a claim yet. Its writer links it into place and then
         * looks for ours, so of two sweeps at least one sees the other. */
        if (strncmp(e->d_name, stem, sl) || strncmp(e->d_name + sl, ".claim.", 7) ||
            !strcmp(e->d_name + sl + 7, S->session) || strstr(e->d_name + sl + 7, ".tmp."))
            continue;
        char f[PATHN + 300];
        snprintf(f, sizeof f, "%s/%s", d, e->d_name);
        char *text = sc_read_text(f);
        int pid;
        if (claim_alive(S, text, &pid) == 1) found = pid;
        free(text);
    }
    closedir(dd);
    return found;
}

/* 1 claimed by this process, 0 by another rank of this session, -1 error (errno). The
 * claim appears whole or not at all (linked into place), so a kill leaves no empty claim. */
static int claim(const sweep *S, const run *r) {
    char path[PATHN + 300], text[300];
    snprintf(path, sizeof path, "%s.claim.%s", r->base, S->session);
    snprintf(text, sizeof text, "%s %d %llu rank %d\n", S->host, (int)getpid(), proc_start(getpid()), S->rank);
    int w = write_new(path, text, S);
    return w == 0 ? 1 : w == 1 ? 0 : -1;
}

static void remove_session_files(const sweep *S) {
    char path[PATHN + 300];
    for (int i = 0; i < S->nruns; i++) {
        snprintf(path, sizeof path, "%s.claim.%s", S->runs[i].base, S->session);
        unlink(path);
    }
    for (int r = 0; r < S->ranks; r++) {
        snprintf(path, sizeof path, "%s/.done.%s.%d", S->dir, S->session, r);
        unlink(path);
    }
}

/* ---- one run -------------------------------------------------------------------------------- */

typedef enum { ST_NEW, ST_RESUME, ST_DONE, ST_BUSY } disk_state;

static int file_exists(const char *p) { return access(p, F_OK) == 0; }

/* Whether run r has finished: its log's last test row ended FINISHED or EARLY_STOP. */
static int run_finished(const run *r) {
    char log[PATHN + 8];
    snprintf(log, sizeof log, "%s.h5", r->base);
    sc_run_summary s;
    sc_err e = {0};
    return file_exists(log) && sc_run_summary_read(log, &s, 0, &e) == SC_OK && s.has_test &&
           (s.end_reason == SC_END_FINISHED || s.end_reason == SC_END_EARLY_STOP);
}

/* What is on disk for run r: finished, to resume, to start (a log without a
 * checkpoint is removed: it was killed before its first checkpoint). */
static disk_state run_on_disk(const run *r, char *why, size_t wn) {
    char log[PATHN + 8], ckpt[PATHN + 16];
    snprintf(log, sizeof log, "%s.h5", r->base);
    snprintf(ckpt, sizeof ckpt, "%s.ckpt.h5", r->base);
    if (!file_exists(log)) {
        unlink(ckpt);
        return ST_NEW;
    }
    sc_runlog_info li;
    sc_err e = {0};
    if (sc_runlog_inspect(log, &li, &e) == SC_OK && li.locked) {
        snprintf(why, wn, "%s is being written by another saccade process", log);
        return ST_BUSY;
    }
    if (run_finished(r)) return ST_DONE;
    if (file_exists(ckpt)) return ST_RESUME;
    unlink(log);
    return ST_NEW;
}

static int is_mpi_var(const char *kv) {
    static const char *const pre[] = {"OMPI_", "PMIX_", "OPAL_", "PRTE_", "PMI_", "HYDRA_", "MPI_LOCALRANKID"};
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++)
        if (!strncmp(kv, pre[i], strlen(pre[i]))) return 1;
    return 0;
}

/* Starts the trainer for r in a child process; output appended to seed-S.log. */
static pid_t start_child(const run *r, int resume) {
    char ini[PATHN + 8], log[PATHN + 8], out[PATHN + 8];
    snprintf(ini, sizeof ini, "%s.ini", r->base);
    snprintf(log, sizeof log, "%s.h5", r->base);
    snprintf(out, sizeof out, "%s.log", r->base);
    int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) return -1;
    size_t ne = 0;
    while (environ[ne]) ne++;
    char **env = malloc(sizeof(char *) * (ne + 1));
    if (!env) {
        close(fd);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (!is_mpi_var(environ[i])) env[k++] = environ[i];
    env[k] = NULL;
    char *fresh[] = {"saccade", "train", ini, "--out", log, "--quiet", NULL};
    char *again[] = {"saccade", "train", "--resume", log, "--quiet", NULL};
    const pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(130);
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0) dup2(in, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execve("/proc/self/exe", resume ? again : fresh, env);
        fprintf(stderr, "saccade: sweep: cannot run the trainer (/proc/self/exe): %s\n", strerror(errno));
        _exit(127);
    }
    close(fd);
    free(env);
    return pid;
}

/* The last non-empty line of the run's output (what the trainer said when it failed). */
static void last_line(const run *r, char *buf, size_t n) {
    char out[PATHN + 8];
    snprintf(out, sizeof out, "%s.log", r->base);
    char *text = sc_read_text(out);
    buf[0] = '\0';
    if (!text) return;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ')) text[--len] = '\0';
    char *nl = strrchr(text, '\n');
    snprintf(buf, n, "%s", nl ? nl + 1 : text);
    free(text);
}

/* ---- the scheduler ------------------------------------------------------------------------------- */

static volatile sig_atomic_t g_signal = 0;
static void on_signal(int sig) { g_signal = sig; }

typedef struct tally {
    int done, failed, interrupted, busy, running, started, resumed, already;
    double run_seconds;  /* wall time of the runs finished in this session */
    int timed;
} tally;

static void print_progress(const sweep *S, const tally *t, double t0) {
    int todo = 0;
    for (int i = 0; i < S->nruns; i++) todo += S->runs[i].state == R_TODO;
    char el[32], eta[32];
    fmt_dur(el, sizeof el, now_s() - t0);
    double per = t->timed ? t->run_seconds / t->timed : NAN;
    int workers = S->jobs * (S->ranks > 0 ? S->ranks : 1);
    double left = per * ceil((double)(todo + t->running) / workers);
    fmt_dur(eta, sizeof eta, left);
    if (S->ranks > 1)
        printf("progress (rank %d of %d): %d finished here, %d running, %d unclaimed; elapsed %s, ETA %s\n", S->rank,
               S->ranks, t->done, t->running, todo, el, eta);
    else
        printf("progress: %d of %d runs finished, %d running, %d to start; elapsed %s, ETA %s\n",
               t->done + t->already, S->nruns, t->running, todo, el, eta);
    fflush(stdout);
}

static void report_run(const sweep *S, run *r, int status, tally *t, double t0) {
    const point *P = &S->pts[r->pt];
    const double wall = now_s() - r->t0;
    char dur[32], log[PATHN + 8];
    fmt_dur(dur, sizeof dur, wall);
    snprintf(log, sizeof log, "%s.h5", r->base);
    t->running--;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    sc_run_summary s;
    sc_err e = {0};
    if (code == 0 && sc_run_summary_read(log, &s, 1, &e) == SC_OK) {
        r->state = R_DONE;
        t->done++;
        t->run_seconds += wall;
        t->timed++;
        if (s.mc_samples > 1)
            printf("done %s seed %" PRIu64 ": test error %.2f%% (M=1), %.2f%% (M=%d); %s%s\n", P->name, r->seed,
                   s.err_m1, s.err_mc, s.mc_samples, dur, r->resumed ? " (resumed)" : "");
        else
            printf("done %s seed %" PRIu64 ": test error %.2f%% (M=1); %s%s\n", P->name, r->seed, s.err_m1, dur,
                   r->resumed ? " (resumed)" : "");
        print_progress(S, t, t0);
    } else if (code == 130 || code == 128 + SIGINT || code == 128 + SIGTERM) {
        r->state = R_INTERRUPTED;
        t->interrupted++;
        printf("interrupted %s seed %" PRIu64 " after %s (checkpointed; the same command continues it)\n", P->name,
               r->seed, dur);
    } else {
        char line[512];
        if (code == 0) snprintf(line, sizeof line, "%s", e.msg);
        else last_line(r, line, sizeof line);
        r->state = R_FAILED;
        t->failed++;
        printf("FAILED %s seed %" PRIu64 " (exit %d after %s): %s [output: %s.log]\n", P->name, r->seed, code, dur,
               line[0] ? line : "no message", r->base);
    }
    fflush(stdout);
}

/* Claims and starts the next run it can; 1 started, 0 none left to start. */
static int start_next(sweep *S, tally *t) {
    for (int i = 0; i < S->nruns; i++) {
        run *r = &S->runs[i];
        if (r->state != R_TODO) continue;
        int c = claim(S, r);
        if (c < 0) {
            fprintf(stderr, "saccade: sweep: %s.claim.%s: cannot create: %s\n", r->base, S->session, strerror(errno));
            r->state = R_FAILED;
            t->failed++;
            continue;
        }
        if (c == 0) {
            r->state = R_OTHER;
            continue;
        }
        char why[PATHN + 100];
        int other = live_claim(S, r);
        disk_state d = other ? ST_BUSY : run_on_disk(r, why, sizeof why);
        if (other) snprintf(why, sizeof why, "taken by another sweep of this folder (pid %d)", other);
        if (d == ST_DONE) {
            r->state = R_DONE;
            t->already++;
            continue;
        }
        if (d == ST_BUSY) {
            printf("skipped %s seed %" PRIu64 ": %s\n", S->pts[r->pt].name, r->seed, why);
            r->state = R_BUSY;
            t->busy++;
            continue;
        }
        r->resumed = d == ST_RESUME;
        r->t0 = now_s();
        r->pid = start_child(r, r->resumed);
        if (r->pid < 0) {
            fprintf(stderr, "saccade: sweep: %s: cannot start the trainer: %s\n", r->base, strerror(errno));
            r->state = R_FAILED;
            t->failed++;
            continue;
        }
        r->state = R_RUNNING;
        t->running++;
        if (r->resumed) t->resumed++;
        else t->started++;
        return 1;
    }
    return 0;
}

/* The grouped table of the folder's finished runs. */
static void print_table(const char *dir) {
    sc_sweep_run *list = NULL;
    int n = 0;
    sc_err e = {0};
    if (sc_sweep_list(dir, &list, &n, &e) != SC_OK) {
        fprintf(stderr, "saccade: sweep: %s\n", e.msg);
        return;
    }
    sc_run_summary *runs = calloc((size_t)(n > 0 ? n : 1), sizeof *runs);
    int *group = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    sc_group_label *label = malloc(sizeof *label * (size_t)(n > 0 ? n : 1));
    int k = 0;
    for (int i = 0; runs && group && label && i < n; i++) {
        if (sc_run_summary_read(list[i].log, &runs[k], 1, &e) != SC_OK) continue;
        if (runs[k].end_reason != SC_END_FINISHED && runs[k].end_reason != SC_END_EARLY_STOP) continue;
        snprintf(runs[k].group, sizeof runs[k].group, "%s", list[i].point);
        k++;
    }
    if (runs && group && label && k > 0) {
        int ng = sc_compare_group(runs, k, group, label);
        if (ng > 0) {
            printf("\n%s: %d of %d runs finished; mean ± sd (n) over seeds:\n\n", dir, k, n);
            sc_compare_group_table(stdout, runs, k, group, label, ng);
        }
    }
    free(runs);
    free(group);
    free(label);
    free(list);
}

static int run_all(sweep *S) {
    tally t;
    memset(&t, 0, sizeof t);
    struct sigaction sa, old_int, old_term, old_hup;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    remove_stale_claims(S);
    /* the runs finished before (a read-only look: a finished run stays finished) */
    for (int i = 0; i < S->nruns; i++)
        if (run_finished(&S->runs[i])) {
            S->runs[i].state = R_DONE;
            t.already++;
        }
    const double t0 = now_s();
    int forwarded = 0, announced = 0;
    for (;;) {
        while (!g_signal && t.running < S->jobs && start_next(S, &t)) {}
        if (!announced) {
            announced = 1;
            int todo = 0, other = 0;
            for (int i = 0; i < S->nruns; i++) {
                todo += S->runs[i].state == R_TODO;
                other += S->runs[i].state == R_OTHER;
            }
            printf("sweep %s: %d points x %d seeds = %d runs; %d finished before, %d resumed, %d started, %d waiting "
                   "(--jobs %d", S->dir, S->npts, S->nseeds, S->nruns, t.already, t.resumed, t.started, todo,
                   S->jobs);
            if (S->ranks > 1) printf("; rank %d of %d, %d taken by other ranks so far", S->rank, S->ranks, other);
            printf(")\n");
            fflush(stdout);
        }
        if (t.running == 0) break;
        if (g_signal && !forwarded) {
            forwarded = 1;
            printf("sweep: %s: stopping %d running runs (each checkpoints and tests)\n",
                   g_signal == SIGINT ? "interrupted" : "terminated", t.running);
            fflush(stdout);
            for (int i = 0; i < S->nruns; i++)
                if (S->runs[i].state == R_RUNNING) kill(S->runs[i].pid, g_signal == SIGINT ? SIGINT : SIGTERM);
        }
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        for (int i = 0; i < S->nruns; i++)
            if (S->runs[i].state == R_RUNNING && S->runs[i].pid == pid) report_run(S, &S->runs[i], status, &t, t0);
    }
    const int stopped = g_signal != 0;
    /* this rank is done; rank 0 waits for the others, then sums up */
    char mark[PATHN + 200];
    if (S->ranks > 1) {
        snprintf(mark, sizeof mark, "%s/.done.%s.%d", S->dir, S->session, S->rank);
        char text[32];
        snprintf(text, sizeof text, "%d\n", t.failed);
        if (write_new(mark, text, S) < 0) fprintf(stderr, "saccade: sweep: %s: %s\n", mark, strerror(errno));
    }
    int others_failed = 0;
    if (S->rank == 0 && S->ranks > 1) {
        for (int r = 1; r < S->ranks && !g_signal; r++) {
            snprintf(mark, sizeof mark, "%s/.done.%s.%d", S->dir, S->session, r);
            while (!file_exists(mark) && !g_signal) {
                struct timespec ts = {0, 200 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
            char *text = sc_read_text(mark);
            if (text) others_failed += atoi(text);
            free(text);
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    if (S->rank != 0) return stopped ? 130 : t.failed ? 1 : 0;
    /* what is finished, read from the folder (all ranks' runs) */
    int finished = 0;
    for (int i = 0; i < S->nruns; i++) finished += run_finished(&S->runs[i]);
    if (!stopped || S->ranks == 1) remove_session_files(S);
    print_table(S->dir);
    char el[32];
    fmt_dur(el, sizeof el, now_s() - t0);
    printf("\nsweep %s: %d of %d runs finished (%s this session)", S->dir, finished, S->nruns, el);
    if (t.failed + others_failed) printf("; %d failed (their output: DIR/<point>/seed-S.log)", t.failed + others_failed);
    if (t.busy) printf("; %d being written by another process", t.busy);
    printf("\n");
    if (stopped || finished < S->nruns)
        printf("to continue: the same command (finished runs are kept, interrupted ones resume)\n");
    if (stopped) return 130;
    return finished == S->nruns ? 0 : 1;
}

/* ---- the command ----------------------------------------------------------------------------------- */

static void free_sweep(sweep *S) {
    for (int i = 0; i < S->ngrids; i++) {
        free(S->grids[i].buf);
        free(S->grids[i].vals);
    }
    free(S->seeds);
    free(S->pts);
    free(S->runs);
    free(S->cmdline);
}


/* The rank, the number of ranks and the session (the job's id) from the
 * environment mpirun gives its processes; a lone process is rank 0 of 1. */
static void identify(sweep *S) {
    if (gethostname(S->host, sizeof S->host) != 0) snprintf(S->host, sizeof S->host, "localhost");
    S->host[sizeof S->host - 1] = '\0';
    for (char *p = S->host; *p; p++)
        if (*p == ' ' || *p == '/' || *p == '.') *p = '_';
    const char *rank = getenv("OMPI_COMM_WORLD_RANK"), *size = getenv("OMPI_COMM_WORLD_SIZE");
    if (!rank) rank = getenv("PMI_RANK");
    if (!size) size = getenv("PMI_SIZE");
    const char *job = getenv("PMIX_NAMESPACE");
    if (!job) job = getenv("OMPI_MCA_ess_base_jobid");
    S->rank = rank ? atoi(rank) : 0;
    S->ranks = size ? atoi(size) : 1;
    if (S->ranks < 1 || S->rank < 0 || S->rank >= S->ranks) S->rank = 0, S->ranks = 1;
    if (S->ranks > 1 && job && *job) {
        size_t k = 0;
        for (const char *p = job; *p && k + 1 < sizeof S->session; p++)
            S->session[k++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ? *p : '_';
        S->session[k] = '\0';
    } else {
        snprintf(S->session, sizeof S->session, "%s-%d-%lld", S->host, (int)getpid(), (long long)time(NULL));
    }
}

static const char *SWEEP_USAGE =
    "usage: saccade sweep CONFIG [--set section.key=value ...] [--grid section.key=v1,v2,... ...]\n"
    "                     [--seeds LIST] [--jobs N] --out DIR\n"
    "  the cartesian product of the grids, each point once per seed (LIST: 1,2,3 or 1..5;\n"
    "  default the config's seed), N runs at a time (each train.threads = 1 unless set);\n"
    "  DIR/<point>/seed-S.h5 per run, DIR/sweep.txt the manifest. The same command\n"
    "  continues an interrupted sweep; under `mpirun -np R` the ranks share the runs\n"
    "  (DIR on a folder they all see). `saccade compare DIR` prints the grouped table.\n";

int sc_sweep_main(int argc, char **argv) {
    sweep S;
    memset(&S, 0, sizeof S);
    const char *seeds = NULL, *grids[MAX_GRIDS + 1];
    int ngrid_args = 0;
    S.jobs = 1;
    identify(&S);
    g_mute = S.rank > 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(SWEEP_USAGE, stdout);
            return 0;
        }
        int has = i + 1 < argc;
        if (!strcmp(a, "--set") || !strcmp(a, "--grid") || !strcmp(a, "--seeds") || !strcmp(a, "--jobs") ||
            !strcmp(a, "--out")) {
            if (!has || !argv[i + 1][0]) return refuse("%s needs an argument", a);
            const char *v = argv[++i];
            if (a[2] == 's' && a[3] == 'e' && a[4] == 't') {
                if (S.nsets == 256) return refuse("more than 256 --set");
                S.sets[S.nsets++] = v;
            } else if (a[2] == 'g') {
                if (ngrid_args == MAX_GRIDS) return refuse("more than %d --grid", MAX_GRIDS);
                grids[ngrid_args++] = v;
            } else if (a[2] == 's') {
                if (seeds) return refuse("--seeds given twice");
                seeds = v;
            } else if (a[2] == 'j') {
                char *end;
                long j = strtol(v, &end, 10);
                if (*end || j < 1 || j > 256) return refuse("--jobs expects a number of runs at once in 1..256, got '%s'", v);
                S.jobs = (int)j;
            } else {
                S.dir = v;
            }
        } else if (!strncmp(a, "--", 2)) {
            return refuse("unknown option '%s' (saccade sweep --help)", a);
        } else if (!S.config_path) {
            S.config_path = a;
        } else {
            return refuse("unexpected argument '%s' (one CONFIG only)", a);
        }
    }
    if (!S.config_path) {
        return refuse("needs a CONFIG file (saccade sweep --help)");
    }
    if (!S.dir) return refuse("needs --out DIR (the sweep's folder)");
    size_t dl = strlen(S.dir);
    char dirbuf[PATHN];
    if (dl >= 800) return refuse("--out %s: path too long", S.dir);
    snprintf(dirbuf, sizeof dirbuf, "%s", S.dir);
    while (dl > 1 && dirbuf[dl - 1] == '/') dirbuf[--dl] = '\0';
    S.dir = dirbuf;

    int rc = 2;
    sc_config base;
    sc_err e = {0};
    sc_config_defaults(&base);
    if (sc_config_load(&base, S.config_path, &e) != SC_OK) {
        refuse("%s", e.msg);
        goto out;
    }
    /* one thread per run unless the sweep says otherwise */
    int threads_given = 0;
    for (int i = 0; i < S.nsets; i++) threads_given |= !strncmp(S.sets[i], "train.threads=", 14);
    for (int i = 0; i < ngrid_args; i++) threads_given |= !strncmp(grids[i], "train.threads=", 14);
    if (!threads_given) base.threads = 1;
    for (int i = 0; i < S.nsets; i++) {
        if (seeds && !strncmp(S.sets[i], "train.seed=", 11)) {
            refuse("--set %s and --seeds exclude each other", S.sets[i]);
            goto out;
        }
        if (sc_config_set(&base, S.sets[i], &e) != SC_OK) {
            refuse("%s", e.msg);
            goto out;
        }
    }
    for (int i = 0; i < ngrid_args; i++)
        if (parse_grid(&S, grids[i], &base)) goto out;
    if (seeds) {
        if (parse_seeds(&S, seeds)) goto out;
    } else {
        S.seeds = malloc(sizeof(uint64_t));
        if (!S.seeds) goto out;
        S.seeds[0] = base.seed;
        S.nseeds = 1;
    }
    if (make_points(&S, &base)) goto out;
    S.nruns = S.npts * S.nseeds;
    S.runs = calloc((size_t)S.nruns, sizeof *S.runs);
    if (!S.runs) {
        refuse("out of memory");
        goto out;
    }
    /* seed-major: every point's first seed before any point's second */
    for (int s = 0, i = 0; s < S.nseeds; s++)
        for (int p = 0; p < S.npts; p++, i++) {
            run *r = &S.runs[i];
            r->pt = p;
            r->seed = S.seeds[s];
            if (snprintf(r->base, sizeof r->base, "%s/%s/seed-%" PRIu64, S.dir, S.pts[p].name, r->seed) >=
                (int)sizeof r->base) {
                refuse("--out %s: path too long", S.dir);
                goto out;
            }
        }
    S.cmdline = sc_join_args(argc, argv);
    char *body = manifest_body(&S);
    if (!S.cmdline || !body) {
        free(body);
        refuse("out of memory");
        goto out;
    }
    int exists = 0;
    if (check_dir(&S, body, &exists)) {
        free(body);
        goto out;
    }
    /* from here on, files are written */
    if (write_dir(&S, body, exists)) {
        free(body);
        rc = 1;
        goto out;
    }
    free(body);
    rc = run_all(&S);
out:
    free_sweep(&S);
    return rc;
}

/* ---- reading a sweep folder ------------------------------------------------------------------- */

int sc_sweep_is_dir(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
    char man[PATHN];
    if (path_of(man, sizeof man, path, "sweep.txt", NULL)) return 0;
    return file_exists(man);
}

int sc_sweep_list(const char *dir, sc_sweep_run **runs, int *n, sc_err *err) {
    *runs = NULL;
    *n = 0;
    char man[PATHN];
    if (path_of(man, sizeof man, dir, "sweep.txt", NULL)) return sc_errf(err, SC_EARG, "%s: path too long", dir);
    char *text = sc_read_text(man);
    if (!text) return sc_errf(err, SC_EIO, "%s: cannot read: %s", man, strerror(errno));
    char (*names)[128] = NULL;
    uint64_t *seeds = NULL;
    int np = 0, ns = -1, line = 0, rc = SC_OK;
    for (char *p = text; *p && rc == SC_OK;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        line++;
        if (!strncmp(p, "point ", 6)) {
            char name[128];
            if (sscanf(p + 6, "%127s", name) != 1 || !strcmp(name, "..") || strchr(name, '/')) {
                rc = sc_errf(err, SC_EFORMAT, "%s:%d: malformed point line", man, line);
                break;
            }
            char(*nn)[128] = realloc(names, sizeof *names * (size_t)(np + 1));
            if (!nn) {
                rc = sc_errf(err, SC_ENOMEM, "%s: out of memory", man);
                break;
            }
            names = nn;
            snprintf(names[np++], 128, "%s", name);
        } else if (!strncmp(p, "seeds ", 6)) {
            ns = 0;
            for (char *q = p + 6; *q;) {
                char *end;
                errno = 0;
                unsigned long long v = strtoull(q, &end, 10);
                if (end == q || errno || (*end && *end != ',')) {
                    rc = sc_errf(err, SC_EFORMAT, "%s:%d: malformed seeds line", man, line);
                    break;
                }
                uint64_t *nsd = realloc(seeds, sizeof(uint64_t) * (size_t)(ns + 1));
                if (!nsd) {
                    rc = sc_errf(err, SC_ENOMEM, "%s: out of memory", man);
                    break;
                }
                seeds = nsd;
                seeds[ns++] = v;
                q = *end ? end + 1 : end;
            }
        }
        if (!nl) break;
        p = nl + 1;
    }
    if (rc == SC_OK && (np == 0 || ns <= 0))
        rc = sc_errf(err, SC_EFORMAT, "%s: not a sweep manifest (no point or seeds lines)", man);
    if (rc == SC_OK && (long)np * ns > MAX_RUNS) rc = sc_errf(err, SC_EFORMAT, "%s: more than %d runs", man, MAX_RUNS);
    if (rc == SC_OK) {
        *runs = calloc((size_t)np * ns, sizeof **runs);
        if (!*runs) rc = sc_errf(err, SC_ENOMEM, "%s: out of memory", man);
    }
    for (int p = 0; rc == SC_OK && p < np; p++)
        for (int s = 0; s < ns; s++) {
            sc_sweep_run *r = &(*runs)[p * ns + s];
            snprintf(r->point, sizeof r->point, "%s", names[p]);
            r->seed = seeds[s];
            snprintf(r->log, sizeof r->log, "%s/%s/seed-%" PRIu64 ".h5", dir, names[p], seeds[s]);
        }
    if (rc == SC_OK) *n = np * ns;
    free(names);
    free(seeds);
    free(text);
    return rc;
}
