/* The importers' model writer (see model_writer.h). */
#include "model_writer.h"

#include "array_grow.h"
#include "model_config.h"
#include "model_dir.h"
#include "safetensors_write.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tools_model_writer {
    cJSON *nodes; /* array of node objects */
    char *output;
    tools_tensor_t *tensors;
    int num_tensors, cap_tensors;
    cnn_preprocess_t preprocess;
    bool has_preprocess;
    char **labels;
    int num_labels;
};

tools_model_writer_t *tools_writer_new(void)
{
    tools_model_writer_t *w = calloc(1, sizeof *w);
    if (w && !(w->nodes = cJSON_CreateArray())) {
        free(w);
        w = NULL;
    }
    return w;
}

void tools_writer_free(tools_model_writer_t *w)
{
    if (!w)
        return;
    cJSON_Delete(w->nodes);
    free(w->output);
    for (int i = 0; i < w->num_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].data);
    }
    free(w->tensors);
    tools_labels_free(w->labels, w->num_labels);
    free(w);
}

cJSON *tools_writer_add_node(tools_model_writer_t *w, const char *name, const char *op,
                             const char *const *inputs, int num_inputs)
{
    cJSON *node = cJSON_CreateObject();
    bool ok = node && cJSON_AddStringToObject(node, "name", name) && cJSON_AddStringToObject(node, "op", op);
    if (ok && num_inputs > 0) {
        cJSON *arr = cJSON_CreateStringArray(inputs, num_inputs);
        ok = arr && cJSON_AddItemToObject(node, "inputs", arr);
        if (!ok)
            cJSON_Delete(arr);
    }
    if (!ok || !cJSON_AddItemToArray(w->nodes, node)) {
        cJSON_Delete(node);
        return NULL;
    }
    return node;
}

static const tools_tensor_t *find_tensor(const tools_model_writer_t *w, const char *name)
{
    for (int i = 0; i < w->num_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return &w->tensors[i];
    return NULL;
}

cnn_status_t tools_writer_add_tensor(tools_model_writer_t *w, const char *name, int ndim, const int64_t *dims,
                                     const float *data, cnn_error_t *err)
{
    if (ndim < 0 || ndim > TOOLS_ST_MAX_DIMS)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "tensor '%.200s': %d dimensions", name, ndim);
    if (find_tensor(w, name))
        return cnn_error_set(err, CNN_E_FORMAT, "tensor '%.200s' written twice", name);
    size_t count = 1;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] < 0 || (dims[d] > 0 && count > SIZE_MAX / sizeof(float) / (size_t)dims[d]))
            return cnn_error_set(err, CNN_E_SHAPE, "tensor '%.200s': bad size", name);
        count *= (size_t)dims[d];
    }
    tools_tensor_t *grown = cnn_array_grow(w->tensors, &w->cap_tensors, w->num_tensors, sizeof *grown);
    if (!grown)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    w->tensors = grown;
    tools_tensor_t *t = &w->tensors[w->num_tensors];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->data = malloc(count ? count * sizeof(float) : 1);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory copying tensor '%.200s'", name);
    }
    t->ndim = ndim;
    memcpy(t->dims, dims, (size_t)ndim * sizeof *dims);
    if (count)
        memcpy(t->data, data, count * sizeof(float));
    w->num_tensors++;
    return CNN_OK;
}

cnn_status_t tools_writer_set_output(tools_model_writer_t *w, const char *name, cnn_error_t *err)
{
    char *copy = strdup(name);
    if (!copy)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    free(w->output);
    w->output = copy;
    return CNN_OK;
}

void tools_writer_set_preprocess(tools_model_writer_t *w, const cnn_preprocess_t *p)
{
    w->has_preprocess = p != NULL;
    if (p)
        w->preprocess = *p;
}

cnn_status_t tools_writer_set_labels(tools_model_writer_t *w, const char *const *labels, int n, cnn_error_t *err)
{
    char **copy = calloc((size_t)(n > 0 ? n : 1), sizeof *copy);
    for (int i = 0; copy && i < n; i++) {
        if (!(copy[i] = strdup(labels[i]))) {
            tools_labels_free(copy, i);
            copy = NULL;
        }
    }
    if (!copy)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    tools_labels_free(w->labels, w->num_labels);
    w->labels = copy;
    w->num_labels = n;
    return CNN_OK;
}

int tools_writer_node_count(const tools_model_writer_t *w)
{
    return cJSON_GetArraySize(w->nodes);
}

int tools_writer_tensor_count(const tools_model_writer_t *w)
{
    return w->num_tensors;
}

int tools_writer_input_channels(const tools_model_writer_t *w)
{
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(w->nodes, 0), "shape");
    const cJSON *c = cJSON_GetArrayItem(shape, 0);
    return cJSON_IsNumber(c) ? c->valueint : 0;
}

/* model.json text for the collected graph (malloc'ed) or NULL on out of memory. */
static char *config_text(tools_model_writer_t *w, const char *name)
{
    cnn_model_config_t cfg = {0};
    cfg.name = (char *)name;
    cfg.arch = "graph";
    cfg.graph = cJSON_CreateObject();
    if (!cfg.graph || !cJSON_AddItemReferenceToObject(cfg.graph, "nodes", w->nodes) ||
        (w->output && !cJSON_AddStringToObject(cfg.graph, "output", w->output))) {
        cJSON_Delete(cfg.graph);
        return NULL;
    }
    int channels = tools_writer_input_channels(w);
    cfg.zoo.in_channels = channels;
    cfg.preprocess = (cnn_preprocess_t){
        .color = channels == 1 ? CNN_COLOR_GRAYSCALE : CNN_COLOR_RGB, .resize_shorter = 0,
        .scale = 1.0f / 255.0f, .mean = {0.0f, 0.0f, 0.0f}, .std = {1.0f, 1.0f, 1.0f}};
    if (w->has_preprocess)
        cfg.preprocess = w->preprocess;
    cfg.labels = w->labels;
    cfg.num_labels = w->num_labels;
    cfg.max_batch_size = 8;
    cfg.max_queue_delay_us = 2000;
    char *text = cnn_model_config_to_json(&cfg);
    cJSON_Delete(cfg.graph);
    return text;
}

/* tools_weights_write_fn for the collected tensors. */
static cnn_status_t write_tensors(const char *path, void *ctx, cnn_error_t *err)
{
    const tools_model_writer_t *w = ctx;
    return tools_safetensors_write(path, w->tensors, w->num_tensors, err);
}

cnn_status_t tools_writer_save(tools_model_writer_t *w, const tools_save_opts_t *o, cnn_error_t *err)
{
    char base[256];
    char *json = config_text(w, o->name ? o->name : tools_dir_basename(o->out_dir, base, sizeof base));
    if (!json)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory serializing model.json");
    cnn_status_t st = tools_model_dir_write(o->out_dir, o->force, json, write_tensors, w, NULL, err);
    free(json);
    return st;
}
