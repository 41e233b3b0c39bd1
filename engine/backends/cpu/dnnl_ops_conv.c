/* Convolution and inner product (dense) with fused bias, residual sum and
 * activation. In bf16 mode src/weights/dst are bf16 where oneDNN has a
 * native bf16 kernel for the layer, else that layer stays fp32. */
#include "dnnl_plan.h"

#include <string.h>

enum { KEY_WEIGHTS = 0, KEY_BIAS = 1 };

/* Post-ops: optional residual sum, then the node's fused activation.
 * *out is NULL when there is nothing to fuse. */
static cnn_status_t post_ops_make(cnn_cpu_build_t *b, const cnn_node_t *n, bool with_sum, dnnl_post_ops_t *out)
{
    cnn_status_t st = CNN_OK;
    dnnl_post_ops_t po = NULL;
    *out = NULL;
    if (!with_sum && n->post_act == CNN_ACT_NONE)
        return CNN_OK;
    CNN_DNNL_TRY(b->err, dnnl_post_ops_create(&po));
    if (with_sum)
        CNN_DNNL_TRY(b->err, dnnl_post_ops_append_sum(po, 1.0f));
    if (n->post_act != CNN_ACT_NONE) {
        dnnl_alg_kind_t alg;
        float alpha, beta;
        cnn_dnnl_act_alg(n->post_act, n->post_act_alpha, n->post_act_beta, &alg, &alpha, &beta);
        CNN_DNNL_TRY(b->err, dnnl_post_ops_append_eltwise(po, 1.0f, alg, alpha, beta));
    }
    *out = po;
    return CNN_OK;
done:
    if (po)
        dnnl_post_ops_destroy(po);
    return st;
}

static bool has_bias(const cnn_node_t *n)
{
    return n->w[CNN_W_BIAS] && n->w[CNN_W_BIAS]->data;
}

/* Weights and bias constants for the primitive `pd`; user layout `wmd_user`. */
static cnn_status_t weights_get(cnn_cpu_build_t *b, const cnn_node_t *n, const_dnnl_primitive_desc_t pd,
                                const dnnl_memory_desc_t *wmd_user, cnn_cpu_arg_t *args, int *nargs)
{
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_memory_t w = NULL, bm = NULL;
    cnn_status_t st = cnn_cpu_const_get(b, KEY_WEIGHTS, wmd_user, n->w[CNN_W_WEIGHT]->data, wmd, &w);
    if (st != CNN_OK)
        return st;
    args[(*nargs)++] = (cnn_cpu_arg_t){DNNL_ARG_WEIGHTS, -1, w};
    if (has_bias(n)) {
        const dnnl_memory_desc_t *bmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1);
        dnnl_dim_t dims[1] = {n->w[CNN_W_BIAS]->dims[0]};
        dnnl_memory_desc_t user = cnn_dnnl_md_plain(1, dims, dnnl_f32);
        if ((st = cnn_cpu_const_get(b, KEY_BIAS, &user, n->w[CNN_W_BIAS]->data, bmd, &bm)) != CNN_OK)
            return st;
        args[(*nargs)++] = (cnn_cpu_arg_t){DNNL_ARG_BIAS, -1, bm};
    }
    return CNN_OK;
}

/* Appends the primitive of `pd` reading view sv and the node's weights and
 * bias (user layout `wuser`) and writing view dv (a negative dv is an error
 * status passed through); dv becomes the node's value. */
static cnn_status_t weighted_step(cnn_cpu_build_t *b, const cnn_node_t *n, const_dnnl_primitive_desc_t pd, int sv,
                                  const dnnl_memory_desc_t *wuser, int dv)
{
    if (dv < 0)
        return (cnn_status_t)dv;
    cnn_cpu_arg_t args[4] = {{DNNL_ARG_SRC, sv, NULL}};
    int nargs = 1;
    cnn_status_t st = weights_get(b, n, pd, wuser, args, &nargs);
    if (st != CNN_OK)
        return st;
    args[nargs++] = (cnn_cpu_arg_t){DNNL_ARG_DST, dv, NULL};
    if ((st = cnn_cpu_step_primitive(b, pd, args, nargs)) == CNN_OK)
        cnn_cpu_value_set(b, dv);
    return st;
}

/* Destination of a conv with a residual: the residual's own buffer when it
 * dies here in the right layout (in-place sum), else a copy of it. */
