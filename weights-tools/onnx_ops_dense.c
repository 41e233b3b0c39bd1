/* ONNX operators with weights besides Conv: Gemm and MatMul (dense layers
 * over [N, K] with a constant right-hand side; Gemm's alpha/beta/transB
 * folded into the weights), BatchNormalization, PRelu, and Add (two computed
 * tensors, or a computed tensor plus a per-channel constant, which becomes
 * an exact affine batch norm: scale 1, shift c). */
#include "onnx_internal.h"

#include <stdlib.h>
#include <string.h>

bool tools_onnx_per_channel(const tools_onnx_tensor_t *t, const int64_t *xdims, int rank, float *out)
{
    int64_t channels = rank >= 2 ? xdims[1] : 1;
    if (t->is_int || t->ndim > rank || t->numel == 0)
        return false;
    int first = rank - t->ndim; /* X axis of t's first dim */
    int ch_dim = -1;            /* t's dim on the channel axis, if it has one of size > 1 */
    for (int j = 0; j < t->ndim; j++) {
        int axis = first + j;
        if (t->dims[j] == 1)
            continue;
        if (axis == 0 || t->dims[j] != xdims[axis])
            return false;
        if (axis == 1)
            ch_dim = j;
    }
    size_t inner = 1;
    for (int j = ch_dim + 1; ch_dim >= 0 && j < t->ndim; j++)
        inner *= (size_t)t->dims[j];
    bool *seen = calloc((size_t)channels, sizeof *seen);
    if (!seen)
        return false;
    bool ok = true;
    for (size_t k = 0; ok && k < t->numel; k++) {
        size_t ch = ch_dim >= 0 ? (k / inner) % (size_t)t->dims[ch_dim] : 0;
        if (!seen[ch]) {
            seen[ch] = true;
            out[ch] = t->f[k];
        } else {
            ok = out[ch] == t->f[k];
        }
    }
    free(seen);
    for (int64_t ch = 1; ok && ch_dim < 0 && ch < channels; ch++)
        out[ch] = out[0];
    return ok;
}

/* Builds a dense node over x (rank 2) with `m` outputs from weights [m, k]
 * and optional bias; defines output 0. */
static cnn_status_t emit_dense(tools_onnx_ctx_t *c, const tools_onnx_value_t *x, int m, const float *weight,
                               size_t n_weight, const float *bias, const char *what)
{
    char name[160];
    cnn_status_t st = tools_onnx_node_name(c, NULL, name, sizeof name);
    if (st != CNN_OK)
        return st;
    int id = cnn_graph_add_dense(c->g, name, x->node, m, bias != NULL);
    if ((st = tools_onnx_built(c, id)) != CNN_OK)
        return st;
    cJSON *o = tools_onnx_emit(c, id);
    if (!o)
        return c->err->status;
    if (!cJSON_AddNumberToObject(o, "out_features", m) || !cJSON_AddBoolToObject(o, "bias", bias != NULL))
        return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    if ((st = tools_onnx_weight(c, id, CNN_W_WEIGHT, weight, n_weight, what)) != CNN_OK ||
        (bias && (st = tools_onnx_weight(c, id, CNN_W_BIAS, bias, (size_t)m, "bias")) != CNN_OK))
        return st;
    return tools_onnx_out_runtime(c, 0, id, 2);
}

/* Input A of Gemm/MatMul: computed, [N, K]; *k = K. */
static cnn_status_t dense_input(tools_onnx_ctx_t *c, tools_onnx_value_t **x, int *k)
{
    cnn_status_t st = tools_onnx_in_runtime(c, 0, x);
    if (st != CNN_OK)
        return st;
    if ((*x)->rank != 2)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "input A must be a matrix [N, K], not rank %d", (*x)->rank);
    *k = c->g->nodes[(*x)->node].out.c;
    return CNN_OK;
}

/* The constant right-hand side B, a float matrix whose "K" side (dim
 * k_dim) equals k. */
