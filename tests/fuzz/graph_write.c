/* A generated spec → model.json + weights.safetensors (see graph_write.h). */
#include "graph_write.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const weight_suffix[GS_W_SLOTS] = {"weight", "bias", "running_mean", "running_var"};

/* Adds [a, b] (or the number a when `scalar`) under key. */
static bool add_pair(cJSON *obj, const char *key, int a, int b, bool scalar)
{
    if (scalar)
        return cJSON_AddNumberToObject(obj, key, a) != NULL;
    int v[2] = {a, b};
    cJSON *arr = cJSON_CreateIntArray(v, 2);
    return arr && cJSON_AddItemToObject(obj, key, arr);
}

/* "padding": "same" | "valid", or "pads": [top, left, bottom, right] (omitted when all zero,
 * unless the node writes its defaults). */
static bool add_padding(cJSON *obj, const gs_node_t *n)
{
    if (n->same)
        return cJSON_AddStringToObject(obj, "padding", "same") != NULL;
    if (n->valid_padding)
        return cJSON_AddStringToObject(obj, "padding", "valid") != NULL;
    if (!(n->pad[0] || n->pad[1] || n->pad[2] || n->pad[3] || n->write_defaults))
        return true;
    cJSON *arr = cJSON_CreateIntArray(n->pad, 4);
    return arr && cJSON_AddItemToObject(obj, "pads", arr);
}

/* Adds key = v when v differs from the default or the node writes its defaults. */
static bool add_num(cJSON *obj, const gs_node_t *n, const char *key, double v, double def)
{
    if (v == def && !n->write_defaults)
        return true;
    return cJSON_AddNumberToObject(obj, key, v) != NULL;
}

static bool add_bool(cJSON *obj, const gs_node_t *n, const char *key, bool v, bool def)
{
    if (v == def && !n->write_defaults)
        return true;
    return cJSON_AddBoolToObject(obj, key, v) != NULL;
}

/* The op-specific keys of node n. */
static bool add_params(cJSON *o, const gs_spec_t *s, const gs_node_t *n)
{
    switch (n->op) {
    case GS_INPUT: {
        int dims[3] = {n->c, n->h, n->w};
        cJSON *arr = cJSON_CreateIntArray(dims, s->input_rank);
        return arr && cJSON_AddItemToObject(o, "shape", arr);
    }
    case GS_CONV2D:
        return cJSON_AddNumberToObject(o, "out_channels", n->out) &&
               add_pair(o, "kernel", n->kh, n->kw, n->scalar_kernel) &&
               ((n->sh == 1 && n->sw == 1 && !n->write_defaults) || add_pair(o, "stride", n->sh, n->sw, false)) &&
               ((n->dh == 1 && n->dw == 1 && !n->write_defaults) || add_pair(o, "dilation", n->dh, n->dw, false)) &&
               add_num(o, n, "groups", n->groups, 1) && add_bool(o, n, "bias", n->bias, true) && add_padding(o, n);
    case GS_MAX_POOL:
    case GS_AVG_POOL:
        return add_pair(o, "kernel", n->kh, n->kw, n->scalar_kernel) &&
               ((n->sh == n->kh && n->sw == n->kw && !n->write_defaults) ||
                add_pair(o, "stride", n->sh, n->sw, false)) &&
               add_bool(o, n, "ceil_mode", n->ceil_mode, false) &&
               add_bool(o, n, "count_include_pad", n->count_include_pad, false) && add_padding(o, n);
    case GS_DENSE:
        return cJSON_AddNumberToObject(o, "out_features", n->out) && add_bool(o, n, "bias", n->bias, true);
    case GS_LEAKY_RELU:
        return add_num(o, n, "alpha", n->alpha, 0.01f);
    case GS_ELU:
        return add_num(o, n, "alpha", n->alpha, 1.0f);
    case GS_CLIP:
        return (!n->has_min || cJSON_AddNumberToObject(o, "min", n->alpha)) &&
               (!n->has_max || cJSON_AddNumberToObject(o, "max", n->beta));
    case GS_PRELU:
        return add_num(o, n, "num_slopes", n->num_slopes, 1);
    case GS_LRN:
        return cJSON_AddNumberToObject(o, "size", n->size) && add_num(o, n, "alpha", n->alpha, 1e-4f) &&
               add_num(o, n, "beta", n->beta, 0.75f) && add_num(o, n, "k", n->k, 1.0f);
    case GS_BATCH_NORM:
        return add_num(o, n, "eps", n->eps, 1e-5f);
    case GS_MAXOUT:
        return cJSON_AddNumberToObject(o, "pieces", n->pieces) != NULL;
    case GS_ZERO_PAD: {
        cJSON *arr = cJSON_CreateIntArray(n->pad, 4);
        return arr && cJSON_AddItemToObject(o, "pads", arr);
    }
    default:
        return true; /* no keys of its own */
    }
}

