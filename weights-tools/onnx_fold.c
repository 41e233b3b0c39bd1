/* Constant folding of the shape arithmetic torch.onnx.export emits, e.g. for
 * x.view(x.size(0), -1):
 *     Shape(x) → Gather(0) → Unsqueeze(0) → Concat(.., [-1]) → Reshape(x, ..)
 * Shapes of computed tensors are static except the batch size, which folded
 * int64 tensors carry as the symbol TOOLS_ONNX_BATCH. Constant, Shape,
 * Gather, Unsqueeze, Squeeze, Cast, Concat and Reshape of constants are
 * evaluated here; Unsqueeze/Squeeze of computed tensors are handed to
 * tools_onnx_runtime_reshape. */
#include "onnx_internal.h"

#include <math.h>
#include <string.h>

/* *dst = src's values seen with new dims (same element count): shares src's
 * data, which lives as long as the import. */
static cnn_status_t copy_as(tools_onnx_ctx_t *c, const tools_onnx_tensor_t *src, int ndim, const int64_t *dims,
                            tools_onnx_tensor_t *dst)
{
    size_t numel;
    cnn_status_t st = tools_onnx_numel(ndim, dims, TOOLS_ONNX_MAX_NUMEL, &numel, c->err);
    if (st != CNN_OK)
        return st;
    if (numel != src->numel)
        return tools_onnx_fail(c, CNN_E_SHAPE, "element count changes from %zu to %zu", src->numel, numel);
    *dst = *src;
    dst->ndim = ndim;
    memcpy(dst->dims, dims, (size_t)ndim * sizeof *dims);
    dst->borrowed = true;
    return CNN_OK;
}

cnn_status_t tools_onnx_fold_alloc(tools_onnx_ctx_t *c, tools_onnx_tensor_t *t, bool is_int, int ndim,
                                   const int64_t *dims)
{
    size_t numel, elem = is_int ? sizeof(int64_t) : sizeof(float);
    size_t left = TOOLS_ONNX_MAX_FOLD_BYTES - c->fold_bytes;
    cnn_status_t st = tools_onnx_numel(ndim, dims, TOOLS_ONNX_MAX_NUMEL, &numel, c->err);
    if (st != CNN_OK) {
        tools_onnx_prefix_node(c);
        return st;
    }
    if (numel > left / elem)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "constant folding would need more than %zu MiB",
                               TOOLS_ONNX_MAX_FOLD_BYTES >> 20);
    if ((st = tools_onnx_tensor_alloc(t, is_int, ndim, dims, c->err)) != CNN_OK)
        return st;
    c->fold_bytes += numel * elem;
    return CNN_OK;
}

cnn_status_t tools_onnx_map_constant(tools_onnx_ctx_t *c)
{
    if (c->node->n_attribute != 1)
        return tools_onnx_fail(c, CNN_E_FORMAT, "needs exactly one value attribute");
    const Onnx__AttributeProto *a = c->node->attribute[0];
    const char *name = a->name;
    tools_onnx_tensor_t t;
    cnn_status_t st;
    int64_t n;
    if (strcmp(name, "value") == 0) {
        if (!a->has_type || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR || !a->t)
            return tools_onnx_fail(c, CNN_E_FORMAT, "attribute 'value' must be a tensor");
        st = tools_onnx_tensor_read(a->t, c->base_dir, "value", &t, c->err);
        if (st != CNN_OK) {
            tools_onnx_prefix_node(c);
            return st;
        }
    } else if (strcmp(name, "value_float") == 0 || strcmp(name, "value_int") == 0) {
        bool is_int = name[6] == 'i';
        if ((st = tools_onnx_fold_alloc(c, &t, is_int, 0, NULL)) != CNN_OK)
            return st;
        if (is_int)
            st = tools_onnx_attr_int(c, name, 0, &t.i[0]);
        else
            st = tools_onnx_attr_float(c, name, 0.0f, &t.f[0]);
    } else if (strcmp(name, "value_floats") == 0) {
        bool ok = a->has_type && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
        if (!ok)
            return tools_onnx_fail(c, CNN_E_FORMAT, "attribute 'value_floats' must be of type floats");
        n = (int64_t)a->n_floats;
        if ((st = tools_onnx_fold_alloc(c, &t, false, 1, &n)) != CNN_OK)
            return st;
        if (n)
            memcpy(t.f, a->floats, (size_t)n * sizeof *t.f);
    } else {
        const int64_t *v;
        size_t count;
        if ((st = tools_onnx_attr_ints(c, name, &v, &count)) != CNN_OK)
            return st;
        n = (int64_t)count;
        if ((st = tools_onnx_fold_alloc(c, &t, true, 1, &n)) != CNN_OK)
            return st;
        if (n)
            memcpy(t.i, v, (size_t)n * sizeof *t.i);
    }
    if (st != CNN_OK) {
        tools_onnx_tensor_free(&t);
        return st;
    }
    return tools_onnx_out_const(c, 0, &t);
}

