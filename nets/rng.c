/* rng.c - xoshiro256** with splitmix64 seeding (see rng.h).
 * Reference: Blackman & Vigna, "Scrambled linear pseudorandom number generators". */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void sc_rng_seed(sc_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    r->spare = 0.0f;
    r->has_spare = 0;
}

void sc_rng_derive(sc_rng *r, uint64_t seed, uint64_t stream) {
    /* Two rounds of splitmix mixing make (seed, stream) pairs that differ in
     * one bit land on unrelated states. */
    uint64_t x = seed;
    uint64_t a = splitmix64(&x);
    uint64_t y = stream ^ 0xD1B54A32D192ED03ull;
    uint64_t b = splitmix64(&y);
    sc_rng_seed(r, a ^ rotl(b, 17) ^ (b * 0x9E3779B97F4A7C15ull));
}

uint64_t sc_rng_u64(sc_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float sc_rng_uniform(sc_rng *r) {
    return (float)(sc_rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

double sc_rng_uniform_d(sc_rng *r) {
    return (double)(sc_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

float sc_rng_normal(sc_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    /* Box-Muller: u1 in (0,1] so log(u1) is finite. */
    double u1 = 1.0 - sc_rng_uniform_d(r);
    double u2 = sc_rng_uniform_d(r);
    double rad = sqrt(-2.0 * log(u1));
    double th = 6.283185307179586 * u2;
    r->spare = (float)(rad * sin(th));
    r->has_spare = 1;
    return (float)(rad * cos(th));
}

uint32_t sc_rng_int(sc_rng *r, uint32_t n) {
    /* Lemire's nearly-divisionless method with rejection: unbiased. */
    uint64_t m = (uint64_t)(uint32_t)(sc_rng_u64(r) >> 32) * n;
    uint32_t l = (uint32_t)m;
    if (l < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (l < t) {
            m = (uint64_t)(uint32_t)(sc_rng_u64(r) >> 32) * n;
            l = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void sc_rng_shuffle(sc_rng *r, int *idx, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)sc_rng_int(r, (uint32_t)(i + 1));
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
