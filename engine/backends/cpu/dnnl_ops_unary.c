/* Single-input ops on oneDNN primitives: pooling, eltwise, prelu, softmax,
 * LRN, batch norm. Each runs on its input's layout when oneDNN can, else on
 * fp32 in that layout, else on plain fp32. */
#include "dnnl_plan.h"

#include <stdlib.h>

enum { KEY_SLOPE = 0, KEY_MEAN = 1, KEY_VAR = 2, KEY_SCALE = 3, KEY_SHIFT = 4 };

/* Makes the op descriptor of node n for source layout `src` and creates its
 * primitive descriptor; returns oneDNN's status. */
typedef dnnl_status_t (*pd_make_fn)(cnn_cpu_build_t *b, const cnn_node_t *n, const dnnl_memory_desc_t *src,
                                    dnnl_primitive_desc_t *pd);

/* nChw8c version of a plain fp32 4D descriptor with at least 8 channels
 * (oneDNN's fast pooling kernels want it), else the descriptor unchanged. */
static dnnl_memory_desc_t blocked_if_plain(const dnnl_memory_desc_t *md)
{
    if (md->ndims != 4 || md->dims[1] < 8 || md->data_type != dnnl_f32)
        return *md;
    dnnl_memory_desc_t plain = cnn_dnnl_md_plain(4, md->dims, dnnl_f32);
    if (!dnnl_memory_desc_equal(md, &plain))
        return *md;
    dnnl_memory_desc_t blocked;
    dnnl_dims_t dims = {md->dims[0], md->dims[1], md->dims[2], md->dims[3]};
    if (dnnl_memory_desc_init_by_tag(&blocked, 4, dims, dnnl_f32, dnnl_aBcd8b) != dnnl_success)
        return *md;
    return blocked;
}

/* Finds a source layout `make` accepts (see file comment) for the node's
 * first input seen with `ndims` dims (0: as produced); with `prefer_blocked`
 * a plain input is first tried reordered to nChw8c. Returns the source view
 * (>= 0) with *pd set, or a negative status. */
static int unary_prepare(cnn_cpu_build_t *b, const cnn_node_t *n, int ndims, bool prefer_blocked, pd_make_fn make,
                         dnnl_primitive_desc_t *pd)
{
    int in = cnn_graph_resolve(b->s->g, n->inputs[0]);
    int head = b->p->node_view[in];
    if (ndims == 0)
        ndims = b->p->views[head].md.ndims;
    int hv = cnn_cpu_value_get_ndims(b, in, ndims);
    if (hv < 0)
        return hv;
    dnnl_memory_desc_t cand[4];
    cand[0] = prefer_blocked ? blocked_if_plain(&b->p->views[hv].md) : b->p->views[hv].md;
    cand[1] = b->p->views[hv].md;
    cand[2] = cnn_dnnl_md_with_type(&cand[1], dnnl_f32);
    cand[3] = cnn_dnnl_md_plain(ndims, cand[1].dims, dnnl_f32);
    dnnl_status_t ds = dnnl_unimplemented;
    for (int i = 0; i < 4; i++) {
        if (i > 0 && dnnl_memory_desc_equal(&cand[i], &cand[i - 1]))
            continue;
        ds = make(b, n, &cand[i], pd);
        if (ds == dnnl_success) {
            int sv = cnn_cpu_value_get(b, in, &cand[i]);
            if (sv < 0) {
                dnnl_primitive_desc_destroy(*pd);
                *pd = NULL;
            }
            return sv;
        }
    }
    return cnn_dnnl_check(b->err, ds, "dnnl_primitive_desc_create");
}