static int residual_dst(cnn_cpu_build_t *b, const cnn_node_t *n, const dnnl_memory_desc_t *dst_md, int src_view)
{
    cnn_cpu_plan_t *p = b->p;
    int r = cnn_graph_resolve(b->s->g, n->residual_input);
    for (int v = p->node_view[r]; v >= 0; v = p->views[v].next)
        if (p->views[v].buf != p->views[src_view].buf && cnn_cpu_view_dies_here(b, v) &&
            dnnl_memory_desc_equal(&p->views[v].md, dst_md))
            return cnn_cpu_view_output(b, dst_md, v);
    int rv = cnn_cpu_value_get_ndims(b, r, 4);
    if (rv < 0)
        return rv;
    int dv = cnn_cpu_view_output(b, dst_md, -1);
    if (dv < 0)
        return dv;
    cnn_status_t st = cnn_cpu_step_reorder(b, rv, dv);
    return st != CNN_OK ? st : dv;
}

/* Whether oneDNN's implementation `impl` may run a layer: a bf16 layer only on
 * a native bf16 kernel (for avx512_core_bf16 or AMX) - not a reference or
 * emulated one, nor oneDNN's bf16 gemm (no faster than fp32 once warm, and
 * 5-10x slower for its first runs in a process); with `avoid_brg` no brgemm
 * kernel (see conv_avoids_brgemm). */
static bool impl_acceptable(const char *impl, dnnl_data_type_t dt, bool avoid_brg)
{
    if (avoid_brg && (strncmp(impl, "brg", 3) == 0 || strncmp(impl, "brd", 3) == 0))
        return false;
    return dt != dnnl_bf16 || ((strstr(impl, "avx512_core_bf16") || strstr(impl, "amx")) && !strstr(impl, "gemm:jit"));
}

/* Creates into *pd the first implementation of `desc` (with user scratchpad
 * and post-ops `po`), in oneDNN's order of preference, that impl_acceptable
 * allows; dnnl_unimplemented when none does. */