cnn_status_t tools_onnx_map_shape(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *v;
    cnn_status_t st = tools_onnx_in(c, 0, &v);
    if (st != CNN_OK)
        return st;
    if (!v)
        return tools_onnx_fail(c, CNN_E_FORMAT, "input 0 is missing");
    int64_t dims[TOOLS_ONNX_MAX_DIMS];
    int rank = v->is_const ? v->t.ndim : tools_onnx_runtime_dims(c, v, dims);
    if (v->is_const)
        memcpy(dims, v->t.dims, sizeof dims);
    int64_t start, end;
    if ((st = tools_onnx_attr_int(c, "start", 0, &start)) != CNN_OK ||
        (st = tools_onnx_attr_int(c, "end", rank, &end)) != CNN_OK)
        return st;
    start = start < 0 ? start + rank : start;
    end = end < 0 ? end + rank : end;
    start = start < 0 ? 0 : start > rank ? rank : start;
    end = end < start ? start : end > rank ? rank : end;
    tools_onnx_tensor_t t;
    int64_t n = end - start;
    if ((st = tools_onnx_fold_alloc(c, &t, true, 1, &n)) != CNN_OK)
        return st;
    for (int64_t k = 0; k < n; k++)
        t.i[k] = dims[start + k];
    return tools_onnx_out_const(c, 0, &t);
}

cnn_status_t tools_onnx_map_gather(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *data, *idx;
    cnn_status_t st;
    if ((st = tools_onnx_in_const(c, 0, true, &data)) != CNN_OK ||
        (st = tools_onnx_in_const(c, 1, true, &idx)) != CNN_OK)
        return st;
    const tools_onnx_tensor_t *d = &data->t, *ix = &idx->t;
    int64_t axis;
    if ((st = tools_onnx_attr_int(c, "axis", 0, &axis)) != CNN_OK)
        return st;
    if (axis < -d->ndim || axis >= d->ndim)
        return tools_onnx_fail(c, CNN_E_FORMAT, "axis %lld out of range for rank %d", (long long)axis, d->ndim);
    axis = axis < 0 ? axis + d->ndim : axis;
    if (!ix->is_int)
        return tools_onnx_fail(c, CNN_E_FORMAT, "indices must be integers");
    int ndim = d->ndim - 1 + ix->ndim;
    if (ndim > TOOLS_ONNX_MAX_DIMS)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "result rank %d too large", ndim);
    int64_t dims[TOOLS_ONNX_MAX_DIMS];
    int k = 0;
    for (int a = 0; a < axis; a++)
        dims[k++] = d->dims[a];
    for (int a = 0; a < ix->ndim; a++)
        dims[k++] = ix->dims[a];
    for (int a = (int)axis + 1; a < d->ndim; a++)
        dims[k++] = d->dims[a];
    tools_onnx_tensor_t t;
    if ((st = tools_onnx_fold_alloc(c, &t, d->is_int, ndim, dims)) != CNN_OK)
        return st;
    size_t outer = 1, inner = 1, len = (size_t)d->dims[axis];
    for (int a = 0; a < axis; a++)
        outer *= (size_t)d->dims[a];
    for (int a = (int)axis + 1; a < d->ndim; a++)
        inner *= (size_t)d->dims[a];
    size_t o = 0;
    for (size_t i = 0; i < outer && t.numel; i++) {
        for (size_t j = 0; j < ix->numel; j++) {
            int64_t at = ix->i[j] < 0 ? ix->i[j] + (int64_t)len : ix->i[j];
            if (at < 0 || (size_t)at >= len) {
                tools_onnx_tensor_free(&t);
                return tools_onnx_fail(c, CNN_E_FORMAT, "index %lld out of range for a dimension of %zu",
                                       (long long)ix->i[j], len);
            }
            size_t from = (i * len + (size_t)at) * inner;
            for (size_t e = 0; e < inner; e++, o++) {
                if (t.is_int)
                    t.i[o] = d->i[from + e];
                else
                    t.f[o] = d->f[from + e];
            }
        }
    }
    return tools_onnx_out_const(c, 0, &t);
}

