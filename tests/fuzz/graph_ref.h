/* Naive reference interpreter of a generated spec (graph_spec.h): every node
 * evaluated as written (no rewrites), with the shared kernels of
 * tests/ref/ref_ops.h (plain loops, double accumulation) and PyTorch's
 * semantics for each op.
 */
#ifndef CNN_GRAPH_REF_H
#define CNN_GRAPH_REF_H

#include "graph_spec.h"

/* Evaluates spec on `batch` images (input: batch × numel(node 0) floats,
 * NCHW). Returns vals with vals[i] = node i's output, batch × numel(node i)
 * floats, or NULL when out of memory. Free with gr_free. */
float **gr_eval(const gs_spec_t *spec, const float *input, int batch);
void gr_free(const gs_spec_t *spec, float **vals);

#endif
