/* The metadata documents of GET /v1/models, /v1/models/{m} and
 * /v2/models/{m}, built once per model at load time. */
#include "model_repo.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

static cJSON *int_array(const int *v, int n)
{
    return cJSON_CreateIntArray(v, n);
}

static cJSON *preprocess_json(const cnn_preprocess_t *p, int channels)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "color", p->color == CNN_COLOR_GRAYSCALE ? "grayscale" : "rgb");
    cJSON_AddNumberToObject(o, "resize_shorter", p->resize_shorter);
    cJSON_AddNumberToObject(o, "scale", p->scale);
    int n = channels == 3 ? 3 : 1;
    cJSON *mean = cJSON_AddArrayToObject(o, "mean"), *std = cJSON_AddArrayToObject(o, "std");
    for (int c = 0; c < n; c++) {
        cJSON_AddItemToArray(mean, cJSON_CreateNumber(p->mean[c]));
        cJSON_AddItemToArray(std, cJSON_CreateNumber(p->std[c]));
    }
    return o;
}

static cJSON *layers_json(const srv_model_t *m)
{
    cJSON *a = cJSON_CreateArray();
    size_t n = cnn_model_layer_count(m->model);
    for (size_t i = 0; i < n; i++) {
        cnn_layer_info_t l;
        if (cnn_model_get_layer(m->model, i, &l) != CNN_OK)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", l.name);
        cJSON_AddStringToObject(o, "op", l.op);
        if (l.fused && l.fused[0])
            cJSON_AddStringToObject(o, "fused", l.fused);
        int shape[3] = {l.c, l.h, l.w};
        cJSON_AddItemToObject(o, "output_shape", int_array(shape, l.flat ? 1 : 3));
        cJSON_AddNumberToObject(o, "params", (double)l.params);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

/* Prints and frees o; NULL when out of memory. */
static char *print_free(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

static cJSON *v1_meta(const srv_model_t *m)
{
    const cnn_model_info_t *info = m->info;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", m->name);
    cJSON_AddStringToObject(o, "architecture", info->architecture ? info->architecture : "graph");
    int shape[3] = {info->input_channels, info->input_height, info->input_width};
    cJSON_AddItemToObject(o, "input_shape", int_array(shape, 3));
    cJSON_AddItemToObject(o, "preprocessing", preprocess_json(&info->preprocess, info->input_channels));
    cJSON_AddNumberToObject(o, "num_classes", info->num_classes);
    cJSON *labels = cJSON_AddArrayToObject(o, "labels");
    for (int c = 0; info->labels && c < info->num_classes; c++)
        cJSON_AddItemToArray(labels, cJSON_CreateString(info->labels[c]));
    cJSON_AddBoolToObject(o, "output_is_probability", info->output_is_probability);
    cJSON *batching = cJSON_AddObjectToObject(o, "batching");
    cJSON_AddNumberToObject(batching, "max_batch_size", m->max_batch_size);
    cJSON_AddNumberToObject(batching, "max_queue_delay_us", m->max_queue_delay_us);
    char device[32];
    snprintf(device, sizeof device, m->device == CNN_DEVICE_CPU ? "cpu" : "cuda:%d", m->device_index);
    cJSON_AddStringToObject(o, "device", device);
    cJSON_AddStringToObject(o, "precision", cnn_precision_name(m->precision));
    if (m->requested_precision != m->precision)
        cJSON_AddStringToObject(o, "requested_precision", cnn_precision_name(m->requested_precision));
    cJSON_AddItemToObject(o, "layers", layers_json(m));
    return o;
}

/* GET /v1/models/{m}/layers: every layer with op, fused and [C,H,W] (the
 * feature-map API's view: flat layers are [C,1,1]). */
static cJSON *layers_doc(const srv_model_t *m)
{
    const cnn_model_info_t *info = m->info;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", m->name);
    int in_shape[3] = {info->input_channels, info->input_height, info->input_width};
    cJSON_AddItemToObject(cJSON_AddObjectToObject(o, "input"), "shape", int_array(in_shape, 3));
    cJSON *a = cJSON_AddArrayToObject(o, "layers");
    size_t n = cnn_model_layer_count(m->model);
    for (size_t i = 0; i < n; i++) {
        cnn_layer_info_t l;
        if (cnn_model_get_layer(m->model, i, &l) != CNN_OK)
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", l.name);
        cJSON_AddStringToObject(e, "op", l.op);
        cJSON_AddStringToObject(e, "fused", l.fused ? l.fused : "");
        int shape[3] = {l.c, l.h, l.w};
        cJSON_AddItemToObject(e, "shape", int_array(shape, 3));
        cJSON_AddItemToArray(a, e);
    }
    return o;
}

static cJSON *v2_tensor(const char *name, const int *shape, int n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "datatype", "FP32");
    cJSON_AddItemToObject(o, "shape", int_array(shape, n));
    return o;
}

bool srv_model_meta_build(srv_model_t *m)
{
    m->meta_json = print_free(v1_meta(m));
    m->layers_json = print_free(layers_doc(m));
    const cnn_model_info_t *info = m->info;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", m->name);
    cJSON_AddItemToObject(o, "versions", cJSON_CreateArray());
    cJSON_AddStringToObject(o, "platform", "cnnserve");
    int in_shape[4] = {-1, info->input_channels, info->input_height, info->input_width};
    int out_shape[2] = {-1, (int)m->output_size};
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "inputs"), v2_tensor("input", in_shape, 4));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "outputs"), v2_tensor("output", out_shape, 2));
    m->meta_v2_json = print_free(o);
    return m->meta_json && m->meta_v2_json && m->layers_json;
}

bool srv_model_list_build(srv_model_repo_t *repo)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "default_model", repo->models[repo->default_index].name);
    cJSON *a = cJSON_AddArrayToObject(o, "models");
    for (int i = 0; i < repo->count; i++) {
        const srv_model_t *m = &repo->models[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", m->name);
        int shape[3] = {m->info->input_channels, m->info->input_height, m->info->input_width};
        cJSON_AddItemToObject(e, "input_shape", int_array(shape, 3));
        cJSON_AddNumberToObject(e, "num_classes", m->info->num_classes);
        cJSON_AddBoolToObject(e, "default", i == repo->default_index);
        cJSON_AddItemToArray(a, e);
    }
    repo->list_json = print_free(o);
    return repo->list_json != NULL;
}
