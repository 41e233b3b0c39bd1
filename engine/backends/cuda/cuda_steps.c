/* Preparing and enqueuing the steps of a plan: cuDNN pooling, softmax and
 * LRN, and the own kernels; convolutions and dense layers are in cuda_conv.c. */
#include <stdlib.h>
#include <string.h>

#include "cuda_session.h"

void *cnn_cu_tensor_ptr(const cnn_backend_session_t *s, const cnn_cu_plan_t *p, const cnn_cu_tensor_t *t)
{
    if (t->buf == CNN_CU_BUF_INPUT)
        return s->in_dev;
    return s->arena + p->bufs[t->buf].offset;
}

cnn_cu_kt_t cnn_cu_kt(const cnn_cu_tensor_t *t)
{
    return (cnn_cu_kt_t){.n = t->n, .c = t->c, .h = t->h, .w = t->w, .cp = t->cp, .sn = t->sn, .sc = t->sc,
                         .sh = t->sh, .sw = t->sw, .nhwc = !t->flat && t->layout == CNN_CU_NHWC};
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

void cnn_cu_batch_destroy(cnn_cu_batch_t *b)
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
        if (ex->mm)
            cublasLtMatmulDescDestroy(ex->mm);
        if (ex->la)
            cublasLtMatrixLayoutDestroy(ex->la);
        if (ex->lb)
            cublasLtMatrixLayoutDestroy(ex->lb);
        if (ex->lc)
            cublasLtMatrixLayoutDestroy(ex->lc);
    }
    if (b->graph)
        cudaGraphExecDestroy(b->graph);
    free(b->ex);
    cnn_cu_plan_free(b->plan);
    free(b);
}

/* Activation code and parameters of an eltwise node. */
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

/* Concat: the inputs in launches of up to CNN_CU_CONCAT_MAX, each writing its
 * channel slice of the output; the last one also zeroes padded channels. */
static cudaError_t concat_enqueue(const cnn_backend_session_t *s, const cnn_cu_plan_t *p, const cnn_node_t *n,
                                  void *y, const cnn_cu_tensor_t *out)
{
    cnn_cu_concat_args_t a;
    int offset = 0;
    bool f16 = p->fmt.dtype == CNN_CU_F16;
    for (int k0 = 0; k0 < n->num_inputs; k0 += CNN_CU_CONCAT_MAX) {
        memset(&a, 0, sizeof a);
        a.total_c = out->c;
        for (int k = k0; k < n->num_inputs && k < k0 + CNN_CU_CONCAT_MAX; k++) {
            const cnn_cu_tensor_t *t = &p->values[cnn_graph_resolve(s->g, n->inputs[k])];
            a.src[a.count] = cnn_cu_tensor_ptr(s, p, t);
            a.s[a.count] = cnn_cu_kt(t);
            a.offsets[a.count] = offset;
            offset += t->c;
            a.count++;
        }
        a.zero_tail = k0 + CNN_CU_CONCAT_MAX >= n->num_inputs;
        cudaError_t e = cnn_cu_k_concat(&a, y, cnn_cu_kt(out), f16, s->compute);
        if (e != cudaSuccess)
            return e;
    }
    return cudaSuccess;
}

