/* Plan step → list of calls (see cuda_calls.h). */
#include "cuda_calls.h"

#include <string.h>

void *cnn_cu_tensor_addr(const cnn_cu_bases_t *b, const cnn_cu_plan_t *p, const cnn_cu_tensor_t *t)
{
    if (t->buf == CNN_CU_BUF_INPUT)
        return b->input;
    return b->arena + p->bufs[t->buf].offset;
}

cnn_cu_kt_t cnn_cu_kt(const cnn_cu_tensor_t *t)
{
    cnn_cu_kt_t k = {.n = t->n, .c = t->c, .h = t->h, .w = t->w, .cp = t->cp, .sn = t->sn, .sc = t->sc,
                     .sh = t->sh, .sw = t->sw, .nhwc = !t->flat && t->layout == CNN_CU_NHWC};
    return k;
}

/* A contiguous fp32-order NCHW view with t's logical shape (staging, flattening). */
static cnn_cu_kt_t nchw_view(const cnn_cu_tensor_t *t)
{
    cnn_cu_tensor_t v;
    cnn_cu_tensor_init(&v, t->n, t->c, t->h, t->w, false, CNN_CU_NCHW, 1);
    return cnn_cu_kt(&v);
}

static int act_of(const cnn_node_t *n, float *alpha, float *beta)
{
    *alpha = n->p.act.alpha;
    *beta = n->p.act.beta;
    switch (n->op) {
    case CNN_OP_RELU: return CNN_CU_ACT_RELU;
    case CNN_OP_LEAKY_RELU: return CNN_CU_ACT_LEAKY_RELU;
    case CNN_OP_ELU: return CNN_CU_ACT_ELU;
    case CNN_OP_SIGMOID: return CNN_CU_ACT_SIGMOID;
    case CNN_OP_TANH: return CNN_CU_ACT_TANH;
    case CNN_OP_CLIP: return CNN_CU_ACT_CLIP;
    default: return CNN_CU_ACT_NONE;
    }
}

/* Concat: one call per CNN_CU_CONCAT_MAX inputs, each writing its channel
 * slices of the output; the last also zeroes the padded channels. */
static int concat_calls(const cnn_graph_t *g, const cnn_cu_plan_t *p, const cnn_node_t *n, const cnn_cu_bases_t *b,
                        const cnn_cu_call_t *proto, cnn_cu_call_t *calls)
{
    const cnn_cu_tensor_t *out = &p->values[proto->i[0]];
    int count = 0, offset = 0;
    for (int k0 = 0; k0 < n->num_inputs && count < CNN_CU_CALLS_MAX; k0 += CNN_CU_CONCAT_MAX) {
        cnn_cu_call_t *c = &calls[count++];
        *c = *proto;
        c->i[0] = 0;
        cnn_cu_concat_args_t *a = &c->concat;
        a->total_c = out->c;
        for (int k = k0; k < n->num_inputs && k < k0 + CNN_CU_CONCAT_MAX; k++) {
            const cnn_cu_tensor_t *t = &p->values[cnn_graph_resolve(g, n->inputs[k])];
            a->src[a->count] = cnn_cu_tensor_addr(b, p, t);
            a->s[a->count] = cnn_cu_kt(t);
            a->offsets[a->count] = offset;
            offset += t->c;
            a->count++;
        }
        a->zero_tail = k0 + CNN_CU_CONCAT_MAX >= n->num_inputs;
    }
    return count;
}

