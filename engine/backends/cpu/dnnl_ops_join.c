/* Ops that join or reshape tensors: concat, add, flatten, zero pad, maxout. */
#include "dnnl_plan.h"

#include <stdlib.h>

/* --- concat along channels --- */

/* Tries a concat of `n` sources with layouts src[]; destination layout `any`. */
static dnnl_status_t concat_make(cnn_cpu_build_t *b, const cnn_node_t *node, const dnnl_memory_desc_t *src, int n,
                                 dnnl_primitive_desc_t *pd)
{
    dnnl_dim_t dims[4] = {b->p->batch, node->out.c, node->out.h, node->out.w};
    dnnl_memory_desc_t dst = cnn_dnnl_md_any(4, dims, src[0].data_type);
    dnnl_primitive_attr_t attr = cnn_cpu_attr_new(NULL);
    if (!attr)
        return dnnl_out_of_memory;
    dnnl_status_t ds = dnnl_concat_primitive_desc_create(pd, &dst, n, 1, src, attr, b->s->engine);
    dnnl_primitive_attr_destroy(attr);
    if (ds != dnnl_success)
        *pd = NULL;
    return ds;
}

cnn_status_t cnn_cpu_build_concat(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    const cnn_graph_t *g = b->s->g;
    int k = n->num_inputs;
    dnnl_memory_desc_t *md = malloc((size_t)k * sizeof *md);
    cnn_cpu_arg_t *args = malloc((size_t)(k + 1) * sizeof *args);
    dnnl_primitive_desc_t pd = NULL;
    cnn_status_t st = CNN_OK;
    if (!md || !args) {
        st = cnn_error_set(b->err, CNN_E_NOMEM, "out of memory");
        goto done;
    }
    /* Attempt 0: the sources as produced (one common type); 1: plain fp32. */
    dnnl_status_t ds = dnnl_unimplemented;
    for (int attempt = 0; attempt < 2 && ds != dnnl_success; attempt++) {
        for (int i = 0; i < k; i++) {
            int in = cnn_graph_resolve(g, n->inputs[i]);
            int v = cnn_cpu_value_get_ndims(b, in, 4);
            if (v < 0) {
                st = (cnn_status_t)v;
                goto done;
            }
            md[i] = b->p->views[v].md;
            if (attempt == 1)
                md[i] = cnn_dnnl_md_plain(4, md[i].dims, dnnl_f32);
            else if (md[i].data_type != md[0].data_type)
                md[i] = cnn_dnnl_md_with_type(&md[i], md[0].data_type);
        }
        ds = concat_make(b, n, md, k, &pd);
    }
    if (ds != dnnl_success) {
        st = cnn_dnnl_check(b->err, ds, "dnnl_concat_primitive_desc_create");
        goto done;
    }
    for (int i = 0; i < k; i++) {
        int v = cnn_cpu_value_get(b, cnn_graph_resolve(g, n->inputs[i]), &md[i]);
        if (v < 0) {
            st = (cnn_status_t)v;
            goto done;
        }
        args[i] = (cnn_cpu_arg_t){DNNL_ARG_MULTIPLE_SRC + i, v, NULL};
    }
    int dv = cnn_cpu_view_output(b, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), -1);
    if (dv < 0) {
        st = (cnn_status_t)dv;
        goto done;
    }
    args[k] = (cnn_cpu_arg_t){DNNL_ARG_DST, dv, NULL};
    if ((st = cnn_cpu_step_primitive(b, pd, args, k + 1)) == CNN_OK)
        cnn_cpu_value_set(b, dv);
done:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    free(md);
    free(args);
    return st;
}

/* --- elementwise add (+ fused activation) --- */

static dnnl_status_t add_make(cnn_cpu_build_t *b, const cnn_node_t *n, const dnnl_memory_desc_t *md,
                              dnnl_primitive_desc_t *pd)
{
    dnnl_post_ops_t po = NULL;
    dnnl_status_t ds = dnnl_success;
    if (n->post_act != CNN_ACT_NONE) {
        dnnl_alg_kind_t alg;
        float alpha, beta;
        cnn_dnnl_act_alg(n->post_act, n->post_act_alpha, n->post_act_beta, &alg, &alpha, &beta);
        ds = dnnl_post_ops_create(&po);
        if (ds == dnnl_success)
            ds = dnnl_post_ops_append_eltwise(po, 1.0f, alg, alpha, beta);
    }
    dnnl_binary_desc_t d;
    if (ds == dnnl_success)
        ds = dnnl_binary_desc_init(&d, dnnl_binary_add, md, md, md);
    if (ds == dnnl_success)
        ds = cnn_cpu_pd_create(b, pd, &d, po);
    if (po)
        dnnl_post_ops_destroy(po);
    return ds;
}

/* oneDNN 2.6's jit binary kernel gets a fused activation wrong on blocked
 * layouts: with a block other than the vector width (nChw8c on AVX-512,
 * nChw16c on AVX2) it computes wrong values and writes past the end of dst;
 * in place (dst == src0) it is also wrong when the channels do not fill the
 * last block. Plain layouts are right (found by tests/fuzz/fuzz_graph). */
static bool blocked_breaks_post_op(const cnn_node_t *n, const dnnl_memory_desc_t *md)
{
    return n->post_act != CNN_ACT_NONE && md->format_kind == dnnl_blocked && md->format_desc.blocking.inner_nblks > 0;
}

