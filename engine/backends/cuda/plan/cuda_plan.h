/* Host-side planning of the CUDA backend, with no CUDA dependency (so CPU-only
 * machines build and unit-test it).
 *
 * For one (graph, precision, batch) a plan fixes: the storage format of every
 * activation (fp32 NCHW, or fp16 NHWC with channels padded to a multiple of 8
 * for tensor cores), how each executed node runs (a step: cuDNN, cuBLASLt or
 * one of the backend's own kernels), and where every tensor lives in one
 * device arena (placed by cnn_plan_arena over buffer live ranges, so buffers
 * whose lifetimes do not overlap share memory). The device side
 * (the .c/.cu files of engine/backends/cuda) only executes what the plan says.
 *
 * Padded channels: every producer of an NHWC tensor writes its padded
 * channels (zero from the own kernels, act(0) from cuDNN convolutions with
 * zero weights and bias), so they are always finite, and every consumer
 * either ignores them or multiplies them by zero weights.
 */
#ifndef CNN_CUDA_PLAN_H
#define CNN_CUDA_PLAN_H

#include "graph.h"

typedef enum cnn_cu_layout { CNN_CU_NCHW = 0, CNN_CU_NHWC } cnn_cu_layout_t;
typedef enum cnn_cu_dtype { CNN_CU_F32 = 0, CNN_CU_F16 } cnn_cu_dtype_t;
/* Math of convolutions and matrix products: plain fp32 FMA (TF32 off),
 * TF32 tensor cores, fp16 tensor cores with fp32 accumulation. */
typedef enum cnn_cu_math { CNN_CU_MATH_FMA = 0, CNN_CU_MATH_TF32, CNN_CU_MATH_F16 } cnn_cu_math_t;

typedef struct cnn_cu_format {
    cnn_cu_dtype_t dtype;
    cnn_cu_layout_t layout; /* of 4-D activations; flat ones are [N, F] */
    cnn_cu_math_t math;
    int channel_align;      /* physical channels are a multiple of this */
} cnn_cu_format_t;

/* Format of a precision: fp32 → f32/NCHW/FMA, tf32 → f32/NCHW/TF32,
 * fp16 → f16/NHWC/F16 with channels aligned to 8. CNN_E_UNSUPPORTED for bf16. */
cnn_status_t cnn_cu_format_for(cnn_precision_t precision, cnn_cu_format_t *f, cnn_error_t *err);
size_t cnn_cu_dtype_size(cnn_cu_dtype_t t);
/* c rounded up to a multiple of align (align >= 1). */
int cnn_cu_pad_channels(int c, int align);

/* Most inputs a concat may have (cuda_calls.h launches 8 per kernel). */
#define CNN_CU_CONCAT_INPUTS_MAX 248

/* Buffer indices below 0 that are not arena buffers. */
enum {
    CNN_CU_BUF_NONE = -1,
    CNN_CU_BUF_INPUT = -2, /* the session's fp32 NCHW input staging buffer on the device */
};

/* One activation tensor of the plan: batch × (c, h, w) logical, with cp
 * physical channels, stored with element strides (sn, sc, sh, sw). */
typedef struct cnn_cu_tensor {
    int n, c, h, w, cp;
    bool flat; /* [n, c] (h = w = 1) */
    cnn_cu_layout_t layout;
    int64_t sn, sc, sh, sw;
    int buf;   /* arena buffer index, CNN_CU_BUF_INPUT or CNN_CU_BUF_NONE */
} cnn_cu_tensor_t;

/* Fills t's shape and strides for n images of (c, h, w); `flat` tensors are
 * [n, c*h*w]. cp = c padded to `align` for NHWC 4-D tensors, else c. */
void cnn_cu_tensor_init(cnn_cu_tensor_t *t, int n, int c, int h, int w, bool flat, cnn_cu_layout_t layout,
                        int align);
/* Elements the tensor spans (n * sn). */
size_t cnn_cu_tensor_elems(const cnn_cu_tensor_t *t);