char *gw_model_json(const gs_spec_t *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arch = root ? cJSON_AddObjectToObject(root, "architecture") : NULL;
    cJSON *graph = arch ? cJSON_AddObjectToObject(arch, "graph") : NULL;
    cJSON *nodes = graph ? cJSON_AddArrayToObject(graph, "nodes") : NULL;
    bool ok = nodes && cJSON_AddStringToObject(root, "name", "fuzz-graph");
    for (int i = 0; ok && i < s->num_nodes; i++) {
        const gs_node_t *n = &s->nodes[i];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(nodes, o) && cJSON_AddStringToObject(o, "name", n->name) &&
             cJSON_AddStringToObject(o, "op", gs_op_name(n->op));
        if (ok && n->write_inputs) {
            const char *names[GS_MAX_INPUTS];
            for (int k = 0; k < n->num_inputs; k++)
                names[k] = s->nodes[n->inputs[k]].name;
            cJSON *arr = cJSON_CreateStringArray(names, n->num_inputs);
            ok = arr && cJSON_AddItemToObject(o, "inputs", arr);
        }
        ok = ok && add_params(o, s, n);
    }
    ok = ok && (s->output == s->num_nodes - 1 || cJSON_AddStringToObject(graph, "output", s->nodes[s->output].name));
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    return text;
}

/* The safetensors header: {"<node>.<suffix>": {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}, ...}. */
static char *safetensors_header(const gs_spec_t *s, size_t *data_bytes)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    size_t off = 0;
    for (int i = 0; ok && i < s->num_nodes; i++)
        for (int k = 0; ok && k < GS_W_SLOTS; k++) {
            const gs_weight_t *w = &s->nodes[i].wt[k];
            if (!w->data)
                continue;
            char name[GS_NAME_MAX + 16];
            snprintf(name, sizeof name, "%s.%s", s->nodes[i].name, weight_suffix[k]);
            cJSON *t = cJSON_AddObjectToObject(root, name);
            cJSON *shape = cJSON_CreateIntArray(w->dims, w->ndim);
            double offs[2] = {(double)off, (double)(off + w->numel * sizeof(float))};
            cJSON *range = cJSON_CreateDoubleArray(offs, 2);
            ok = t && shape && range && cJSON_AddStringToObject(t, "dtype", "F32") &&
                 cJSON_AddItemToObject(t, "shape", shape) && cJSON_AddItemToObject(t, "data_offsets", range);
            if (!ok) {
                cJSON_Delete(shape);
                cJSON_Delete(range);
            }
            off += w->numel * sizeof(float);
        }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    *data_bytes = off;
    return text;
}

static int write_file(const char *dir, const char *name, const void *a, size_t alen, const void *b, size_t blen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    bool ok = fwrite(a, 1, alen, f) == alen && (blen == 0 || fwrite(b, 1, blen, f) == blen);
    int saved = errno;
    if (fclose(f) != 0)
        ok = false;
    errno = saved;
    return ok ? 0 : -1;
}

int gw_write_model(const char *dir, const gs_spec_t *s, const char *json)
{
    if (write_file(dir, "model.json", json, strlen(json), NULL, 0) != 0)
        return -1;
    size_t data_bytes = 0;
    char *header = safetensors_header(s, &data_bytes);
    if (!header) {
        errno = ENOMEM;
        return -1;
    }
    size_t hlen = strlen(header), padded = (hlen + 7) / 8 * 8; /* data 8-byte aligned: spaces pad the header */
    unsigned char *buf = malloc(8 + padded + data_bytes);
    if (!buf) {
        free(header);
        errno = ENOMEM;
        return -1;
    }
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(buf + 8, header, hlen);
    memset(buf + 8 + hlen, ' ', padded - hlen);
    unsigned char *p = buf + 8 + padded;
    for (int i = 0; i < s->num_nodes; i++)
        for (int k = 0; k < GS_W_SLOTS; k++) {
            const gs_weight_t *w = &s->nodes[i].wt[k];
            if (!w->data)
                continue;
            for (size_t j = 0; j < w->numel; j++) { /* little-endian F32 */
                uint32_t bits;
                memcpy(&bits, &w->data[j], sizeof bits);
                for (int b = 0; b < 4; b++)
                    *p++ = (unsigned char)(bits >> (8 * b));
            }
        }
    int rc = write_file(dir, "weights.safetensors", buf, 8 + padded + data_bytes, NULL, 0);
    free(buf);
    free(header);
    return rc;
}
