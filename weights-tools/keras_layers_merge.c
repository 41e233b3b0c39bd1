/* Keras merge layers → graph-form nodes: Concatenate (channels axis) and
 * Add (a chain of two-input adds). Vectors from a channels_last Flatten
 * carry their HWC permutation through: concatenated ones are laid side by
 * side, added ones must share it. */
#include "keras_internal.h"

#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char **input_names(const tools_keras_tensor_t *const *in, int n)
{
    const char **names = malloc((size_t)n * sizeof *names);
    if (names)
        for (int i = 0; i < n; i++)
            names[i] = in[i]->node;
    return names;
}

/* Concatenated permutations; NULL in *out when every input is in order. */
static cnn_status_t concat_perm(const tools_keras_tensor_t *const *in, int n, int total, int **out,
                                cnn_error_t *err)
{
    *out = NULL;
    bool any = false;
    for (int i = 0; i < n; i++)
        any = any || in[i]->perm;
    if (!any)
        return CNN_OK;
    int *perm = malloc((size_t)total * sizeof *perm);
    if (!perm)
        return tools_keras_nomem(err);
    int off = 0;
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < in[i]->c; k++)
            perm[off + k] = off + (in[i]->perm ? in[i]->perm[k] : k);
        off += in[i]->c;
    }
    *out = perm;
    return CNN_OK;
}

cnn_status_t tools_keras_convert_concat(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                        const tools_keras_tensor_t *const *in, tools_keras_tensor_t *out,
                                        cnn_error_t *err)
{
    int n = l->num_inputs, rank = in[0]->rank;
    const cJSON *axis = cJSON_GetObjectItemCaseSensitive(l->config, "axis");
    if (axis && !(cJSON_IsNumber(axis) && (axis->valuedouble == -1 || axis->valuedouble == rank - 1)))
        return cnn_error_set(err, CNN_E_UNSUPPORTED,
                             "layer '%s' (Concatenate): only the channels axis (-1 or %d) is supported", l->name,
                             rank - 1);
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        if (in[i]->rank != rank || in[i]->h != in[0]->h || in[i]->w != in[0]->w)
            return cnn_error_set(err, CNN_E_SHAPE,
                                 "layer '%s' (Concatenate): input %d is %dx%dx%d, input 0 is %dx%dx%d (H and W "
                                 "must match)",
                                 l->name, i, in[i]->h, in[i]->w, in[i]->c, in[0]->h, in[0]->w, in[0]->c);
        total += in[i]->c;
    }
    if (total > (1 << 28))
        return cnn_error_set(err, CNN_E_SHAPE, "layer '%s' (Concatenate): too many channels", l->name);
    const char **names = input_names(in, n);
    if (!names)
        return tools_keras_nomem(err);
    cnn_status_t st = CNN_OK;
    if (!tools_keras_add_node(ctx, l->name, "concat", names, n, out, err))
        st = err->status;
    free(names);
    if (st != CNN_OK)
        return st;
    out->rank = rank;
    out->h = in[0]->h;
    out->w = in[0]->w;
    out->c = (int)total;
    return concat_perm(in, n, (int)total, &out->perm, err);
}

static bool same_perm(const tools_keras_tensor_t *a, const tools_keras_tensor_t *b)
{
    if (!a->perm || !b->perm)
        return a->perm == b->perm;
    return memcmp(a->perm, b->perm, (size_t)a->c * sizeof *a->perm) == 0;
}

cnn_status_t tools_keras_convert_add(tools_keras_ctx_t *ctx, const tools_keras_layer_t *l,
                                     const tools_keras_tensor_t *const *in, tools_keras_tensor_t *out,
                                     cnn_error_t *err)
{
    int n = l->num_inputs;
    if (n < 2)
        return cnn_error_set(err, CNN_E_FORMAT, "layer '%s' (Add) needs at least two inputs", l->name);
    for (int i = 1; i < n; i++) {
        if (in[i]->rank != in[0]->rank || in[i]->h != in[0]->h || in[i]->w != in[0]->w || in[i]->c != in[0]->c)
            return cnn_error_set(err, CNN_E_SHAPE, "layer '%s' (Add): input %d is %dx%dx%d, input 0 is %dx%dx%d",
                                 l->name, i, in[i]->h, in[i]->w, in[i]->c, in[0]->h, in[0]->w, in[0]->c);
        if (!same_perm(in[i], in[0]))
            return cnn_error_set(err, CNN_E_UNSUPPORTED,
                                 "layer '%s' (Add): adds vectors flattened in different orders", l->name);
    }
    cnn_status_t st = tools_keras_tensor_copy(in[0], out, err);
    /* ((a + b) + c) + ...; the last add carries the layer's name. */
    for (int i = 1; i < n && st == CNN_OK; i++) {
        char part[32];
        snprintf(part, sizeof part, "partial%d", i);
        const char *pair[2] = {out->node, in[i]->node};
        if (!tools_keras_add_node(ctx, i == n - 1 ? l->name : tools_keras_extra_name(ctx, l, part), "add", pair, 2,
                                  out, err))
            st = err->status;
    }
    return st;
}
