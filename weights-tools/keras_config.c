/* Typed reads of a Keras layer's config values, with messages that name the
 * layer and key (keras_internal.h), and the activation mapping. */
#include "keras_internal.h"

#include "status.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const cJSON *cfg_item(const tools_keras_layer_t *l, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(l->config, key);
    return cJSON_IsNull(v) ? NULL : v;
}

static cnn_status_t bad_value(const tools_keras_layer_t *l, const char *key, const char *want, cnn_error_t *err)
{
    return cnn_error_set(err, CNN_E_FORMAT, "layer '%s' (%s): '%s' must be %s", l->name, l->cls, key, want);
}

static bool int_in(const cJSON *v, int min, int max, int *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= min && v->valuedouble <= max) ||
        v->valuedouble != floor(v->valuedouble))
        return false;
    *out = (int)v->valuedouble;
    return true;
}

cnn_status_t tools_keras_cfg_int(const tools_keras_layer_t *l, const char *key, int def, int min, int max,
                                 int *out, cnn_error_t *err)
{
    const cJSON *v = cfg_item(l, key);
    *out = def;
    if (!v || int_in(v, min, max, out))
        return CNN_OK;
    char want[64];
    snprintf(want, sizeof want, "an integer in [%d, %d]", min, max);
    return bad_value(l, key, want, err);
}

bool tools_keras_json_pair(const cJSON *v, int min, int max, int out[2])
{
    if (int_in(v, min, max, &out[0])) {
        out[1] = out[0];
        return true;
    }
    return cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 && int_in(cJSON_GetArrayItem(v, 0), min, max, &out[0]) &&
           int_in(cJSON_GetArrayItem(v, 1), min, max, &out[1]);
}

cnn_status_t tools_keras_cfg_pair(const tools_keras_layer_t *l, const char *key, int def, int min, int max,
                                  int out[2], cnn_error_t *err)
{
    const cJSON *v = cfg_item(l, key);
    out[0] = out[1] = def;
    if (!v || tools_keras_json_pair(v, min, max, out))
        return CNN_OK;
    char want[80];
    snprintf(want, sizeof want, "an integer or two integers in [%d, %d]", min, max);
    return bad_value(l, key, want, err);
}

cnn_status_t tools_keras_cfg_bool(const tools_keras_layer_t *l, const char *key, bool def, bool *out,
                                  cnn_error_t *err)
{
    const cJSON *v = cfg_item(l, key);
    *out = def;
    if (!v)
        return CNN_OK;
    if (!cJSON_IsBool(v))
        return bad_value(l, key, "true or false", err);
    *out = cJSON_IsTrue(v);
    return CNN_OK;
}

cnn_status_t tools_keras_cfg_number(const tools_keras_layer_t *l, const char *key, double def, double *out,
                                    cnn_error_t *err)
{
    const cJSON *v = cfg_item(l, key);
    *out = def;
    if (!v)
        return CNN_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return bad_value(l, key, "a number", err);
    *out = v->valuedouble;
    return CNN_OK;
}

cnn_status_t tools_keras_cfg_string(const tools_keras_layer_t *l, const char *key, const char *def,
                                    const char **out, cnn_error_t *err)
{
    const cJSON *v = cfg_item(l, key);
    *out = def;
    if (!v)
        return CNN_OK;
    if (!cJSON_IsString(v))
        return bad_value(l, key, "a string", err);
    *out = v->valuestring;
    return CNN_OK;
}

cnn_status_t tools_keras_check_channels_last(const tools_keras_layer_t *l, cnn_error_t *err)
{
    const char *fmt;
    cnn_status_t st = tools_keras_cfg_string(l, "data_format", "channels_last", &fmt, err);
    if (st == CNN_OK && strcmp(fmt, "channels_last") != 0)
        st = cnn_error_set(err, CNN_E_UNSUPPORTED,
                           "layer '%s' (%s): data_format '%s' is not supported (only channels_last)", l->name,
                           l->cls, fmt);
    return st;
}

cnn_status_t tools_keras_add_activation(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l, bool own,
                                        const char *activation, tools_keras_tensor_t *t, cnn_error_t *err)
{
    static const char *const simple[] = {"relu", "sigmoid", "tanh", "softmax"};
    if (strcmp(activation, "linear") == 0)
        return CNN_OK;
    const char *op = NULL;
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (strcmp(activation, simple[i]) == 0)
            op = simple[i];
    if (strcmp(activation, "elu") == 0)
        op = "elu";
    if (!op)
        return cnn_error_set(err, CNN_E_UNSUPPORTED,
                             "layer '%s' (%s): activation '%s' is not supported (supported: linear, relu, "
                             "sigmoid, tanh, softmax, elu)",
                             l->name, l->cls, activation);
    const char *in = t->node;
    cJSON *node = tools_keras_add_node(ctx, own ? l->name : tools_keras_extra_name(ctx, l, op), op, &in, 1, t, err);
    if (!node)
        return err ? err->status : CNN_E_NOMEM;
    if (strcmp(op, "elu") == 0 && !cJSON_AddNumberToObject(node, "alpha", 1.0))
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    return CNN_OK;
}

cnn_status_t tools_keras_nomem(cnn_error_t *err)
{
    return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
}

cnn_status_t tools_keras_need_image(const tools_keras_layer_t *l, const tools_keras_tensor_t *in, cnn_error_t *err)
{
    if (in->rank == 4)
        return CNN_OK;
    return cnn_error_set(err, CNN_E_UNSUPPORTED, "layer '%s' (%s) needs an image input, got a vector of %d",
                         l->name, l->cls, in->c);
}

bool tools_keras_add_ints(cJSON *node, const char *key, const int *v, int n)
{
    cJSON *a = cJSON_CreateIntArray(v, n);
    if (a && cJSON_AddItemToObject(node, key, a))
        return true;
    cJSON_Delete(a);
    return false;
}

int tools_keras_window_out(int in, int k, int s, int d, bool same)
{
    if (same)
        return (in + s - 1) / s;
    int span = (k - 1) * d + 1;
    return in >= span ? (in - span) / s + 1 : 0;
}

bool tools_keras_add_padding(cJSON *node, bool same)
{
    static const int zero[4] = {0, 0, 0, 0};
    if (same)
        return cJSON_AddStringToObject(node, "padding", "same") != NULL;
    return tools_keras_add_ints(node, "pads", zero, 4);
}
