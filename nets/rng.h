/* rng.h - explicit-state random numbers (xoshiro256** seeded by splitmix64).
 *
 * Every random draw in saccade takes an sc_rng* passed in by the caller; there
 * is no global state and no rand(). The same seed gives the same stream on
 * every platform. Streams for independent purposes (data order, canvases,
 * locations, initialisation) are derived with sc_rng_derive so that changing
 * how many numbers one purpose draws does not shift another.
 */
#ifndef SACCADE_NETS_RNG_H
#define SACCADE_NETS_RNG_H

#include <stdint.h>

typedef struct sc_rng {
    uint64_t s[4];
    float spare;      /* second Box-Muller value, valid when has_spare */
    int has_spare;
} sc_rng;

/* Seeds the state from a 64-bit seed (splitmix64 expansion; any seed is valid). */
void sc_rng_seed(sc_rng *r, uint64_t seed);

/* A generator for sub-stream `stream` of `seed`: deterministic in (seed, stream),
 * statistically independent across streams. Use for per-example or per-purpose
 * generators, e.g. sc_rng_derive(&r, cfg_seed, example_index * 4 + 2). */
void sc_rng_derive(sc_rng *r, uint64_t seed, uint64_t stream);

uint64_t sc_rng_u64(sc_rng *r);        /* uniform 64 bits */
float sc_rng_uniform(sc_rng *r);        /* uniform in [0, 1), 24-bit resolution */
double sc_rng_uniform_d(sc_rng *r);     /* uniform in [0, 1), 53-bit resolution */
float sc_rng_normal(sc_rng *r);         /* standard normal (Box-Muller, both values used) */
uint32_t sc_rng_int(sc_rng *r, uint32_t n); /* uniform integer in [0, n), unbiased; n > 0 */

/* Fisher-Yates shuffle of idx[0..n). */
void sc_rng_shuffle(sc_rng *r, int *idx, int n);

#endif