/* The axes of (Un)Squeeze: input 1 from opset 13 on, else attribute "axes". */
static cnn_status_t squeeze_axes(tools_onnx_ctx_t *c, const int64_t **axes, size_t *n)
{
    if (c->opset < 13)
        return tools_onnx_attr_ints(c, "axes", axes, n);
    tools_onnx_value_t *v;
    cnn_status_t st = tools_onnx_in_const(c, 1, false, &v);
    *axes = NULL;
    *n = 0;
    if (st != CNN_OK || !v)
        return st;
    if (!v->t.is_int || v->t.ndim > 1)
        return tools_onnx_fail(c, CNN_E_FORMAT, "axes must be a 1-D integer tensor");
    *axes = v->t.i;
    *n = v->t.numel;
    return CNN_OK;
}

/* Input 0's dims (run-time ones with the batch symbol); returns the rank. */
static int input_dims(tools_onnx_ctx_t *c, const tools_onnx_value_t *v, int64_t dims[TOOLS_ONNX_MAX_DIMS])
{
    if (!v->is_const)
        return tools_onnx_runtime_dims(c, v, dims);
    memcpy(dims, v->t.dims, (size_t)v->t.ndim * sizeof *dims);
    return v->t.ndim;
}

/* Output 0 := v with the given dims (a constant copy or a run-time reshape). */
static cnn_status_t out_reshaped(tools_onnx_ctx_t *c, tools_onnx_value_t *v, const int64_t *dims, int n)
{
    if (!v->is_const)
        return tools_onnx_runtime_reshape(c, v, dims, n);
    tools_onnx_tensor_t t;
    cnn_status_t st = copy_as(c, &v->t, n, dims, &t);
    return st != CNN_OK ? st : tools_onnx_out_const(c, 0, &t);
}

cnn_status_t tools_onnx_map_unsqueeze(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *v;
    const int64_t *axes;
    size_t naxes;
    cnn_status_t st;
    if ((st = tools_onnx_in(c, 0, &v)) != CNN_OK || (st = squeeze_axes(c, &axes, &naxes)) != CNN_OK)
        return st;
    if (!v)
        return tools_onnx_fail(c, CNN_E_FORMAT, "input 0 is missing");
    int64_t in[TOOLS_ONNX_MAX_DIMS], out[TOOLS_ONNX_MAX_DIMS];
    int in_n = input_dims(c, v, in);
    if (naxes == 0 || in_n + naxes > TOOLS_ONNX_MAX_DIMS)
        return tools_onnx_fail(c, CNN_E_FORMAT, "needs 1 to %d axes", TOOLS_ONNX_MAX_DIMS - in_n);
    int out_n = in_n + (int)naxes;
    bool is_new[TOOLS_ONNX_MAX_DIMS] = {false};
    for (size_t k = 0; k < naxes; k++) {
        int64_t a = axes[k] < 0 ? axes[k] + out_n : axes[k];
        if (a < 0 || a >= out_n || is_new[a])
            return tools_onnx_fail(c, CNN_E_FORMAT, "axis %lld is out of range or repeated", (long long)axes[k]);
        is_new[a] = true;
    }
    for (int a = 0, from = 0; a < out_n; a++)
        out[a] = is_new[a] ? 1 : in[from++];
    return out_reshaped(c, v, out, out_n);
}

