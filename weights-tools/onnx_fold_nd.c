/* N-d constant folds that torch.onnx.export emits around Pad (F.pad turns
 * its padding list into ONNX order with ConstantOfShape → Concat → Reshape →
 * Slice(step -1) → Transpose → Reshape → Cast): ConstantOfShape, Slice and
 * Transpose, on constants only. */
#include "onnx_internal.h"

#include <string.h>

/* Row-major strides of `dims`. */
static void strides_of(const int64_t *dims, int n, size_t *strides)
{
    size_t s = 1;
    for (int k = n - 1; k >= 0; k--) {
        strides[k] = s;
        s *= (size_t)dims[k];
    }
}

/* dst[i] = src[offset(i)] for every index i of `dims`, where the source
 * offset of index (i_0..i_n) is base + sum(i_k * step[k]). */
static void gather_strided(const tools_onnx_tensor_t *src, tools_onnx_tensor_t *dst, int64_t base,
                           const int64_t *step)
{
    int n = dst->ndim;
    int64_t idx[TOOLS_ONNX_MAX_DIMS] = {0};
    for (size_t o = 0; o < dst->numel; o++) {
        int64_t at = base;
        for (int k = 0; k < n; k++)
            at += idx[k] * step[k];
        if (dst->is_int)
            dst->i[o] = src->i[at];
        else
            dst->f[o] = src->f[at];
        for (int k = n - 1; k >= 0 && ++idx[k] == dst->dims[k]; k--)
            idx[k] = 0;
    }
}

cnn_status_t tools_onnx_map_constant_of_shape(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *sv;
    cnn_status_t st = tools_onnx_in_const(c, 0, true, &sv);
    if (st != CNN_OK)
        return st;
    const tools_onnx_tensor_t *s = &sv->t;
    if (!s->is_int || s->ndim != 1 || s->numel > TOOLS_ONNX_MAX_DIMS)
        return tools_onnx_fail(c, CNN_E_FORMAT, "the shape must be a 1-D integer tensor of at most %d values",
                               TOOLS_ONNX_MAX_DIMS);
    for (size_t k = 0; k < s->numel; k++)
        if (s->i[k] < 0)
            return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "shapes that depend on the batch size are not supported");
    tools_onnx_tensor_t value = {0}, out;
    const Onnx__AttributeProto *a = tools_onnx_attr(c, "value");
    if (a) {
        if (!a->has_type || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR || !a->t)
            return tools_onnx_fail(c, CNN_E_FORMAT, "attribute 'value' must be a tensor");
        if ((st = tools_onnx_tensor_read(a->t, NULL, "value", &value, c->err)) != CNN_OK) {
            tools_onnx_prefix_node(c);
            return st;
        }
        if (value.numel != 1) {
            tools_onnx_tensor_free(&value);
            return tools_onnx_fail(c, CNN_E_FORMAT, "attribute 'value' must hold one element");
        }
    }
    st = tools_onnx_fold_alloc(c, &out, a ? value.is_int : false, (int)s->numel, s->i);
    for (size_t k = 0; st == CNN_OK && a && k < out.numel; k++) {
        if (out.is_int)
            out.i[k] = value.i[0];
        else
            out.f[k] = value.f[0];
    }
    tools_onnx_tensor_free(&value);
    return st != CNN_OK ? st : tools_onnx_out_const(c, 0, &out);
}

cnn_status_t tools_onnx_map_transpose(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x;
    const int64_t *perm;
    size_t n;
    cnn_status_t st;
    if ((st = tools_onnx_in_const(c, 0, true, &x)) != CNN_OK || (st = tools_onnx_attr_ints(c, "perm", &perm, &n)) != CNN_OK)
        return st;
    const tools_onnx_tensor_t *t = &x->t;
    int64_t p[TOOLS_ONNX_MAX_DIMS], dims[TOOLS_ONNX_MAX_DIMS], step[TOOLS_ONNX_MAX_DIMS];
    size_t strides[TOOLS_ONNX_MAX_DIMS];
    bool used[TOOLS_ONNX_MAX_DIMS] = {false};
    if (perm && n != (size_t)t->ndim)
        return tools_onnx_fail(c, CNN_E_FORMAT, "perm has %zu values for rank %d", n, t->ndim);
    for (int k = 0; k < t->ndim; k++) {
        p[k] = perm ? perm[k] : t->ndim - 1 - k;
        if (p[k] < 0 || p[k] >= t->ndim || used[p[k]])
            return tools_onnx_fail(c, CNN_E_FORMAT, "perm is not a permutation of 0..%d", t->ndim - 1);
        used[p[k]] = true;
    }
    strides_of(t->dims, t->ndim, strides);
    for (int k = 0; k < t->ndim; k++) {
        dims[k] = t->dims[p[k]];
        step[k] = (int64_t)strides[p[k]];
    }
    tools_onnx_tensor_t out;
    if ((st = tools_onnx_fold_alloc(c, &out, t->is_int, t->ndim, dims)) != CNN_OK)
        return st;
    gather_strided(t, &out, 0, step);
    return tools_onnx_out_const(c, 0, &out);
}

