/* Pieces of the Keras importer shared by its files: the model's layer graph
 * (keras_model.c), Keras tensors as they flow through the conversion, and
 * the per-layer converters (keras_layers.c, keras_layers_merge.c). */
#ifndef TOOLS_KERAS_INTERNAL_H
#define TOOLS_KERAS_INTERNAL_H

#include "keras_h5.h"
#include "model_writer.h"

#include <cjson/cJSON.h>

/* One layer of the model and the layers whose outputs it takes. */
typedef struct tools_keras_layer {
    const char *cls;      /* Keras class_name */
    const char *name;     /* unique layer name */
    const cJSON *config;  /* the layer's "config" object */
    int *inputs;          /* indices of earlier layers in tools_keras_model_t.layers */
    int num_inputs;
} tools_keras_layer_t;

/* The layer graph of model_config: topologically ordered, pruned to the
 * layers the output depends on; layers[0] is the input layer. */
typedef struct tools_keras_model {
    cJSON *json;
    tools_keras_layer_t *layers;
    int num_layers;
    int output;     /* index of the output layer */
    int num_outputs; /* outputs the model declares (the last one is kept) */
    char *input_name; /* owned name of a synthesized InputLayer, or NULL */
} tools_keras_model_t;

/* Parses the model_config JSON text. Errors are CNN_E_FORMAT or
 * CNN_E_UNSUPPORTED (shared layers, several inputs). */
cnn_status_t tools_keras_model_parse(const char *text, tools_keras_model_t *m, cnn_error_t *err);
void tools_keras_model_free(tools_keras_model_t *m);

/* A Keras tensor (per image) and the graph node that computes it. Images are
 * [H, W, C] in Keras and [C, H, W] in the engine; vectors (rank 2) may come
 * from a channels_last Flatten, whose HWC order `perm` records: feature k of
 * the Keras vector is element perm[k] of the engine's (NULL: the same). */
typedef struct tools_keras_tensor {
    char *node;
    int rank; /* 4: image, 2: vector of c features (h = w = 1) */
    int h, w, c;
    int *perm;
} tools_keras_tensor_t;

void tools_keras_tensor_clear(tools_keras_tensor_t *t);

/* What the layer converters share. */
typedef struct tools_keras_ctx {
    tools_h5_t *h5;
    tools_model_writer_t *w;
    bool theano;       /* kernels saved by the Theano backend are flipped */
    char **names;      /* graph node names in use */
    int num_names, cap_names;
} tools_keras_ctx_t;

/* The import itself, asking `h5` (live or replayed) for what it needs. */
cnn_status_t tools_keras_import_h5(tools_h5_t *h5, tools_model_writer_t *w, cnn_error_t *err);

/* Reads the Keras file at `path` through libhdf5 in a child process and
 * returns the log of its answers (malloc'ed in *log). The child gives up
 * after a time limit: 60 s plus 1 s per 4 MiB of file, or the seconds in
 * the environment variable CNNSERVE_HDF5_TIMEOUT. (keras_child.c) */
cnn_status_t tools_keras_record_isolated(const char *path, uint8_t **log, size_t *len, cnn_error_t *err);

/* True when `cls` is a layer class the importer converts. */
bool tools_keras_layer_supported(const char *cls);

/* Converts one layer: adds its nodes and weights to ctx->w and fills *out.
 * in[0..l->num_inputs) are the tensors of l->inputs. Errors name the layer. */
cnn_status_t tools_keras_layer_convert(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                       const tools_keras_tensor_t *const *in, tools_keras_tensor_t *out,
                                       cnn_error_t *err);

/* --- helpers for the converters (keras_layers.c) --- */

/* Claims a graph node name: `base`, or base_2, base_3, ... when taken. The
 * returned string is owned by ctx. NULL when out of memory. The driver
 * claims every layer's name first, so a layer's own node is named exactly
 * like the layer and extra nodes get names no layer has. */
const char *tools_keras_claim_name(tools_keras_ctx_t *ctx, const char *base);
/* Claims "<layer>/<suffix>" (made unique) for an extra node of a layer. */
const char *tools_keras_extra_name(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l, const char *suffix);

/* Adds node `name` (see tools_writer_add_node) and points out->node at it
 * (inputs may include the old out->node); NULL with err set on failure. */
cJSON *tools_keras_add_node(tools_keras_ctx_t *ctx, const char *name, const char *op,
                            const char *const *inputs, int num_inputs, tools_keras_tensor_t *out,
                            cnn_error_t *err);

/* Config values: an int in [min, max] (or the default when absent/null). */
cnn_status_t tools_keras_cfg_int(const tools_keras_layer_t *l, const char *key, int def, int min, int max,
                                 int *out, cnn_error_t *err);
/* An int (used twice) or a list of two ints, each in [min, max], into out. */
bool tools_keras_json_pair(const cJSON *v, int min, int max, int out[2]);
/* The same for a config value (the default when absent/null). */
cnn_status_t tools_keras_cfg_pair(const tools_keras_layer_t *l, const char *key, int def, int min, int max,
                                  int out[2], cnn_error_t *err);