cnn_status_t tools_onnx_map_squeeze(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *v;
    const int64_t *axes;
    size_t naxes;
    cnn_status_t st;
    if ((st = tools_onnx_in(c, 0, &v)) != CNN_OK || (st = squeeze_axes(c, &axes, &naxes)) != CNN_OK)
        return st;
    if (!v)
        return tools_onnx_fail(c, CNN_E_FORMAT, "input 0 is missing");
    int64_t in[TOOLS_ONNX_MAX_DIMS], out[TOOLS_ONNX_MAX_DIMS];
    int in_n = input_dims(c, v, in), out_n = 0;
    bool drop[TOOLS_ONNX_MAX_DIMS] = {false};
    for (size_t k = 0; k < naxes; k++) {
        int64_t a = axes[k] < 0 ? axes[k] + in_n : axes[k];
        if (a < 0 || a >= in_n || drop[a] || in[a] != 1)
            return tools_onnx_fail(c, CNN_E_FORMAT, "axis %lld is out of range, repeated or not of size 1",
                                   (long long)axes[k]);
        drop[a] = true;
    }
    for (int a = 0; a < in_n; a++)
        if (!(naxes ? drop[a] : in[a] == 1))
            out[out_n++] = in[a];
    return out_reshaped(c, v, out, out_n);
}

cnn_status_t tools_onnx_map_cast(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *v;
    int64_t to;
    cnn_status_t st;
    if ((st = tools_onnx_in(c, 0, &v)) != CNN_OK || (st = tools_onnx_attr_int(c, "to", 0, &to)) != CNN_OK)
        return st;
    if (!v)
        return tools_onnx_fail(c, CNN_E_FORMAT, "input 0 is missing");
    bool to_float = to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || to == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ||
                    to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 || to == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
    bool to_int = to == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || to == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
    if (!v->is_const) {
        if (to != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
            return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "casting a computed tensor to type %lld is not supported",
                                   (long long)to);
        return tools_onnx_out_alias(c, 0, v);
    }
    if (!to_float && !to_int)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "cast to type %lld is not supported", (long long)to);
    tools_onnx_tensor_t t;
    if ((st = tools_onnx_fold_alloc(c, &t, to_int, v->t.ndim, v->t.dims)) != CNN_OK)
        return st;
    for (size_t k = 0; k < t.numel; k++) {
        double x = tools_onnx_tensor_at(&v->t, k);
        if (to_float) {
            t.f[k] = (float)x;
        } else if (v->t.is_int) {
            t.i[k] = v->t.i[k];
        } else if (!(fabs(x) < 9.2e18)) {
            tools_onnx_tensor_free(&t);
            return tools_onnx_fail(c, CNN_E_FORMAT, "value %g does not fit an integer", x);
        } else {
            t.i[k] = (int64_t)x;
        }
    }
    return tools_onnx_out_const(c, 0, &t);
}

cnn_status_t tools_onnx_fold_concat(tools_onnx_ctx_t *c)
{
    const Onnx__NodeProto *n = c->node;
    int64_t axis;
    cnn_status_t st = tools_onnx_attr_int(c, "axis", INT64_MAX, &axis);
    if (st != CNN_OK)
        return st;
    tools_onnx_value_t *first;
    if ((st = tools_onnx_in_const(c, 0, true, &first)) != CNN_OK)
        return st;
    const tools_onnx_tensor_t *f = &first->t;
    if (axis < -f->ndim || axis >= f->ndim)
        return tools_onnx_fail(c, CNN_E_FORMAT, "axis missing or out of range for rank %d", f->ndim);
    axis = axis < 0 ? axis + f->ndim : axis;
    int64_t dims[TOOLS_ONNX_MAX_DIMS];
    memcpy(dims, f->dims, sizeof dims);
    dims[axis] = 0;
    for (size_t k = 0; k < n->n_input; k++) {
        tools_onnx_value_t *v;
        if ((st = tools_onnx_in_const(c, k, true, &v)) != CNN_OK)
            return st;
        bool fits = v->t.ndim == f->ndim && v->t.is_int == f->is_int;
        for (int a = 0; fits && a < f->ndim; a++)
            fits = a == axis || v->t.dims[a] == f->dims[a];
        if (!fits)
            return tools_onnx_fail(c, CNN_E_SHAPE, "input %zu does not match input 0's type and shape", k);
        dims[axis] += v->t.dims[axis];
    }
    tools_onnx_tensor_t t;
    if ((st = tools_onnx_fold_alloc(c, &t, f->is_int, f->ndim, dims)) != CNN_OK)
        return st;
    size_t outer = 1, inner = 1, o = 0;
    for (int a = 0; a < axis; a++)
        outer *= (size_t)dims[a];
    for (int a = (int)axis + 1; a < f->ndim; a++)
        inner *= (size_t)dims[a];
    for (size_t i = 0; i < outer; i++) {
        for (size_t k = 0; k < n->n_input; k++) {
            tools_onnx_value_t *v;
            tools_onnx_in(c, k, &v);
            size_t run = (size_t)v->t.dims[axis] * inner;
            for (size_t e = 0; e < run; e++, o++) {
                if (t.is_int)
                    t.i[o] = v->t.i[i * run + e];
                else
                    t.f[o] = v->t.f[i * run + e];
            }
        }
    }
    return tools_onnx_out_const(c, 0, &t);
}

