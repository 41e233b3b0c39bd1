/* Keras layers without weights → graph-form nodes: pooling, padding,
 * Flatten, activation layers, and the layers inference skips (Dropout). */
#include "keras_internal.h"

#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIM 65536

/* Adds a one-input node after `in`; *out takes in's shape and the new node. */
static cJSON *add_after(tools_keras_ctx_t *ctx, const char *base, const char *op, const tools_keras_tensor_t *in,
                        tools_keras_tensor_t *out, cnn_error_t *err)
{
    if (tools_keras_tensor_copy(in, out, err) != CNN_OK)
        return NULL;
    const char *src = in->node;
    return tools_keras_add_node(ctx, base, op, &src, 1, out, err);
}

cnn_status_t tools_keras_convert_pool(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                      const tools_keras_tensor_t *in, tools_keras_tensor_t *out, cnn_error_t *err)
{
    int k[2], s[2];
    const char *padding;
    cnn_status_t st;
    if ((st = tools_keras_need_image(l, in, err)) || (st = tools_keras_check_channels_last(l, err)) ||
        (st = tools_keras_cfg_pair(l, "pool_size", 2, 1, MAX_DIM, k, err)) ||
        (st = tools_keras_cfg_pair(l, "strides", 0, 1, MAX_DIM, s, err)) ||
        (st = tools_keras_cfg_string(l, "padding", "valid", &padding, err)))
        return st;
    if (s[0] == 0)
        memcpy(s, k, sizeof s); /* strides null: the pool size */
    bool same = strcmp(padding, "same") == 0;
    if (!same && strcmp(padding, "valid") != 0)
        return cnn_error_set(err, CNN_E_UNSUPPORTED, "layer '%s' (%s): padding '%s' is not supported", l->name,
                             l->cls, padding);
    int oh = tools_keras_window_out(in->h, k[0], s[0], 1, same);
    int ow = tools_keras_window_out(in->w, k[1], s[1], 1, same);
    if (oh <= 0 || ow <= 0)
        return cnn_error_set(err, CNN_E_SHAPE, "layer '%s' (%s): pool larger than its %dx%d input", l->name,
                             l->cls, in->h, in->w);
    bool is_max = strstr(l->cls, "Max") != NULL;
    cJSON *node = add_after(ctx, l->name, is_max ? "max_pool" : "avg_pool", in, out, err);
    if (!node)
        return err->status;
    if (!tools_keras_add_ints(node, "kernel", k, 2) || !tools_keras_add_ints(node, "stride", s, 2) ||
        !tools_keras_add_padding(node, same))
        return tools_keras_nomem(err);
    out->h = oh;
    out->w = ow;
    return CNN_OK;
}

/* GlobalAveragePooling2D → global_avg_pool; GlobalMaxPooling2D → a max pool
 * over the whole image. Both give the engine a [C, 1, 1] tensor. */
cnn_status_t tools_keras_convert_global_pool(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                             const tools_keras_tensor_t *in, tools_keras_tensor_t *out,
                                             cnn_error_t *err)
{
    bool keepdims;
    cnn_status_t st;
    if ((st = tools_keras_need_image(l, in, err)) || (st = tools_keras_check_channels_last(l, err)) ||
        (st = tools_keras_cfg_bool(l, "keepdims", false, &keepdims, err)))
        return st;
    bool is_max = strstr(l->cls, "Max") != NULL;
    cJSON *node = add_after(ctx, l->name, is_max ? "max_pool" : "global_avg_pool", in, out, err);
    if (!node)
        return err->status;
    int k[2] = {in->h, in->w};
    if (is_max && (!tools_keras_add_ints(node, "kernel", k, 2) || !tools_keras_add_ints(node, "stride", k, 2)))
        return tools_keras_nomem(err);
    out->rank = keepdims ? 4 : 2;
    out->h = out->w = 1;
    return CNN_OK;
}

/* padding: n, [h, w] or [[top, bottom], [left, right]] → [top, left, bottom, right]. */
cnn_status_t tools_keras_convert_zero_pad(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                          const tools_keras_tensor_t *in, tools_keras_tensor_t *out,
                                          cnn_error_t *err)
{
    cnn_status_t st;
    if ((st = tools_keras_need_image(l, in, err)) || (st = tools_keras_check_channels_last(l, err)))
        return st;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(l->config, "padding");
    int tb[2], lr[2];
    if (cJSON_IsArray(cJSON_GetArrayItem(p, 0))) {
        if (cJSON_GetArraySize(p) != 2 || !tools_keras_json_pair(cJSON_GetArrayItem(p, 0), 0, MAX_DIM, tb) ||
            !tools_keras_json_pair(cJSON_GetArrayItem(p, 1), 0, MAX_DIM, lr))
            return cnn_error_set(err, CNN_E_FORMAT,
                                 "layer '%s' (ZeroPadding2D): 'padding' must be n, [h, w] or "
                                 "[[top, bottom], [left, right]]",
                                 l->name);
    } else {
        int hw[2];
        if ((st = tools_keras_cfg_pair(l, "padding", 1, 0, MAX_DIM, hw, err)))
            return st;
        tb[0] = tb[1] = hw[0];
        lr[0] = lr[1] = hw[1];
    }
    if (in->h + tb[0] + tb[1] > MAX_DIM || in->w + lr[0] + lr[1] > MAX_DIM)
        return cnn_error_set(err, CNN_E_SHAPE, "layer '%s' (ZeroPadding2D): padded image too large", l->name);
    cJSON *node = add_after(ctx, l->name, "zero_pad", in, out, err);
    if (!node)
        return err->status;
    int pads[4] = {tb[0], lr[0], tb[1], lr[1]};
    if (!tools_keras_add_ints(node, "pads", pads, 4))
        return tools_keras_nomem(err);
    out->h += tb[0] + tb[1];
    out->w += lr[0] + lr[1];
    return CNN_OK;
}

