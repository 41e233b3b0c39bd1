/* Writes a generated spec (graph_spec.h) as a model directory in the graph
 * form cnn_model_load reads: model.json ("architecture": {"graph": ...}, see
 * engine/src/graph_json.h) and weights.safetensors ("<node>.weight", ...).
 */
#ifndef CNN_GRAPH_WRITE_H
#define CNN_GRAPH_WRITE_H

#include "graph_spec.h"

/* The model.json text of spec (malloc'ed), or NULL when out of memory.
 * Optional keys are written or left to their defaults as each node's
 * write_* flags say. */
char *gw_model_json(const gs_spec_t *spec);

/* Writes dir/model.json (the text `json`) and dir/weights.safetensors
 * (every weight of spec, F32), replacing earlier files. Returns 0, or -1
 * with errno set. */
int gw_write_model(const char *dir, const gs_spec_t *spec, const char *json);

#endif
