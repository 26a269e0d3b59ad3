/* view.c - `saccade view`: options, the window and its event loop, the keys,
 * and the windowless renderings (--png, --gif). See view.h and docs/viewer.md.
 *
 * The window redraws only when something changed (a key, the mouse, a resize,
 * the animation's tick, a new record): between events it sleeps in
 * SDL_WaitEventTimeout, so a viewer following a training run (--follow)
 * costs a refresh of a few small datasets every FOLLOW_MS and nothing else.
 *
 * What it is not: a reader of the log (vlog.c) or a painter (draw.c).
 */
#include "view.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "viz/imgio.h"
#include "viz/viewer.h"
#include "viz/vlog.h"

enum {
    FOLLOW_MS = 1000,      /* how often a followed log is re-read */
    PLAY_MS = 600,         /* one glimpse per tick when playing */
    STATUS_MS = 4000,      /* how long a footer message stays */
    OPEN_GRACE_MS = 5000,  /* --follow: how long a log that exists may fail to open (being created) */
    GIF_STEP_CS = 70,      /* GIF: hundredths of a second per glimpse, */
    GIF_LAST_CS = 200      /* and on the last one */
};

const char sc_view_usage[] =
    "usage: saccade view RUN.h5 [options]\n"
    "  Shows the glimpses a run logged (/glimpses): for a page of validation images,\n"
    "  the squares the sensor read at each glimpse, the path, the predicted class\n"
    "  and the true one, epoch by epoch (soft attention: the weights of each step as a\n"
    "  heat map; self-attention: of each head, over the patches). Press h in the window\n"
    "  for the keys.\n"
    "options:\n"
    "  --follow         follow a run that is still training; waits for RUN.h5 to appear\n"
    "  --epoch E        show the record made after epoch E (default: the last one)\n"
    "  --step T         show glimpses 1..T (default: all of them)\n"
    "  --image I        first image shown, 0-based among the logged ones (default 0)\n"
    "  --grid CxR       images per page, columns x rows (default 4x2)\n"
    "  --size WxH       window or picture size in pixels (default: images about 250 px on their longer side)\n"
    "  --png FILE       render one frame to FILE and exit; no display needed\n"
    "  --gif FILE       render glimpses 1..T as an animated GIF and exit; no display needed\n"
    "  --exit-after MS  close the window after MS milliseconds (scripts, tests)\n";

typedef struct view_opts {
    const char *run, *png, *gif;
    int follow, has_epoch, epoch, step, image, cols, rows, w, h, has_size;
    long exit_after;  /* ms, 0 = never */
} view_opts;

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "saccade: view: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see saccade view --help)\n");
    return 2;
}

