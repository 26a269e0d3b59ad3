/* viewer.h - the viewer's insides, shared by view.c (the command and its
 * window) and draw.c (one frame), and open to the tests: what is on screen
 * (sc_view_state), where it goes (the layout), how a frame is drawn, and what
 * each key does.
 *
 * A frame, at any size w x h:
 *   header  (SC_VIEW_HEADER px)  run name, epoch and step of the record, glimpse
 *                                t/T, correct predictions of the record, mode
 *   grid    cols x rows cells    one logged image each (grey or RGB, H x W),
 *                                scaled by one integer factor for both axes
 *                                when it fits (nearest neighbour), its
 *                                trajectory up to glimpse t, and below it a
 *                                label line (SC_VIEW_LABEL px): the predicted
 *                                class's name and probability, the true
 *                                class's name (the log's class names; a name
 *                                that does not fit is shortened with an
 *                                ellipsis, never below 4 characters)
 *   footer  (SC_VIEW_FOOTER px)  the epoch slider and the key hint (or status)
 * Drawing a RAM record: for each glimpse i = 1..t the k squares the sensor
 * read (scale s: side g 2^s, top-left pixel sc_retina_origin per axis: x
 * over the width W, y over the height H), in the colour
 * of step i (sc_view_step_colour), 1 px wide and a little transparent
 * (SC_VIEW_PAST_ALPHA) for i < t and SC_VIEW_THICK(zoom) px, opaque, for
 * i = t; lines joining the
 * centres; a dot on each centre and its step number when the image is large.
 * A soft record: the attention weights of glimpse t as a heat map (each
 * weight added over its location's scale-0 square, scaled by the image's
 * largest sum). A selfattn record is drawn the same way with head t's
 * weights over the patches (each square exactly its patch); its steps are
 * heads and the header says "head". Predictions are those after glimpse t (the logged `pred` at
 * t = T); a wrong one is red, marked with a cross and framed in red.
 *
 * Nothing here exits or prints; SDL errors come back as SC_EIO with SDL's
 * message.
 */
#ifndef SACCADE_VIZ_VIEWER_H
#define SACCADE_VIZ_VIEWER_H

#include <SDL.h>
#include <SDL_ttf.h>

#include "experiments/runlog.h"
#include "nets/err.h"
#include "viz/vlog.h"

#define SC_VIEW_HEADER 30
#define SC_VIEW_FOOTER 52
#define SC_VIEW_LABEL 22
#define SC_VIEW_PAD 10
#define SC_VIEW_FONT_PT 14
#define SC_VIEW_SMALL_PT 11
/* Opacity of the earlier glimpses' squares and of the path (the current
 * glimpse's squares are opaque). */
#define SC_VIEW_PAST_ALPHA 170
#define SC_VIEW_PATH_ALPHA 230
/* Outline width of the current glimpse's squares at a given zoom. */
#define SC_VIEW_THICK(zoom) ((zoom) >= 6.0 ? 3 : 2)
/* The default font, and the variable that overrides it. */
#define SC_VIEW_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define SC_VIEW_FONT_ENV "SACCADE_FONT"

typedef struct sc_view_state {
    int rec;              /* record shown, 0..R-1 */
    int t;                /* current glimpse, 1..T */
    int first;            /* first image of the page, 0..G-1 */
    int cols, rows;       /* images per page */
    int help;             /* the key help is shown */
    int playing;          /* the glimpses are being animated */
    int following;        /* --follow: new records are picked up */
    const char *title;    /* the run's name, in the header */
    const char *status;   /* a transient footer message, or NULL for the key hint */
} sc_view_state;

typedef struct sc_view_fonts {
    TTF_Font *text, *small;
    int marks;            /* the font has the check and cross glyphs */
    int ttf_init;         /* TTF_Init was called (TTF_Quit on close) */
} sc_view_fonts;

/* Opens the font ($SACCADE_FONT, else SC_VIEW_FONT) at the two sizes. A missing
 * font is SC_EIO naming the file and the Debian package. */
int sc_view_fonts_open(sc_view_fonts *f, sc_err *err);
void sc_view_fonts_close(sc_view_fonts *f); /* accepts a zeroed or closed f */

