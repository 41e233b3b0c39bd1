/* Keras layers → graph-form nodes (engine/src/graph_json.h) and weights.
 * Keras tensors are channels_last ([H, W, C]); the engine's are [C, H, W].
 * Conv kernels are HWIO (→ OIHW), Dense kernels [in, out] (→ [out, in]),
 * "same" padding is TensorFlow's, which graph form spells the same way. */
#include "keras_internal.h"

#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIM 65536     /* spatial sizes, kernel sizes, strides */
#define MAX_UNITS 1048576 /* channels, filters, units */

typedef cnn_status_t (*convert_fn)(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                   const tools_keras_tensor_t *in, tools_keras_tensor_t *out, cnn_error_t *err);

/* Output size of a conv/pool window along one axis ("same": ceil(in / s)). */
static cnn_status_t convert_input(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                  const tools_keras_tensor_t *in, tools_keras_tensor_t *out, cnn_error_t *err)
{
    (void)in;
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(l->config, "batch_input_shape");
    int n = cJSON_GetArraySize(shape), dims[3] = {1, 1, 1};
    bool ok = cJSON_IsArray(shape) && n >= 2 && n <= 4;
    for (int i = 1; ok && i < n; i++) {
        const cJSON *d = cJSON_GetArrayItem(shape, i);
        ok = cJSON_IsNumber(d) && d->valuedouble >= 1 && d->valuedouble <= MAX_DIM &&
             d->valuedouble == (int)d->valuedouble;
        if (ok)
            dims[i - 1] = (int)d->valuedouble;
    }
    if (!ok)
        return cnn_error_set(err, CNN_E_UNSUPPORTED,
                             "layer '%s': the input shape must be fixed: batch_input_shape [null, H, W, C] or "
                             "[null, features] with sizes in [1, %d]",
                             l->name, MAX_DIM);
    if (n == 2) {
        *out = (tools_keras_tensor_t){.rank = 2, .h = 1, .w = 1, .c = dims[0]};
    } else {
        /* [null, H, W] images have one channel. */
        *out = (tools_keras_tensor_t){.rank = 4, .h = dims[0], .w = dims[1], .c = n == 4 ? dims[2] : 1};
    }
    cJSON *node = tools_keras_add_node(ctx, l->name, "input", NULL, 0, out, err);
    if (!node)
        return err->status;
    int s[3] = {out->c, out->h, out->w};
    return tools_keras_add_ints(node, "shape", s, out->rank == 4 ? 3 : 1) ? CNN_OK : tools_keras_nomem(err);
}

/* HWIO kernel → OIHW (flipped for Theano-saved files, as Keras does). */
static float *conv_kernel_oihw(const float *k, int kh, int kw, int ci, int co, bool flip)
{
    float *o = malloc((size_t)kh * kw * ci * co * sizeof *o);
    if (!o)
        return NULL;
    for (int y = 0; y < kh; y++)
        for (int x = 0; x < kw; x++)
            for (int i = 0; i < ci; i++)
                for (int c = 0; c < co; c++) {
                    int sy = flip ? kh - 1 - y : y, sx = flip ? kw - 1 - x : x;
                    o[(((size_t)c * ci + i) * kh + y) * kw + x] = k[(((size_t)sy * kw + sx) * ci + i) * co + c];
                }
    return o;
}