static cnn_status_t dense_weight(tools_onnx_ctx_t *c, int k, int k_dim, const tools_onnx_tensor_t **b)
{
    tools_onnx_value_t *bv;
    cnn_status_t st = tools_onnx_in_const(c, 1, true, &bv);
    if (st != CNN_OK)
        return st;
    char a[160];
    *b = &bv->t;
    if (bv->t.is_int || bv->t.ndim != 2 || bv->t.dims[k_dim] != k || bv->t.dims[1 - k_dim] < 1 ||
        bv->t.dims[1 - k_dim] > INT32_MAX)
        return tools_onnx_fail(c, CNN_E_SHAPE, "B '%.100s' is %s; with A [N, %d] it must be a float matrix %s",
                               c->node->input[1], tools_onnx_dims_str(bv->t.dims, bv->t.ndim, a, sizeof a), k,
                               k_dim ? "[M, K]" : "[K, M]");
    return CNN_OK;
}

/* out[m][k] = alpha * (trans ? b[m][k] : b[k][m]). */
static float *weights_mk(const tools_onnx_tensor_t *b, int m, int k, bool trans, float alpha)
{
    float *w = malloc((size_t)m * (size_t)k * sizeof *w);
    for (size_t i = 0; w && i < (size_t)m; i++)
        for (size_t j = 0; j < (size_t)k; j++)
            w[i * (size_t)k + j] = alpha * (trans ? b->f[i * (size_t)k + j] : b->f[j * (size_t)m + i]);
    return w;
}

cnn_status_t tools_onnx_map_gemm(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x, *cv;
    const tools_onnx_tensor_t *b;
    int64_t trans_a, trans_b, broadcast;
    float alpha, beta;
    int k = 0;
    cnn_status_t st;
    if ((st = tools_onnx_attr_int(c, "transA", 0, &trans_a)) != CNN_OK ||
        (st = tools_onnx_attr_int(c, "transB", 0, &trans_b)) != CNN_OK ||
        (st = tools_onnx_attr_int(c, "broadcast", 1, &broadcast)) != CNN_OK ||
        (st = tools_onnx_attr_float(c, "alpha", 1.0f, &alpha)) != CNN_OK ||
        (st = tools_onnx_attr_float(c, "beta", 1.0f, &beta)) != CNN_OK)
        return st;
    if (trans_a)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "transA=1 is not supported (A must be [N, K])");
    if ((st = dense_input(c, &x, &k)) != CNN_OK || (st = dense_weight(c, k, trans_b ? 1 : 0, &b)) != CNN_OK ||
        (st = tools_onnx_in_const(c, 2, false, &cv)) != CNN_OK)
        return st;
    int m = (int)b->dims[trans_b ? 0 : 1];
    float *bias = NULL;
    if (cv && beta != 0.0f) {
        int64_t ydims[2] = {TOOLS_ONNX_BATCH, m};
        /* C broadcasts over [N, M]: per output feature, i.e. per "channel" of Y. */
        bias = malloc((size_t)m * sizeof *bias);
        if (!bias)
            return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
        if (!tools_onnx_per_channel(&cv->t, ydims, 2, bias)) {
            free(bias);
            char a[160];
            return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "bias C '%.100s' %s must be a scalar, [M] or [1, M] (M = %d)",
                                   c->node->input[2], tools_onnx_dims_str(cv->t.dims, cv->t.ndim, a, sizeof a), m);
        }
        for (int j = 0; j < m; j++)
            bias[j] *= beta;
    }
    float *w = weights_mk(b, m, k, trans_b != 0, alpha);
    if (!w) {
        free(bias);
        return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    }
    st = emit_dense(c, x, m, w, (size_t)m * (size_t)k, bias, c->node->input[1]);
    free(w);
    free(bias);
    return st;
}

cnn_status_t tools_onnx_map_matmul(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x;
    const tools_onnx_tensor_t *b;
    int k = 0;
    cnn_status_t st;
    if ((st = dense_input(c, &x, &k)) != CNN_OK || (st = dense_weight(c, k, 0, &b)) != CNN_OK)
        return st;
    int m = (int)b->dims[1];
    float *w = weights_mk(b, m, k, false, 1.0f);
    if (!w)
        return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    st = emit_dense(c, x, m, w, (size_t)m * (size_t)k, NULL, c->node->input[1]);
    free(w);
    return st;
}

/* A batch_norm node over x with the given per-channel tensors (n values
 * each); defines output 0. */
