/* Shape operators on computed tensors: Concat (channels), Flatten, Reshape
 * and the run-time side of (Un)Squeeze. The engine keeps every image as
 * [C,H,W] in CHW order, so a reshape that keeps [C,H,W] (e.g. [N,C,1,1] ↔
 * [N,C]) is only a new name, and one to [N, F] is a flatten node; other
 * reshapes are not supported. */
#include "onnx_internal.h"

#include <stdlib.h>
#include <string.h>

/* The engine's [C,H,W] for ONNX dims[1..n) of a run-time value; false when
 * it has no such form (rank > 4, or a rank-1 value with more than one element). */
static bool engine_shape(const int64_t *dims, int n, cnn_shape_t *s)
{
    int64_t d[3] = {1, 1, 1};
    if (n < 1 || n > 4)
        return false;
    for (int k = 1; k < n; k++) {
        if (dims[k] < 1 || dims[k] > INT32_MAX)
            return false;
        d[k - 1] = dims[k];
    }
    *s = (cnn_shape_t){(int)d[0], (int)d[1], (int)d[2]};
    return true;
}

cnn_status_t tools_onnx_runtime_reshape(tools_onnx_ctx_t *c, tools_onnx_value_t *v, const int64_t *dims, int n)
{
    int64_t in[4];
    char a[160], b[160];
    int rank = tools_onnx_runtime_dims(c, v, in);
    bool batch_kept = n >= 1 && dims[0] == TOOLS_ONNX_BATCH;
    for (int k = 1; k < n; k++)
        batch_kept = batch_kept && dims[k] != TOOLS_ONNX_BATCH;
    cnn_shape_t to, from = c->g->nodes[v->node].out;
    if (!batch_kept || !engine_shape(dims, n, &to))
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "reshaping %s to %s is not supported (the batch axis must stay first; rank <= 4)",
                               tools_onnx_dims_str(in, rank, a, sizeof a), tools_onnx_dims_str(dims, n, b, sizeof b));
    if (to.c == from.c && to.h == from.h && to.w == from.w) {
        tools_onnx_value_t *alias = calloc(1, sizeof *alias);
        if (!alias)
            return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
        alias->node = v->node;
        alias->rank = n;
        const char *name = c->node->n_output && c->node->output[0][0] ? c->node->output[0] : NULL;
        if (!name) {
            free(alias);
            return CNN_OK;
        }
        return tools_onnx_define(c, name, alias);
    }
    if (n != 2)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "reshaping %s to %s is not supported (only flattening to [N, F])",
                               tools_onnx_dims_str(in, rank, a, sizeof a), tools_onnx_dims_str(dims, n, b, sizeof b));
    char name[160];
    cnn_status_t st = tools_onnx_node_name(c, NULL, name, sizeof name);
    if (st != CNN_OK)
        return st;
    int id = cnn_graph_add_unary(c->g, name, CNN_OP_FLATTEN, v->node);
    if ((st = tools_onnx_built(c, id)) != CNN_OK)
        return st;
    if (!tools_onnx_emit(c, id))
        return c->err->status;
    return tools_onnx_out_runtime(c, 0, id, 2);
}

cnn_status_t tools_onnx_map_concat(tools_onnx_ctx_t *c)
{
    const Onnx__NodeProto *n = c->node;
    if (n->n_input == 0 || n->n_input > 1024)
        return tools_onnx_fail(c, CNN_E_FORMAT, "needs 1 to 1024 inputs");
    bool all_const = true;
    for (size_t k = 0; k < n->n_input; k++) {
        tools_onnx_value_t *v;
        cnn_status_t st = tools_onnx_in(c, k, &v);
        if (st != CNN_OK)
            return st;
        if (!v)
            return tools_onnx_fail(c, CNN_E_FORMAT, "input %zu is empty", k);
        all_const = all_const && v->is_const;
    }
    if (all_const)
        return tools_onnx_fold_concat(c);
    int64_t axis;
    cnn_status_t st = tools_onnx_attr_int(c, "axis", INT64_MAX, &axis);
    if (st != CNN_OK)
        return st;
    int ids[1024];
    int rank = 0;
    for (size_t k = 0; k < n->n_input; k++) {
        tools_onnx_value_t *v;
        if ((st = tools_onnx_in_runtime(c, k, &v)) != CNN_OK)
            return st;
        if (k == 0)
            rank = v->rank;
        if (v->rank != rank)
            return tools_onnx_fail(c, CNN_E_SHAPE, "inputs differ in rank");
        ids[k] = v->node;
    }
    if (axis < -rank || axis >= rank)
        return tools_onnx_fail(c, CNN_E_FORMAT, "axis missing or out of range for rank %d", rank);
    if ((axis < 0 ? axis + rank : axis) != 1)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "concatenation along axis %lld of rank-%d tensors is not supported (only channels, axis 1)",
                               (long long)axis, rank);
    char name[160];
    if ((st = tools_onnx_node_name(c, NULL, name, sizeof name)) != CNN_OK)
        return st;
    int id = cnn_graph_add_concat(c->g, name, ids, (int)n->n_input);
    if ((st = tools_onnx_built(c, id)) != CNN_OK)
        return st;
    if (!tools_onnx_emit(c, id))
        return c->err->status;
    return tools_onnx_out_runtime(c, 0, id, rank);
}