/* Flatten: Keras' channels_last order is HWC, the engine's CHW; `perm`
 * records where each Keras feature lands for the layers that follow. */
cnn_status_t tools_keras_convert_flatten(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                         const tools_keras_tensor_t *in, tools_keras_tensor_t *out,
                                         cnn_error_t *err)
{
    if (in->rank == 2)
        return tools_keras_tensor_copy(in, out, err);
    cnn_status_t st = tools_keras_check_channels_last(l, err);
    if (st != CNN_OK)
        return st;
    int64_t n = (int64_t)in->h * in->w * in->c;
    if (n > (1 << 28))
        return cnn_error_set(err, CNN_E_SHAPE, "layer '%s' (Flatten): %lld features are too many", l->name,
                             (long long)n);
    if (!add_after(ctx, l->name, "flatten", in, out, err))
        return err->status;
    out->rank = 2;
    out->h = out->w = 1;
    out->c = (int)n;
    if (in->c == 1 || in->h * in->w == 1)
        return CNN_OK;
    if (!(out->perm = malloc((size_t)n * sizeof *out->perm)))
        return tools_keras_nomem(err);
    int hw = in->h * in->w;
    for (int p = 0; p < hw; p++)
        for (int c = 0; c < in->c; c++)
            out->perm[(size_t)p * in->c + c] = c * hw + p;
    return CNN_OK;
}

cnn_status_t tools_keras_convert_activation(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                            const tools_keras_tensor_t *in, tools_keras_tensor_t *out,
                                            cnn_error_t *err)
{
    const char *act;
    cnn_status_t st = tools_keras_cfg_string(l, "activation", NULL, &act, err);
    if (st == CNN_OK && !act)
        st = cnn_error_set(err, CNN_E_FORMAT, "layer '%s' (Activation): no activation", l->name);
    if (st == CNN_OK)
        st = tools_keras_tensor_copy(in, out, err);
    if (st == CNN_OK)
        st = tools_keras_add_activation(ctx, l, true, act, out, err);
    return st;
}

/* ReLU (negative_slope, max_value), LeakyReLU (alpha), ELU (alpha), Softmax layers. */
cnn_status_t tools_keras_convert_act_layer(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                           const tools_keras_tensor_t *in, tools_keras_tensor_t *out,
                                           cnn_error_t *err)
{
    double alpha = 0, max_value = -1, threshold = 0;
    const char *op;
    cnn_status_t st = CNN_OK;
    if (strcmp(l->cls, "ReLU") == 0) {
        if ((st = tools_keras_cfg_number(l, "negative_slope", 0, &alpha, err)) ||
            (st = tools_keras_cfg_number(l, "max_value", -1, &max_value, err)) ||
            (st = tools_keras_cfg_number(l, "threshold", 0, &threshold, err)))
            return st;
        if (threshold != 0 || (max_value >= 0 && alpha != 0) || alpha < 0)
            return cnn_error_set(err, CNN_E_UNSUPPORTED,
                                 "layer '%s' (ReLU): threshold and max_value with negative_slope are not "
                                 "supported",
                                 l->name);
        op = max_value >= 0 ? "clip" : alpha != 0 ? "leaky_relu" : "relu";
    } else if (strcmp(l->cls, "LeakyReLU") == 0) {
        st = tools_keras_cfg_number(l, "alpha", 0.3, &alpha, err);
        op = "leaky_relu";
    } else if (strcmp(l->cls, "ELU") == 0) {
        st = tools_keras_cfg_number(l, "alpha", 1.0, &alpha, err);
        op = "elu";
    } else {
        const cJSON *axis = cJSON_GetObjectItemCaseSensitive(l->config, "axis");
        if (axis && !(cJSON_IsNumber(axis) && (axis->valuedouble == -1 || axis->valuedouble == in->rank - 1)))
            return cnn_error_set(err, CNN_E_UNSUPPORTED, "layer '%s' (Softmax): only the last axis is supported",
                                 l->name);
        op = "softmax";
    }
    if (st != CNN_OK)
        return st;
    cJSON *node = add_after(ctx, l->name, op, in, out, err);
    if (!node)
        return err->status;
    bool ok = true;
    if (strcmp(op, "clip") == 0)
        ok = cJSON_AddNumberToObject(node, "min", 0) && cJSON_AddNumberToObject(node, "max", max_value);
    else if (strcmp(op, "leaky_relu") == 0 || strcmp(op, "elu") == 0)
        ok = cJSON_AddNumberToObject(node, "alpha", alpha) != NULL;
    return ok ? CNN_OK : tools_keras_nomem(err);
}

/* Dropout and friends do nothing at inference. */
cnn_status_t tools_keras_convert_identity(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                          const tools_keras_tensor_t *in, tools_keras_tensor_t *out,
                                          cnn_error_t *err)
{
    (void)ctx, (void)l;
    return tools_keras_tensor_copy(in, out, err);
}
