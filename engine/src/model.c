/* Model directories: model.json + weights.safetensors -> a bound, rewritten graph. */
#include "model.h"

#include "graph_json.h"

#include "planner.h"
#include "rewrite.h"
#include "status.h"
#include "weights.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_JSON_MAX_BYTES (16u * 1024u * 1024u)

/* Reads all of `path` (at most MODEL_JSON_MAX_BYTES) into a malloc'ed, NUL-terminated buffer. */
static cnn_status_t read_small_file(const char *path, char **out, size_t *len, cnn_error_t *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return cnn_error_set(err, CNN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    cnn_status_t status = CNN_OK;
    char *buf = NULL;
    size_t used = 0, cap = 0;
    for (;;) {
        if (used == cap) {
            if (cap > MODEL_JSON_MAX_BYTES) {
                status = cnn_error_set(err, CNN_E_FORMAT, "%s: larger than %u bytes", path,
                                       MODEL_JSON_MAX_BYTES);
                goto done;
            }
            cap = cap ? 2 * cap : 4096;
            if (cap > MODEL_JSON_MAX_BYTES)
                cap = MODEL_JSON_MAX_BYTES + 1;
            char *grown = realloc(buf, cap + 1);
            if (!grown) {
                status = cnn_error_set(err, CNN_E_NOMEM, "%s: out of memory", path);
                goto done;
            }
            buf = grown;
        }
        size_t n = fread(buf + used, 1, cap - used, f);
        used += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        status = cnn_error_set(err, CNN_E_IO, "%s: read error", path);
        goto done;
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    buf = NULL;
done:
    free(buf);
    fclose(f);
    return status;
}

/* Last path component of `dir` (trailing slashes ignored), malloc'ed. */
static char *dir_basename(const char *dir)
{
    size_t end = strlen(dir);
    while (end > 1 && dir[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    return strndup(dir + start, end - start);
}

static char *join_path(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, file);
    return p;
}

/* Records each node's parameter count as bound from the file (before rewrites). */
static cnn_status_t count_file_params(cnn_model_t *m, cnn_error_t *err)
{
    const cnn_graph_t *g = m->graph;
    m->file_params = calloc((size_t)(g->num_nodes > 0 ? g->num_nodes : 1), sizeof *m->file_params);
    if (!m->file_params)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    for (int i = 0; i < g->num_nodes; i++)
        m->file_params[i] = cnn_node_params(&g->nodes[i]);
    return CNN_OK;
}

/* Fills model->info and model->layer_ids from the loaded config and rewritten graph. */
static cnn_status_t describe(cnn_model_t *m, cnn_error_t *err)
{
    const cnn_graph_t *g = m->graph;
    const cnn_node_t *input = NULL;
    for (int i = 0; i < g->num_nodes && !input; i++) {
        if (g->nodes[i].op == CNN_OP_INPUT)
            input = &g->nodes[i];
    }
    if (!input || g->output < 0 || g->output >= g->num_nodes)
        return cnn_error_set(err, CNN_E_FORMAT, "architecture '%s' built a graph without input or output",
                             m->config.arch);
    const cnn_node_t *output = &g->nodes[g->output];
    size_t numel = cnn_node_numel(output);
    if (m->config.labels && numel != (size_t)m->config.num_labels)
        return cnn_error_set(err, CNN_E_SHAPE, "labels has %d entries but the network outputs %zu values",
                             m->config.num_labels, numel);
    cnn_model_info_t *info = &m->info;
    info->name = m->config.name;
    info->architecture = m->config.arch;
    info->input_channels = input->out.c;
    info->input_height = input->out.h;
    info->input_width = input->out.w;
    info->num_classes = (int)numel;
    info->labels = (const char *const *)m->config.labels;
    info->output_is_probability = output->op == CNN_OP_SOFTMAX;
    info->preprocess = m->config.preprocess;
    info->max_batch_size = m->config.max_batch_size;
    info->max_queue_delay_us = m->config.max_queue_delay_us;
    info->precision = m->config.precision;

    m->layer_ids = malloc((size_t)(g->num_nodes > 0 ? g->num_nodes : 1) * sizeof *m->layer_ids);
    if (!m->layer_ids)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    for (int i = 0; i < g->num_nodes; i++) {
        if (g->nodes[i].fused_into < 0 && g->nodes[i].op != CNN_OP_INPUT)
            m->layer_ids[m->num_layers++] = i;
    }
    return CNN_OK;
}

/* Every message starts with the file (or directory) it is about. */
cnn_status_t cnn_model_load(const char *dir, cnn_model_t **out, cnn_error_t *err)
{
    if (!out)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "cnn_model_load: no output pointer");
    *out = NULL;
    if (!dir || !*dir)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "cnn_model_load: no model directory");
    cnn_status_t status = CNN_OK;
    char *json = NULL;
    size_t json_len = 0;
    char *config_path = join_path(dir, "model.json");
    char *weights_path = join_path(dir, "weights.safetensors");
    char *default_name = dir_basename(dir);
    cnn_model_t *m = calloc(1, sizeof *m);
    if (!config_path || !weights_path || !default_name || !m) {
        status = cnn_error_set(err, CNN_E_NOMEM, "%s: out of memory", dir);
        goto fail;
    }
    if ((status = read_small_file(config_path, &json, &json_len, err)) != CNN_OK)
        goto fail;
    status = cnn_model_config_parse(json, json_len, default_name, &m->config, err);
    if (status == CNN_OK)
        status = m->config.graph ? cnn_graph_from_json(m->config.graph, &m->graph, err)
                                 : cnn_zoo_build(&m->config.zoo, &m->graph, err);
    if (status != CNN_OK) {
        cnn_error_prefix(err, "%s", config_path);
        goto fail;
    }
    if ((status = cnn_safetensors_open(weights_path, &m->weights, err)) != CNN_OK)
        goto fail;
    const cnn_zoo_arch_t *zoo = m->config.graph ? NULL : cnn_zoo_find(m->config.arch);
    status = cnn_graph_bind_weights(m->graph, m->weights, zoo ? zoo->ignored_prefixes : NULL, err);
    if (status != CNN_OK) {
        cnn_error_prefix(err, "%s", weights_path);
        goto fail;
    }
    if ((status = count_file_params(m, err)) != CNN_OK ||
        (status = cnn_graph_rewrite(m->graph, err)) != CNN_OK ||
        (status = describe(m, err)) != CNN_OK) {
        cnn_error_prefix(err, "%s", dir);
        goto fail;
    }
    *out = m;
    m = NULL;
fail:
    cnn_model_free(m);
    free(json);
    free(default_name);
    free(weights_path);
    free(config_path);
    return status;
}

void cnn_model_free(cnn_model_t *model)
{
    if (!model)
        return;
    cnn_graph_free(model->graph); /* before the mapping its weights may point into */
    cnn_safetensors_close(model->weights);
    cnn_model_config_free(&model->config);
    free(model->layer_ids);
    free(model->file_params);
    free(model);
}

const cnn_model_info_t *cnn_model_get_info(const cnn_model_t *model)
{
    return model ? &model->info : NULL;
}

size_t cnn_model_output_size(const cnn_model_t *model)
{
    return model ? cnn_node_numel(&model->graph->nodes[model->graph->output]) : 0;
}

size_t cnn_model_layer_count(const cnn_model_t *model)
{
    return model ? (size_t)model->num_layers : 0;
}

cnn_status_t cnn_model_get_layer(const cnn_model_t *model, size_t index, cnn_layer_info_t *info)
{
    if (!model || !info || index >= (size_t)model->num_layers)
        return CNN_E_INVALID_ARGUMENT;
    const cnn_graph_t *g = model->graph;
    const cnn_node_t *n = &g->nodes[model->layer_ids[index]];
    info->name = n->name;
    info->op = cnn_op_name(n->op);
    info->fused = n->fused_desc;
    info->c = n->out.c;
    info->h = n->out.h;
    info->w = n->out.w;
    info->flat = n->flat;
    int id = model->layer_ids[index];
    info->params = 0;
    for (int i = 0; i < g->num_nodes; i++)
        if (cnn_graph_resolve(g, i) == id)
            info->params += model->file_params[i];
    info->macs = cnn_node_macs(g, n);
    return CNN_OK;
}

cnn_status_t cnn_model_find_layer(const cnn_model_t *model, const char *name, size_t *index, cnn_error_t *err)
{
    if (!model || !name || !index)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "model, name and index must not be NULL");
    const cnn_graph_t *g = model->graph;
    for (int i = 0; i < model->num_layers; i++)
        if (strcmp(g->nodes[model->layer_ids[i]].name, name) == 0) {
            *index = (size_t)i;
            return CNN_OK;
        }
    int id = cnn_graph_find(g, name);
    if (id >= 0 && g->nodes[id].fused_into >= 0)
        return cnn_error_set(err, CNN_E_NOT_FOUND, "layer '%s' (%s) is fused into layer '%s'", name,
                             cnn_op_name(g->nodes[id].op), g->nodes[cnn_graph_resolve(g, id)].name);
    return cnn_error_set(err, CNN_E_NOT_FOUND, "no layer '%s'", name);
}

size_t cnn_model_peak_activation_bytes(const cnn_model_t *model, int batch)
{
    return model && batch > 0 ? cnn_graph_peak_activation_bytes(model->graph, batch) : 0;
}
