/* A prepared batch: the cuDNN descriptors of each step (convolutions and
 * dense layers in cuda_conv.c), and enqueuing the calls the plan lists for
 * each step (cuda_calls.c) as kernel launches and cuDNN/cuBLASLt calls. */
#include <stdlib.h>
#include <string.h>

#include "cuda_session.h"

cnn_cu_bases_t cnn_cu_bases(const cnn_backend_session_t *s)
{
    cnn_cu_bases_t b = {.arena = s->arena, .input = s->in_dev, .output = s->out_dev, .weights = s->weights->dev};
    return b;
}

static cnn_status_t pool_prepare(const cnn_cu_plan_t *p, const cnn_node_t *n, const cnn_cu_step_t *stp,
                                 cnn_cu_step_exec_t *ex, cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    const cnn_pool_params_t *pp = &n->p.pool;
    cudnnPoolingMode_t mode = n->op == CNN_OP_MAX_POOL   ? CUDNN_POOLING_MAX
                              : pp->count_include_pad ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                                                      : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
    CNN_DNN_TRY(err, cudnnCreatePoolingDescriptor(&ex->pool));
    CNN_DNN_TRY(err, cudnnSetPooling2dDescriptor(ex->pool, mode, CUDNN_NOT_PROPAGATE_NAN, pp->kh, pp->kw, pp->pad.top,
                                                 pp->pad.left, pp->sh, pp->sw));
    (void)p;
    (void)stp;
done:
    return st;
}

/* Creates the descriptors of one step (cuDNN ops need x and y). */
static cnn_status_t step_prepare(cnn_backend_session_t *s, cnn_cu_batch_t *b, int i, cnn_error_t *err)
{
    const cnn_cu_plan_t *p = b->plan;
    const cnn_cu_step_t *stp = &p->steps[i];
    cnn_cu_step_exec_t *ex = &b->ex[i];
    const cnn_node_t *n = &s->g->nodes[stp->node];
    cnn_status_t st = CNN_OK;
    switch (stp->kind) {
    case CNN_CU_STEP_CONV: return cnn_cu_conv_prepare(s, p, stp, ex, err);
    case CNN_CU_STEP_DENSE: return cnn_cu_dense_prepare(s, p, stp, ex, err);
    case CNN_CU_STEP_POOL_CUDNN:
    case CNN_CU_STEP_SOFTMAX_CUDNN:
    case CNN_CU_STEP_LRN_CUDNN:
        if ((st = cnn_cu_tensor_desc(&p->fmt, &p->values[stp->in], &ex->x, err)) != CNN_OK ||
            (st = cnn_cu_tensor_desc(&p->fmt, &p->values[stp->node], &ex->y, err)) != CNN_OK)
            return st;
        if (stp->kind == CNN_CU_STEP_POOL_CUDNN)
            return pool_prepare(p, n, stp, ex, err);
        if (stp->kind == CNN_CU_STEP_LRN_CUDNN) {
            CNN_DNN_TRY(err, cudnnCreateLRNDescriptor(&ex->lrn));
            CNN_DNN_TRY(err, cudnnSetLRNDescriptor(ex->lrn, (unsigned)n->p.lrn.size, n->p.lrn.alpha, n->p.lrn.beta,
                                                   n->p.lrn.k));
        }
        break;
    default:
        break;
    }
done:
    return st;
}

cnn_status_t cnn_cu_batch_prepare(cnn_backend_session_t *s, cnn_cu_batch_t *b, cnn_error_t *err)
{
    b->ex = calloc((size_t)b->plan->num_steps, sizeof *b->ex);
    if (!b->ex)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory preparing the CUDA session");
    for (int i = 0; i < b->plan->num_steps; i++) {
        cnn_status_t st = step_prepare(s, b, i, err);
        if (st != CNN_OK) {
            cnn_error_prefix(err, "layer %s", s->g->nodes[b->plan->steps[i].node].name);
            return st;
        }
    }
    return CNN_OK;
}