/* Output view for dst layout of pd; in place over src_view when allowed. */
static cnn_status_t unary_finish(cnn_cpu_build_t *b, dnnl_primitive_desc_t pd, int sv, bool in_place,
                                 cnn_cpu_arg_t *args, int nargs)
{
    const dnnl_memory_desc_t *dst_md = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    int dv = cnn_cpu_view_output(b, dst_md, in_place ? sv : -1);
    cnn_status_t st = dv < 0 ? (cnn_status_t)dv : CNN_OK;
    if (st == CNN_OK) {
        args[0] = (cnn_cpu_arg_t){DNNL_ARG_SRC, sv, NULL};
        args[1] = (cnn_cpu_arg_t){DNNL_ARG_DST, dv, NULL};
        st = cnn_cpu_step_primitive(b, pd, args, nargs);
    }
    if (st == CNN_OK)
        cnn_cpu_value_set(b, dv);
    dnnl_primitive_desc_destroy(pd);
    return st;
}

/* The whole build of a one-input, one-output primitive without constants:
 * source layout, primitive, destination (in place over the source when
 * `in_place` and the source dies here). */
static cnn_status_t unary_build(cnn_cpu_build_t *b, const cnn_node_t *n, int ndims, bool prefer_blocked,
                                pd_make_fn make, bool in_place)
{
    dnnl_primitive_desc_t pd = NULL;
    int sv = unary_prepare(b, n, ndims, prefer_blocked, make, &pd);
    if (sv < 0)
        return (cnn_status_t)sv;
    cnn_cpu_arg_t args[2];
    return unary_finish(b, pd, sv, in_place, args, 2);
}

/* --- pooling --- */

static dnnl_status_t pool_make(cnn_cpu_build_t *b, const cnn_node_t *n, const dnnl_memory_desc_t *src,
                               dnnl_primitive_desc_t *pd)
{
    dnnl_dim_t dst_dims[4] = {b->p->batch, n->out.c, n->out.h, n->out.w};
    dnnl_memory_desc_t dst = cnn_dnnl_md_any(4, dst_dims, src->data_type);
    dnnl_dims_t strides, kernel, pad_l = {0, 0}, pad_r = {0, 0};
    dnnl_alg_kind_t alg = dnnl_pooling_avg_exclude_padding;
    if (n->op == CNN_OP_GLOBAL_AVG_POOL) {
        kernel[0] = strides[0] = src->dims[2];
        kernel[1] = strides[1] = src->dims[3];
    } else {
        const cnn_pool_params_t *pp = &n->p.pool;
        kernel[0] = pp->kh;
        kernel[1] = pp->kw;
        strides[0] = pp->sh;
        strides[1] = pp->sw;
        pad_l[0] = pp->pad.top;
        pad_l[1] = pp->pad.left;
        pad_r[0] = pp->pad.bottom;
        pad_r[1] = pp->pad.right;
        if (n->op == CNN_OP_MAX_POOL)
            alg = dnnl_pooling_max;
        else if (pp->count_include_pad)
            alg = dnnl_pooling_avg_include_padding;
    }
    dnnl_pooling_desc_t d;
    dnnl_status_t ds = dnnl_pooling_forward_desc_init(&d, dnnl_forward_inference, alg, src, &dst, strides, kernel,
                                                      pad_l, pad_r);
    return ds == dnnl_success ? cnn_cpu_pd_create(b, pd, &d, NULL) : ds;
}

/* PyTorch divides a count_include_pad window by its size clipped to the
 * user's padding, which excludes the extra area ceil_mode adds; oneDNN counts
 * the whole window, so pools with such an area run a plain loop. */
static bool pool_needs_loop(const cnn_node_t *n)
{
    const cnn_pool_params_t *p = &n->p.pool;
    return n->op == CNN_OP_AVG_POOL && p->count_include_pad && (p->extra_h > 0 || p->extra_w > 0);
}