static cnn_status_t convert_conv(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                 const tools_keras_tensor_t *in, tools_keras_tensor_t *out, cnn_error_t *err)
{
    int filters, groups, k[2], s[2], d[2];
    bool bias;
    const char *padding, *act;
    cnn_status_t st;
    if ((st = tools_keras_need_image(l, in, err)) || (st = tools_keras_check_channels_last(l, err)) ||
        (st = tools_keras_cfg_int(l, "filters", 0, 1, MAX_UNITS, &filters, err)) ||
        (st = tools_keras_cfg_pair(l, "kernel_size", 0, 1, MAX_DIM, k, err)) ||
        (st = tools_keras_cfg_pair(l, "strides", 1, 1, MAX_DIM, s, err)) ||
        (st = tools_keras_cfg_pair(l, "dilation_rate", 1, 1, MAX_DIM, d, err)) ||
        (st = tools_keras_cfg_int(l, "groups", 1, 1, MAX_UNITS, &groups, err)) ||
        (st = tools_keras_cfg_bool(l, "use_bias", true, &bias, err)) ||
        (st = tools_keras_cfg_string(l, "padding", "valid", &padding, err)) ||
        (st = tools_keras_cfg_string(l, "activation", "linear", &act, err)))
        return st;
    bool same = strcmp(padding, "same") == 0;
    if (!same && strcmp(padding, "valid") != 0)
        return cnn_error_set(err, CNN_E_UNSUPPORTED, "layer '%s' (%s): padding '%s' is not supported", l->name,
                             l->cls, padding);
    if (filters == 0 || k[0] == 0 || in->c % groups || filters % groups)
        return cnn_error_set(err, CNN_E_FORMAT, "layer '%s' (%s): needs filters, kernel_size and groups that "
                             "divide %d input channels and the filters", l->name, l->cls, in->c);
    int oh = tools_keras_window_out(in->h, k[0], s[0], d[0], same);
    int ow = tools_keras_window_out(in->w, k[1], s[1], d[1], same);
    if (oh <= 0 || ow <= 0)
        return cnn_error_set(err, CNN_E_SHAPE, "layer '%s' (%s): kernel larger than its %dx%d input", l->name,
                             l->cls, in->h, in->w);
    tools_keras_weights_t wt;
    if ((st = tools_keras_weights_read(ctx, l, bias ? 2 : 1, bias ? "kernel, bias" : "kernel", &wt, err)))
        return st;
    int ci = in->c / groups;
    int64_t kdims[4] = {k[0], k[1], ci, filters}, bdims[1] = {filters};
    float *oihw = NULL;
    if ((st = tools_keras_weights_check(l, &wt, 0, 4, kdims, err)) ||
        (bias && (st = tools_keras_weights_check(l, &wt, 1, 1, bdims, err))))
        goto done;
    if (!(oihw = conv_kernel_oihw(wt.data[0], k[0], k[1], ci, filters, ctx->theano))) {
        st = tools_keras_nomem(err);
        goto done;
    }
    const char *src = in->node;
    cJSON *node = tools_keras_add_node(ctx, l->name, "conv2d", &src, 1, out, err);
    if (!node) {
        st = err->status;
        goto done;
    }
    if (!cJSON_AddNumberToObject(node, "out_channels", filters) || !tools_keras_add_ints(node, "kernel", k, 2) ||
        !tools_keras_add_ints(node, "stride", s, 2) || !tools_keras_add_ints(node, "dilation", d, 2) ||
        !cJSON_AddNumberToObject(node, "groups", groups) || !cJSON_AddBoolToObject(node, "bias", bias) ||
        !tools_keras_add_padding(node, same)) {
        st = tools_keras_nomem(err);
        goto done;
    }
    int64_t odims[4] = {filters, ci, k[0], k[1]};
    if ((st = tools_keras_add_tensor(ctx, out->node, "weight", 4, odims, oihw, err)) ||
        (bias && (st = tools_keras_add_tensor(ctx, out->node, "bias", 1, bdims, wt.data[1], err))))
        goto done;
    out->rank = 4;
    out->h = oh;
    out->w = ow;
    out->c = filters;
    st = tools_keras_add_activation(ctx, l, false, act, out, err);
done:
    free(oihw);
    tools_keras_weights_free(&wt);
    return st;
}

