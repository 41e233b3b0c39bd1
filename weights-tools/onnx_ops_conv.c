/* Spatial ONNX operators: Conv, MaxPool, AveragePool, GlobalAveragePool and
 * Pad. 2-D inputs [N,C,H,W] map directly; 1-D inputs [N,C,L] run as
 * [C,L,1] with kernels [k,1]. auto_pad SAME_UPPER is the engine's "same"
 * (TensorFlow's, extra pixel at the end); SAME_LOWER becomes explicit pads. */
#include "onnx_internal.h"

#include <string.h>

#define MAX_SIDE 16777216

/* Number of spatial axes of a run-time input (1 or 2). */
static cnn_status_t spatial_axes(tools_onnx_ctx_t *c, const tools_onnx_value_t *x, int *nsp)
{
    if (x->rank != 3 && x->rank != 4)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "needs a [N,C,H,W] or [N,C,L] input, not rank %d%s", x->rank,
                               x->rank > 4 ? " (3-D)" : "");
    *nsp = x->rank - 2;
    return CNN_OK;
}

/* Reads a per-axis attribute (kernel_shape, strides, dilations) into
 * out[0] (H) and out[1] (W; 1 for 1-D), `def` when absent. */
static cnn_status_t attr_hw(tools_onnx_ctx_t *c, const char *name, int nsp, int def, int out[2])
{
    const int64_t *v;
    size_t n;
    cnn_status_t st = tools_onnx_attr_ints(c, name, &v, &n);
    if (st != CNN_OK)
        return st;
    out[0] = def;
    out[1] = nsp == 2 ? def : 1;
    if (!v)
        return CNN_OK;
    if (n != (size_t)nsp)
        return tools_onnx_fail(c, CNN_E_FORMAT, "'%s' needs %d values, has %zu", name, nsp, n);
    for (int k = 0; k < nsp; k++) {
        if (v[k] < 1 || v[k] > MAX_SIDE)
            return tools_onnx_fail(c, CNN_E_FORMAT, "'%s' value %lld out of range", name, (long long)v[k]);
        out[k] = (int)v[k];
    }
    return CNN_OK;
}

/* ONNX pads [b_1.., e_1..] over `nsp` axes → top/left/bottom/right. */
static cnn_status_t pads_from(tools_onnx_ctx_t *c, const int64_t *v, size_t n, int nsp, cnn_pad_t *pad)
{
    *pad = (cnn_pad_t){0, 0, 0, 0};
    if (!v)
        return CNN_OK;
    if (n != (size_t)(2 * nsp))
        return tools_onnx_fail(c, CNN_E_FORMAT, "'pads' needs %d values, has %zu", 2 * nsp, n);
    for (size_t k = 0; k < n; k++)
        if (v[k] < 0 || v[k] > MAX_SIDE)
            return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "pad %lld is not supported (0 to %d)", (long long)v[k],
                                   MAX_SIDE);
    pad->top = (int)v[0];
    pad->bottom = (int)v[nsp];
    if (nsp == 2) {
        pad->left = (int)v[1];
        pad->right = (int)v[3];
    }
    return CNN_OK;
}

typedef struct window {
    int nsp;
    int k[2], s[2], d[2];
    cnn_pad_t pad;
    bool same_upper; /* written as padding "same" */
    bool auto_pad;   /* any SAME_* or VALID: ceil_mode has no effect */
} window_t;

/* Reads strides, dilations (when `dilations`), pads and auto_pad for a window
 * of size w->k over run-time input x. */
static cnn_status_t read_window(tools_onnx_ctx_t *c, const tools_onnx_value_t *x, bool dilations, window_t *w)
{
    cnn_status_t st;
    const int64_t *pv;
    size_t pn;
    char mode[32];
    if ((st = attr_hw(c, "strides", w->nsp, 1, w->s)) != CNN_OK)
        return st;
    w->d[0] = w->d[1] = 1;
    if (dilations && (st = attr_hw(c, "dilations", w->nsp, 1, w->d)) != CNN_OK)
        return st;
    if ((st = tools_onnx_attr_ints(c, "pads", &pv, &pn)) != CNN_OK ||
        (st = tools_onnx_attr_string(c, "auto_pad", "NOTSET", mode, sizeof mode)) != CNN_OK)
        return st;
    w->same_upper = strcmp(mode, "SAME_UPPER") == 0;
    w->auto_pad = strcmp(mode, "NOTSET") != 0;
    if (!w->auto_pad)
        return pads_from(c, pv, pn, w->nsp, &w->pad);
    w->pad = (cnn_pad_t){0, 0, 0, 0};
    if (strcmp(mode, "VALID") == 0)
        return CNN_OK;
    if (!w->same_upper && strcmp(mode, "SAME_LOWER") != 0)
        return tools_onnx_fail(c, CNN_E_FORMAT, "unknown auto_pad '%s'", mode);
    cnn_shape_t in = c->g->nodes[x->node].out;
    cnn_pad_t p = cnn_same_padding(in.h, in.w, w->k[0], w->k[1], w->s[0], w->s[1], w->d[0], w->d[1]);
    if (!w->same_upper)
        p = (cnn_pad_t){.top = p.bottom, .left = p.right, .bottom = p.top, .right = p.left};
    w->pad = p;
    return CNN_OK;
}