static dnnl_status_t pd_create_acceptable(cnn_cpu_build_t *b, dnnl_primitive_desc_t *pd, const_dnnl_op_desc_t desc,
                                          const_dnnl_post_ops_t po, dnnl_data_type_t dt, bool avoid_brg)
{
    *pd = NULL;
    dnnl_primitive_attr_t attr = cnn_cpu_attr_new(po);
    if (!attr)
        return dnnl_out_of_memory;
    dnnl_primitive_desc_iterator_t it = NULL;
    dnnl_status_t ds = dnnl_primitive_desc_iterator_create(&it, desc, attr, b->s->engine, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (ds != dnnl_success)
        return ds;
    ds = dnnl_unimplemented;
    do {
        dnnl_primitive_desc_t cand = dnnl_primitive_desc_iterator_fetch(it);
        const char *impl = NULL;
        if (!cand) {
            ds = dnnl_out_of_memory;
            break;
        }
        if (dnnl_primitive_desc_query(cand, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
            impl_acceptable(impl, dt, avoid_brg)) {
            *pd = cand;
            ds = dnnl_success;
            break;
        }
        dnnl_primitive_desc_destroy(cand);
    } while (dnnl_primitive_desc_iterator_next(it) == dnnl_success);
    dnnl_primitive_desc_iterator_destroy(it);
    return ds;
}

/* oneDNN 2.6's bf16 brgemm kernels for AVX512_BF16 (not AMX) apply a fused
 * residual sum slowly in 1x1 convolutions: ResNet-50's 64->256 one over 56x56
 * took 1.78 ms at batch 8 with the sum and 1.12 ms without, and its jit kernel
 * on the same layouts 1.15 ms with the sum (the whole network: 7 % faster at
 * batch 8, 2 % at batch 1). In fp32, and for 3x3 convolutions (ResNet-18),
 * the jit kernels were not faster, so those keep oneDNN's choice. Channel
 * counts must be multiples of 16: the jit kernel on NHWC gets odd input
 * channel counts wrong (found by tests/fuzz/fuzz_graph). For such a conv, *pd
 * is replaced by a non-brgemm implementation over the very same
 * source and destination layouts (so no reorder appears) where one exists. */
static void pd_prefer_jit_for_sum(cnn_cpu_build_t *b, const cnn_node_t *n, dnnl_primitive_desc_t *pd,
                                  const dnnl_convolution_desc_t *d, const_dnnl_post_ops_t po)
{
    const char *impl = NULL;
    if (n->residual_input < 0 || n->p.conv.kh != 1 || n->p.conv.kw != 1 || d->src_desc.data_type != dnnl_bf16 ||
        d->src_desc.dims[1] % 16 != 0 || d->dst_desc.dims[1] % 16 != 0 || n->p.conv.groups != 1 ||
        dnnl_primitive_desc_query(*pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl ||
        strncmp(impl, "brg", 3) != 0 || strstr(impl, "amx"))
        return;
    dnnl_convolution_desc_t same_layouts = *d;
    same_layouts.src_desc = *dnnl_primitive_desc_query_md(*pd, dnnl_query_src_md, 0);
    same_layouts.dst_desc = *dnnl_primitive_desc_query_md(*pd, dnnl_query_dst_md, 0);
    dnnl_primitive_desc_t jit = NULL;
    if (pd_create_acceptable(b, &jit, &same_layouts, po, dnnl_bf16, true) != dnnl_success)
        return;
    dnnl_primitive_desc_destroy(*pd);
    *pd = jit;
}

/* True when some output position along one axis reads only padding: every
 * tap o*stride - pad + t*dilation falls outside [0, in). */
static bool axis_has_padding_only_outputs(int in, int out, int k, int stride, int dilation, int pad)
{
    for (int o = 0; o < out; o++) {
        bool reads_input = false;
        for (int t = 0; t < k && !reads_input; t++) {
            int x = o * stride - pad + t * dilation;
            reads_input = x >= 0 && x < in;
        }
        if (!reads_input)
            return true;
    }
    return false;
}

/* oneDNN 2.6's brgemm convolutions drop the bias of an output row or column
 * that reads only padding when a residual sum is fused (and crash in JIT code
 * when an activation is fused too; its other kernels are right). Found by
 * tests/fuzz/fuzz_graph; such a conv runs on another implementation. */
static bool conv_avoids_brgemm(const cnn_node_t *n, cnn_shape_t in)
{
    const cnn_conv_params_t *c = &n->p.conv;
    return n->residual_input >= 0 &&
           (axis_has_padding_only_outputs(in.h, n->out.h, c->kh, c->sh, c->dh, c->pad.top) ||
            axis_has_padding_only_outputs(in.w, n->out.w, c->kw, c->sw, c->dw, c->pad.left));
}

cnn_status_t cnn_cpu_build_conv(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    const cnn_conv_params_t *c = &n->p.conv;
    int in = cnn_graph_resolve(b->s->g, n->inputs[0]);
    cnn_shape_t is = b->s->g->nodes[in].out;
    dnnl_dim_t batch = b->p->batch, oc = c->out_channels, g = c->groups;
    dnnl_dim_t src_dims[4] = {batch, is.c, is.h, is.w};
    dnnl_dim_t dst_dims[4] = {batch, oc, n->out.h, n->out.w};
    dnnl_dim_t wdims[5] = {g, oc / g, is.c / g, c->kh, c->kw};
    int wnd = g > 1 ? 5 : 4;
    const dnnl_dim_t *wd = g > 1 ? wdims : wdims + 1;
    dnnl_dim_t bias_dims[1] = {oc};
    dnnl_dims_t strides = {c->sh, c->sw}, dil = {c->dh - 1, c->dw - 1};
    dnnl_dims_t pad_l = {c->pad.top, c->pad.left}, pad_r = {c->pad.bottom, c->pad.right};
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t ds = dnnl_unimplemented;
    dnnl_convolution_desc_t d;
    cnn_status_t st = post_ops_make(b, n, n->residual_input >= 0, &po);
    if (st != CNN_OK)
        return st;
    bool bf16 = b->s->opts.precision == CNN_PRECISION_BF16;
    for (int attempt = bf16 ? 0 : 1; attempt < 2 && ds != dnnl_success; attempt++) {
        dnnl_data_type_t dt = attempt == 0 ? dnnl_bf16 : dnnl_f32;
        dnnl_memory_desc_t src = cnn_dnnl_md_any(4, src_dims, dt), dst = cnn_dnnl_md_any(4, dst_dims, dt);
        dnnl_memory_desc_t w = cnn_dnnl_md_any(wnd, wd, dt), bias = cnn_dnnl_md_plain(1, bias_dims, dnnl_f32);
        ds = dnnl_dilated_convolution_forward_desc_init(&d, dnnl_forward_inference, dnnl_convolution_direct, &src,
                                                        &w, has_bias(n) ? &bias : NULL, &dst, strides, dil,
                                                        pad_l, pad_r);
        if (ds == dnnl_success)
            ds = pd_create_acceptable(b, &pd, &d, po, dt, conv_avoids_brgemm(n, is));
    }
    if (ds != dnnl_success) {
        st = cnn_dnnl_check(b->err, ds, "dnnl_primitive_desc_create(convolution)");
        goto done;
    }
    pd_prefer_jit_for_sum(b, n, &pd, &d, po);
    const dnnl_memory_desc_t *dst_md = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    int sv = cnn_cpu_value_get(b, in, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0));
    if (sv < 0) {
        st = (cnn_status_t)sv;
        goto done;
    }
    dnnl_memory_desc_t wuser = cnn_dnnl_md_plain(wnd, wd, dnnl_f32);
    int dv = n->residual_input >= 0 ? residual_dst(b, n, dst_md, sv) : cnn_cpu_view_output(b, dst_md, -1);
    st = weighted_step(b, n, pd, sv, &wuser, dv);
done:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (po)
        dnnl_post_ops_destroy(po);
    return st;
}

/* Inner product. Its source may be 4D (flattening is implicit: weights
 * [O, C*H*W] are viewed as [O, C, H, W], PyTorch's flatten order), in which
 * case the source stays in whatever layout its producer chose. */
cnn_status_t cnn_cpu_build_dense(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    int in = cnn_graph_resolve(b->s->g, n->inputs[0]);
    int head = b->p->node_view[in];
    dnnl_memory_desc_t head_md = b->p->views[head].md;
    int snd = head_md.ndims == 4 ? 4 : 2;
    dnnl_dim_t src_dims[4] = {b->p->batch, head_md.dims[1], snd == 4 ? head_md.dims[2] : 1,
                              snd == 4 ? head_md.dims[3] : 1};
    dnnl_dim_t oc = n->p.dense.out_features;
    dnnl_dim_t wd[4] = {oc, src_dims[1], src_dims[2], src_dims[3]};
    dnnl_dim_t dst_dims[2] = {b->p->batch, oc}, bias_dims[1] = {oc};
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t ds = dnnl_unimplemented;
    cnn_status_t st = post_ops_make(b, n, false, &po);
    if (st != CNN_OK)
        return st;
    bool bf16 = b->s->opts.precision == CNN_PRECISION_BF16;
    /* Attempts, in order:
     * 0. bf16 over a flat plain source [N, C*H*W] (oneDNN's brgemm inner
     *    product; over a 4D source it picks its bf16 gemm, which is no faster
     *    once warm and takes its first ~5 runs per process at 5-10x the time);
     * 1. bf16, any layouts;
     * 2. fp32 with plain source and PyTorch-layout weights ([O, I] row-major:
     *    oneDNN's gemm then streams each weight row once, 1.5-3x faster at
     *    small batches than the transposed layout `any` picks);
     * 3. fp32 with the producer's layout; 4. fp32 any. */
    dnnl_dim_t flat_src[2] = {b->p->batch, src_dims[1] * src_dims[2] * src_dims[3]}, flat_w[2] = {oc, flat_src[1]};
    int nd = snd;
    for (int attempt = bf16 ? 0 : 2; attempt < 5 && ds != dnnl_success; attempt++) {
        dnnl_data_type_t dt = attempt <= 1 ? dnnl_bf16 : dnnl_f32;
        nd = attempt == 0 ? 2 : snd;
        const dnnl_dim_t *sdims = attempt == 0 ? flat_src : src_dims, *wdims = attempt == 0 ? flat_w : wd;
        dnnl_memory_desc_t src = attempt == 3 && head_md.data_type == dnnl_f32 ? head_md
                                                                                : cnn_dnnl_md_any(nd, sdims, dt);
        dnnl_memory_desc_t w = cnn_dnnl_md_any(nd, wdims, dt), dst = cnn_dnnl_md_any(2, dst_dims, dt);
        if (attempt == 2) {
            src = cnn_dnnl_md_plain(nd, sdims, dt);
            w = cnn_dnnl_md_plain(nd, wdims, dt);
        }
        dnnl_memory_desc_t bias = cnn_dnnl_md_plain(1, bias_dims, dnnl_f32);
        dnnl_inner_product_desc_t d;
        ds = dnnl_inner_product_forward_desc_init(&d, dnnl_forward_inference, &src, &w, has_bias(n) ? &bias : NULL,
                                                  &dst);
        if (ds == dnnl_success)
            ds = pd_create_acceptable(b, &pd, &d, po, dt, false);
    }
    if (ds != dnnl_success) {
        st = cnn_dnnl_check(b->err, ds, "dnnl_primitive_desc_create(inner_product)");
        goto done;
    }
    int sv = cnn_cpu_value_get(b, in, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0));
    if (sv < 0) {
        st = (cnn_status_t)sv;
        goto done;
    }
    dnnl_memory_desc_t wuser = cnn_dnnl_md_plain(nd, nd == 2 ? flat_w : wd, dnnl_f32);
    int dv = cnn_cpu_view_output(b, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), -1);
    st = weighted_step(b, n, pd, sv, &wuser, dv);
done:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (po)
        dnnl_post_ops_destroy(po);
    return st;
}
