/* The CUDA backend's session: device handles, streams, the shared weights,
 * the activation arena, staging buffers and one prepared plan per batch size
 * (cuDNN/cuBLASLt descriptors, chosen algorithms, a captured CUDA graph). */
#ifndef CNN_CUDA_SESSION_H
#define CNN_CUDA_SESSION_H

#include "backend.h"
#include "cuda_calls.h"
#include "cuda_check.h"
#include "cuda_kernels.h"
#include "cuda_lt.h"
#include "cuda_pack.h"
#include "cuda_plan.h"
#include "cuda_policy.h"

/* Packed weights of one (graph, device, storage format), uploaded once and
 * shared by every session that runs that graph there (cuda_weights.c). */
typedef struct cnn_cu_weights {
    const cnn_graph_t *g;
    int device;
    cnn_cu_dtype_t dtype;
    cnn_cu_layout_t layout;
    int refs;
    unsigned char *dev; /* layout_info.total bytes, then `guard` bytes of 0xA5 */
    size_t guard;
    cnn_cu_wlayout_t layout_info;
    struct cnn_cu_weights *next;
} cnn_cu_weights_t;

cnn_status_t cnn_cu_weights_acquire(const cnn_graph_t *g, int device, const cnn_cu_format_t *fmt, size_t guard_bytes,
                                    cnn_cu_weights_t **out, cnn_error_t *err);
void cnn_cu_weights_release(cnn_cu_weights_t *w);

/* Device objects of one step. */
typedef struct cnn_cu_step_exec {
    cudnnTensorDescriptor_t x, y, bias;
    cudnnFilterDescriptor_t filter;
    cudnnConvolutionDescriptor_t conv;
    cudnnActivationDescriptor_t act;
    cudnnPoolingDescriptor_t pool;
    cudnnLRNDescriptor_t lrn;
    cudnnConvolutionFwdAlgo_t algo;
    size_t algo_ws;
    bool unfused; /* cuDNN refused the fused call: conv, then the bias+relu kernel */
    cublasLtMatmulDesc_t mm;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulAlgo_t mm_algo;
} cnn_cu_step_exec_t;

typedef struct cnn_cu_batch {
    cnn_cu_plan_t *plan;
    cnn_cu_step_exec_t *ex; /* per plan step */
    cudaGraphExec_t graph;
    int eager_runs;
    bool capture_failed;
} cnn_cu_batch_t;

struct cnn_backend_session {
    const cnn_graph_t *g;
    cnn_session_options_t opts;
    cnn_cu_format_t fmt;
    int device;
    cudaStream_t compute, copy;
    cudaEvent_t copied;
    cudnnHandle_t dnn;
    const cnn_cu_lt_api_t *lt_api;
    cublasLtHandle_t lt;
    cnn_cu_weights_t *weights;
    cnn_cu_batch_t **batches; /* [max_batch + 1], prepared lazily */
    unsigned char *arena;
    size_t arena_size;
    void *workspace, *lt_workspace;
    size_t workspace_size, lt_workspace_size;
    float *in_dev, *out_dev;   /* fp32 staging on the device, max_batch images */
    float *in_host, *out_host; /* pinned */
    float *fetch_dev;          /* feature-map copies of the current run */
    size_t fetch_floats;
    size_t guard_bytes;        /* CNN_CUDA_GUARD: bytes checked after every device buffer */
    bool graphs_enabled;
    bool conv_benchmark; /* cudnnFind (CNN_CUDA_CONV_BENCHMARK, default on) or cuDNN's heuristics */
};

/* --- cuda_steps.c --- */
/* Creates the descriptors of every step of b->plan and picks algorithms
 * (benchmarking convolutions on the arena, which must be large enough). */
cnn_status_t cnn_cu_batch_prepare(cnn_backend_session_t *s, cnn_cu_batch_t *b, cnn_error_t *err);
/* lt may be NULL when nothing of b used cuBLASLt. */
void cnn_cu_batch_destroy(cnn_cu_batch_t *b, const cnn_cu_lt_api_t *lt);
/* Enqueues every step of b on s->compute (no synchronisation). With
 * fetches (sorted by node), each value asked for is copied as plain fp32
 * into the device buffer `fetch_dev` (the fetches' sizes back to back) right
 * after the step producing it, before a later step may reuse its memory. */
cnn_status_t cnn_cu_batch_enqueue(cnn_backend_session_t *s, cnn_cu_batch_t *b, const cnn_backend_fetch_t *fetches,
                                  int num_fetches, float *fetch_dev, cnn_error_t *err);
/* The session's device base addresses for cnn_cu_step_calls. */
cnn_cu_bases_t cnn_cu_bases(const cnn_backend_session_t *s);

/* --- cuda_conv.c --- */
cnn_status_t cnn_cu_conv_prepare(cnn_backend_session_t *s, const cnn_cu_plan_t *p, const cnn_cu_step_t *st,
                                 cnn_cu_step_exec_t *ex, cnn_error_t *err);
/* Runs a CNN_CU_CALL_CONV call with the step's descriptors. */
cnn_status_t cnn_cu_conv_run(cnn_backend_session_t *s, const cnn_cu_step_exec_t *ex, const cnn_cu_call_t *c,
                             cnn_error_t *err);
cnn_status_t cnn_cu_dense_prepare(cnn_backend_session_t *s, const cnn_cu_plan_t *p, const cnn_cu_step_t *st,
                                  cnn_cu_step_exec_t *ex, cnn_error_t *err);
/* Runs a CNN_CU_CALL_DENSE call with the step's descriptors. */
cnn_status_t cnn_cu_dense_run(cnn_backend_session_t *s, const cnn_cu_step_exec_t *ex, const cnn_cu_call_t *c,
                              cnn_error_t *err);

/* cudnnTensorDescriptor for plan tensor t (its physical channels). */
cnn_status_t cnn_cu_tensor_desc(const cnn_cu_format_t *fmt, const cnn_cu_tensor_t *t, cudnnTensorDescriptor_t *out,
                                cnn_error_t *err);

#endif