cnn_status_t cnn_cpu_build_pool(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    if (pool_needs_loop(n)) {
        int in = cnn_graph_resolve(b->s->g, n->inputs[0]);
        int sv = cnn_cpu_value_get_plain(b, in, 4);
        if (sv < 0)
            return (cnn_status_t)sv;
        dnnl_dim_t dims[4] = {b->p->batch, n->out.c, n->out.h, n->out.w};
        dnnl_memory_desc_t md = cnn_dnnl_md_plain(4, dims, dnnl_f32);
        int dv = cnn_cpu_view_output(b, &md, -1);
        if (dv < 0)
            return (cnn_status_t)dv;
        cnn_cpu_loop_t loop = {.node = n, .batch = b->p->batch, .in = b->s->g->nodes[in].out, .out = n->out,
                               .in_view = sv, .out_view = dv, .fn = cnn_cpu_loop_avg_pool};
        cnn_status_t st = cnn_cpu_step_loop(b, &loop);
        if (st == CNN_OK)
            cnn_cpu_value_set(b, dv);
        return st;
    }
    return unary_build(b, n, 4, true, pool_make, false);
}

/* --- eltwise --- */

static dnnl_status_t eltwise_make(cnn_cpu_build_t *b, const cnn_node_t *n, const dnnl_memory_desc_t *src,
                                  dnnl_primitive_desc_t *pd)
{
    cnn_act_t act = n->op == CNN_OP_LEAKY_RELU ? CNN_ACT_LEAKY_RELU
                    : n->op == CNN_OP_ELU      ? CNN_ACT_ELU
                    : n->op == CNN_OP_SIGMOID  ? CNN_ACT_SIGMOID
                    : n->op == CNN_OP_TANH     ? CNN_ACT_TANH
                    : n->op == CNN_OP_CLIP     ? CNN_ACT_CLIP
                                               : CNN_ACT_RELU;
    dnnl_alg_kind_t alg;
    float alpha, beta;
    cnn_dnnl_act_alg(act, n->p.act.alpha, n->p.act.beta, &alg, &alpha, &beta);
    dnnl_eltwise_desc_t d;
    dnnl_status_t ds = dnnl_eltwise_forward_desc_init(&d, dnnl_forward_inference, alg, src, alpha, beta);
    return ds == dnnl_success ? cnn_cpu_pd_create(b, pd, &d, NULL) : ds;
}

cnn_status_t cnn_cpu_build_eltwise(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    return unary_build(b, n, 0, false, eltwise_make, true);
}

/* --- softmax over channels --- */

static dnnl_status_t softmax_make(cnn_cpu_build_t *b, const cnn_node_t *n, const dnnl_memory_desc_t *src,
                                  dnnl_primitive_desc_t *pd)
{
    (void)n;
    dnnl_softmax_desc_t d;
    dnnl_status_t ds = dnnl_softmax_forward_desc_init(&d, dnnl_forward_inference, src, 1);
    return ds == dnnl_success ? cnn_cpu_pd_create(b, pd, &d, NULL) : ds;
}

cnn_status_t cnn_cpu_build_softmax(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    return unary_build(b, n, 0, false, softmax_make, true);
}

/* --- LRN across channels (PyTorch LocalResponseNorm, odd sizes) --- */

static dnnl_status_t lrn_make(cnn_cpu_build_t *b, const cnn_node_t *n, const dnnl_memory_desc_t *src,
                              dnnl_primitive_desc_t *pd)
{
    const cnn_lrn_params_t *l = &n->p.lrn;
    dnnl_lrn_desc_t d;
    dnnl_status_t ds = dnnl_lrn_forward_desc_init(&d, dnnl_forward_inference, dnnl_lrn_across_channels, src,
                                                  l->size, l->alpha, l->beta, l->k);
    return ds == dnnl_success ? cnn_cpu_pd_create(b, pd, &d, NULL) : ds;
}

cnn_status_t cnn_cpu_build_lrn(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    return unary_build(b, n, 4, true, lrn_make, false);
}

/* --- batch norm with running statistics --- */