static cnn_status_t convert_dense(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                  const tools_keras_tensor_t *in, tools_keras_tensor_t *out, cnn_error_t *err)
{
    int units;
    bool bias;
    const char *act;
    cnn_status_t st;
    if ((st = tools_keras_cfg_int(l, "units", 0, 1, MAX_UNITS, &units, err)) ||
        (st = tools_keras_cfg_bool(l, "use_bias", true, &bias, err)) ||
        (st = tools_keras_cfg_string(l, "activation", "linear", &act, err)))
        return st;
    if (units == 0)
        return cnn_error_set(err, CNN_E_FORMAT, "layer '%s' (Dense): no units", l->name);
    /* Keras applies Dense to the last axis; only a vector (or a 1x1 image) is a plain matrix product. */
    if (in->rank != 2 && (in->h != 1 || in->w != 1))
        return cnn_error_set(err, CNN_E_UNSUPPORTED,
                             "layer '%s' (Dense) on a %dx%dx%d image is not supported (add a Flatten first)",
                             l->name, in->h, in->w, in->c);
    int64_t nin = in->c;
    tools_keras_weights_t wt;
    if ((st = tools_keras_weights_read(ctx, l, bias ? 2 : 1, bias ? "kernel, bias" : "kernel", &wt, err)))
        return st;
    int64_t kdims[2] = {nin, units}, bdims[1] = {units};
    float *t = NULL;
    if ((st = tools_keras_weights_check(l, &wt, 0, 2, kdims, err)) ||
        (bias && (st = tools_keras_weights_check(l, &wt, 1, 1, bdims, err))))
        goto done;
    if (!(t = malloc((size_t)nin * units * sizeof *t))) {
        st = tools_keras_nomem(err);
        goto done;
    }
    /* [in, out] → [out, in], rows placed where the engine's flatten puts them. */
    for (int64_t i = 0; i < nin; i++) {
        int64_t dst = in->perm ? in->perm[i] : i;
        for (int o = 0; o < units; o++)
            t[(size_t)o * nin + dst] = wt.data[0][(size_t)i * units + o];
    }
    const char *src = in->node;
    cJSON *node = tools_keras_add_node(ctx, l->name, "dense", &src, 1, out, err);
    if (!node) {
        st = err->status;
        goto done;
    }
    if (!cJSON_AddNumberToObject(node, "out_features", units) || !cJSON_AddBoolToObject(node, "bias", bias)) {
        st = tools_keras_nomem(err);
        goto done;
    }
    int64_t wdims[2] = {units, nin};
    if ((st = tools_keras_add_tensor(ctx, out->node, "weight", 2, wdims, t, err)) ||
        (bias && (st = tools_keras_add_tensor(ctx, out->node, "bias", 1, bdims, wt.data[1], err))))
        goto done;
    out->rank = 2;
    out->h = out->w = 1;
    out->c = units;
    st = tools_keras_add_activation(ctx, l, false, act, out, err);
done:
    free(t);
    tools_keras_weights_free(&wt);
    return st;
}

/* The Keras axis of a per-channel layer must be the channels (last) axis. */
static cnn_status_t check_channel_axis(const tools_keras_layer_t *l, const tools_keras_tensor_t *in,
                                       cnn_error_t *err)
{
    const cJSON *axis = cJSON_GetObjectItemCaseSensitive(l->config, "axis");
    if (cJSON_IsArray(axis) && cJSON_GetArraySize(axis) == 1)
        axis = axis->child;
    int last = in->rank - 1;
    if (!axis || (cJSON_IsNumber(axis) && (axis->valuedouble == -1 || axis->valuedouble == last)))
        return CNN_OK;
    return cnn_error_set(err, CNN_E_UNSUPPORTED, "layer '%s' (%s): only the channels axis (-1 or %d) is supported",
                         l->name, l->cls, last);
}

static cnn_status_t convert_batch_norm(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                       const tools_keras_tensor_t *in, tools_keras_tensor_t *out, cnn_error_t *err)
{
    bool center, scale;
    double eps;
    cnn_status_t st;
    if ((st = check_channel_axis(l, in, err)) || (st = tools_keras_cfg_bool(l, "center", true, &center, err)) ||
        (st = tools_keras_cfg_bool(l, "scale", true, &scale, err)) ||
        (st = tools_keras_cfg_number(l, "epsilon", 1e-3, &eps, err)))
        return st;
    if (!(eps >= 0))
        return cnn_error_set(err, CNN_E_FORMAT, "layer '%s' (BatchNormalization): negative epsilon", l->name);
    int count = 2 + center + scale;
    static const char *const what[4] = {"moving_mean, moving_variance", "beta, moving_mean, moving_variance",
                                        "gamma, moving_mean, moving_variance",
                                        "gamma, beta, moving_mean, moving_variance"};
    tools_keras_weights_t wt;
    if ((st = tools_keras_weights_read(ctx, l, count, what[center + 2 * scale], &wt, err)))
        return st;
    int c = in->c;
    int64_t dims[1] = {c};
    float *p[4] = {NULL, NULL, NULL, NULL}; /* gamma, beta, mean, var in the engine's channel order */
    for (int i = 0; i < count && st == CNN_OK; i++)
        st = tools_keras_weights_check(l, &wt, i, 1, dims, err);
    for (int i = 0; i < 4 && st == CNN_OK; i++)
        if (!(p[i] = malloc((size_t)c * sizeof *p[i])))
            st = tools_keras_nomem(err);
    if (st != CNN_OK)
        goto done;
    /* Keras' order: gamma if scale, beta if center, mean, variance. */
    const float *src[4] = {scale ? wt.data[0] : NULL, center ? wt.data[scale] : NULL, wt.data[count - 2],
                           wt.data[count - 1]};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < c; k++)
            p[i][in->perm ? in->perm[k] : k] = src[i] ? src[i][k] : (i == 0 ? 1.0f : 0.0f);
    if ((st = tools_keras_tensor_copy(in, out, err)))
        goto done;
    const char *input = in->node;
    cJSON *node = tools_keras_add_node(ctx, l->name, "batch_norm", &input, 1, out, err);
    if (!node) {
        st = err->status;
        goto done;
    }
    if (!cJSON_AddNumberToObject(node, "eps", eps)) {
        st = tools_keras_nomem(err);
        goto done;
    }
    static const char *const suffix[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < 4 && st == CNN_OK; i++)
        st = tools_keras_add_tensor(ctx, out->node, suffix[i], 1, dims, p[i], err);