void cnn_cu_batch_destroy(cnn_cu_batch_t *b, const cnn_cu_lt_api_t *lt)
{
    if (!b)
        return;
    for (int i = 0; b->ex && i < b->plan->num_steps; i++) {
        cnn_cu_step_exec_t *ex = &b->ex[i];
        if (ex->x)
            cudnnDestroyTensorDescriptor(ex->x);
        if (ex->y)
            cudnnDestroyTensorDescriptor(ex->y);
        if (ex->bias)
            cudnnDestroyTensorDescriptor(ex->bias);
        if (ex->filter)
            cudnnDestroyFilterDescriptor(ex->filter);
        if (ex->conv)
            cudnnDestroyConvolutionDescriptor(ex->conv);
        if (ex->act)
            cudnnDestroyActivationDescriptor(ex->act);
        if (ex->pool)
            cudnnDestroyPoolingDescriptor(ex->pool);
        if (ex->lrn)
            cudnnDestroyLRNDescriptor(ex->lrn);
        if (lt && ex->mm)
            lt->desc_destroy(ex->mm);
        if (lt && ex->la)
            lt->layout_destroy(ex->la);
        if (lt && ex->lb)
            lt->layout_destroy(ex->lb);
        if (lt && ex->lc)
            lt->layout_destroy(ex->lc);
    }
    if (b->graph)
        cudaGraphExecDestroy(b->graph);
    free(b->ex);
    cnn_cu_plan_free(b->plan);
    free(b);
}

/* Enqueues one call on the compute stream. */
static cnn_status_t call_run(cnn_backend_session_t *s, const cnn_cu_step_exec_t *ex, const cnn_cu_call_t *c,
                             cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    const float one = 1.0f, zero = 0.0f;
    cudaStream_t q = s->compute;
    switch (c->kind) {
    case CNN_CU_CALL_COPY: CNN_CU_TRY(err, cnn_cu_k_copy(c->src, c->s, c->sf16, c->dst, c->d, c->df16, q)); break;
    case CNN_CU_CALL_ZERO_PAD:
        CNN_CU_TRY(err, cnn_cu_k_zero_pad(c->src, c->s, c->dst, c->d, c->i[0], c->i[1], c->f16, q));
        break;
    case CNN_CU_CALL_ACT:
        CNN_CU_TRY(err, cnn_cu_k_act(c->src, c->s, c->dst, c->d, c->act, c->alpha, c->beta, c->f16, q));
        break;
    case CNN_CU_CALL_BIAS_ACT:
        CNN_CU_TRY(err, cnn_cu_k_bias_act(c->dst, c->d, c->p1, c->src2, c->s2, c->act, c->alpha, c->beta, c->f16, q));
        break;
    case CNN_CU_CALL_ADD:
        CNN_CU_TRY(err, cnn_cu_k_add(c->src, c->s, c->src2, c->s2, c->dst, c->d, c->act, c->alpha, c->beta, c->f16, q));
        break;
    case CNN_CU_CALL_AFFINE:
        CNN_CU_TRY(err, cnn_cu_k_affine(c->src, c->s, c->dst, c->d, c->p0, c->p1, c->f16, q));
        break;
    case CNN_CU_CALL_PRELU:
        CNN_CU_TRY(err, cnn_cu_k_prelu(c->src, c->s, c->dst, c->d, c->p0, c->i[0], c->f16, q));
        break;
    case CNN_CU_CALL_POOL:
        CNN_CU_TRY(err, cnn_cu_k_pool(c->src, c->s, c->dst, c->d, c->i[0], c->i[1], c->i[2], c->i[3], c->i[4], c->i[5],
                                      c->i[6], c->i[7], c->b[0], c->b[1], c->f16, q));
        break;
    case CNN_CU_CALL_GLOBAL_AVG: CNN_CU_TRY(err, cnn_cu_k_global_avg(c->src, c->s, c->dst, c->d, c->f16, q)); break;
    case CNN_CU_CALL_SOFTMAX: CNN_CU_TRY(err, cnn_cu_k_softmax(c->src, c->s, c->dst, c->d, c->f16, q)); break;
    case CNN_CU_CALL_LRN:
        CNN_CU_TRY(err, cnn_cu_k_lrn(c->src, c->s, c->dst, c->d, c->i[0], c->f[0], c->f[1], c->f[2], c->f16, q));
        break;
    case CNN_CU_CALL_MAXOUT: CNN_CU_TRY(err, cnn_cu_k_maxout(c->src, c->s, c->dst, c->d, c->i[0], c->f16, q)); break;
    case CNN_CU_CALL_CONCAT: CNN_CU_TRY(err, cnn_cu_k_concat(&c->concat, c->dst, c->d, c->f16, q)); break;
    case CNN_CU_CALL_CONV: return cnn_cu_conv_run(s, ex, c, err);
    case CNN_CU_CALL_DENSE: return cnn_cu_dense_run(s, ex, c, err);
    case CNN_CU_CALL_POOL_CUDNN:
        CNN_DNN_TRY(err, cudnnPoolingForward(s->dnn, ex->pool, &one, ex->x, c->src, &zero, ex->y, c->dst));
        break;
    case CNN_CU_CALL_SOFTMAX_CUDNN:
        CNN_DNN_TRY(err, cudnnSoftmaxForward(s->dnn, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL, &one, ex->x,
                                             c->src, &zero, ex->y, c->dst));
        break;
    case CNN_CU_CALL_LRN_CUDNN:
        CNN_DNN_TRY(err, cudnnLRNCrossChannelForward(s->dnn, ex->lrn, CUDNN_LRN_CROSS_CHANNEL_DIM1, &one, ex->x, c->src,
                                                     &zero, ex->y, c->dst));
        break;
    }
done:
    return st;
}