static dnnl_status_t bn_make(cnn_cpu_build_t *b, const cnn_node_t *n, const dnnl_memory_desc_t *src,
                             dnnl_primitive_desc_t *pd)
{
    dnnl_batch_normalization_desc_t d;
    dnnl_status_t ds = dnnl_batch_normalization_forward_desc_init(
        &d, dnnl_forward_inference, src, n->p.bn.eps, dnnl_use_global_stats | dnnl_use_scale | dnnl_use_shift);
    return ds == dnnl_success ? cnn_cpu_pd_create(b, pd, &d, NULL) : ds;
}

cnn_status_t cnn_cpu_build_batch_norm(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    static const struct { int slot, key, arg; } params[4] = {
        {CNN_W_WEIGHT, KEY_SCALE, DNNL_ARG_SCALE},
        {CNN_W_BIAS, KEY_SHIFT, DNNL_ARG_SHIFT},
        {CNN_W_MEAN, KEY_MEAN, DNNL_ARG_MEAN},
        {CNN_W_VAR, KEY_VAR, DNNL_ARG_VARIANCE},
    };
    dnnl_primitive_desc_t pd = NULL;
    int sv = unary_prepare(b, n, 0, false, bn_make, &pd);
    if (sv < 0)
        return (cnn_status_t)sv;
    cnn_cpu_arg_t args[6];
    dnnl_dim_t dims[1] = {n->out.c};
    if (n->flat)
        dims[0] = (dnnl_dim_t)cnn_node_numel(n);
    dnnl_memory_desc_t md = cnn_dnnl_md_plain(1, dims, dnnl_f32);
    for (int i = 0; i < 4; i++) {
        dnnl_memory_t m = NULL;
        cnn_status_t st = cnn_cpu_const_get(b, params[i].key, &md, n->w[params[i].slot]->data, &md, &m);
        if (st != CNN_OK) {
            dnnl_primitive_desc_destroy(pd);
            return st;
        }
        args[2 + i] = (cnn_cpu_arg_t){params[i].arg, -1, m};
    }
    return unary_finish(b, pd, sv, true, args, 6);
}

/* --- PReLU (one slope or one per channel) --- */

/* Slope tensor dims broadcast against a source of `ndims` dims. */
static void prelu_slope_dims(const cnn_node_t *n, int ndims, dnnl_dim_t *dims)
{
    for (int i = 0; i < ndims; i++)
        dims[i] = 1;
    dims[1] = n->w[CNN_W_WEIGHT]->dims[0];
}

static dnnl_status_t prelu_make(cnn_cpu_build_t *b, const cnn_node_t *n, const dnnl_memory_desc_t *src,
                                dnnl_primitive_desc_t *pd)
{
    dnnl_dim_t dims[4];
    prelu_slope_dims(n, src->ndims, dims);
    dnnl_memory_desc_t w = cnn_dnnl_md_any(src->ndims, dims, dnnl_f32);
    dnnl_prelu_desc_t d;
    dnnl_status_t ds = dnnl_prelu_forward_desc_init(&d, dnnl_forward_inference, src, &w);
    return ds == dnnl_success ? cnn_cpu_pd_create(b, pd, &d, NULL) : ds;
}

cnn_status_t cnn_cpu_build_prelu(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    dnnl_primitive_desc_t pd = NULL;
    int sv = unary_prepare(b, n, 0, false, prelu_make, &pd);
    if (sv < 0)
        return (cnn_status_t)sv;
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_dim_t dims[4];
    prelu_slope_dims(n, wmd->ndims, dims);
    dnnl_memory_desc_t user = cnn_dnnl_md_plain(wmd->ndims, dims, dnnl_f32);
    dnnl_memory_t w = NULL;
    cnn_status_t st = cnn_cpu_const_get(b, KEY_SLOPE, &user, n->w[CNN_W_WEIGHT]->data, wmd, &w);
    if (st != CNN_OK) {
        dnnl_primitive_desc_destroy(pd);
        return st;
    }
    cnn_cpu_arg_t args[3];
    args[2] = (cnn_cpu_arg_t){DNNL_ARG_WEIGHTS, -1, w};
    return unary_finish(b, pd, sv, false, args, 3);
}
