/* Elementwise and per-position ONNX operators: Relu, Sigmoid, Tanh,
 * LeakyRelu, Elu, Clip, Softmax (over channels), LRN, and the pass-throughs
 * Dropout (inference) and Identity. */
#include "onnx_internal.h"

#include <float.h>
#include <math.h>

/* One engine node of op `op` over computed input 0 (alpha for leaky_relu/elu). */
static cnn_status_t emit_unary(tools_onnx_ctx_t *c, cnn_op_t op, float alpha)
{
    tools_onnx_value_t *x;
    cnn_status_t st;
    char name[160];
    if ((st = tools_onnx_in_runtime(c, 0, &x)) != CNN_OK ||
        (st = tools_onnx_node_name(c, NULL, name, sizeof name)) != CNN_OK)
        return st;
    int id = op == CNN_OP_LEAKY_RELU || op == CNN_OP_ELU
                 ? cnn_graph_add_activation_alpha(c->g, name, op, x->node, alpha)
                 : cnn_graph_add_unary(c->g, name, op, x->node);
    if ((st = tools_onnx_built(c, id)) != CNN_OK)
        return st;
    cJSON *o = tools_onnx_emit(c, id);
    if (!o)
        return c->err->status;
    if ((op == CNN_OP_LEAKY_RELU || op == CNN_OP_ELU) && !cJSON_AddNumberToObject(o, "alpha", alpha))
        return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    return tools_onnx_out_runtime(c, 0, id, x->rank);
}

cnn_status_t tools_onnx_map_relu(tools_onnx_ctx_t *c)
{
    return emit_unary(c, CNN_OP_RELU, 0.0f);
}

cnn_status_t tools_onnx_map_sigmoid(tools_onnx_ctx_t *c)
{
    return emit_unary(c, CNN_OP_SIGMOID, 0.0f);
}

cnn_status_t tools_onnx_map_tanh(tools_onnx_ctx_t *c)
{
    return emit_unary(c, CNN_OP_TANH, 0.0f);
}

cnn_status_t tools_onnx_map_leaky_relu(tools_onnx_ctx_t *c)
{
    float alpha;
    cnn_status_t st = tools_onnx_attr_float(c, "alpha", 0.01f, &alpha);
    return st != CNN_OK ? st : emit_unary(c, CNN_OP_LEAKY_RELU, alpha);
}

cnn_status_t tools_onnx_map_elu(tools_onnx_ctx_t *c)
{
    float alpha;
    cnn_status_t st = tools_onnx_attr_float(c, "alpha", 1.0f, &alpha);
    return st != CNN_OK ? st : emit_unary(c, CNN_OP_ELU, alpha);
}

/* A Clip bound: attribute before opset 11, optional scalar input from 11 on.
 * *has is false when absent or infinite (no bound). */
static cnn_status_t clip_bound(tools_onnx_ctx_t *c, const char *attr, size_t input, bool *has, float *v)
{
    cnn_status_t st;
    double x = INFINITY;
    if (c->opset < 11) {
        if (tools_onnx_attr(c, attr)) {
            float f;
            if ((st = tools_onnx_attr_float(c, attr, 0.0f, &f)) != CNN_OK)
                return st;
            x = f;
        }
    } else {
        tools_onnx_value_t *b;
        if ((st = tools_onnx_in_const(c, input, false, &b)) != CNN_OK)
            return st;
        if (b && b->t.numel != 1)
            return tools_onnx_fail(c, CNN_E_FORMAT, "%s must be a scalar", attr);
        if (b)
            x = tools_onnx_tensor_at(&b->t, 0);
    }
    if (isnan(x))
        return tools_onnx_fail(c, CNN_E_FORMAT, "%s is NaN", attr);
    *has = fabs(x) <= FLT_MAX;
    *v = *has ? (float)x : 0.0f;
    return CNN_OK;
}

cnn_status_t tools_onnx_map_clip(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x;
    bool has_lo = false, has_hi = false;
    float lo = 0.0f, hi = 0.0f;
    cnn_status_t st;
    char name[160];
    if ((st = tools_onnx_in_runtime(c, 0, &x)) != CNN_OK || (st = clip_bound(c, "min", 1, &has_lo, &lo)) != CNN_OK ||
        (st = clip_bound(c, "max", 2, &has_hi, &hi)) != CNN_OK ||
        (st = tools_onnx_node_name(c, NULL, name, sizeof name)) != CNN_OK)
        return st;
    int id = cnn_graph_add_clip(c->g, name, x->node, has_lo ? lo : -FLT_MAX, has_hi ? hi : FLT_MAX);
    if ((st = tools_onnx_built(c, id)) != CNN_OK)
        return st;
    cJSON *o = tools_onnx_emit(c, id);
    if (!o || (has_lo && !cJSON_AddNumberToObject(o, "min", lo)) || (has_hi && !cJSON_AddNumberToObject(o, "max", hi)))
        return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    return tools_onnx_out_runtime(c, 0, id, x->rank);
}

