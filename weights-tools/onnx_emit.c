/* Emitting engine nodes: unique names, builder errors, the writer's node
 * objects and weight tensors checked against the shapes the engine's
 * builders declared. */
#include "onnx_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ONNX node names become engine names when they are short printable ASCII. */
static bool usable_name(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 120)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

cnn_status_t tools_onnx_node_name(tools_onnx_ctx_t *c, const char *suffix, char *buf, size_t size)
{
    const Onnx__NodeProto *n = c->node;
    char base[160];
    if (n && n->name && usable_name(n->name)) {
        snprintf(base, sizeof base, "%s", n->name);
    } else {
        const char *op = n && n->op_type && usable_name(n->op_type) ? n->op_type : "node";
        int len = snprintf(base, sizeof base, "%.60s_%zu", op, c->node_index);
        for (int k = 0; k < len; k++)
            base[k] = (char)tolower((unsigned char)base[k]);
    }
    if (suffix)
        snprintf(base + strlen(base), sizeof base - strlen(base), "_%s", suffix);
    snprintf(buf, size, "%s", base);
    for (unsigned k = 2; tools_onnx_table_get(&c->names, buf, NULL) || !*buf; k++)
        snprintf(buf, size, "%s_%u", base, k);
    return tools_onnx_table_put(&c->names, buf, (void *)1, c->err);
}

cnn_status_t tools_onnx_built(tools_onnx_ctx_t *c, int id)
{
    if (id >= 0)
        return CNN_OK;
    return tools_onnx_fail(c, c->g->err.status ? c->g->err.status : (cnn_status_t)id, "%s", c->g->err.message);
}

cJSON *tools_onnx_emit(tools_onnx_ctx_t *c, int id)
{
    const cnn_node_t *n = &c->g->nodes[id];
    const char **inputs = n->num_inputs ? malloc((size_t)n->num_inputs * sizeof *inputs) : NULL;
    if (n->num_inputs && !inputs) {
        cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
        return NULL;
    }
    for (int k = 0; k < n->num_inputs; k++)
        inputs[k] = c->g->nodes[n->inputs[k]].name;
    cJSON *obj = tools_writer_add_node(c->w, n->name, cnn_op_name(n->op), inputs, n->num_inputs);
    free(inputs);
    if (!obj)
        cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    return obj;
}

cnn_status_t tools_onnx_weight(tools_onnx_ctx_t *c, int id, int slot, const float *data, size_t n,
                               const char *what)
{
    const cnn_weight_t *w = c->g->nodes[id].w[slot];
    size_t need = 1;
    char dims[96] = "";
    for (int d = 0; d < w->ndim; d++) {
        need *= (size_t)w->dims[d];
        snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%s%lld", d ? ", " : "", (long long)w->dims[d]);
    }
    if (n != need)
        return tools_onnx_fail(c, CNN_E_SHAPE, "%s has %zu values; layer '%s' needs [%s] (%zu values)", what, n,
                               c->g->nodes[id].name, dims, need);
    return tools_writer_add_tensor(c->w, w->name, w->ndim, w->dims, data, c->err);
}

bool tools_onnx_json_ints(cJSON *obj, const char *key, const int *v, int n)
{
    cJSON *arr = cJSON_CreateIntArray(v, n);
    if (!arr)
        return false;
    if (!cJSON_AddItemToObject(obj, key, arr)) {
        cJSON_Delete(arr);
        return false;
    }
    return true;
}