/* Adds the window keys shared by conv2d and the pools. */
static bool json_window(cJSON *o, const window_t *w)
{
    int pads[4] = {w->pad.top, w->pad.left, w->pad.bottom, w->pad.right};
    return tools_onnx_json_ints(o, "kernel", w->k, 2) && tools_onnx_json_ints(o, "stride", w->s, 2) &&
           (w->same_upper ? cJSON_AddStringToObject(o, "padding", "same") != NULL
                          : tools_onnx_json_ints(o, "pads", pads, 4));
}

cnn_status_t tools_onnx_map_conv(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x, *wv, *bv;
    window_t w = {0};
    cnn_status_t st;
    if ((st = tools_onnx_in_runtime(c, 0, &x)) != CNN_OK || (st = spatial_axes(c, x, &w.nsp)) != CNN_OK ||
        (st = tools_onnx_in_const(c, 1, true, &wv)) != CNN_OK || (st = tools_onnx_in_const(c, 2, false, &bv)) != CNN_OK)
        return st;
    const tools_onnx_tensor_t *W = &wv->t;
    char a[160];
    if (W->is_int || W->ndim != 2 + w.nsp || W->dims[0] < 1 || W->dims[0] > MAX_SIDE)
        return tools_onnx_fail(c, CNN_E_SHAPE, "weight '%.100s' must be a float tensor [M, C/group, k...] of rank %d, is %s",
                               c->node->input[1], 2 + w.nsp, tools_onnx_dims_str(W->dims, W->ndim, a, sizeof a));
    for (int k = 0; k < w.nsp; k++) {
        if (W->dims[2 + k] < 1 || W->dims[2 + k] > MAX_SIDE)
            return tools_onnx_fail(c, CNN_E_SHAPE, "weight '%.100s' has an empty kernel", c->node->input[1]);
        w.k[k] = (int)W->dims[2 + k];
    }
    w.k[1] = w.nsp == 2 ? w.k[1] : 1;
    int ks[2];
    int64_t group;
    if ((st = attr_hw(c, "kernel_shape", w.nsp, 0, ks)) != CNN_OK ||
        (st = tools_onnx_attr_int(c, "group", 1, &group)) != CNN_OK || (st = read_window(c, x, true, &w)) != CNN_OK)
        return st;
    if (ks[0] && (ks[0] != w.k[0] || ks[1] != w.k[1]))
        return tools_onnx_fail(c, CNN_E_SHAPE, "kernel_shape does not match weight '%.100s' %s", c->node->input[1],
                               tools_onnx_dims_str(W->dims, W->ndim, a, sizeof a));
    int in_c = c->g->nodes[x->node].out.c;
    if (group < 1 || group > in_c || W->dims[1] * group != in_c)
        return tools_onnx_fail(c, CNN_E_SHAPE, "weight '%.100s' %s does not fit an input of %d channels with group %lld",
                               c->node->input[1], tools_onnx_dims_str(W->dims, W->ndim, a, sizeof a), in_c,
                               (long long)group);
    if (bv && (bv->t.is_int || bv->t.numel != (size_t)W->dims[0]))
        return tools_onnx_fail(c, CNN_E_SHAPE, "bias '%.100s' must hold %lld floats", c->node->input[2],
                               (long long)W->dims[0]);
    cnn_conv_params_t p = {.out_channels = (int)W->dims[0], .kh = w.k[0], .kw = w.k[1], .sh = w.s[0],
                           .sw = w.s[1], .dh = w.d[0], .dw = w.d[1], .groups = (int)group, .pad = w.pad,
                           .has_bias = bv != NULL};
    char name[160];
    if ((st = tools_onnx_node_name(c, NULL, name, sizeof name)) != CNN_OK)
        return st;
    int id = cnn_graph_add_conv2d(c->g, name, x->node, &p);
    if ((st = tools_onnx_built(c, id)) != CNN_OK)
        return st;
    cJSON *o = tools_onnx_emit(c, id);
    if (!o)
        return c->err->status;
    if (!cJSON_AddNumberToObject(o, "out_channels", p.out_channels) || !json_window(o, &w) ||
        !tools_onnx_json_ints(o, "dilation", w.d, 2) || !cJSON_AddNumberToObject(o, "groups", p.groups) ||
        !cJSON_AddBoolToObject(o, "bias", p.has_bias))
        return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    if ((st = tools_onnx_weight(c, id, CNN_W_WEIGHT, W->f, W->numel, c->node->input[1])) != CNN_OK ||
        (bv && (st = tools_onnx_weight(c, id, CNN_W_BIAS, bv->t.f, bv->t.numel, c->node->input[2])) != CNN_OK))
        return st;
    return tools_onnx_out_runtime(c, 0, id, x->rank);
}