/* Enqueues the copies of fetches [*next, ...) whose node is below `before`;
 * *at is the next free float of fetch_dev. */
static cnn_status_t fetch_flush(cnn_backend_session_t *s, const cnn_cu_batch_t *b, const cnn_cu_bases_t *bases,
                                const cnn_backend_fetch_t *fetches, int num_fetches, int *next, int before,
                                float *fetch_dev, size_t *at, cnn_error_t *err)
{
    for (; *next < num_fetches && fetches[*next].node < before; (*next)++) {
        const cnn_backend_fetch_t *f = &fetches[*next];
        cnn_cu_call_t c = cnn_cu_fetch_call(b->plan, f->node, f->image, f->count, bases, fetch_dev + *at);
        *at += (size_t)f->count * cnn_node_numel(&s->g->nodes[f->node]);
        cnn_status_t st = call_run(s, NULL, &c, err);
        if (st != CNN_OK)
            return st;
    }
    return CNN_OK;
}

cnn_status_t cnn_cu_batch_enqueue(cnn_backend_session_t *s, cnn_cu_batch_t *b, const cnn_backend_fetch_t *fetches,
                                  int num_fetches, float *fetch_dev, cnn_error_t *err)
{
    cnn_cu_call_t calls[CNN_CU_CALLS_MAX];
    cnn_cu_bases_t bases = cnn_cu_bases(s);
    int next = 0;
    size_t at = 0;
    cnn_status_t st = CNN_OK;
    for (int i = 0; i < b->plan->num_steps && st == CNN_OK; i++) {
        const cnn_cu_step_t *stp = &b->plan->steps[i];
        /* Every value before this step's node is complete and still intact. */
        int before = stp->kind == CNN_CU_STEP_OUTPUT ? s->g->num_nodes : stp->node;
        if ((st = fetch_flush(s, b, &bases, fetches, num_fetches, &next, before, fetch_dev, &at, err)) != CNN_OK)
            break;
        int n = cnn_cu_step_calls(s->g, b->plan, &s->weights->layout_info, stp, &bases, calls);
        for (int k = 0; k < n && st == CNN_OK; k++)
            if ((st = call_run(s, &b->ex[i], &calls[k], err)) != CNN_OK)
                cnn_error_prefix(err, "layer %s", s->g->nodes[stp->node].name);
    }
    if (st == CNN_OK)
        st = fetch_flush(s, b, &bases, fetches, num_fetches, &next, s->g->num_nodes, fetch_dev, &at, err);
    return st;
}
