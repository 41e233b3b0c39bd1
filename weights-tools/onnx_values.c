/* The importer's symbol table: what each ONNX tensor name stands for (a
 * constant or an engine node), node inputs and outputs, and error messages
 * that name the node being mapped. */
#include "onnx_internal.h"

#include "array_grow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "node 'NAME' (OpType)" or "node #INDEX (OpType)" for the current node. */
static const char *node_label(const tools_onnx_ctx_t *c, char *buf, size_t size)
{
    const Onnx__NodeProto *n = c->node;
    const char *op = n->op_type ? n->op_type : "?";
    if (n->name && *n->name)
        snprintf(buf, size, "node '%.100s' (%.40s)", n->name, op);
    else
        snprintf(buf, size, "node #%zu (%.40s)", c->node_index, op);
    return buf;
}

cnn_status_t tools_onnx_fail(tools_onnx_ctx_t *c, cnn_status_t status, const char *fmt, ...)
{
    char msg[CNN_ERROR_MESSAGE_MAX], label[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!c->node)
        return cnn_error_set(c->err, status, "%s", msg);
    return cnn_error_set(c->err, status, "%s: %s", node_label(c, label, sizeof label), msg);
}

void tools_onnx_prefix_node(tools_onnx_ctx_t *c)
{
    char label[200];
    if (c->node)
        cnn_error_prefix(c->err, "%s", node_label(c, label, sizeof label));
}

cnn_status_t tools_onnx_in(tools_onnx_ctx_t *c, size_t i, tools_onnx_value_t **out)
{
    *out = NULL;
    const Onnx__NodeProto *n = c->node;
    if (i >= n->n_input || !n->input[i][0])
        return CNN_OK;
    *out = tools_onnx_table_get(&c->values, n->input[i], NULL);
    if (!*out)
        return tools_onnx_fail(c, CNN_E_FORMAT,
                               "input '%.100s' is not a graph input, an initializer or the output of an earlier node",
                               n->input[i]);
    return CNN_OK;
}

cnn_status_t tools_onnx_in_runtime(tools_onnx_ctx_t *c, size_t i, tools_onnx_value_t **out)
{
    cnn_status_t st = tools_onnx_in(c, i, out);
    if (st != CNN_OK)
        return st;
    if (!*out)
        return tools_onnx_fail(c, CNN_E_FORMAT, "input %zu is missing", i);
    if ((*out)->is_const)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED,
                               "input '%.100s' is a constant; only computed tensors are supported there",
                               c->node->input[i]);
    return CNN_OK;
}

cnn_status_t tools_onnx_in_const(tools_onnx_ctx_t *c, size_t i, bool required, tools_onnx_value_t **out)
{
    cnn_status_t st = tools_onnx_in(c, i, out);
    if (st != CNN_OK)
        return st;
    if (!*out)
        return required ? tools_onnx_fail(c, CNN_E_FORMAT, "input %zu is missing", i) : CNN_OK;
    if (!(*out)->is_const)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED,
                               "input '%.100s' is computed at run time; it must be an initializer or constant",
                               c->node->input[i]);
    return CNN_OK;
}

cnn_status_t tools_onnx_define(tools_onnx_ctx_t *c, const char *name, tools_onnx_value_t *v)
{
    cnn_status_t st = CNN_OK;
    bool dup;
    tools_onnx_table_get(&c->values, name, &dup);
    if (dup) {
        st = tools_onnx_fail(c, CNN_E_FORMAT, "tensor '%.100s' is defined twice", name);
    } else {
        tools_onnx_value_t **grown = cnn_array_grow_size(c->owned, &c->cap_owned, c->num_owned, sizeof *grown);
        if (!grown)
            st = cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
        else
            c->owned = grown;
    }
    if (st == CNN_OK)
        st = tools_onnx_table_put(&c->values, name, v, c->err);
    if (st != CNN_OK) {
        tools_onnx_tensor_free(&v->t);
        free(v);
        return st;
    }
    c->owned[c->num_owned++] = v;
    return CNN_OK;
}

/* Output i's name, or NULL when the node has no (named) output i. */
static const char *out_name(const tools_onnx_ctx_t *c, size_t i)
{
    return i < c->node->n_output && c->node->output[i][0] ? c->node->output[i] : NULL;
}

cnn_status_t tools_onnx_out_runtime(tools_onnx_ctx_t *c, size_t i, int node, int rank)
{
    const char *name = out_name(c, i);
    if (!name)
        return CNN_OK;
    size_t numel = cnn_node_numel(&c->g->nodes[node]);
    if (numel > TOOLS_ONNX_MAX_ACTIVATION)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "output of %zu values per image is too large (at most %zu)", numel,
                               TOOLS_ONNX_MAX_ACTIVATION);
    tools_onnx_value_t *v = calloc(1, sizeof *v);
    if (!v)
        return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    v->node = node;
    v->rank = rank;
    return tools_onnx_define(c, name, v);
}

cnn_status_t tools_onnx_out_const(tools_onnx_ctx_t *c, size_t i, tools_onnx_tensor_t *t)
{
    const char *name = out_name(c, i);
    tools_onnx_value_t *v = name ? calloc(1, sizeof *v) : NULL;
    if (!v) {
        tools_onnx_tensor_free(t);
        return name ? cnn_error_set(c->err, CNN_E_NOMEM, "out of memory") : CNN_OK;
    }
    v->is_const = true;
    v->t = *t;
    memset(t, 0, sizeof *t);
    return tools_onnx_define(c, name, v);
}

cnn_status_t tools_onnx_out_alias(tools_onnx_ctx_t *c, size_t i, tools_onnx_value_t *v)
{
    const char *name = out_name(c, i);
    if (!name)
        return CNN_OK;
    bool dup;
    tools_onnx_table_get(&c->values, name, &dup);
    if (dup)
        return tools_onnx_fail(c, CNN_E_FORMAT, "tensor '%.100s' is defined twice", name);
    return tools_onnx_table_put(&c->values, name, v, c->err);
}

cnn_status_t tools_onnx_outputs_unused(tools_onnx_ctx_t *c, size_t first, const char *what)
{
    for (size_t i = first; i < c->node->n_output; i++) {
        const char *name = out_name(c, i);
        if (name && tools_onnx_table_get(&c->uses, name, NULL))
            return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "output %zu ('%.100s', %s) is used; it is not supported",
                                   i, name, what);
    }
    return CNN_OK;
}

int tools_onnx_runtime_dims(const tools_onnx_ctx_t *c, const tools_onnx_value_t *v, int64_t dims[4])
{
    cnn_shape_t s = c->g->nodes[v->node].out;
    int64_t all[4] = {TOOLS_ONNX_BATCH, s.c, s.h, s.w};
    memcpy(dims, all, sizeof all);
    return v->rank;
}

const char *tools_onnx_dims_str(const int64_t *dims, int n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int d = 0; d < n && len < size; d++) {
        if (dims[d] == TOOLS_ONNX_BATCH)
            len += (size_t)snprintf(buf + len, size - len, "%sN", d ? ", " : "[");
        else
            len += (size_t)snprintf(buf + len, size - len, "%s%lld", d ? ", " : "[", (long long)dims[d]);
    }
    if (len < size)
        snprintf(buf + len, size - len, "%s]", n ? "" : "[");
    return buf;
}
