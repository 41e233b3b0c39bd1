/* Binding safetensors tensors to the graph's weight slots. */
#ifndef CNN_WEIGHTS_H
#define CNN_WEIGHTS_H

#include "graph.h"
#include "safetensors.h"

/* For every weight slot of every node: finds the tensor by name, checks the
 * shape, converts to fp32 (zero-copy for aligned F32), and rejects NaN/Inf.
 * Tensors in `st` that no slot uses are an error ("extra tensor"), except
 * names ending in ".num_batches_tracked" and names starting with one of the
 * NULL-terminated `ignored_prefixes` (e.g. auxiliary classifier heads).
 * Messages name the tensor. */
cnn_status_t cnn_graph_bind_weights(cnn_graph_t *g, const cnn_safetensors_t *st,
                                    const char *const *ignored_prefixes, cnn_error_t *err);

#endif
