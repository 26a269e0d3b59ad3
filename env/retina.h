/* retina.h - the glimpse sensor of the recurrent attention model.
 *
 * Locations are (x, y) in [-1,1]^2: (-1,-1) is the top-left corner of the
 * image, (0,0) its centre, (1,1) the bottom-right corner. Pixel (i, j) (column
 * i, row j) covers [i, i+1) x [j, j+1) in continuous coordinates, so a
 * location maps to the point
 *     cx = (x + 1) / 2 * W,   cy = (y + 1) / 2 * H.
 * Scale s (0-based) reads a square of side S = g * 2^s whose top-left pixel is
 *     x0 = floor(cx - S/2 + 1/2),  y0 = floor(cy - S/2 + 1/2)
 * (for a 28x28 image and l = (0,0), the 8x8 patch covers pixels 10..17),
 * and reduces it to g x g by averaging each 2^s x 2^s block. Pixels outside
 * the image read as 0. The two axes map independently (x with W, y with H),
 * so a non-square image needs nothing special: on a 20-row, 28-column image
 * l = (0,0) puts the 8x8 patch on columns 10..17 and rows 6..13.
 *
 * Channels: an image of C channels is stored (H, W, C) with the channels of a
 * pixel next to each other (HWC, row-major); C = 1 is a plain (H, W) image.
 * Each channel is sensed on its own, with the same squares: output per image
 * k patches, scale 0 first, each (g, g, C) row-major with the channels
 * interleaved the same way, i.e. value (s, py, px, c) at
 *     ((s g + py) g + px) C + c.
 * For C <= SC_RETINA_EXACT_CHANNELS, channel c of the output is bit for bit
 * what a one-channel extraction of channel c alone gives (the same sums in
 * the same order); beyond, the widest squares may round differently.
 */
#ifndef SACCADE_ENV_RETINA_H
#define SACCADE_ENV_RETINA_H

#define SC_RETINA_EXACT_CHANNELS 4

/* img (B, H, W, C), loc (B, 2), out (B, k*g*g*C); C >= 1. */
void sc_retina_extract(float *out, const float *img, const float *loc,
                       int B, int H, int W, int C, int g, int k);

/* The top-left pixel of scale s's square for location coordinate v on an axis
 * of length n (the formula above), for callers that draw the squares. */
int sc_retina_origin(float v, int n, int g, int s);

#endif