/* ONNX's output length of a pooling window (no dilation) along one axis. */
static int64_t onnx_pool_out(int64_t in, int pa, int pb, int k, int s, bool ceil_mode)
{
    int64_t span = in + pa + pb - k;
    if (span < 0)
        return 0;
    return (ceil_mode ? (span + s - 1) / s : span / s) + 1;
}

static cnn_status_t map_pool(tools_onnx_ctx_t *c, cnn_op_t op)
{
    bool is_max = op == CNN_OP_MAX_POOL;
    tools_onnx_value_t *x;
    window_t w = {0};
    int64_t ceil_mode = 0, include_pad = 0;
    cnn_status_t st;
    if ((st = tools_onnx_in_runtime(c, 0, &x)) != CNN_OK || (st = spatial_axes(c, x, &w.nsp)) != CNN_OK ||
        (st = attr_hw(c, "kernel_shape", w.nsp, 0, w.k)) != CNN_OK ||
        (st = read_window(c, x, is_max, &w)) != CNN_OK ||
        (st = tools_onnx_attr_int(c, "ceil_mode", 0, &ceil_mode)) != CNN_OK ||
        (!is_max && (st = tools_onnx_attr_int(c, "count_include_pad", 0, &include_pad)) != CNN_OK))
        return st;
    if (w.k[0] == 0)
        return tools_onnx_fail(c, CNN_E_FORMAT, "kernel_shape is required");
    if (w.d[0] != 1 || w.d[1] != 1)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "dilated pooling is not supported");
    if (is_max && (st = tools_onnx_outputs_unused(c, 1, "indices")) != CNN_OK)
        return st;
    cnn_pool_params_t p = {.kh = w.k[0], .kw = w.k[1], .sh = w.s[0], .sw = w.s[1], .pad = w.pad,
                           .ceil_mode = ceil_mode != 0 && !w.auto_pad, .count_include_pad = include_pad != 0};
    char name[160];
    if ((st = tools_onnx_node_name(c, NULL, name, sizeof name)) != CNN_OK)
        return st;
    int id = cnn_graph_add_pool(c->g, name, op, x->node, &p);
    if ((st = tools_onnx_built(c, id)) != CNN_OK)
        return st;
    cnn_shape_t in = c->g->nodes[x->node].out, out = c->g->nodes[id].out;
    int64_t oh = onnx_pool_out(in.h, p.pad.top, p.pad.bottom, p.kh, p.sh, p.ceil_mode);
    int64_t ow = onnx_pool_out(in.w, p.pad.left, p.pad.right, p.kw, p.sw, p.ceil_mode);
    if (oh != out.h || ow != out.w)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED,
                               "ceil_mode gives %lldx%lld here, PyTorch's rule (which the engine follows) %dx%d",
                               (long long)oh, (long long)ow, out.h, out.w);
    cJSON *o = tools_onnx_emit(c, id);
    if (!o)
        return c->err->status;
    if (!json_window(o, &w) || !cJSON_AddBoolToObject(o, "ceil_mode", p.ceil_mode) ||
        (!is_max && !cJSON_AddBoolToObject(o, "count_include_pad", p.count_include_pad)))
        return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    return tools_onnx_out_runtime(c, 0, id, x->rank);
}

cnn_status_t tools_onnx_map_max_pool(tools_onnx_ctx_t *c)
{
    return map_pool(c, CNN_OP_MAX_POOL);
}