cnn_status_t tools_onnx_map_softmax(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x;
    int64_t axis;
    cnn_status_t st;
    if ((st = tools_onnx_in_runtime(c, 0, &x)) != CNN_OK ||
        (st = tools_onnx_attr_int(c, "axis", c->opset >= 13 ? -1 : 1, &axis)) != CNN_OK)
        return st;
    int64_t dims[4];
    int rank = tools_onnx_runtime_dims(c, x, dims);
    if (axis < -rank || axis >= rank)
        return tools_onnx_fail(c, CNN_E_FORMAT, "axis %lld out of range for rank %d", (long long)axis, rank);
    axis = axis < 0 ? axis + rank : axis;
    /* Before opset 13 Softmax normalizes over all axes from `axis` on. */
    bool spatial_one = c->g->nodes[x->node].out.h == 1 && c->g->nodes[x->node].out.w == 1;
    if (axis != 1 || (c->opset < 13 && !spatial_one))
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED,
                               "softmax over axis %lld of a rank-%d tensor is not supported (only over channels, "
                               "axis 1%s)",
                               (long long)axis, rank, c->opset < 13 ? ", with no spatial axes" : "");
    return emit_unary(c, CNN_OP_SOFTMAX, 0.0f);
}

cnn_status_t tools_onnx_map_lrn(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x;
    int64_t size;
    cnn_lrn_params_t p;
    cnn_status_t st;
    char name[160];
    if ((st = tools_onnx_in_runtime(c, 0, &x)) != CNN_OK || (st = tools_onnx_attr_int(c, "size", 0, &size)) != CNN_OK ||
        (st = tools_onnx_attr_float(c, "alpha", 1e-4f, &p.alpha)) != CNN_OK ||
        (st = tools_onnx_attr_float(c, "beta", 0.75f, &p.beta)) != CNN_OK ||
        (st = tools_onnx_attr_float(c, "bias", 1.0f, &p.k)) != CNN_OK)
        return st;
    if (size < 1 || size > 4095)
        return tools_onnx_fail(c, CNN_E_FORMAT, "size %lld out of range", (long long)size);
    /* ONNX sums channels [c - (size-1)/2, c + ceil((size-1)/2)], PyTorch (and
     * the engine) [c - size/2, c + (size-1)/2]: equal only for odd sizes. */
    if (size % 2 == 0)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "even size %lld is not supported (odd sizes only)",
                               (long long)size);
    p.size = (int)size;
    if ((st = tools_onnx_node_name(c, NULL, name, sizeof name)) != CNN_OK)
        return st;
    int id = cnn_graph_add_lrn(c->g, name, x->node, &p);
    if ((st = tools_onnx_built(c, id)) != CNN_OK)
        return st;
    cJSON *o = tools_onnx_emit(c, id);
    if (!o || !cJSON_AddNumberToObject(o, "size", p.size) || !cJSON_AddNumberToObject(o, "alpha", p.alpha) ||
        !cJSON_AddNumberToObject(o, "beta", p.beta) || !cJSON_AddNumberToObject(o, "k", p.k))
        return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    return tools_onnx_out_runtime(c, 0, id, x->rank);
}

cnn_status_t tools_onnx_map_dropout(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x, *ratio, *training;
    cnn_status_t st;
    if ((st = tools_onnx_in(c, 0, &x)) != CNN_OK || (st = tools_onnx_in(c, 1, &ratio)) != CNN_OK ||
        (st = tools_onnx_outputs_unused(c, 1, "mask")) != CNN_OK)
        return st;
    if (!x)
        return tools_onnx_fail(c, CNN_E_FORMAT, "input 0 is missing");
    if (c->opset >= 12) {
        if ((st = tools_onnx_in_const(c, 2, false, &training)) != CNN_OK)
            return st;
        if (training && (training->t.numel != 1 || tools_onnx_tensor_at(&training->t, 0) != 0.0))
            return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "training_mode=true is not supported");
    }
    return tools_onnx_out_alias(c, 0, x);
}

cnn_status_t tools_onnx_map_identity(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x;
    cnn_status_t st = tools_onnx_in(c, 0, &x);
    if (st != CNN_OK)
        return st;
    return x ? tools_onnx_out_alias(c, 0, x) : tools_onnx_fail(c, CNN_E_FORMAT, "input 0 is missing");
}
