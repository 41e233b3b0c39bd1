/* Reference interpreter of a generated spec (see graph_ref.h). */
#include "graph_ref.h"

#include "ref_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static ref_dims_t dims(const gs_node_t *n)
{
    return (ref_dims_t){n->c, n->h, n->w};
}

/* Elementwise activations as PyTorch defines them (clip: clamp with optional bounds). */
static float activation(const gs_node_t *n, float x)
{
    switch (n->op) {
    case GS_RELU: return x > 0.0f ? x : 0.0f;
    case GS_LEAKY_RELU: return x > 0.0f ? x : (float)((double)n->alpha * x);
    case GS_ELU: return x > 0.0f ? x : (float)(n->alpha * expm1((double)x));
    case GS_SIGMOID: return (float)(1.0 / (1.0 + exp(-(double)x)));
    case GS_TANH: return (float)tanh((double)x);
    case GS_CLIP:
        if (n->has_min && x < n->alpha)
            x = n->alpha;
        if (n->has_max && x > n->beta)
            x = n->beta;
        return x;
    default: return x;
    }
}

/* Node n of spec s on `batch` images: reads vals of its inputs, writes o. */
static void eval_node(const gs_spec_t *s, const gs_node_t *n, float **vals, const float *input, int batch,
                      float *o)
{
    size_t numel = gs_numel(n), total = numel * (size_t)batch;
    const gs_node_t *src = n->num_inputs ? &s->nodes[n->inputs[0]] : n;
    const float *a = n->num_inputs ? vals[n->inputs[0]] : NULL;
    const float *w = n->wt[GS_W_WEIGHT].data, *bias = n->wt[GS_W_BIAS].data;
    switch (n->op) {
    case GS_INPUT:
        memcpy(o, input, total * sizeof *o);
        break;
    case GS_CONV2D: {
        ref_conv_t p = {.out_channels = n->out, .kh = n->kh, .kw = n->kw, .sh = n->sh, .sw = n->sw, .dh = n->dh,
                        .dw = n->dw, .groups = n->groups, .pad_top = n->pad[0], .pad_left = n->pad[1]};
        ref_conv2d(&p, a, dims(src), w, bias, o, dims(n), batch);
        break;
    }
    case GS_DENSE:
        ref_dense(a, (int)gs_numel(src), w, bias, n->out, o, batch);
        break;
    case GS_MAX_POOL:
    case GS_AVG_POOL: {
        ref_pool_t p = {.max = n->op == GS_MAX_POOL, .kh = n->kh, .kw = n->kw, .sh = n->sh, .sw = n->sw,
                        .pad_top = n->pad[0], .pad_left = n->pad[1], .pad_bottom = n->pad[2],
                        .pad_right = n->pad[3], .count_include_pad = n->count_include_pad};
        ref_pool2d(&p, a, dims(src), o, dims(n), batch);
        break;
    }
    case GS_GLOBAL_AVG_POOL:
        ref_global_avg_pool(a, dims(src), o, batch);
        break;
    case GS_RELU:
    case GS_LEAKY_RELU:
    case GS_ELU:
    case GS_SIGMOID:
    case GS_TANH:
    case GS_CLIP:
        for (size_t k = 0; k < total; k++)
            o[k] = activation(n, a[k]);
        break;
    case GS_PRELU:
        ref_prelu(a, dims(n), w, n->num_slopes, o, batch);
        break;
    case GS_SOFTMAX:
        ref_softmax_channels(a, dims(n), o, batch);
        break;
    case GS_LRN:
        ref_lrn(n->size, n->alpha, n->beta, n->k, a, dims(n), o, batch);
        break;
    case GS_BATCH_NORM:
        ref_batch_norm(a, dims(n), w, bias, n->wt[GS_W_MEAN].data, n->wt[GS_W_VAR].data, n->eps, o, batch);
        break;
    case GS_DROPOUT:
    case GS_FLATTEN:
        memcpy(o, a, total * sizeof *o);
        break;
    case GS_CONCAT: {
        size_t off = 0; /* CHW per image: inputs follow one another */
        for (int k = 0; k < n->num_inputs; k++) {
            size_t chunk = gs_numel(&s->nodes[n->inputs[k]]);
            for (int b = 0; b < batch; b++)
                memcpy(o + (size_t)b * numel + off, vals[n->inputs[k]] + (size_t)b * chunk, chunk * sizeof *o);
            off += chunk;
        }
        break;
    }
    case GS_ADD:
        for (size_t k = 0; k < total; k++)
            o[k] = (float)((double)a[k] + vals[n->inputs[1]][k]);
        break;
    case GS_ZERO_PAD:
        ref_zero_pad(a, dims(src), n->pad[0], n->pad[1], o, dims(n), batch);
        break;
    case GS_MAXOUT:
        ref_maxout(a, dims(n), n->pieces, o, batch);
        break;
    case GS_OP_COUNT:
        break;
    }
}

float **gr_eval(const gs_spec_t *s, const float *input, int batch)
{
    float **vals = calloc((size_t)s->num_nodes, sizeof *vals);
    if (!vals)
        return NULL;
    for (int i = 0; i < s->num_nodes; i++) {
        const gs_node_t *n = &s->nodes[i];
        vals[i] = malloc(gs_numel(n) * (size_t)batch * sizeof(float));
        if (!vals[i]) {
            gr_free(s, vals);
            return NULL;
        }
        eval_node(s, n, vals, input, batch, vals[i]);
    }
    return vals;
}

void gr_free(const gs_spec_t *s, float **vals)
{
    if (!vals)
        return;
    for (int i = 0; i < s->num_nodes; i++)
        free(vals[i]);
    free(vals);
}