static cnn_status_t emit_batch_norm(tools_onnx_ctx_t *c, const tools_onnx_value_t *x, float eps,
                                    const float *const t[4], const char *const what[4], size_t n)
{
    char name[160];
    cnn_status_t st = tools_onnx_node_name(c, NULL, name, sizeof name);
    if (st != CNN_OK)
        return st;
    int id = cnn_graph_add_batch_norm(c->g, name, x->node, eps);
    if ((st = tools_onnx_built(c, id)) != CNN_OK)
        return st;
    cJSON *o = tools_onnx_emit(c, id);
    if (!o || !cJSON_AddNumberToObject(o, "eps", eps))
        return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    static const int slots[4] = {CNN_W_WEIGHT, CNN_W_BIAS, CNN_W_MEAN, CNN_W_VAR};
    for (int s = 0; s < 4; s++)
        if ((st = tools_onnx_weight(c, id, slots[s], t[s], n, what[s])) != CNN_OK)
            return st;
    return tools_onnx_out_runtime(c, 0, id, x->rank);
}

cnn_status_t tools_onnx_map_batch_norm(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x, *p[4];
    float eps;
    int64_t spatial, training;
    cnn_status_t st;
    if ((st = tools_onnx_attr_float(c, "epsilon", 1e-5f, &eps)) != CNN_OK ||
        (st = tools_onnx_attr_int(c, "spatial", 1, &spatial)) != CNN_OK ||
        (st = tools_onnx_attr_int(c, "training_mode", 0, &training)) != CNN_OK)
        return st;
    if (training)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "training_mode=1 (batch statistics) is not supported");
    if (!spatial)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "spatial=0 is not supported");
    if ((st = tools_onnx_in_runtime(c, 0, &x)) != CNN_OK ||
        (st = tools_onnx_outputs_unused(c, 1, "training statistics")) != CNN_OK)
        return st;
    int channels = c->g->nodes[x->node].out.c;
    const float *t[4];
    const char *what[4];
    for (int k = 0; k < 4; k++) {
        if ((st = tools_onnx_in_const(c, (size_t)k + 1, true, &p[k])) != CNN_OK)
            return st;
        if (p[k]->t.is_int || p[k]->t.ndim != 1 || p[k]->t.numel != (size_t)channels)
            return tools_onnx_fail(c, CNN_E_SHAPE, "'%.100s' must hold %d floats (one per channel)",
                                   c->node->input[k + 1], channels);
        t[k] = p[k]->t.f;
        what[k] = c->node->input[k + 1];
    }
    return emit_batch_norm(c, x, eps, t, what, (size_t)channels);
}

/* Computed x plus per-channel constant k: batch norm with scale 1, shift k,
 * mean 0, variance 1 and an epsilon that vanishes next to 1 in fp32. */
static cnn_status_t add_constant(tools_onnx_ctx_t *c, const tools_onnx_value_t *x, const tools_onnx_value_t *k,
                                 size_t k_input)
{
    int64_t dims[4];
    int rank = tools_onnx_runtime_dims(c, x, dims);
    size_t channels = rank >= 2 ? (size_t)dims[1] : 1;
    if (channels > TOOLS_ONNX_MAX_CHANNELS)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "adding a constant to %zu channels is not supported", channels);
    float *buf = malloc(4 * channels * sizeof *buf);
    if (!buf)
        return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    float *ones = buf, *shift = buf + channels, *zeros = buf + 2 * channels, *var = buf + 3 * channels;
    cnn_status_t st;
    char a[160], b[160];
    if (!tools_onnx_per_channel(&k->t, dims, rank, shift)) {
        st = tools_onnx_fail(c, CNN_E_UNSUPPORTED,
                             "adding constant '%.100s' %s to %s is supported only when it is the same at every "
                             "position of a channel",
                             c->node->input[k_input], tools_onnx_dims_str(k->t.dims, k->t.ndim, a, sizeof a),
                             tools_onnx_dims_str(dims, rank, b, sizeof b));
    } else {
        for (size_t ch = 0; ch < channels; ch++) {
            ones[ch] = var[ch] = 1.0f;
            zeros[ch] = 0.0f;
        }
        const float *t[4] = {ones, shift, zeros, var};
        const char *what[4] = {"scale", c->node->input[k_input], "mean", "variance"};
        st = emit_batch_norm(c, x, 1e-12f, t, what, channels);
    }
    free(buf);
    return st;
}