static cnn_status_t step_enqueue(cnn_backend_session_t *s, const cnn_cu_plan_t *p, const cnn_cu_step_t *stp,
                                 const cnn_cu_step_exec_t *ex, cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    const cnn_node_t *n = &s->g->nodes[stp->node];
    const cnn_cu_tensor_t *in = stp->in >= 0 ? &p->values[stp->in] : NULL, *out = &p->values[stp->node];
    bool f16 = p->fmt.dtype == CNN_CU_F16;
    const float one = 1.0f, zero = 0.0f;
    const void *x = in ? cnn_cu_tensor_ptr(s, p, in) : NULL;
    void *y = stp->kind == CNN_CU_STEP_OUTPUT || stp->kind == CNN_CU_STEP_INPUT ? NULL : cnn_cu_tensor_ptr(s, p, out);
    const cnn_cu_wslot_t *ws = &s->weights->layout_info.slots[stp->node];
    const unsigned char *wb = s->weights->dev;
    cnn_cu_kt_t ik = in ? cnn_cu_kt(in) : (cnn_cu_kt_t){0}, ok = cnn_cu_kt(out);
    float alpha, beta;
    switch (stp->kind) {
    case CNN_CU_STEP_INPUT: {
        cnn_cu_tensor_t staged;
        cnn_cu_tensor_init(&staged, out->n, out->c, out->h, out->w, false, CNN_CU_NCHW, 1);
        CNN_CU_TRY(err, cnn_cu_k_copy(s->in_dev, cnn_cu_kt(&staged), false, cnn_cu_tensor_ptr(s, p, out), ok, f16,
                                      s->compute));
        break;
    }
    case CNN_CU_STEP_OUTPUT: {
        /* Dense fp32 [n, numel] in CHW order: the source's shape, NCHW strides. */
        cnn_cu_tensor_t staged;
        cnn_cu_tensor_init(&staged, in->n, in->c, in->h, in->w, false, CNN_CU_NCHW, 1);
        if (in->flat)
            cnn_cu_tensor_init(&staged, in->n, in->c, 1, 1, false, CNN_CU_NCHW, 1);
        CNN_CU_TRY(err, cnn_cu_k_copy(x, ik, f16, s->out_dev, cnn_cu_kt(&staged), false, s->compute));
        break;
    }
    case CNN_CU_STEP_CONV: return cnn_cu_conv_enqueue(s, p, stp, ex, err);
    case CNN_CU_STEP_DENSE: return cnn_cu_dense_enqueue(s, p, stp, ex, err);
    case CNN_CU_STEP_POOL_CUDNN:
        CNN_DNN_TRY(err, cudnnPoolingForward(s->dnn, ex->pool, &one, ex->x, x, &zero, ex->y, y));
        break;
    case CNN_CU_STEP_POOL:
        CNN_CU_TRY(err, cnn_cu_k_pool(x, ik, y, ok, n->p.pool.kh, n->p.pool.kw, n->p.pool.sh, n->p.pool.sw,
                                      n->p.pool.pad.top, n->p.pool.pad.left, n->op == CNN_OP_MAX_POOL,
                                      n->p.pool.count_include_pad, f16, s->compute));
        break;
    case CNN_CU_STEP_GLOBAL_AVG_POOL: CNN_CU_TRY(err, cnn_cu_k_global_avg(x, ik, y, ok, f16, s->compute)); break;
    case CNN_CU_STEP_ACT: {
        int act = act_of(n, &alpha, &beta);
        CNN_CU_TRY(err, cnn_cu_k_act(x, ik, y, ok, act, alpha, beta, f16, s->compute));
        break;
    }
    case CNN_CU_STEP_PRELU:
        CNN_CU_TRY(err, cnn_cu_k_prelu(x, ik, y, ok, (const float *)(wb + ws->a), (int)(ws->a_bytes / sizeof(float)),
                                       f16, s->compute));
        break;
    case CNN_CU_STEP_SOFTMAX_CUDNN:
        CNN_DNN_TRY(err, cudnnSoftmaxForward(s->dnn, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL, &one, ex->x, x,
                                             &zero, ex->y, y));
        break;
    case CNN_CU_STEP_SOFTMAX: CNN_CU_TRY(err, cnn_cu_k_softmax(x, ik, y, ok, f16, s->compute)); break;
    case CNN_CU_STEP_LRN_CUDNN:
        CNN_DNN_TRY(err, cudnnLRNCrossChannelForward(s->dnn, ex->lrn, CUDNN_LRN_CROSS_CHANNEL_DIM1, &one, ex->x, x,
                                                     &zero, ex->y, y));
        break;
    case CNN_CU_STEP_LRN:
        CNN_CU_TRY(err, cnn_cu_k_lrn(x, ik, y, ok, n->p.lrn.size, n->p.lrn.alpha, n->p.lrn.beta, n->p.lrn.k, f16,
                                     s->compute));
        break;
    case CNN_CU_STEP_AFFINE:
        CNN_CU_TRY(err, cnn_cu_k_affine(x, ik, y, ok, (const float *)(wb + ws->a), (const float *)(wb + ws->b), f16,
                                        s->compute));
        break;
    case CNN_CU_STEP_CONCAT: CNN_CU_TRY(err, concat_enqueue(s, p, n, y, out)); break;
    case CNN_CU_STEP_ADD: {
        const cnn_cu_tensor_t *b2 = &p->values[cnn_graph_resolve(s->g, n->inputs[1])];
        CNN_CU_TRY(err, cnn_cu_k_add(x, ik, cnn_cu_tensor_ptr(s, p, b2), cnn_cu_kt(b2), y, ok, (int)n->post_act,
                                     n->post_act_alpha, n->post_act_beta, f16, s->compute));
        break;
    }
    case CNN_CU_STEP_TO_FLAT: {
        cnn_cu_tensor_t view;
        cnn_cu_tensor_init(&view, in->n, in->c, in->h, in->w, false, CNN_CU_NCHW, 1);
        CNN_CU_TRY(err, cnn_cu_k_copy(x, ik, f16, y, cnn_cu_kt(&view), f16, s->compute));
        break;
    }
    case CNN_CU_STEP_ZERO_PAD:
        CNN_CU_TRY(err, cnn_cu_k_zero_pad(x, ik, y, ok, n->p.zero_pad.top, n->p.zero_pad.left, f16, s->compute));
        break;
    case CNN_CU_STEP_MAXOUT:
        CNN_CU_TRY(err, cnn_cu_k_maxout(x, ik, y, ok, n->p.maxout.pieces, f16, s->compute));
        break;
    case CNN_CU_STEP_KIND_COUNT:
        return cnn_error_set(err, CNN_E_BACKEND, "unknown CUDA step");
    }
done:
    return st;
}

cnn_status_t cnn_cu_batch_enqueue(cnn_backend_session_t *s, cnn_cu_batch_t *b, cnn_error_t *err)
{
    for (int i = 0; i < b->plan->num_steps; i++) {
        cnn_status_t st = step_enqueue(s, b->plan, &b->plan->steps[i], &b->ex[i], err);
        if (st != CNN_OK) {
            cnn_error_prefix(err, "layer %s", s->g->nodes[b->plan->steps[i].node].name);
            return st;
        }
    }
    return CNN_OK;
}
