/* Convolutions (cuDNN) and dense layers (cuBLASLt) of the CUDA backend.
 *
 * A convolution with a fused relu runs as one
 * cudnnConvolutionBiasActivationForward: y = relu(conv(x) + bias + z), z the
 * residual (alpha2 = 1) or y itself with alpha2 = 0. Other activations run
 * cudnnConvolutionForward and the own bias+residual+activation kernel.
 * Algorithms are benchmarked once per convolution key (cudnnFind...Ex within
 * the session's workspace bound; CNN_CUDA_CONV_BENCHMARK=0 takes cuDNN's
 * heuristic choice instead) and kept in a per-device cache. cuDNN may refuse
 * the fused call for an algorithm: a trial call at preparation finds that
 * out, and such a layer runs unfused. */
#include <pthread.h>
#include <string.h>

#include "cuda_session.h"

#define CNN_CU_MAX_DEVICES 64

static pthread_mutex_t algo_lock = PTHREAD_MUTEX_INITIALIZER;
static cnn_cu_algo_cache_t algo_caches[CNN_CU_MAX_DEVICES];

static cudnnDataType_t dnn_type(const cnn_cu_format_t *f)
{
    return f->dtype == CNN_CU_F16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
}

static cudnnTensorFormat_t dnn_format(const cnn_cu_format_t *f)
{
    return f->layout == CNN_CU_NHWC ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
}

cnn_status_t cnn_cu_tensor_desc(const cnn_cu_format_t *fmt, const cnn_cu_tensor_t *t, cudnnTensorDescriptor_t *out,
                                cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    CNN_DNN_TRY(err, cudnnCreateTensorDescriptor(out));
    CNN_DNN_TRY(err, cudnnSetTensor4dDescriptor(*out, t->flat ? CUDNN_TENSOR_NCHW : dnn_format(fmt), dnn_type(fmt),
                                                t->n, t->cp, t->h, t->w));
done:
    return st;
}

/* Benchmarks the algorithms for ex's descriptors (or takes the cached
 * choice) and records it in ex. */
static cnn_status_t choose_algo(cnn_backend_session_t *s, const cnn_cu_plan_t *p, const cnn_cu_step_t *stp,
                                cnn_cu_step_exec_t *ex, const void *x, const void *w, void *y, cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    cnn_cu_conv_key_t key;
    cnn_cu_algo_t algo;
    cnn_cu_conv_key_make(p, s->g, stp, &key);
    int dev = s->device < CNN_CU_MAX_DEVICES ? s->device : CNN_CU_MAX_DEVICES - 1;
    pthread_mutex_lock(&algo_lock);
    /* A choice made by a session with a larger workspace may not fit this one's. */
    bool cached = cnn_cu_algo_cache_get(&algo_caches[dev], &key, &algo) && algo.workspace <= s->workspace_size;
    pthread_mutex_unlock(&algo_lock);
    if (!cached) {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        int got = 0;
        if (s->conv_benchmark)
            CNN_DNN_TRY(err, cudnnFindConvolutionForwardAlgorithmEx(s->dnn, ex->x, x, ex->filter, w, ex->conv, ex->y,
                                                                     y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf,
                                                                     s->workspace, s->workspace_size));
        else
            CNN_DNN_TRY(err, cudnnGetConvolutionForwardAlgorithm_v7(s->dnn, ex->x, ex->filter, ex->conv, ex->y,
                                                                     CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf));
        int pick = -1;
        for (int i = 0; i < got && pick < 0; i++)
            if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= s->workspace_size)
                pick = i;
        if (pick < 0) {
            st = cnn_error_set(err, CNN_E_UNSUPPORTED, "layer %s: cuDNN has no convolution algorithm for it within "
                               "a %zu-byte workspace", s->g->nodes[stp->node].name, s->workspace_size);
            goto done;
        }
        algo = (cnn_cu_algo_t){.algo = (int)perf[pick].algo, .workspace = perf[pick].memory};
        pthread_mutex_lock(&algo_lock);
        st = cnn_cu_algo_cache_put(&algo_caches[dev], &key, &algo);
        pthread_mutex_unlock(&algo_lock);
        if (st != CNN_OK) {
            st = cnn_error_set(err, st, "out of memory caching a convolution algorithm");
            goto done;
        }
    }
    ex->algo = (cudnnConvolutionFwdAlgo_t)algo.algo;
    ex->algo_ws = algo.workspace;
done:
    return st;
}

