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
 * the image read as 0. Output per image: k patches of g*g, scale 0 first,
 * each row-major.
 */
#ifndef SACCADE_ENV_RETINA_H
#define SACCADE_ENV_RETINA_H

/* img (B, H, W), loc (B, 2), out (B, k*g*g). */
void sc_retina_extract(float *out, const float *img, const float *loc,
                       int B, int H, int W, int g, int k);

/* The top-left pixel of scale s's square for location coordinate v on an axis
 * of length n (the formula above), for callers that draw the squares. */
int sc_retina_origin(float v, int n, int g, int s);

#endif
