/* Collects an imported network (graph-form nodes + fp32 tensors) and writes
 * it as a model directory: model.json (architecture.graph, see
 * engine/src/graph_json.h) and weights.safetensors. Used by the ONNX and
 * Keras importers; `cnnserve convert` owns the writer and saves it. */
#ifndef TOOLS_MODEL_WRITER_H
#define TOOLS_MODEL_WRITER_H

#include "cnn/cnn.h"

#include <cjson/cJSON.h>
#include <stdint.h>

typedef struct tools_model_writer tools_model_writer_t;

tools_model_writer_t *tools_writer_new(void);
void tools_writer_free(tools_model_writer_t *w);

/* Appends node {"name", "op", "inputs": [...]} and returns the JSON object so
 * the caller can add the op's keys (cJSON_AddNumberToObject ...). The object
 * is owned by the writer. NULL on out of memory. `inputs` may be NULL when
 * num_inputs is 0 (the input node). */
cJSON *tools_writer_add_node(tools_model_writer_t *w, const char *name, const char *op,
                             const char *const *inputs, int num_inputs);
/* Adds a tensor (copied; dims[0] outermost). CNN_E_FORMAT when the name
 * already exists, CNN_E_NOMEM. */
cnn_status_t tools_writer_add_tensor(tools_model_writer_t *w, const char *name, int ndim,
                                     const int64_t *dims, const float *data, cnn_error_t *err);
/* Sets graph.output; default: the last node added. */
cnn_status_t tools_writer_set_output(tools_model_writer_t *w, const char *name, cnn_error_t *err);
/* Sets model.json's preprocessing (NULL: keep the default for the input's
 * channel count: pixels / 255, no mean/std). */
void tools_writer_set_preprocess(tools_model_writer_t *w, const cnn_preprocess_t *p);

/* Sets model.json's labels (copied). */
cnn_status_t tools_writer_set_labels(tools_model_writer_t *w, const char *const *labels, int n,
                                     cnn_error_t *err);

/* Channel count of the input node's shape (0 before it is added). */
int tools_writer_input_channels(const tools_model_writer_t *w);
int tools_writer_node_count(const tools_model_writer_t *w);
int tools_writer_tensor_count(const tools_model_writer_t *w);

typedef struct tools_save_opts {
    const char *out_dir;
    const char *name; /* NULL: the directory's last component */
    bool force;       /* write into a non-empty directory */
} tools_save_opts_t;

/* Writes out_dir/model.json and out_dir/weights.safetensors, then loads the
 * directory with cnn_model_load so a written model is known to load. */
cnn_status_t tools_writer_save(tools_model_writer_t *w, const tools_save_opts_t *o, cnn_error_t *err);

#endif