cnn_status_t cnn_cu_conv_prepare(cnn_backend_session_t *s, const cnn_cu_plan_t *p, const cnn_cu_step_t *stp,
                                 cnn_cu_step_exec_t *ex, cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    const cnn_node_t *n = &s->g->nodes[stp->node];
    const cnn_conv_params_t *c = &n->p.conv;
    const cnn_cu_tensor_t *in = stp->aux.buf >= 0 ? &stp->aux : &p->values[stp->in];
    const cnn_cu_tensor_t *out = &p->values[stp->node];
    const cnn_cu_wslot_t *ws = &s->weights->layout_info.slots[stp->node];
    bool pre = stp->aux.buf >= 0;
    int cpg = in->cp / c->groups;
    if (c->groups > 1)
        cpg = in->c / c->groups;
    int dims[4];
    if ((st = cnn_cu_tensor_desc(&p->fmt, in, &ex->x, err)) != CNN_OK ||
        (st = cnn_cu_tensor_desc(&p->fmt, out, &ex->y, err)) != CNN_OK)
        goto done;
    CNN_DNN_TRY(err, cudnnCreateTensorDescriptor(&ex->bias));
    CNN_DNN_TRY(err, cudnnSetTensor4dDescriptor(ex->bias, dnn_format(&p->fmt), dnn_type(&p->fmt), 1, out->cp, 1, 1));
    CNN_DNN_TRY(err, cudnnCreateFilterDescriptor(&ex->filter));
    CNN_DNN_TRY(err, cudnnSetFilter4dDescriptor(ex->filter, dnn_type(&p->fmt), dnn_format(&p->fmt), out->cp, cpg, c->kh,
                                                c->kw));
    CNN_DNN_TRY(err, cudnnCreateConvolutionDescriptor(&ex->conv));
    CNN_DNN_TRY(err, cudnnSetConvolution2dDescriptor(ex->conv, pre ? 0 : c->pad.top, pre ? 0 : c->pad.left, c->sh,
                                                     c->sw, c->dh, c->dw, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CNN_DNN_TRY(err, cudnnSetConvolutionGroupCount(ex->conv, c->groups));
    CNN_DNN_TRY(err, cudnnSetConvolutionMathType(ex->conv, p->fmt.math == CNN_CU_MATH_FMA ? CUDNN_FMA_MATH
                                                                                           : CUDNN_TENSOR_OP_MATH));
    CNN_DNN_TRY(err, cudnnGetConvolution2dForwardOutputDim(ex->conv, ex->x, ex->filter, &dims[0], &dims[1], &dims[2],
                                                           &dims[3]));
    if (dims[0] != out->n || dims[1] != out->cp || dims[2] != out->h || dims[3] != out->w) {
        st = cnn_error_set(err, CNN_E_SHAPE, "layer %s: cuDNN computes a %dx%dx%dx%d output, the graph %dx%dx%dx%d",
                           n->name, dims[0], dims[1], dims[2], dims[3], out->n, out->cp, out->h, out->w);
        goto done;
    }
    if (stp->conv_fused) {
        CNN_DNN_TRY(err, cudnnCreateActivationDescriptor(&ex->act));
        CNN_DNN_TRY(err, cudnnSetActivationDescriptor(ex->act, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));
    }
    cnn_cu_bases_t bases = cnn_cu_bases(s);
    void *x = cnn_cu_tensor_addr(&bases, p, in), *y = cnn_cu_tensor_addr(&bases, p, out);
    if ((st = choose_algo(s, p, stp, ex, x, s->weights->dev + ws->a, y, err)) != CNN_OK)
        goto done;
    if (stp->conv_fused) {
        /* Trial run on the arena (its contents do not matter yet). */
        const float one = 1.0f, zero = 0.0f;
        cudnnStatus_t ds = cudnnConvolutionBiasActivationForward(
            s->dnn, &one, ex->x, x, ex->filter, s->weights->dev + ws->a, ex->conv, ex->algo,
            s->workspace, ex->algo_ws, &zero, ex->y, y, ex->bias, s->weights->dev + ws->b, ex->act, ex->y, y);
        ex->unfused = ds != CUDNN_STATUS_SUCCESS;
        if (ex->unfused)
            cudaGetLastError();
    }
done:
    return st;
}

cnn_status_t cnn_cu_conv_run(cnn_backend_session_t *s, const cnn_cu_step_exec_t *ex, const cnn_cu_call_t *c,
                             cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    const float one = 1.0f, zero = 0.0f;
    if (c->b[0] && !ex->unfused) {
        /* y = relu(conv(x) + bias + z): z the residual (alpha2 = 1) or y itself with alpha2 = 0. */
        const float alpha2 = c->src2 ? 1.0f : 0.0f;
        CNN_DNN_TRY(err, cudnnConvolutionBiasActivationForward(s->dnn, &one, ex->x, c->src, ex->filter, c->p0, ex->conv,
                                                               ex->algo, s->workspace, ex->algo_ws, &alpha2, ex->y,
                                                               c->src2 ? c->src2 : c->dst, ex->bias, c->p1, ex->act,
                                                               ex->y, c->dst));
        goto done;
    }
    CNN_DNN_TRY(err, cudnnConvolutionForward(s->dnn, &one, ex->x, c->src, ex->filter, c->p0, ex->conv, ex->algo,
                                             s->workspace, ex->algo_ws, &zero, ex->y, c->dst));
    if (c->b[0]) /* the fused call was refused for this layer: its epilogue as a kernel */
        CNN_CU_TRY(err, cnn_cu_k_bias_act(c->dst, c->d, c->p1, c->src2, c->src2 ? c->s2 : c->d, c->act, c->alpha,
                                          c->beta, c->f16, s->compute));
done:
    return st;
}

cnn_status_t cnn_cu_dense_prepare(cnn_backend_session_t *s, const cnn_cu_plan_t *p, const cnn_cu_step_t *stp,
                                  cnn_cu_step_exec_t *ex, cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    const cnn_node_t *n = &s->g->nodes[stp->node];
    const cnn_cu_wslot_t *ws = &s->weights->layout_info.slots[stp->node];
    const cnn_cu_tensor_t *in = stp->aux.buf >= 0 ? &stp->aux : &p->values[stp->in];
    uint64_t m = (uint64_t)n->p.dense.out_features, k = (uint64_t)in->sn, batch = (uint64_t)p->batch;
    bool f16 = p->fmt.dtype == CNN_CU_F16;
    cudaDataType_t type = f16 ? CUDA_R_16F : CUDA_R_32F;
    /* CUBLAS_COMPUTE_32F never uses TF32; fp16 inputs accumulate in fp32. */
    cublasComputeType_t compute = p->fmt.math == CNN_CU_MATH_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                   : CUBLAS_COMPUTE_32F;
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    cublasLtEpilogue_t epi = n->post_act == CNN_ACT_RELU ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
    const void *bias = s->weights->dev + ws->b;
    const cnn_cu_lt_api_t *lt = s->lt_api;
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t result;
    int got = 0;
    if (k != cnn_node_numel(&s->g->nodes[stp->in])) {
        st = cnn_error_set(err, CNN_E_SHAPE, "layer %s: dense input is not contiguous", n->name);
        goto done;
    }
    /* Row-major Y[N,O] = X[N,F] W[O,F]^T is column-major Y^T (O×N) = op(A) B
     * with A = W stored F×O (ld F, transposed), B = X stored F×N (ld F). */
    CNN_LT_TRY(err, lt->desc_create(&ex->mm, compute, CUDA_R_32F));
    CNN_LT_TRY(err, lt->desc_set(ex->mm, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    CNN_LT_TRY(err, lt->desc_set(ex->mm, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    CNN_LT_TRY(err, lt->desc_set(ex->mm, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    CNN_LT_TRY(err, lt->desc_set(ex->mm, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
    CNN_LT_TRY(err, lt->layout_create(&ex->la, type, k, m, (int64_t)k));
    CNN_LT_TRY(err, lt->layout_create(&ex->lb, type, k, batch, (int64_t)k));
    CNN_LT_TRY(err, lt->layout_create(&ex->lc, type, m, batch, (int64_t)m));
    CNN_LT_TRY(err, lt->pref_create(&pref));
    CNN_LT_TRY(err, lt->pref_set(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                         &s->lt_workspace_size, sizeof s->lt_workspace_size));
    CNN_LT_TRY(err, lt->heuristic(s->lt, ex->mm, ex->la, ex->lb, ex->lc, ex->lc, pref, 1, &result,
                                                   &got));
    if (got < 1) {
        st = cnn_error_set(err, CNN_E_UNSUPPORTED, "layer %s: cuBLASLt has no algorithm for a %llux%llux%llu product",
                           n->name, (unsigned long long)m, (unsigned long long)batch, (unsigned long long)k);
        goto done;
    }
    ex->mm_algo = result.algo;
done:
    if (pref)
        lt->pref_destroy(pref);
    return st;
}

cnn_status_t cnn_cu_dense_run(cnn_backend_session_t *s, const cnn_cu_step_exec_t *ex, const cnn_cu_call_t *c,
                              cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    const float one = 1.0f, zero = 0.0f;
    CNN_LT_TRY(err, s->lt_api->matmul(s->lt, ex->mm, &one, c->p0, ex->la, c->src, ex->lb, &zero, c->dst, ex->lc, c->dst,
                                   ex->lc, &ex->mm_algo, s->lt_workspace, s->lt_workspace_size, s->compute));
done:
    return st;
}
