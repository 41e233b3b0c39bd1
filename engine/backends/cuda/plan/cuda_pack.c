/* Weight blob layout and packing for the CUDA backend (see cuda_pack.h). */
#include "cuda_pack.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

#define CNN_CU_WALIGN 256

uint16_t cnn_cu_f16_bits(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t exp = (x >> 23) & 0xffu, man = x & 0x7fffffu;
    if (exp == 0xffu) /* inf or NaN (keep a quiet NaN) */
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0u));
    int e = (int)exp - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        /* Subnormal half (or zero): shift the full mantissa, round to nearest even. */
        if (e < -10)
            return sign;
        uint32_t m = man | 0x800000u;
        int shift = 14 - e;
        uint32_t half = m >> shift, rest = m & ((1u << shift) - 1u), mid = 1u << (shift - 1);
        if (rest > mid || (rest == mid && (half & 1u)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)e << 10) | (man >> 13), rest = man & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
        half++; /* may carry into the exponent, up to inf: still correct */
    return (uint16_t)(sign | half);
}

float cnn_cu_f16_value(uint16_t h)
{
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v;
    if (e == 0)
        v = ldexpf((float)m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexpf((float)(m | 0x400), e - 25);
    return (h & 0x8000u) ? -v : v;
}

/* Stores v as element i of a dtype array. */
static void put(void *dst, size_t i, cnn_cu_dtype_t t, float v)
{
    if (t == CNN_CU_F16)
        ((uint16_t *)dst)[i] = cnn_cu_f16_bits(v);
    else
        ((float *)dst)[i] = v;
}

void cnn_cu_pack_filter(const float *w, int k, int c_per_group, int r, int s, const cnn_cu_format_t *fmt, int kp,
                        int cp, void *dst)
{
    if (fmt->layout == CNN_CU_NCHW) {
        for (size_t i = 0; i < (size_t)k * c_per_group * r * s; i++)
            put(dst, i, fmt->dtype, w[i]);
        return;
    }
    for (int ko = 0; ko < k; ko++)
        for (int y = 0; y < r; y++)
            for (int x = 0; x < s; x++)
                for (int c = 0; c < c_per_group; c++) {
                    size_t src = (((size_t)ko * c_per_group + c) * r + y) * s + x;
                    size_t d = (((size_t)ko * r + y) * s + x) * cp + c;
                    put(dst, d, fmt->dtype, w[src]);
                }
    (void)kp; /* rows ko >= k stay zero (the blob is zeroed) */
}

static size_t align_up(size_t v)
{
    return (v + CNN_CU_WALIGN - 1) / CNN_CU_WALIGN * CNN_CU_WALIGN;
}

/* Physical output/input channels of a conv in format fmt. */
static void conv_channels(const cnn_graph_t *g, const cnn_node_t *n, const cnn_cu_format_t *fmt, int *kp, int *cp)
{
    int cin = g->nodes[cnn_graph_resolve(g, n->inputs[0])].out.c, groups = n->p.conv.groups;
    *kp = n->p.conv.out_channels;
    *cp = cin / groups;
    if (fmt->layout == CNN_CU_NHWC && groups == 1) {
        *kp = cnn_cu_pad_channels(*kp, fmt->channel_align);
        *cp = cnn_cu_pad_channels(*cp, fmt->channel_align);
    }
}

cnn_status_t cnn_cu_wlayout_build(const cnn_graph_t *g, const cnn_cu_format_t *fmt, cnn_cu_wlayout_t *out,
                                  cnn_error_t *err)
{
    memset(out, 0, sizeof *out);
    out->fmt = *fmt;
    out->slots = calloc((size_t)(g->num_nodes > 0 ? g->num_nodes : 1), sizeof *out->slots);
    if (!out->slots)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory laying out CUDA weights");
    size_t at = 0, ds = cnn_cu_dtype_size(fmt->dtype);
    for (int i = 0; i < g->num_nodes; i++) {
        const cnn_node_t *n = &g->nodes[i];
        cnn_cu_wslot_t *s = &out->slots[i];
        s->a = s->b = SIZE_MAX;
        if (n->fused_into >= 0)
            continue;
        switch (n->op) {
        case CNN_OP_CONV2D: {
            int kp, cp;
            conv_channels(g, n, fmt, &kp, &cp);
            s->a_bytes = (size_t)kp * cp * n->p.conv.kh * n->p.conv.kw * ds;
            s->b_bytes = (size_t)kp * ds;
            break;
        }
        case CNN_OP_DENSE:
            s->a_bytes = (size_t)n->p.dense.out_features * cnn_node_numel(&g->nodes[cnn_graph_resolve(g, n->inputs[0])]) * ds;
            s->b_bytes = (size_t)n->p.dense.out_features * ds;
            break;
        case CNN_OP_BATCH_NORM:
            s->a_bytes = s->b_bytes = (size_t)(n->flat ? cnn_node_numel(n) : (size_t)n->out.c) * sizeof(float);
            break;
        case CNN_OP_PRELU:
            s->a_bytes = (size_t)n->w[CNN_W_WEIGHT]->dims[0] * sizeof(float);
            break;
        default:
            continue;
        }
        s->a = at;
        at = align_up(at + s->a_bytes);
        if (s->b_bytes) {
            s->b = at;
            at = align_up(at + s->b_bytes);
        }
    }
    out->total = at;
    return CNN_OK;
}

void cnn_cu_wlayout_free(cnn_cu_wlayout_t *l)
{
    free(l->slots);
    l->slots = NULL;
}

static const float *weight_data(const cnn_node_t *n, int slot)
{
    return n->w[slot] ? n->w[slot]->data : NULL;
}

void cnn_cu_wlayout_pack(const cnn_graph_t *g, const cnn_cu_wlayout_t *l, void *blob)
{
    const cnn_cu_format_t *fmt = &l->fmt;
    unsigned char *base = blob;
    memset(blob, 0, l->total);
    for (int i = 0; i < g->num_nodes; i++) {
        const cnn_node_t *n = &g->nodes[i];
        const cnn_cu_wslot_t *s = &l->slots[i];
        if (s->a == SIZE_MAX)
            continue;
        const float *bias = weight_data(n, CNN_W_BIAS);
        switch (n->op) {
        case CNN_OP_CONV2D: {
            int kp, cp;
            conv_channels(g, n, fmt, &kp, &cp);
            int cin = g->nodes[cnn_graph_resolve(g, n->inputs[0])].out.c;
            cnn_cu_pack_filter(weight_data(n, CNN_W_WEIGHT), n->p.conv.out_channels, cin / n->p.conv.groups,
                               n->p.conv.kh, n->p.conv.kw, fmt, kp, cp, base + s->a);
            for (int k = 0; bias && k < n->p.conv.out_channels; k++)
                put(base + s->b, (size_t)k, fmt->dtype, bias[k]);
            break;
        }
        case CNN_OP_DENSE: {
            size_t count = s->a_bytes / cnn_cu_dtype_size(fmt->dtype);
            const float *w = weight_data(n, CNN_W_WEIGHT);
            for (size_t k = 0; k < count; k++)
                put(base + s->a, k, fmt->dtype, w[k]);
            for (int k = 0; bias && k < n->p.dense.out_features; k++)
                put(base + s->b, (size_t)k, fmt->dtype, bias[k]);
            break;
        }
        case CNN_OP_BATCH_NORM: {
            size_t c = s->a_bytes / sizeof(float);
            const float *gamma = weight_data(n, CNN_W_WEIGHT), *beta = bias, *mean = weight_data(n, CNN_W_MEAN),
                        *var = weight_data(n, CNN_W_VAR);
            float *scale = (float *)(base + s->a), *shift = (float *)(base + s->b);
            for (size_t k = 0; k < c; k++) {
                scale[k] = gamma[k] / sqrtf(var[k] + n->p.bn.eps);
                shift[k] = beta[k] - mean[k] * scale[k];
            }
            break;
        }
        case CNN_OP_PRELU:
            memcpy(base + s->a, weight_data(n, CNN_W_WEIGHT), s->a_bytes);
            break;
        default:
            break;
        }
    }
}
