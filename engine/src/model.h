/* Internal body of cnn_model_t and cnn_session_t. */
#ifndef CNN_MODEL_H
#define CNN_MODEL_H

#include "backend.h"
#include "model_config.h"
#include "safetensors.h"

struct cnn_model {
    cnn_model_config_t config;
    cnn_model_info_t info; /* views into config */
    cnn_graph_t *graph;    /* rewritten, weights bound */
    cnn_safetensors_t *weights;
    int *layer_ids; /* executed node ids in order (fused-away nodes excluded) */
    /* Per node: parameters the weights file holds for it and for every node
     * fused into it (so inspect's totals match the file, not the folded graph). */
    int64_t *file_params;
    int num_layers;
};

struct cnn_session {
    cnn_model_t *model;
    const cnn_backend_i *backend;
    cnn_backend_session_t *impl;
    cnn_session_options_t opts;
};

#endif