/* A frame size in which s's grid shows v's images at a whole zoom making them
 * about 250 px on their longer side (for --png, --gif and the window when --size is not given). */
void sc_view_default_size(const sc_vlog *v, const sc_view_state *s, int *w, int *h);

/* Where cell i (0-based on the page) puts its image in a w x h frame, and the
 * scale: canvas pixel (x, y) covers screen pixels
 * [img.x + round(x zoom), img.x + round((x+1) zoom)) and likewise in y. */
void sc_view_cell(const sc_vlog *v, const sc_view_state *s, int w, int h, int i, SDL_Rect *img, double *zoom);

/* The epoch slider's track, and the record under screen column x. */
void sc_view_slider(int w, int h, SDL_Rect *track);
int sc_view_slider_pick(const sc_vlog *v, int w, int h, int x);

/* The colour of glimpse `step` (1..T): a hue ramp from cyan through green,
 * yellow and red to pink. */
SDL_Color sc_view_step_colour(int step, int T);

/* What the header calls a step t of v's run: "glimpse" (ram), "soft
 * attention, step" (soft), "self-attention, head" (selfattn). */
const char *sc_view_step_name(const sc_vlog *v);

/* The predicted class after glimpse t (1..T) of image i in the loaded record,
 * and its probability. */
int sc_view_prediction(const sc_vlog *v, int i, int t, float *prob);

/* The label line under an image: the predicted class's name, probability and
 * mark (drawn green when right, red when wrong) and the true class's name
 * (dimmed), in the small font. */
typedef struct sc_view_caption {
    char pred[SC_RUNLOG_CLASS_NAME_MAX + 64];   /* "cat (93%) \u2713" */
    char truth[SC_RUNLOG_CLASS_NAME_MAX + 16];  /* "  true dog" */
    int width;                                   /* of both, in pixels */
    int right;                                   /* the prediction is the label */
} sc_view_caption;

/* The caption of image i after glimpse t (1..T) of the loaded record, for a
 * cell width pixels wide: names (the log's; a class without one, a hostile
 * prediction, by its number) longer than 32 characters are cut to 32, then the
 * longer of the two loses a character at a time (an ellipsis marks the cut),
 * never below 4 characters, until the caption fits. What still does not fit is
 * clipped when drawn. SC_EIO when SDL_ttf cannot measure the text. */
int sc_view_caption_fit(sc_view_caption *c, const sc_view_fonts *f, const sc_vlog *v, int i, int t, int width,
                        sc_err *err);

/* Draws the frame for s into r (whose output size is the frame's). v's
 * record s->rec must be loaded (sc_vlog_load). */
int sc_view_draw(SDL_Renderer *r, const sc_view_fonts *f, const sc_vlog *v, const sc_view_state *s, sc_err *err);

/* Draws a frame with only a header (title) and a centred message: "waiting
 * for ...". */
int sc_view_draw_message(SDL_Renderer *r, const sc_view_fonts *f, const char *title, const char *msg,
                         sc_err *err);

/* Renders s into a new w x h surface (ARGB8888) with SDL's software renderer:
 * no window and no display needed. Caller frees *out (SDL_FreeSurface). */
int sc_view_render(SDL_Surface **out, const sc_view_fonts *f, const sc_vlog *v, const sc_view_state *s, int w,
                   int h, sc_err *err);

/* What a key asks for, after it has updated s. */
typedef enum { SC_VIEW_NONE = 0, SC_VIEW_REDRAW, SC_VIEW_SAVE, SC_VIEW_QUIT } sc_view_action;

/* The keys: left/right glimpse t-1/t+1; space play/pause; up/down next/previous
 * record (epoch); Home/End first/last record; n/p next/previous page; +/-
 * fewer, larger / more, smaller images; s save a screenshot; h help; q/Esc
 * quit. Keys that change nothing return SC_VIEW_NONE. */
sc_view_action sc_view_key(sc_view_state *s, const sc_vlog *v, SDL_Keycode key);

/* Keeps s's record, glimpse and first image within v (after a log grew or was cut back). */
void sc_view_clamp(sc_view_state *s, const sc_vlog *v);

#endif