cnn_status_t tools_onnx_reshape_target(tools_onnx_ctx_t *c, const int64_t *in, int in_n,
                                       const tools_onnx_tensor_t *shape, bool allowzero, int64_t *out,
                                       int *out_n)
{
    char a[160], b[160];
    if (!shape->is_int || shape->ndim != 1 || shape->numel > TOOLS_ONNX_MAX_DIMS)
        return tools_onnx_fail(c, CNN_E_FORMAT, "shape must be a 1-D integer tensor of at most %d values",
                               TOOLS_ONNX_MAX_DIMS);
    int n = (int)shape->numel, infer = -1;
    /* Per-image element counts (the batch symbol counted separately). */
    size_t in_rest = 1, out_rest = 1;
    int in_batch = 0, out_batch = 0;
    for (int k = 0; k < in_n; k++) {
        if (in[k] == TOOLS_ONNX_BATCH)
            in_batch++;
        else
            in_rest *= (size_t)in[k];
    }
    for (int k = 0; k < n; k++) {
        int64_t d = shape->i[k];
        if (d == 0 && !allowzero) {
            if (k >= in_n)
                return tools_onnx_fail(c, CNN_E_SHAPE, "shape value 0 at position %d has no input dimension", k);
            d = in[k];
        }
        if (d == -1) {
            if (infer >= 0)
                return tools_onnx_fail(c, CNN_E_SHAPE, "shape has more than one -1");
            infer = k;
        } else if (d == TOOLS_ONNX_BATCH) {
            out_batch++;
        } else if (d < 0 || d > INT32_MAX) {
            return tools_onnx_fail(c, CNN_E_SHAPE, "shape value %lld is invalid", (long long)d);
        } else if (out_rest > TOOLS_ONNX_MAX_NUMEL / (d ? (size_t)d : 1)) {
            return tools_onnx_fail(c, CNN_E_SHAPE, "shape too large");
        } else {
            out_rest *= (size_t)d;
        }
        out[k] = d;
    }
    /* A model exported with a fixed batch size B spells the batch as B. */
    if (in_batch == 1 && out_batch == 0 && n > 0 && infer != 0 && c->static_batch > 0 && out[0] == c->static_batch) {
        out[0] = TOOLS_ONNX_BATCH;
        out_batch = 1;
        out_rest /= (size_t)c->static_batch;
    }
    bool ok;
    if (infer >= 0 && out_batch == in_batch) {
        ok = out_rest && in_rest % out_rest == 0;
        if (ok)
            out[infer] = (int64_t)(in_rest / out_rest);
    } else if (infer >= 0) {
        ok = in_batch == 1 && out_batch == 0 && in_rest == out_rest; /* -1 takes the batch's place */
        out[infer] = TOOLS_ONNX_BATCH;
    } else {
        ok = in_batch == out_batch && in_rest == out_rest;
    }
    *out_n = n;
    if (!ok)
        return tools_onnx_fail(c, in_batch != out_batch ? CNN_E_UNSUPPORTED : CNN_E_SHAPE,
                               "cannot reshape %s to %s", tools_onnx_dims_str(in, in_n, a, sizeof a),
                               tools_onnx_dims_str(shape->i, n, b, sizeof b));
    return CNN_OK;
}

cnn_status_t tools_onnx_fold_reshape(tools_onnx_ctx_t *c, const tools_onnx_value_t *data,
                                     const tools_onnx_tensor_t *shape, bool allowzero)
{
    int64_t dims[TOOLS_ONNX_MAX_DIMS];
    int n;
    cnn_status_t st = tools_onnx_reshape_target(c, data->t.dims, data->t.ndim, shape, allowzero, dims, &n);
    if (st != CNN_OK)
        return st;
    tools_onnx_tensor_t t;
    if ((st = copy_as(c, &data->t, n, dims, &t)) != CNN_OK)
        return st;
    return tools_onnx_out_const(c, 0, &t);
}