cnn_status_t tools_onnx_map_avg_pool(tools_onnx_ctx_t *c)
{
    return map_pool(c, CNN_OP_AVG_POOL);
}

cnn_status_t tools_onnx_map_global_avg_pool(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x;
    int nsp;
    cnn_status_t st;
    if ((st = tools_onnx_in_runtime(c, 0, &x)) != CNN_OK || (st = spatial_axes(c, x, &nsp)) != CNN_OK)
        return st;
    char name[160];
    if ((st = tools_onnx_node_name(c, NULL, name, sizeof name)) != CNN_OK)
        return st;
    int id = cnn_graph_add_global_avg_pool(c->g, name, x->node);
    if ((st = tools_onnx_built(c, id)) != CNN_OK)
        return st;
    if (!tools_onnx_emit(c, id))
        return c->err->status;
    return tools_onnx_out_runtime(c, 0, id, x->rank);
}

/* Pad's pads and value: attributes before opset 11, inputs from 11 on. */
static cnn_status_t pad_args(tools_onnx_ctx_t *c, const int64_t **pads, size_t *n, double *value)
{
    cnn_status_t st;
    if (c->opset < 11) {
        float v;
        if ((st = tools_onnx_attr_ints(c, c->opset < 2 ? "paddings" : "pads", pads, n)) != CNN_OK ||
            (st = tools_onnx_attr_float(c, "value", 0.0f, &v)) != CNN_OK)
            return st;
        *value = v;
        return *pads ? CNN_OK : tools_onnx_fail(c, CNN_E_FORMAT, "attribute 'pads' is required");
    }
    tools_onnx_value_t *pv, *vv;
    if ((st = tools_onnx_in_const(c, 1, true, &pv)) != CNN_OK || (st = tools_onnx_in_const(c, 2, false, &vv)) != CNN_OK)
        return st;
    if (!pv->t.is_int || pv->t.ndim != 1)
        return tools_onnx_fail(c, CNN_E_FORMAT, "pads must be a 1-D integer tensor");
    if (vv && vv->t.numel != 1)
        return tools_onnx_fail(c, CNN_E_FORMAT, "constant_value must be a scalar");
    if (c->node->n_input > 3 && c->node->input[3][0])
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "the axes input is not supported");
    *pads = pv->t.i;
    *n = pv->t.numel;
    *value = vv ? tools_onnx_tensor_at(&vv->t, 0) : 0.0;
    return CNN_OK;
}

cnn_status_t tools_onnx_map_pad(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x;
    const int64_t *pv;
    size_t n;
    double value = 0.0;
    char mode[32];
    int nsp = 0;
    cnn_status_t st;
    if ((st = tools_onnx_in_runtime(c, 0, &x)) != CNN_OK || (st = spatial_axes(c, x, &nsp)) != CNN_OK ||
        (st = pad_args(c, &pv, &n, &value)) != CNN_OK ||
        (st = tools_onnx_attr_string(c, "mode", "constant", mode, sizeof mode)) != CNN_OK)
        return st;
    if (strcmp(mode, "constant") != 0)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "mode '%s' is not supported (only constant zero padding)", mode);
    if (value != 0.0)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "padding with %g is not supported (only zero)", value);
    if (n != (size_t)(2 * x->rank))
        return tools_onnx_fail(c, CNN_E_FORMAT, "pads needs %d values, has %zu", 2 * x->rank, n);
    if (pv[0] || pv[1] || pv[x->rank] || pv[x->rank + 1])
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "padding the batch or channel axis is not supported");
    int64_t sp[4] = {pv[2], nsp == 2 ? pv[3] : 0, pv[x->rank + 2], nsp == 2 ? pv[x->rank + 3] : 0};
    cnn_pad_t pad;
    if ((st = pads_from(c, sp, 4, 2, &pad)) != CNN_OK)
        return st;
    char name[160];
    if ((st = tools_onnx_node_name(c, NULL, name, sizeof name)) != CNN_OK)
        return st;
    int id = cnn_graph_add_zero_pad(c->g, name, x->node, pad);
    if ((st = tools_onnx_built(c, id)) != CNN_OK)
        return st;
    cJSON *o = tools_onnx_emit(c, id);
    int pads[4] = {pad.top, pad.left, pad.bottom, pad.right};
    if (!o || !tools_onnx_json_ints(o, "pads", pads, 4))
        return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    return tools_onnx_out_runtime(c, 0, id, x->rank);
}
