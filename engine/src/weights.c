/* Binds safetensors tensors to the graph's weight slots (see weights.h). */
#include "weights.h"

#include "status.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* True for tensors the file may carry without any slot using them. */
static bool is_ignored(const char *name, const char *const *ignored_prefixes)
{
    if (has_suffix(name, ".num_batches_tracked"))
        return true;
    for (const char *const *p = ignored_prefixes; p && *p; p++) {
        if (strncmp(name, *p, strlen(*p)) == 0)
            return true;
    }
    return false;
}

static cnn_status_t check_shape(const cnn_weight_t *w, const cnn_st_tensor_t *t, cnn_error_t *err)
{
    bool same = w->ndim == t->ndim;
    for (int i = 0; same && i < w->ndim; i++)
        same = w->dims[i] == t->dims[i];
    if (same)
        return CNN_OK;
    char want[128], have[128];
    cnn_dims_format(w->dims, w->ndim, want, sizeof want);
    cnn_dims_format(t->dims, t->ndim, have, sizeof have);
    return cnn_error_set(err, CNN_E_SHAPE, "tensor '%.200s': shape %s expected, file has %s", w->name,
                         want, have);
}

static cnn_status_t check_finite(const cnn_weight_t *w, size_t numel, cnn_error_t *err)
{
    for (size_t i = 0; i < numel; i++) {
        float v = w->data[i];
        if (isnan(v))
            return cnn_error_set(err, CNN_E_FORMAT, "tensor '%.200s' contains NaN at index %zu",
                                 w->name, i);
        if (isinf(v))
            return cnn_error_set(err, CNN_E_FORMAT, "tensor '%.200s' contains Inf at index %zu",
                                 w->name, i);
    }
    return CNN_OK;
}

/* Points w at t's values: into the mapping for aligned F32, else at a converted copy. */
static cnn_status_t bind_one(cnn_weight_t *w, const cnn_st_tensor_t *t, cnn_error_t *err)
{
    cnn_status_t status = check_shape(w, t, err);
    if (status != CNN_OK)
        return status;
    if (!cnn_dtype_is_float(t->dtype))
        return cnn_error_set(err, CNN_E_FORMAT, "tensor '%.200s': dtype %s is not a float type",
                             w->name, cnn_dtype_name(t->dtype));
    size_t numel = t->nbytes / cnn_dtype_size(t->dtype);
    free(w->owned);
    w->owned = NULL;
    w->data = NULL;
    if (t->dtype == CNN_DTYPE_F32 && (uintptr_t)t->data % _Alignof(float) == 0) {
        w->data = (const float *)(const void *)t->data;
    } else {
        w->owned = malloc(numel > 0 ? numel * sizeof(float) : 1);
        if (!w->owned)
            return cnn_error_set(err, CNN_E_NOMEM, "tensor '%.200s': out of memory converting %zu values",
                                 w->name, numel);
        status = cnn_dtype_to_f32(t->dtype, t->data, numel, w->owned, err);
        if (status != CNN_OK)
            return status;
        w->data = w->owned;
    }
    return check_finite(w, numel, err);
}

cnn_status_t cnn_graph_bind_weights(cnn_graph_t *g, const cnn_safetensors_t *st,
                                    const char *const *ignored_prefixes, cnn_error_t *err)
{
    if (!g || !st)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "bind weights: no graph or weights");
    bool *used = calloc((size_t)(st->num_tensors > 0 ? st->num_tensors : 1), sizeof *used);
    if (!used)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory binding weights");
    cnn_status_t status = CNN_OK;
    for (int i = 0; i < g->num_nodes && status == CNN_OK; i++) {
        for (int slot = 0; slot < CNN_W_SLOTS && status == CNN_OK; slot++) {
            cnn_weight_t *w = g->nodes[i].w[slot];
            if (!w)
                continue;
            const cnn_st_tensor_t *t = cnn_safetensors_find(st, w->name);
            if (!t) {
                status = cnn_error_set(err, CNN_E_NOT_FOUND, "missing tensor '%.200s'", w->name);
                break;
            }
            used[t - st->tensors] = true;
            status = bind_one(w, t, err);
        }
    }
    for (int i = 0; i < st->num_tensors && status == CNN_OK; i++) {
        const char *name = st->tensors[i].name;
        if (!used[i] && !is_ignored(name, ignored_prefixes))
            status = cnn_error_set(err, CNN_E_FORMAT, "extra tensor '%.200s' not used by the architecture",
                                   name);
    }
    free(used);
    return status;
}