cnn_status_t tools_onnx_map_add(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *a, *b;
    cnn_status_t st;
    if ((st = tools_onnx_in(c, 0, &a)) != CNN_OK || (st = tools_onnx_in(c, 1, &b)) != CNN_OK)
        return st;
    if (!a || !b)
        return tools_onnx_fail(c, CNN_E_FORMAT, "needs two inputs");
    if (a->is_const && b->is_const)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "adding two constants is not supported");
    if (a->is_const || b->is_const)
        return add_constant(c, a->is_const ? b : a, a->is_const ? a : b, a->is_const ? 0 : 1);
    int64_t da[4], db[4];
    char sa[160], sb[160];
    int ra = tools_onnx_runtime_dims(c, a, da), rb = tools_onnx_runtime_dims(c, b, db);
    if (ra != rb || memcmp(da, db, (size_t)ra * sizeof *da) != 0)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "adding %s and %s: only equal shapes are supported",
                               tools_onnx_dims_str(da, ra, sa, sizeof sa), tools_onnx_dims_str(db, rb, sb, sizeof sb));
    char name[160];
    if ((st = tools_onnx_node_name(c, NULL, name, sizeof name)) != CNN_OK)
        return st;
    int id = cnn_graph_add_add(c->g, name, a->node, b->node);
    if ((st = tools_onnx_built(c, id)) != CNN_OK)
        return st;
    if (!tools_onnx_emit(c, id))
        return c->err->status;
    return tools_onnx_out_runtime(c, 0, id, a->rank);
}

cnn_status_t tools_onnx_map_prelu(tools_onnx_ctx_t *c)
{
    tools_onnx_value_t *x, *s;
    cnn_status_t st;
    if ((st = tools_onnx_in_runtime(c, 0, &x)) != CNN_OK || (st = tools_onnx_in_const(c, 1, true, &s)) != CNN_OK)
        return st;
    int64_t dims[4];
    int rank = tools_onnx_runtime_dims(c, x, dims);
    int channels = rank >= 2 ? (int)dims[1] : 1;
    if (channels > TOOLS_ONNX_MAX_CHANNELS)
        return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "PRelu over %d channels is not supported", channels);
    float *slopes = malloc((size_t)channels * sizeof *slopes);
    if (!slopes)
        return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    char a[160], b[160];
    /* Before opset 7 a 1-D slope of C values meant one per channel. */
    tools_onnx_tensor_t legacy = s->t;
    if (c->opset < 7 && legacy.ndim == 1 && rank >= 2 && legacy.dims[0] == channels) {
        legacy.ndim = rank - 1;
        for (int k = 1; k < legacy.ndim; k++)
            legacy.dims[k] = 1;
    }
    if (!tools_onnx_per_channel(&legacy, dims, rank, slopes)) {
        st = tools_onnx_fail(c, CNN_E_UNSUPPORTED, "slope '%.100s' %s on %s must be one value or one per channel",
                             c->node->input[1], tools_onnx_dims_str(s->t.dims, s->t.ndim, a, sizeof a),
                             tools_onnx_dims_str(dims, rank, b, sizeof b));
        free(slopes);
        return st;
    }
    bool uniform = true;
    for (int ch = 1; ch < channels; ch++)
        uniform = uniform && slopes[ch] == slopes[0];
    int n = uniform ? 1 : channels;
    char name[160];
    int id = -1;
    cJSON *o = NULL;
    if ((st = tools_onnx_node_name(c, NULL, name, sizeof name)) == CNN_OK)
        st = tools_onnx_built(c, id = cnn_graph_add_prelu(c->g, name, x->node, n));
    if (st == CNN_OK && (!(o = tools_onnx_emit(c, id)) || !cJSON_AddNumberToObject(o, "num_slopes", n)))
        st = o ? cnn_error_set(c->err, CNN_E_NOMEM, "out of memory") : c->err->status;
    if (st == CNN_OK)
        st = tools_onnx_weight(c, id, CNN_W_WEIGHT, slopes, (size_t)n, c->node->input[1]);
    free(slopes);
    return st != CNN_OK ? st : tools_onnx_out_runtime(c, 0, id, x->rank);
}