cnn_status_t tools_keras_cfg_bool(const tools_keras_layer_t *l, const char *key, bool def, bool *out,
                                  cnn_error_t *err);
cnn_status_t tools_keras_cfg_number(const tools_keras_layer_t *l, const char *key, double def, double *out,
                                    cnn_error_t *err);
/* A string value, or `def` when absent. */
cnn_status_t tools_keras_cfg_string(const tools_keras_layer_t *l, const char *key, const char *def,
                                    const char **out, cnn_error_t *err);

cnn_status_t tools_keras_nomem(cnn_error_t *err);
/* Fails unless `in` is an image (rank 4). */
cnn_status_t tools_keras_need_image(const tools_keras_layer_t *l, const tools_keras_tensor_t *in, cnn_error_t *err);
/* Adds key: [v0, v1, ...] to a node; false when out of memory. */
bool tools_keras_add_ints(cJSON *node, const char *key, const int *v, int n);
/* Adds "padding": "same" (TensorFlow's, as Keras) or "pads": [0, 0, 0, 0]. */
bool tools_keras_add_padding(cJSON *node, bool same);
/* Output size of a conv/pool window along one axis: TensorFlow's "same"
 * gives ceil(in / s); "valid" counts whole windows of (k - 1) * d + 1. */
int tools_keras_window_out(int in, int k, int s, int d, bool same);

/* Refuses data_format channels_first. */
cnn_status_t tools_keras_check_channels_last(const tools_keras_layer_t *l, cnn_error_t *err);

/* Adds the node for a Keras activation name after `t` (which it updates);
 * "linear" adds nothing. The node is named like the layer when `own` (an
 * Activation layer), "<layer>/<activation>" otherwise. */
cnn_status_t tools_keras_add_activation(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l, bool own,
                                        const char *activation, tools_keras_tensor_t *t, cnn_error_t *err);

/* Copies `in` (node name, shape, perm) into *out: for layers that change nothing. */
cnn_status_t tools_keras_tensor_copy(const tools_keras_tensor_t *in, tools_keras_tensor_t *out, cnn_error_t *err);

/* Converters of layers without weights (keras_layers_plain.c): `in` is the
 * layer's one input. */
#define TOOLS_KERAS_PLAIN(fn)                                                                          \
    cnn_status_t fn(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l, const tools_keras_tensor_t *in, \
                    tools_keras_tensor_t *out, cnn_error_t *err)
TOOLS_KERAS_PLAIN(tools_keras_convert_pool);        /* MaxPooling2D, AveragePooling2D */
TOOLS_KERAS_PLAIN(tools_keras_convert_global_pool); /* GlobalAveragePooling2D, GlobalMaxPooling2D */
TOOLS_KERAS_PLAIN(tools_keras_convert_zero_pad);
TOOLS_KERAS_PLAIN(tools_keras_convert_flatten);
TOOLS_KERAS_PLAIN(tools_keras_convert_activation); /* Activation */
TOOLS_KERAS_PLAIN(tools_keras_convert_act_layer);  /* ReLU, LeakyReLU, ELU, Softmax */
TOOLS_KERAS_PLAIN(tools_keras_convert_identity);   /* Dropout and other training-only layers */

/* Merge layers (keras_layers_merge.c): Concatenate and Add. */
cnn_status_t tools_keras_convert_concat(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                        const tools_keras_tensor_t *const *in, tools_keras_tensor_t *out,
                                        cnn_error_t *err);
cnn_status_t tools_keras_convert_add(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                     const tools_keras_tensor_t *const *in, tools_keras_tensor_t *out,
                                     cnn_error_t *err);

/* Weights (keras_weights.c). Reads the `count` weights of layer `l` listed
 * in model_weights/<layer>'s weight_names; fails when the layer has a
 * different number. names[i] (for messages) are the stored weight names. */
typedef struct tools_keras_weights {
    int count;
    char **names;
    float *data[4];
    int ndim[4];
    int64_t dims[4][TOOLS_H5_MAX_DIMS];
} tools_keras_weights_t;

cnn_status_t tools_keras_weights_read(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l, int count,
                                      const char *what, tools_keras_weights_t *wt, cnn_error_t *err);
void tools_keras_weights_free(tools_keras_weights_t *wt);
/* Fails unless weight i has shape dims[0..ndim). */
cnn_status_t tools_keras_weights_check(const tools_keras_layer_t *l, const tools_keras_weights_t *wt, int i,
                                       int ndim, const int64_t *dims, cnn_error_t *err);
/* Adds tensor "<node>.<suffix>" to the writer. */
cnn_status_t tools_keras_add_tensor(tools_keras_ctx_t *ctx, const char *node, const char *suffix, int ndim,
                                    const int64_t *dims, const float *data, cnn_error_t *err);

#endif