cnn_status_t cnn_cpu_build_add(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    const cnn_graph_t *g = b->s->g;
    int a = cnn_graph_resolve(g, n->inputs[0]), c = cnn_graph_resolve(g, n->inputs[1]);
    int ndims = n->flat ? 2 : 4;
    int av = cnn_cpu_value_get_ndims(b, a, ndims);
    if (av < 0)
        return (cnn_status_t)av;
    dnnl_memory_desc_t cand[3] = {b->p->views[av].md};
    cand[1] = cnn_dnnl_md_plain(ndims, cand[0].dims, cand[0].data_type);
    cand[2] = cnn_dnnl_md_plain(ndims, cand[0].dims, dnnl_f32);
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t ds = dnnl_unimplemented;
    int which = blocked_breaks_post_op(n, &cand[0]) ? 1 : 0;
    for (; which < 3 && ds != dnnl_success; which++)
        ds = add_make(b, n, &cand[which], &pd);
    if (ds != dnnl_success)
        return cnn_dnnl_check(b->err, ds, "dnnl_primitive_desc_create(binary)");
    const dnnl_memory_desc_t *md = &cand[which - 1];
    cnn_status_t st = CNN_OK;
    int src0 = cnn_cpu_value_get(b, a, md), src1 = src0 < 0 ? src0 : cnn_cpu_value_get(b, c, md);
    if (src1 < 0) {
        st = (cnn_status_t)src1;
        goto done;
    }
    /* In place over whichever source dies here (oneDNN wants dst == src0). */
    if (!cnn_cpu_view_dies_here(b, src0) && cnn_cpu_view_dies_here(b, src1)) {
        int t = src0;
        src0 = src1;
        src1 = t;
    }
    int dv = cnn_cpu_view_output(b, md, src0);
    if (dv < 0) {
        st = (cnn_status_t)dv;
        goto done;
    }
    cnn_cpu_arg_t args[3] = {{DNNL_ARG_SRC_0, src0, NULL}, {DNNL_ARG_SRC_1, src1, NULL}, {DNNL_ARG_DST, dv, NULL}};
    if ((st = cnn_cpu_step_primitive(b, pd, args, 3)) == CNN_OK)
        cnn_cpu_value_set(b, dv);
done:
    dnnl_primitive_desc_destroy(pd);
    return st;
}

/* --- flatten --- */

/* True when every executed reader of node `id` is a dense layer and the
 * node is not the graph output. */
static bool only_dense_reads(const cnn_graph_t *g, int id)
{
    if (cnn_graph_resolve(g, g->output) == id)
        return false;
    for (int i = id + 1; i < g->num_nodes; i++) {
        const cnn_node_t *n = &g->nodes[i];
        if (n->fused_into >= 0)
            continue;
        bool reads = n->residual_input >= 0 && cnn_graph_resolve(g, n->residual_input) == id;
        for (int k = 0; k < n->num_inputs; k++)
            reads = reads || cnn_graph_resolve(g, n->inputs[k]) == id;
        if (reads && n->op != CNN_OP_DENSE)
            return false;
    }
    return true;
}

/* Flatten costs nothing: dense readers take the 4D source as is (see
 * cnn_cpu_build_dense); other readers get a [N, C*H*W] alias of a plain
 * copy (or of the source itself when it is already plain). */
cnn_status_t cnn_cpu_build_flatten(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    int in = cnn_graph_resolve(b->s->g, n->inputs[0]);
    int head = b->p->node_view[in];
    int v;
    if (b->p->views[head].md.ndims == 2 || only_dense_reads(b->s->g, b->node)) {
        v = cnn_cpu_view_alias(b, head);
    } else {
        v = cnn_cpu_value_get_ndims(b, in, 2);
        v = v < 0 ? v : cnn_cpu_view_alias(b, v);
    }
    if (v < 0)
        return (cnn_status_t)v;
    cnn_cpu_value_set(b, v);
    return CNN_OK;
}

/* --- zero pad and maxout: loops on plain fp32 --- */

static cnn_status_t loop_build(cnn_cpu_build_t *b, const cnn_node_t *n, int ndims,
                               void (*fn)(const cnn_cpu_loop_t *, const float *, float *))
{
    int in = cnn_graph_resolve(b->s->g, n->inputs[0]);
    int sv = cnn_cpu_value_get_plain(b, in, ndims);
    if (sv < 0)
        return (cnn_status_t)sv;
    dnnl_dim_t dims[4] = {b->p->batch, ndims == 2 ? (dnnl_dim_t)cnn_node_numel(n) : n->out.c, n->out.h, n->out.w};
    dnnl_memory_desc_t md = cnn_dnnl_md_plain(ndims, dims, dnnl_f32);
    int dv = cnn_cpu_view_output(b, &md, -1);
    if (dv < 0)
        return (cnn_status_t)dv;
    cnn_cpu_loop_t loop = {.node = n, .batch = b->p->batch, .in = b->s->g->nodes[in].out, .out = n->out,
                           .in_view = sv, .out_view = dv, .fn = fn};
    cnn_status_t st = cnn_cpu_step_loop(b, &loop);
    if (st == CNN_OK)
        cnn_cpu_value_set(b, dv);
    return st;
}

cnn_status_t cnn_cpu_build_zero_pad(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    return loop_build(b, n, 4, cnn_cpu_loop_zero_pad);
}

cnn_status_t cnn_cpu_build_maxout(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    return loop_build(b, n, n->flat ? 2 : 4, cnn_cpu_loop_maxout);
}