int cnn_cu_step_calls(const cnn_graph_t *g, const cnn_cu_plan_t *p, const cnn_cu_wlayout_t *wl,
                      const cnn_cu_step_t *st, const cnn_cu_bases_t *b, cnn_cu_call_t *calls)
{
    const cnn_node_t *n = &g->nodes[st->node];
    const cnn_cu_tensor_t *in = st->in >= 0 ? &p->values[st->in] : NULL, *out = &p->values[st->node];
    const cnn_cu_wslot_t *ws = &wl->slots[st->node];
    bool f16 = p->fmt.dtype == CNN_CU_F16;
    cnn_cu_call_t c;
    memset(&c, 0, sizeof c);
    c.f16 = c.sf16 = c.df16 = f16;
    if (in) {
        c.src = cnn_cu_tensor_addr(b, p, in);
        c.s = cnn_cu_kt(in);
    }
    if (st->kind != CNN_CU_STEP_INPUT && st->kind != CNN_CU_STEP_OUTPUT) {
        c.dst = cnn_cu_tensor_addr(b, p, out);
        c.d = cnn_cu_kt(out);
    }
    if (ws->a != SIZE_MAX) {
        c.p0 = b->weights + ws->a;
        c.p1 = ws->b != SIZE_MAX ? b->weights + ws->b : NULL;
    }
    int count = 0;
    switch (st->kind) {
    case CNN_CU_STEP_INPUT:
        c.kind = CNN_CU_CALL_COPY;
        c.src = b->input;
        c.s = nchw_view(out);
        c.sf16 = false;
        c.dst = cnn_cu_tensor_addr(b, p, out);
        c.d = cnn_cu_kt(out);
        break;
    case CNN_CU_STEP_OUTPUT:
        c.kind = CNN_CU_CALL_COPY;
        c.dst = b->output;
        c.d = nchw_view(in);
        c.df16 = false;
        break;
    case CNN_CU_STEP_CONV: {
        if (st->aux.buf >= 0) {
            cnn_cu_call_t *pad = &calls[count++];
            *pad = c;
            pad->kind = CNN_CU_CALL_ZERO_PAD;
            pad->dst = cnn_cu_tensor_addr(b, p, &st->aux);
            pad->d = cnn_cu_kt(&st->aux);
            pad->i[0] = st->aux_pad_top;
            pad->i[1] = st->aux_pad_left;
            c.src = pad->dst;
            c.s = pad->d;
        }
        c.kind = CNN_CU_CALL_CONV;
        c.b[0] = st->conv_fused;
        if (n->residual_input >= 0) {
            const cnn_cu_tensor_t *r = &p->values[cnn_graph_resolve(g, n->residual_input)];
            c.src2 = cnn_cu_tensor_addr(b, p, r);
            c.s2 = cnn_cu_kt(r);
        }
        c.act = (int)n->post_act;
        c.alpha = n->post_act_alpha;
        c.beta = n->post_act_beta;
        calls[count++] = c;
        if (!st->conv_fused) {
            /* y = act(y + bias + residual), in place. */
            cnn_cu_call_t *e = &calls[count++];
            *e = c;
            e->kind = CNN_CU_CALL_BIAS_ACT;
            e->s = c.d;
            if (!c.src2)
                e->s2 = c.d;
        }
        return count;
    }
    case CNN_CU_STEP_DENSE:
        if (st->aux.buf >= 0) {
            cnn_cu_call_t *flat = &calls[count++];
            *flat = c;
            flat->kind = CNN_CU_CALL_COPY;
            flat->dst = cnn_cu_tensor_addr(b, p, &st->aux);
            flat->d = nchw_view(in);
            c.src = flat->dst;
            c.s = cnn_cu_kt(&st->aux);
        }
        c.kind = CNN_CU_CALL_DENSE;
        c.b[0] = n->post_act == CNN_ACT_RELU;
        calls[count++] = c;
        if (n->post_act != CNN_ACT_NONE && n->post_act != CNN_ACT_RELU) {
            cnn_cu_call_t *a = &calls[count++];
            *a = c;
            a->kind = CNN_CU_CALL_ACT;
            a->src = c.dst;
            a->s = c.d;
            a->act = (int)n->post_act;
            a->alpha = n->post_act_alpha;
            a->beta = n->post_act_beta;
        }
        return count;
    case CNN_CU_STEP_POOL_CUDNN: c.kind = CNN_CU_CALL_POOL_CUDNN; break;
    case CNN_CU_STEP_POOL: {
        const cnn_pool_params_t *pp = &n->p.pool;
        c.kind = CNN_CU_CALL_POOL;
        int ip[8] = {pp->kh, pp->kw, pp->sh, pp->sw, pp->pad.top, pp->pad.left, pp->pad.bottom - pp->extra_h,
                     pp->pad.right - pp->extra_w};
        memcpy(c.i, ip, sizeof ip);
        c.b[0] = n->op == CNN_OP_MAX_POOL;
        c.b[1] = pp->count_include_pad;
        break;
    }
    case CNN_CU_STEP_GLOBAL_AVG_POOL: c.kind = CNN_CU_CALL_GLOBAL_AVG; break;
    case CNN_CU_STEP_ACT:
        c.kind = CNN_CU_CALL_ACT;
        c.act = act_of(n, &c.alpha, &c.beta);
        break;
    case CNN_CU_STEP_PRELU:
        c.kind = CNN_CU_CALL_PRELU;
        c.i[0] = (int)(ws->a_bytes / sizeof(float));
        break;
    case CNN_CU_STEP_SOFTMAX_CUDNN: c.kind = CNN_CU_CALL_SOFTMAX_CUDNN; break;
    case CNN_CU_STEP_SOFTMAX: c.kind = CNN_CU_CALL_SOFTMAX; break;
    case CNN_CU_STEP_LRN_CUDNN:
    case CNN_CU_STEP_LRN:
        c.kind = st->kind == CNN_CU_STEP_LRN ? CNN_CU_CALL_LRN : CNN_CU_CALL_LRN_CUDNN;
        c.i[0] = n->p.lrn.size;
        c.f[0] = n->p.lrn.alpha;
        c.f[1] = n->p.lrn.beta;
        c.f[2] = n->p.lrn.k;
        break;
    case CNN_CU_STEP_AFFINE: c.kind = CNN_CU_CALL_AFFINE; break;
    case CNN_CU_STEP_CONCAT:
        c.kind = CNN_CU_CALL_CONCAT;
        c.i[0] = st->node;
        return concat_calls(g, p, n, b, &c, calls);
    case CNN_CU_STEP_ADD: {
        const cnn_cu_tensor_t *t2 = &p->values[cnn_graph_resolve(g, n->inputs[1])];
        c.kind = CNN_CU_CALL_ADD;
        c.src2 = cnn_cu_tensor_addr(b, p, t2);
        c.s2 = cnn_cu_kt(t2);
        c.act = (int)n->post_act;
        c.alpha = n->post_act_alpha;
        c.beta = n->post_act_beta;
        break;
    }
    case CNN_CU_STEP_TO_FLAT:
        c.kind = CNN_CU_CALL_COPY;
        c.d = nchw_view(in);
        break;
    case CNN_CU_STEP_ZERO_PAD:
        c.kind = CNN_CU_CALL_ZERO_PAD;
        c.i[0] = n->p.zero_pad.top;
        c.i[1] = n->p.zero_pad.left;
        break;
    case CNN_CU_STEP_MAXOUT:
        c.kind = CNN_CU_CALL_MAXOUT;
        c.i[0] = n->p.maxout.pieces;
        break;
    case CNN_CU_STEP_KIND_COUNT:
        return 0;
    }
    calls[count++] = c;
    return count;
}

cnn_cu_call_t cnn_cu_fetch_call(const cnn_cu_plan_t *p, int node, int image, int count, const cnn_cu_bases_t *b,
                                void *dst)
{
    const cnn_cu_tensor_t *t = &p->values[node];
    bool f16 = p->fmt.dtype == CNN_CU_F16;
    cnn_cu_call_t c;
    memset(&c, 0, sizeof c);
    c.kind = CNN_CU_CALL_COPY;
    c.src = (const unsigned char *)cnn_cu_tensor_addr(b, p, t) +
            (size_t)image * (size_t)t->sn * cnn_cu_dtype_size(p->fmt.dtype);
    c.s = cnn_cu_kt(t);
    c.s.n = count;
    c.sf16 = c.f16 = f16;
    c.dst = dst;
    c.d = nchw_view(t);
    c.d.n = count;
    c.df16 = false;
    return c;
}