/* Slice's starts/ends/axes/steps: attributes before opset 10, inputs after.
 * *n = number of sliced axes; missing axes/steps default. */
static cnn_status_t slice_args(tools_onnx_ctx_t *c, const int64_t *v[4], size_t *n)
{
    static const char *const names[4] = {"starts", "ends", "axes", "steps"};
    cnn_status_t st;
    size_t len[4] = {0, 0, 0, 0};
    for (int k = 0; k < 4; k++) {
        v[k] = NULL;
        if (c->opset < 10) {
            if (k < 3 && (st = tools_onnx_attr_ints(c, names[k], &v[k], &len[k])) != CNN_OK)
                return st;
            continue;
        }
        tools_onnx_value_t *in;
        if ((st = tools_onnx_in_const(c, (size_t)k + 1, k < 2, &in)) != CNN_OK)
            return st;
        if (in && (!in->t.is_int || in->t.ndim != 1))
            return tools_onnx_fail(c, CNN_E_FORMAT, "%s must be a 1-D integer tensor", names[k]);
        v[k] = in ? in->t.i : NULL;
        len[k] = in ? in->t.numel : 0;
    }
    if (!v[0] || !v[1] || len[0] != len[1] || (v[2] && len[2] != len[0]) || (v[3] && len[3] != len[0]))
        return tools_onnx_fail(c, CNN_E_FORMAT, "starts, ends, axes and steps must have the same length");
    *n = len[0];
    return CNN_OK;
}

cnn_status_t tools_onnx_map_slice(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x;
    const int64_t *v[4];
    size_t n = 0;
    cnn_status_t st;
    if ((st = tools_onnx_in_const(c, 0, true, &x)) != CNN_OK || (st = slice_args(c, v, &n)) != CNN_OK)
        return st;
    const tools_onnx_tensor_t *t = &x->t;
    int64_t start[TOOLS_ONNX_MAX_DIMS] = {0}, dims[TOOLS_ONNX_MAX_DIMS], step[TOOLS_ONNX_MAX_DIMS];
    int64_t stride_step[TOOLS_ONNX_MAX_DIMS];
    size_t strides[TOOLS_ONNX_MAX_DIMS];
    bool seen[TOOLS_ONNX_MAX_DIMS] = {false};
    for (int k = 0; k < t->ndim; k++) {
        dims[k] = t->dims[k];
        step[k] = 1;
    }
    for (size_t j = 0; j < n; j++) {
        int64_t axis = v[2] ? v[2][j] : (int64_t)j;
        axis = axis < 0 ? axis + t->ndim : axis;
        if (axis < 0 || axis >= t->ndim || seen[axis])
            return tools_onnx_fail(c, CNN_E_FORMAT, "axis %lld out of range or repeated",
                                   (long long)(v[2] ? v[2][j] : (int64_t)j));
        seen[axis] = true;
        int64_t d = t->dims[axis], s = v[0][j], e = v[1][j], st_ = v[3] ? v[3][j] : 1;
        if (st_ == 0 || st_ == INT64_MIN)
            return tools_onnx_fail(c, CNN_E_FORMAT, "step must not be 0");
        /* A step longer than the axis takes one element at most, like a step of d. */
        int64_t reach = d > 1 ? d : 1;
        st_ = st_ > reach ? reach : st_ < -reach ? -reach : st_;
        s = s < 0 ? (s < -d ? -1 : s + d) : s;
        e = e < 0 ? (e < -d ? -1 : e + d) : e;
        int64_t len;
        if (st_ > 0) {
            s = s < 0 ? 0 : s > d ? d : s;
            e = e < 0 ? 0 : e > d ? d : e;
            len = e > s ? (e - s + st_ - 1) / st_ : 0;
        } else {
            s = s < 0 ? 0 : s > d - 1 ? d - 1 : s;
            e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
            len = s > e ? (s - e - st_ - 1) / -st_ : 0;
        }
        start[axis] = len ? s : 0;
        dims[axis] = len;
        step[axis] = st_;
    }
    strides_of(t->dims, t->ndim, strides);
    int64_t base = 0;
    for (int k = 0; k < t->ndim; k++) {
        base += start[k] * (int64_t)strides[k];
        stride_step[k] = step[k] * (int64_t)strides[k];
    }
    tools_onnx_tensor_t out;
    if ((st = tools_onnx_fold_alloc(c, &out, t->is_int, t->ndim, dims)) != CNN_OK)
        return st;
    gather_strided(t, &out, base, stride_step);
    return tools_onnx_out_const(c, 0, &out);
}
