/* Softmax and top-k ranking of output vectors. */
#include "ranking.h"

#include <math.h>
#include <stdlib.h>

void srv_rank_probabilities(const float *out, size_t n, bool already, double *prob)
{
    if (already) {
        for (size_t i = 0; i < n; i++)
            prob[i] = out[i];
        return;
    }
    double max = -INFINITY, sum = 0.0;
    for (size_t i = 0; i < n; i++)
        if (out[i] > max)
            max = out[i];
    for (size_t i = 0; i < n; i++) {
        prob[i] = exp((double)out[i] - max);
        sum += prob[i];
    }
    for (size_t i = 0; i < n; i++)
        prob[i] /= sum;
}

typedef struct ranked {
    double prob;
    int cls;
} ranked_t;

/* Largest probability first; NaN last; ties: lower class first. */
static int compare_ranked(const void *pa, const void *pb)
{
    const ranked_t *a = pa, *b = pb;
    bool na = isnan(a->prob), nb = isnan(b->prob);
    if (na != nb)
        return na ? 1 : -1;
    if (!na && a->prob != b->prob)
        return a->prob > b->prob ? -1 : 1;
    return a->cls - b->cls;
}

bool srv_rank_top_k(const double *prob, size_t n, int k, int *idx)
{
    ranked_t *scratch = malloc((n ? n : 1) * sizeof *scratch);
    if (!scratch)
        return false;
    for (size_t i = 0; i < n; i++)
        scratch[i] = (ranked_t){prob[i], (int)i};
    qsort(scratch, n, sizeof *scratch, compare_ranked);
    for (int j = 0; j < k; j++)
        idx[j] = scratch[j].cls;
    free(scratch);
    return true;
}