done:
    for (int i = 0; i < 4; i++)
        free(p[i]);
    tools_keras_weights_free(&wt);
    return st;
}

typedef cnn_status_t (*merge_fn)(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                 const tools_keras_tensor_t *const *in, tools_keras_tensor_t *out, cnn_error_t *err);

static const struct {
    const char *cls;
    convert_fn one; /* one-input layers */
    merge_fn many;  /* merge layers */
} converters[] = {
    {"InputLayer", convert_input, NULL},
    {"Conv2D", convert_conv, NULL},
    {"Convolution2D", convert_conv, NULL},
    {"Dense", convert_dense, NULL},
    {"BatchNormalization", convert_batch_norm, NULL},
    {"MaxPooling2D", tools_keras_convert_pool, NULL},
    {"MaxPool2D", tools_keras_convert_pool, NULL},
    {"AveragePooling2D", tools_keras_convert_pool, NULL},
    {"AvgPool2D", tools_keras_convert_pool, NULL},
    {"GlobalAveragePooling2D", tools_keras_convert_global_pool, NULL},
    {"GlobalAvgPool2D", tools_keras_convert_global_pool, NULL},
    {"GlobalMaxPooling2D", tools_keras_convert_global_pool, NULL},
    {"GlobalMaxPool2D", tools_keras_convert_global_pool, NULL},
    {"ZeroPadding2D", tools_keras_convert_zero_pad, NULL},
    {"Flatten", tools_keras_convert_flatten, NULL},
    {"Activation", tools_keras_convert_activation, NULL},
    {"ReLU", tools_keras_convert_act_layer, NULL},
    {"LeakyReLU", tools_keras_convert_act_layer, NULL},
    {"ELU", tools_keras_convert_act_layer, NULL},
    {"Softmax", tools_keras_convert_act_layer, NULL},
    {"Dropout", tools_keras_convert_identity, NULL},
    {"SpatialDropout2D", tools_keras_convert_identity, NULL},
    {"GaussianDropout", tools_keras_convert_identity, NULL},
    {"GaussianNoise", tools_keras_convert_identity, NULL},
    {"ActivityRegularization", tools_keras_convert_identity, NULL},
    {"Concatenate", NULL, tools_keras_convert_concat},
    {"Add", NULL, tools_keras_convert_add},
};

static int find_converter(const char *cls)
{
    for (size_t i = 0; i < sizeof converters / sizeof converters[0]; i++)
        if (strcmp(converters[i].cls, cls) == 0)
            return (int)i;
    return -1;
}

bool tools_keras_layer_supported(const char *cls)
{
    return find_converter(cls) >= 0;
}

cnn_status_t tools_keras_layer_convert(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                       const tools_keras_tensor_t *const *in, tools_keras_tensor_t *out,
                                       cnn_error_t *err)
{
    memset(out, 0, sizeof *out);
    int i = find_converter(l->cls);
    if (i < 0)
        return cnn_error_set(err, CNN_E_UNSUPPORTED, "layer '%s': unsupported class %s", l->name, l->cls);
    bool is_input = converters[i].one == convert_input;
    if (is_input != (l->num_inputs == 0) || (converters[i].one && l->num_inputs > 1))
        return cnn_error_set(err, CNN_E_FORMAT, "layer '%s' (%s) has %d inputs", l->name, l->cls, l->num_inputs);
    cnn_status_t st = converters[i].one ? converters[i].one(ctx, l, is_input ? NULL : in[0], out, err)
                                        : converters[i].many(ctx, l, in, out, err);
    if (st != CNN_OK)
        tools_keras_tensor_clear(out);
    return st;
}