cnn_status_t tools_onnx_map_flatten(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x;
    int64_t axis;
    cnn_status_t st;
    if ((st = tools_onnx_in(c, 0, &x)) != CNN_OK || (st = tools_onnx_attr_int(c, "axis", 1, &axis)) != CNN_OK)
        return st;
    if (!x)
        return tools_onnx_fail(c, CNN_E_FORMAT, "input 0 is missing");
    int64_t in[TOOLS_ONNX_MAX_DIMS];
    int rank = x->is_const ? x->t.ndim : tools_onnx_runtime_dims(c, x, in);
    if (x->is_const)
        memcpy(in, x->t.dims, (size_t)rank * sizeof *in);
    if (axis < -rank || axis > rank)
        return tools_onnx_fail(c, CNN_E_FORMAT, "axis %lld out of range for rank %d", (long long)axis, rank);
    axis = axis < 0 ? axis + rank : axis;
    int64_t out[2] = {1, 1};
    if (x->is_const) {
        for (int k = 0; k < rank; k++)
            out[k < axis ? 0 : 1] *= in[k];
        tools_onnx_tensor_t shape = {.ndim = 1, .dims = {2}, .numel = 2, .is_int = true, .i = out};
        return tools_onnx_fold_reshape(c, x, &shape, true);
    }
    if (axis != 1)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "flattening at axis %lld is not supported (only axis 1: [N, F])",
                               (long long)axis);
    out[0] = TOOLS_ONNX_BATCH;
    for (int k = 1; k < rank; k++)
        out[1] *= in[k];
    return tools_onnx_runtime_reshape(c, x, out, 2);
}

cnn_status_t tools_onnx_map_reshape(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x, *sv;
    int64_t allowzero;
    cnn_status_t st;
    if ((st = tools_onnx_in(c, 0, &x)) != CNN_OK || (st = tools_onnx_attr_int(c, "allowzero", 0, &allowzero)) != CNN_OK)
        return st;
    if (!x)
        return tools_onnx_fail(c, CNN_E_FORMAT, "input 0 is missing");
    tools_onnx_tensor_t attr_shape = {0};
    const tools_onnx_tensor_t *shape = &attr_shape;
    if (c->opset < 5) {
        const int64_t *v;
        size_t n;
        if ((st = tools_onnx_attr_ints(c, "shape", &v, &n)) != CNN_OK)
            return st;
        if (!v || n > TOOLS_ONNX_MAX_DIMS)
            return tools_onnx_fail(c, CNN_E_FORMAT, "attribute 'shape' is missing or too long");
        attr_shape = (tools_onnx_tensor_t){.ndim = 1, .dims = {(int64_t)n}, .numel = n, .is_int = true,
                                           .i = (int64_t *)v};
    } else {
        if ((st = tools_onnx_in_const(c, 1, true, &sv)) != CNN_OK)
            return st;
        shape = &sv->t;
    }
    if (x->is_const)
        return tools_onnx_fold_reshape(c, x, shape, allowzero != 0);
    int64_t in[4], out[TOOLS_ONNX_MAX_DIMS];
    int rank = tools_onnx_runtime_dims(c, x, in), n;
    if ((st = tools_onnx_reshape_target(c, in, rank, shape, allowzero != 0, out, &n)) != CNN_OK)
        return st;
    return tools_onnx_runtime_reshape(c, x, out, n);
}
