/* Weights and node names for the Keras layer converters (keras_internal.h).
 * A layer's weights are the datasets model_weights/<layer>/<name> for the
 * names in the group's `weight_names` attribute, in Keras' order (e.g.
 * kernel, bias; gamma, beta, moving_mean, moving_variance). */
#include "keras_internal.h"

#include "array_grow.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tools_keras_tensor_clear(tools_keras_tensor_t *t)
{
    free(t->node);
    free(t->perm);
    memset(t, 0, sizeof *t);
}

cnn_status_t tools_keras_tensor_copy(const tools_keras_tensor_t *in, tools_keras_tensor_t *out, cnn_error_t *err)
{
    *out = *in;
    out->node = strdup(in->node);
    out->perm = NULL;
    if (out->node && in->perm && (out->perm = malloc((size_t)in->c * sizeof *out->perm)))
        memcpy(out->perm, in->perm, (size_t)in->c * sizeof *out->perm);
    if (!out->node || (in->perm && !out->perm)) {
        tools_keras_tensor_clear(out);
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    }
    return CNN_OK;
}

static bool name_taken(const tools_keras_ctx_t *ctx, const char *name)
{
    for (int i = 0; i < ctx->num_names; i++)
        if (strcmp(ctx->names[i], name) == 0)
            return true;
    return false;
}

const char *tools_keras_claim_name(tools_keras_ctx_t *ctx, const char *base)
{
    char **grown = cnn_array_grow(ctx->names, &ctx->cap_names, ctx->num_names, sizeof *grown);
    if (!grown)
        return NULL;
    ctx->names = grown;
    size_t len = strlen(base) + 16;
    char *name = malloc(len);
    if (!name)
        return NULL;
    snprintf(name, len, "%s", base);
    for (int i = 2; name_taken(ctx, name); i++)
        snprintf(name, len, "%s_%d", base, i);
    ctx->names[ctx->num_names++] = name;
    return name;
}

const char *tools_keras_extra_name(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l, const char *suffix)
{
    size_t len = strlen(l->name) + strlen(suffix) + 2;
    char *base = malloc(len);
    if (!base)
        return NULL;
    snprintf(base, len, "%s/%s", l->name, suffix);
    const char *name = tools_keras_claim_name(ctx, base);
    free(base);
    return name;
}

cJSON *tools_keras_add_node(tools_keras_ctx_t *ctx, const char *name, const char *op,
                            const char *const *inputs, int num_inputs, tools_keras_tensor_t *out,
                            cnn_error_t *err)
{
    char *copy = name ? strdup(name) : NULL;
    cJSON *node = copy ? tools_writer_add_node(ctx->w, name, op, inputs, num_inputs) : NULL;
    if (!node) {
        free(copy);
        cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        return NULL;
    }
    free(out->node);
    out->node = copy;
    return node;
}

cnn_status_t tools_keras_add_tensor(tools_keras_ctx_t *ctx, const char *node, const char *suffix, int ndim,
                                    const int64_t *dims, const float *data, cnn_error_t *err)
{
    size_t len = strlen(node) + strlen(suffix) + 2;
    char *name = malloc(len);
    if (!name)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    snprintf(name, len, "%s.%s", node, suffix);
    cnn_status_t st = tools_writer_add_tensor(ctx->w, name, ndim, dims, data, err);
    free(name);
    return st;
}

void tools_keras_weights_free(tools_keras_weights_t *wt)
{
    tools_h5_free_strings(wt->names, wt->count);
    for (int i = 0; i < 4; i++)
        free(wt->data[i]);
    memset(wt, 0, sizeof *wt);
}

cnn_status_t tools_keras_weights_read(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l, int count,
                                      const char *what, tools_keras_weights_t *wt, cnn_error_t *err)
{
    memset(wt, 0, sizeof *wt);
    char group[1024];
    if (snprintf(group, sizeof group, "model_weights/%s", l->name) >= (int)sizeof group)
        return cnn_error_set(err, CNN_E_FORMAT, "layer '%s': name too long", l->name);
    if (!tools_h5_has_object(ctx->h5, group))
        return cnn_error_set(err, CNN_E_NOT_FOUND, "layer '%s' has no weights in the file (no group '%s')", l->name,
                             group);
    char **names;
    int n;
    cnn_status_t st = tools_h5_read_strings(ctx->h5, group, "weight_names", &names, &n, err);
    if (st != CNN_OK)
        return st;
    wt->names = names;
    wt->count = n;
    if (n != count) {
        st = cnn_error_set(err, CNN_E_FORMAT, "layer '%s' (%s) has %d weights in the file, expected %d (%s)",
                           l->name, l->cls, n, count, what);
        tools_keras_weights_free(wt);
        return st;
    }
    for (int i = 0; i < n && st == CNN_OK; i++) {
        char path[2048];
        if (snprintf(path, sizeof path, "%s/%s", group, names[i]) >= (int)sizeof path)
            st = cnn_error_set(err, CNN_E_FORMAT, "layer '%s': weight name too long", l->name);
        else
            st = tools_h5_read_floats(ctx->h5, path, &wt->ndim[i], wt->dims[i], &wt->data[i], err);
        if (st != CNN_OK)
            cnn_error_prefix(err, "layer '%s' (%s)", l->name, l->cls);
    }
    if (st != CNN_OK)
        tools_keras_weights_free(wt);
    return st;
}

static void format_shape(char *buf, size_t size, int ndim, const int64_t *dims)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

cnn_status_t tools_keras_weights_check(const tools_keras_layer_t *l, const tools_keras_weights_t *wt, int i,
                                       int ndim, const int64_t *dims, cnn_error_t *err)
{
    bool ok = wt->ndim[i] == ndim;
    for (int k = 0; ok && k < ndim; k++)
        ok = wt->dims[i][k] == dims[k];
    if (ok)
        return CNN_OK;
    char have[128], want[128];
    format_shape(have, sizeof have, wt->ndim[i], wt->dims[i]);
    format_shape(want, sizeof want, ndim, dims);
    return cnn_error_set(err, CNN_E_SHAPE, "layer '%s' (%s): weight '%s' has shape %s, expected %s", l->name,
                         l->cls, wt->names[i], have, want);
}
