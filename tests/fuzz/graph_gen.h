/* Byte-driven generator of random valid graph-form models (graph_spec.h).
 *
 * The input bytes are read as a stream of decisions; once they run out every
 * decision reads 0, which picks the default (smallest, simplest) choice, so
 * every byte string, the empty one included, maps to a valid model.
 * Weights, inputs and other real numbers come from a PRNG seeded by the
 * first bytes, so a mutation of the structure keeps the numbers stable.
 */
#ifndef CNN_GRAPH_GEN_H
#define CNN_GRAPH_GEN_H

#include "graph_spec.h"

/* A cursor over the decision bytes. */
typedef struct gg_reader {
    const uint8_t *data;
    size_t size, pos;
} gg_reader_t;

/* The next byte, or 0 once the input is exhausted. */
uint8_t gg_byte(gg_reader_t *r);
/* An integer in [lo, hi] (lo when exhausted). */
int gg_int(gg_reader_t *r, int lo, int hi);
/* True with about `percent` % probability (false when exhausted). */
bool gg_chance(gg_reader_t *r, int percent);

/* splitmix64: the generator's PRNG (also used by the checker for its run choices). */
uint64_t gg_rand(uint64_t *state);
/* Uniform float in [lo, hi). */
float gg_uniform(uint64_t *state, float lo, float hi);

/* Limits of what the generator builds (so one model runs in milliseconds). */
#define GG_MAX_CHANNELS 16
#define GG_MAX_SIDE 20
#define GG_TARGET_NODES 25

/* Fills *spec from the decision bytes: shapes, parameters, weights. Reads
 * decisions from r (consuming what it uses). Returns 0, or -1 when out of
 * memory (then *spec holds nothing to free). */
int gg_generate(gg_reader_t *r, gs_spec_t *spec);

#endif