static int fail(const sc_err *err) {
    fprintf(stderr, "saccade: %s\n", err->msg[0] ? err->msg : sc_strerror(err->code));
    return 1;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* "4x2" -> 4, 2 within [lo, hi] each. */
static int parse_pair(const char *s, long lo1, long hi1, long lo2, long hi2, int *a, int *b) {
    char buf[64];
    if (strlen(s) >= sizeof buf) return -1;
    snprintf(buf, sizeof buf, "%s", s);
    char *x = strchr(buf, 'x');
    if (!x) return -1;
    *x = '\0';
    long p, q;
    if (parse_long(buf, lo1, hi1, &p) || parse_long(x + 1, lo2, hi2, &q)) return -1;
    *a = (int)p;
    *b = (int)q;
    return 0;
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(view_opts *o, int argc, char **argv) {
    memset(o, 0, sizeof *o);
    o->cols = 4;
    o->rows = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(sc_view_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--follow")) {
            o->follow = 1;
        } else if (!strcmp(a, "--epoch") || !strcmp(a, "--step") || !strcmp(a, "--image") ||
                   !strcmp(a, "--exit-after")) {
            if (!has_value) return usage_error("%s needs a number", a);
            const char *val = argv[++i];
            if (!strcmp(a, "--epoch")) {
                if (parse_long(val, 0, INT_MAX, &v)) return usage_error("--epoch expects an epoch number >= 0, got '%s'", val);
                o->has_epoch = 1;
                o->epoch = (int)v;
            } else if (!strcmp(a, "--step")) {
                if (parse_long(val, 1, 64, &v)) return usage_error("--step expects a glimpse number in 1..64, got '%s'", val);
                o->step = (int)v;
            } else if (!strcmp(a, "--image")) {
                if (parse_long(val, 0, INT_MAX, &v)) return usage_error("--image expects an image number >= 0, got '%s'", val);
                o->image = (int)v;
            } else {
                if (parse_long(val, 1, 86400000L, &v)) return usage_error("--exit-after expects milliseconds >= 1, got '%s'", val);
                o->exit_after = v;
            }
        } else if (!strcmp(a, "--grid")) {
            if (!has_value || parse_pair(argv[i + 1], 1, 16, 1, 16, &o->cols, &o->rows))
                return usage_error("--grid expects COLSxROWS, each 1..16 (e.g. 4x2), got '%s'", has_value ? argv[i + 1] : "");
            i++;
        } else if (!strcmp(a, "--size")) {
            if (!has_value || parse_pair(argv[i + 1], 200, 8192, 150, 8192, &o->w, &o->h))
                return usage_error("--size expects WIDTHxHEIGHT in pixels (200..8192 x 150..8192), got '%s'",
                                   has_value ? argv[i + 1] : "");
            o->has_size = 1;
            i++;
        } else if (!strcmp(a, "--png") || !strcmp(a, "--gif")) {
            if (!has_value || !argv[i + 1][0]) return usage_error("%s needs a file name", a);
            if (a[2] == 'p') o->png = argv[++i];
            else o->gif = argv[++i];
        } else if (!strncmp(a, "--", 2) || (a[0] == '-' && a[1])) {
            return usage_error("unknown option '%s'", a);
        } else if (!o->run) {
            o->run = a;
        } else {
            return usage_error("unexpected argument '%s' (one RUN.h5 only)", a);
        }
    }
    if (!o->run) return usage_error("%s", "needs a run log: saccade view RUN.h5");
    if (o->follow && (o->png || o->gif))
        return usage_error("%s", "--follow needs a window; --png and --gif render the log as it is now");
    return -1;
}

/* ---- state ---------------------------------------------------------------------------- */

static const int GRIDS[][2] = {{1, 1}, {2, 1}, {3, 2}, {4, 2}, {4, 3}, {5, 3}, {6, 4}, {8, 5}, {10, 6}, {12, 8}};
enum { NGRIDS = (int)(sizeof GRIDS / sizeof GRIDS[0]) };

void sc_view_clamp(sc_view_state *s, const sc_vlog *v) {
    if (s->rec >= v->R) s->rec = v->R - 1;
    if (s->rec < 0) s->rec = 0;
    if (s->t > v->T) s->t = v->T;
    if (s->t < 1) s->t = 1;
    if (s->first >= v->G) s->first = v->G - 1;
    if (s->first < 0) s->first = 0;
}

sc_view_action sc_view_key(sc_view_state *s, const sc_vlog *v, SDL_Keycode key) {
    const int per = s->cols * s->rows;
    switch (key) {
    case SDLK_LEFT:
    case SDLK_RIGHT: {
        int t = s->t + (key == SDLK_RIGHT ? 1 : -1);
        s->playing = 0;
        if (t < 1 || t > v->T) return SC_VIEW_NONE;
        s->t = t;
        return SC_VIEW_REDRAW;
    }
    case SDLK_SPACE:
        s->playing = !s->playing;
        if (s->playing && s->t == v->T) s->t = 1;
        return SC_VIEW_REDRAW;
    case SDLK_UP:
        if (s->rec + 1 >= v->R) return SC_VIEW_NONE;
        s->rec++;
        return SC_VIEW_REDRAW;
    case SDLK_DOWN:
        if (s->rec <= 0) return SC_VIEW_NONE;
        s->rec--;
        return SC_VIEW_REDRAW;
    case SDLK_HOME:
    case SDLK_END: {
        int r = key == SDLK_HOME ? 0 : v->R - 1;
        if (r == s->rec) return SC_VIEW_NONE;
        s->rec = r;
        return SC_VIEW_REDRAW;
    }
    case SDLK_n:
    case SDLK_PAGEDOWN:
        if (s->first + per >= v->G) return SC_VIEW_NONE;
        s->first += per;
        return SC_VIEW_REDRAW;
    case SDLK_p:
    case SDLK_PAGEUP:
        if (s->first == 0) return SC_VIEW_NONE;
        s->first = s->first >= per ? s->first - per : 0;
        return SC_VIEW_REDRAW;
    case SDLK_PLUS:
    case SDLK_EQUALS:
    case SDLK_KP_PLUS:
    case SDLK_MINUS:
    case SDLK_KP_MINUS: {
        int larger = key != SDLK_MINUS && key != SDLK_KP_MINUS, j = 0;
        while (j < NGRIDS && GRIDS[j][0] * GRIDS[j][1] < per) j++;  /* first grid holding as many */
        if (larger) j = j > 0 ? j - 1 : -1;
        else j = j < NGRIDS && GRIDS[j][0] * GRIDS[j][1] == per ? j + 1 : j;
        if (j < 0 || j >= NGRIDS) return SC_VIEW_NONE;
        s->cols = GRIDS[j][0];
        s->rows = GRIDS[j][1];
        return SC_VIEW_REDRAW;
    }
    case SDLK_s:
        return SC_VIEW_SAVE;
    case SDLK_h:
        s->help = !s->help;
        return SC_VIEW_REDRAW;
    case SDLK_q:
    case SDLK_ESCAPE:
        return SC_VIEW_QUIT;
    default:
        return SC_VIEW_NONE;
    }
}

/* "0..20" when every epoch from the first to the last is there, else
 * "0, 5, 10, ..., 95" */
static void epoch_list(char *buf, size_t n, const sc_vlog *v) {
    size_t used = 0;
    buf[0] = '\0';
    int contiguous = v->R > 2;
    for (int r = 1; contiguous && r < v->R; r++) contiguous = v->epoch[r] == v->epoch[r - 1] + 1;
    if (contiguous) {
        snprintf(buf, n, "%d..%d", v->epoch[0], v->epoch[v->R - 1]);
        return;
    }
    for (int r = 0; r < v->R && used < n; r++) {
        if (v->R > 12 && r == 8) {
            used += (size_t)snprintf(buf + used, n - used, ", ...");
            r = v->R - 2;
            continue;
        }
        used += (size_t)snprintf(buf + used, n - used, "%s%d", r ? ", " : "", v->epoch[r]);
    }
}

/* The first state from the options, checked against the log. */
static int initial_state(sc_view_state *s, const view_opts *o, const sc_vlog *v, const char *title, sc_err *err) {
    memset(s, 0, sizeof *s);
    s->title = title;
    s->following = o->follow;
    s->cols = o->cols;
    s->rows = o->rows;
    s->rec = v->R - 1;
    if (o->has_epoch) {
        s->rec = sc_vlog_find_epoch(v, o->epoch);
        if (s->rec < 0) {
            char list[160];
            epoch_list(list, sizeof list, v);
            return sc_errf(err, SC_EARG, "%s: epoch %d is not logged: glimpse records exist for epoch%s %s", v->path,
                           o->epoch, v->R > 1 ? "s" : "", list);
        }
    }
    if (o->step > v->T)
        return sc_errf(err, SC_EARG, "--step %d: out of range, the run takes %d glimpses (1..%d)", o->step, v->T, v->T);
    s->t = o->step ? o->step : v->T;
    if (o->image >= v->G)
        return sc_errf(err, SC_EARG, "--image %d: out of range, the run logged %d images (0..%d)", o->image, v->G,
                       v->G - 1);
    s->first = o->image;
    return SC_OK;
}

static int no_records(const sc_vlog *v, sc_err *err) {
    return sc_errf(err, SC_EFORMAT, "%s: no glimpse records yet (the run has not finished setting up); "
                   "use --follow to wait for them", v->path);
}

/* ---- files ---------------------------------------------------------------------------- */

/* A surface's pixels as packed RGB (caller frees). */
static int surface_rgb(SDL_Surface *s, uint8_t **out, sc_err *err) {
    *out = NULL;
    SDL_Surface *c = SDL_ConvertSurfaceFormat(s, SDL_PIXELFORMAT_RGB24, 0);
    if (!c) return sc_errf(err, SC_EIO, "SDL_ConvertSurfaceFormat failed: %s", SDL_GetError());
    uint8_t *rgb = malloc((size_t)c->w * c->h * 3);
    if (!rgb) {
        SDL_FreeSurface(c);
        return sc_errf(err, SC_ENOMEM, "out of memory for a %dx%d frame", s->w, s->h);
    }
    if (SDL_LockSurface(c) < 0) {
        SDL_FreeSurface(c);
        free(rgb);
        return sc_errf(err, SC_EIO, "SDL_LockSurface failed: %s", SDL_GetError());
    }
    for (int y = 0; y < c->h; y++) memcpy(rgb + (size_t)y * c->w * 3, (uint8_t *)c->pixels + (size_t)y * c->pitch, (size_t)c->w * 3);
    SDL_UnlockSurface(c);
    SDL_FreeSurface(c);
    *out = rgb;
    return SC_OK;
}

static int write_png(const char *path, const sc_view_fonts *f, sc_vlog *v, const sc_view_state *s, int w, int h,
                     sc_err *err) {
    SDL_Surface *surf;
    uint8_t *rgb = NULL;
    int rc = sc_view_render(&surf, f, v, s, w, h, err);
    if (rc != SC_OK) return rc;
    rc = surface_rgb(surf, &rgb, err);
    SDL_FreeSurface(surf);
    if (rc == SC_OK) rc = sc_png_write(path, rgb, w, h, err);
    free(rgb);
    return rc;
}

/* Glimpses 1..s->t, one frame each. */
static int write_gif(const char *path, const sc_view_fonts *f, sc_vlog *v, const sc_view_state *s0, int w, int h,
                     sc_err *err) {
    int n = s0->t, rc = SC_OK;
    uint8_t **frames = calloc((size_t)n, sizeof *frames);
    int *delay = calloc((size_t)n, sizeof *delay);
    if (!frames || !delay) rc = sc_errf(err, SC_ENOMEM, "%s: out of memory", path);
    for (int i = 0; rc == SC_OK && i < n; i++) {
        sc_view_state s = *s0;
        s.t = i + 1;
        SDL_Surface *surf;
        rc = sc_view_render(&surf, f, v, &s, w, h, err);
        if (rc == SC_OK) {
            rc = surface_rgb(surf, &frames[i], err);
            SDL_FreeSurface(surf);
        }
        delay[i] = i + 1 == n ? GIF_LAST_CS : GIF_STEP_CS;
    }
    if (rc == SC_OK) rc = sc_gif_write(path, (const uint8_t *const *)frames, n, w, h, delay, err);
    for (int i = 0; frames && i < n; i++) free(frames[i]);
    free(frames);
    free(delay);
    return rc;
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* RUN-epochE-tT.png in the current folder, -2, -3, ... when taken. */
static int screenshot_name(char *out, size_t n, const char *run, int epoch, int t) {
    const char *b = base_name(run);
    size_t stem = strlen(b);
    if (stem > 3 && !strcmp(b + stem - 3, ".h5")) stem -= 3;
    if (stem > 200) stem = 200;
    for (int k = 1; k < 1000; k++) {
        if (k == 1) snprintf(out, n, "%.*s-epoch%d-t%d.png", (int)stem, b, epoch, t);
        else snprintf(out, n, "%.*s-epoch%d-t%d-%d.png", (int)stem, b, epoch, t, k);
        if (access(out, F_OK) != 0) return 0;
    }
    return -1;
}

/* ---- the window ------------------------------------------------------------------------ */

/* Is there a display SDL can open a visible window on? SDL 2.26 falls back to
 * its offscreen driver when there is none, which would open an invisible
 * window; so without DISPLAY/WAYLAND_DISPLAY, or when SDL lands on offscreen or
 * dummy without being asked to (SDL_VIDEODRIVER), there is no display. */
static int display_named(void) {
    const char *e[] = {"DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"};
    for (int i = 0; i < 3; i++)
        if (getenv(e[i]) && *getenv(e[i])) return 1;
    return 0;
}

static int no_display(const char *why) {
    fprintf(stderr, "saccade: view: no display available (%s); render to a file instead with --png FILE "
            "(or --gif FILE), or run under xvfb-run\n", why);
    return 1;
}

typedef struct win {
    SDL_Window *w;
    SDL_Renderer *r;
    int sdl_init;
} win;

static void win_close(win *x) {
    if (x->r) SDL_DestroyRenderer(x->r);
    if (x->w) SDL_DestroyWindow(x->w);
    if (x->sdl_init) SDL_Quit();
    memset(x, 0, sizeof *x);
}

static int win_open(win *x, const char *title, int w, int h, int fit) {
    memset(x, 0, sizeof *x);
    if (!display_named()) return no_display("DISPLAY and WAYLAND_DISPLAY are not set");
    const char *wl = getenv("WAYLAND_DISPLAY"), *sdl = getenv("SDL_VIDEODRIVER");
    if (!(wl && *wl) && !(sdl && *sdl))
        SDL_SetHint(SDL_HINT_VIDEODRIVER, "x11");  /* only X11 is named: no Wayland probing, no offscreen fallback */
    if (SDL_Init(SDL_INIT_VIDEO) < 0) {
        char why[300];
        snprintf(why, sizeof why, "SDL cannot start video: %s", SDL_GetError());
        return no_display(why);
    }
    x->sdl_init = 1;
    const char *drv = SDL_GetCurrentVideoDriver(), *asked = getenv("SDL_VIDEODRIVER");
    if (drv && (!strcmp(drv, "offscreen") || !strcmp(drv, "dummy")) && !(asked && *asked)) {
        win_close(x);
        return no_display("SDL found no display and fell back to its offscreen driver");
    }
    SDL_Rect desk;
    if (fit && SDL_GetDisplayUsableBounds(0, &desk) == 0 && desk.w > 400 && desk.h > 300) {
        if (w > desk.w - 40) w = desk.w - 40;  /* a default size never larger than the screen */
        if (h > desk.h - 60) h = desk.h - 60;
    }
    /* The software renderer draws into the window's own framebuffer (XShm on
     * X11); without this SDL would upload it through an OpenGL texture, loading
     * Mesa into the viewer for nothing. Wayland has no such framebuffer: the
     * fallback below then takes an accelerated renderer. */
    SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
    x->w = SDL_CreateWindow(title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, w, h, SDL_WINDOW_RESIZABLE);
    if (!x->w) {
        fprintf(stderr, "saccade: view: cannot open a window: %s; try --png FILE\n", SDL_GetError());
        win_close(x);
        return 1;
    }
    SDL_SetWindowMinimumSize(x->w, 360, 260);
    /* SDL's software renderer first: the frames are small and redrawn only on
     * change, no GPU driver is loaded, and the window shows exactly what --png
     * writes. Any other renderer if that fails. */
    x->r = SDL_CreateRenderer(x->w, -1, SDL_RENDERER_SOFTWARE);
    if (!x->r) x->r = SDL_CreateRenderer(x->w, -1, 0);
    if (!x->r) {
        fprintf(stderr, "saccade: view: cannot draw in the window: %s\n", SDL_GetError());
        win_close(x);
        return 1;
    }
    return -1;
}

typedef struct loop {
    const view_opts *o;
    win x;
    sc_view_fonts *f;
    sc_vlog *v;
    sc_view_state s;
    int have_state;        /* s was set from the options (once, on the first records) */
    int dirty, quit, save, dragging, status_code;
    char title[300];
    char status[600];
    char message[SC_ERR_MSG_MAX + 64];  /* waiting screen text, when there is no record to show */
    Uint64 status_until, next_tick, next_poll, open_fail_since, deadline;
    int hold;              /* ticks to hold the last glimpse when playing */
} loop;

static void set_status(loop *L, const char *msg) {
    snprintf(L->status, sizeof L->status, "%s", msg);
    L->s.status = L->status;
    L->status_until = SDL_GetTicks64() + STATUS_MS;
    L->dirty = 1;
}

/* --follow: open the log when it appears, pick up new records. Returns -1 to go
 * on or an exit status. */
static int poll_log(loop *L) {
    sc_err err = {0};
    Uint64 now = SDL_GetTicks64();
    if (!L->v) {
        if (access(L->o->run, F_OK) != 0) {
            snprintf(L->message, sizeof L->message, "waiting for %s to be created ...", L->o->run);
            L->open_fail_since = 0;
            L->dirty = 1;
            return -1;
        }
        if (sc_vlog_open(&L->v, L->o->run, &err) != SC_OK) {
            /* it may be in the middle of being created: try again for a while */
            if (!L->open_fail_since) L->open_fail_since = now;
            if (now - L->open_fail_since > OPEN_GRACE_MS) return fail(&err);
            snprintf(L->message, sizeof L->message, "opening %s: %s", L->o->run, err.msg);
            L->dirty = 1;
            return -1;
        }
        L->open_fail_since = 0;
        L->dirty = 1;
    } else {
        int last = L->s.rec == L->v->R - 1, changed = 0;
        if (sc_vlog_refresh(L->v, &changed, &err) != SC_OK) {
            /* e.g. a resume cutting the log back: reopen */
            sc_vlog_free(L->v);
            L->v = NULL;
            set_status(L, err.msg);
            return -1;
        }
        if (changed) {
            if (last && L->have_state) L->s.rec = L->v->R - 1;  /* watching the newest: stay on the newest */
            L->dirty = 1;
        }
    }
    if (L->v->R == 0) {
        snprintf(L->message, sizeof L->message, "waiting for the first glimpse record of %s ...", L->o->run);
        return -1;
    }
    if (!L->have_state) {
        if (initial_state(&L->s, L->o, L->v, L->title, &err) != SC_OK) return fail(&err);
        L->have_state = 1;
    }
    sc_view_clamp(&L->s, L->v);
    return -1;
}

static int save_screenshot(loop *L, int w, int h) {
    char name[300];
    uint8_t *rgb = malloc((size_t)w * h * 3);
    sc_err err = {0};
    int rc = SC_OK;
    if (!rgb) rc = sc_errf(&err, SC_ENOMEM, "out of memory for a screenshot");
    else if (SDL_RenderReadPixels(L->x.r, NULL, SDL_PIXELFORMAT_RGB24, rgb, w * 3) < 0)
        rc = sc_errf(&err, SC_EIO, "cannot read the window back: %s", SDL_GetError());
    else if (screenshot_name(name, sizeof name, L->o->run, L->v->epoch[L->s.rec], L->s.t) != 0)
        rc = sc_errf(&err, SC_EIO, "no free screenshot name in the current folder");
    else
        rc = sc_png_write(name, rgb, w, h, &err);
    free(rgb);
    char msg[SC_ERR_MSG_MAX + 32];
    if (rc == SC_OK) {
        printf("saved %s\n", name);
        fflush(stdout);
        snprintf(msg, sizeof msg, "saved %s", name);
    } else {
        fprintf(stderr, "saccade: %s\n", err.msg);
        snprintf(msg, sizeof msg, "not saved: %s", err.msg);
    }
    set_status(L, msg);
    return rc;
}

/* Draws (and saves, when asked) one frame. Returns -1 or an exit status. */
static int redraw(loop *L) {
    sc_err err = {0};
    int w, h;
    if (SDL_GetRendererOutputSize(L->x.r, &w, &h) < 0) {
        fprintf(stderr, "saccade: view: SDL_GetRendererOutputSize failed: %s\n", SDL_GetError());
        return 1;
    }
    int rc;
    if (!L->v || L->v->R == 0 || !L->have_state) {
        rc = sc_view_draw_message(L->x.r, L->f, L->title, L->message, &err);
    } else {
        rc = sc_vlog_load(L->v, L->s.rec, &err);
        if (rc != SC_OK && L->o->follow) {
            /* a log being written (or cut back by a resume): reopen it and go on */
            sc_vlog_free(L->v);
            L->v = NULL;
            set_status(L, err.msg);
            snprintf(L->message, sizeof L->message, "reopening %s ...", L->o->run);
            return sc_view_draw_message(L->x.r, L->f, L->title, L->message, &err) == SC_OK ? -1 : fail(&err);
        }
        if (rc == SC_OK) rc = sc_view_draw(L->x.r, L->f, L->v, &L->s, &err);
        char wt[400];
        snprintf(wt, sizeof wt, "saccade view - %s - epoch %d", L->title, L->v->epoch[L->s.rec]);
        SDL_SetWindowTitle(L->x.w, wt);
    }
    if (rc != SC_OK) return fail(&err);
    if (L->save && L->v && L->have_state) {
        L->save = 0;
        save_screenshot(L, w, h);
        /* draw again with the status line saying where it went */
        if (sc_view_draw(L->x.r, L->f, L->v, &L->s, &err) != SC_OK) return fail(&err);
    }
    SDL_RenderPresent(L->x.r);
    L->dirty = 0;
    return -1;
}

static void on_event(loop *L, const SDL_Event *e) {
    int ready = L->v && L->have_state && L->v->R > 0;
    switch (e->type) {
    case SDL_QUIT:
        L->quit = 1;
        break;
    case SDL_WINDOWEVENT:
        if (e->window.event == SDL_WINDOWEVENT_SIZE_CHANGED || e->window.event == SDL_WINDOWEVENT_EXPOSED)
            L->dirty = 1;
        break;
    case SDL_KEYDOWN: {
        SDL_Keycode k = e->key.keysym.sym;
        if (!ready) {
            if (k == SDLK_q || k == SDLK_ESCAPE) L->quit = 1;
            break;
        }
        int was_playing = L->s.playing;
        sc_view_action a = sc_view_key(&L->s, L->v, k);
        if (a == SC_VIEW_QUIT) L->quit = 1;
        else if (a == SC_VIEW_SAVE) L->save = L->dirty = 1;
        else if (a == SC_VIEW_REDRAW) L->dirty = 1;
        if (L->s.playing && !was_playing) {
            L->next_tick = SDL_GetTicks64() + PLAY_MS;
            L->hold = 0;
        }
        break;
    }
    case SDL_MOUSEBUTTONDOWN:
    case SDL_MOUSEMOTION:
    case SDL_MOUSEBUTTONUP: {
        if (!ready) break;
        int w, h;
        if (SDL_GetRendererOutputSize(L->x.r, &w, &h) < 0) break;
        SDL_Rect t;
        sc_view_slider(w, h, &t);
        if (e->type == SDL_MOUSEBUTTONUP) {
            L->dragging = 0;
            break;
        }
        int mx = e->type == SDL_MOUSEMOTION ? e->motion.x : e->button.x;
        int my = e->type == SDL_MOUSEMOTION ? e->motion.y : e->button.y;
        if (e->type == SDL_MOUSEBUTTONDOWN && e->button.button == SDL_BUTTON_LEFT && my >= t.y - 12 &&
            my <= t.y + t.h + 12 && mx >= t.x - 8 && mx <= t.x + t.w + 8)
            L->dragging = 1;
        if (L->dragging) {
            int r = sc_view_slider_pick(L->v, w, h, mx);
            if (r != L->s.rec) {
                L->s.rec = r;
                L->dirty = 1;
            }
        }
        break;
    }
    case SDL_MOUSEWHEEL:
        if (ready && e->wheel.y != 0) {
            sc_view_action a = sc_view_key(&L->s, L->v, e->wheel.y > 0 ? SDLK_UP : SDLK_DOWN);
            if (a == SC_VIEW_REDRAW) L->dirty = 1;
        }
        break;
    default:
        break;
    }
}

static int run_window(const view_opts *o, sc_view_fonts *f, sc_vlog *v) {
    loop L;
    memset(&L, 0, sizeof L);
    L.o = o;
    L.f = f;
    L.v = v;
    snprintf(L.title, sizeof L.title, "%s", base_name(o->run));
    int w = o->w, h = o->h;
    if (!o->has_size) {
        /* from the log when it is open; a 28x28 one's otherwise (--follow, log not there yet) */
        sc_view_state s0 = {.cols = o->cols, .rows = o->rows};
        sc_vlog probe = {.W = 28, .H = 28};
        sc_view_default_size(v ? v : &probe, &s0, &w, &h);
    }
    int rc = win_open(&L.x, "saccade view", w, h, !o->has_size);
    if (rc >= 0) {
        sc_vlog_free(v);
        return rc;
    }
    Uint64 now = SDL_GetTicks64();
    L.deadline = o->exit_after ? now + (Uint64)o->exit_after : 0;
    if (v) {
        sc_err err = {0};
        if (initial_state(&L.s, o, v, L.title, &err) != SC_OK) rc = fail(&err);  /* checked before, cannot fail */
        L.have_state = 1;
    } else {
        rc = poll_log(&L);
    }
    L.dirty = 1;
    L.next_poll = now + FOLLOW_MS;
    while (rc < 0 && !L.quit) {
        if (L.dirty && (rc = redraw(&L)) >= 0) break;
        now = SDL_GetTicks64();
        Uint64 wake = now + 1000;
        if (o->follow && L.next_poll < wake) wake = L.next_poll;
        if (L.s.playing && L.next_tick < wake) wake = L.next_tick;
        if (L.s.status && L.status_until < wake) wake = L.status_until;
        if (L.deadline && L.deadline < wake) wake = L.deadline;
        SDL_Event e;
        if (SDL_WaitEventTimeout(&e, wake > now ? (int)(wake - now) : 0)) {
            on_event(&L, &e);
            while (!L.quit && !L.save && SDL_PollEvent(&e)) on_event(&L, &e);  /* a save sees the frame as it is now */
        }
        now = SDL_GetTicks64();
        if (L.deadline && now >= L.deadline) break;
        if (L.s.status && now >= L.status_until) {
            L.s.status = NULL;
            L.dirty = 1;
        }
        if (L.s.playing && now >= L.next_tick && L.v && L.have_state) {
            L.next_tick = now + PLAY_MS;
            if (L.s.t < L.v->T) L.s.t++;
            else if (++L.hold > 2) {  /* hold the whole trajectory a moment, then start again */
                L.s.t = 1;
                L.hold = 0;
            }
            L.dirty = 1;
        }
        if (o->follow && now >= L.next_poll) {
            L.next_poll = now + FOLLOW_MS;
            rc = poll_log(&L);
        }
    }
    win_close(&L.x);
    sc_vlog_free(L.v);
    return rc < 0 ? 0 : rc;
}

int sc_view_main(int argc, char **argv) {
    view_opts o;
    int rc = parse_args(&o, argc, argv);
    if (rc >= 0) return rc;
    sc_err err = {0};
    sc_view_fonts f;
    if (sc_view_fonts_open(&f, &err) != SC_OK) return fail(&err);

    sc_vlog *v = NULL;
    int follow_wait = o.follow && access(o.run, F_OK) != 0;  /* --follow may start before the trainer */
    if (!follow_wait) {
        /* open it now, so that errors come before any window */
        if (sc_vlog_open(&v, o.run, &err) != SC_OK) {
            if (o.follow) {  /* it may be being created: poll_log retries for a while */
                rc = run_window(&o, &f, NULL);
                sc_view_fonts_close(&f);
                return rc;
            }
            sc_view_fonts_close(&f);
            return fail(&err);
        }
        sc_view_state s;
        rc = SC_OK;
        if (v->R == 0 && !o.follow) rc = no_records(v, &err);
        else if (v->R > 0) rc = initial_state(&s, &o, v, base_name(o.run), &err);
        if (rc == SC_OK && (o.png || o.gif)) {
            if (!o.has_size) sc_view_default_size(v, &s, &o.w, &o.h);
            rc = sc_vlog_load(v, s.rec, &err);
            if (rc == SC_OK && o.png) rc = write_png(o.png, &f, v, &s, o.w, o.h, &err);
            if (rc == SC_OK && o.gif) rc = write_gif(o.gif, &f, v, &s, o.w, o.h, &err);
            sc_vlog_free(v);
            sc_view_fonts_close(&f);
            return rc == SC_OK ? 0 : fail(&err);
        }
        if (rc != SC_OK) {
            sc_vlog_free(v);
            sc_view_fonts_close(&f);
            return fail(&err);
        }
        if (o.follow && v->R == 0) {  /* poll_log takes it from here */
            sc_vlog_free(v);
            v = NULL;
        }
    }
    rc = run_window(&o, &f, v);
    sc_view_fonts_close(&f);
    return rc;
}