typedef enum cnn_cu_step_kind {
    CNN_CU_STEP_INPUT = 0,     /* fp32 NCHW staging → the input tensor (fp16 NHWC) */
    CNN_CU_STEP_CONV,          /* cuDNN; fused bias+relu(+residual) or conv + own epilogue */
    CNN_CU_STEP_DENSE,         /* cuBLASLt with bias epilogue (+ own activation kernel) */
    CNN_CU_STEP_POOL_CUDNN,    /* symmetric padding, cuDNN's output size */
    CNN_CU_STEP_POOL,          /* own kernel: any padding, PyTorch ceil_mode divisor */
    CNN_CU_STEP_GLOBAL_AVG_POOL,
    CNN_CU_STEP_ACT,           /* relu, leaky relu, elu, sigmoid, tanh, clip */
    CNN_CU_STEP_PRELU,
    CNN_CU_STEP_SOFTMAX_CUDNN, /* over channels, NCHW or flat */
    CNN_CU_STEP_SOFTMAX,       /* own kernel (NHWC) */
    CNN_CU_STEP_LRN_CUDNN,     /* NCHW, odd size 1..15 */
    CNN_CU_STEP_LRN,           /* own kernel */
    CNN_CU_STEP_AFFINE,        /* batch norm with running statistics: x * scale[c] + shift[c] */
    CNN_CU_STEP_CONCAT,        /* each input written into its channel slice of the output */
    CNN_CU_STEP_ADD,           /* a + b, then the fused activation */
    CNN_CU_STEP_TO_FLAT,       /* NHWC 4-D → [n, c*h*w] in CHW order (flatten) */
    CNN_CU_STEP_ZERO_PAD,
    CNN_CU_STEP_MAXOUT,
    CNN_CU_STEP_OUTPUT,        /* output tensor → fp32 [n, numel] CHW staging */
    CNN_CU_STEP_KIND_COUNT
} cnn_cu_step_kind_t;

const char *cnn_cu_step_name(cnn_cu_step_kind_t kind);

typedef struct cnn_cu_step {
    cnn_cu_step_kind_t kind;
    int node;          /* graph node whose value the step produces (the output node for OUTPUT) */
    int in;            /* first input value (resolved node id), -1 for none */
    bool conv_fused;   /* CONV: cudnnConvolutionBiasActivationForward with relu */
    /* Scratch tensor of this step only: CONV's zero-padded input when its
     * padding is asymmetric (cuDNN pads symmetrically), DENSE's flattened
     * input when the input is NHWC. aux.buf < 0: none. */
    cnn_cu_tensor_t aux;
    int aux_pad_top, aux_pad_left; /* CONV pre-pad offsets */
} cnn_cu_step_t;

typedef struct cnn_cu_buffer {
    size_t bytes, offset; /* offset in the arena */
    int first, last;      /* graph steps (node ids; num_nodes = the output copy) using it */
} cnn_cu_buffer_t;

typedef struct cnn_cu_plan {
    int batch;
    cnn_precision_t precision;
    cnn_cu_format_t fmt;
    int num_values;          /* = graph nodes */
    cnn_cu_tensor_t *values; /* per node; buf NONE for fused-away nodes */
    cnn_cu_step_t *steps;
    int num_steps;
    cnn_cu_buffer_t *bufs;
    int num_bufs, cap_bufs;
    size_t arena_bytes;
    size_t guard_bytes;      /* > 0: no buffer sharing, this many bytes after each buffer */
    int input_value, output_value;
    size_t input_floats, output_floats; /* per image */
} cnn_cu_plan_t;

/* True when the plan can run node n at `precision` (fused-away nodes are not asked). */
bool cnn_cu_supports_node(const cnn_graph_t *g, const cnn_node_t *n, cnn_precision_t precision);

/* Plans graph g (rewritten, one input) for `batch` images. guard_bytes > 0
 * gives every buffer its own memory followed by that many guard bytes. */
cnn_status_t cnn_cu_plan_build(const cnn_graph_t *g, cnn_precision_t precision, int batch, size_t guard_bytes,
                               cnn_cu_plan_t **out, cnn_error_t *err);
void cnn_cu_plan_free(cnn_cu_plan_t *p);

/* Offset of buffer `buf`'s guard bytes in the arena (plans with guard_bytes > 0). */
size_t cnn_cu_plan_guard_offset(const cnn_cu_plan_t *p, int buf);

#endif
