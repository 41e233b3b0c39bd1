/* Layer helpers shared by the zoo builders (see zoo_internal.h). */
#include "zoo_internal.h"

#include <stdarg.h>
#include <stdio.h>

void cnn_zoo_ctx_init(cnn_zoo_ctx_t *z, cnn_graph_t *g, const cnn_zoo_options_t *o)
{
    z->g = g;
    z->divisor = o->width_divisor > 1 ? o->width_divisor : 1;
    z->name[0] = '\0';
}

const char *cnn_zoo_name(cnn_zoo_ctx_t *z, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(z->name, sizeof z->name, fmt, ap);
    va_end(ap);
    return z->name;
}

const char *cnn_zoo_join(char *buf, const char *prefix, const char *suffix)
{
    int n = snprintf(buf, CNN_ZOO_NAME_MAX, "%s.%s", prefix, suffix);
    if (n < 0 || n >= CNN_ZOO_NAME_MAX)
        buf[0] = '\0';
    return buf;
}

int cnn_zoo_width(const cnn_zoo_ctx_t *z, int channels)
{
    int c = channels / z->divisor;
    return c > 0 ? c : 1;
}

int cnn_zoo_input(cnn_zoo_ctx_t *z, const cnn_zoo_options_t *o)
{
    return cnn_graph_add_input(z->g, "input", o->in_channels, o->in_height, o->in_width);
}

int cnn_zoo_conv(cnn_zoo_ctx_t *z, const char *name, int in, int out_channels, int k, int s, int pad, bool bias)
{
    if (in < 0)
        return in;
    cnn_conv_params_t p = {
        .out_channels = cnn_zoo_width(z, out_channels),
        .kh = k, .kw = k, .sh = s, .sw = s, .dh = 1, .dw = 1,
        .groups = 1,
        .pad = {pad, pad, pad, pad},
        .has_bias = bias,
    };
    return cnn_graph_add_conv2d(z->g, name, in, &p);
}

int cnn_zoo_bn(cnn_zoo_ctx_t *z, const char *name, int in, float eps)
{
    return in < 0 ? in : cnn_graph_add_batch_norm(z->g, name, in, eps);
}

int cnn_zoo_unary(cnn_zoo_ctx_t *z, const char *name, cnn_op_t op, int in)
{
    return in < 0 ? in : cnn_graph_add_unary(z->g, name, op, in);
}

int cnn_zoo_pool(cnn_zoo_ctx_t *z, const char *name, cnn_op_t op, int in, int k, int s, int pad, bool ceil_mode,
                 bool count_include_pad)
{
    if (in < 0)
        return in;
    cnn_pool_params_t p = {
        .kh = k, .kw = k, .sh = s, .sw = s,
        .pad = {pad, pad, pad, pad},
        .ceil_mode = ceil_mode,
        .count_include_pad = count_include_pad,
    };
    return cnn_graph_add_pool(z->g, name, op, in, &p);
}

int cnn_zoo_global_avg_pool(cnn_zoo_ctx_t *z, const char *name, int in)
{
    return in < 0 ? in : cnn_graph_add_global_avg_pool(z->g, name, in);
}

int cnn_zoo_adaptive_avg_pool(cnn_zoo_ctx_t *z, const char *name, int in, int oh, int ow)
{
    if (in < 0)
        return in;
    cnn_shape_t s = z->g->nodes[in].out;
    if (s.h == oh && s.w == ow)
        return in;
    if (s.h < oh || s.w < ow || s.h % oh || s.w % ow)
        return cnn_error_set(&z->g->err, CNN_E_UNSUPPORTED,
                             "layer '%s': adaptive average pooling from %dx%d to %dx%d needs an input that is "
                             "an exact multiple of the output; choose another input size",
                             name, s.h, s.w, oh, ow);
    cnn_pool_params_t p = {
        .kh = s.h / oh, .kw = s.w / ow, .sh = s.h / oh, .sw = s.w / ow,
        .count_include_pad = true,
    };
    return cnn_graph_add_pool(z->g, name, CNN_OP_AVG_POOL, in, &p);
}

int cnn_zoo_dense(cnn_zoo_ctx_t *z, const char *name, int in, int out_features)
{
    return in < 0 ? in : cnn_graph_add_dense(z->g, name, in, out_features, true);
}

int cnn_zoo_concat(cnn_zoo_ctx_t *z, const char *name, const int *inputs, int num_inputs)
{
    for (int i = 0; i < num_inputs; i++)
        if (inputs[i] < 0)
            return inputs[i];
    return cnn_graph_add_concat(z->g, name, inputs, num_inputs);
}

int cnn_zoo_add(cnn_zoo_ctx_t *z, const char *name, int a, int b)
{
    if (a < 0)
        return a;
    if (b < 0)
        return b;
    return cnn_graph_add_add(z->g, name, a, b);
}

int cnn_zoo_basic_conv(cnn_zoo_ctx_t *z, const char *prefix, int in, int out_channels, int kh, int kw, int sh,
                       int sw, int ph, int pw)
{
    char name[CNN_ZOO_NAME_MAX];
    if (in < 0)
        return in;
    cnn_conv_params_t p = {
        .out_channels = cnn_zoo_width(z, out_channels),
        .kh = kh, .kw = kw, .sh = sh, .sw = sw, .dh = 1, .dw = 1,
        .groups = 1,
        .pad = {ph, pw, ph, pw},
        .has_bias = false,
    };
    int x = cnn_graph_add_conv2d(z->g, cnn_zoo_join(name, prefix, "conv"), in, &p);
    x = cnn_zoo_bn(z, cnn_zoo_join(name, prefix, "bn"), x, 0.001f);
    return cnn_zoo_unary(z, cnn_zoo_join(name, prefix, "relu"), CNN_OP_RELU, x);
}
