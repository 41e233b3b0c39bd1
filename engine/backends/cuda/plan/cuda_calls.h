/* What a plan step launches, as data (no CUDA dependency): for step s, the
 * ordered list of calls with resolved device addresses, tensor views and
 * parameters. The device executor (cuda_steps.c) turns each call into a
 * kernel launch (cuda_kernels.cu) or a cuDNN/cuBLASLt call; the unit tests
 * run the same lists on the CPU through cuda_elem.h, with reference
 * convolutions and matrix products in place of the library calls. */
#ifndef CNN_CUDA_CALLS_H
#define CNN_CUDA_CALLS_H

#include "cuda_elem.h"
#include "cuda_pack.h"
#include "cuda_plan.h"

typedef enum cnn_cu_call_kind {
    /* own kernels (cuda_elem.h) */
    CNN_CU_CALL_COPY = 0,    /* src (s, sf16) → dst (d, df16) */
    CNN_CU_CALL_ZERO_PAD,    /* i[0] top, i[1] left */
    CNN_CU_CALL_ACT,         /* act, alpha, beta */
    CNN_CU_CALL_BIAS_ACT,    /* dst in place; p0 bias; src2/s2 residual or NULL; act, alpha, beta */
    CNN_CU_CALL_ADD,         /* src + src2, then act */
    CNN_CU_CALL_AFFINE,      /* p0 scale, p1 shift (fp32) */
    CNN_CU_CALL_PRELU,       /* p0 slopes (fp32), i[0] count */
    CNN_CU_CALL_POOL,        /* i[0..7] kh kw sh sw top left bottom right, b[0] max, b[1] include_pad */
    CNN_CU_CALL_GLOBAL_AVG,
    CNN_CU_CALL_SOFTMAX,
    CNN_CU_CALL_LRN,         /* i[0] size, f[0..2] alpha beta k */
    CNN_CU_CALL_MAXOUT,      /* i[0] pieces */
    CNN_CU_CALL_CONCAT,      /* concat */
    /* library calls (the step's prepared descriptors) */
    CNN_CU_CALL_CONV,        /* src x, p0 filter, p1 bias, src2 residual or NULL, dst y;
                                b[0]: fused bias+relu(+residual) call, else conv only */
    CNN_CU_CALL_DENSE,       /* src x [n, k], p0 W [m, k], p1 bias [m], dst y [n, m]; b[0]: relu epilogue */
    CNN_CU_CALL_POOL_CUDNN,
    CNN_CU_CALL_SOFTMAX_CUDNN,
    CNN_CU_CALL_LRN_CUDNN,
} cnn_cu_call_kind_t;

typedef struct cnn_cu_call {
    cnn_cu_call_kind_t kind;
    const void *src, *src2;
    void *dst;
    const void *p0, *p1;
    cnn_cu_kt_t s, s2, d;
    bool sf16, df16, f16;
    int act;
    float alpha, beta;
    int i[8];
    bool b[2];
    float f[3];
    cnn_cu_concat_args_t concat;
} cnn_cu_call_t;

/* Base addresses the calls are resolved against. */
typedef struct cnn_cu_bases {
    unsigned char *arena;
    void *input;          /* fp32 NCHW staging, the plan's batch */
    void *output;         /* fp32 [n, numel] staging */
    unsigned char *weights;
} cnn_cu_bases_t;

#define CNN_CU_CALLS_MAX 32
_Static_assert(CNN_CU_CONCAT_MAX * CNN_CU_CALLS_MAX >= CNN_CU_CONCAT_INPUTS_MAX,
               "a concat's calls must fit CNN_CU_CALLS_MAX");

/* Address of plan tensor t. */
void *cnn_cu_tensor_addr(const cnn_cu_bases_t *b, const cnn_cu_plan_t *p, const cnn_cu_tensor_t *t);
/* Kernel view of plan tensor t. */
cnn_cu_kt_t cnn_cu_kt(const cnn_cu_tensor_t *t);
/* Fills calls[0..n) for step st of plan p (graph g, weight layout wl); returns n. */
int cnn_cu_step_calls(const cnn_graph_t *g, const cnn_cu_plan_t *p, const cnn_cu_wlayout_t *wl,
                      const cnn_cu_step_t *st, const cnn_cu_bases_t *b, cnn_cu_call_t *calls);

/* A feature-map copy: images [image, image + count) of graph value `node`
 * into dst as plain fp32 (count × c × h × w, CHW order), a COPY call. */
cnn_cu_call_t cnn_cu_fetch_call(const cnn_cu_plan_t *p, int node, int image, int count, const cnn_cu_bases_t *b,
                                void *dst);

#endif
