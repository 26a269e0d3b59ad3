/* imgio.h - writing the viewer's frames to files: PNG (libpng) and animated
 * GIF (giflib).
 *
 * Frames are tightly packed 8-bit RGB, row-major, top row first. Each writer
 * writes FILE.tmp and renames it over FILE when complete, so a failure
 * (unwritable folder, disk full) leaves no half-written file; the message
 * names the file and the reason.
 */
#ifndef SACCADE_VIZ_IMGIO_H
#define SACCADE_VIZ_IMGIO_H

#include <stdint.h>

#include "nets/err.h"

/* rgb (h, w, 3). */
int sc_png_write(const char *path, const uint8_t *rgb, int w, int h, sc_err *err);

/* n frames, each (h, w, 3); frame i is shown for delay_cs[i] hundredths of a
 * second; the animation loops forever. One palette of 256 colours for all
 * frames (median cut over all of them). */
int sc_gif_write(const char *path, const uint8_t *const *frames, int n, int w, int h, const int *delay_cs,
                 sc_err *err);

#endif
