/* Turning a classifier's output vector into ranked predictions, shared by
 * `cnnserve classify` and the server's replies so both rank identically. */
#ifndef SRV_RANKING_H
#define SRV_RANKING_H

#include <stdbool.h>
#include <stddef.h>

/* prob[i] = out[i] when `already` (the graph ends in softmax), else the
 * softmax of out (computed in double, max-subtracted). */
void srv_rank_probabilities(const float *out, size_t n, bool already, double *prob);

/* Writes to idx[0..k) the indices of the k largest prob values, largest
 * first; NaN last; ties: lower index first. k <= n. Returns false when out
 * of memory (for n-sized scratch space). */
bool srv_rank_top_k(const double *prob, size_t n, int k, int *idx);

#endif
