/* Activation memory planning: liveness of each tensor over the execution
 * order, and offsets in one arena so tensors whose lifetimes do not overlap
 * share memory. */
#ifndef CNN_PLANNER_H
#define CNN_PLANNER_H

#include "graph.h"

/* For every node i of the rewritten graph: first[i] = i (the step producing it),
 * last[i] = the last step that reads it (the graph output and any node with
 * pinned[i] set live to the end). Fused-away nodes get first = last = -1.
 * `pinned` may be NULL. */
void cnn_graph_liveness(const cnn_graph_t *g, const bool *pinned, int *first, int *last);

/* Assigns offsets (multiples of `alignment`) for n tensors with byte sizes
 * sizes[i] and live ranges [first[i], last[i]] (first < 0 or size 0: no
 * buffer, offset 0) so that tensors live at the same step never overlap.
 * Greedy: largest first, lowest fitting offset. *total = arena size.
 * Returns CNN_E_NOMEM if scratch allocation fails. */
cnn_status_t cnn_plan_arena(int n, const size_t *sizes, const int *first, const int *last,
                            size_t alignment, size_t *offsets, size_t *total);

/* Arena bytes for fp32 NCHW activations of `batch` images of graph `g`. */
size_t cnn_graph_peak_activation_bytes(const cnn_graph_t *g, int batch);

#endif
